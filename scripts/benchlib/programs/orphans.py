"""Double-fork N orphans, then time how long the zombies they leave take to disappear.

usage: orphans.py N GIVE_UP_SECONDS. Prints one JSON line:
total_ms (first spawn -> no zombie left), clear_ms (last orphan's exit -> no zombie left),
zombies_seen (at the first scan after the last exit), zombies_left (at the end), scan_us.
Each orphan writes its exit time (CLOCK_MONOTONIC ns) to a pipe just before _exit, so the
last exit is known exactly rather than guessed from the spawn order.
"""

import json
import os
import struct
import sys
import time

STAMP = struct.Struct("q")


def _now() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def spawn_orphan(stamp_fd: int) -> None:
    """fork; the child forks the orphan and exits at once, so the orphan goes to PID 1."""
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            os.write(stamp_fd, STAMP.pack(_now()))
        os._exit(0)
    os.waitpid(pid, 0)


def read_stamps(read_fd: int, count: int) -> bytes:
    """Returns once every orphan has written its stamp, i.e. is at (or past) its _exit."""
    data = b""
    while len(data) < count * STAMP.size:
        data += os.read(read_fd, count * STAMP.size - len(data))
    return data


def zombies() -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
            except OSError:
                continue
            count += state == b"Z"
    return count


def main() -> None:
    count, give_up = int(sys.argv[1]), float(sys.argv[2])
    read_fd, write_fd = os.pipe()
    first = _now()
    for _ in range(count):
        spawn_orphan(write_fd)
    stamps = read_stamps(read_fd, count)
    scan_start = _now()
    seen = left = zombies()
    end = _now()
    deadline = end + int(give_up * 1e9)
    while left and end < deadline:
        scan_start = _now()
        left = zombies()
        end = _now()
    last = max(value for (value,) in STAMP.iter_unpack(stamps))
    result = {
        "total_ms": (end - first) / 1e6,
        "clear_ms": max(end - last, 0) / 1e6 if not left else None,
        "zombies_seen": seen,
        "zombies_left": left,
        "scan_us": (end - scan_start) / 1e3,
    }
    os.write(1, json.dumps(result).encode() + b"\n")


main()
