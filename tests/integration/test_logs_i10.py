"""Issue 10, logs: reopen (ctl and SIGUSR1), time rotation, gzip, max_age, timestamps, follow.

The soak: a real program writes numbered lines in bursts while pinit rotates them by size
(~150 times) and by time, gzips every backup, stamps every line, and the test plays
logrotate meanwhile (mv the file, create a new one, `ctl logs --reopen` or SIGUSR1) while the
burst is being written. Afterwards every file is read back (the .gz ones decompressed): each
number must appear exactly once, on a whole line.
"""

from __future__ import annotations

import gzip
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Launch, pinit_bin
from tests.integration import supervise
from tests.integration.supervise import Events
from tests.integration.test_ctl import ctl
from tests.integration.test_logs import wait_for
from tests.integration.test_logs_soak import BURSTS, WIDTH

STAMP = rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
STAMPED = re.compile(rb"^" + STAMP + rb"soak (\d{8}) z{49}$")


def up(launch: type[Launch], tmp_path: Path, programs: str) -> tuple[Launch, Events, Path]:
    return supervise.up(launch, tmp_path, programs, mode="pid1", head='reopen_signal = "USR1"\n')


def read_all(directory: Path, stem: str) -> list[bytes]:
    """Every line of every file named stem*, .gz decompressed."""
    lines: list[bytes] = []
    for path in sorted(directory.glob(f"{stem}*")):
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        assert not data or data.endswith(b"\n"), f"{path.name} ends mid-line"
        lines += data.splitlines()
    return lines


@pytest.mark.timeout(60)
def test_no_line_lost_torn_or_doubled_across_rotations_reopens_and_gzip(
    launch: type[Launch], tmp_path: Path
) -> None:
    script = tmp_path / "bursts.py"
    script.write_text(BURSTS)
    commands = tmp_path / "commands.fifo"
    os.mkfifo(commands)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.soak]
        command = ["{sys.executable}", "-I", "-S", "{script}", "{commands}", "{WIDTH}"]
        stdout = {{ file = "{log}", max_bytes = 150000, backups = 1000, compress = true, \
rotate_every = "1s", timestamps = true }}
        """,
    )
    events.wait("soak", "start")
    rounds, burst = 12, 30000
    total = 0
    with open(commands, "w", buffering=1) as command:
        for k in range(rounds):
            command.write(f"{burst}\n")
            total += burst
            # logrotate with `create`, while the burst is being written
            try:
                log.rename(logs / f"app.log-moved{k:02d}")
            except FileNotFoundError:
                pass  # pinit was rotating it at that instant
            with open(log, "ab"):
                pass
            if k % 2:
                pinit.signal(signal.SIGUSR1)
            else:
                rc, out, err = ctl(sock, "logs", "--reopen")
                assert rc == 0, err
                assert out == "reopened 1 log files\n"
            events.wait("soak", f"wrote-{total}", timeout=20)
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0, err
    assert "Traceback" not in err
    assert "failed" not in err
    gz = list(logs.glob("app.log.*.gz"))
    assert len(gz) >= 100, f"only {len(gz)} compressed backups"
    assert not list(logs.glob(".*tmp")), "a temporary gzip was left behind"
    numbers = []
    for raw in read_all(logs, "app.log"):
        match = STAMPED.match(raw)
        assert match, f"torn or unstamped line: {raw[:90]!r}"
        numbers.append(int(match.group(1)))
    assert len(numbers) == total, f"{len(numbers)} lines for {total} written"
    assert sorted(numbers) == list(range(total)), "a line is missing or doubled"


TICKS = r"""
import os, sys, time

def record(what):
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, f"tick {what} {os.getpid()} 0\n".encode())
    os.close(fd)

os.write(1, b"first\n")
time.sleep(1.2)  # past the end of the 1s period the first line was written in
os.write(1, b"second\n")
record("wrote")
time.sleep(3600)
"""


def test_rotate_every_starts_a_new_file_at_the_first_line_of_a_new_period(
    launch: type[Launch], tmp_path: Path
) -> None:
    script = tmp_path / "ticks.py"
    script.write_text(TICKS)
    log = tmp_path / "tick.log"
    pinit, events, _sock = up(
        launch,
        tmp_path,
        f"""
        [programs.tick]
        command = ["{sys.executable}", "-I", "-S", "{script}"]
        stdout = {{ file = "{log}", rotate_every = "1s" }}
        """,
    )
    events.wait("tick", "wrote")
    # the writer thread's write comes after the event: a file's content raises no event
    wait_for(lambda: log.read_bytes() == b"second\n", 10, "second line in a new file")
    assert (tmp_path / "tick.log.1").read_bytes() == b"first\n"
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_max_age_deletes_old_backups_at_reopen(launch: type[Launch], tmp_path: Path) -> None:
    log = tmp_path / "old.log"
    now = time.time()
    for k, age_days in ((1, 1), (2, 3), (3, 20), (4, 30)):
        backup = tmp_path / (f"old.log.{k}.gz" if k % 2 else f"old.log.{k}")
        backup.write_bytes(b"x\n")
        os.utime(backup, (now - age_days * 86400, now - age_days * 86400))
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.old]
        command = ["sh", "-c", "echo hello; echo old started 1 0 >> $EVENTS; exec sleep 3600"]
        stdout = {{ file = "{log}", backups = 9, max_age = "14d" }}
        """,
    )
    events.wait("old", "started")
    rc, _out, err = ctl(sock, "logs", "--reopen")
    assert rc == 0, err
    left = sorted(p.name for p in tmp_path.glob("old.log*"))
    assert left == ["old.log", "old.log.1.gz", "old.log.2"]  # 20 and 30 days old: gone
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


FLOOD = r"""
import os, sys

def record(what):
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, f"{sys.argv[2]} {what} {os.getpid()} 0\n".encode())
    os.close(fd)

record("start")
total = 0
with open(sys.argv[1], "rb", buffering=0) as commands:
    for command in commands:
        n = int(command)
        os.write(1, b"".join(b"line %06d\n" % i for i in range(total, total + n)))
        total += n
        record(f"wrote-{total}")
"""


class Follower:
    """`pinit ctl logs -f` with its stdout on a pipe, read with deadlines."""

    def __init__(self, sock: Path, target: str) -> None:
        self.proc = subprocess.Popen(
            [*pinit_bin(), "ctl", "--socket", str(sock), "logs", "-f", "-n", "5", target],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.buf = b""

    def until(self, want: bytes, timeout: float = 15.0) -> bytes:
        assert self.proc.stdout is not None
        import select

        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while want not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no {want!r}; have {self.buf[-300:]!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(self.proc.stderr.read() if self.proc.stderr else b"")
            self.buf += chunk
        return self.buf

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.mark.parametrize("compress", ["false", "true"])
def test_follow_sees_every_line_across_rotations(
    launch: type[Launch], tmp_path: Path, compress: str
) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    commands = tmp_path / "commands.fifo"
    os.mkfifo(commands)
    log = tmp_path / "f.log"
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.f]
        command = ["{sys.executable}", "-I", "-S", "{script}", "{commands}", "f"]
        stdout = {{ file = "{log}", max_bytes = 2000, backups = 50, compress = {compress} }}
        """,
    )
    events.wait("f", "start")
    with open(commands, "w", buffering=1) as command:
        command.write("10\n")
        events.wait("f", "wrote-10")
        follower = Follower(sock, "f")
        try:
            follower.until(b"line 000009\n")
            command.write("1000\n")  # 12 KB: six rotations of 2000 bytes
            events.wait("f", "wrote-1010")
            got = follower.until(b"line 001009\n")
        finally:
            follower.stop()
    after = got[got.index(b"line 000009\n") + len(b"line 000009\n") :]
    assert after.splitlines() == [b"line %06d" % i for i in range(10, 1010)]
    assert (tmp_path / ("f.log.5.gz" if compress == "true" else "f.log.5")).exists()
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_a_passthrough_only_program_has_a_bounded_tail_to_print_and_follow(
    launch: type[Launch], tmp_path: Path
) -> None:
    script = tmp_path / "flood.py"
    script.write_text(FLOOD)
    commands = tmp_path / "commands.fifo"
    os.mkfifo(commands)
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.p]
        command = ["{sys.executable}", "-I", "-S", "{script}", "{commands}", "p"]
        stdout = {{ passthrough = true }}
        """,
    )
    events.wait("p", "start")
    with open(commands, "w", buffering=1) as command:
        command.write("20000\n")  # 240 KB: more than the 64 KiB pinit keeps
        events.wait("p", "wrote-20000")
        follower = Follower(sock, "p")
        try:
            # pinit may still be reading the flood: the follower shows when its last line is in
            follower.until(b"p | line 019999\n")
            rc, out, err = ctl(sock, "logs", "-n", "3", "p")
            assert rc == 0, err
            assert out == "p | line 019997\np | line 019998\np | line 019999\n"
            command.write("5\n")
            events.wait("p", "wrote-20005")
            got = follower.until(b"p | line 020004\n")
        finally:
            follower.stop()
    assert got.splitlines()[-5:] == [b"p | line %06d" % i for i in range(20000, 20005)]
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
