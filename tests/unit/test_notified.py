"""Issue 9: the cells of the notify protocol's columns and of the per-program watchdog
(``model/notified.py``), replayed as histories through the pure ``step``."""

from __future__ import annotations

from signal import SIGTERM

from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config.schema import OnFatal, Program, Readiness, ReadyKind
from pinit.model.actions import Arm, Disarm, Extend, SignalGroup, TrackMain
from pinit.model.events import (
    Exited,
    ExtendTimeout,
    GroupGone,
    MainPidNotified,
    ReadyObserved,
    ReadyTimeout,
    Recycle,
    RestartRequested,
    Spawned,
    StartRequested,
    StatusNotified,
    StopRequested,
    StopTimeout,
    WatchdogPing,
    WatchdogTimeout,
)
from pinit.model.instance import Instance, State
from tests.unit.modelcore import Core
from tests.unit.test_state import prog, quiet, run, running

WD = WatchdogTimeout()


def test_watchdog_is_armed_at_running_and_rearmed_by_each_ping() -> None:
    inst = running(prog(watchdog=10.0))  # running at t=1 (start_seconds)
    assert WD in inst.timers
    inst, (acts,) = run(inst, (4.0, WatchdogPing()))
    assert quiet(acts) == (Disarm(WD), Arm(WD, 14.0))
    inst, (acts,) = run(inst, (14.0, WD))
    assert inst.state is State.CLEANUP and inst.after_cleanup is State.BACKOFF  # unasked death
    assert inst.restart_reason == "watchdog"
    assert SignalGroup(100, SIGTERM) in acts
    assert WD not in inst.timers


def test_no_watchdog_while_starting_nor_for_programs_without_it() -> None:
    starting, _ = run(Instance(prog(watchdog=5.0)), (0.0, StartRequested()), (0.0, Spawned(7, 7)))
    assert WD not in starting.timers  # counted from RUNNING, as systemd's WatchdogSec=
    _, (acts,) = run(starting, (0.5, WatchdogPing()))
    assert acts == ()
    plain = running(prog())
    assert WD not in plain.timers
    _, (acts,) = run(plain, (2.0, WatchdogPing()))
    assert acts == ()


def test_leaving_running_disarms_the_watchdog() -> None:
    inst = running(prog(watchdog=10.0))
    inst, (acts,) = run(inst, (2.0, StopRequested()))
    assert Disarm(WD) in acts and WD not in inst.timers


def test_recycle_restarts_only_a_live_instance() -> None:
    inst = running(prog())
    restarted, _ = run(inst, (2.0, Recycle("memory")))
    assert restarted.state is State.CLEANUP and restarted.restart_reason == "memory"
    # Never turns an operator's stop into a restart (a RestartRequested would).
    stopping, _ = run(inst, (2.0, StopRequested()))
    after, (acts,) = run(stopping, (2.0, Recycle("lifetime")))
    assert after == stopping and acts == ()
    done, _ = run(after, (2.0, Exited(100, SIGTERM)), (2.0, GroupGone()), (2.0, Recycle("x")))
    assert done.state is State.STOPPED and done.spawns == 1


def test_mainpid_moves_the_main_pid_and_the_parents_death_is_not_the_instances() -> None:
    inst = running(prog())
    inst, (acts,) = run(inst, (2.0, MainPidNotified(200)))
    assert inst.pid == 200 and TrackMain(100, 200) in acts
    inst, (acts,) = run(inst, (2.0, Exited(100, 0)))  # the forking parent, same turn
    assert inst.state is State.RUNNING and inst.pid == 200 and quiet(acts) == ()
    inst, _ = run(inst, (3.0, Exited(200, SIGTERM)))
    assert inst.state is State.CLEANUP and inst.pid is None


def test_extend_timeout_asks_for_a_later_ready_or_stop_deadline() -> None:
    p = prog(ready=Readiness(kind=ReadyKind.NOTIFY, timeout=5.0))
    inst, _ = run(Instance(p), (0.0, StartRequested()), (0.0, Spawned(9, 9)))
    assert ReadyTimeout() in inst.timers
    inst, (acts,) = run(inst, (3.0, ExtendTimeout(10.0)))
    assert acts == (Extend(ReadyTimeout(), 13.0),)
    inst, _ = run(inst, (4.0, ReadyObserved()), (5.0, StopRequested()))
    _, (acts,) = run(inst, (6.0, ExtendTimeout(30.0)))
    assert acts == (Extend(StopTimeout(), 36.0),)
    ready = running(prog())  # nothing pending: nothing to extend
    _, (acts,) = run(ready, (2.0, ExtendTimeout(1.0)))
    assert acts == ()


def test_status_text_and_sub_state_are_kept_until_the_next_spawn() -> None:
    inst = running(prog())
    inst, _ = run(inst, (2.0, StatusNotified("serving", "reloading")))
    assert (inst.status_text, inst.sub_state) == ("serving", "reloading")
    inst, _ = run(inst, (2.0, StatusNotified(None, "")))  # READY=1 ends the reload
    assert (inst.status_text, inst.sub_state) == ("serving", "")
    inst, _ = run(inst, (2.0, StatusNotified(None, "stopping")), (2.0, StatusNotified(None, "")))
    assert inst.sub_state == "stopping"  # READY=1 does not end a STOPPING=1
    inst, _ = run(inst, (2.0, StatusNotified("x" * 500)))
    assert len(inst.status_text) == 200
    inst, _ = run(
        inst,
        (3.0, StopRequested()),
        (3.0, Exited(100, SIGTERM)),
        (3.0, GroupGone()),
        (4.0, StartRequested()),
        (4.0, Spawned(101, 101)),
    )
    assert (inst.status_text, inst.sub_state) == ("", "")


# --- through the plan (tests/unit/modelcore.py: the Core checks the contract at every step) ---


def test_a_missed_watchdog_restarts_the_instance_through_the_plan() -> None:
    core = Core(prog(name="w", watchdog=10.0, start_seconds=0.0))
    assert core.state("w") is State.RUNNING
    first = core.inst("w").pid
    core.now = 5.0
    core.post(("w", 0), WatchdogPing())
    core.drain()
    assert core.timers[(("w", 0), WD)] == 15.0
    assert core.tick()  # the watchdog fires at 15: a graceful restart
    core.drain()
    inst = core.inst("w")
    assert inst.state is State.RUNNING and inst.pid != first
    assert inst.restarts_by_reason == (("watchdog", 1),)
    assert core.timers[(("w", 0), WD)] == 25.0  # armed again for the new process


def test_recycle_and_mainpid_through_the_plan() -> None:
    core = Core(prog(name="m", start_seconds=0.0), prog(name="x", start_seconds=0.0))
    core.post(("m", 0), MainPidNotified(500))
    core.drain()
    assert core.inst("m").pid == 500 and core.alive[("m", 0)] == 500
    core.post(("x", 0), Recycle("memory"))
    core.drain()
    assert core.state("x") is State.RUNNING
    assert core.inst("x").restarts_by_reason == (("memory", 1),)
    core.shutdown()
    core.settle()
    assert core.exit == 0


WATCHED = [
    prog(start_seconds=0, watchdog=2.0),
    prog(watchdog=1.0, ready=Readiness(kind=ReadyKind.NOTIFY, timeout=3.0)),
]
said = st.sampled_from(
    [
        WatchdogPing(),
        Recycle("memory"),
        MainPidNotified(777),
        ExtendTimeout(5.0),
        StatusNotified("busy", "reloading"),
        StatusNotified(None, ""),
        StartRequested(),
        StopRequested(),
        RestartRequested(),
        ReadyObserved(),
        "tick",
        "exit",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(WATCHED), st.lists(st.tuples(said, st.floats(0, 5)), max_size=40))
def test_invariants_hold_with_the_notify_columns(
    program: Program, script: list[tuple[object, float]]
) -> None:
    """test_state's any-history property, with a watchdog and what a program may say: the Core
    checks the contract at every step (timers armed once, StateChanged last, ...), and the
    watchdog is armed exactly while RUNNING."""
    core = Core(program, on_fatal=OnFatal.IGNORE)
    key = ("web", 0)
    for item, dt in script:
        core.now += dt
        if item == "tick":
            core.tick()
        elif item == "exit":
            if key in core.alive:
                core.die(key, 9)
        else:
            core.post(key, item)  # type: ignore[arg-type]
        core.drain()
        inst = core.inst("web")
        assert (WD in inst.timers) == (inst.state is State.RUNNING)
    core.shutdown()
    core.settle(limit=100)
    assert core.exit is not None and core.inst("web").down and not core.alive
