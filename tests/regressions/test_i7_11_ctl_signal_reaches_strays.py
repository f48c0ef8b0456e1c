"""Issue 7 (model): `pinit ctl signal` called os.killpg on the program's group from the
operator, so a member that left the group (setsid) never got the signal, although every stop
signal reaches it through the supervisor's one signal path (group plus tagged members). Now
`ctl signal` is a model event whose SignalGroup action takes that same path."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import Launch
from tests.integration.test_ctl import ctl, up

LEAF = """
import os, signal, time
def record(name, what):
    line = f"{name} {what} {os.getpid()} {time.monotonic_ns()}\\n".encode()
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, line)
    os.close(fd)
name = "app"
if os.fork() == 0:
    os.setsid()  # its own session and group, but it keeps PINIT_INSTANCE
    name = "leaf"
signal.signal(signal.SIGUSR1, lambda n, f: record(name, "got-usr1"))
signal.signal(signal.SIGTERM, lambda n, f: os._exit(0))
record(name, "start")
wake_r, wake_w = os.pipe()  # not signal.pause(): see tests/programs/storm.py
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)
while True:
    os.read(wake_r, 512)
"""


def test_ctl_signal_reaches_a_setsid_member(launch: type[Launch], tmp_path: Path) -> None:
    script = tmp_path / "leaf.py"
    script.write_text(LEAF)
    _pinit, events, sock = up(
        launch,
        tmp_path,
        f'[programs.app]\ncommand = ["{sys.executable}", "-I", "-S", "{script}"]\n'
        "start_seconds = 0\n",
    )
    events.wait("app", "start")
    events.wait("leaf", "start")
    rc, _, err = ctl(sock, "signal", "app", "USR1")
    assert rc == 0, err
    events.wait("app", "got-usr1", timeout=10)
    events.wait("leaf", "got-usr1", timeout=10)
