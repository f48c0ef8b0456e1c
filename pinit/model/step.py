"""The value a cell's handler builds: ``Step``, the instance being rebuilt plus its actions.

Shared by every handler module (``transitions.py``, ``requests.py``, ``notified.py``,
``liveness.py``, ``release.py``): its small moves (arm/disarm a timer, start/stop the probe,
the stop signal) keep ``Instance.timers`` and ``Instance.probing`` true to the actions, so no
handler can arm a timer it forgets, or stop a probe twice.
"""

from __future__ import annotations

from collections.abc import Callable

from pinit.model import policy
from pinit.model.actions import Action, Arm, Disarm, Emit, SignalGroup, StartProbe, StopProbe
from pinit.model.events import (
    BackoffDone,
    Event,
    ReadyTimeout,
    StartTimeout,
    State,
    StopTimeout,
    TimerEvent,
)
from pinit.model.instance import Instance
from pinit.records import dataclass, field, replace

__all__ = ["BACKOFF", "READY", "START", "STOP", "Handler", "Step", "cast"]

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:  # a TypedDict's class body costs ~0.5 ms of PID 1's start (issue 7, speed)
    from typing import (
        TypedDict,
        Unpack,
        cast,  # exported: the cells narrow events with it
    )

    class _Changes(TypedDict, total=False):
        """The Instance fields a handler may change, so ``Step.set`` stays type-checked."""

        state: State
        pid: int | None
        pgid: int | None
        attempts: int
        started_at: float | None
        restarts: tuple[float, ...]
        ready: bool
        last_status: int | None
        stop_requested: bool
        exit_on_stop: bool
        after_cleanup: State | None
        timers: frozenset[TimerEvent]
        probing: bool
        restart_pending: bool
        spawns: int
        restart_reason: str
        restarts_by_reason: tuple[tuple[str, int], ...]
        live_failures: int
        held: bool
        running_at: float | None
        ready_at: float | None
else:

    def cast(_type: object, value: object) -> object:
        """`typing.cast` at run time: the value itself."""
        return value


@dataclass(slots=True)
class Step:
    """Accumulates one step's result; keeps ``inst.timers``/``inst.probing`` true to the actions."""

    inst: Instance
    now: float
    rng: policy.Rng
    actions: list[Action] = field(default_factory=list)

    def set(self, **changes: Unpack[_Changes]) -> None:
        self.inst = replace(self.inst, **changes)

    def emit(self, level: str, message: str) -> None:
        self.actions.append(Emit(level, f"{self.inst.name}: {message}"))

    def arm(self, timer: TimerEvent, delay: float) -> None:
        self.actions.append(Arm(timer, self.now + max(delay, 0.0)))
        self.set(timers=self.inst.timers | {timer})

    def disarm(self, *timers: TimerEvent) -> None:
        for timer in timers:
            if timer in self.inst.timers:
                self.actions.append(Disarm(timer))
                self.set(timers=self.inst.timers - {timer})

    def start_probe(self) -> None:
        if not self.inst.probing:
            self.actions.append(StartProbe())
            self.set(probing=True)

    def stop_probe(self) -> None:
        if self.inst.probing:
            self.actions.append(StopProbe())
            self.set(probing=False)

    def signal_group(self) -> None:
        """Stop signal to the whole group, KILL after stop_timeout (``StopTimeout``)."""
        prog = self.inst.program
        if self.inst.pgid is not None:
            self.actions.append(SignalGroup(self.inst.pgid, prog.stop_signal))
            self.arm(STOP, prog.stop_timeout)


Handler = Callable[[Step, Event], None]

START, READY, STOP, BACKOFF = StartTimeout(), ReadyTimeout(), StopTimeout(), BackoffDone()
