"""Issue 9 review: a watchdog miss and a memory/lifetime recycle went through the operator's
``restart`` (stop then start), skipping the restart policy, the backoff and the flap count: a
``restart = "never"`` program that never pinged was restarted thousands of times and never
reached FATAL. systemd applies Restart= and the start limits to WatchdogSec= as to any failure;
pinit now ends the process as an unasked death (model/liveness.py's route)."""

from __future__ import annotations

from pinit.config.schema import Restart
from pinit.model.events import Recycle
from pinit.model.instance import State
from tests.unit.modelcore import Core
from tests.unit.test_state import prog


def test_restart_never_with_a_missed_watchdog_is_left_exited() -> None:
    core = Core(prog(name="w", watchdog=2.0, start_seconds=0.0, restart=Restart.NEVER))
    assert core.state("w") is State.RUNNING
    assert core.tick()  # the watchdog fires: the process is stopped, not restarted
    core.settle(5)
    inst = core.inst("w")
    assert inst.state is State.EXITED
    assert inst.spawns == 1


def test_a_program_that_never_pings_ends_fatal_by_the_flap_count() -> None:
    core = Core(prog(name="w", watchdog=1.0, start_seconds=0.0, flap_max=2, flap_window=600.0))
    states = set()
    for _ in range(40):
        core.tick()
        core.drain()
        states.add(core.state("w"))
        if core.state("w") is State.FATAL:
            break
    assert State.BACKOFF in states  # the backoff applies
    assert core.state("w") is State.FATAL
    assert dict(core.inst("w").restarts_by_reason)["watchdog"] >= 2


def test_a_memory_recycle_of_a_restart_never_program_leaves_it_exited() -> None:
    core = Core(prog(name="x", start_seconds=0.0, restart=Restart.NEVER))
    core.post(("x", 0), Recycle("memory"))
    core.settle(5)
    assert core.state("x") is State.EXITED
    assert core.inst("x").spawns == 1
