"""What reaches one program instance, and what it asks the runtime to do.

Events are facts the runtime observed; actions are requests the runtime executes in order. Both
are frozen, slotted dataclasses so that a test can replay a history and compare the actions with
``==`` (honcho-style), and so that nothing the model hands out can be mutated behind its back.

Contract with the runtime (``runtime/supervisor.py``):

* Timer keys (``"start"``, ``"ready"``, ``"stop"``, ``"backoff"``) are per instance; the runtime
  prefixes them with the instance id. ``Arm`` with a key that is already pending replaces it.
  After ``Disarm(key)`` the runtime must not deliver ``TimerFired(key)``; should one already be
  queued in the same loop turn, the model drops it as stale (it tracks what it armed).
* ``Spawn`` is answered by exactly one ``Spawned`` or ``SpawnFailed``; ``SpawnFailed`` means no
  process exists (an exec error caught in the parent, reported 126/127 as a shell would).
* ``Exited`` carries the raw ``waitpid`` status of the main pid. ``GroupGone`` follows it once
  nothing is left in the program's process group (plus tracked strays); the runtime may answer it
  at once when the group was already empty, and it answers it exactly once per group. The model
  waits for both before it restarts: systemd's ``KillMode=control-group`` does the same, and
  without it gunicorn's orphaned workers keep the port and every restart fails.
* ``StartProbe``/``StopProbe`` bracket the readiness check (tcp/http/command/notify); the runtime
  answers ``ReadyObserved`` when it succeeds. A probe timeout is the ``"ready"`` timer, so there is
  no separate event for it.
* ``StateChanged`` is emitted on every state change, after the other actions of the step (for
  logs, metrics and sd_notify STATUS=). The plan needs more than that: pass every changed
  instance to ``model.plan.on_instance_change``.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

from pinit.records import dataclass

if TYPE_CHECKING:  # state imports events; the reverse is for annotations only
    from pinit.model.state import State

__all__ = [
    "Action",
    "Arm",
    "Disarm",
    "Emit",
    "Event",
    "Exited",
    "GroupGone",
    "KillGroup",
    "ReadyObserved",
    "SignalGroup",
    "Spawn",
    "SpawnFailed",
    "Spawned",
    "StartProbe",
    "StartRequested",
    "StateChanged",
    "StopProbe",
    "StopRequested",
    "TimerFired",
    "exit_code",
]


def exit_code(status: int) -> int:
    """Raw ``waitpid`` status -> the shell's code: the exit code, or 128+N for signal N.

    tini, dumb-init and sh agree on 128+N, so ``docker stop`` of a TERM-killed main reports 143.
    Decoded by hand (Linux layout) because ``os.waitstatus_to_exitcode`` would pull ``os`` into
    the model; a stopped/continued status (never reported without WUNTRACED) maps to 128+stopsig.
    """
    termsig = status & 0x7F
    if termsig == 0:
        return (status >> 8) & 0xFF
    if termsig == 0x7F:  # stopped: WSTOPSIG in the high byte
        return 128 + ((status >> 8) & 0xFF)
    return 128 + termsig


# --- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartRequested:
    """The plan or an operator wants this instance running."""


@dataclass(frozen=True, slots=True)
class StopRequested:
    """The plan or an operator wants this instance stopped and not restarted."""


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
    status: int  # raw waitpid status; see exit_code()


@dataclass(frozen=True, slots=True)
class GroupGone:
    """Nothing of the program's group or tracked tree is left after its main pid died."""


@dataclass(frozen=True, slots=True)
class ReadyObserved:
    """The readiness probe succeeded, or READY=1 arrived from the instance."""


@dataclass(frozen=True, slots=True)
class TimerFired:
    key: str


Event = (
    StartRequested
    | StopRequested
    | Spawned
    | SpawnFailed
    | Exited
    | GroupGone
    | ReadyObserved
    | TimerFired
)

EVENT_TYPES: tuple[type[Event], ...] = (
    StartRequested,
    StopRequested,
    Spawned,
    SpawnFailed,
    Exited,
    GroupGone,
    ReadyObserved,
    TimerFired,
)


# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spawn:
    program: str
    index: int


@dataclass(frozen=True, slots=True)
class SignalGroup:
    """Signal the whole process group plus tracked strays (a child that called setsid)."""

    pgid: int
    sig: signal.Signals


@dataclass(frozen=True, slots=True)
class KillGroup:
    """SIGKILL the group and strays: the stop timeout ran out."""

    pgid: int


@dataclass(frozen=True, slots=True)
class Arm:
    key: str
    deadline: float  # monotonic seconds, the same clock as step()'s `now`


@dataclass(frozen=True, slots=True)
class Disarm:
    key: str


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


Action = (
    Spawn | SignalGroup | KillGroup | Arm | Disarm | StartProbe | StopProbe | Emit | StateChanged
)
