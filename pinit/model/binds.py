"""Issue 9, ``binds_to``: programs stopped and started again with the program they are bound to.

systemd's ``BindsTo=``/``PartOf=`` with the ordering ``After=`` gives them (``binds_to`` implies
``after`` here): when the bound-to program (the *target*, say redis) stops or restarts, its
*dependents* are stopped first, and started again once every instance of each of their targets
is ready again. A target with several instances goes down when none of them serves (one
instance restarting leaves the dependents to the others); one scaled to 0 keeps them stopped.
A target stopped by an operator (or given up, or exited) keeps its dependents stopped until
it is started and ready again; a ``ctl start`` of a dependent meanwhile is the operator's.
Without ``binds_to`` nothing here runs (``Plan.binds`` is empty): dependents keep running.

The order is kept, not hoped for: a target whose automatic restart (after a crash) or operator
restart would start it while a dependent is still alive is *held* (``Instance.held``, set here,
read by ``_finish_cleanup``/``backoff_done`` and by the plan's restart of a stopped instance)
until its dependents are down; ``Released`` lets it go. Dependents that were running are
restarted with ``RestartRequested(reason="bound")``, so their restart is counted per reason.

Pure, like the rest of the plan: ``react`` is called by ``plan.on_instance_change`` after every
change, only when the config has a ``binds_to``.
"""

from __future__ import annotations

from pinit.model.actions import Emit
from pinit.model.events import Released, RestartRequested
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


def _any_serving(plan: Plan, target: str) -> bool:
    """A target with several instances is down only when none of them serves: one instance
    restarting (a crash, a rolling restart) leaves its dependents to the others."""
    return any(k[0] == target and _serving(i) for k, i in plan.instances.items())


def _dependents(plan: Plan, target: str) -> list[Key]:
    names = plan.binds.get(target, ())
    return [k for k in sorted(plan.instances) if k[0] in names]


class _Work:
    """One ``react``: the sets being changed and the actions so far."""

    __slots__ = ("acts", "held", "pending", "plan")

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.held = set(plan.bound_held)
        self.pending = set(plan.bound_pending)
        self.acts: list[PlanAction] = []

    def ours(self, key: Key) -> bool:
        return key in self.held or key in self.pending

    def in_transit(self, target: str) -> bool:
        """A dependent of ``target`` is still to be stopped or on its way down. One that
        someone else started meanwhile (an operator) is not waited for: that would hold the
        target's restart forever."""
        for key in _dependents(self.plan, target):
            dep = self.plan.instances[key]
            if not dep.down and (self.ours(key) or not _serving(dep)):
                return True
        return False

    def restart(self, key: Key, why: str) -> None:
        dep = self.plan.instances[key]
        self.acts.append(Emit("info", f"{dep.name}: {why}; stopping (binds_to)"))
        self.acts.append(Deliver(key, RestartRequested(REASON)))
        self.held.add(key)

    def stop_dependents(self, target: str) -> None:
        """Stop every live dependent not already ours, outside in (as systemd orders stops
        by ``After=``): one that others are bound to in turn waits in ``pending`` until they
        are down."""
        for key in _dependents(self.plan, target):
            if not self.ours(key) and key not in self.plan.retire:
                self.stop_one(key, f"{target} went down")

    def stop_one(self, key: Key, why: str) -> None:
        dep = self.plan.instances[key]
        if _serving(dep):
            if key[0] in self.plan.binds and self.any_live(key[0]):
                self.pending.add(key)
                self.stop_dependents(key[0])
            else:
                self.restart(key, why)
        elif dep.state is State.BACKOFF or (
            dep.state is State.CLEANUP and dep.after_cleanup is State.BACKOFF
        ):
            self.acts.append(StopInstance(key))  # crash-looping: no restart of its own
            self.held.add(key)
        elif dep.state is State.STOPPING and dep.restart_pending:
            self.held.add(key)  # an operator's restart: it now waits for its target

    def any_live(self, target: str) -> bool:
        return any(not self.plan.instances[k].down for k in _dependents(self.plan, target))


def react(plan: Plan, key: Key, old: Instance) -> tuple[Plan, list[PlanAction]]:
    """Stop dependents of a target that went down, hold or release its restart, restart a
    pending middle of a chain, and start dependents whose targets are all ready again."""
    inst = plan.instances.get(key)
    if inst is None:  # a reload dropped it once it was down: what waited on it may go on
        return sweep(plan)
    w = _Work(plan)
    if old.down and _serving(inst):  # started by someone else (an operator): not ours now
        w.held.discard(key)
        w.pending.discard(key)
    if key in w.pending and not _serving(inst):  # went down on its own while it waited
        w.pending.discard(key)
        w.stop_one(key, "its target is down")
    if key[0] in plan.binds and not _serving(inst) and not _any_serving(plan, key[0]):
        w.stop_dependents(key[0])
        if w.in_transit(key[0]):  # hold every instance's restart: none before they are down
            instances = dict(plan.instances)
            for k, i in plan.instances.items():
                if k[0] == key[0] and _restarting(i) and not i.held:
                    instances[k] = replace(i, held=True)  # before a queued GroupGone
            if instances != plan.instances:
                w.plan = plan = replace(plan, instances=instances)
    settle(w)
    if w.held != plan.bound_held or w.pending != plan.bound_pending:
        plan = replace(plan, bound_held=frozenset(w.held), bound_pending=frozenset(w.pending))
    return plan, w.acts


def sweep(plan: Plan) -> tuple[Plan, list[PlanAction]]:
    """After a reload (new instances, new bindings): what ``react`` decides for any change."""
    w = _Work(plan)
    w.held &= plan.instances.keys()
    w.pending = {k for k in w.pending & plan.instances.keys() if k[0] in plan.binds}
    settle(w)
    return replace(plan, bound_held=frozenset(w.held), bound_pending=frozenset(w.pending)), w.acts


def settle(w: _Work) -> None:
    """Every target, every time (only configs with binds_to pay, O(instances)): release a
    held restart, restart a pending middle of a chain, start dependents that may start."""
    plan = w.plan
    for target in plan.binds:
        if w.in_transit(target):
            continue
        for k in sorted(plan.instances):
            if k[0] != target:
                continue
            if plan.instances[k].held:
                w.acts.append(Deliver(k, Released()))
            elif k in w.pending:  # its own dependents are down now: its turn
                w.pending.discard(k)
                if _serving(plan.instances[k]):
                    w.restart(k, "the programs bound to it are down")
    for dep in sorted(w.held):
        dinst = plan.instances.get(dep)
        if dinst is None or dinst.state is State.EXITED or dinst.state is State.FATAL:
            w.held.discard(dep)  # gone, or ended on its own: not ours to start again
        elif dinst.state is State.STOPPED and _may_start(w, dinst):
            w.held.discard(dep)
            w.acts.append(StartInstance(dep))


def _may_start(w: _Work, inst: Instance) -> bool:
    """Its targets up and ready, none of them waiting for a restart of its own."""
    binds = inst.program.binds_to
    if any(k[0] in binds for k in w.held) or any(k[0] in binds for k in w.pending):
        return False
    return deps_ready(w.plan, inst.program)
