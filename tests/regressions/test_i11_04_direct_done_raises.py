"""Review of issue 11.4 (PID 1 never dies): `pinit -- CMD`'s direct forwarding path called
its `done` callback unguarded, and run() there catches only OSError: any other exception
from it ended Loop.run, and with it PID 1. Now it is reported and the loop goes on, like every
other callback. Run in a child Python: the loop blocks signals and owns SIGCHLD."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal, subprocess
    from pinit.runtime.loop import Loop

    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    loop = Loop()
    loop.watch_signals([signal.SIGURG, signal.SIGWINCH], lambda signos: None)
    told = []

    def done(signo):
        told.append(signo)
        if len(told) == 1:
            raise RuntimeError("a bug in done")
        loop.stop()

    loop.forward_directly(child.pid, done=done)
    os.kill(os.getpid(), signal.SIGURG)  # both pending: read one record at a time, no timer,
    os.kill(os.getpid(), signal.SIGWINCH)  # so the loop takes its direct path
    try:
        loop.run()
    finally:
        child.kill()
        child.wait()
    print("survived", sorted(told))
    """
)


def test_an_exception_in_the_direct_forwarding_callback_does_not_end_the_loop() -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=20, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "survived [23, 28]"  # SIGURG, SIGWINCH: both forwarded
    assert "RuntimeError: a bug in done" in run.stderr  # reported, not swallowed
