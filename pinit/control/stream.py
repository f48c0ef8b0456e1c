"""`pinit ctl events`: a control connection that follows the event ring (issue 8).

The server hands such a connection a ``Feed`` (a ``runtime.eventring.Subscription``, seen
through a protocol: control must not import the runtime) and from then on only writes to it.
What bounds pinit's memory for a follower: the records it has not taken stay in the ring
(shared, never copied), at most ``bound`` of them count for it (older ones are skipped and
told as ``{"lost": N}``), and at most ``STREAM_OUT`` encoded bytes wait in pinit for its
socket. A follower that never reads thus costs pinit a fixed amount and nothing else; it is
never waited for. Records are encoded here, for a follower only: pinit's loop builds dicts,
JSON is paid by whoever reads.
"""

from __future__ import annotations

from collections.abc import Callable

from pinit.control import proto

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = ["STREAM_OUT", "Feed", "Subscribe", "fill", "record_line"]

STREAM_OUT = 32 << 10  # encoded bytes waiting in pinit for one follower's socket
TAKE = 64  # records taken from the ring per round


if TYPE_CHECKING:
    from typing import Protocol

    class Feed(Protocol):
        @property
        def pending(self) -> int: ...
        def take(self, limit: int = ...) -> tuple[list[dict[str, object]], int]: ...
        def close(self) -> None: ...


Subscribe = Callable[[proto.Request, Callable[[], None]], "Feed | str"]


def record_line(record: dict[str, object]) -> bytes:
    """One record, one line; ensure_ascii so a program's odd bytes never break the framing."""
    import json

    return json.dumps(record, separators=(",", ":"), default=str).encode() + b"\n"


def fill(out: bytearray, feed: Feed) -> None:
    """Move records from the feed into ``out`` until it holds STREAM_OUT bytes or none wait."""
    while len(out) < STREAM_OUT and feed.pending > 0:
        records, lost = feed.take(TAKE)
        if lost:
            out += b'{"lost":%d}\n' % lost
        for record in records:
            out += record_line(record)
