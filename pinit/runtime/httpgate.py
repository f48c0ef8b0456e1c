"""What the HTTP endpoint may take from PID 1 (issue 8): connections, and CPU time.

Split from ``httpserve``, which serves each client; this module holds the endpoint's CPU
share, and control/accept.py its door:

- connections are taken by control/accept.py's ``Acceptor``, as for the control socket:
  while ``httpserve`` has room (at most ``httpserve.MAX_CLIENTS``; at the cap the socket leaves
  the loop and new clients wait in the kernel's backlog), resting with a backoff when accept()
  fails for want of fds (issue 11.2); each wake-up's time is charged to the ``Share``.
- ``Share``: the endpoint takes at most ``SHARE`` of one CPU over time (a credit of ``BURST``
  seconds, refilled at ``SHARE`` seconds per second): past it, every socket of the endpoint
  leaves the loop's wait until the credit is back (``Loop.hold``), and clients wait in the
  kernel's queues. Twenty clients scraping back to back would otherwise keep PID 1 busy for
  good and take the CPU from the programs it restarts (issue 8: a restart under scraping
  within 1.5x of a quiet one). Prometheus' one scrape per 15 s never comes near it. Within a
  turn, at most ``TURN_BUDGET`` requests are answered.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.loop import Loop

__all__ = ["Share"]

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

    def charge(self, seconds: float) -> None:
        """Add a callback's wall time to this turn's work."""
        self.busy += seconds

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
