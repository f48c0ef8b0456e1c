"""Issue 9 review: a crashed ``binds_to`` target whose restart is held until its dependents
are down was recorded (``ctl events``: "backoff", delay 0) as restarting at once, while it
actually waited for ``Released``. The record now comes when the restart really goes."""

from __future__ import annotations

from pinit.model.actions import Restarting
from pinit.model.state import State
from tests.unit.modelcore import Core
from tests.unit.test_binds import CLIENT, REDIS, STOPPED, prog, when


def test_a_held_restart_is_recorded_when_it_is_released() -> None:
    sim = Core(prog("redis"), prog("client", binds_to=("redis",)), stubborn=frozenset({"client"}))
    sim.settle()  # the client dies of KILL only: it takes its stop timeout to go
    assert sim.state("client") is State.RUNNING
    sim.crash("redis", 1 << 8)
    sim.settle()
    records = [a for k, a in sim.effects if k == REDIS and isinstance(a, Restarting)]
    assert records == [Restarting("exited", 0.0, 0)]  # one record, not one per hold
    assert when(sim, CLIENT, STOPPED) < when(sim, REDIS, Restarting)
