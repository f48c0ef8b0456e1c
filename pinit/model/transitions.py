"""The handlers behind the cells of ``state.TRANSITIONS``: one function per differing cell.

Each handler gets a ``Step`` (the instance being rebuilt plus the actions so far) and the event
its cell is keyed by; it never re-checks the state, because the table already chose it by state.
Cells that differ only in where they lead share a helper and pass the state (s6-supervise's
``up_z``/``lastup_z``), e.g. ``exited_starting``/``exited_running`` -> ``_died``. Handlers only
build new values (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict, Unpack, cast

from pinit.config.schema import ReadyKind, Restart
from pinit.model import policy
from pinit.model.actions import (
    Action,
    Arm,
    Disarm,
    Emit,
    KillGroup,
    Restarting,
    SignalGroup,
    Spawn,
    StartProbe,
    StopProbe,
    Verdict,
)
from pinit.model.events import (
    BackoffDone,
    Event,
    Exited,
    ReadyTimeout,
    RestartRequested,
    SignalRequested,
    Spawned,
    SpawnFailed,
    StartTimeout,
    State,
    StopTimeout,
    TimerEvent,
)
from pinit.model.instance import Instance
from pinit.model.status import describe, exit_code
from pinit.records import dataclass, field, replace

__all__ = ["Handler", "Step"]


if TYPE_CHECKING:  # a TypedDict's class body costs ~0.5 ms of PID 1's start (issue 7, speed)

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


# --- shared moves -------------------------------------------------------------------------------


def _spawn(s: Step) -> None:
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


def _next(s: Step, restart: bool, failed_start: bool) -> State:
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


def _cleanup(s: Step, target: State) -> None:
    """KillMode=control-group: stop what is left of the group before going on to ``target``."""
    s.stop_probe()
    s.disarm(START, READY)
    s.set(state=State.CLEANUP, after_cleanup=target, ready=False)
    s.signal_group()
    if s.inst.pgid is None:  # no process (a failed spawn): no group to wait for
        _finish_cleanup(s)


def _finish_cleanup(s: Step) -> None:
    """Nothing of the instance is left: go where its end leads (``after_cleanup``)."""
    inst = s.inst
    target = inst.after_cleanup or State.EXITED
    s.disarm(STOP)
    s.set(pgid=None, after_cleanup=None)
    if target is State.BACKOFF:
        delay = policy.backoff_delay(inst.program.backoff, inst.attempts, s.rng)
        s.actions.append(
            Restarting(inst.restart_reason or "exited", max(delay, 0.0), inst.attempts)
        )
        if delay <= 0 and inst.held:  # issue 9: a delay still runs; BackoffDone checks it
            wait_held(s)
        elif delay <= 0:
            s.emit("info", "restarting now")
            _spawn(s)
        else:
            s.emit("info", f"restarting in {delay:.3g}s (failed starts: {inst.attempts})")
            s.set(state=State.BACKOFF)
            s.arm(BACKOFF, delay)
    elif target is State.STARTING:
        _spawn(s)
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
    _cleanup(s, _next(s, restart, failed_start))


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


# --- requests -----------------------------------------------------------------------------------


def start(s: Step, _ev: Event) -> None:
    """A manual start forgets past failures (supervisord resets backoff on ``start``)."""
    s.disarm(BACKOFF)
    s.set(attempts=0, restarts=(), stop_requested=False)
    _spawn(s)


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
        _cleanup(s, _next(s, restart, failed_start=True))


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
    _cleanup(s, State.FATAL if never else _next(s, restart=True, failed_start=True))


def stop_timeout(s: Step, _ev: Event) -> None:
    if s.inst.pgid is not None:
        s.emit("warn", f"still alive {s.inst.program.stop_timeout:g}s after the stop signal; KILL")
        s.actions.append(KillGroup(s.inst.pgid))


def backoff_done(s: Step, _ev: Event) -> None:
    if s.inst.held:
        wait_held(s)
    else:
        _spawn(s)


def spawn_restart(s: Step) -> None:
    """A held restart let go (model/release.py): the spawn its BACKOFF was waiting for."""
    _spawn(s)


def wait_held(s: Step) -> None:
    """Issue 9: the restart waits in BACKOFF, no timer, for ``Released`` (model/release.py)."""
    s.emit("info", "restart waits for the programs bound to it to stop")
    s.set(state=State.BACKOFF)
