"""The cells of the request columns: start, stop, restart, signal (the plan's or an operator's).

Written in ``transitions.py``'s style (one handler per differing cell, never re-checking the
state the table chose it by); the moves they share with the process facts (``spawn``) live
there. One process per instance: a start or restart that finds one still stopping only marks
``restart_pending``, and the plan starts it once it is STOPPED.
"""

from __future__ import annotations

from pinit.model.actions import SignalGroup
from pinit.model.events import Event, RestartRequested, SignalRequested, State
from pinit.model.step import BACKOFF, READY, START, Step, cast
from pinit.model.transitions import spawn

__all__ = [
    "cancel_restart",
    "hold",
    "restart",
    "send_signal",
    "start",
    "start_after_cleanup",
    "start_after_stop",
    "stop",
    "stop_backoff",
    "stop_during_cleanup",
]


def start(s: Step, _ev: Event) -> None:
    """A manual start forgets past failures (supervisord resets backoff on ``start``)."""
    s.disarm(BACKOFF)
    s.set(attempts=0, restarts=(), stop_requested=False)
    spawn(s)


def start_after_cleanup(s: Step, _ev: Event) -> None:
    s.set(attempts=0, restarts=(), stop_requested=False, after_cleanup=State.STARTING)


def start_after_stop(s: Step, _ev: Event) -> None:
    """One process per instance: the plan starts it once it is STOPPED (``restart_pending``)."""
    s.set(restart_pending=True)


def hold(s: Step, _ev: Event) -> None:
    """A stop of a STOPPED instance: the plan must not start it (one waiting on its ``after``)."""
    s.set(stop_requested=True)


def stop(s: Step, _ev: Event) -> None:
    s.stop_probe()
    s.disarm(START, READY)
    s.set(state=State.STOPPING, stop_requested=True, ready=False)
    s.emit("info", "stopping")
    s.signal_group()  # pid None (Spawn not yet answered): signal once Spawned arrives


def restart(s: Step, ev: Event) -> None:
    stop(s, ev)
    s.set(restart_pending=True, restart_reason=cast(RestartRequested, ev).reason)


def cancel_restart(s: Step, _ev: Event) -> None:
    """A stop while stopping: a start asked for earlier (restart) is called off."""
    s.set(restart_pending=False, restart_reason="")


def stop_backoff(s: Step, _ev: Event) -> None:
    s.disarm(BACKOFF)
    s.set(restart_reason="")
    s.set(state=State.STOPPED, stop_requested=True)


def stop_during_cleanup(s: Step, _ev: Event) -> None:
    s.set(stop_requested=True)
    if s.inst.after_cleanup in (State.BACKOFF, State.STARTING):
        s.set(after_cleanup=State.STOPPED)


def send_signal(s: Step, ev: Event) -> None:
    """`ctl signal`: the runtime's one signal path, so tagged strays get it too."""
    if s.inst.pgid is not None:
        s.actions.append(SignalGroup(s.inst.pgid, cast(SignalRequested, ev).sig, stop=False))
