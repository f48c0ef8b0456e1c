"""The axes of the instance table: its states and its events (the actions: ``model/actions.py``).

``State`` is the table's rows and each event type one of its columns (``state.TRANSITIONS``);
this module imports nothing else of the model, so every other model module can use it. Events
are facts the runtime observed (or requests it was given); actions (``model/actions.py``) are
requests the runtime executes in order. Both are frozen, slotted dataclasses so that a test can
replay a history and compare the actions with ``==`` (honcho-style), and so that nothing the
model hands out can be mutated behind its back.

Contract with the runtime (``runtime/supervisor.py``):

* Timers are the four timeout events themselves (``StartTimeout``, ``ReadyTimeout``,
  ``StopTimeout``, ``BackoffDone``): ``Arm(event, deadline)`` asks the runtime to deliver that
  event at the deadline, replacing a pending one of the same kind; after ``Disarm(event)`` it
  must not deliver it. Should one already be queued in the same turn, ``step`` drops it as
  stale (the instance tracks what it armed in ``Instance.timers``).
* ``Spawn`` is answered by exactly one ``Spawned`` or ``SpawnFailed``; ``SpawnFailed`` means no
  process exists (an exec error caught in the parent, reported 126/127 as a shell would).
* ``Exited`` carries the raw ``waitpid`` status of the main pid. ``GroupGone`` follows it once
  nothing is left in the program's process group (plus tagged strays); the runtime may answer it
  at once when the group was already empty, and it answers it exactly once per group. The model
  waits for both before it restarts: systemd's ``KillMode=control-group`` does the same, and
  without it gunicorn's orphaned workers keep the port and every restart fails.
* ``StartProbe``/``StopProbe`` bracket the readiness check (tcp/http/command/notify); the runtime
  answers ``ReadyObserved`` when it succeeds.
* Liveness (issue 8) needs no action: the runtime probes a program with ``live`` while it is
  RUNNING (it sees ``StateChanged``) and answers each attempt with ``LiveOk``/``LiveFailed``.
* ``StateChanged`` is emitted on every state change, after the other actions of the step (for
  logs, metrics and sd_notify STATUS=). The plan needs more than that: pass every changed
  instance to ``model.plan.on_instance_change``.
"""

from __future__ import annotations

import enum
import signal

from pinit.records import dataclass

__all__ = [
    "DOWN",
    "EVENT_TYPES",
    "NOTIFIED_EVENTS",
    "TIMER_EVENTS",
    "BackoffDone",
    "Event",
    "Exited",
    "ExtendTimeout",
    "GroupGone",
    "LiveFailed",
    "LiveOk",
    "MainPidNotified",
    "NotifiedEvent",
    "ReadyObserved",
    "ReadyTimeout",
    "Recycle",
    "Released",
    "RestartRequested",
    "SignalRequested",
    "SpawnFailed",
    "Spawned",
    "StartRequested",
    "StartTimeout",
    "State",
    "StatusNotified",
    "StopRequested",
    "StopTimeout",
    "TimerEvent",
    "WatchdogPing",
    "WatchdogTimeout",
]


class State(enum.Enum):
    """supervisord's process states, plus CLEANUP.

    READY is deliberately a flag (``Instance.ready``), not a state: readiness is orthogonal to
    "is it up" (a RUNNING program may still be warming up), and a separate state would double
    every row of the table for no new behaviour. An instance is ready only while RUNNING.

    CLEANUP is the systemd ``KillMode=control-group`` step that supervisord lacks: the main pid
    died (or failed its readiness), and the rest of its group is being stopped — stop signal,
    then KILL after ``stop_timeout`` — before the instance may go on to BACKOFF, a restart,
    EXITED or FATAL. ``Instance.after_cleanup`` holds where it goes next.
    """

    STOPPED = "stopped"  # not running, by request (or never started)
    STARTING = "starting"  # spawned (or spawning); must survive start_seconds / become ready
    RUNNING = "running"  # survived start_seconds or proved ready; `ready` tells which
    BACKOFF = "backoff"  # waiting out the backoff delay before the next start
    STOPPING = "stopping"  # stop signal sent on request; waiting for Exited + GroupGone
    CLEANUP = "cleanup"  # main pid died unasked; stopping the rest of its group
    EXITED = "exited"  # ended and the policy says not to restart it
    FATAL = "fatal"  # gave up: more than start_retries consecutive failed starts


DOWN = frozenset({State.STOPPED, State.EXITED, State.FATAL})
"""States with no process and no pending timer: nothing will happen without a StartRequested."""


# --- events: requests ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartRequested:
    """The plan or an operator wants this instance running."""


@dataclass(frozen=True, slots=True)
class StopRequested:
    """The plan or an operator wants this instance stopped and not restarted."""


@dataclass(frozen=True, slots=True)
class RestartRequested:
    """`pinit ctl restart` (or a verdict such as a failed liveness probe): stop it if it runs,
    then start it once it is STOPPED. ``reason`` is counted per instance (``restarts_total`` by
    reason in the metrics) and told in the events."""

    reason: str = "operator"


@dataclass(frozen=True, slots=True)
class SignalRequested:
    """`pinit ctl signal`: deliver ``sig`` to the instance's group and tagged strays."""

    sig: signal.Signals


# issue 9: bound dependencies (binds_to)
@dataclass(frozen=True, slots=True)
class Released:
    """The plan lets this instance's held automatic restart go: the programs bound to it are
    down (``Instance.held``; systemd stops BindsTo= dependents before restarting their unit)."""


# --- events: facts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spawned:
    pid: int
    pgid: int


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    reason: str
    code: int  # 127: not found, 126: not executable / exec error, as a shell reports it


@dataclass(frozen=True, slots=True)
class Exited:
    pid: int
    status: int  # raw waitpid status; see model.status


@dataclass(frozen=True, slots=True)
class GroupGone:
    """Nothing of the program's group or tracked tree is left after its main pid died."""


@dataclass(frozen=True, slots=True)
class ReadyObserved:
    """The readiness probe succeeded, or READY=1 arrived from the instance."""


# --- events: the four timers (armed and disarmed by value) ---------------------------------------


@dataclass(frozen=True, slots=True)
class StartTimeout:
    """``start_seconds`` passed since the spawn: the start counts as successful."""


@dataclass(frozen=True, slots=True)
class ReadyTimeout:
    """``ready.timeout`` passed without readiness: a failed start."""


@dataclass(frozen=True, slots=True)
class StopTimeout:
    """``stop_timeout`` passed since the stop signal: SIGKILL what is left."""


@dataclass(frozen=True, slots=True)
class BackoffDone:
    """The backoff delay is over: start again."""


# --- events: issue 8, liveness verdicts (runtime/liveness.py probes; model/liveness.py cells) ---


@dataclass(frozen=True, slots=True)
class LiveFailed:
    """One liveness attempt failed (refused, timed out, non-2xx, non-zero exit)."""


@dataclass(frozen=True, slots=True)
class LiveOk:
    """One liveness attempt succeeded: the count of failures in a row goes back to 0."""


# --- issue 9: per-program watchdog, the rest of the notify protocol, resource limits -----------
# What an instance said on pinit's NOTIFY_SOCKET (the runtime checked the sender by its kernel
# credentials first), the watchdog's timer, and the verdicts of the memory and lifetime limits.
# Their cells live in ``model/notified.py``; every one is IGNORE outside the states it concerns.


@dataclass(frozen=True, slots=True)
class WatchdogPing:
    """WATCHDOG=1: the watchdog deadline moves on by ``program.watchdog`` (while RUNNING)."""


@dataclass(frozen=True, slots=True)
class WatchdogTimeout:
    """``program.watchdog`` passed without WATCHDOG=1: restart it (systemd's WatchdogSec=)."""


@dataclass(frozen=True, slots=True)
class Recycle:
    """A verdict on a live instance (WATCHDOG=trigger, memory, lifetime): restart it gracefully
    if STARTING or RUNNING. Unlike RestartRequested it is ignored in every other state, so it
    can never turn an operator's stop into a restart."""

    reason: str


@dataclass(frozen=True, slots=True)
class MainPidNotified:
    """MAINPID=: the pid the instance now lives by (the runtime checked it is the instance's)."""

    pid: int


@dataclass(frozen=True, slots=True)
class ExtendTimeout:
    """EXTEND_TIMEOUT_USEC=: the start (ready) or stop deadline is at least ``seconds`` away."""

    seconds: float


@dataclass(frozen=True, slots=True)
class StatusNotified:
    """STATUS= text and/or the sub-state from STOPPING=1 / RELOADING=1 / READY=1 (None: unsaid)."""

    text: str | None = None
    sub_state: str | None = None  # "stopping" | "reloading" | "" (READY=1 ends a reload)


NotifiedEvent = WatchdogPing | Recycle | MainPidNotified | ExtendTimeout | StatusNotified
NOTIFIED_EVENTS: tuple[type[NotifiedEvent], ...] = (
    WatchdogPing,
    Recycle,
    MainPidNotified,
    ExtendTimeout,
    StatusNotified,
)  # the columns of issue 9, besides the WatchdogTimeout timer


TimerEvent = StartTimeout | ReadyTimeout | StopTimeout | BackoffDone | WatchdogTimeout
TIMER_EVENTS: tuple[type[TimerEvent], ...] = (
    StartTimeout,
    ReadyTimeout,
    StopTimeout,
    BackoffDone,
    WatchdogTimeout,  # issue 9
)

Event = (
    StartRequested
    | StopRequested
    | RestartRequested
    | SignalRequested
    | Spawned
    | SpawnFailed
    | Exited
    | GroupGone
    | ReadyObserved
    | TimerEvent
    | LiveFailed
    | LiveOk
    | NotifiedEvent  # issue 9
    | Released
)

EVENT_TYPES: tuple[type[Event], ...] = (
    StartRequested,
    StopRequested,
    RestartRequested,
    SignalRequested,
    Spawned,
    SpawnFailed,
    Exited,
    GroupGone,
    ReadyObserved,
    *TIMER_EVENTS,
    LiveFailed,
    LiveOk,
    *NOTIFIED_EVENTS,  # issue 9
    Released,
)
