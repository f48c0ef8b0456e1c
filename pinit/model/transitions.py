"""The handlers behind the cells of ``state.TRANSITIONS`` for what happens to a process: its
spawn, its death, its readiness, its timeouts; and the moves they share (``spawn``, the restart
decision ``next_target``, the CLEANUP of a dead main's group). The request columns' cells (start,
stop, restart, signal) are in ``requests.py``, the notify protocol's in ``notified.py``.

One function per differing cell. Each handler gets a ``Step`` (``step.py``: the instance being
rebuilt plus the actions so far) and the event its cell is keyed by; it never re-checks the
state, because the table already chose it by state. Cells that differ only in where they lead
share a helper and pass the state (s6-supervise's ``up_z``/``lastup_z``), e.g.
``exited_starting``/``exited_running`` -> ``_died``. Handlers only build new values
(``dataclasses.replace``).
"""

from __future__ import annotations

from pinit.config.schema import ReadyKind, Restart
from pinit.model import policy
from pinit.model.actions import KillGroup, Restarting, Spawn, Verdict
from pinit.model.events import Event, Exited, Spawned, SpawnFailed, State
from pinit.model.status import describe, exit_code
from pinit.model.step import BACKOFF, READY, START, STOP, Step, cast

__all__ = ["cleanup", "next_target", "spawn", "spawn_restart", "stop_unasked", "wait_held"]


# --- shared moves -------------------------------------------------------------------------------


def spawn(s: Step) -> None:
    # Never two live processes per instance: only spawn once the old group is gone.
    if s.inst.restart_reason:
        s.set(restarts_by_reason=_count(s.inst.restarts_by_reason, s.inst.restart_reason))
        s.set(restart_reason="")
    s.set(state=State.STARTING, pid=None, pgid=None, ready=False, started_at=None)
    s.set(exit_on_stop=False, after_cleanup=None, restart_pending=False)
    s.set(live_failures=0, held=False)
    s.actions.append(Spawn(s.inst.program.name, s.inst.index))


def _count(counts: tuple[tuple[str, int], ...], reason: str) -> tuple[tuple[str, int], ...]:
    """One more restart for ``reason``, in first-seen order (a handful of reasons at most)."""
    if any(r == reason for r, _ in counts):
        return tuple((r, n + 1 if r == reason else n) for r, n in counts)
    return (*counts, (reason, 1))


def _become_running(s: Step) -> None:
    """Survived start_seconds or proved ready: supervisord resets the failed-start count here."""
    s.disarm(START)
    s.set(state=State.RUNNING, attempts=0)
    if s.inst.program.ready.kind is ReadyKind.STARTED:
        s.set(ready=True)
    s.emit("info", f"running (pid {s.inst.pid})" + (", ready" if s.inst.ready else ""))


def next_target(s: Step, restart: bool, failed_start: bool) -> State:
    """Where an unasked end leads: EXITED if not restarted, else BACKOFF, or FATAL past
    start_retries.

    Only failed starts count toward FATAL, as in supervisord (a program that ran for a day and
    crashed is restarted at once, with attempts back at 0). Two refinements: an exit the policy
    would not restart (``restart=never``, or ``on-failure`` with a code in ``exit_codes``) is
    EXITED even inside start_seconds, so a quick one-shot job is not retried as supervisord
    would; and more than ``flap_max`` restarts inside ``flap_window`` count as failed starts
    (systemd's StartLimitBurst), so a program crashing every few seconds still ends FATAL.
    """
    inst, prog = s.inst, s.inst.program
    if not restart:
        return State.STOPPED if inst.stop_requested else State.EXITED
    restarts = (*policy.prune_restarts(inst.restarts, s.now, prog.flap_window), s.now)
    attempts = inst.attempts + 1 if failed_start else inst.attempts
    if policy.is_flapping(restarts, s.now, prog.flap_window, prog.flap_max):
        attempts = max(attempts, len(restarts) - prog.flap_max)
        s.emit("warn", f"flapping: {len(restarts)} restarts within {prog.flap_window:g}s")
    s.set(restarts=restarts, attempts=attempts, restart_reason="exited")
    return State.FATAL if attempts > prog.start_retries else State.BACKOFF


def cleanup(s: Step, target: State) -> None:
    """KillMode=control-group: stop what is left of the group before going on to ``target``."""
    s.stop_probe()
    s.disarm(START, READY)
    s.set(state=State.CLEANUP, after_cleanup=target, ready=False)
    s.signal_group()
    if s.inst.pgid is None:  # no process (a failed spawn): no group to wait for
        _finish_cleanup(s)


def stop_unasked(s: Step, reason: str) -> None:
    """An end pinit decides for a live process (a failed liveness probe, a missed watchdog, a
    memory or lifetime recycle): stopped as an unasked death, so the program's ``restart``
    policy, the backoff and the flap count apply (systemd treats a WatchdogSec= miss as a
    failure under Restart= and the start limits); ``restart = "never"`` leaves it EXITED.
    Not ``RestartRequested``: that is an operator's stop-then-start and skips all three."""
    target = next_target(s, s.inst.program.restart is not Restart.NEVER, failed_start=False)
    if target is not State.EXITED and target is not State.STOPPED:
        s.set(restart_reason=reason)  # next_target says "exited"; this end is ours
    cleanup(s, target)


def _finish_cleanup(s: Step) -> None:
    """Nothing of the instance is left: go where its end leads (``after_cleanup``)."""
    inst = s.inst
    target = inst.after_cleanup or State.EXITED
    s.disarm(STOP)
    s.set(pgid=None, after_cleanup=None)
    if target is State.BACKOFF:
        delay = policy.backoff_delay(inst.program.backoff, inst.attempts, s.rng)
        if delay <= 0 and inst.held:  # issue 9: a delay still runs; BackoffDone checks it
            wait_held(s)  # recorded as restarting when Released lets it go (spawn_restart)
            return
        s.actions.append(
            Restarting(inst.restart_reason or "exited", max(delay, 0.0), inst.attempts)
        )
        if delay <= 0:
            s.emit("info", "restarting now")
            spawn(s)
        else:
            s.emit("info", f"restarting in {delay:.3g}s (failed starts: {inst.attempts})")
            s.set(state=State.BACKOFF)
            s.arm(BACKOFF, delay)
    elif target is State.STARTING:
        spawn(s)
    else:
        if target is State.FATAL:
            s.emit("error", f"gave up after {inst.attempts} failed starts")
        s.set(state=target, restart_reason="")


def _take_pid(s: Step, e: Spawned) -> bool:
    """Record the new process; False (and a warning) if one is already recorded."""
    if s.inst.pid is not None:
        s.emit("warn", f"ignoring Spawned({e.pid}): pid {s.inst.pid} is still alive")
        return False
    s.set(pid=e.pid, pgid=e.pgid, started_at=s.now, spawns=s.inst.spawns + 1)
    return True


def _spawn_failure(s: Step, e: SpawnFailed) -> bool:
    """Record a failed spawn as status code<<8; False if a Spawned already answered it."""
    if s.inst.pid is not None:
        s.emit("warn", f"ignoring SpawnFailed: pid {s.inst.pid} is alive")
        return False
    s.set(last_status=(e.code & 0xFF) << 8, pid=None, pgid=None)
    s.emit("error", f"cannot start: {e.reason} (code {e.code})")
    return True


def _main_pid_died(s: Step, e: Exited) -> bool:
    """The one log line of a death (issue 7); False for a pid that is not the main one."""
    if e.pid != s.inst.pid:
        s.emit("warn", f"ignoring Exited({e.pid}): main pid is {s.inst.pid}")
        return False
    s.set(pid=None, last_status=e.status, ready=False)
    return True


def _died(s: Step, e: Exited, failed_start: bool) -> None:
    """An unasked death: log it once, decide by policy, stop the rest of the group first."""
    if not _main_pid_died(s, e):
        return
    unexpected = failed_start or exit_code(e.status) not in s.inst.program.exit_codes
    late = " before start_seconds" if failed_start else ""
    s.emit("warn" if unexpected else "info", f"pid {e.pid} {describe(e.status)}{late}")
    restart = policy.should_restart(s.inst.program, e.status, s.inst.stop_requested)
    cleanup(s, next_target(s, restart, failed_start))


def _died_while_stopping(s: Step, e: Exited, on_request: bool) -> None:
    if not _main_pid_died(s, e):
        return
    s.set(exit_on_stop=on_request)
    s.emit("info", f"pid {e.pid} {describe(e.status)}; waiting for the rest of its group")


def _group_gone(s: Step) -> bool:
    if s.inst.pid is not None:
        s.emit("warn", f"ignoring GroupGone: main pid {s.inst.pid} has not exited")
        return False
    return True


def _mark_ready(s: Step) -> bool:
    """Readiness proves a start better than a timer: systemd Type=notify is up at READY=1."""
    if s.inst.pid is None:  # nothing spawned yet: an answer from a previous life's probe
        s.emit("debug", "ignoring readiness: no process yet")
        return False
    if s.inst.ready:
        return False
    s.stop_probe()
    s.disarm(READY)
    s.set(ready=True)
    s.actions.append(Verdict("ready", True))
    return True


# --- process facts ------------------------------------------------------------------------------


def spawned(s: Step, ev: Event) -> None:
    if not _take_pid(s, cast(Spawned, ev)):
        return
    prog = s.inst.program
    s.emit("debug", f"spawned pid {s.inst.pid}")
    if prog.ready.kind is not ReadyKind.STARTED:
        s.start_probe()
        s.arm(READY, prog.ready.timeout)
    if prog.start_seconds <= 0:
        _become_running(s)
    else:
        s.arm(START, prog.start_seconds)


def spawned_while_stopping(s: Step, ev: Event) -> None:
    """A stop arrived while the spawn was in flight: signal the new process now."""
    if _take_pid(s, cast(Spawned, ev)):
        s.signal_group()


def spawn_failed(s: Step, ev: Event) -> None:
    if _spawn_failure(s, cast(SpawnFailed, ev)):
        status = s.inst.last_status or 0
        restart = policy.should_restart(s.inst.program, status, s.inst.stop_requested)
        cleanup(s, next_target(s, restart, failed_start=True))


def spawn_failed_while_stopping(s: Step, ev: Event) -> None:
    if _spawn_failure(s, cast(SpawnFailed, ev)):
        s.set(state=State.STOPPED)


def exited_starting(s: Step, ev: Event) -> None:
    _died(s, cast(Exited, ev), failed_start=True)


def exited_running(s: Step, ev: Event) -> None:
    _died(s, cast(Exited, ev), failed_start=False)


def exited_stopping(s: Step, ev: Event) -> None:
    _died_while_stopping(s, cast(Exited, ev), on_request=True)


def exited_cleanup(s: Step, ev: Event) -> None:
    """The main pid outlived a ready timeout's CLEANUP: its death is not a stop we asked for."""
    _died_while_stopping(s, cast(Exited, ev), on_request=False)


def stopped(s: Step, _ev: Event) -> None:
    if _group_gone(s):
        s.disarm(STOP)
        s.set(state=State.STOPPED, pgid=None)
        s.emit("info", "stopped")


def cleaned_up(s: Step, _ev: Event) -> None:
    if _group_gone(s):
        _finish_cleanup(s)


def ready_starting(s: Step, _ev: Event) -> None:
    if _mark_ready(s):
        _become_running(s)


def ready_running(s: Step, _ev: Event) -> None:
    if _mark_ready(s):
        s.emit("info", "ready")


# --- timeouts (step drops one the instance did not arm, and takes it off ``timers``) -----------


def start_timeout(s: Step, _ev: Event) -> None:
    _become_running(s)


def ready_timeout(s: Step, _ev: Event) -> None:
    s.actions.append(Verdict("ready", False, f"not ready after {s.inst.program.ready.timeout:g}s"))
    s.emit("error", f"not ready after {s.inst.program.ready.timeout:g}s: counted as a failed start")
    never = s.inst.program.restart is Restart.NEVER
    cleanup(s, State.FATAL if never else next_target(s, restart=True, failed_start=True))


def stop_timeout(s: Step, _ev: Event) -> None:
    if s.inst.pgid is not None:
        s.emit("warn", f"still alive {s.inst.program.stop_timeout:g}s after the stop signal; KILL")
        s.actions.append(KillGroup(s.inst.pgid))


def backoff_done(s: Step, _ev: Event) -> None:
    if s.inst.held:
        wait_held(s)
    else:
        spawn(s)


def spawn_restart(s: Step) -> None:
    """A held restart let go (model/release.py): the spawn its BACKOFF was waiting for, and
    its ``Restarting`` record (one held from the start was not recorded until now; one whose
    backoff delay ran first was recorded with that delay, and this says when it went)."""
    s.actions.append(Restarting(s.inst.restart_reason or "exited", 0.0, s.inst.attempts))
    spawn(s)


def wait_held(s: Step) -> None:
    """Issue 9: the restart waits in BACKOFF, no timer, for ``Released`` (model/release.py)."""
    s.emit("info", "restart waits for the programs bound to it to stop")
    s.set(state=State.BACKOFF)
