"""Issue 8: the liveness cells (model/liveness.py), replayed through the model's core."""

from __future__ import annotations

import pytest

from pinit.config.schema import Liveness, Readiness, ReadyKind, Restart
from pinit.model.actions import Emit, SignalGroup, Spawn
from pinit.model.events import BackoffDone, LiveFailed, LiveOk, StopRequested
from pinit.model.instance import Instance, State
from pinit.model.state import IGNORE, TRANSITIONS
from tests.unit.modelcore import Core
from tests.unit.test_state import prog

LIVE = Liveness(Readiness(ReadyKind.TCP, "127.0.0.1", 9), interval=1.0, timeout=0.5, failures=3)
WEB = ("web", 0)


def core(stubborn: frozenset[str] = frozenset(), **kw: object) -> Core:
    c = Core(prog(live=LIVE, **kw), stubborn=stubborn)
    c.settle(5)  # StartTimeout: RUNNING
    assert c.state("web") is State.RUNNING
    return c


def verdict(c: Core, *events: LiveFailed | LiveOk) -> None:
    for ev in events:
        c.post(WEB, ev)
        c.drain()


def test_failures_below_the_threshold_only_count_and_warn() -> None:
    c = core()
    verdict(c, LiveFailed(), LiveFailed())
    inst = c.inst("web")
    assert inst.state is State.RUNNING
    assert inst.live_failures == 2
    assert inst.live_failing
    warns = [a.message for _k, a in c.effects if isinstance(a, Emit) and "liveness" in a.message]
    assert warns == ["web: liveness probe failed (1 of 3)", "web: liveness probe failed (2 of 3)"]


def test_an_ok_verdict_resets_the_count() -> None:
    c = core()
    verdict(c, LiveFailed(), LiveFailed(), LiveOk(), LiveFailed(), LiveFailed())
    assert c.state("web") is State.RUNNING
    assert c.inst("web").live_failures == 2
    verdict(c, LiveOk())
    assert not c.inst("web").live_failing


def test_the_threshold_stops_the_group_then_restarts_as_after_a_crash() -> None:
    c = core(stubborn=frozenset({"web"}))  # dies of KILL only: CLEANUP can be seen
    verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
    assert c.actions(WEB, SignalGroup)[-1] == SignalGroup(101, prog().stop_signal)
    inst = c.inst("web")
    assert inst.state is State.CLEANUP
    assert inst.live_failing  # until the next process: /livez still names it
    c.tick()  # stop_timeout: KILL; the group is gone, and it ran past start_seconds:
    inst = c.inst("web")  # restarted at once, as after a crash (attempts 0: no delay)
    assert inst.state is State.STARTING
    c.settle(5)
    inst = c.inst("web")
    assert inst.state is State.RUNNING
    assert len(c.actions(WEB, Spawn)) == 2
    assert inst.restarts_by_reason == (("liveness", 1),)
    assert inst.live_failures == 0  # a new process starts with a clean count


def test_a_liveness_loop_ends_in_backoff_then_fatal_by_the_flap_count() -> None:
    c = core(flap_max=2, flap_window=60.0)
    states = []
    for _ in range(8):  # start_retries 3: the 6th restart in the window is the 4th "failed"
        verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
        states.append(c.state("web"))
        c.settle(5)
    assert State.BACKOFF in states
    assert c.state("web") is State.FATAL
    assert BackoffDone() not in c.inst("web").timers


@pytest.mark.parametrize("restart", [Restart.ALWAYS, Restart.ON_FAILURE])
def test_on_failure_restarts_even_when_the_stopped_process_exits_0(restart: Restart) -> None:
    c = core(restart=restart)
    verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
    assert c.state("web") in (State.STARTING, State.RUNNING)
    assert c.inst("web").restarts_by_reason == (("liveness", 1),)


def test_restart_never_leaves_it_exited() -> None:
    c = core(restart=Restart.NEVER)
    verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
    c.settle(5)
    inst = c.inst("web")
    assert inst.state is State.EXITED
    assert inst.restarts_by_reason == ()
    assert inst.live_failing


def test_a_critical_program_left_down_by_liveness_ends_the_container() -> None:
    c = core(restart=Restart.NEVER, critical=True)
    verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
    c.settle(20)
    assert c.exit == 143  # its SIGTERM death, as a shell reports it


def test_a_stop_after_the_verdict_keeps_it_stopped() -> None:
    c = core(stubborn=frozenset({"web"}))
    verdict(c, LiveFailed(), LiveFailed(), LiveFailed())
    assert c.state("web") is State.CLEANUP
    c.post(WEB, StopRequested())
    c.settle(5)
    assert c.state("web") is State.STOPPED


def test_verdicts_outside_running_are_ignored() -> None:
    for (state, event), cell in TRANSITIONS.items():
        if event in (LiveFailed, LiveOk) and state is not State.RUNNING:
            assert cell is IGNORE, (state, event)


def test_a_program_without_live_only_counts() -> None:
    """A verdict queued before a reload took `live` away: no restart, nothing said."""
    c = Core(prog())
    c.settle(5)
    for _ in range(5):
        verdict(c, LiveFailed())
    assert c.state("web") is State.RUNNING


def test_instance_default_is_not_failing() -> None:
    assert not Instance(prog(live=LIVE)).live_failing
