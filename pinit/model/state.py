"""The per-instance state machine: one literal table, one ``step``.

``TRANSITIONS`` is s6-supervise's ``actions[state][event]`` in Python: every (State, event type)
cell is written out as a handler, ``IGNORE`` or ``ILLEGAL``, so a missing case is a failing test
(``tests/unit/test_state.py``), not a silent fall-through. A handler serves only the cells it is
named for and never re-checks the state (``transitions.py``; the request columns'
``requests.py``). ``ILLEGAL`` leaves the instance as it was and emits a warning, as horust does
for an impossible event; ``IGNORE`` is for events that can legitimately arrive late (a probe
answer after the probe was stopped, a duplicate stop).

API for the runtime (``runtime/supervisor.py``)::

    inst, actions = step(inst, event, now=time.monotonic(), rng=rng)

Execute ``actions`` in order. Results (Spawned, SpawnFailed, GroupGone, ...) come back later as
new events, never as return values. ``StateChanged`` is the last action of a step that changed
state. Whenever the returned instance differs from the one passed in, hand it to
``model.plan.on_instance_change`` (the plan owns every instance).

The life of an instance, read off the table::

    STOPPED/EXITED/FATAL --start--> STARTING (Spawn; attempts reset)
    STARTING --Spawned--> arm StartTimeout (+ StartProbe, arm ReadyTimeout) | RUNNING at once
    STARTING --StartTimeout / ReadyObserved--> RUNNING (attempts = 0)
    STARTING/RUNNING --Exited--> CLEANUP(target) ; ReadyTimeout --> CLEANUP(BACKOFF|FATAL)
    CLEANUP --GroupGone--> target: BACKOFF (arm BackoffDone) | STARTING | EXITED | FATAL
    BACKOFF --BackoffDone--> STARTING ; --stop--> STOPPED
    STARTING/RUNNING --stop--> STOPPING (SignalGroup, arm StopTimeout) --StopTimeout--> KillGroup
    STOPPING --Exited, then GroupGone--> STOPPED (the plan starts it again if restart_pending)
    held (issue 9, binds_to): a restart waits in BACKOFF --Released--> STARTING (model/release.py)
"""

from __future__ import annotations

import enum

from pinit.model import policy
from pinit.model import requests as q
from pinit.model import transitions as t
from pinit.model.actions import Action, Emit, StateChanged
from pinit.model.events import (
    EVENT_TYPES,
    TIMER_EVENTS,
    BackoffDone,
    Event,
    Exited,
    ExtendTimeout,
    GroupGone,
    LiveFailed,
    LiveOk,
    MainPidNotified,
    ReadyObserved,
    ReadyTimeout,
    Recycle,
    Released,
    RestartRequested,
    SignalRequested,
    Spawned,
    SpawnFailed,
    StartRequested,
    StartTimeout,
    StatusNotified,
    StopRequested,
    StopTimeout,
    WatchdogPing,
    WatchdogTimeout,
)
from pinit.model.instance import DOWN, Instance, State
from pinit.model.step import Handler, Step, cast
from pinit.records import replace

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)
if TYPE_CHECKING:
    from typing import Final

__all__ = ["DOWN", "EVENT_TYPES", "IGNORE", "ILLEGAL", "TRANSITIONS", "Instance", "State", "step"]


class Cell(enum.Enum):
    IGNORE = "ignore"  # expected and harmless here: keep the instance, say nothing
    ILLEGAL = "illegal"  # cannot happen if the runtime keeps its contract: keep it, warn


IGNORE = Cell.IGNORE
ILLEGAL = Cell.ILLEGAL

S = State
_ = IGNORE
X = ILLEGAL
Start, Stop, Restart, Signal = StartRequested, StopRequested, RestartRequested, SignalRequested
Ready, Gone = ReadyObserved, GroupGone
StartT, ReadyT, StopT, Backoff = StartTimeout, ReadyTimeout, StopTimeout, BackoffDone
# issue 9: the notify protocol's columns and the watchdog's timer (cells in model/notified.py)
Ping, WdogT, Recycle_, MainPid = WatchdogPing, WatchdogTimeout, Recycle, MainPidNotified
Extend_, Status = ExtendTimeout, StatusNotified


def _live_failed(s: Step, ev: Event) -> None:
    """Issue 8: model/liveness.py loads at the first verdict, never on PID 1's start path."""
    from pinit.model import liveness

    liveness.live_failed(s, ev)


def _live_ok(s: Step, ev: Event) -> None:
    from pinit.model import liveness

    liveness.live_ok(s, ev)


# issue 9: model/notified.py and model/release.py load at their first cell (a notify datagram,
# a watchdog, MAINPID=, binds_to's Released), never on PID 1's start path. The wrappers every
# program's cells go through tell without them whether there is anything to do.


def _notified(name: str) -> Handler:
    def cell(s: Step, ev: Event) -> None:
        from pinit.model import notified

        getattr(notified, name)(s, ev)

    return cell


def _release(name: str) -> Handler:
    def cell(s: Step, ev: Event) -> None:
        from pinit.model import release

        getattr(release, name)(s, ev)

    return cell


def _running(handler: Handler) -> Handler:
    """``handler``, then arm the watchdog if it led to RUNNING (systemd counts from there)."""

    def cell(s: Step, ev: Event) -> None:
        handler(s, ev)
        if s.inst.state is State.RUNNING and s.inst.program.watchdog > 0:
            from pinit.model import notified

            notified.arm_watchdog(s)

    return cell


def _spawned(handler: Handler) -> Handler:
    """As ``_running``, and a new process has said nothing yet: forget the previous one's."""
    then = _running(handler)

    def cell(s: Step, ev: Event) -> None:
        if s.inst.status_text or s.inst.sub_state:
            s.inst = replace(s.inst, status_text="", sub_state="")
        then(s, ev)

    return cell


def _former_main(handler: Handler) -> Handler:
    """The Exited cells of a live instance: a pid that is not the main one can only be a main
    pid that MAINPID= replaced, reaped in the turn its successor was named; said at debug."""

    def cell(s: Step, ev: Event) -> None:
        pid = cast(Exited, ev).pid
        if s.inst.pid is not None and pid != s.inst.pid:
            s.emit("debug", f"pid {pid} exited: no longer the main pid ({s.inst.pid})")
            return
        handler(s, ev)

    return cell


_released = _release("release")


# A timeout reaches its cell only while the instance has it armed (step drops stale ones), so
# the X cells of the last four columns are states where it is never armed.
# fmt: off
TRANSITIONS: Final[dict[tuple[State, type[Event]], Handler | Cell]] = {
    (S.STOPPED,  Start):   q.start,
    (S.STOPPED,  Stop):    q.hold,  # keep the plan from starting it (waiting on `after`)
    (S.STOPPED,  Restart): q.start,
    (S.STOPPED,  Signal):  _,
    (S.STOPPED,  Spawned): X,
    (S.STOPPED,  SpawnFailed): X,
    (S.STOPPED,  Exited):  X,
    (S.STOPPED,  Gone):    _,
    (S.STOPPED,  Ready):   _,
    (S.STOPPED,  StartT):  X,
    (S.STOPPED,  ReadyT):  X,
    (S.STOPPED,  StopT):   X,
    (S.STOPPED,  Backoff): X,
    (S.STOPPED,  Ping):    _,
    (S.STOPPED,  WdogT):   X,
    (S.STOPPED,  Recycle_): _,
    (S.STOPPED,  MainPid): _,
    (S.STOPPED,  Extend_): _,
    (S.STOPPED,  Status):  _,
    (S.STOPPED,  Released): _released,

    (S.STARTING, Start):   _,
    (S.STARTING, Stop):    q.stop,
    (S.STARTING, Restart): q.restart,
    (S.STARTING, Signal):  q.send_signal,
    (S.STARTING, Spawned): _spawned(t.spawned),
    (S.STARTING, SpawnFailed): t.spawn_failed,
    (S.STARTING, Exited):  _former_main(t.exited_starting),
    (S.STARTING, Gone):    X,  # the main pid is alive, so its group is not empty
    (S.STARTING, Ready):   _running(t.ready_starting),
    (S.STARTING, StartT):  _running(t.start_timeout),
    (S.STARTING, ReadyT):  t.ready_timeout,
    (S.STARTING, StopT):   X,
    (S.STARTING, Backoff): X,
    (S.STARTING, Ping):    _,
    (S.STARTING, WdogT):   X,
    (S.STARTING, Recycle_): _notified("recycle"),
    (S.STARTING, MainPid): _notified("main_pid"),
    (S.STARTING, Extend_): _notified("extend_starting"),
    (S.STARTING, Status):  _notified("status"),
    (S.STARTING, Released): _released,

    (S.RUNNING,  Start):   _,
    (S.RUNNING,  Stop):    q.stop,
    (S.RUNNING,  Restart): q.restart,
    (S.RUNNING,  Signal):  q.send_signal,
    (S.RUNNING,  Spawned): X,
    (S.RUNNING,  SpawnFailed): X,
    (S.RUNNING,  Exited):  _former_main(t.exited_running),
    (S.RUNNING,  Gone):    X,
    (S.RUNNING,  Ready):   t.ready_running,
    (S.RUNNING,  StartT):  X,
    (S.RUNNING,  ReadyT):  t.ready_timeout,
    (S.RUNNING,  StopT):   X,
    (S.RUNNING,  Backoff): X,
    (S.RUNNING,  Ping):    _notified("watchdog_ping"),
    (S.RUNNING,  WdogT):   _notified("watchdog_timeout"),
    (S.RUNNING,  Recycle_): _notified("recycle"),
    (S.RUNNING,  MainPid): _notified("main_pid"),
    (S.RUNNING,  Extend_): _notified("extend_starting"),
    (S.RUNNING,  Status):  _notified("status"),
    (S.RUNNING,  Released): _released,

    (S.BACKOFF,  Start):   q.start,  # skip the rest of the delay
    (S.BACKOFF,  Stop):    q.stop_backoff,
    (S.BACKOFF,  Restart): q.start,
    (S.BACKOFF,  Signal):  _,
    (S.BACKOFF,  Spawned): X,
    (S.BACKOFF,  SpawnFailed): X,
    (S.BACKOFF,  Exited):  X,
    (S.BACKOFF,  Gone):    _,
    (S.BACKOFF,  Ready):   _,
    (S.BACKOFF,  StartT):  X,
    (S.BACKOFF,  ReadyT):  X,
    (S.BACKOFF,  StopT):   X,
    (S.BACKOFF,  Backoff): t.backoff_done,
    (S.BACKOFF,  Ping):    _,
    (S.BACKOFF,  WdogT):   X,
    (S.BACKOFF,  Recycle_): _,
    (S.BACKOFF,  MainPid): _,
    (S.BACKOFF,  Extend_): _,
    (S.BACKOFF,  Status):  _,
    (S.BACKOFF,  Released): _release("release_backoff"),

    (S.STOPPING, Start):   q.start_after_stop,  # one process per instance: start once STOPPED
    (S.STOPPING, Stop):    q.cancel_restart,
    (S.STOPPING, Restart): q.start_after_stop,
    (S.STOPPING, Signal):  q.send_signal,
    (S.STOPPING, Spawned): t.spawned_while_stopping,  # stop arrived mid-spawn: signal it now
    (S.STOPPING, SpawnFailed): t.spawn_failed_while_stopping,
    (S.STOPPING, Exited):  _former_main(t.exited_stopping),
    (S.STOPPING, Gone):    t.stopped,
    (S.STOPPING, Ready):   _,
    (S.STOPPING, StartT):  X,
    (S.STOPPING, ReadyT):  X,
    (S.STOPPING, StopT):   t.stop_timeout,
    (S.STOPPING, Backoff): X,
    (S.STOPPING, Ping):    _,
    (S.STOPPING, WdogT):   X,
    (S.STOPPING, Recycle_): _,
    (S.STOPPING, MainPid): _notified("main_pid"),
    (S.STOPPING, Extend_): _notified("extend_stopping"),
    (S.STOPPING, Status):  _notified("status"),
    (S.STOPPING, Released): _released,

    (S.CLEANUP,  Start):   q.start_after_cleanup,
    (S.CLEANUP,  Stop):    q.stop_during_cleanup,
    (S.CLEANUP,  Restart): q.start_after_cleanup,
    (S.CLEANUP,  Signal):  q.send_signal,
    (S.CLEANUP,  Spawned): X,
    (S.CLEANUP,  SpawnFailed): X,
    (S.CLEANUP,  Exited):  t.exited_cleanup,  # main pid still alive after a ready timeout
    (S.CLEANUP,  Gone):    t.cleaned_up,
    (S.CLEANUP,  Ready):   _,
    (S.CLEANUP,  StartT):  X,
    (S.CLEANUP,  ReadyT):  X,
    (S.CLEANUP,  StopT):   t.stop_timeout,
    (S.CLEANUP,  Backoff): X,
    (S.CLEANUP,  Ping):    _,
    (S.CLEANUP,  WdogT):   X,
    (S.CLEANUP,  Recycle_): _,
    (S.CLEANUP,  MainPid): _,
    (S.CLEANUP,  Extend_): _notified("extend_stopping"),
    (S.CLEANUP,  Status):  _notified("status"),
    (S.CLEANUP,  Released): _released,

    (S.EXITED,   Start):   q.start,
    (S.EXITED,   Stop):    _,
    (S.EXITED,   Restart): q.start,
    (S.EXITED,   Signal):  _,
    (S.EXITED,   Spawned): X,
    (S.EXITED,   SpawnFailed): X,
    (S.EXITED,   Exited):  X,
    (S.EXITED,   Gone):    _,
    (S.EXITED,   Ready):   _,
    (S.EXITED,   StartT):  X,
    (S.EXITED,   ReadyT):  X,
    (S.EXITED,   StopT):   X,
    (S.EXITED,   Backoff): X,
    (S.EXITED,   Ping):    _,
    (S.EXITED,   WdogT):   X,
    (S.EXITED,   Recycle_): _,
    (S.EXITED,   MainPid): _,
    (S.EXITED,   Extend_): _,
    (S.EXITED,   Status):  _,
    (S.EXITED,   Released): _released,

    (S.FATAL,    Start):   q.start,
    (S.FATAL,    Stop):    _,
    (S.FATAL,    Restart): q.start,
    (S.FATAL,    Signal):  _,
    (S.FATAL,    Spawned): X,
    (S.FATAL,    SpawnFailed): X,
    (S.FATAL,    Exited):  X,
    (S.FATAL,    Gone):    _,
    (S.FATAL,    Ready):   _,
    (S.FATAL,    StartT):  X,
    (S.FATAL,    ReadyT):  X,
    (S.FATAL,    StopT):   X,
    (S.FATAL,    Backoff): X,
    (S.FATAL,    Ping):    _,
    (S.FATAL,    WdogT):   X,
    (S.FATAL,    Recycle_): _,
    (S.FATAL,    MainPid): _,
    (S.FATAL,    Extend_): _,
    (S.FATAL,    Status):  _,
    (S.FATAL,    Released): _released,

    # issue 8: liveness verdicts (model/liveness.py). Probed only while RUNNING; elsewhere a
    # verdict is one queued in the turn that left RUNNING, or from a previous process.
    (S.STOPPED,  LiveFailed): _,
    (S.STOPPED,  LiveOk):  _,
    (S.STARTING, LiveFailed): _,
    (S.STARTING, LiveOk):  _,
    (S.RUNNING,  LiveFailed): _live_failed,
    (S.RUNNING,  LiveOk):  _live_ok,
    (S.BACKOFF,  LiveFailed): _,
    (S.BACKOFF,  LiveOk):  _,
    (S.STOPPING, LiveFailed): _,
    (S.STOPPING, LiveOk):  _,
    (S.CLEANUP,  LiveFailed): _,
    (S.CLEANUP,  LiveOk):  _,
    (S.EXITED,   LiveFailed): _,
    (S.EXITED,   LiveOk):  _,
    (S.FATAL,    LiveFailed): _,
    (S.FATAL,    LiveOk):  _,
}
# fmt: on


def step(
    inst: Instance, event: Event, now: float, rng: policy.Rng
) -> tuple[Instance, tuple[Action, ...]]:
    """Apply one event; return the new instance and the actions to execute, in order.

    Pure and total: the same (inst, event, now, rng state) always gives the same result, and no
    input makes it raise (an unknown event type is treated as ILLEGAL). A timeout the instance
    did not arm (disarmed while it was already queued) is stale and dropped here, before the
    table; one it did arm is taken off ``timers`` before its cell runs.
    """
    timers = inst.timers
    if isinstance(event, TIMER_EVENTS):
        if event not in timers:
            kind = type(event).__name__
            return inst, (Emit("debug", f"{inst.name}: stale {kind} in {inst.state.value}"),)
        timers = timers - {event}
    cell = TRANSITIONS.get((inst.state, type(event)), ILLEGAL)
    if cell is IGNORE:
        return inst, ()
    if cell is ILLEGAL or isinstance(cell, Cell):
        kind = type(event).__name__
        return inst, (Emit("warn", f"{inst.name}: unexpected {kind} in {inst.state.value}"),)
    s = Step(inst, now, rng)
    if timers is not inst.timers:
        s.set(timers=timers)
    cell(s, event)
    if s.inst.state is not inst.state and inst.program.watchdog:
        from pinit.model import notified  # a program with a watchdog: loaded at its RUNNING

        notified.left_running(s)  # issue 9: no watchdog outside RUNNING
    if s.inst.state is not inst.state:
        s.actions.append(StateChanged(inst.state, s.inst.state))
        if s.inst.state is State.RUNNING:  # issue 8: start and ready durations for /metrics
            s.set(running_at=now)
    if s.inst.ready and not inst.ready:
        s.set(ready_at=now)
    return s.inst, tuple(s.actions)
