"""The per-instance state machine, cell by cell and by replayed histories (no processes)."""

from __future__ import annotations

import random
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config.schema import Backoff, OnFatal, Program, Readiness, ReadyKind, Restart
from pinit.model.actions import (
    Action,
    Arm,
    Disarm,
    Emit,
    KillGroup,
    Restarting,
    SignalGroup,
    Spawn,
    StartProbe,
    StateChanged,
    StopProbe,
    Verdict,
)
from pinit.model.events import (
    EVENT_TYPES,
    BackoffDone,
    Event,
    Exited,
    GroupGone,
    ReadyObserved,
    ReadyTimeout,
    RestartRequested,
    SignalRequested,
    Spawned,
    SpawnFailed,
    StartRequested,
    StartTimeout,
    StopRequested,
    StopTimeout,
    TimerEvent,
)
from pinit.model.state import IGNORE, ILLEGAL, TRANSITIONS, Instance, State, step
from pinit.model.status import describe, exit_code
from tests.unit.modelcore import Core

NO_JITTER = Backoff(initial=1.0, max=8.0, factor=2.0, jitter=0.0)
SIGKILL = 9
SIGTERM = 15


def prog(**kw: object) -> Program:
    base: dict[str, object] = {
        "name": "web",
        "command": ("web",),
        "start_seconds": 1.0,
        "start_retries": 3,
        "backoff": NO_JITTER,
        "stop_timeout": 5.0,
    }
    base.update(kw)
    return Program(**base)  # type: ignore[arg-type]


def run(
    inst: Instance, *events: tuple[float, Event], seed: int = 0
) -> tuple[Instance, list[tuple[Action, ...]]]:
    rng = random.Random(seed)
    out = []
    for now, ev in events:
        inst, acts = step(inst, ev, now, rng)
        out.append(acts)
    return inst, out


def quiet(acts: tuple[Action, ...]) -> tuple[Action, ...]:
    """Actions without the log lines, which are for humans and free to change."""
    return tuple(a for a in acts if not isinstance(a, Emit | Restarting | Verdict))


def signaled(sig: int) -> int:
    return sig


def exited_with(code: int) -> int:
    return code << 8


def running(p: Program | None = None, pid: int = 100) -> Instance:
    inst, _ = run(
        Instance(p or prog()),
        (0.0, StartRequested()),
        (0.0, Spawned(pid, pid)),
        (1.0, StartTimeout()),
    )
    assert inst.state is State.RUNNING
    return inst


# --- the table ----------------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_cell_is_explicit(state: State, event_type: type) -> None:
    assert (state, event_type) in TRANSITIONS


def test_table_has_no_extra_cells() -> None:
    assert len(TRANSITIONS) == len(State) * len(EVENT_TYPES)


def test_illegal_keeps_instance_and_warns() -> None:
    inst = Instance(prog())
    new, acts = step(inst, Exited(5, 0), 0.0, random.Random(0))
    assert new is inst
    assert len(acts) == 1
    assert isinstance(acts[0], Emit)
    assert acts[0].level == "warn"


def test_ignore_keeps_instance_silently() -> None:
    inst = Instance(prog())
    assert TRANSITIONS[(State.STOPPED, GroupGone)] is IGNORE
    assert step(inst, GroupGone(), 0.0, random.Random(0)) == (inst, ())
    assert TRANSITIONS[(State.STOPPED, Spawned)] is ILLEGAL


def test_exit_code_shell_convention() -> None:
    assert exit_code(exited_with(0)) == 0
    assert exit_code(exited_with(3)) == 3
    assert exit_code(signaled(SIGKILL)) == 137
    assert exit_code(signaled(SIGTERM) | 0x80) == 143  # core dumped flag
    assert exit_code(0x137F) == 128 + 0x13  # stopped by SIGCONT-ish stopsig


# --- single transitions -------------------------------------------------------------------------


def test_start_spawns() -> None:
    inst, acts = step(Instance(prog(), index=2), StartRequested(), 0.0, random.Random(0))
    assert inst.state is State.STARTING
    assert quiet(acts) == (Spawn("web", 2), StateChanged(State.STOPPED, State.STARTING))


def test_spawned_arms_start_timer() -> None:
    inst, (_, acts) = run(Instance(prog()), (0.0, StartRequested()), (5.0, Spawned(10, 10)))
    assert (inst.pid, inst.pgid, inst.started_at) == (10, 10, 5.0)
    assert quiet(acts) == (Arm(StartTimeout(), 6.0),)
    assert inst.timers == {StartTimeout()}


def test_start_seconds_zero_is_running_at_once_and_ready() -> None:
    inst, (_, acts) = run(
        Instance(prog(start_seconds=0)), (0.0, StartRequested()), (0.0, Spawned(10, 10))
    )
    assert inst.state is State.RUNNING
    assert inst.ready
    assert quiet(acts) == (StateChanged(State.STARTING, State.RUNNING),)


def test_start_timer_makes_running_and_resets_attempts() -> None:
    inst = running()
    assert inst.attempts == 0
    assert inst.ready  # ready kind "started"
    assert inst.timers == frozenset()


def test_probe_readiness() -> None:
    p = prog(ready=Readiness(kind=ReadyKind.TCP, port=80, timeout=30.0))
    inst, (_, a_spawned, a_start, a_ready) = run(
        Instance(p),
        (0.0, StartRequested()),
        (0.0, Spawned(10, 10)),
        (1.0, StartTimeout()),
        (2.0, ReadyObserved()),
    )
    assert quiet(a_spawned) == (StartProbe(), Arm(ReadyTimeout(), 30.0), Arm(StartTimeout(), 1.0))
    assert quiet(a_start) == (StateChanged(State.STARTING, State.RUNNING),)
    assert quiet(a_ready) == (StopProbe(), Disarm(ReadyTimeout()))
    assert inst.ready
    assert inst.state is State.RUNNING


def test_ready_before_start_seconds_counts_as_started() -> None:
    p = prog(ready=Readiness(kind=ReadyKind.NOTIFY, timeout=30.0))
    inst, (*_, acts) = run(
        Instance(p), (0.0, StartRequested()), (0.0, Spawned(10, 10)), (0.2, ReadyObserved())
    )
    assert inst.state is State.RUNNING
    assert inst.ready
    assert quiet(acts) == (
        StopProbe(),
        Disarm(ReadyTimeout()),
        Disarm(StartTimeout()),
        StateChanged(State.STARTING, State.RUNNING),
    )


def test_ready_timeout_is_failed_start_with_cleanup() -> None:
    p = prog(ready=Readiness(kind=ReadyKind.HTTP, url="http://x/", timeout=30.0))
    inst, (*_, a_timeout, a_exit, a_gone) = run(
        Instance(p),
        (0.0, StartRequested()),
        (0.0, Spawned(10, 10)),
        (1.0, StartTimeout()),
        (30.0, ReadyTimeout()),
        (30.5, Exited(10, signaled(SIGTERM))),
        (30.6, GroupGone()),
    )
    assert quiet(a_timeout) == (
        StopProbe(),
        SignalGroup(10, signal.SIGTERM),
        Arm(StopTimeout(), 35.0),
        StateChanged(State.RUNNING, State.CLEANUP),
    )
    assert quiet(a_exit) == ()
    assert quiet(a_gone) == (
        Disarm(StopTimeout()),
        Arm(BackoffDone(), 31.6),
        StateChanged(State.CLEANUP, State.BACKOFF),
    )
    assert inst.attempts == 1


def test_stop_running() -> None:
    inst = running()
    inst, (a_stop, a_exit, a_gone) = run(
        inst,
        (10.0, StopRequested()),
        (10.1, Exited(100, signaled(SIGTERM))),
        (10.2, GroupGone()),
    )
    assert quiet(a_stop) == (
        SignalGroup(100, signal.SIGTERM),
        Arm(StopTimeout(), 15.0),
        StateChanged(State.RUNNING, State.STOPPING),
    )
    assert quiet(a_exit) == ()
    assert quiet(a_gone) == (Disarm(StopTimeout()), StateChanged(State.STOPPING, State.STOPPED))
    assert inst.state is State.STOPPED
    assert (inst.pid, inst.pgid, inst.exit_on_stop, inst.exit_code) == (None, None, True, 143)


def test_stop_timeout_kills_group() -> None:
    inst = running(prog(stop_signal=signal.SIGINT))
    inst, (a_stop, a_fire, a_exit, a_gone) = run(
        inst,
        (10.0, StopRequested()),
        (15.0, StopTimeout()),
        (15.1, Exited(100, signaled(SIGKILL))),
        (15.2, GroupGone()),
    )
    assert SignalGroup(100, signal.SIGINT) in a_stop
    assert quiet(a_fire) == (KillGroup(100),)
    assert quiet(a_exit) == ()
    assert quiet(a_gone) == (StateChanged(State.STOPPING, State.STOPPED),)
    assert inst.exit_code == 137


def test_group_gone_before_exit_waits() -> None:
    inst, _ = run(running(), (1.0, StopRequested()))
    new, acts = step(inst, GroupGone(), 2.0, random.Random(0))
    assert new is inst or new == inst
    assert all(isinstance(a, Emit) for a in acts)


def test_stop_while_spawn_in_flight_signals_on_spawned() -> None:
    inst, (_, a_stop, a_spawned) = run(
        Instance(prog()), (0.0, StartRequested()), (0.0, StopRequested()), (0.1, Spawned(7, 7))
    )
    assert quiet(a_stop) == (StateChanged(State.STARTING, State.STOPPING),)
    assert quiet(a_spawned) == (SignalGroup(7, signal.SIGTERM), Arm(StopTimeout(), 5.1))
    assert inst.state is State.STOPPING


def test_stop_while_spawn_in_flight_then_spawn_fails() -> None:
    inst, _ = run(
        Instance(prog()),
        (0.0, StartRequested()),
        (0.0, StopRequested()),
        (0.1, SpawnFailed("nope", 127)),
    )
    assert inst.state is State.STOPPED


def test_stop_in_backoff_disarms() -> None:
    inst, out = run(
        Instance(prog()),
        (0.0, StartRequested()),
        (0.0, SpawnFailed("no such file", 127)),
        (0.1, StopRequested()),
    )
    assert quiet(out[1]) == (Arm(BackoffDone(), 1.0), StateChanged(State.STARTING, State.BACKOFF))
    assert quiet(out[2]) == (Disarm(BackoffDone()), StateChanged(State.BACKOFF, State.STOPPED))
    assert inst.state is State.STOPPED
    assert inst.exit_code == 127


def test_spawn_failed_with_restart_never_is_exited_127() -> None:
    inst, _ = run(
        Instance(prog(restart=Restart.NEVER)),
        (0.0, StartRequested()),
        (0.0, SpawnFailed("not found", 127)),
    )
    assert inst.state is State.EXITED
    assert inst.exit_code == 127


def test_quick_successful_job_is_exited_not_retried() -> None:
    inst, (*_, a_exit, a_gone) = run(
        Instance(prog()),
        (0.0, StartRequested()),
        (0.0, Spawned(5, 5)),
        (0.1, Exited(5, exited_with(0))),
        (0.1, GroupGone()),
    )
    assert inst.state is State.EXITED
    assert inst.attempts == 0
    assert quiet(a_exit) == (
        Disarm(StartTimeout()),
        SignalGroup(5, signal.SIGTERM),
        Arm(StopTimeout(), 5.1),
        StateChanged(State.STARTING, State.CLEANUP),
    )
    assert quiet(a_gone) == (Disarm(StopTimeout()), StateChanged(State.CLEANUP, State.EXITED))


@pytest.mark.parametrize(
    ("restart", "status", "target"),
    [
        (Restart.NEVER, exited_with(1), State.EXITED),
        (Restart.NEVER, signaled(SIGKILL), State.EXITED),
        (Restart.ON_FAILURE, exited_with(0), State.EXITED),
        (Restart.ON_FAILURE, exited_with(1), State.STARTING),
        (Restart.ON_FAILURE, signaled(SIGKILL), State.STARTING),
        (Restart.ALWAYS, exited_with(0), State.STARTING),
    ],
)
def test_running_exit_by_policy(restart: Restart, status: int, target: State) -> None:
    inst, _ = run(running(prog(restart=restart)), (50.0, Exited(100, status)), (50.0, GroupGone()))
    assert inst.state is target


def test_exit_in_cleanup_of_unknown_pid_is_ignored_with_warning() -> None:
    inst, _ = run(running(), (5.0, Exited(100, signaled(SIGKILL))))
    new, acts = step(inst, Exited(999, 0), 5.1, random.Random(0))
    assert new == inst
    assert [a.level for a in acts if isinstance(a, Emit)] == ["warn"]


def test_spawn_failed_after_spawned_keeps_the_live_pid() -> None:
    inst, _ = run(Instance(prog()), (0.0, StartRequested()), (0.0, Spawned(3, 3)))
    new, acts = step(inst, SpawnFailed("late", 127), 0.1, random.Random(0))
    assert new == inst
    assert [a.level for a in acts if isinstance(a, Emit)] == ["warn"]


def test_readiness_before_spawned_is_ignored() -> None:
    inst, _ = run(Instance(prog()), (0.0, StartRequested()))
    new, acts = step(inst, ReadyObserved(), 0.0, random.Random(0))
    assert new == inst
    assert quiet(acts) == ()


def test_stale_timer_dropped() -> None:
    inst = running()
    new, acts = step(inst, StartTimeout(), 9.0, random.Random(0))
    assert new == inst
    assert quiet(acts) == ()


def test_manual_start_from_fatal_resets_attempts() -> None:
    inst = Instance(prog(start_retries=0))
    inst, _ = run(inst, (0.0, StartRequested()), (0.0, SpawnFailed("x", 126)))
    assert inst.state is State.FATAL
    inst, (acts,) = run(inst, (1.0, StartRequested()))
    assert inst.state is State.STARTING
    assert inst.attempts == 0
    assert Spawn("web", 0) in acts


def test_start_during_cleanup_restarts_without_delay() -> None:
    inst, _ = run(
        running(prog(restart=Restart.NEVER)),
        (5.0, Exited(100, exited_with(1))),
        (5.0, StartRequested()),
    )
    assert inst.state is State.CLEANUP
    inst, (acts,) = run(inst, (5.1, GroupGone()))
    assert inst.state is State.STARTING
    assert Spawn("web", 0) in acts


def test_stop_during_cleanup_goes_to_stopped() -> None:
    inst, _ = run(
        running(), (5.0, Exited(100, signaled(SIGKILL))), (5.0, StopRequested()), (6, GroupGone())
    )
    assert inst.state is State.STOPPED


# --- replayed histories -------------------------------------------------------------------------


def test_crash_loop_backoff_grows_then_fatal() -> None:
    inst = Instance(prog(start_retries=3))
    inst, _ = run(inst, (0.0, StartRequested()))
    delays = []
    now = 0.0
    pid = 10
    for _ in range(4):
        inst, out = run(
            inst,
            (now, Spawned(pid, pid)),
            (now + 0.1, Exited(pid, exited_with(1))),
            (now + 0.2, GroupGone()),
        )
        arms = [a for a in out[-1] if isinstance(a, Arm)]
        if inst.state is State.BACKOFF:
            delays.append(arms[0].deadline - (now + 0.2))
            now = arms[0].deadline
            inst, _ = run(inst, (now, BackoffDone()))
            assert inst.state is State.STARTING
        pid += 1
    assert delays == pytest.approx([1.0, 2.0, 4.0])
    assert inst.state is State.FATAL
    assert inst.attempts == 4


def test_kill9_of_long_running_program_restarts_at_once() -> None:
    inst = running(prog(backoff=Backoff(initial=0.0)))
    inst, (a_exit, a_gone) = run(
        inst, (3600.0, Exited(100, signaled(SIGKILL))), (3600.0, GroupGone())
    )
    assert quiet(a_exit) == (
        SignalGroup(100, signal.SIGTERM),
        Arm(StopTimeout(), 3605.0),
        StateChanged(State.RUNNING, State.CLEANUP),
    )
    assert quiet(a_gone) == (
        Disarm(StopTimeout()),
        Spawn("web", 0),
        StateChanged(State.CLEANUP, State.STARTING),
    )


def test_kill9_restart_is_immediate_even_with_nonzero_initial_backoff() -> None:
    inst, (_, a_gone) = run(running(), (60.0, Exited(100, signaled(SIGKILL))), (60, GroupGone()))
    assert inst.state is State.STARTING
    assert Spawn("web", 0) in a_gone
    assert not any(isinstance(a, Arm) for a in a_gone)


def test_flapping_long_runs_end_fatal() -> None:
    p = prog(flap_max=2, flap_window=100.0, start_retries=1, start_seconds=0)
    inst, _ = run(Instance(p), (0.0, StartRequested()))
    now, pid, states = 0.0, 1, []
    for _ in range(6):
        inst, _ = run(inst, (now, Spawned(pid, pid)), (now + 5, Exited(pid, exited_with(1))))
        inst, _ = run(inst, (now + 5, GroupGone()))
        states.append(inst.state)
        if inst.state is State.BACKOFF:
            inst, _ = run(inst, (now + 6, BackoffDone()))
        if inst.state is State.FATAL:
            break
        now += 10
        pid += 1
    assert states == [State.STARTING, State.STARTING, State.BACKOFF, State.FATAL]


def test_jitter_is_seeded_and_bounded() -> None:
    p = prog(backoff=Backoff(initial=1.0, max=10.0, jitter=0.5))
    hist = ((0.0, StartRequested()), (0.0, SpawnFailed("x", 127)))
    a, out_a = run(Instance(p), *hist, seed=7)
    b, out_b = run(Instance(p), *hist, seed=7)
    assert (a, out_a) == (b, out_b)
    arm = next(x for x in out_a[-1] if isinstance(x, Arm))
    assert 0.5 <= arm.deadline <= 1.5


# --- invariants over random histories -----------------------------------------------------------

PROGRAMS = [
    prog(),
    prog(start_seconds=0, backoff=Backoff(initial=0.0)),
    prog(restart=Restart.NEVER, ready=Readiness(kind=ReadyKind.NOTIFY, timeout=3.0)),
    prog(restart=Restart.ALWAYS, start_retries=0, flap_max=1),
]

op_st = st.one_of(
    st.sampled_from(
        [
            StartRequested(),
            StopRequested(),
            RestartRequested(),
            ReadyObserved(),
            SignalRequested(signal.SIGHUP),
        ]
    ),
    st.tuples(st.just("exit"), st.sampled_from([0, 1 << 8, 9, 15])),
    st.sampled_from(["tick", "stubborn", "unspawnable"]),
    st.tuples(st.just("stray"), st.integers(0, 300)),
    st.sampled_from([StartTimeout(), ReadyTimeout(), StopTimeout(), BackoffDone()]),
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(PROGRAMS),
    st.lists(st.tuples(op_st, st.floats(0, 20)), max_size=40),
    st.integers(0, 2**32),
)
def test_invariants_hold_for_any_history(
    program: Program, script: list[tuple[object, float]], seed: int
) -> None:
    """Any history of requests, deaths, timeouts and readiness, through the shared core: it
    checks the contract at every step (one live pid, timers armed once and disarmed only when
    armed, no signal to a gone group, no ILLEGAL cell, StateChanged last, ready only RUNNING).
    Events outside the runtime's contract (a stray pid, a timeout not armed) change nothing."""
    core = Core(program, seed=seed, on_fatal=OnFatal.IGNORE)
    key = ("web", 0)
    for item, dt in script:
        core.now += dt
        if item == "tick":
            core.tick()
        elif item == "stubborn":
            core.stubborn ^= {"web"}
        elif item == "unspawnable":
            core.unspawnable ^= {"web"}
        elif isinstance(item, tuple) and item[0] == "exit":
            if key in core.alive:
                core.die(key, int(item[1]))
        elif isinstance(item, tuple) or (
            isinstance(item, TimerEvent) and (key, item) not in core.timers
        ):
            inst = core.inst("web")
            ev = Exited(10_000 + int(item[1]), 0) if isinstance(item, tuple) else item
            assert step(inst, ev, core.now, random.Random(0))[0] == inst  # type: ignore[arg-type]
        else:
            core.post(key, item)  # type: ignore[arg-type]
        core.drain()
    core.shutdown()
    core.settle(limit=100)
    assert core.exit is not None
    assert core.inst("web").down and not core.alive


# --- operator requests as cells -----------------------------------------------------------------


def test_restart_of_running_is_a_stop_with_a_pending_start() -> None:
    inst, (acts,) = run(running(), (2.0, RestartRequested()))
    assert (inst.state, inst.restart_pending, inst.stop_requested) == (State.STOPPING, True, True)
    assert quiet(acts)[0] == SignalGroup(100, signal.SIGTERM)
    inst, _ = run(inst, (2.1, StopRequested()))  # a stop while stopping calls the start off
    assert not inst.restart_pending
    inst, _ = run(inst, (2.2, StartRequested()))  # a start while stopping: pending again
    assert inst.restart_pending and inst.state is State.STOPPING


def test_stop_of_a_stopped_instance_holds_it() -> None:
    inst, (acts,) = run(Instance(prog()), (0.0, StopRequested()))
    assert inst.stop_requested and inst.state is State.STOPPED and quiet(acts) == ()
    inst, _ = run(inst, (0.0, StartRequested()))
    assert not inst.stop_requested and inst.state is State.STARTING


def test_ctl_signal_is_not_a_stop() -> None:
    inst, (acts,) = run(running(), (2.0, SignalRequested(signal.SIGHUP)))
    assert acts == (SignalGroup(100, signal.SIGHUP, stop=False),)
    assert inst.state is State.RUNNING and not inst.timers
    starting, _ = run(Instance(prog()), (0.0, StartRequested()))
    assert step(starting, SignalRequested(signal.SIGHUP), 0.0, random.Random(0)) == (starting, ())


def test_one_describer_for_every_status() -> None:
    assert describe(exited_with(3)) == "exit 3"
    assert describe(signaled(SIGTERM)) == "killed by SIGTERM"
    assert describe(signaled(SIGKILL) | 0x80) == "killed by SIGKILL"  # core dumped
    assert describe(0x137F) == "stopped by SIGSTOP"
    assert exit_code(0x137F) == 128 + 19


def test_restarts_are_counted_by_reason() -> None:
    """Metrics and events tell restarts apart by why (issue 8): a crash the policy restarts is
    "exited", `ctl restart` is its request's reason; a stop that calls a restart off counts
    nothing, and neither does a start after the program ended for good."""
    inst = running(prog(restart=Restart.ALWAYS, backoff=Backoff(0.0, 0.0, 1.0, 0.0)))
    inst, _ = run(inst, (5.0, Exited(100, exited_with(3))), (5.0, GroupGone()))
    assert inst.state is State.STARTING
    assert inst.restarts_by_reason == (("exited", 1),)
    inst, _ = run(
        inst,
        (5.0, Spawned(101, 101)),
        (6.0, StartTimeout()),
        (7.0, RestartRequested(reason="liveness")),
        (7.0, Exited(101, signaled(SIGTERM))),
        (7.0, GroupGone()),
        (7.0, StartRequested()),
    )
    assert inst.restarts_by_reason == (("exited", 1), ("liveness", 1))
    inst, _ = run(
        inst,
        (7.0, Spawned(102, 102)),
        (8.0, StartTimeout()),
        (9.0, RestartRequested()),
        (9.0, StopRequested()),
        (9.0, Exited(102, signaled(SIGTERM))),
        (9.0, GroupGone()),
        (9.0, StartRequested()),
    )
    assert inst.restarts_by_reason == (("exited", 1), ("liveness", 1))
    assert inst.restart_reason == ""


def test_running_and_ready_times_are_recorded_for_metrics() -> None:
    """Issue 8: /metrics' start and ready durations are running_at/ready_at - started_at."""
    p = prog(ready=Readiness(kind=ReadyKind.TCP, port=80, timeout=30.0))
    inst, _ = run(
        Instance(p),
        (0.0, StartRequested()),
        (0.5, Spawned(10, 10)),
        (1.5, StartTimeout()),
        (4.0, ReadyObserved()),
    )
    assert (inst.started_at, inst.running_at, inst.ready_at) == (0.5, 1.5, 4.0)
    started = prog()  # ready = "started": ready when it counts as running
    inst, _ = run(
        Instance(started), (0.0, StartRequested()), (0.0, Spawned(10, 10)), (1.0, StartTimeout())
    )
    assert inst.running_at == inst.ready_at == 1.0
