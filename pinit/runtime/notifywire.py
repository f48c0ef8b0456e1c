"""The notify socket's wiring: bound at the first spawn of a program that uses it (issue 9).

Most configs have no such program, and `socket` (with `selectors`) is off PID 1's start path
then (issue 7, speed): the supervisor imports this module only when a spawn asks for the
address. Failing to bind is a warning, said once; such programs start without the socket, and
it is not tried again. Split from the supervisor so that it reads as one turn; it gets what it
needs (the main pids, the instances, `post`) and no back-reference to the supervisor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pinit.model.events import Event
from pinit.model.instance import Instance, Key
from pinit.notify.server import NotifyServer
from pinit.runtime.inbox import Inbox

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.notify.server import NotifyReactor

__all__ = ["NotifyWire"]


class NotifyWire:
    def __init__(
        self,
        loop: NotifyReactor,
        mains: Mapping[int, Key],  # main pid -> instance, kept up to date by the actions
        instances: Callable[[], Mapping[Key, Instance]],
        post: Callable[[Key, Event], None],
        *,
        say: Callable[[str], None],
        debug: Callable[[str], None],
    ) -> None:
        self._mains = mains
        self._instances = instances
        self.inbox = Inbox(self._owner, instances, post, debug)  # messages -> events
        self.server: NotifyServer | None = None
        try:
            self.server = NotifyServer(loop, self.inbox.message, accept=self._accepts, debug=debug)
        except OSError as exc:
            say(f"warning: no notify socket for programs ({exc})")

    @property
    def address(self) -> str:
        return self.server.address if self.server is not None else ""

    def drain(self) -> None:
        """Issue 9: MAINPID=/READY=1 sent before a death are read before the death."""
        if self.server is not None:
            self.server.drain()

    def counters(self) -> dict[str, int]:
        """Issue 9: notify datagrams dropped, for `ctl status --json` (empty: no socket)."""
        if self.server is None:
            return {}
        return {
            "refused": self.server.refused,
            "oversized": self.server.oversized,
            "malformed": self.inbox.malformed,
        }

    def close(self) -> None:
        if self.server is not None:
            self.server.close()

    def _owner(self, pid: int) -> Key | None:
        key = self._mains.get(pid)
        return key if key is not None else self._owner_by_group(pid)

    def _accepts(self, pid: int, uid: int) -> bool:
        """Issue 11.12: only a program's processes may speak on the notify socket (a main
        pid, or a process in an instance's group), checked before the datagram is parsed."""
        return pid in self._mains or self._owner_by_group(pid) is not None

    def _owner_by_group(self, pid: int) -> Key | None:
        try:
            pgid = os.getpgid(pid)
        except OSError:
            return None
        for key, inst in self._instances().items():
            if inst.pgid == pgid:
                return key
        return None
