"""Every signal pinit sent to a program reached each process of its group twice.

``Groups.signal`` sends to the process group, then to each process that left the group but
carries the instance's tag; the member lookup also returned the group itself, so every process
in it got a second copy. A program whose handler had already run the first took the copy as a
second stop ("term" recorded twice by svc.py under load in test_fatal_after_retries; the
"force quit now" of servers that count Ctrl-Cs). Real-time signals are queued, not merged, so
here the copy shows every time: the program takes them one by one with sigwaitinfo, and a later
marker signal (higher number, so dequeued after any copy of the first) ends the count.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from tests.conftest import Launch
from tests.integration.test_ctl import ctl, up

COUNT = r"""
import os, signal, sys
first, marker = signal.SIGRTMIN, signal.SIGRTMAX
signal.pthread_sigmask(signal.SIG_BLOCK, {first, marker, signal.SIGTERM})
def record(what):
    fd = os.open(os.environ["EVENTS"], os.O_WRONLY | os.O_APPEND)
    os.write(fd, f"w {what} {os.getpid()} 0\n".encode())
    os.close(fd)
record("start")
while True:
    got = signal.sigwaitinfo({first, marker, signal.SIGTERM}).si_signo
    if got == signal.SIGTERM:
        os._exit(0)
    record("first" if got == first else "marker")
"""


def test_a_signal_reaches_a_group_member_once(launch: type[Launch], tmp_path: Path) -> None:
    (tmp_path / "count.py").write_text(COUNT)
    command = json.dumps([sys.executable, "-I", "-S", str(tmp_path / "count.py")])
    pinit, events, sock = up(
        launch, tmp_path, f"[programs.w]\ncommand = {command}\nstart_seconds = 0\n"
    )
    events.wait("w", "start")
    assert ctl(sock, "signal", "w", "RTMIN")[0] == 0
    events.wait("w", "first")
    assert ctl(sock, "signal", "w", "RTMAX")[0] == 0
    events.wait("w", "marker")
    assert events.so_far("w", "first") == 1  # a copy would be dequeued before the marker
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 0, err
