"""HTTP/1.1 framing for the endpoint, with h11: which bytes a request gets (issue 8).

Split from ``httpserve`` along the line between deciding bytes and moving them: this module
never touches a socket, a deadline or the loop; ``httpserve`` never builds a response. What
is refused before any route sees a request is decided here, as untrusted input to PID 1: a
whole head over ``MAX_HEAD`` (h11 bounds an incomplete one), any request body (every route is
a read-only GET), a method other than GET/HEAD.
"""

from __future__ import annotations

import h11

from pinit.runtime.httpreply import REASONS, Reply, Request

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.eventring import Record

__all__ = ["MAX_HEAD", "Refusal", "error_reply", "framed", "parse", "records", "stream_head"]

MAX_HEAD = 8 << 10  # request line plus headers
Refusal = tuple[int, str, tuple[tuple[str, str], ...]]  # status, why, extra headers


def parse(req: h11.Request) -> Request | Refusal:
    """The request a route sees, or why it is refused before any route sees it."""
    size = len(req.method) + len(req.target) + sum(len(n) + len(v) + 4 for n, v in req.headers)
    if size > MAX_HEAD:  # h11 bounds a head still incomplete; a whole one is checked here
        return 431, f"request head over {MAX_HEAD} bytes", ()
    headers = {name: value for name, value in req.headers}
    if headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers:
        return 413, "a request body is refused: every route is a read-only GET", ()
    method = req.method
    if method not in (b"GET", b"HEAD"):
        return 405, "only GET and HEAD", (("Allow", "GET, HEAD"),)
    target = req.target.decode("ascii", "replace")
    path, _, query = target.partition("?")
    accept = headers.get(b"accept", b"").decode("latin-1")
    return Request(path, query, accept, method == b"HEAD")


def framed(
    conn: h11.Connection, reply: Reply, head: bool, extra: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """A whole response: head, body (none for HEAD), end of message."""
    headers = [
        ("Content-Type", reply.ctype),
        ("Content-Length", str(len(reply.body))),
        ("Cache-Control", "no-store"),
        *extra,
    ]
    reason = REASONS.get(reply.status, b"")
    data = conn.send(h11.Response(status_code=reply.status, headers=headers, reason=reason))
    if not head and reply.body:
        data += conn.send(h11.Data(data=reply.body))
    data += conn.send(h11.EndOfMessage())
    return data


def error_reply(status: int, why: str) -> Reply:
    body = (why[:200] + "\n").encode("utf-8", "replace")
    return Reply(status, "text/plain; charset=utf-8", body)


def stream_head(conn: h11.Connection) -> bytes:
    """The head of an event stream: NDJSON, one record a line, until the client leaves."""
    headers = [
        ("Content-Type", "application/x-ndjson"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return conn.send(h11.Response(status_code=200, headers=headers, reason=b"OK"))


def records(conn: h11.Connection, taken: list[Record], lost: int) -> bytes | None:
    """Events taken from the ring as NDJSON lines, after ``{"lost": N}`` when some were lost
    (the stream's reader was slower than the ring)."""
    import json

    lines = [json.dumps({"lost": lost}, separators=(",", ":"))] if lost else []
    lines += [json.dumps(r, separators=(",", ":"), default=str) for r in taken]
    payload = ("\n".join(lines) + "\n").encode()
    return conn.send(h11.Data(data=payload))
