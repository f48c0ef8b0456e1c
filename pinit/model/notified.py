"""Issue 9: the cells of the notify protocol's columns and of the per-program watchdog.

Loaded at the first of those cells, never on PID 1's start path: the wrappers every program's
cells go through (``_running``, ``_spawned``, ``_former_main``) live in ``state.py`` and call
in here only when a program has a watchdog or said MAINPID=.

Split from ``transitions.py`` (over 400 lines) and written in its style: each handler gets the
``Step`` and the event its cell is keyed by and never re-checks the state. What each does, and
the systemd behaviour it follows (systemd.service(5), sd_notify(3)):

* The watchdog (``WatchdogSec=``) counts from RUNNING, as systemd's starts once start-up is
  complete: state.py's ``_running`` wraps the three cells that lead STARTING to RUNNING and
  arms ``WatchdogTimeout`` (``arm_watchdog``); each ``WATCHDOG=1`` re-arms it;
  ``left_running`` (called by ``step`` on any state change of a program with a watchdog)
  disarms it, so no timer outlives RUNNING.
  A miss or ``WATCHDOG=trigger`` stops the process as an unasked death would
  (``transitions.stop_unasked``: stop signal, stop timeout, then the ``restart`` policy, the
  backoff and the flap count, as systemd applies Restart= and the start limits to a watchdog
  failure), counted under reason "watchdog"; the ``Recycle`` column carries it, and memory and
  lifetime too. ``restart = "never"`` leaves it EXITED. Only a live (STARTING, RUNNING)
  instance is recycled: an operator's stop is never turned into a restart.
* ``MAINPID=`` (a forking daemon naming its child) changes the pid whose death counts; the
  runtime reaps the named pid from then on (``TrackMain``). The old main pid's death then
  arrives as an ``Exited`` for a pid that is no longer the main one: state.py's
  ``_former_main`` wraps the Exited cells so that one is said at debug level, not as a warning.
* ``EXTEND_TIMEOUT_USEC=`` pushes the pending ready (start) or stop deadline to at least
  now + USEC, never earlier (``Extend``), as systemd's ``service_extend_timeout``.
* ``STATUS=`` text and the sub-state (``STOPPING=1`` -> "stopping", ``RELOADING=1`` ->
  "reloading", ``READY=1`` ends "reloading") are kept for ``ctl status``; they change nothing
  else: pinit stops a program only when asked, and a reloading program stays ready.
"""

from __future__ import annotations

from pinit.config.schema import Restart
from pinit.model.actions import Extend, TrackMain
from pinit.model.events import (
    Event,
    ExtendTimeout,
    MainPidNotified,
    Recycle,
    State,
    StatusNotified,
    WatchdogTimeout,
)
from pinit.model.step import READY, STOP, Step, cast
from pinit.model.transitions import stop_unasked
from pinit.records import replace

__all__ = [
    "arm_watchdog",
    "extend_starting",
    "extend_stopping",
    "left_running",
    "main_pid",
    "recycle",
    "status",
    "watchdog_ping",
    "watchdog_timeout",
]

WATCHDOG = WatchdogTimeout()
MAX_STATUS = 200  # characters of STATUS= kept: one line of `ctl status`, not a log


def arm_watchdog(s: Step) -> None:
    """After a cell that led to RUNNING (state.py's ``_running``): the watchdog counts from here."""
    s.arm(WATCHDOG, s.inst.program.watchdog)


def left_running(s: Step) -> None:
    """Called by ``step`` when a program with a watchdog changed state: no watchdog outside
    RUNNING (a stopping or restarting program is not expected to ping)."""
    if s.inst.state is not State.RUNNING:
        s.disarm(WATCHDOG)


def watchdog_ping(s: Step, _ev: Event) -> None:
    if s.inst.program.watchdog > 0:
        s.disarm(WATCHDOG)  # a timer is armed once at a time (tests/unit/modelcore.py checks)
        s.arm(WATCHDOG, s.inst.program.watchdog)


def watchdog_timeout(s: Step, _ev: Event) -> None:
    s.emit("error", f"no WATCHDOG=1 for {s.inst.program.watchdog:g}s: {_then(s)}")
    restart_for(s, "watchdog")


def recycle(s: Step, ev: Event) -> None:
    reason = cast(Recycle, ev).reason
    never = s.inst.program.restart is Restart.NEVER
    s.emit("warn", f'stopping: {reason} (restart = "never")' if never else f"restarting: {reason}")
    restart_for(s, reason)


def _then(s: Step) -> str:
    never = s.inst.program.restart is Restart.NEVER
    return 'restart = "never": stopping it' if never else "restarting"


def restart_for(s: Step, reason: str) -> None:
    """Stop the process as an unasked death; its ``restart`` policy decides what follows."""
    s.disarm(WATCHDOG)
    stop_unasked(s, reason)


def main_pid(s: Step, ev: Event) -> None:
    pid = cast(MainPidNotified, ev).pid
    old = s.inst.pid
    if old is None or pid == old:
        return
    s.inst = replace(s.inst, pid=pid)
    s.actions.append(TrackMain(old, pid))
    s.emit("info", f"main pid is now {pid} (MAINPID=, was {old})")


def extend_starting(s: Step, ev: Event) -> None:
    if READY in s.inst.timers:
        s.actions.append(Extend(READY, s.now + max(cast(ExtendTimeout, ev).seconds, 0.0)))


def extend_stopping(s: Step, ev: Event) -> None:
    if STOP in s.inst.timers:
        s.actions.append(Extend(STOP, s.now + max(cast(ExtendTimeout, ev).seconds, 0.0)))


def status(s: Step, ev: Event) -> None:
    e = cast(StatusNotified, ev)
    text = s.inst.status_text if e.text is None else e.text[:MAX_STATUS]
    sub = s.inst.sub_state if e.sub_state is None else e.sub_state
    if sub == "" and e.sub_state == "" and s.inst.sub_state != "reloading":
        sub = s.inst.sub_state  # READY=1 ends a reload, not a "stopping"
    if text != s.inst.status_text or sub != s.inst.sub_state:
        s.inst = replace(s.inst, status_text=text, sub_state=sub)
