"""Issue 9: rolling restarts, one instance at a time, each replacement ready before the next.

gunicorn's arbiter (USR2, then HUP to the workers), pm2's ``reload`` and Kubernetes'
``RollingUpdate`` replace workers one by one so that a deploy never drops capacity to zero.
Here a roll is a plan decision, as scale and reload are: ``begin`` records a ``Roll`` in
``Plan.rolls`` and ``advance`` (called by ``plan.on_instance_change`` for the rolled program
only, and only while a roll exists: no cost otherwise) moves it on as the instances change.

One replacement reuses the reload's machinery: ``StopInstance`` plus ``Plan.retire[key] =
(target, True)``, so the old process stops in its normal stop sequence (stop signal, timeout,
KILL, the group gone) and a fresh instance of the target definition takes its key, with the
same number, name, title and ``PINIT_PROCESS_NUM``. The roll waits until that one is RUNNING
and ready (its probe; ``started`` means it outlived ``start_seconds``), then takes the next.
A replacement that fails (CLEANUP, BACKOFF, EXITED, FATAL, or stopped by someone) stops the
roll: the rest keep running their old definition, and the roll says so (an ``error`` line).

Modes (``Program.rolling``):

* ``stop-first`` (the default of ``ctl restart --rolling``): N-1 instances serve while one
  is replaced; never more processes than configured, and no port needs to be shared.
* ``start-first``: one extra instance (index N, named ``NAME-(N+1)``, the target definition)
  is started first and must be ready; then the N instances are replaced as in stop-first,
  so N are always up; the extra one is stopped last, the highest number as a scale-down
  stops. Numbering stays dense: each replacement keeps its old instance's number (a
  replacement renumbered in place would carry the wrong title and environment).

Restarts made by a roll are counted with reason ``"rolling"`` (``Instance.restarts_by_reason``).
"""

from __future__ import annotations

from pinit.config.schema import Program, Rolling
from pinit.model.actions import Emit
from pinit.model.instance import Instance, Key, State
from pinit.model.plan import Phase, Plan, PlanAction, StartInstance, StopInstance
from pinit.records import dataclass, replace

__all__ = ["Roll", "advance", "begin", "cancel"]

REASON = "rolling"
_FAILED = (State.CLEANUP, State.BACKOFF, State.EXITED, State.FATAL)


@dataclass(frozen=True, slots=True)
class Roll:
    program: str
    mode: Rolling
    target: Program  # the definition every replacement runs
    todo: tuple[int, ...]  # indices still to replace, lowest first
    why: str = "ctl restart --rolling"  # for the log lines
    current: int | None = None  # the index being replaced now
    counts: tuple[tuple[str, int], ...] = ()  # current's restarts by reason before it went
    marked: bool = False  # current's fresh incarnation carries its "rolling" reason
    surge: int | None = None  # start-first: the extra instance's index while it exists
    surging: bool = False  # start-first: waiting for the extra instance to be ready
    done: int = 0  # replacements made


def _name(prog: Program, index: int) -> str:
    return Instance(prog, index).name


def begin(
    plan: Plan, name: str, target: Program | None = None, why: str = "ctl restart --rolling"
) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Start rolling ``name``'s instances onto ``target`` (default: its current definition).

    Refused (an ``Emit`` warning, nothing changed) while pinit shuts down, for an unknown
    program, or while another roll of the same program is under way. Instances a reload is
    still retiring are left out (the reload replaces them itself).
    """
    if plan.phase not in (Phase.STARTING, Phase.RUNNING):
        return plan, (Emit("warn", f"rolling restart of {name} refused: shutting down"),)
    try:
        prog = plan.config.program(name)
    except KeyError:
        return plan, (Emit("warn", f"rolling restart: no program {name!r}"),)
    if name in plan.rolls:
        return plan, (Emit("warn", f"rolling restart of {name} refused: one is under way"),)
    target = target or prog
    keys = sorted(k for k in plan.instances if k[0] == name)
    todo = tuple(k[1] for k in keys if k[1] < prog.numprocs and k not in plan.retire)
    mode = target.rolling or Rolling.STOP_FIRST
    roll = Roll(name, mode, target, todo, why=why)
    acts: list[PlanAction] = [
        Emit("info", f"rolling restart of {name} ({why}, {mode.value}): {len(todo)} instance(s)")
    ]
    if mode is Rolling.START_FIRST and any(not plan.instances[(name, i)].down for i in todo):
        plan, roll, more = _add_surge(plan, roll, max(k[1] for k in keys) + 1)
        acts += more
    plan = replace(plan, rolls={**plan.rolls, name: roll})
    plan, more = advance(plan, name)
    return plan, (*acts, *more)


def _add_surge(plan: Plan, roll: Roll, index: int) -> tuple[Plan, Roll, list[PlanAction]]:
    """The extra instance of start-first, numbered after the last one (``NAME-(N+1)``)."""
    prog = replace(roll.target, numprocs=max(roll.target.numprocs, index + 1))
    key = (roll.program, index)
    instances = dict(plan.instances)
    instances[key] = Instance(prog, index)
    plan = replace(plan, instances=instances, to_start=plan.to_start - {key})
    roll = replace(roll, surge=index, surging=True)
    return plan, roll, [StartInstance(key)]


def _retire_key(plan: Plan, key: Key) -> tuple[Plan, list[PlanAction]]:
    """Drop an instance: at once if down, else stop it first (``Plan.retire`` drops it)."""
    inst = plan.instances.get(key)
    if inst is None:
        return plan, []
    if inst.down:
        instances = dict(plan.instances)
        del instances[key]
        return replace(plan, instances=instances, to_start=plan.to_start - {key}), []
    acts: list[PlanAction] = [] if key in plan.retire else [StopInstance(key)]
    return replace(plan, retire={**plan.retire, key: None}), acts


def _end(plan: Plan, roll: Roll, level: str, message: str) -> tuple[Plan, list[PlanAction]]:
    rolls = dict(plan.rolls)
    rolls.pop(roll.program, None)
    plan = replace(plan, rolls=rolls)
    acts: list[PlanAction] = [Emit(level, message)]
    if roll.surge is not None:
        plan, more = _retire_key(plan, (roll.program, roll.surge))
        acts += more
    return plan, acts


def _fail(plan: Plan, roll: Roll, inst: Instance) -> tuple[Plan, list[PlanAction]]:
    left = [_name(roll.target, i) for i in roll.todo]
    rest = f"; {', '.join(left)} keep(s) the old definition" if left else ""
    return _end(
        plan,
        roll,
        "error",
        f"rolling restart of {roll.program} stopped: {inst.name} did not become ready "
        f"({inst.state.value}){rest}",
    )


def cancel(plan: Plan, name: str, why: str) -> tuple[Plan, list[PlanAction]]:
    """Call off ``name``'s roll (a reload or a scale came): its extra instance goes."""
    roll = plan.rolls.get(name)
    if roll is None:
        return plan, []
    return _end(plan, roll, "warn", f"rolling restart of {name} called off: {why}")


def advance(plan: Plan, name: str) -> tuple[Plan, list[PlanAction]]:
    """Move ``name``'s roll on after one of its instances changed (or at ``begin``)."""
    roll = plan.rolls.get(name)
    if roll is None:
        return plan, []
    if plan.phase not in (Phase.STARTING, Phase.RUNNING):
        rolls = dict(plan.rolls)
        del rolls[name]
        return replace(plan, rolls=rolls), []
    acts: list[PlanAction] = []
    if roll.surging:
        surge = plan.instances.get((name, roll.surge or 0))
        if surge is None or surge.state in _FAILED or surge.stop_requested:
            stopped = surge or Instance(roll.target, roll.surge or 0, state=State.STOPPED)
            return _fail(plan, roll, stopped)
        if not (surge.state is State.RUNNING and surge.ready):
            return plan, acts
        roll = replace(roll, surging=False)
    while True:
        if roll.current is not None:
            key = (name, roll.current)
            inst = plan.instances.get(key)
            if inst is not None and key in plan.retire:
                break  # the old one is still stopping
            if inst is None:  # scaled away meanwhile: nothing to wait for
                roll = replace(roll, current=None)
                continue
            if not roll.marked:  # the fresh incarnation: its first spawn is a "rolling" restart
                inst = replace(inst, restart_reason=REASON, restarts_by_reason=roll.counts)
                plan = replace(plan, instances={**plan.instances, key: inst})
                roll = replace(roll, marked=True)
            if inst.state in _FAILED or (inst.state is State.STOPPED and inst.stop_requested):
                plan, more = _fail(plan, roll, inst)
                return plan, acts + more
            if not (inst.state is State.RUNNING and inst.ready):
                break
            roll = replace(roll, current=None, done=roll.done + 1)
        if not roll.todo:
            plan, more = _end(
                plan, roll, "info", f"rolling restart of {name} done: {roll.done} replaced"
            )
            return plan, acts + more
        index, todo = roll.todo[0], roll.todo[1:]
        roll = replace(roll, todo=todo)
        key = (name, index)
        inst = plan.instances.get(key)
        if inst is None or key in plan.retire:
            continue
        if inst.down:  # not running (stopped by request, or gone for good): new code, no start
            plan = replace(
                plan, instances={**plan.instances, key: replace(inst, program=roll.target)}
            )
            continue
        acts.append(Emit("info", f"rolling restart of {name}: replacing {inst.name}"))
        acts.append(StopInstance(key))
        plan = replace(
            plan,
            retire={**plan.retire, key: (roll.target, True)},
            to_start=plan.to_start - {key},
        )
        roll = replace(roll, current=index, counts=inst.restarts_by_reason, marked=False)
        break
    return replace(plan, rolls={**plan.rolls, name: roll}), acts
