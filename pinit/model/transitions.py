"""The handlers behind the cells of ``state.TRANSITIONS``.

Each handler gets a ``Step`` (the instance being rebuilt plus the actions so far) and the event
that its table cell is keyed by. Handlers never see an event type other than their cell's, which
is why a ``cast`` is honest here. They only ever build new values (``dataclasses.replace``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypedDict, Unpack, cast

from pinit.config.schema import ReadyKind, Restart
from pinit.model import policy
from pinit.model.events import (
    Action,
    Arm,
    Disarm,
    Emit,
    Event,
    Exited,
    KillGroup,
    SignalGroup,
    Spawn,
    Spawned,
    SpawnFailed,
    StartProbe,
    StopProbe,
    TimerFired,
)
from pinit.model.instance import Instance, State
from pinit.records import dataclass, field, replace

__all__ = ["Handler", "Step"]


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
    timers: frozenset[str]
    probing: bool


@dataclass(slots=True)
class Step:
    """Accumulates one step's result; keeps ``inst.timers``/``inst.probing`` true to the actions."""

    inst: Instance
    now: float
    rng: random.Random
    actions: list[Action] = field(default_factory=list)

    def set(self, **changes: Unpack[_Changes]) -> None:
        self.inst = replace(self.inst, **changes)

    def emit(self, level: str, message: str) -> None:
        self.actions.append(Emit(level, f"{self.inst.name}: {message}"))

    def arm(self, key: str, delay: float) -> None:
        self.actions.append(Arm(key, self.now + max(delay, 0.0)))
        self.set(timers=self.inst.timers | {key})

    def disarm(self, *keys: str) -> None:
        for key in keys:
            if key in self.inst.timers:
                self.actions.append(Disarm(key))
                self.set(timers=self.inst.timers - {key})

    def start_probe(self) -> None:
        if not self.inst.probing:
            self.actions.append(StartProbe())
            self.set(probing=True)

    def stop_probe(self) -> None:
        if self.inst.probing:
            self.actions.append(StopProbe())
            self.set(probing=False)

    def signal_group(self) -> None:
        """Stop signal to the whole group, KILL after stop_timeout (``stop`` timer)."""
        prog = self.inst.program
        if self.inst.pgid is not None:
            self.actions.append(SignalGroup(self.inst.pgid, prog.stop_signal))
            self.arm("stop", prog.stop_timeout)


Handler = Callable[[Step, Event], None]


# --- shared moves -------------------------------------------------------------------------------


def _spawn(s: Step) -> None:
    # Never two live processes per instance: only spawn once the old group is gone.
    s.set(state=State.STARTING, pid=None, pgid=None, ready=False, started_at=None)
    s.set(exit_on_stop=False, after_cleanup=None)
    s.actions.append(Spawn(s.inst.program.name, s.inst.index))


def _become_running(s: Step) -> None:
    """Survived start_seconds or proved ready: supervisord resets the failed-start count here."""
    s.disarm("start")
    s.set(state=State.RUNNING, attempts=0)
    if s.inst.program.ready.kind is ReadyKind.STARTED:
        s.set(ready=True)
    s.emit("info", f"running (pid {s.inst.pid})" + (", ready" if s.inst.ready else ""))


def _enter(s: Step, target: State) -> None:
    """Go to where a death or failed spawn leads, once no process of the instance is left."""
    inst = s.inst
    if target is State.BACKOFF:
        delay = policy.backoff_delay(inst.program.backoff, inst.attempts, s.rng)
        if delay <= 0:
            s.emit("info", "restarting now")
            _spawn(s)
        else:
            s.emit("info", f"restarting in {delay:.3g}s (failed starts: {inst.attempts})")
            s.set(state=State.BACKOFF)
            s.arm("backoff", delay)
    elif target is State.STARTING:
        _spawn(s)
    else:
        if target is State.FATAL:
            s.emit("error", f"gave up after {inst.attempts} failed starts")
        s.set(state=target)


def _decide(s: Step, status: int, failed_start: bool) -> State:
    """Where a death leads: EXITED by policy, else BACKOFF, or FATAL past start_retries.

    Only failed starts count toward FATAL, as in supervisord (a program that ran for a day and
    crashed is restarted at once, with attempts back at 0). Two refinements: an exit the policy
    would not restart (``restart=never``, or ``on-failure`` with a code in ``exit_codes``) is
    EXITED even inside start_seconds, so a quick one-shot job is not retried as supervisord
    would; and more than ``flap_max`` restarts inside ``flap_window`` count as failed starts
    (systemd's StartLimitBurst), so a program crashing every few seconds still ends FATAL.
    """
    inst = s.inst
    if not policy.should_restart(inst.program, status, inst.stop_requested):
        return State.STOPPED if inst.stop_requested else State.EXITED
    return _retry_or_give_up(s, failed_start)


def _retry_or_give_up(s: Step, failed_start: bool) -> State:
    inst, prog = s.inst, s.inst.program
    restarts = (*policy.prune_restarts(inst.restarts, s.now, prog.flap_window), s.now)
    attempts = inst.attempts + 1 if failed_start else inst.attempts
    if policy.is_flapping(restarts, s.now, prog.flap_window, prog.flap_max):
        attempts = max(attempts, len(restarts) - prog.flap_max)
        s.emit("warn", f"flapping: {len(restarts)} restarts within {prog.flap_window:g}s")
    s.set(restarts=restarts, attempts=attempts)
    return State.FATAL if attempts > prog.start_retries else State.BACKOFF


def _cleanup(s: Step, target: State) -> None:
    """KillMode=control-group: stop what is left of the group before going on to ``target``."""
    s.stop_probe()
    s.disarm("start", "ready")
    s.set(state=State.CLEANUP, after_cleanup=target, ready=False)
    s.signal_group()
    if s.inst.pgid is None:  # nothing was ever spawned: no group to wait for
        _finish_cleanup(s)


def _finish_cleanup(s: Step) -> None:
    target = s.inst.after_cleanup or State.EXITED
    s.disarm("stop")
    s.set(pgid=None, after_cleanup=None)
    _enter(s, target)


def _describe(status: int) -> str:
    code = policy.exit_code(status)
    return f"killed by signal {code - 128}" if code > 128 and status & 0x7F else f"exit {code}"


# --- handlers, by event -------------------------------------------------------------------------


def start(s: Step, _ev: Event) -> None:
    """A manual start forgets past failures (supervisord resets backoff on ``start``)."""
    s.disarm("backoff")
    s.set(attempts=0, restarts=(), stop_requested=False)
    _spawn(s)


def start_after_cleanup(s: Step, _ev: Event) -> None:
    s.set(attempts=0, restarts=(), stop_requested=False, after_cleanup=State.STARTING)


def stop(s: Step, _ev: Event) -> None:
    s.stop_probe()
    s.disarm("start", "ready")
    s.set(state=State.STOPPING, stop_requested=True, ready=False)
    s.emit("info", "stopping")
    s.signal_group()  # pid None (Spawn not yet answered): signal once Spawned arrives


def stop_backoff(s: Step, _ev: Event) -> None:
    s.disarm("backoff")
    s.set(state=State.STOPPED, stop_requested=True)


def stop_during_cleanup(s: Step, _ev: Event) -> None:
    s.set(stop_requested=True)
    if s.inst.after_cleanup in (State.BACKOFF, State.STARTING):
        s.set(after_cleanup=State.STOPPED)


def spawned(s: Step, ev: Event) -> None:
    e = cast(Spawned, ev)
    if s.inst.pid is not None:
        s.emit("warn", f"ignoring Spawned({e.pid}): pid {s.inst.pid} is still alive")
        return
    s.set(pid=e.pid, pgid=e.pgid, started_at=s.now)
    prog = s.inst.program
    if s.inst.state is State.STOPPING:  # a stop arrived while the spawn was in flight
        s.signal_group()
        return
    s.emit("debug", f"spawned pid {e.pid}")
    if prog.ready.kind is not ReadyKind.STARTED:
        s.start_probe()
        s.arm("ready", prog.ready.timeout)
    if prog.start_seconds <= 0:
        _become_running(s)
    else:
        s.arm("start", prog.start_seconds)


def spawn_failed(s: Step, ev: Event) -> None:
    e = cast(SpawnFailed, ev)
    if s.inst.pid is not None:  # answers a Spawn that was already answered by Spawned
        s.emit("warn", f"ignoring SpawnFailed: pid {s.inst.pid} is alive")
        return
    s.set(last_status=(e.code & 0xFF) << 8, pid=None, pgid=None)
    s.emit("error", f"cannot start: {e.reason} (code {e.code})")
    if s.inst.state is State.STOPPING:
        s.set(state=State.STOPPED)
        return
    _enter(s, _decide(s, (e.code & 0xFF) << 8, failed_start=True))


def exited(s: Step, ev: Event) -> None:
    e = cast(Exited, ev)
    inst = s.inst
    if e.pid != inst.pid:
        s.emit("warn", f"ignoring Exited({e.pid}): main pid is {inst.pid}")
        return
    s.set(pid=None, last_status=e.status, ready=False)
    if inst.state in (State.STOPPING, State.CLEANUP):
        s.set(exit_on_stop=inst.state is State.STOPPING)
        s.emit("info", f"{_describe(e.status)}; waiting for the rest of its group")
        return
    failed_start = inst.state is State.STARTING
    s.emit(
        "warn"
        if failed_start or policy.exit_code(e.status) not in inst.program.exit_codes
        else "info",
        f"{_describe(e.status)}" + (" before start_seconds" if failed_start else ""),
    )
    _cleanup(s, _decide(s, e.status, failed_start))


def group_gone(s: Step, _ev: Event) -> None:
    if s.inst.pid is not None:
        s.emit("warn", f"ignoring GroupGone: main pid {s.inst.pid} has not exited")
        return
    if s.inst.state is State.STOPPING:
        s.disarm("stop")
        s.set(state=State.STOPPED, pgid=None)
        s.emit("info", "stopped")
    else:
        _finish_cleanup(s)


def ready(s: Step, _ev: Event) -> None:
    """Readiness proves a start better than a timer: systemd Type=notify is up at READY=1."""
    if s.inst.pid is None:  # nothing spawned yet: an answer from a previous life's probe
        s.emit("debug", "ignoring readiness: no process yet")
        return
    if s.inst.ready:
        return
    s.stop_probe()
    s.disarm("ready")
    s.set(ready=True)
    if s.inst.state is State.STARTING:
        _become_running(s)
    else:
        s.emit("info", "ready")


def timer(s: Step, ev: Event) -> None:
    key = cast(TimerFired, ev).key
    if key not in s.inst.timers:
        s.emit("debug", f"stale timer {key!r} in {s.inst.state.value}")
        return
    s.set(timers=s.inst.timers - {key})
    state = s.inst.state
    if key == "start" and state is State.STARTING:
        _become_running(s)
    elif key == "ready" and state in (State.STARTING, State.RUNNING):
        timeout = s.inst.program.ready.timeout
        s.emit("error", f"not ready after {timeout:g}s: counted as a failed start")
        never = s.inst.program.restart is Restart.NEVER
        _cleanup(s, State.FATAL if never else _retry_or_give_up(s, failed_start=True))
    elif key == "stop" and state in (State.STOPPING, State.CLEANUP) and s.inst.pgid is not None:
        s.emit("warn", f"still alive {s.inst.program.stop_timeout:g}s after the stop signal; KILL")
        s.actions.append(KillGroup(s.inst.pgid))
    elif key == "backoff" and state is State.BACKOFF:
        _spawn(s)
    else:
        s.emit("debug", f"timer {key!r} has nothing to do in {state.value}")
