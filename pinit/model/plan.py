"""Whole-container decisions: what to start next, when to shut down, in what order, with what code.

The per-instance machine (``state.step``) knows nothing of other programs; this module is the
only place that looks across them. Like ``step`` it is pure: a ``Plan`` value in, a new ``Plan``
and container-level actions out.

API for the runtime (``runtime/supervisor.py``)::

    plan = initial(config)
    plan, acts = boot(plan)                          # StartInstance for what may start now
    # after every step that returned a different instance (not only on StateChanged:
    # a stop during CLEANUP changes stop_requested without changing state):
    plan, acts = on_instance_change(plan, key, inst)
    plan, acts = begin_shutdown(plan, "SIGTERM")     # on TERM/INT or `ctl shutdown`
    plan, acts = stop_now(plan, "why")               # a second TERM, or the stop budget spent
    plan, acts = reload.apply_reload(plan, new_config)  # on HUP / `ctl reload` (model.reload)

``plan.instances[key]`` is the source of truth for every instance: the runtime reads an instance
from there, steps it, and hands the result back through ``on_instance_change`` before the next
event. Container actions: ``StartInstance(key)`` / ``StopInstance(key)`` mean "step that
instance with StartRequested / StopRequested now"; ``ExitContainer(code)`` ends pinit;
``PhaseChanged`` lets the runtime send READY=1 / STOPPING=1 to its own supervisor;
``ArmStopBudget(seconds)`` (from ``begin_shutdown``) asks for ``stop_now`` after that long;
``KillInstances(keys)`` means SIGKILL to those instances' groups now (after their StopInstance).

Operator requests (``pinit ctl``) are instance events like any other; the plan sees their
effect here: an instance STOPPED with ``stop_requested`` leaves ``to_start`` (a ``ctl stop`` of
one still waiting on its ``after``), and one STOPPED with ``restart_pending`` is started again
(``ctl restart``), unless the container is shutting down.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pinit.config.graph import stop_layers
from pinit.config.schema import Config, OnFatal, Program
from pinit.model import policy
from pinit.model.actions import Emit, ReloadDiff
from pinit.model.events import Event
from pinit.model.instance import Instance, Key, State
from pinit.records import dataclass, field, replace

if TYPE_CHECKING:
    from pinit.model.roll import Roll

__all__ = [
    "ArmStopBudget",
    "Deliver",
    "ExitContainer",
    "Key",
    "KillInstances",
    "Phase",
    "PhaseChanged",
    "Plan",
    "PlanAction",
    "Retire",
    "StartInstance",
    "StopInstance",
    "begin_shutdown",
    "bind_index",
    "boot",
    "deps_ready",
    "exit_code_now",
    "initial",
    "issue_starts",
    "next_starts",
    "on_instance_change",
    "stop_now",
]


class Phase(enum.Enum):
    STARTING = "starting"  # autostart instances still starting or waiting on their `after`
    RUNNING = "running"  # everything wanted is up and ready (sd_notify READY=1 time)
    SHUTTING_DOWN = "shutting-down"  # stopping layer by layer; nothing starts any more
    DONE = "done"  # all down; ExitContainer was emitted


@dataclass(frozen=True, slots=True)
class StartInstance:
    key: Key


@dataclass(frozen=True, slots=True)
class StopInstance:
    key: Key


@dataclass(frozen=True, slots=True)
class ExitContainer:
    code: int


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    old: Phase
    new: Phase


@dataclass(frozen=True, slots=True)
class ArmStopBudget:
    """Issue 7.6: call ``stop_now`` once ``seconds`` have passed since the shutdown began."""

    seconds: float


@dataclass(frozen=True, slots=True)
class KillInstances:
    """SIGKILL to these instances' groups now; ``reason`` goes into the shutdown report."""

    keys: tuple[Key, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Deliver:
    """Step that instance with ``event`` (issue 9, binds_to: a bound restart, a release)."""

    key: Key
    event: Event


PlanAction = (
    StartInstance
    | StopInstance
    | Deliver
    | ExitContainer
    | PhaseChanged
    | Emit
    | ArmStopBudget
    | KillInstances
    | ReloadDiff  # issue 8: the event stream's reload record
)

# What to do with an instance once it is down: replace it with a fresh instance of the new
# program definition (and start it if the bool says so), or drop it (None: program removed).
Retire = tuple[Program, bool] | None


@dataclass(frozen=True, slots=True)
class Plan:
    config: Config
    instances: Mapping[Key, Instance]  # never mutated: every change builds a new dict
    phase: Phase = Phase.STARTING
    exit_code: int | None = None  # fixed when a program's end decided the shutdown
    reason: str = ""  # why the shutdown began
    to_start: frozenset[Key] = frozenset()  # wanted, not yet started (waiting on `after`)
    stop_sent: frozenset[Key] = frozenset()  # StopInstance issued during shutdown/reload
    retire: Mapping[Key, Retire] = field(default_factory=dict)
    rolls: Mapping[str, Roll] = field(default_factory=dict)  # issue 9: by program (model.roll)
    # issue 9, binds_to (model/binds.py): program -> the programs bound to it (empty: no cost),
    # and the instances stopped because a program they are bound to went down
    binds: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bound_held: frozenset[Key] = frozenset()
    bound_pending: frozenset[Key] = frozenset()  # to stop once their own dependents are down


def bind_index(config: Config) -> dict[str, tuple[str, ...]]:
    """Issue 9: each program that others are bound to, with those others (sorted)."""
    index: dict[str, list[str]] = {}
    for prog in config.programs:
        for target in prog.binds_to:
            index.setdefault(target, []).append(prog.name)
    return {target: tuple(sorted(names)) for target, names in index.items()}


def _fresh(program: Program) -> dict[Key, Instance]:
    return {(program.name, i): Instance(program, i) for i in range(program.numprocs)}


def initial(config: Config) -> Plan:
    instances: dict[Key, Instance] = {}
    for prog in config.programs:
        instances.update(_fresh(prog))
    wanted = frozenset(k for k, inst in instances.items() if inst.program.autostart)
    return Plan(config, instances, to_start=wanted, binds=bind_index(config))


def _satisfies_after(inst: Instance) -> bool:
    """Up and ready, or a one-shot that finished with a success code (compose's
    ``service_completed_successfully``): a migration job that exited 0 must unblock the web
    server started ``after`` it, not block it forever."""
    if inst.state is State.RUNNING:
        return inst.ready
    if inst.state is State.EXITED and inst.last_status is not None:
        return policy.is_expected(inst.program, inst.last_status)
    return False


def deps_ready(plan: Plan, program: Program) -> bool:
    """Every ``after`` program ready (or done), and every ``binds_to`` program up and ready,
    not waiting for a restart of its own (issue 9: a program bound to a one-shot that exited
    stays stopped, as a systemd BindsTo= unit does)."""
    after, binds = program.after, program.binds_to
    for inst in plan.instances.values():
        name = inst.program.name
        if name in after and not _satisfies_after(inst):
            return False
        if binds and name in binds and not _bound_ready(plan, inst):
            return False
    return True


def _bound_ready(plan: Plan, inst: Instance) -> bool:
    key = inst.key
    ready = inst.state is State.RUNNING and inst.ready
    return ready and key not in plan.bound_held and key not in plan.bound_pending


def next_starts(plan: Plan) -> list[Key]:
    """Wanted instances whose every ``after`` program has all its instances ready.

    Readiness, not mere spawning, gates dependents (systemd's ``After=`` with Type=notify): a
    web server started the instant its database forked would only crash-loop.
    """
    if plan.phase not in (Phase.STARTING, Phase.RUNNING):
        return []
    return [
        key
        for key in sorted(plan.to_start)
        if key in plan.instances
        and key not in plan.retire
        and plan.instances[key].state is State.STOPPED
        and deps_ready(plan, plan.instances[key].program)
    ]


def issue_starts(plan: Plan) -> tuple[Plan, list[PlanAction]]:
    """StartInstance for next_starts(), taken off ``to_start`` so none is issued twice."""
    keys = next_starts(plan)
    return replace(plan, to_start=plan.to_start - set(keys)), [StartInstance(k) for k in keys]


def boot(plan: Plan) -> tuple[Plan, tuple[PlanAction, ...]]:
    """The first starts; later ones come out of on_instance_change as readiness arrives."""
    plan, acts = issue_starts(plan)
    return plan, tuple(acts)


def _shutdown_trigger(plan: Plan, inst: Instance) -> tuple[str, int] | None:
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


def _advance_shutdown(plan: Plan) -> tuple[Plan, list[PlanAction]]:
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
    plan, acts = _advance_shutdown(plan)
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


def _retire(plan: Plan, key: Key, inst: Instance) -> Plan:
    """A reload asked for this instance to go; now that it is down, replace or drop it."""
    if key not in plan.retire or not inst.down:
        return plan
    retire = dict(plan.retire)
    entry = retire.pop(key)
    instances = dict(plan.instances)
    to_start = set(plan.to_start)
    if entry is None:
        del instances[key]
        to_start.discard(key)
    else:
        program, want = entry
        instances[key] = Instance(program, key[1], spawns=inst.spawns)
        if want:
            to_start.add(key)
    return replace(
        plan,
        instances=instances,
        retire=retire,
        to_start=frozenset(to_start),
        stop_sent=plan.stop_sent - {key},
    )


def _maybe_running(plan: Plan) -> tuple[Plan, list[PlanAction]]:
    if plan.phase is not Phase.STARTING or plan.to_start:
        return plan, []
    if all(i.down or (i.state is State.RUNNING and i.ready) for i in plan.instances.values()):
        return replace(plan, phase=Phase.RUNNING), [PhaseChanged(Phase.STARTING, Phase.RUNNING)]
    return plan, []


def on_instance_change(plan: Plan, key: Key, inst: Instance) -> tuple[Plan, tuple[PlanAction, ...]]:
    """Record the instance's new value and react: start dependents, shut down, advance a stop."""
    if key not in plan.instances:
        return plan, (Emit("warn", f"plan: no instance {key[0]}[{key[1]}]"),)
    old = plan.instances[key]
    instances = dict(plan.instances)
    instances[key] = inst
    plan = replace(plan, instances=instances)
    if inst.state is not State.STOPPED or inst.stop_requested:  # started, or held by `ctl stop`
        plan = replace(plan, to_start=plan.to_start - {key})
    if not inst.stop_requested:  # started again since: a later shutdown must stop it anew
        plan = replace(plan, stop_sent=plan.stop_sent - {key})
    if plan.phase is Phase.SHUTTING_DOWN:
        plan, acts = _advance_shutdown(plan)
        return plan, tuple(acts)
    if plan.phase is Phase.DONE:
        return plan, ()
    extra = key[0] in plan.rolls and plan.rolls[key[0]].surge == key[1]  # issue 9 (model.roll)
    trigger = None if key in plan.retire or extra else _shutdown_trigger(plan, inst)
    if trigger is not None:
        return begin_shutdown(plan, *trigger)
    plan = _retire(plan, key, inst)
    restart: list[PlanAction] = []
    if plan.binds or plan.bound_held:  # issue 9: only configs with binds_to pay for it
        from pinit.model import binds

        plan, restart = binds.react(plan, key, old)
    if (
        inst.restart_pending
        and inst.state is State.STOPPED
        and plan.instances.get(key) is inst
        and not inst.held
        and key not in plan.bound_held
    ):
        restart.append(StartInstance(key))  # `ctl restart`: stopped, now start it again
    plan, starts = issue_starts(plan)
    if plan.rolls and key[0] in plan.rolls:  # issue 9: only while a roll is under way
        from pinit.model import roll

        plan, rolled = roll.advance(plan, key[0])
        starts += rolled
    plan, phase = _maybe_running(plan)
    return plan, tuple(restart + starts + phase)
