"""Issue 7, forwarding speed: `pinit -- CMD` forwards in a loop that goes from one signal wait
straight to the next, in C (runtime/_forward.c) where it is built and in Python where not.

Both loops must behave alike: every signal but the kept ones reaches the group without the
loop's callback seeing it; a kept signal (SIGCHLD) ends the loop's wait and reaches the
callback, and so does a SIGPIPE another process sent (the loop checks its sender; the
callback forwards it, test_i7_2_sigpipe_forwarding); a group that is gone ends nothing. The Loop is
driven in a child Python (it blocks signals and owns SIGCHLD); the Python loop is chosen there
by making the C module unimportable, as on a machine that could not build it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import Launch, pinit_bin

# Prints each of USR1, PIPE and ALRM as it arrives (pending ones lowest first); ends at ALRM.
LISTENER = textwrap.dedent(
    """
    import os, signal as s
    w = [s.SIGUSR1, s.SIGPIPE, s.SIGALRM]
    s.pthread_sigmask(s.SIG_BLOCK, w)
    os.write(1, b"ready\\n")
    while True:
        n = s.sigwaitinfo(w).si_signo
        os.write(1, b"got %d\\n" % n)
        if n == s.SIGALRM:
            break
    """
)

DRIVER = textwrap.dedent(
    """
    import json, os, signal, subprocess, sys
    if sys.argv[1] == "python":
        sys.modules["pinit.runtime._forward"] = None  # import fails: the Python loop runs
    from pinit.runtime.loop import Loop

    gone = sys.argv[2] == "gone"
    listener = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", sys.argv[3]],
        stdout=subprocess.PIPE, start_new_session=True,
    )
    assert listener.stdout.readline() == b"ready\\n"
    if gone:
        listener.kill()
        listener.wait()
    loop = Loop()
    seen = []

    def on_signals(signos):
        seen.extend(signos)
        if signal.SIGCHLD in signos:
            loop.stop()

    loop.watch_signals([signal.SIGUSR1, signal.SIGPIPE, signal.SIGALRM, signal.SIGCHLD], on_signals)
    loop.forward_directly(listener.pid, keep=(signal.SIGCHLD,))
    # Queued before the wait, read lowest first: USR1 (forwarded), PIPE (the `kill` helper
    # sent it: to the callback), ALRM (forwarded), then CHLD (the helper's exit: kept, it
    # ends the wait). With the group gone every kill fails, and that CHLD must still end it.
    os.kill(os.getpid(), signal.SIGUSR1)
    subprocess.run(["kill", "-PIPE", str(os.getpid())], check=True)
    os.kill(os.getpid(), signal.SIGALRM)
    loop.run()
    out = b"" if gone else listener.stdout.read()
    listener.wait()
    c_loop = loop._forward_in_c is not None
    print(json.dumps({"c": c_loop, "seen": seen, "listener": out.decode()}))
    """
)


def _drive(loop: str, case: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, loop, case, LISTENER],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result: dict[str, object] = json.loads(run.stdout)
    return result


@pytest.mark.parametrize("loop", ["c", "python"])
def test_every_signal_but_the_kept_ones_reaches_the_group(loop: str) -> None:
    result = _drive(loop, "alive")
    assert result["c"] is (loop == "c"), "the C loop was not built (gcc and Python.h at install?)"
    assert result["listener"] == "got 10\ngot 14\n"
    assert result["seen"] == [signal.SIGPIPE, signal.SIGCHLD]  # USR1 and ALRM never do


@pytest.mark.parametrize("loop", ["c", "python"])
def test_a_group_that_is_gone_ends_nothing(loop: str) -> None:
    result = _drive(loop, "gone")
    assert result["c"] is (loop == "c")
    assert result["seen"] == [signal.SIGPIPE, signal.SIGCHLD]


def _mapped(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as f:
        return f.read()


def test_pinit_cmd_runs_the_c_loop(launch: type[Launch]) -> None:
    """What users run (the installed console script, or the frozen dist/pinit under
    PINIT_BIN) has the C loop and uses it: its shared object is mapped in pinit."""
    run = launch([*pinit_bin(), "--", sys.executable, "-I", "-S", "-c", LISTENER], "plain")
    assert run.readline() == "ready"
    run.signal(signal.SIGUSR1)
    assert run.readline() == "got 10"  # forwarded: pinit is past its set-up, in its loop
    assert "_forward" in _mapped(run.proc.pid)
    run.signal(signal.SIGALRM)
    assert run.readline() == "got 14"
    assert run.finish()[0] == 0


def test_no_group_mode_does_not_load_it(launch: type[Launch]) -> None:
    """--no-group forwards to the child alone through the loop's callback: no C loop."""
    argv = [*pinit_bin(), "--no-group", "--", sys.executable, "-I", "-S", "-c", LISTENER]
    run = launch(argv, "plain")
    assert run.readline() == "ready"
    run.signal(signal.SIGUSR1)
    assert run.readline() == "got 10"
    assert "_forward" not in _mapped(run.proc.pid)
    run.signal(signal.SIGALRM)
    assert run.readline() == "got 14"
    assert run.finish()[0] == 0
