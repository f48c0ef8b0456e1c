"""The one signal path to an instance, and the moment nothing of its group is left.

Every signal pinit sends to a supervised program comes through ``Groups.signal``: a stop
signal, the KILL after ``stop_timeout``, a second Ctrl-C, and `pinit ctl signal` (issue 7: the
operator used to call ``os.killpg`` itself and missed members that had left the group). It goes
to the process group, then to every process that left the group (setsid) but carries the
instance's ``PINIT_INSTANCE`` tag (``pid1.ProcTable``).

After an instance's main pid is reaped, ``GroupGone`` is posted once nothing of that group or
tag is left (systemd's ``KillMode=control-group``). A member that is not pinit's child dies
without a SIGCHLD for us, so after a KILL a bounded re-check (``GONE_RECHECK``) is the only
polling pinit does, and only in that state.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping

from pinit.model.events import Event, GroupGone
from pinit.model.instance import Instance, Key
from pinit.runtime import pid1, procspec, signals
from pinit.runtime.loop import Loop, Timer
from pinit.runtime.report import ShutdownReport

__all__ = ["GONE_RECHECK", "Groups"]

GONE_RECHECK = 0.05


class Groups:
    def __init__(
        self,
        loop: Loop,
        instances: Callable[[], Mapping[Key, Instance]],
        name: Callable[[Key], str],
        post: Callable[[Key, Event], None],
        report: ShutdownReport,
    ) -> None:
        self._loop = loop
        self._instances = instances
        self._name = name
        self._post = post
        self._report = report
        self.awaiting: dict[Key, int] = {}  # instance -> pgid whose main pid is gone
        self._recheck: Timer | None = None
        self._procs = pid1.ProcTable()
        self._pgids: set[int] | None = None

    def fresh_view(self) -> None:
        """Forget the /proc snapshot and the group set: processes may have changed since."""
        self._procs.invalidate()
        self._pgids = None

    def signal(self, key: Key, pgid: int, sig: int, *, stop: bool = True) -> bool:
        """True if some process received it."""
        reached = pid1.kill_group(pgid, sig)
        # The group has it already: a second copy to each member would reach a program whose
        # handler ran the first (not pending, so not merged) as a second stop, the "force quit
        # now" of many servers. Only those that left the group get their own.
        for pid in self._members(key, pgid) - self._procs.in_group(pgid):
            reached = pid1.kill_pid(pid, sig) or reached
        if reached and stop and sig != signal.SIGKILL:
            # Only a signal something received is a stop worth reporting: the cleanup signal
            # to the empty group of a program that exited by itself is not.
            self._report.signalled(self._name(key), signals.name(sig))
        self.check()
        return reached

    def kill(self, key: Key, pgid: int) -> None:
        self.signal(key, pgid, signal.SIGKILL)
        self._report.killed(self._name(key))
        self._arm_recheck()

    def await_gone(self, key: Key, pgid: int) -> None:
        """The main pid was reaped: post GroupGone once the rest of the group is gone too."""
        self.awaiting[key] = pgid

    def check(self) -> None:
        for key, pgid in list(self.awaiting.items()):
            if key not in self._instances():
                del self.awaiting[key]
            elif not self._members(key, pgid):
                del self.awaiting[key]
                self._report.stopped(self._name(key))
                self._post(key, GroupGone())

    def _members(self, key: Key, pgid: int) -> set[int]:
        if self._pgids is None:  # once per fresh view, not per call: stopping 500 is O(n)
            self._pgids = {i.pgid for i in self._instances().values() if i.pgid}
        return self._procs.members(pgid, procspec.tag_entry(self._name(key)), self._pgids)

    def _arm_recheck(self) -> None:
        if self._recheck is not None:
            return

        def again() -> None:
            self._recheck = None
            self.fresh_view()
            self.check()
            if self.awaiting:
                self._arm_recheck()

        self._recheck = self._loop.call_later(GONE_RECHECK, again)
