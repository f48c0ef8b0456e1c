"""Measure frozen-pinit candidates: start time, size, memory, PID-1 correctness.

usage: python packaging/measure.py NAME=CMD [NAME=CMD ...]
  CMD is the path of an executable (for a one-folder build: the exe inside the folder).
  Each candidate must support `CMD -- true` (tini-style) and `CMD -- sleep N` for the idle
  memory reading.  Run as root (uses unshare --pid).  Prints a Markdown table.
"""

import os
import statistics
import subprocess
import sys
import time

RUNS = 20


def tree_size(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(d, f))
        for d, _, fs in os.walk(path)
        for f in fs
        if not os.path.islink(os.path.join(d, f))
    )


def start_ms(cmd: str) -> float:
    subprocess.run([cmd, "--", "true"], check=True)  # warm the cache (and unpack once)
    samples = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run([cmd, "--", "true"], check=True)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def smaps(pid: int) -> tuple[int, int]:
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def idle_memory(cmd: str) -> tuple[int, int, int]:
    """RSS/PSS (kB) of all pinit-side processes (launcher/bootloader + Python), not the child."""
    p = subprocess.Popen([cmd, "--", "sleep", "3"])
    time.sleep(1.5)
    pids = [p.pid]
    # the frozen Python may be a child of the bootloader (one-file); `sleep` is a leaf
    for pid in pids:  # grows while we walk it
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
        for c in children:
            if not os.readlink(f"/proc/{c}/exe").endswith("/sleep"):
                pids.append(int(c))
    rss = pss = 0
    for pid in pids:
        r, s = smaps(pid)
        rss += r
        pss += s
    p.wait()
    return rss, pss, len(pids)


def pid_in_ns(cmd: str) -> str:
    out = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", cmd, "--", "sh", "-c", "echo $PPID"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip()  # the pid of pinit's Python, seen from inside the namespace


def main() -> None:
    print(
        "| candidate | file size | start `-- true` (median of 20) | RSS idle | PSS idle "
        "| processes | Python's pid in a new pid ns |"
    )
    print("|---|---|---|---|---|---|---|")
    for spec in sys.argv[1:]:
        name, cmd = spec.split("=", 1)
        size_path = os.path.dirname(cmd) if name.startswith("onedir") else cmd
        size = tree_size(size_path) / 1e6
        ms = start_ms(cmd)
        rss, pss, n = idle_memory(cmd)
        print(
            f"| {name} | {size:.1f} MB | {ms:.0f} ms | {rss / 1024:.1f} MB | {pss / 1024:.1f} MB "
            f"| {n} | {pid_in_ns(cmd)} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
