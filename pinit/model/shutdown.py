"""How the container ends: what ends it, the reverse-order stop, the stop budget, the exit code.

The shutdown half of the whole-container decisions (``model/plan.py`` holds the ``Plan`` and
its actions, and calls in here from ``on_instance_change``). Pure, like the rest of the plan.

API for the runtime (``runtime/supervisor.py``)::

    plan, acts = begin_shutdown(plan, "SIGTERM")     # on TERM/INT or `ctl shutdown`
    plan, acts = stop_now(plan, "why")               # a second TERM, or the stop budget spent
    code = exit_code_now(plan)                       # what pinit would exit with now

``begin_shutdown`` stops layer by layer in reverse ``after`` order (``advance_shutdown``, again
after each instance change) and ends with ``ExitContainer``; with ``stop_budget`` it asks for
``stop_now`` after that long (``ArmStopBudget``, issue 7.6).
"""

from __future__ import annotations

from pinit.config.graph import stop_layers
from pinit.config.schema import OnFatal
from pinit.model import policy
from pinit.model.actions import Emit
from pinit.model.instance import Instance, State
from pinit.model.plan import (
    ArmStopBudget,
    ExitContainer,
    KillInstances,
    Phase,
    PhaseChanged,
    Plan,
    PlanAction,
    StopInstance,
)
from pinit.records import replace

__all__ = ["advance_shutdown", "begin_shutdown", "exit_code_now", "shutdown_trigger", "stop_now"]


def shutdown_trigger(plan: Plan, inst: Instance) -> tuple[str, int] | None:
    """Does this instance ending for good end the container? (reason, exit code)."""
    if inst.state not in (State.EXITED, State.FATAL):
        return None
    code = inst.exit_code if inst.exit_code is not None else 0
    if inst.state is State.FATAL and code == 0:
        code = 1  # it gave up; a trailing exit 0 must not read as success
    how = "gave up" if inst.state is State.FATAL else f"exited ({code})"
    if plan.config.main == inst.program.name:
        return f"main program {inst.name} {how}", code
    if inst.program.critical:
        return f"critical program {inst.name} {how}", code
    if inst.state is State.FATAL and plan.config.on_fatal is OnFatal.SHUTDOWN:
        return f"{inst.name} gave up and on_fatal is shutdown", 1
    return None


def _clean(inst: Instance) -> bool:
    """Did this instance end well? A stop is judged by how the process took it (a crash
    before the stop, in BACKOFF say, is not the shutdown's fault); an exit by exit_codes."""
    if inst.state is State.FATAL:
        return False
    if inst.last_status is None:
        return True
    if inst.state is State.STOPPED:
        return not inst.exit_on_stop or policy.is_graceful(inst.program, inst.last_status, True)
    if inst.state is State.EXITED:
        return policy.is_expected(inst.program, inst.last_status)
    return False


def exit_code_now(plan: Plan) -> int:
    """The code pinit exits with if everything stopped now.

    A fixed code (set by the program whose end began the shutdown) wins. Otherwise the main
    program's status, 128+N for a signal, as tini and dumb-init report it, except that a stop
    we asked for which main took gracefully (``graceful_exit_codes``, default [0, 143], or its
    stop signal) is 0: a ``docker stop`` is not a failure (dumb-init #260, tini #69, and
    Kubernetes and Quadlets that treat 143 as one). Without a main: 1 if anything gave up, else
    0 when every stop was graceful, else the first unclean code.
    """
    if plan.exit_code is not None:
        return plan.exit_code
    insts = [plan.instances[k] for k in sorted(plan.instances)]
    main = [i for i in insts if i.program.name == plan.config.main and i.exit_code is not None]
    if main:
        if main[0].state is State.STOPPED and _clean(main[0]):
            return 0
        return main[0].exit_code or 0
    if any(i.state is State.FATAL for i in insts):
        return 1
    for inst in insts:
        if not _clean(inst):
            return inst.exit_code or 1
    return 0


def _layers(plan: Plan) -> list[list[str]]:
    """Reverse start order; programs no longer in the config (being removed) go first."""
    layers = stop_layers(plan.config.programs)
    known = {name for layer in layers for name in layer}
    orphans = sorted({k[0] for k in plan.instances} - known)
    return [orphans, *layers] if orphans else layers


def advance_shutdown(plan: Plan) -> tuple[Plan, list[PlanAction]]:
    """Stop the first layer (in stop order) that still has something alive, and only it.

    Like systemd's reverse ``After=`` ordering: a database is asked to stop only once every
    program started after it is down, so their last writes still find it.
    """
    acts: list[PlanAction] = []
    sent = set(plan.stop_sent)
    for layer in _layers(plan):
        live = [k for k in sorted(plan.instances) if k[0] in layer and not plan.instances[k].down]
        for key in live:
            if key not in sent and not plan.instances[key].stop_requested:
                acts.append(StopInstance(key))
                sent.add(key)
        if live:
            return replace(plan, stop_sent=frozenset(sent)), acts
    code = exit_code_now(plan)
    acts += [
        Emit("info", f"all programs stopped; exiting with {code}"),
        PhaseChanged(plan.phase, Phase.DONE),
        ExitContainer(code),
    ]
    return replace(plan, phase=Phase.DONE, exit_code=code, stop_sent=frozenset(sent)), acts


def begin_shutdown(
    plan: Plan, reason: str, code: int | None = None
) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Stop everything in reverse dependency order, then ExitContainer. Idempotent.

    ``code`` fixes the exit code (a main or critical program decided it); None computes it at
    the end (``exit_code_now``). Pending reload replacements are dropped: their instances are
    being stopped anyway, and keeping them would lose the statuses the exit code is made of.
    """
    if plan.phase in (Phase.SHUTTING_DOWN, Phase.DONE):
        return plan, ()
    old = plan.phase
    plan = replace(
        plan,
        phase=Phase.SHUTTING_DOWN,
        reason=reason,
        exit_code=code if code is not None else plan.exit_code,
        to_start=frozenset(),
        retire={},
        rolls={},
        bound_held=frozenset(),
        bound_pending=frozenset(),
    )
    head: list[PlanAction] = [
        Emit("info", f"shutting down: {reason}"),
        PhaseChanged(old, Phase.SHUTTING_DOWN),
    ]
    if plan.config.stop_budget > 0:
        head.append(ArmStopBudget(plan.config.stop_budget))
    plan, acts = advance_shutdown(plan)
    return plan, tuple(head + acts)


def stop_now(plan: Plan, reason: str) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Stop every live instance at once, every layer, and SIGKILL them all.

    For a second TERM (Ctrl-C twice) and for a spent ``stop_budget`` (issue 7.6: Kubernetes
    KILLs at terminationGracePeriodSeconds whatever the per-program timeouts add up to). Each
    live instance first gets its StopInstance, so a program of a later layer that the KILL
    reaches while still RUNNING counts as stopped, not as a crash to restart.
    """
    if plan.phase is not Phase.SHUTTING_DOWN:
        if plan.phase is Phase.DONE:
            return plan, ()
        plan, head = begin_shutdown(plan, reason)
        if plan.phase is not Phase.SHUTTING_DOWN:
            return plan, head
    else:
        head = ()
    live = [k for k in sorted(plan.instances) if not plan.instances[k].down]
    stops = [k for k in live if k not in plan.stop_sent and not plan.instances[k].stop_requested]
    plan = replace(plan, stop_sent=plan.stop_sent | set(stops))
    acts: list[PlanAction] = [StopInstance(k) for k in stops]
    if live:
        acts.append(KillInstances(tuple(live), reason))
    return plan, (*head, *acts)
