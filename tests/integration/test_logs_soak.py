"""Soak: a full disk under a flood. Lines are lost only while the disk is full, the loss is
counted and reported once, writing resumes when space is back, and pinit never blocks.

The disk is a real 1 MiB tmpfs mounted by the test (root only). To make "only while full"
exact, the log is brought to a page boundary before the disk is filled: lines are 64 bytes
and the first phase writes whole pages, so the first line written after the filler needs a
new page and fails, and every later one fails until the filler is removed (tmpfs allocates
whole pages; a half-used last page would otherwise take a few more lines).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import start
from tests.integration.test_logs import wait_for

WIDTH = 64
# One command per line on a FIFO: "N" writes the next N numbered lines of WIDTH bytes in
# chunks of 100 lines, then records "wrote-TOTAL" on the events FIFO.
BURSTS = r"""
import os, sys

def record(what):
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, f"soak {what} {os.getpid()} 0\n".encode())
    os.close(fd)

def line(i):
    head = b"soak %08d " % i
    return head + b"z" * (WIDTH - len(head) - 1) + b"\n"

WIDTH = int(sys.argv[2])
total = 0
record("start")
with open(sys.argv[1], "rb", buffering=0) as commands:
    for command in commands:
        n = int(command)
        for lo in range(total, total + n, 100):
            os.write(1, b"".join(line(i) for i in range(lo, min(lo + 100, total + n))))
        total += n
        record(f"wrote-{total}")
"""
LINE = re.compile(rb"^soak (\d{8}) z+$")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, so that "disk full" is real and can be undone."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a tmpfs")
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)])
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path) -> None:
    """Take every free page of the filesystem (page-sized writes, then smaller ones)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 64, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass  # ENOSPC at this size; try a smaller one
    finally:
        os.close(fd)


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@pytest.mark.timeout(60)
def test_a_full_disk_loses_lines_only_while_full_and_says_so_once(
    launch: type[Launch], tmp_path: Path, tiny_disk: Path
) -> None:
    page = os.sysconf("SC_PAGE_SIZE")
    before, during, after = 50 * page // WIDTH, 40000, 1000  # during: 2.5 MB, over any buffer
    script = tmp_path / "bursts.py"
    script.write_text(BURSTS)
    commands = tmp_path / "commands.fifo"
    os.mkfifo(commands)
    log = tiny_disk / "soak.log"
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.soak]
        command = ["{sys.executable}", "-I", "-S", "{script}", "{commands}", "{WIDTH}"]
        stdout = {{ file = "{log}", max_bytes = "1MB" }}
        """,
        mode="plain",
    )
    events.wait("soak", "start")
    with open(commands, "w", buffering=1) as command:
        command.write(f"{before}\n")
        events.wait("soak", f"wrote-{before}")
        wait_for(lambda: size(log) == before * WIDTH, 10, "first phase on disk")
        filler = tiny_disk / "filler"
        fill(filler)
        # The program can only finish writing 2.5 MB if pinit keeps reading (and dropping):
        # a blocked writer would pause the pipe, a blocked loop would read nothing.
        command.write(f"{during}\n")
        events.wait("soak", f"wrote-{before + during}", timeout=30)
        pinit.wait_stderr("soak: log write failed: No space left on device")
        filler.unlink()
        command.write(f"{after}\n")
        events.wait("soak", f"wrote-{before + during + after}")
        resumed = pinit.wait_stderr("soak: log writes resumed (")
    dropped = int(resumed.split("(")[1].split()[0])
    total = before + during + after
    wait_for(lambda: size(log) == (total - dropped) * WIDTH, 10, "last phase on disk")
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0
    assert "Traceback" not in err
    assert err.count("log write failed") == 1  # said once, not once per line or block
    assert err.count("log writes resumed") == 1
    numbers = []
    for raw in log.read_bytes().splitlines():
        match = LINE.match(raw)
        assert match and len(raw) == WIDTH - 1, f"torn line: {raw[:80]!r}"
        numbers.append(int(match.group(1)))
    assert 0 < dropped <= during
    # Lost: exactly the first `dropped` lines written while the disk was full, no others.
    assert numbers == [*range(before), *range(before + dropped, total)]
