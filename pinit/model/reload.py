"""HUP / ``ctl reload``: diff the new config's programs against the plan (supervisord's ``update``).

Kept apart from ``plan.py`` for size; it builds on plan (never the reverse: no cycle).
"""

from __future__ import annotations

from collections.abc import Mapping

from pinit.config.schema import Config, Program
from pinit.model.actions import Emit, ReloadDiff
from pinit.model.instance import Instance, Key
from pinit.model.plan import (
    Phase,
    Plan,
    PlanAction,
    Retire,
    StopInstance,
    bind_index,
    issue_starts,
    renewed,
)
from pinit.records import replace

__all__ = ["apply_reload"]


def apply_reload(plan: Plan, new_config: Config) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Diff programs by equality (supervisord's ``update``): only what changed is touched.

    Unchanged programs keep their processes (same pid). A change in ``numprocs`` alone adds or
    removes instances without restarting the others. Any other change is stop-then-start with
    the new definition; a changed program restarts if it is autostart or was running. An
    instance still alive is replaced or dropped only once it is down (``Plan.retire``), so an
    instance key never stands for two processes.
    """
    if plan.phase in (Phase.SHUTTING_DOWN, Phase.DONE):
        return plan, (Emit("warn", "reload ignored: shutting down"),)
    called_off: list[PlanAction] = []
    if plan.rolls:  # issue 9: a reload decides afresh what each program runs
        from pinit.model import roll

        for name in sorted(plan.rolls):
            plan, more = roll.cancel(plan, name, "reload")
            called_off += more
    old_by_name = {p.name: p for p in plan.config.programs}
    new_by_name = {p.name: p for p in new_config.programs}
    instances = dict(plan.instances)
    retire = dict(plan.retire)
    to_start = set(plan.to_start)
    acts: list[PlanAction] = []
    rolled: list[str] = []

    def keys_of(name: str, lo: int = 0) -> list[Key]:
        return sorted(k for k in instances if k[0] == name and k[1] >= lo)

    def swap(key: Key, entry: Retire) -> None:
        """Replace (entry = (program, want)) or drop (None) now if down, else once stopped."""
        to_start.discard(key)
        if not instances[key].down:
            if key not in retire:  # a pending retire already sent its StopInstance
                acts.append(StopInstance(key))
            retire[key] = entry
            return
        retire.pop(key, None)
        if entry is None:
            del instances[key]
        else:
            instances[key] = renewed(instances[key], entry[0], entry[1])
            if entry[1]:
                to_start.add(key)

    def add(program: Program, lo: int, want: bool) -> None:
        for i in range(lo, program.numprocs):
            key = (program.name, i)
            if key in instances:  # an earlier incarnation is still on its way out
                swap(key, (program, want))
            else:
                instances[key] = Instance(program, i)
                if want:
                    to_start.add(key)

    for name in sorted(old_by_name.keys() - new_by_name.keys()):
        for key in keys_of(name):
            swap(key, None)
    for name in sorted(new_by_name.keys() - old_by_name.keys()):
        add(new_by_name[name], 0, new_by_name[name].autostart)
    for name in sorted(old_by_name.keys() & new_by_name.keys()):
        old, new = old_by_name[name], new_by_name[name]
        if old == new:
            continue
        live = any(not instances[k].down for k in keys_of(name))
        for key in keys_of(name, new.numprocs):
            swap(key, None)
        kept = [k for k in keys_of(name) if k[1] < new.numprocs]
        if replace(old, numprocs=new.numprocs) == new:  # only numprocs: the rest keeps running
            for key in kept:
                entry = retire.get(key)
                if entry is not None:
                    retire[key] = (new, entry[1])
                elif key not in retire:
                    instances[key] = replace(instances[key], program=new)
        else:
            for key in kept:
                if new.rolling is not None and not instances[key].down and key not in retire:
                    rolled.append(name)  # issue 9: replaced one at a time (model.roll)
                    continue
                swap(key, (new, new.autostart or not instances[key].down))
        add(new, old.numprocs, new.autostart or live)
    plan = replace(
        plan,
        config=new_config,
        instances=instances,
        retire=retire,
        to_start=frozenset(to_start & instances.keys()),
        binds=bind_index(new_config),  # issue 9
        bound_held=plan.bound_held & instances.keys(),
        bound_pending=plan.bound_pending & instances.keys(),
    )
    bound: list[PlanAction] = []
    if plan.binds or plan.bound_held:  # issue 9: bindings may have changed with the programs
        from pinit.model import binds

        plan, bound = binds.sweep(plan)
    plan, starts = issue_starts(plan)
    head: list[PlanAction] = [Emit("info", "reload: " + _summary(old_by_name, new_by_name))]
    head.append(_diff(old_by_name, new_by_name))
    for name in dict.fromkeys(rolled):
        from pinit.model import roll

        plan, began = roll.begin(plan, name, new_by_name[name], why="reload")
        starts += began
    return plan, tuple(called_off + head + acts + bound + starts)


def _diff(old: Mapping[str, Program], new: Mapping[str, Program]) -> ReloadDiff:
    return ReloadDiff(
        added=tuple(sorted(new.keys() - old.keys())),
        removed=tuple(sorted(old.keys() - new.keys())),
        changed=tuple(sorted(n for n in old.keys() & new.keys() if old[n] != new[n])),
    )


def _summary(old: Mapping[str, Program], new: Mapping[str, Program]) -> str:
    d = _diff(old, new)
    parts = [
        f"{label} {', '.join(names)}"
        for label, names in (("added", d.added), ("removed", d.removed), ("changed", d.changed))
        if names
    ]
    return "; ".join(parts) or "no changes"
