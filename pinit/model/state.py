"""The per-instance state machine: one literal table, one ``step``.

``TRANSITIONS`` is s6-supervise's ``actions[state][event]`` in Python: every (State, event type)
cell is written out as a handler, ``IGNORE`` or ``ILLEGAL``, so a missing case is a failing test
(``tests/unit/test_state.py``), not a silent fall-through. ``ILLEGAL`` leaves the instance as it
was and emits a warning, as horust does for an impossible event; ``IGNORE`` is for events that
can legitimately arrive late (a probe answer after the probe was stopped, a duplicate stop).

API for the runtime (``runtime/supervisor.py``)::

    inst, actions = step(inst, event, now=time.monotonic(), rng=rng)

Execute ``actions`` in order. Results (Spawned, SpawnFailed, GroupGone, ...) come back later as
new events, never as return values. ``StateChanged`` is the last action of a step that changed
state. Whenever the returned instance differs from the one passed in, hand it to
``model.plan.on_instance_change`` (the plan owns every instance). The handlers live in
``transitions.py``; ``Instance`` and ``State`` in ``instance.py`` (re-exported here).

Transitions (``*`` marks a handler that also checks the pid/timer key and drops stale ones)::

    STOPPED/EXITED/FATAL --start--> STARTING (Spawn; attempts reset)
    STARTING --Spawned--> arm start (+ StartProbe, arm ready) | RUNNING if start_seconds == 0
    STARTING --start timer / ReadyObserved--> RUNNING (attempts = 0)
    STARTING/RUNNING --Exited--> CLEANUP(target) ; ready timer --> CLEANUP(BACKOFF|FATAL)
    CLEANUP --GroupGone--> target: BACKOFF (arm backoff) | STARTING (delay 0) | EXITED | FATAL
    BACKOFF --backoff timer--> STARTING ; --stop--> STOPPED
    STARTING/RUNNING --stop--> STOPPING (SignalGroup, arm stop) --stop timer--> KillGroup
    STOPPING --Exited, then GroupGone--> STOPPED
"""

from __future__ import annotations

import enum
import random
from typing import Final

from pinit.model import transitions as t
from pinit.model.events import (
    EVENT_TYPES,
    Action,
    Emit,
    Event,
    Exited,
    GroupGone,
    ReadyObserved,
    Spawned,
    SpawnFailed,
    StartRequested,
    StateChanged,
    StopRequested,
    TimerFired,
)
from pinit.model.instance import DOWN, Instance, State

__all__ = ["DOWN", "EVENT_TYPES", "IGNORE", "ILLEGAL", "TRANSITIONS", "Instance", "State", "step"]


class Cell(enum.Enum):
    IGNORE = "ignore"  # expected and harmless here: keep the instance, say nothing
    ILLEGAL = "illegal"  # cannot happen if the runtime keeps its contract: keep it, warn


IGNORE: Final = Cell.IGNORE
ILLEGAL: Final = Cell.ILLEGAL

S = State
_ = IGNORE
X = ILLEGAL

# fmt: off
TRANSITIONS: Final[dict[tuple[State, type[Event]], t.Handler | Cell]] = {
    (S.STOPPED,  StartRequested): t.start,
    (S.STOPPED,  StopRequested):  _,
    (S.STOPPED,  Spawned):        X,
    (S.STOPPED,  SpawnFailed):    X,
    (S.STOPPED,  Exited):         X,
    (S.STOPPED,  GroupGone):      _,
    (S.STOPPED,  ReadyObserved):  _,
    (S.STOPPED,  TimerFired):     _,  # stale: every timer is disarmed on the way here

    (S.STARTING, StartRequested): _,
    (S.STARTING, StopRequested):  t.stop,
    (S.STARTING, Spawned):        t.spawned,
    (S.STARTING, SpawnFailed):    t.spawn_failed,
    (S.STARTING, Exited):         t.exited,
    (S.STARTING, GroupGone):      X,  # the main pid is alive, so its group is not empty
    (S.STARTING, ReadyObserved):  t.ready,
    (S.STARTING, TimerFired):     t.timer,  # start -> RUNNING; ready -> failed start

    (S.RUNNING,  StartRequested): _,
    (S.RUNNING,  StopRequested):  t.stop,
    (S.RUNNING,  Spawned):        X,
    (S.RUNNING,  SpawnFailed):    X,
    (S.RUNNING,  Exited):         t.exited,
    (S.RUNNING,  GroupGone):      X,
    (S.RUNNING,  ReadyObserved):  t.ready,
    (S.RUNNING,  TimerFired):     t.timer,  # ready -> failed start

    (S.BACKOFF,  StartRequested): t.start,  # skip the rest of the delay
    (S.BACKOFF,  StopRequested):  t.stop_backoff,
    (S.BACKOFF,  Spawned):        X,
    (S.BACKOFF,  SpawnFailed):    X,
    (S.BACKOFF,  Exited):         X,
    (S.BACKOFF,  GroupGone):      _,
    (S.BACKOFF,  ReadyObserved):  _,
    (S.BACKOFF,  TimerFired):     t.timer,  # backoff -> STARTING

    (S.STOPPING, StartRequested): X,  # the plan starts it again once it is STOPPED
    (S.STOPPING, StopRequested):  _,
    (S.STOPPING, Spawned):        t.spawned,  # stop arrived mid-spawn: signal it now
    (S.STOPPING, SpawnFailed):    t.spawn_failed,
    (S.STOPPING, Exited):         t.exited,
    (S.STOPPING, GroupGone):      t.group_gone,
    (S.STOPPING, ReadyObserved):  _,
    (S.STOPPING, TimerFired):     t.timer,  # stop -> KillGroup

    (S.CLEANUP,  StartRequested): t.start_after_cleanup,
    (S.CLEANUP,  StopRequested):  t.stop_during_cleanup,
    (S.CLEANUP,  Spawned):        X,
    (S.CLEANUP,  SpawnFailed):    X,
    (S.CLEANUP,  Exited):         t.exited,  # main pid still alive after a ready timeout
    (S.CLEANUP,  GroupGone):      t.group_gone,
    (S.CLEANUP,  ReadyObserved):  _,
    (S.CLEANUP,  TimerFired):     t.timer,  # stop -> KillGroup

    (S.EXITED,   StartRequested): t.start,
    (S.EXITED,   StopRequested):  _,
    (S.EXITED,   Spawned):        X,
    (S.EXITED,   SpawnFailed):    X,
    (S.EXITED,   Exited):         X,
    (S.EXITED,   GroupGone):      _,
    (S.EXITED,   ReadyObserved):  _,
    (S.EXITED,   TimerFired):     _,

    (S.FATAL,    StartRequested): t.start,
    (S.FATAL,    StopRequested):  _,
    (S.FATAL,    Spawned):        X,
    (S.FATAL,    SpawnFailed):    X,
    (S.FATAL,    Exited):         X,
    (S.FATAL,    GroupGone):      _,
    (S.FATAL,    ReadyObserved):  _,
    (S.FATAL,    TimerFired):     _,
}
# fmt: on


def step(
    inst: Instance, event: Event, now: float, rng: random.Random
) -> tuple[Instance, tuple[Action, ...]]:
    """Apply one event; return the new instance and the actions to execute, in order.

    Pure and total: the same (inst, event, now, rng state) always gives the same result, and no
    input makes it raise (an unknown event type is treated as ILLEGAL).
    """
    cell = TRANSITIONS.get((inst.state, type(event)), ILLEGAL)
    if cell is IGNORE:
        return inst, ()
    if cell is ILLEGAL or isinstance(cell, Cell):
        kind = type(event).__name__
        return inst, (Emit("warn", f"{inst.name}: unexpected {kind} in {inst.state.value}"),)
    s = t.Step(inst, now, rng)
    cell(s, event)
    if s.inst.state is not inst.state:
        s.actions.append(StateChanged(inst.state, s.inst.state))
    return s.inst, tuple(s.actions)
