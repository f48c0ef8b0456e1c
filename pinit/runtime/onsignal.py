"""What `pinit --config` does with each signal (runtime.supervisor): reap, shut down, reload,
reopen the logs, or forward. Split from supervisor.py (issue 7: no module over ~400 lines)
along the line the loop draws: loopsignals.py gets signals into the loop, this decides what
each one means for the supervisor. ``Supervisor`` inherits it, so a signal's handling stays
one object's state, as a turn of the loop is.
"""

from __future__ import annotations

import signal

from pinit.model import plan as planner
from pinit.model import shutdown
from pinit.runtime import pid1, reaper, signals
from pinit.runtime.log import report_exception

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.config.schema import Config
    from pinit.logs.capture import LogRouter
    from pinit.model.instance import Key
    from pinit.runtime.actions import InstanceActions
    from pinit.runtime.groups import Groups
    from pinit.runtime.notifywire import NotifyWire
    from pinit.runtime.sweep import Sweep

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


class SignalHandling:
    """The signal side of ``Supervisor``."""

    if TYPE_CHECKING:  # the supervisor's own, used here
        _actions: InstanceActions
        _config: Config
        _exit_code: int | None
        _groups: Groups
        _logs: LogRouter
        _notify: NotifyWire | None
        _plan: planner.Plan
        _sweep: Sweep
        _viewed: bool
        orphans_reaped: int
        signals_forwarded: int

        def _apply(self, actions: tuple[planner.PlanAction, ...]) -> None: ...
        def _plan_step(
            self, result: tuple[planner.Plan, tuple[planner.PlanAction, ...]]
        ) -> tuple[planner.PlanAction, ...]: ...
        def _debug(self, message: str) -> None: ...
        def _info(self, message: str) -> None: ...
        def _name(self, key: Key) -> str: ...
        def _reload(self) -> list[str]: ...

    def _on_signals(self, signums: list[int]) -> None:
        """Each signal of a batch in isolation (issue 11.4): an exception while handling one
        (a reload that raised) is reported and never skips the others, above all a TERM."""
        self._groups.fresh_view()  # a snapshot from an earlier turn may name reused pids
        self._viewed = True  # ... and serves this turn's steps too: one /proc scan a restart
        for signum in dict.fromkeys(signums):
            try:
                self._on_signal(signum)
            except Exception as exc:
                report_exception(exc)

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            self._reap()
        elif signum in SHUTDOWN_SIGNALS:
            self._shutdown(f"received {signals.name(signum)}")
        elif signum == signal.SIGHUP:
            self._reload()
        elif signum == self._config.reopen_signal:  # issue 10: logrotate's postrotate
            self._logs.reopen(lambda done: self._debug(f"reopened {len(done)} log files"))
        else:
            self._forward(signum)

    def _reap(self) -> None:
        if self._notify is not None:
            try:  # issue 9: MAINPID=/READY=1 sent before a death go first
                self._notify.drain()
            except Exception as exc:  # a bad datagram must not cost this turn its reaping
                report_exception(exc)
        reaped = reaper.drain()
        if reaped:
            self._groups.fresh_view()  # taken after the reaping: no freed pid in it
        for pid, status in reaped:
            if not self._actions.reaped(pid, status):
                self.orphans_reaped += 1
                self._debug(f"reaped orphan {pid}: {signals.describe_status(status)}")
        self._groups.check()  # GroupGone queues behind the Exited it follows
        self._sweep.check()

    def _forward(self, signum: int) -> None:
        """Signals pinit has no meaning for go to every running program's group."""
        for key, inst in self._plan.instances.items():
            if inst.pgid is not None and pid1.kill_group(inst.pgid, signum):
                self.signals_forwarded += 1
                self._debug(f"forwarded {signals.name(signum)} to {self._name(key)}")

    def _shutdown(self, reason: str) -> None:
        """The first request stops in order; a second one (Ctrl-C twice, as with horust's
        second TERM) kills what is left at once instead of waiting out every stop_timeout."""
        if self._exit_code is not None:
            self._sweep.hurry()
            return
        if self._plan.phase is not planner.Phase.SHUTTING_DOWN:
            self._apply(self._plan_step(shutdown.begin_shutdown(self._plan, reason)))
            return
        self._info(f"{reason} again: SIGKILL to every program now")
        self._apply(self._plan_step(shutdown.stop_now(self._plan, f"{reason} again")))
