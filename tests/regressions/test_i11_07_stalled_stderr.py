"""Issue 11.7: a stalled stderr blocked PID 1.

When nobody read pinit's stderr pipe, the loop blocked in a write: zombies piled up, control
requests went unanswered, TERM waited 15 s+. pinit's own lines now go through a bounded
non-blocking writer; lines over its 64 KiB are dropped and counted, said once it drains.

The test shrinks the pipe to one page and never reads it while 3,000 orphans die under
`pinit -v` (one "reaped pid" line each, ~100 KiB): pinit must still reap them all.
"""

from __future__ import annotations

import fcntl
import signal
import time

from tests.conftest import PROBE, Launch, pinit_bin

F_SETPIPE_SZ = 1031
ORPHANS = 3000


def start(launch: type[Launch]) -> Launch:
    program = " ".join(PROBE)
    script = f"{program} orphans {ORPHANS} && exec {program} signals 1"
    run = launch([*pinit_bin(), "-v", "--", "sh", "-c", script], "pid1")
    assert run.proc.stderr is not None
    fcntl.fcntl(run.proc.stderr.fileno(), F_SETPIPE_SZ, 4096)
    return run


def test_reaps_while_stderr_is_stalled_then_says_what_it_dropped(launch: type[Launch]) -> None:
    run = start(launch)
    assert run.readline(timeout=30) == f"spawned {ORPHANS}"
    assert run.readline(timeout=30) == "zombies 0"  # every orphan reaped, stderr unread
    assert run.readline().startswith("ready child")
    line = run.wait_stderr("of its own lines dropped")  # now read: the count comes out
    assert int(line.split()[1]) > 0
    run.signal(signal.SIGTERM)
    assert run.readline().startswith(f"child got {int(signal.SIGTERM)}")
    assert run.finish()[0] == 0


def test_term_is_prompt_while_stderr_is_stalled(launch: type[Launch]) -> None:
    run = start(launch)
    assert run.readline(timeout=30) == f"spawned {ORPHANS}"
    assert run.readline(timeout=30) == "zombies 0"
    assert run.readline().startswith("ready child")
    sent = time.monotonic()
    run.signal(signal.SIGTERM)
    assert run.readline().startswith(f"child got {int(signal.SIGTERM)}")
    assert run.proc.wait(timeout=10) == 0  # stderr still unread
    assert time.monotonic() - sent < 5
