"""Issue 9: scale and rolling restarts as plan decisions, replayed through the pure core.

Every history runs the real model (``model.scale``, ``model.roll``, ``model.reload``) with the
recorded-effects runtime of ``modelcore.Core``, which also checks the model's side of the
runtime contract at each step (no two processes per instance, no spawn before the old group
is gone, ...). Capacity during a roll is checked after every timer, the only points where
time passes.
"""

from __future__ import annotations

from dataclasses import replace

from pinit.config.schema import Readiness, ReadyKind, Rolling
from pinit.model import plan as P  # noqa: N812
from pinit.model import roll, scale
from pinit.model.actions import Emit
from pinit.model.instance import Key, State
from tests.unit.modelcore import Core, prog, settled


def pids(sim: Core, name: str = "w") -> dict[int, int | None]:
    return {k[1]: i.pid for k, i in sorted(sim.plan.instances.items()) if k[0] == name}


def up(sim: Core, name: str = "w") -> int:
    return sum(
        1
        for k, i in sim.plan.instances.items()
        if k[0] == name and i.state is State.RUNNING and i.ready
    )


def messages(sim: Core) -> list[str]:
    return [a.message for a in sim.log if isinstance(a, Emit)]


def do_scale(sim: Core, count: int, name: str = "w") -> None:
    sim.change(lambda p: scale.scale(p, name, count))
    sim.drain()


# --- scale --------------------------------------------------------------------------------------


def test_scale_1_8_2_keeps_pids_and_stops_highest_first() -> None:
    sim = settled(prog())
    first = sim.inst("w").pid
    do_scale(sim, 8)
    sim.settle()
    assert up(sim) == 8 and pids(sim)[0] == first
    eight = pids(sim)
    sim.stopped.clear()
    do_scale(sim, 2)
    assert sim.stopped == [("w", i) for i in range(7, 1, -1)]  # highest first
    sim.settle()
    assert pids(sim) == {0: eight[0], 1: eight[1]}
    assert sim.plan.config.program("w").numprocs == 2
    assert all(not i.restarts_by_reason and i.spawns == 1 for i in sim.plan.instances.values())


def test_scale_holds_until_the_next_reload() -> None:
    web = prog(numprocs=2)
    sim = settled(web)
    kept = pids(sim)
    do_scale(sim, 5)
    sim.settle()
    assert up(sim) == 5
    sim.reload(web)  # the file still says 2: a numprocs-only change, pids kept
    sim.settle()
    assert pids(sim) == kept and up(sim) == 2


def test_scale_to_zero_and_back_counts_no_restart() -> None:
    sim = settled(prog(numprocs=3))
    do_scale(sim, 0)
    sim.settle()
    assert pids(sim) == {}
    do_scale(sim, 2)
    sim.settle()
    assert up(sim) == 2
    assert [i.spawns for i in sim.plan.instances.values()] == [1, 1]
    assert [i.restarts_by_reason for i in sim.plan.instances.values()] == [(), ()]


def test_scale_starts_instances_that_never_ran() -> None:
    sim = settled(prog(numprocs=1, autostart=False))
    do_scale(sim, 3)
    sim.settle()
    assert up(sim) == 3  # the N includes the defined one that autostart = false held back


def test_scale_leaves_an_instance_stopped_by_request_alone() -> None:
    sim = settled(prog(numprocs=2))
    sim.ask("stop", "w-2")
    sim.settle()
    do_scale(sim, 3)
    sim.settle()
    assert sim.state("w", 1) is State.STOPPED and up(sim) == 2


def test_scale_back_up_while_the_old_one_is_still_stopping() -> None:
    sim = settled(prog(numprocs=2), stubborn=frozenset({"w"}))  # dies only of KILL
    do_scale(sim, 1)
    assert sim.state("w", 1) is State.STOPPING
    do_scale(sim, 2)
    sim.settle()  # stop_timeout, KILL, then the instance comes back as a fresh one
    assert up(sim) == 2 and set(pids(sim)) == {0, 1}


def test_scale_refusals_change_nothing() -> None:
    sim = settled(prog())
    before = sim.plan
    for name, count in (("nope", 2), ("w", -1), ("w", scale.MAX_INSTANCES + 1)):
        plan, acts = scale.scale(before, name, count)
        assert plan is before
        assert [type(a) for a in acts] == [Emit]
    sim.shutdown()
    plan, acts = scale.scale(sim.plan, "w", 3)
    assert plan is sim.plan and "shutting down" in str(acts)


def test_scale_through_the_operator() -> None:
    sim = settled(prog())
    reply = sim.ask("scale", "w", count=3)
    assert reply["ok"] and reply["count"] == 3
    assert [r["name"] for r in reply["instances"]] == ["w-1", "w-2", "w-3"]  # type: ignore[union-attr, index]
    assert not sim.ask("scale", "nope", count=1)["ok"]


# --- rolling restarts ---------------------------------------------------------------------------


def run_roll(sim: Core, floor: int) -> None:
    """Let time pass timer by timer; capacity never falls below ``floor``."""
    while sim.tick():
        assert up(sim) >= floor, sim.plan.instances
    assert not sim.plan.rolls


def test_stop_first_replaces_one_at_a_time_in_order() -> None:
    sim = settled(prog(numprocs=3))
    old = pids(sim)
    sim.change(lambda p: roll.begin(p, "w"))
    sim.drain()
    assert sim.stopped == [("w", 0)]  # only the first, until its replacement is ready
    run_roll(sim, floor=2)
    assert sim.stopped == [("w", 0), ("w", 1), ("w", 2)]
    new = pids(sim)
    assert set(new) == {0, 1, 2} and not set(new.values()) & set(old.values())
    for inst in sim.plan.instances.values():
        assert inst.restarts_by_reason == (("rolling", 1),)
        assert inst.spawns == 2
    assert "rolling restart of w done: 3 replaced" in messages(sim)


def test_start_first_keeps_capacity_with_an_extra_numbered_instance() -> None:
    sim = settled(prog(numprocs=3, rolling=Rolling.START_FIRST))
    old = pids(sim)
    sim.change(lambda p: roll.begin(p, "w"))
    sim.drain()
    assert sim.inst("w", 3).name == "w-4" and sim.started[-1] == ("w", 3)
    assert sim.stopped == []  # nothing stops before the extra one is ready
    run_roll(sim, floor=3)
    assert sim.stopped == [("w", 0), ("w", 1), ("w", 2), ("w", 3)]  # the extra one last
    new = pids(sim)
    assert set(new) == {0, 1, 2} and not set(new.values()) & set(old.values())


def test_reload_rolls_a_changed_program_that_asks_for_it() -> None:
    web = prog(numprocs=3, rolling=Rolling.STOP_FIRST)
    sim = settled(web)
    changed = replace(web, command=("w", "--v2"))
    sim.reload(changed)
    assert sim.stopped == [("w", 0)]
    run_roll(sim, floor=2)
    assert all(i.program == changed for i in sim.plan.instances.values())


def test_reload_without_rolling_still_replaces_all_at_once() -> None:
    web = prog(numprocs=3)
    sim = settled(web)
    sim.reload(replace(web, command=("w", "--v2")))
    assert sorted(sim.stopped) == [("w", 0), ("w", 1), ("w", 2)]


def test_a_replacement_that_never_gets_ready_stops_the_roll() -> None:
    ready = Readiness(kind=ReadyKind.TCP, port=80, timeout=3.0)
    web = prog(numprocs=3, rolling=Rolling.STOP_FIRST, ready=ready, start_retries=1000)
    sim = settled(web)
    old = pids(sim)
    sim.probe_ok = False  # the new code never answers its probe
    sim.reload(replace(web, command=("w", "--broken")))
    sim.settle()
    assert not sim.plan.rolls
    assert sim.exit is None  # the container runs on (on_fatal = shutdown does not apply yet)
    assert (pids(sim)[1], pids(sim)[2]) == (old[1], old[2])
    assert sim.inst("w", 1).program == web and sim.inst("w", 2).program == web
    assert any(m.startswith("rolling restart of w stopped: w-1") for m in messages(sim))
    assert "w-2, w-3 keep(s) the old definition" in " ".join(messages(sim))


def test_start_first_extra_instance_that_fails_stops_the_roll_before_any_stop() -> None:
    web = prog(numprocs=2, rolling=Rolling.START_FIRST, start_retries=0)
    sim = settled(web)
    old = pids(sim)
    sim.unspawnable = {"w"}
    sim.change(lambda p: roll.begin(p, "w"))
    sim.settle()
    assert not sim.plan.rolls and sim.stopped == []
    assert pids(sim) == old  # the extra one is gone, the two old ones untouched


def test_rolling_restart_through_the_operator_and_refusal_while_rolling() -> None:
    sim = settled(prog(numprocs=2))
    reply = sim.ask("restart", "w", rolling=True)
    assert reply["ok"] and reply["rolling"] is True
    busy = sim.ask("restart", "w", rolling=True)
    assert not busy["ok"] and "under way" in str(busy["error"])
    run_roll(sim, floor=1)


def test_shutdown_during_a_roll_drops_it() -> None:
    sim = settled(prog(numprocs=3, rolling=Rolling.START_FIRST))
    sim.change(lambda p: roll.begin(p, "w"))
    sim.drain()
    sim.shutdown()
    sim.settle()
    assert sim.exit == 0 and not sim.plan.rolls
    assert all(i.down for i in sim.plan.instances.values())


def test_reload_during_a_roll_calls_it_off_and_drops_the_extra_instance() -> None:
    web = prog(numprocs=2, rolling=Rolling.START_FIRST)
    sim = settled(web)
    sim.change(lambda p: roll.begin(p, "w"))
    sim.drain()
    sim.reload(web)
    sim.settle()
    keys: list[Key] = sorted(sim.plan.instances)
    assert keys == [("w", 0), ("w", 1)] and not sim.plan.rolls
    assert any("called off: reload" in m for m in messages(sim))
    assert isinstance(sim.plan, P.Plan)
