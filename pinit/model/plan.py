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
    plan, acts = shutdown.begin_shutdown(plan, "SIGTERM")  # model/shutdown.py: the end
    plan, acts = reload.apply_reload(plan, new_config)  # on HUP / `ctl reload` (model.reload)

``plan.instances[key]`` is the source of truth for every instance: the runtime reads an instance
from there, steps it, and hands the result back through ``on_instance_change`` before the next
event. Container actions: ``StartInstance(key)`` / ``StopInstance(key)`` mean "step that
instance with StartRequested / StopRequested now"; ``ExitContainer(code)`` ends pinit;
``PhaseChanged`` lets the runtime send READY=1 / STOPPING=1 to its own supervisor;
``ArmStopBudget(seconds)`` (from ``shutdown.begin_shutdown``) asks for ``stop_now`` after that;
``KillInstances(keys)`` means SIGKILL to those instances' groups now (after their StopInstance).

Operator requests (``pinit ctl``) are instance events like any other; the plan sees their
effect here: an instance STOPPED with ``stop_requested`` leaves ``to_start`` (a ``ctl stop`` of
one still waiting on its ``after``), and one STOPPED with ``restart_pending`` is started again
(``ctl restart``), unless the container is shutting down.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from pinit.config.schema import Config, Program
from pinit.model import policy
from pinit.model.actions import Emit, ReloadDiff
from pinit.model.events import Event
from pinit.model.instance import Instance, Key, State
from pinit.records import dataclass, field, replace

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

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
    "bind_index",
    "boot",
    "deps_ready",
    "initial",
    "issue_starts",
    "next_starts",
    "on_instance_change",
    "renewed",
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
    if binds and not all(any(k[0] == b for k in plan.instances) for b in binds):
        return False  # a target scaled to 0 serves nobody: not vacuously ready
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


def renewed(inst: Instance, program: Program, want: bool) -> Instance:
    """The fresh incarnation of a reloaded (or rolled) instance. Its spawn, if it ran before and
    is to run again, is a restart counted as "reload" (a roll re-marks it "rolling"); the
    counts so far are kept, as ``spawns`` is (``ctl status`` restarts = spawns - 1)."""
    reason = "reload" if want and inst.spawns else ""
    return Instance(
        program,
        inst.index,
        spawns=inst.spawns,
        restarts_by_reason=inst.restarts_by_reason,
        restart_reason=reason,
    )


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
        instances[key] = renewed(inst, program, want)
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
    from pinit.model import shutdown  # builds on Plan: imported here, not at load (no cycle)

    if plan.phase is Phase.SHUTTING_DOWN:
        plan, acts = shutdown.advance_shutdown(plan)
        return plan, tuple(acts)
    if plan.phase is Phase.DONE:
        return plan, ()
    extra = key[0] in plan.rolls and plan.rolls[key[0]].surge == key[1]  # issue 9 (model.roll)
    trigger = None if key in plan.retire or extra else shutdown.shutdown_trigger(plan, inst)
    if trigger is not None:
        return shutdown.begin_shutdown(plan, *trigger)
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
