"""Carries out one instance's actions: spawn, signal, timers, readiness probes, log lines.

Split from the supervisor (which owns the event sources, the turn and the plan's actions) so
each stays readable: ``act`` is the runtime's half of the contract in ``model/events.py``. Every
result comes back as an event on the supervisor's queue (``post``), stepped after the turn,
never as a return value. Signals go through ``Groups``, the one signal path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pinit.logs.capture import LogRouter
from pinit.model.actions import (
    Action,
    Arm,
    Disarm,
    Emit,
    Extend,
    KillGroup,
    Restarting,
    SignalGroup,
    Spawn,
    StartProbe,
    StateChanged,
    StopProbe,
    TrackMain,
    Verdict,
)
from pinit.model.events import (
    Event,
    Exited,
    ReadyObserved,
    Spawned,
    SpawnFailed,
    State,
    TimerEvent,
)
from pinit.model.instance import Instance, Key
from pinit.runtime import procspec
from pinit.runtime.eventring import Recorder
from pinit.runtime.groups import Groups
from pinit.runtime.loop import Loop, Timer
from pinit.runtime.probes import Probe
from pinit.runtime.spawn import SpawnError, SpawnSpec, spawn

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import
if TYPE_CHECKING:
    from pinit.runtime.liveness import LiveProbes

__all__ = ["InstanceActions"]


class InstanceActions:
    def __init__(
        self,
        loop: Loop,
        *,
        instances: Callable[[], Mapping[Key, Instance]],
        name: Callable[[Key], str],
        post: Callable[[Key, Event], None],
        groups: Groups,
        logs: LogRouter,
        notify_address: Callable[[], str],
        base_env: dict[str, str],  # shared, not copied: the control socket's path joins it later
        emit: Callable[[Emit], None],
        record: Recorder,
        manager: Callable[[], str] = lambda: "pinit",  # [pinit] name, for titles (issue 9)
    ) -> None:
        self._loop = loop
        self._instances = instances
        self._name = name
        self._post = post
        self._groups = groups
        self._logs = logs
        self._notify_address = notify_address
        self._base_env = base_env
        self._emit = emit
        self._record = record
        self._manager = manager
        self._timers: dict[tuple[Key, TimerEvent], Timer] = {}
        self._probes: dict[Key, Probe] = {}
        self._live: LiveProbes | None = None  # issue 8: made at the first program with `live`
        self.mains: dict[int, Key] = {}  # main pid -> instance
        self.watchers: dict[int, Callable[[int], None]] = {}  # check-command pid -> callback

    def _say(self, level: str, message: str) -> None:
        self._emit(Emit(level, message))

    def act(self, key: Key, action: Action) -> None:
        if isinstance(action, Spawn):
            self.spawn(key)
        elif isinstance(action, SignalGroup):
            inst = self._instances().get(key)
            cleanup = inst is not None and inst.state is State.CLEANUP
            reason = ("cleanup" if cleanup else "stop") if action.stop else "operator"
            if self._groups.signal(key, action.pgid, action.sig, stop=action.stop):
                # only a signal something received is an event (the report's rule): not
                # the cleanup signal to the empty group of a program that just exited
                self._tell(key, "signal", signal=action.sig.name, reason=reason)
        elif isinstance(action, KillGroup):
            self._tell(key, "kill", signal="SIGKILL", reason="stop_timeout")
            self._groups.kill(key, action.pgid)
        elif isinstance(action, Arm):
            self._arm(key, action.timer, action.deadline)
        elif isinstance(action, Disarm):
            timer = self._timers.pop((key, action.timer), None)
            if timer is not None:
                timer.cancel()
        elif isinstance(action, StartProbe):
            self._start_probe(key)
        elif isinstance(action, StopProbe):
            probe = self._probes.pop(key, None)
            if probe is not None:
                probe.stop()
        elif isinstance(action, Emit):
            self._emit(action)
        elif isinstance(action, StateChanged):
            inst = self._instances().get(key)
            self._record.state(key, inst, self._name(key), action.old, action.new)
            self._emit(
                Emit("debug", f"{self._name(key)}: {action.old.value} -> {action.new.value}")
            )
            self._liveness(key, action)
        elif isinstance(action, Extend):  # issue 9: EXTEND_TIMEOUT_USEC=, never earlier
            pending = self._timers.get((key, action.timer))
            if pending is not None and pending.deadline < action.deadline:
                self._arm(key, action.timer, action.deadline)
        elif isinstance(action, TrackMain):  # issue 9: MAINPID=; pinit (subreaper) reaps it
            if action.old is not None and self.mains.get(action.old) == key:
                del self.mains[action.old]
            self.mains[action.new] = key
        elif isinstance(action, Restarting):  # issue 8: facts for the event stream
            self._record.restarting(key, self._instances().get(key), self._name(key), action)
        elif isinstance(action, Verdict):
            self._record.verdict(key, self._instances().get(key), self._name(key), action)

    def _tell(self, key: Key, kind: str, **fields: object) -> None:
        self._record.of(key, self._instances().get(key), self._name(key), kind, **fields)

    def _liveness(self, key: Key, change: StateChanged) -> None:
        """Issue 8: probe liveness while RUNNING, only for a program with ``live``."""
        if change.old is State.RUNNING and self._live is not None:
            self._live.stop(key)
        if change.new is State.RUNNING:
            inst = self._instances().get(key)
            live = inst.program.live if inst is not None else None
            if live is not None:
                if self._live is None:
                    from pinit.runtime.liveness import LiveProbes

                    self._live = LiveProbes(self._loop, self._post, self._run_check)
                self._live.start(key, live)

    def spawn(self, key: Key) -> None:
        inst = self._instances()[key]
        try:
            spec = procspec.build(
                inst.program,
                index=key[1],
                name=inst.name,
                base_env=self._base_env,
                notify_socket=self._notify_address() if procspec.uses_notify(inst.program) else "",
                stdio=self._logs.fds_for(inst.name, inst.program),
                title=self._manager() if inst.program.title else "",
            )
            pid = spawn(spec)
        except SpawnError as exc:
            self._spawn_failed(key, exc.message, exc.code)
            return
        except Exception as exc:  # issue 11.3: any error at all is a failed start
            # LookupError (user gone), OSError (EMFILE), ValueError ("embedded null byte"),
            # TypeError...: whatever the type, the Spawn must be answered, or the instance
            # waits in STARTING forever and its dependents and a shutdown wait with it.
            self._spawn_failed(key, f"{type(exc).__name__}: {exc}", 126)
            return
        self.mains[pid] = key
        self._tell(key, "spawn", pid=pid)
        self._say("info", f"{self._name(key)}: started pid {pid}: {' '.join(spec.argv)}")
        self._post(key, Spawned(pid, pid))

    def _spawn_failed(self, key: Key, reason: str, code: int) -> None:
        self._tell(key, "spawn_failed", reason=reason, code=code)
        self._post(key, SpawnFailed(reason, code))

    def reaped(self, pid: int, status: int) -> bool:
        """A reaped pid to its owner: an instance's main (its last lines before the news of
        its death, then the Exited the model logs once), or a check command's callback.
        False: an orphan, someone else's child reparented to pinit."""
        key = self.mains.pop(pid, None)
        inst = self._instances().get(key) if key is not None else None
        if key is not None and inst is not None:
            self._logs.exited(inst.name)
            self._record.exited(key, inst, inst.name, pid, status)
            self._post(key, Exited(pid, status))
            if inst.pgid is not None:
                self._groups.await_gone(key, inst.pgid)
            return True
        watcher = self.watchers.pop(pid, None)
        if watcher is None:
            return False
        watcher(status)
        return True

    def _arm(self, key: Key, timeout: TimerEvent, deadline: float) -> None:
        old = self._timers.pop((key, timeout), None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop((key, timeout), None)
            self._post(key, timeout)

        self._timers[(key, timeout)] = self._loop.call_at(deadline, fire)

    def _start_probe(self, key: Key) -> None:
        def ready() -> None:
            self._probes.pop(key, None)
            self._post(key, ReadyObserved())

        probe = Probe(self._loop, self._instances()[key].program.ready, ready, self._run_check)
        self._probes[key] = probe
        probe.start()

    def _run_check(self, argv: tuple[str, ...], done: Callable[[int], None]) -> int | None:
        try:
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            self._say("debug", f"probe command: {exc}")
            return None
        try:
            pid = spawn(
                SpawnSpec(
                    argv,
                    new_session=True,
                    stdin=null,
                    stdout=null,
                    stderr=null,
                    env=self._base_env,
                )
            )
        except SpawnError as exc:
            self._say("debug", f"probe command: {exc.message}")
            return None
        except OSError as exc:  # EMFILE, EAGAIN: this attempt fails, the probe retries
            self._say("debug", f"probe command: {exc}")
            return None
        finally:
            os.close(null)
        self.watchers[pid] = done
        return pid
