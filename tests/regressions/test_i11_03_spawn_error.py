"""Issue 11.3: a spawn error of any type is a failed start, never an instance stuck in STARTING.

A NUL byte in an argument made ``os.posix_spawn`` raise ValueError, which the supervisor did not
catch: the instance waited in STARTING forever, its dependents never started, and two TERMs did
not stop pinit. ``pinit check`` now refuses NUL, so these tests build the Config in code and run
the real Supervisor in a child process, bypassing the loader.
"""

from __future__ import annotations

import signal
import socket
import sys
import textwrap
from pathlib import Path

from tests.conftest import Launch, pid_alive
from tests.integration.supervise import SVC, Events

RUNNER = textwrap.dedent(
    """
    import os, sys
    from pinit.config.schema import Backoff, Config, Program, Readiness, ReadyKind
    from pinit.runtime.supervisor import Supervisor

    svc = {svc!r}
    # bad starts once other is ready (listening), so other's start is on record first.
    ready = Readiness(ReadyKind.TCP, host="127.0.0.1", port={port})
    other = Program("other", (*svc, "listen", "other", "{port}"), ready=ready)
    bad = Program("bad", ({bad!r}, "-c", "pass\\0"), start_retries=1,
                  backoff=Backoff(initial=0.01, max=0.01), after=("other",))
    dep = Program("dep", (*svc, "run", "dep"), after=("bad",))
    config = Config(programs=({programs}), control_socket={sock!r})

    class LostSpawn(Supervisor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            spawn = self._actions.spawn

            def lost(key):  # a runtime bug: the Spawn action is never answered
                if key[0] != "bad":
                    spawn(key)
                else:
                    print("lost the spawn of bad", file=sys.stderr, flush=True)

            self._actions.spawn = lost

    cls = LostSpawn if {lost!r} else Supervisor
    sys.exit(cls(config, os.environ).run())
    """
)


def _run(launch: type[Launch], tmp_path: Path, programs: str, lost: bool) -> tuple[Launch, Events]:
    events = Events(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = RUNNER.format(
        svc=SVC,
        bad=sys.executable,
        programs=programs,
        lost=lost,
        port=port,
        sock=str(tmp_path / "ctl.sock"),
    )
    env = {"EVENTS": str(events.path), "PATH": "/usr/bin:/bin"}
    return launch([sys.executable, "-c", code], "plain", env=env), events


def test_nul_in_argv_is_a_failed_start_and_ends_in_fatal(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = _run(launch, tmp_path, "bad, dep, other", lost=False)
    events.wait("other", "start")
    rc, _, err = pinit.finish(timeout=15)
    assert "embedded null byte" in err, err
    assert "bad: gave up" in err, err
    assert rc == 1, err  # on_fatal = shutdown: the failure reaches the orchestrator
    assert events.count("dep", "start") == 0  # its dependency never became ready
    assert events.count("other", "term") == 1


def test_second_term_ends_pinit_with_an_instance_stuck_in_starting(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = _run(launch, tmp_path, "bad, other", lost=True)
    other = events.wait("other", "listening")
    pinit.wait_stderr("lost the spawn of bad")
    pinit.signal(signal.SIGTERM)
    pinit.wait_stderr("bad: stopping")  # stop order: bad first, and it has nothing to stop
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish(timeout=10)
    assert "bad never got a process" in err, err
    assert rc == 1, err
    assert not pid_alive(other.pid)  # the rest was still killed and reaped
