"""The final sweep: nothing below pinit survives pinit.

tini exits as soon as its child is reaped and leaves the rest to the container runtime's
SIGKILL (tini #229, #236); dumb-init sends SIGTERM to the group and exits without waiting
(dumb-init #212), so `docker stop` reports success while crond is still shutting down; and a
process that left the group with setsid escapes both (dumb-init #191). pinit signals every
descendant it can find in /proc (as PID 1 that is the whole namespace), waits for them with
a deadline, then SIGKILLs what is left and waits until it has no child at all.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable

from pinit.runtime import pid1, reaper
from pinit.runtime.loop import Loop, Timer

Log = Callable[[str], None]

# After SIGKILL a process can only linger in uninterruptible sleep (D state, e.g. a dead NFS
# mount). Waiting forever there would hang the container's stop; this bounds it.
KILL_WAIT = 2.0


class SweepReport:
    """What the sweep found and did. Not a dataclass: see runtime/spawn.py on start time."""

    __slots__ = ("killed", "leftover", "seconds", "signalled", "strays")

    def __init__(self) -> None:
        self.signalled = 0
        self.killed = 0
        self.seconds = 0.0
        self.leftover: list[int] = []
        self.strays: list[tuple[int, str, str]] = []  # pid, command, instance tag


class Sweep:
    def __init__(self, loop: Loop, grace: float, log: Log, on_done: Callable[[], None]) -> None:
        self._loop = loop
        self._grace = grace
        self._log = log
        self._on_done = on_done
        self._timer: Timer | None = None
        self._started = 0.0
        self.active = False
        self.done = False
        self.report = SweepReport()

    def start(self, groups: Iterable[int] = (), sig: int = signal.SIGTERM) -> None:
        """Send `sig` to these process groups and to every descendant, then wait."""
        if self.active or self.done:
            return
        self.active = True
        self._started = time.monotonic()
        # Live ones only (issue 11.13): a zombie is a child that already died and waits for
        # the reap of the next SIGCHLD batch (a group member the KILL reached in the turn that
        # ended the shutdown), not a stray; it used to be reported as "origin unknown".
        pids = pid1.descendants(os.getpid(), live=True)
        targets = set(groups)
        for pgid in targets:
            pid1.kill_group(pgid, sig)
        for pid in pids:
            pid1.kill_pid(pid, sig)
        self.report.signalled = len(pids)
        described = [(pid, *pid1.describe(pid)) for pid in sorted(pids)]
        # An empty command line: it died (a zombie) between the two reads of /proc.
        self.report.strays = [entry for entry in described if entry[1] not in ("", "?")]
        if pids:
            self._log(f"sent {signal.Signals(sig).name} to {len(pids)} remaining process(es)")
        self._timer = self._loop.call_later(self._grace, self._kill_rest)
        self.check()

    def hurry(self) -> None:
        """A second stop request while sweeping: skip the rest of the grace period."""
        if self.active and self._timer is not None:
            self._timer.cancel()
            self._kill_rest()

    def _kill_rest(self) -> None:
        pids = pid1.descendants(os.getpid(), live=True)
        for pid in pids:
            pid1.kill_pid(pid, signal.SIGKILL)
        self.report.killed = len(pids)
        if pids:
            self._log(f"grace of {self._grace:g}s over: SIGKILL to {len(pids)} process(es)")
        self._timer = self._loop.call_later(KILL_WAIT, self._give_up)

    def _give_up(self) -> None:
        self.report.leftover = sorted(pid1.descendants(os.getpid(), live=True))
        self._log(f"processes still present after SIGKILL: {self.report.leftover}")
        self._finish()

    def check(self) -> None:
        """Call after every reap: the sweep ends when pinit has no child left."""
        if self.active and not reaper.has_children():
            self._finish()

    def _finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self.active = False
        self.done = True
        self.report.seconds = time.monotonic() - self._started
        self._on_done()
