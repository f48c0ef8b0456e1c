"""Issue 7.2: SIGPIPE and SIGXFSZ sent to pinit by another process reach the program.

tini and dumb-init forward them (`kill -PIPE 1` reaches the program); pinit did not forward
them at all, to keep its own broken stdout from becoming a signal to the child. Now the
sender tells them apart: a SIGPIPE pinit causes itself (its stderr's reader gone) is dropped.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from tests.conftest import Launch, init_prefix, pinit_bin

# Waits for SIGPIPE, SIGXFSZ and SIGALRM (the marker) and prints each, lowest number first.
WATCHED = (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGALRM)
LISTENER = [
    sys.executable,
    "-I",
    "-S",
    "-c",
    "import os, signal as s\n"
    f"w = {[int(x) for x in WATCHED]}\n"
    "s.pthread_sigmask(s.SIG_BLOCK, w)\n"
    "os.write(1, b'ready\\n')\n"
    "while True:\n"
    "    n = s.sigwaitinfo(w).si_signo\n"
    "    os.write(1, b'got %d\\n' % n)\n"
    "    if n == s.SIGALRM: break\n",
]


@pytest.mark.parametrize("mode", ["pid1", "plain"])
@pytest.mark.parametrize("init", ["pinit", "tini"])
@pytest.mark.parametrize("sig", [signal.SIGPIPE, signal.SIGXFSZ])
def test_sent_by_another_process_is_forwarded(
    launch: type[Launch], init: str, mode: str, sig: signal.Signals
) -> None:
    run = launch([*init_prefix(init, mode), *LISTENER], mode)
    assert run.readline() == "ready"
    run.signal(sig)
    assert run.readline() == f"got {int(sig)}"
    run.signal(signal.SIGALRM)
    assert run.readline() == f"got {int(signal.SIGALRM)}"
    assert run.finish()[0] == 0


@pytest.mark.parametrize("mode", ["pid1", "plain"])
def test_own_broken_pipe_is_not_forwarded(launch: type[Launch], mode: str) -> None:
    """pinit -v writes to a stderr whose reader is gone: EPIPE and a SIGPIPE from the kernel,
    with pinit itself as sender. The marker SIGALRM (14) comes after; had the SIGPIPE (13)
    been forwarded, the listener, which takes pending signals lowest first, would print it
    before the marker."""
    run = launch([*pinit_bin(), "-v", "--", *LISTENER], mode)
    assert run.proc.stderr is not None
    run.proc.stderr.close()  # before pinit's first line ("started ... as pid")
    assert run.readline() == "ready"
    run.signal(signal.SIGWINCH)  # one more line for pinit to write into the broken pipe
    run.signal(signal.SIGALRM)
    assert run.readline() == f"got {int(signal.SIGALRM)}"
    assert run.proc.wait(timeout=20) == 0
    run.proc.stderr = None  # already closed: nothing for finish() to read
    out, _ = run.proc.communicate(timeout=20)
    assert b"got" not in (out or b"")


def test_listener_sees_a_direct_sigpipe() -> None:
    """The listener itself: a SIGPIPE sent straight to it is printed (the test can fail)."""
    proc = subprocess.Popen(LISTENER, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGPIPE)
        assert proc.stdout.readline() == b"got 13\n"
        proc.send_signal(signal.SIGALRM)
        assert proc.stdout.readline() == b"got 14\n"
    finally:
        proc.kill()
        proc.wait(timeout=10)
