"""What the instance table asks the runtime to do: the actions a step returns, in order.

The other half of ``model/events.py`` (whose docstring holds the contract with the runtime:
timers armed and disarmed by value, ``Spawn`` answered once, ``StateChanged`` last). Frozen,
slotted records, so a test replays a history and compares the actions with ``==``.
``runtime/actions.py`` carries them out.
"""

from __future__ import annotations

import signal

from pinit.model.events import State, TimerEvent
from pinit.records import dataclass

__all__ = [
    "Action",
    "Arm",
    "Disarm",
    "Emit",
    "Extend",
    "KillGroup",
    "ReloadDiff",
    "Restarting",
    "SignalGroup",
    "Spawn",
    "StartProbe",
    "StateChanged",
    "StopProbe",
    "TrackMain",
    "Verdict",
]


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spawn:
    program: str
    index: int


@dataclass(frozen=True, slots=True)
class SignalGroup:
    """Signal the whole process group plus tagged strays (a child that called setsid).

    ``stop`` tells a stop signal (recorded in the shutdown report) from an operator's
    ``ctl signal`` (delivered the same way, but not the start of a stop)."""

    pgid: int
    sig: signal.Signals
    stop: bool = True


@dataclass(frozen=True, slots=True)
class KillGroup:
    """SIGKILL the group and strays: the stop timeout ran out."""

    pgid: int


@dataclass(frozen=True, slots=True)
class Arm:
    timer: TimerEvent  # delivered back as an event at the deadline
    deadline: float  # monotonic seconds, the same clock as step()'s `now`


@dataclass(frozen=True, slots=True)
class Disarm:
    timer: TimerEvent


@dataclass(frozen=True, slots=True)
class StartProbe:
    """Run this instance's readiness check (program.ready) until StopProbe; answer ReadyObserved."""


@dataclass(frozen=True, slots=True)
class StopProbe:
    pass


@dataclass(frozen=True, slots=True)
class Emit:
    level: str  # "debug" | "info" | "warn" | "error"
    message: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State


# --- actions: facts for the event stream (issue 8: `ctl events`, GET /events) ----------------
# Like Emit, for the runtime to tell, not to do: each becomes one event record. Structured, so
# that no consumer parses a log line for a delay or a verdict.


@dataclass(frozen=True, slots=True)
class Restarting:
    """A restart decision: start again after ``delay`` seconds (0: at once), for ``reason``."""

    reason: str
    delay: float
    attempts: int  # consecutive failed starts so far (FATAL past start_retries)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A probe's verdict the model acted on: ``probe`` is "ready" or "live" (issue 8)."""

    probe: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReloadDiff:
    """A plan action: the programs a reload added, removed and changed (by name, sorted)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Extend:
    """Issue 9, EXTEND_TIMEOUT_USEC=: deliver the pending ``timer`` no sooner than ``deadline``
    (a later deadline than the armed one replaces it; an earlier one changes nothing)."""

    timer: TimerEvent
    deadline: float


@dataclass(frozen=True, slots=True)
class TrackMain:
    """Issue 9, MAINPID=: the main pid the runtime reaps for this instance is now ``new``."""

    old: int | None
    new: int


Action = (
    Spawn
    | SignalGroup
    | KillGroup
    | Arm
    | Disarm
    | StartProbe
    | StopProbe
    | Emit
    | StateChanged
    | Restarting
    | Verdict
    | Extend  # issue 9
    | TrackMain
)
