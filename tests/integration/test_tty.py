"""`docker run -it`: the program owns the terminal, and Ctrl-C reaches it (exit 130)."""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import time

import pytest

from tests.conftest import NAMESPACE, PROBE, init_prefix


def _take_tty(fd: int) -> None:
    os.setsid()
    fcntl.ioctl(fd, termios.TIOCSCTTY, 0)


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError(f"{needle!r} not seen; have {buf!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side closed
            break
        buf += chunk
    return buf


@pytest.mark.parametrize("mode", ["pid1", "plain"])
@pytest.mark.parametrize("init", ["pinit", "tini"])
def test_child_owns_the_terminal_and_ctrl_c_ends_it(init: str, mode: str) -> None:
    master, slave = os.openpty()
    argv = [*init_prefix(init, mode), *PROBE, "tty"]
    if mode == "pid1":
        argv = [*NAMESPACE, *argv]
    proc = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        preexec_fn=lambda: _take_tty(0),  # noqa: PLW1509 - test only: make the pty ours
    )
    os.close(slave)
    try:
        seen = _read_until(master, b"\n", 10)
        assert b"foreground True" in seen, seen
        os.write(master, b"\x03")  # Ctrl-C: the terminal sends SIGINT to its foreground group
        assert proc.wait(timeout=10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
