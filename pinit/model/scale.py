"""Issue 9: ``pinit ctl scale NAME N``, a plan decision like a reload that changes ``numprocs``.

The new count is written into the plan's config (``Plan.config``), so it holds until the next
reload or scale: a reload diffs the file's ``numprocs`` against it and scales back, as
supervisord's ``update`` would after an edited ``numprocs``. Instances below N keep their
process and pid; those at N and above are stopped highest number first, each in its normal
stop sequence (stop signal, ``stop_timeout``, KILL, the group gone), and dropped once down
(``Plan.retire``, as a reload drops them). New instances are fresh (no restart is counted:
a scale-up start is a first start) and wait on their ``after`` like any start. Instances
below N that never ran (``autostart = false``) are started with them; those stopped by
``ctl stop``, exited or given up stay as they are.
"""

from __future__ import annotations

from pinit.model.actions import Emit
from pinit.model.instance import Instance, State
from pinit.model.plan import Phase, Plan, PlanAction, StopInstance, issue_starts
from pinit.records import replace

__all__ = ["MAX_INSTANCES", "scale"]

MAX_INSTANCES = 10_000  # the loader's numprocs bound (config.loadprog.MAX_NUMPROCS)


def scale(plan: Plan, name: str, count: int) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Reach ``count`` instances of ``name``; a refusal is an ``Emit`` warning, nothing else."""
    if plan.phase not in (Phase.STARTING, Phase.RUNNING):
        return plan, (Emit("warn", f"scale {name} refused: shutting down"),)
    if not 0 <= count <= MAX_INSTANCES:
        return plan, (Emit("warn", f"scale {name} refused: {count} is not in 0..{MAX_INSTANCES}"),)
    try:
        old = plan.config.program(name)
    except KeyError:
        return plan, (Emit("warn", f"scale: no program {name!r}"),)
    head: list[PlanAction] = []
    if name in plan.rolls:  # the count it rolls over changes under it
        from pinit.model import roll

        plan, head = roll.cancel(plan, name, f"scaled to {count}")
    new = replace(old, numprocs=count)
    programs = tuple(new if p.name == name else p for p in plan.config.programs)
    instances = dict(plan.instances)
    retire = dict(plan.retire)
    to_start = set(plan.to_start)
    acts: list[PlanAction] = []
    mine = sorted((k for k in instances if k[0] == name), reverse=True)
    for key in mine:  # highest first: the stop order `ctl status` shows, and dense numbers
        inst = instances[key]
        if key[1] < count:
            entry = retire.get(key)
            if key not in retire:
                instances[key] = replace(inst, program=new)
                if inst.state is State.STOPPED and not inst.stop_requested and inst.spawns == 0:
                    to_start.add(key)  # never started (autostart = false): part of the N
            elif entry is not None:
                retire[key] = (new, entry[1])
            else:  # on its way out after an earlier scale-down: comes back once down
                retire[key] = (new, True)
            continue
        to_start.discard(key)
        if inst.down:
            del instances[key]
            retire.pop(key, None)
        else:
            if key not in retire:  # a pending retire already sent its StopInstance
                acts.append(StopInstance(key))
            retire[key] = None
    for index in range(count):
        key = (name, index)
        if key not in instances:
            instances[key] = Instance(new, index)
            to_start.add(key)
    config = replace(plan.config, programs=programs)
    plan = replace(
        plan, config=config, instances=instances, retire=retire, to_start=frozenset(to_start)
    )
    plan, starts = issue_starts(plan)
    message = f"scale {name}: {old.numprocs} -> {count}"
    return plan, (*head, Emit("info", message), *acts, *starts)
