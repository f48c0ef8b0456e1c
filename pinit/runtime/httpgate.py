"""What the HTTP endpoint may take from PID 1 (issue 8): connections, and CPU time.

Split from ``httpserve``, which serves each client; this module decides when there is any
serving at all, as control/accept.py does for the control socket:

- ``Acceptor`` takes connections off the listening socket while ``httpserve`` has room (at
  most ``httpserve.MAX_CLIENTS``; at the cap the socket leaves the loop and new clients wait in
  the kernel's backlog). accept() failing for want of fds (EMFILE and friends, issue 11.2)
  leaves the connection queued and the socket readable: retrying at once would spin PID 1, so
  the socket rests, ``BACKOFF`` seconds doubling to ``BACKOFF_MAX``.
- ``Share``: the endpoint takes at most ``SHARE`` of one CPU over time (a credit of ``BURST``
  seconds, refilled at ``SHARE`` seconds per second): past it, every socket of the endpoint
  leaves the loop's wait until the credit is back (``Loop.hold``), and clients wait in the
  kernel's queues. Twenty clients scraping back to back would otherwise keep PID 1 busy for
  good and take the CPU from the programs it restarts (issue 8: a restart under scraping
  within 1.5x of a quiet one). Prometheus' one scrape per 15 s never comes near it. Within a
  turn, at most ``TURN_BUDGET`` requests are answered.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from pinit.control.accept import accept_some

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.loop import Loop, Timer

__all__ = ["Acceptor", "Share"]

BACKOFF, BACKOFF_MAX = 0.1, 1.0
TURN_BUDGET = 4  # requests of all clients answered per loop turn (see ``new_turn``)
SHARE = 0.5  # of one CPU the endpoint may take over time (wall time of its callbacks)
BURST = 0.1  # seconds of work it may do at once (a few cold scrapes of 500 programs)
REST = 0.005  # the shortest hold: fewer, longer holds (each moves every socket twice)


class Share:
    """The endpoint's CPU account: its callbacks add their wall time to ``busy`` and take
    requests from ``budget``; ``new_turn`` settles both once per loop turn."""

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self.budget = TURN_BUDGET  # requests still answered in this turn
        self.busy = 0.0  # seconds spent in this turn's callbacks
        self._credit = BURST  # seconds of work left (see SHARE)
        self._stamp = time.monotonic()
        self.held = 0  # times the endpoint was held for exceeding its share

    def new_turn(self) -> None:
        """Called once per loop turn (issue 8, restart latency under scraping): at most
        TURN_BUDGET requests are answered per turn, so a child's death read in the same turn
        as twenty scrapes waits for four of them, not for all. A client left over stays ready
        in epoll (its socket readable, or writable for buffered pipelined requests) and is
        served in the next turn. Then the turn's work is charged to the credit (SHARE)."""
        self.budget = TURN_BUDGET
        if not self.busy:
            return
        now = time.monotonic()
        credit = min(BURST, self._credit + (now - self._stamp) * SHARE) - self.busy
        self._credit, self._stamp, self.busy = credit, now, 0.0
        if credit < 0:
            self.held += 1
            self._loop.hold(max(REST, -credit / SHARE))


class Acceptor:
    """Takes connections off ``sock`` for the server: ``admit`` gets each one, ``room`` says
    whether one more fits, ``regate`` lets the server re-decide what the loop watches."""

    def __init__(
        self,
        loop: Loop,
        sock: socket.socket,
        say: Callable[[str], None],
        share: Share,
        *,
        limit: int,
        room: Callable[[], bool],
        admit: Callable[[socket.socket], None],
        regate: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._say = say
        self._share = share
        self._limit = limit  # accepts per wake-up
        self._room = room
        self._admit = admit
        self._regate = regate
        self._accepting = False
        self._failures = 0
        self._delay = BACKOFF
        self._backoff: Timer | None = None

    def watch(self, wanted: bool) -> None:
        """Watch the listening socket exactly when a connection could be taken now: the
        server wants one (not full, not closing) and accept() is not resting."""
        want = wanted and self._backoff is None
        if want != self._accepting:
            self._accepting = want
            if want:
                self._loop.add_reader(self._fd, self._accept, deferrable=True)
            else:
                self._loop.remove(self._fd)

    def cancel(self) -> None:
        """The server is closing: no resumption after a rest."""
        if self._backoff is not None:
            self._backoff.cancel()

    def _accept(self, fd: int) -> None:
        began = time.monotonic()
        try:
            self._accept_all()
        finally:
            self._share.busy += time.monotonic() - began

    def _accept_all(self) -> None:
        clean, failed = accept_some(self._sock, self._limit, self._room, self._admit)
        if failed is not None:
            self._rest(failed)
            return
        if clean and self._failures:
            n, self._failures, self._delay = self._failures, 0, BACKOFF
            self._say(f"http: accepting connections again ({n} failed accepts)")
        self._regate()

    def _rest(self, exc: OSError) -> None:
        """EMFILE and friends leave the connection queued and the socket readable: retrying
        at once would spin PID 1 (issue 11.2), so the socket rests, with a backoff."""
        self._failures += 1
        if self._failures == 1:
            self._say(f"http: accept failed: {exc.strerror or exc}; pausing new connections")
        self._backoff = self._loop.call_later(self._delay, self._resume)
        self._delay = min(self._delay * 2, BACKOFF_MAX)
        self._regate()

    def _resume(self) -> None:
        self._backoff = None
        self._accept_all()
