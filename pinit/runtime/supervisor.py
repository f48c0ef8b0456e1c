"""`pinit --config FILE`: routes every event to the pure model and carries out its actions.

The split follows gunicorn's arbiter vocabulary (spawn, reap, murder) and s6's supervise loop
(no polling: deadlines and one state-by-event table). Everything with a decision in it lives
in `pinit.model`; this module only turns fds, signals and deadlines into events, and actions
into syscalls.

One turn (gunicorn's arbiter): the loop's callbacks (signals, reaps, timers, probes, notify
datagrams, `pinit ctl` requests) only post events on a queue; the loop's after-turn hook
(`_end_turn`) steps them through the model, once per turn, and carries out the actions. Events
raised while acting (a spawn that failed, a group already empty) join the same queue, so a step
never runs inside another step.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from pinit.config.schema import Config
from pinit.control import paths
from pinit.logs.capture import LogRouter
from pinit.model import plan as planner
from pinit.model import policy, shutdown
from pinit.model import reload as reloader
from pinit.model import state as model
from pinit.model.actions import Emit, ReloadDiff
from pinit.model.events import Event, StartRequested, StopRequested
from pinit.model.instance import Key
from pinit.notify.client import Upstream
from pinit.runtime import log, pid1, procspec, signals, watchdog
from pinit.runtime.actions import InstanceActions
from pinit.runtime.eventring import EventRing, Recorder
from pinit.runtime.groups import Groups
from pinit.runtime.log import report_exception, say
from pinit.runtime.loop import Loop
from pinit.runtime.onsignal import SignalHandling
from pinit.runtime.report import ShutdownReport
from pinit.runtime.sweep import KILL_WAIT, Sweep

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.httpserve import HttpServer
    from pinit.runtime.limits import Limits
    from pinit.runtime.notifywire import NotifyWire
    from pinit.runtime.operator import Operator

PlanResult = tuple[planner.Plan, tuple[planner.PlanAction, ...]]


class _Jitter:
    """A `random.Random` made at the first backoff jitter: `random` (with hashlib's sha512)
    is off PID 1's start path, which needs no random number (issue 7, speed)."""

    def __init__(self) -> None:
        self._rng: policy.Rng | None = None

    def uniform(self, a: float, b: float, /) -> float:
        if self._rng is None:
            import random

            self._rng = random.Random()
        return self._rng.uniform(a, b)


class Supervisor(SignalHandling):
    def __init__(
        self,
        config: Config,
        environ: Mapping[str, str],
        *,
        verbose: bool = False,
        command: Sequence[str] = (),
    ) -> None:
        self._config = config
        self._command = tuple(command)  # `pinit --config FILE -- CMD`: re-added on reload
        self._environ = dict(environ)
        self._base_env = procspec.base_environment(environ)
        self._verbose = verbose
        self._loop = Loop()
        self._rng = _Jitter()
        self._plan = planner.initial(config)
        self._queue: deque[tuple[Key, Event]] = deque()
        self._after_drain: list[Callable[[], None]] = []  # `ctl` replies, once stepped
        self._viewed = False  # a fresh /proc view was taken by this turn's signal batch
        self._notify: NotifyWire | None = None  # issue 9: at the first spawn that uses it
        self._limits: Limits | None = None  # issue 9: max_memory / max_lifetime, if set
        self._report = ShutdownReport()
        self.events = EventRing()  # issue 8: what `ctl events`, GET /events and JSON logs read
        self._record = Recorder(self.events)
        self._groups = Groups(
            self._loop, lambda: self._plan.instances, self._name, self._post, self._report
        )
        if config.log_format == "json":  # issue 8: before the first line of the run
            log.use_json()
        self._logs = LogRouter(self._loop, self._say, log_format=config.log_format)
        self._actions = InstanceActions(
            self._loop,
            instances=lambda: self._plan.instances,
            name=self._name,
            post=self._post,
            groups=self._groups,
            logs=self._logs,
            notify_address=self._notify_address,
            base_env=self._base_env,
            emit=self._emit,
            record=self._record,
            manager=lambda: self._config.name,
        )
        self._sweep = Sweep(self._loop, config.stop_timeout, self._info, self._loop.stop)
        self._exit_code: int | None = None
        self._upstream = Upstream(environ)
        self._gone: dict[Key, str] = {}  # names of instances a reload removed
        self._operator: Operator | None = None  # `pinit ctl` requests, once the boot spawned
        self._lock: int | None = None  # issue 9: held (never closed) while pinit runs
        self._http: HttpServer | None = None  # issue 8: [pinit] http, opened like the control
        self.orphans_reaped = self.signals_forwarded = 0  # issue 8: counters for /metrics

    # -- logging -----------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        say(message)

    def _info(self, message: str) -> None:
        say(message)

    def _debug(self, message: str) -> None:
        if self._verbose:
            self._say(message)

    # -- start -------------------------------------------------------------------------------
    def run(self) -> int:
        control = self._export_control()
        try:
            self._lock = paths.claim(control)  # issue 9: one pinit per config, before any spawn
        except paths.AlreadyRunningError as held:
            self._say(paths.refusal(control, self._config.name, held))
            self._loop.close()
            return 1
        signals.ignore_job_control()
        self._loop.watch_signals(signals.watched(), self._on_signals)
        pid1.become_subreaper(say)
        pid1.cloexec_inherited_fds()
        if self._config.log_dir:
            try:
                os.makedirs(self._config.log_dir, exist_ok=True)
            except OSError as exc:
                self._say(f"warning: cannot create log_dir {self._config.log_dir}: {exc}")
        watchdog.start(self._loop, self._upstream, lambda: self._exit_code is None)
        self._upstream.send(STATUS="starting programs")
        self._configure_limits(self._config)
        self._apply(self._plan_step(planner.boot(self._plan)))
        self._loop.after_turn(self._end_turn)
        self._first_turn()
        self._open_endpoints(control)
        if not self._sweep.done:
            self._loop.run()
        from pinit.runtime.ending import wind_up

        code = self._exit_code if self._exit_code is not None else 1
        strays = self._sweep.report.strays
        closing = (self._http, self._operator, self._logs)
        wind_up(code, self._report, strays, self._record, self._say, closing, self._notify)
        self._upstream.close()
        self._loop.close()
        return code

    def _export_control(self) -> str:
        """The control socket's path, in the programs' environment before the first spawn
        (a program may `pinit ctl` its own supervisor); the socket itself is bound right after
        the boot's spawns, in the same turn (`_open_endpoints`)."""
        path = paths.server_path(self._config.control_socket, self._config.name, self._environ)
        self._base_env[paths.ENV] = path  # replaces an outer pinit's, never ours to hand down
        return path

    def _first_turn(self) -> None:
        """Step the boot's starts now: the first programs are spawned before the control
        socket is bound and its modules imported, work no program waits for (issue 7,
        speed: launch until the first program runs). A `pinit ctl` in this window waits in
        the kernel's queue or retries, as it does while PID 1 is busy with any turn."""
        try:
            self._end_turn()
        except Exception as exc:  # as the loop's own guard around the hook would
            report_exception(exc)

    def _open_endpoints(self, control: str) -> None:
        from pinit.runtime.endpoints import open_endpoints

        self._operator, self._http = open_endpoints(
            self._loop,
            control,
            self._base_env,
            self._config.http,
            self._say,
            plan=lambda: self._plan,
            post=self._post,
            after_turn=self._after_drain.append,
            reload=self._reload,
            change=self._change,
            notify_counters=self.notify_counters,
            counts=lambda: (self.orphans_reaped, self.signals_forwarded),
            events=self.events,
            logs=self._logs,
        )

    # -- the event queue ---------------------------------------------------------------------
    def _post(self, key: Key, event: Event) -> None:
        self._queue.append((key, event))

    def _end_turn(self) -> None:
        """The loop's after-turn hook: step every queued event, then answer `ctl` requests.

        Starts from a fresh look at /proc (taken lazily, once, if needed): between two turns
        processes may have forked, exited or left their group."""
        if not self._queue and not self._after_drain:
            self._viewed = False
            return
        if not self._viewed:  # a signal batch of this same turn already took a fresh one
            self._groups.fresh_view()
        self._viewed = False
        while self._queue or self._after_drain:
            self._drain_queue()
            replies = self._after_drain[:]
            self._after_drain.clear()  # in place: the operator's Host holds its append
            for reply in replies:
                try:
                    reply()
                except Exception as exc:
                    report_exception(exc)

    def _drain_queue(self) -> None:
        while self._queue:
            key, event = self._queue.popleft()
            inst = self._plan.instances.get(key)
            if inst is None:
                continue  # removed by a reload while the event was queued
            new, actions = model.step(inst, event, time.monotonic(), self._rng)
            container: tuple[planner.PlanAction, ...] = ()
            if new != inst:
                if self._limits is not None and new.program.max_lifetime:
                    self._limits.changed(key, new)
                container = self._plan_step(planner.on_instance_change(self._plan, key, new))
                now = self._plan.instances.get(key)
                if now is None:  # a reload retired it once it was down
                    self._gone[key] = inst.name  # its step's own actions still name it
                    self._logs.forget(inst.name)
                elif now is not new and now.name != inst.name:  # replaced under a new name
                    self._logs.forget(inst.name)  # (numprocs crossed 1: web -> web-1)
            for action in actions:
                try:
                    self._actions.act(key, action)
                except Exception as exc:  # one failed action must not drop the step's rest
                    report_exception(exc)
            self._apply(container)

    def _plan_step(self, result: PlanResult) -> tuple[planner.PlanAction, ...]:
        self._plan, actions = result
        return actions

    def _apply(self, actions: tuple[planner.PlanAction, ...]) -> None:
        for action in actions:
            if isinstance(action, planner.StartInstance):
                self._post(action.key, StartRequested())
            elif isinstance(action, planner.StopInstance):
                self._post(action.key, StopRequested())
            elif isinstance(action, planner.Deliver):  # issue 9: binds_to
                self._post(action.key, action.event)
            elif isinstance(action, planner.ExitContainer):
                self._finish(action.code)
            elif isinstance(action, planner.PhaseChanged):
                self._record.phase(action.old.value, action.new.value, self._plan.reason)
                self._debug(f"phase {action.old.value} -> {action.new.value}")
                self._tell_upstream(action.new)
            elif isinstance(action, Emit):
                self._emit(action)
            elif isinstance(action, planner.KillInstances):
                self._kill_instances(action.keys, action.reason)
            elif isinstance(action, planner.ArmStopBudget):
                self._arm_budget(action.seconds)
            elif isinstance(action, ReloadDiff):
                self._record.reload(action)

    def _kill_instances(self, keys: tuple[Key, ...], reason: str) -> None:
        from pinit.runtime.ending import kill

        stuck = kill(keys, reason, self._plan.instances, self._record, self._groups, say=self._say)
        if stuck:
            # Not down and no process to kill: pinit ends without them (issue 11.3).
            self._force_exit(f"{', '.join(stuck)} never got a process")
        else:
            # SIGKILL cannot be refused, but a process in D state can take its time to die:
            # this still ends pinit within a bounded wait.
            self._loop.call_later(KILL_WAIT, lambda: self._force_exit("still not down"))

    def _force_exit(self, why: str) -> None:
        if self._exit_code is not None:
            return
        self._say(f"warning: {why} after SIGKILL: exiting without them")
        self._finish(shutdown.exit_code_now(self._plan) or 1)

    def _arm_budget(self, seconds: float) -> None:
        def spent() -> None:
            reason = f"stop budget of {seconds:g}s spent"
            self._report.budget_spent(reason)
            self._apply(self._plan_step(shutdown.stop_now(self._plan, reason)))
            self._sweep.hurry()  # the final sweep's grace, if under way, is bounded too

        self._loop.call_later(seconds, spent)  # not cancelled: it bounds the final sweep too

    def _tell_upstream(self, phase: planner.Phase) -> None:
        """systemd learns "ready" when every program pinit was asked to start is ready."""
        running = sum(1 for inst in self._plan.instances.values() if inst.pid is not None)
        if phase is planner.Phase.RUNNING:
            self._upstream.ready(f"{running} processes running")
        elif phase is planner.Phase.SHUTTING_DOWN:
            self._upstream.stopping(f"stopping: {self._plan.reason}")

    def _emit(self, action: Emit) -> None:
        if action.level == "debug":
            self._debug(action.message)
        else:
            prefix = "" if action.level == "info" else f"{action.level}: "
            self._say(prefix + action.message)

    def _name(self, key: Key) -> str:
        inst = self._plan.instances.get(key)
        return inst.name if inst is not None else self._gone[key]

    def _reload(self) -> list[str]:
        """HUP and `ctl reload`; returns a refused config's errors (the caller may show them)."""
        from pinit.runtime import reloading

        config = reloading.load(
            self._config,
            self._plan,
            self._environ,
            self._command,
            say=self._say,
            upstream=self._upstream,
        )
        if not isinstance(config, Config):
            return config
        self._config = config
        self._configure_limits(config)
        self._change(lambda plan: reloader.apply_reload(plan, config))
        if self._plan.phase is planner.Phase.RUNNING:
            # The diff is under way; systemd only needs to know the new config was taken.
            self._upstream.ready("reloaded")
        return []

    def _notify_address(self) -> str:
        """The notify socket's address ("" without one), bound at the first spawn of a
        program that uses it (`notifywire`: off PID 1's start path otherwise, issue 7)."""
        if self._notify is None:
            from pinit.runtime.notifywire import NotifyWire

            instances = lambda: self._plan.instances  # noqa: E731
            self._notify = NotifyWire(
                self._loop,
                self._actions.mains,
                instances,
                self._post,
                say=self._say,
                debug=self._debug,
            )
        return self._notify.address

    def _configure_limits(self, config: Config) -> None:
        """Issue 9: max_memory / max_lifetime, imported only once a program sets one."""
        if self._limits is None:
            if not any(p.max_memory > 0 or p.max_lifetime > 0 for p in config.programs):
                return
            from pinit.runtime import limits

            self._limits = limits.Limits(
                self._loop,
                instances=lambda: self._plan.instances,
                post=self._post,
                clock=time.monotonic,
                say=self._say,
            )
        self._limits.configure(config)

    def notify_counters(self) -> dict[str, int]:
        """Issue 9: notify datagrams dropped, for `ctl status --json` (empty: no socket)."""
        return self._notify.counters() if self._notify is not None else {}

    def _change(self, decide: Callable[[planner.Plan], PlanResult]) -> None:
        """A reload's diff, or (issue 9) a `ctl scale` / `ctl restart --rolling` decision."""
        before = {inst.name for inst in self._plan.instances.values()}
        self._apply(self._plan_step(decide(self._plan)))
        for name in before - {inst.name for inst in self._plan.instances.values()}:
            self._logs.forget(name)  # dropped at once: it was already down

    # -- the end -----------------------------------------------------------------------------
    def _finish(self, code: int) -> None:
        if self._exit_code is not None:
            return
        self._exit_code = code
        self._sweep.start()
        if self._report.budget_reason:
            self._sweep.hurry()  # the budget is spent: no grace for leftovers either
