"""Issue 9, ``binds_to``: the ``Released`` column of the instance table.

A program's automatic restart is held (``Instance.held``, set by the plan in ``model/binds.py``)
while the programs bound to it are being stopped: systemd stops ``BindsTo=`` dependents before
the unit they are bound to starts again, so a client never talks to a half-restarted server.
``Released`` lets the restart go; it is its own column so that the hold is visible in the table,
not a condition hidden in the timer cells.
"""

from __future__ import annotations

from pinit.model import transitions as t
from pinit.model.events import Event
from pinit.model.step import BACKOFF, Step

__all__ = ["release", "release_backoff"]


def release(s: Step, _ev: Event) -> None:
    """Not waiting (yet, or any more): the next automatic restart is not held."""
    s.set(held=False)


def release_backoff(s: Step, _ev: Event) -> None:
    """Waiting in BACKOFF: start now, unless its backoff delay is still running (the timer
    then starts it, counted as the restart it is)."""
    if not s.inst.held:
        return
    s.set(held=False)
    if BACKOFF not in s.inst.timers:
        s.emit("info", "the programs bound to it are down; restarting now")
        t.spawn_restart(s)
