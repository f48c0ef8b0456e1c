"""Container-level decisions, driven through the shared pure core (tests/unit/modelcore.py)."""

from __future__ import annotations

import signal
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config.schema import Config, OnFatal, Program, Readiness, ReadyKind, Restart
from pinit.model import plan as P  # noqa: N812 (short, reads like a namespace)
from pinit.model import reload as R  # noqa: N812
from pinit.model import shutdown as S  # noqa: N812
from pinit.model.events import ReadyObserved, StartRequested, StopRequested
from pinit.model.state import State
from tests.unit.modelcore import Core, prog
from tests.unit.modelcore import settled as boot


def stack() -> tuple[Program, ...]:
    return (
        prog("db", ready=Readiness(kind=ReadyKind.TCP, port=5432)),
        prog("app", after=("db",)),
        prog("web", after=("app",), numprocs=2),
        prog("cron"),
    )


# --- starting -----------------------------------------------------------------------------------


def test_initial_wants_autostart_only() -> None:
    plan = P.initial(Config(programs=(prog("a"), prog("b", autostart=False))))
    assert plan.to_start == {("a", 0)}
    assert plan.phase is P.Phase.STARTING
    assert set(plan.instances) == {("a", 0), ("b", 0)}


def test_boot_starts_only_what_has_no_after() -> None:
    plan = P.initial(Config(programs=stack()))
    assert P.next_starts(plan) == [("cron", 0), ("db", 0)]
    plan, acts = P.boot(plan)
    assert acts == (P.StartInstance(("cron", 0)), P.StartInstance(("db", 0)))
    assert P.next_starts(plan) == []


def test_dependents_start_in_layers_once_ready() -> None:
    sim = boot(*stack())
    assert sim.started == [("cron", 0), ("db", 0), ("app", 0), ("web", 0), ("web", 1)]
    assert sim.plan.phase is P.Phase.RUNNING
    assert P.PhaseChanged(P.Phase.STARTING, P.Phase.RUNNING) in sim.log


def test_dependent_waits_for_readiness_not_spawn() -> None:
    sim = Core(*stack(), probe_ok=False)
    sim.tick()
    sim.tick()  # cron's and db's start timers: db RUNNING but not ready
    assert sim.state("db") is State.RUNNING
    assert ("app", 0) not in sim.started
    sim.post(("db", 0), ReadyObserved())
    sim.drain()
    assert ("app", 0) in sim.started


def test_after_satisfied_by_successful_one_shot() -> None:
    sim = Core(prog("migrate", restart=Restart.NEVER), prog("web", after=("migrate",)))
    assert sim.started == [("migrate", 0)]
    sim.crash("migrate", 0)  # exits 0 inside start_seconds: a finished one-shot, not a failure
    assert sim.state("migrate") is State.EXITED
    assert sim.started == [("migrate", 0), ("web", 0)]
    sim.settle()
    assert sim.state("web") is State.RUNNING
    assert sim.exit is None


def test_after_not_satisfied_by_failed_one_shot() -> None:
    sim = Core(prog("m", restart=Restart.NEVER), prog("w", after=("m",)))
    sim.crash("m", 3 << 8)
    sim.settle()
    assert sim.state("w") is State.STOPPED
    assert sim.exit is None


# --- shutdown triggers ------------------------------------------------------------------------


def test_main_exit_shuts_down_with_its_code_in_reverse_order() -> None:
    sim = boot(*stack(), prog("main", restart=Restart.NEVER), main="main")
    sim.crash("main", 7 << 8)
    sim.settle()
    assert sim.exit == 7
    # stop_layers: [web] -> [app] -> [cron, db, main] (main is already down)
    assert sim.stopped == [("web", 0), ("web", 1), ("app", 0), ("cron", 0), ("db", 0)]
    assert sim.plan.phase is P.Phase.DONE


@pytest.mark.parametrize(("status", "code"), [(9, 137), (15, 143), (0, 0)])
def test_main_signal_death_is_128_plus_n(status: int, code: int) -> None:
    sim = boot(prog("main", restart=Restart.NEVER), prog("side"), main="main")
    sim.crash("main", status)
    sim.settle()
    assert sim.exit == code


def test_main_restarting_does_not_shut_down() -> None:
    sim = boot(prog("main", restart=Restart.ON_FAILURE), main="main")
    sim.crash("main", 9)
    sim.settle()
    assert sim.exit is None
    assert sim.state("main") is State.RUNNING


def test_critical_fatal_shuts_down_with_its_code() -> None:
    sim = boot(prog("a", critical=True, start_retries=0), prog("b"), on_fatal=OnFatal.IGNORE)
    sim.crash("a", 9)  # long-running crash: restart immediately...
    sim.drain()
    sim.crash("a", 4 << 8)  # ...and that restart dies inside start_seconds: FATAL
    sim.settle()
    assert sim.exit == 4


def test_on_fatal_shutdown_exits_1() -> None:
    sim = boot(prog("a", start_retries=0), prog("b"))
    sim.crash("a", 9)
    sim.drain()
    sim.crash("a", 2 << 8)
    sim.settle()
    assert sim.state("a") is State.FATAL
    assert sim.exit == 1


def test_on_fatal_ignore_keeps_running() -> None:
    sim = boot(prog("a", start_retries=0), prog("b"), on_fatal=OnFatal.IGNORE)
    sim.crash("a", 9)
    sim.drain()
    sim.crash("a", 2 << 8)
    sim.settle()
    assert sim.state("a") is State.FATAL
    assert sim.exit is None
    assert sim.state("b") is State.RUNNING


# --- shutdown sequencing and exit code ----------------------------------------------------------


def test_layer_stops_only_after_later_layers_are_down() -> None:
    sim = boot(*stack())
    sim.stubborn = {"web"}
    sim.shutdown()
    sim.drain()
    assert sim.stopped == [("web", 0), ("web", 1)]  # app waits for web; cron is in db's layer
    assert sim.state("app") is State.RUNNING
    sim.settle()  # stop timers fire: KILL
    assert sim.stopped[2:] == [("app", 0), ("cron", 0), ("db", 0)]
    assert sim.exit == 137  # web did not stop gracefully


def test_graceful_shutdown_exits_0() -> None:
    sim = boot(*stack())
    sim.shutdown()
    sim.settle()
    assert sim.exit == 0
    assert all(i.state is State.STOPPED for i in sim.plan.instances.values())


def test_shutdown_is_idempotent_and_starts_nothing() -> None:
    sim = boot(*stack())
    sim.plan, _ = S.begin_shutdown(sim.plan, "SIGTERM")
    again, more = S.begin_shutdown(sim.plan, "SIGINT")
    assert more == ()
    assert again is sim.plan
    assert P.next_starts(sim.plan) == []


def test_shutdown_with_nothing_running_exits_at_once() -> None:
    plan = P.initial(Config(programs=(prog("a", autostart=False),)))
    plan, acts = S.begin_shutdown(plan, "ctl")
    assert acts[-1] == P.ExitContainer(0)
    assert plan.phase is P.Phase.DONE


def test_shutdown_during_backoff_stops_without_signal() -> None:
    sim = boot(prog("a"))
    sim.crash("a", 9)
    sim.drain()
    sim.crash("a", 1 << 8)  # failed start: BACKOFF with a 1s delay
    assert sim.state("a") is State.BACKOFF
    sim.shutdown()
    sim.settle()
    assert sim.exit == 0  # the crash before the stop is not the shutdown's fault


@pytest.mark.parametrize(("stubborn", "code"), [(set(), 0), ({"main"}, 137)])
def test_shutdown_exit_code_is_mains_unless_it_stopped_gracefully(
    stubborn: set[str], code: int
) -> None:
    """main dies of the TERM we sent: a clean stop (0, not 143: `docker stop` is no failure);
    main needed SIGKILL after its stop timeout: 137."""
    sim = boot(prog("main"), prog("other"), main="main")
    sim.stubborn = {"other", *stubborn}
    sim.shutdown()
    sim.settle()
    assert sim.exit == code


def test_exit_code_now_rules() -> None:
    a = prog("a")
    plan = P.initial(Config(programs=(a,)))
    key = ("a", 0)
    inst = plan.instances[key]
    fatal = replace(plan, instances={key: replace(inst, state=State.FATAL, last_status=0)})
    assert S.exit_code_now(fatal) == 1
    clean = replace(inst, state=State.STOPPED, last_status=15, exit_on_stop=True)
    assert S.exit_code_now(replace(plan, instances={key: clean})) == 0
    dirty = replace(clean, last_status=3 << 8)
    assert S.exit_code_now(replace(plan, instances={key: dirty})) == 3
    assert S.exit_code_now(replace(plan, exit_code=9)) == 9


# --- reload -------------------------------------------------------------------------------------


def reload(sim: Core, *programs: Program, **kw: object) -> None:
    sim.reload(*programs, **kw)
    sim.settle()


def test_reload_diff() -> None:
    keep, change, gone = prog("keep"), prog("change"), prog("gone")
    sim = boot(keep, change, gone)
    pids = dict(sim.alive)
    changed = prog("change", stop_signal=signal.SIGINT)
    reload(sim, keep, changed, prog("new"))
    assert sim.alive[("keep", 0)] == pids[("keep", 0)]  # untouched: same pid
    assert sim.alive[("change", 0)] != pids[("change", 0)]  # restarted
    assert sim.plan.instances[("change", 0)].program == changed
    assert ("gone", 0) not in sim.plan.instances
    assert ("gone", 0) not in sim.alive
    assert sim.state("new") is State.RUNNING
    assert sim.stopped == [("gone", 0), ("change", 0)]
    assert sim.exit is None


def test_reload_numprocs_grow_and_shrink_keeps_others() -> None:
    web = prog("web", numprocs=3)
    sim = boot(web)
    pids = dict(sim.alive)
    reload(sim, replace(web, numprocs=5))
    assert [sim.state("web", i) for i in range(5)] == [State.RUNNING] * 5
    assert all(sim.alive[("web", i)] == pids[("web", i)] for i in range(3))
    reload(sim, replace(web, numprocs=1))
    assert sorted(sim.plan.instances) == [("web", 0)]
    assert sim.alive == {("web", 0): pids[("web", 0)]}
    assert sim.plan.instances[("web", 0)].program.numprocs == 1


def test_reload_unchanged_is_a_no_op() -> None:
    sim = boot(*stack())
    before = dict(sim.plan.instances)
    reload(sim, *stack())
    assert dict(sim.plan.instances) == before
    assert sim.stopped == []


def test_reload_during_shutdown_is_ignored() -> None:
    sim = boot(prog("a"))
    sim.plan, _ = S.begin_shutdown(sim.plan, "x")
    plan, acts = R.apply_reload(sim.plan, Config(programs=()))
    assert plan is sim.plan
    assert len(acts) == 1


def test_removed_main_program_being_stopped_does_not_trigger_exit() -> None:
    sim = boot(prog("a", restart=Restart.NEVER, critical=True), prog("b"))
    reload(sim, prog("b"))
    assert sim.exit is None
    assert ("a", 0) not in sim.plan.instances


# --- property: any operator history ends in an orderly exit ------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("crash"),
            st.sampled_from(["db", "app", "web", "cron"]),
            st.sampled_from([0, 256, 9]),
        ),
        st.tuples(st.just("tick"), st.just(""), st.just(0)),
        st.tuples(st.just("reload"), st.just(""), st.integers(0, 2)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.booleans())
def test_any_history_then_shutdown_exits_once_with_nothing_alive(
    history: list[tuple[str, str, int]], stubborn: bool
) -> None:
    sim = boot(*stack(), on_fatal=OnFatal.IGNORE)
    if stubborn:
        sim.stubborn = {"app"}
    variants = [stack(), (*stack()[:3], prog("cron", numprocs=2)), stack()[:2]]
    for op, name, arg in history:
        if op == "crash":
            keys = [k for k in sim.alive if k[0] == name]
            if keys:
                sim.crash(name, arg, keys[0][1])
        elif op == "tick":
            sim.tick()
        else:
            reload(sim, *variants[arg], on_fatal=OnFatal.IGNORE)
    sim.shutdown()
    sim.settle(limit=1000)
    assert sim.exit is not None
    assert sim.alive == {}
    assert all(inst.down for inst in sim.plan.instances.values())


# --- operator stops (`pinit ctl stop`) ----------------------------------------------------------


def test_operator_stopped_instance_is_never_restarted_by_the_plan() -> None:
    sim = boot(*stack(), main="web")
    sim.post(("web", 0), StopRequested())
    sim.settle()
    assert sim.state("web", 0) is State.STOPPED
    assert sim.state("web", 1) is State.RUNNING
    assert sim.exit is None  # main stopped by an operator does not end the container
    assert sim.plan.phase is P.Phase.RUNNING
    sim.crash("db", 1 << 8)  # a restart elsewhere re-runs issue_starts: web-1 stays down
    sim.settle()
    assert sim.state("web", 0) is State.STOPPED
    assert sim.started.count(("web", 0)) == 1


def test_stop_holds_a_waiting_instance_out_of_the_start_list() -> None:
    """`ctl stop` of an instance waiting on its `after`: StopRequested in STOPPED marks it, and
    the plan drops it from to_start, or db's readiness would start it behind the operator."""
    sim = Core(*stack(), probe_ok=False)
    sim.tick()
    sim.tick()  # cron's and db's start timers: db RUNNING, not ready
    assert ("app", 0) in sim.plan.to_start  # waiting on db's readiness
    sim.post(("app", 0), StopRequested())
    sim.drain()
    assert ("app", 0) not in sim.plan.to_start
    sim.post(("db", 0), ReadyObserved())
    sim.drain()
    assert sim.inst("db").ready
    assert ("app", 0) not in sim.started
    sim.post(("app", 0), StartRequested())  # `ctl start` still works
    sim.drain()
    assert sim.state("app") is State.STARTING


# --- the whole-stop budget (issue 7.6) and stop_now ---------------------------------------------


def test_no_budget_arms_nothing() -> None:
    sim = boot(*stack())
    _, acts = S.begin_shutdown(sim.plan, "SIGTERM")
    assert not [a for a in acts if isinstance(a, P.ArmStopBudget)]


def test_stop_budget_spent_stops_and_kills_every_layer_at_once() -> None:
    sim = boot(*stack(), stop_budget=3.0)
    sim.stubborn = {"db", "app", "web", "cron"}
    sim.plan, acts = S.begin_shutdown(sim.plan, "SIGTERM")
    assert P.ArmStopBudget(3.0) in acts  # armed when the shutdown begins
    sim.plan_acts(acts)
    sim.drain()
    assert sim.stopped == [("web", 0), ("web", 1)]  # in order, as without a budget
    sim.plan, acts = S.stop_now(sim.plan, "stop budget of 3s spent")
    sim.plan_acts(acts)
    every = tuple(sorted(sim.plan.instances))
    assert acts[-1] == P.KillInstances(every, "stop budget of 3s spent")
    assert sorted(sim.stopped) == sorted(every)  # each stopped once, later layers too
    assert sim.alive == {}  # the fake runtime carried out the KILL
    sim.drain()
    assert sim.exit == 137
    assert all(i.state is State.STOPPED for i in sim.plan.instances.values())  # none restarted


def test_stop_now_begins_the_shutdown_if_needed_and_is_a_no_op_when_done() -> None:
    sim = boot(*stack())
    sim.plan, acts = S.stop_now(sim.plan, "budget")
    assert sim.plan.phase is P.Phase.SHUTTING_DOWN
    assert isinstance(acts[-1], P.KillInstances)
    sim.plan_acts(acts)
    for key in acts[-1].keys:
        if key in sim.alive:
            sim.die(key, 9)
    sim.settle()
    assert sim.exit is not None and sim.plan.phase is P.Phase.DONE
    assert S.stop_now(sim.plan, "again") == (sim.plan, ())
