"""What the HTTP endpoint's routes and its server exchange (issue 8): a parsed request, a
reply, or an open stream of records; and the reason phrases the server writes.

Split from ``httpserve`` so the routes (``httpapp``) never see sockets or h11.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.eventring import Record

__all__ = ["REASONS", "Handler", "Reply", "Request", "Stream", "Subscription"]

REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Content Too Large",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


class Request:
    __slots__ = ("accept", "head", "path", "query")

    def __init__(self, path: str, query: str, accept: str, head: bool) -> None:
        self.path = path
        self.query = query
        self.accept = accept
        self.head = head


class Reply:
    __slots__ = ("body", "ctype", "status")

    def __init__(self, status: int, ctype: str, body: bytes) -> None:
        self.status = status
        self.ctype = ctype
        self.body = body


if TYPE_CHECKING:
    from typing import Protocol

    class Subscription(Protocol):
        def take(self, limit: int = ...) -> tuple[list[Record], int]: ...
        def close(self) -> None: ...


class Stream:
    """A reply that stays open: newline-delimited JSON records from ``subscribe(wake)``."""

    __slots__ = ("subscribe",)

    def __init__(self, subscribe: Callable[[Callable[[], None]], Subscription]) -> None:
        self.subscribe = subscribe


Handler = Callable[[Request], "Reply | Stream"]
