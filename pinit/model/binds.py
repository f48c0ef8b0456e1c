"""Issue 9, ``binds_to``: programs stopped and started again with the program they are bound to.

systemd's ``BindsTo=``/``PartOf=`` with the ordering ``After=`` gives them (``binds_to`` implies
``after`` here): when the bound-to program (the *target*, say redis) stops or restarts, its
*dependents* are stopped first, and started again once every instance of each of their targets
is ready again. A target stopped by an operator (or given up, or exited) keeps its dependents
stopped until it is started and ready again; a ``ctl start`` of a dependent meanwhile is the
operator's to make. Without ``binds_to`` nothing here runs (``Plan.binds`` is empty) and
dependents keep running, as before.

The order is kept, not hoped for: a target whose automatic restart (after a crash) or operator
restart would start it while a dependent is still alive is *held* (``Instance.held``, set here,
read by ``_finish_cleanup``/``backoff_done`` and by the plan's restart of a stopped instance)
until its dependents are down; ``Released`` lets it go. Dependents that were running are
restarted with ``RestartRequested(reason="bound")``, so their restart is counted per reason.

Pure, like the rest of the plan: ``react`` is called by ``plan.on_instance_change`` after every
change, only when the config has a ``binds_to``.
"""

from __future__ import annotations

from pinit.model.events import Emit, Released, RestartRequested
from pinit.model.instance import Instance, Key, State
from pinit.model.plan import Deliver, Plan, PlanAction, StartInstance, StopInstance, deps_ready
from pinit.records import replace

__all__ = ["react"]

REASON = "bound"


def _serving(inst: Instance) -> bool:
    """Up or on its way up, and not being stopped: what its dependents may rely on."""
    return inst.state is State.RUNNING or inst.state is State.STARTING


def _restarting(inst: Instance) -> bool:
    """Down now, but coming back on its own (a crash's restart, an operator's restart)."""
    if inst.state is State.CLEANUP:
        return inst.after_cleanup is State.BACKOFF
    if inst.state is State.STOPPING:
        return inst.restart_pending
    return inst.state is State.BACKOFF


def _dependents(plan: Plan, target: str) -> list[Key]:
    names = plan.binds.get(target, ())
    return [k for k in sorted(plan.instances) if k[0] in names]


def _live(plan: Plan, target: str) -> bool:
    return any(not plan.instances[k].down for k in _dependents(plan, target))


def _stop_dependents(plan: Plan, target: str, held: set[Key], acts: list[PlanAction]) -> None:
    """Stop every live dependent not already being stopped by us, and remember it.

    Outside in, as systemd orders stops by ``After=``: a dependent that others are bound to
    in turn is asked to stop only once they are down (``react`` asks it then)."""
    for key in _dependents(plan, target):
        dep = plan.instances[key]
        if key in held or key in plan.retire:
            continue
        if _serving(dep):
            if key[0] in plan.binds and _live(plan, key[0]):
                _stop_dependents(plan, key[0], held, acts)  # its own restart comes after them
            else:
                acts.append(Emit("info", f"{dep.name}: {target} went down; stopping (binds_to)"))
                acts.append(Deliver(key, RestartRequested(REASON)))
        elif dep.state is State.BACKOFF or dep.state is State.CLEANUP:
            acts.append(StopInstance(key))  # a crash-looping dependent: no restart of its own
        elif not (dep.state is State.STOPPING and dep.restart_pending):
            continue  # down already, or being stopped by an operator: not ours to start again
        held.add(key)


def react(plan: Plan, key: Key) -> tuple[Plan, list[PlanAction]]:
    """Stop dependents of a target that went down, hold or release its restart, and start
    dependents whose targets are all ready again."""
    inst = plan.instances[key]
    held = set(plan.bound_held)
    acts: list[PlanAction] = []
    if key in held and _serving(inst):
        held.discard(key)  # started by someone else (an operator): no longer ours to start
    targets = [key[0]] if key[0] in plan.binds else []
    targets += [t for t in inst.program.binds_to if t in plan.binds]
    if key[0] in plan.binds and not _serving(inst):
        _stop_dependents(plan, key[0], held, acts)
        if _restarting(inst) and not inst.held and _live(plan, key[0]):
            instances = dict(plan.instances)
            instances[key] = replace(inst, held=True)  # before a queued GroupGone is stepped
            plan = replace(plan, instances=instances)
    for target in dict.fromkeys(targets):
        if _live(plan, target):
            continue
        for k in sorted(plan.instances):
            if k[0] != target:
                continue
            if plan.instances[k].held:
                acts.append(Deliver(k, Released()))
            elif k in held and _serving(plan.instances[k]):  # its dependents are down now
                acts.append(Emit("info", f"{plan.instances[k].name}: stopping (binds_to)"))
                acts.append(Deliver(k, RestartRequested(REASON)))
    for dep in sorted(held):
        dinst = plan.instances.get(dep)
        if dinst is None:
            held.discard(dep)
        elif (
            dinst.state is State.STOPPED
            and deps_ready(plan, dinst.program)
            and not any(k[0] in dinst.program.binds_to for k in held)  # its target restarts too
        ):
            held.discard(dep)
            acts.append(StartInstance(dep))
    if held != plan.bound_held:
        plan = replace(plan, bound_held=frozenset(held))
    return plan, acts
