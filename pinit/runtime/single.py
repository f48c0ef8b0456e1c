"""`pinit -- CMD ARGS`: one child, tini-style, with a clean shutdown tini does not do.

The child gets its own process group in pinit's session (not its own session, so it keeps the
controlling terminal), and with a tty on stdin the terminal's foreground: `docker run -it`
job control and Ctrl-C then reach the program, not pinit. Every forwardable signal goes to the
child's whole group, as `tini -g` does (tini PR #15/#16: Ctrl-C on `sh -c 'sleep 10'` did
nothing when only sh got SIGINT); `--no-group` sends it to the child alone.

When the main child exits, what it left behind (its group, daemons that setsid'd away,
orphans we adopted) gets SIGTERM, then SIGKILL after the grace period, and pinit exits with
the child's status only when it has no child left.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from pinit.notify.client import Upstream, base_environment
from pinit.runtime import pid1, reaper, signals, watchdog
from pinit.runtime.log import say
from pinit.runtime.loop import Loop
from pinit.runtime.spawn import SpawnError, SpawnSpec, spawn
from pinit.runtime.sweep import Sweep

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SIGCHLD = int(signal.SIGCHLD)  # a plain int: comparing with the enum costs an __eq__ call


class SingleChild:
    def __init__(
        self, argv: Sequence[str], *, grace: float, group: bool = True, verbose: bool = False
    ) -> None:
        self._argv = tuple(argv)
        self._group = group
        self._verbose = verbose
        self._loop = Loop()
        self._sweep = Sweep(self._loop, grace, self._debug, self._loop.stop)
        self._pid = 0
        self._code: int | None = None
        self._upstream = Upstream(os.environ)

    def _debug(self, message: str) -> None:
        if self._verbose:
            say(message)

    def run(self) -> int:
        signals.ignore_job_control()
        self._loop.watch_signals(signals.watched(), self._on_signals)
        pid1.become_subreaper(say)
        spec = SpawnSpec(
            self._argv,
            # Under systemd pinit speaks for the service; the child must not reach its socket.
            env=base_environment(os.environ) if self._upstream.enabled else None,
            tty_foreground=pid1.stdin_is_tty(),
            close_fds=False,  # as tini: fds pinit inherited (socket activation) are CMD's
        )
        try:
            self._pid = spawn(spec)
        except SpawnError as exc:
            say(exc.message)
            self._code = exc.code
            self._pid = exc.pid
            self._sweep.start()
        else:
            self._debug(f"started {self._argv[0]!r} as pid {self._pid}")
            if self._group:  # the loop kills the group itself, the latency path (issue 7)
                told = self._forwarded if self._verbose else None  # None: the tight wait
                self._loop.forward_directly(self._pid, (SIGCHLD,), told)
            self._upstream.ready(f"running {self._argv[0]}")
        watchdog.start(self._loop, self._upstream, lambda: self._code is None)
        self._reap()  # a child that died before the handlers ran still raised SIGCHLD
        if not self._sweep.done:
            self._loop.run()
        self._loop.close()
        self._upstream.close()
        return self._code if self._code is not None else 1

    def _on_signals(self, signums: list[int]) -> None:
        for signum in dict.fromkeys(signums):  # collapse repeats, keep order
            if signum == SIGCHLD:
                self._reap()
            elif self._code is None:
                self._forward(signum)
            elif signum in STOP_SIGNALS:
                self._sweep.hurry()

    def _forward(self, signum: int) -> None:
        try:
            if self._group:
                os.killpg(self._pid, signum)
            else:
                os.kill(self._pid, signum)
        except ProcessLookupError:
            return
        self._forwarded(signum)

    def _forwarded(self, signum: int) -> None:
        if self._verbose:
            target = "process group" if self._group else "pid"
            say(f"forwarded {signals.name(signum)} to {target} {self._pid}")

    def _reap(self) -> None:
        for pid, status in reaper.drain():
            if pid == self._pid and self._code is None:
                self._loop.forward_directly(0)  # from now on TERM/INT hurry the sweep
                self._code = signals.exit_code(status)
                self._debug(f"main process {pid} ended: {signals.describe_status(status)}")
                self._upstream.stopping(f"main process {signals.describe_status(status)}")
                self._sweep.start(groups=[pid] if self._group else [])
            else:
                self._debug(f"reaped pid {pid}: {signals.describe_status(status)}")
        self._sweep.check()
