"""The HTTP endpoint's server: sockets, deadlines and caps, in PID 1's own loop (issue 8).

No thread and no asyncio: each client is a non-blocking socket in ``runtime.loop``, and its
bytes go through ``h11`` (DESIGN.md §9), a sans-I/O HTTP/1.1 state machine that handles what
hand-written parsers get wrong (pipelining, chunked framing, bad framing); ``httpframe``
builds the bytes, this module moves them. It is imported only when ``[pinit] http`` is set.
Every byte a client sends is untrusted input to PID 1, so:

- a request head is bounded (``MAX_HEAD``), a body or a method other than GET/HEAD refused
  (``httpframe.parse``), a malformed request gets a 400; the connection closes after an error;
- at most ``MAX_CLIENTS`` connections, taken in by control/accept.py's ``Acceptor`` (at the cap new
  clients wait in the kernel's backlog; accept() failing for want of fds rests, not spins);
- a client's pending output is bounded (``MAX_OUT`` for a reply, ``STREAM_OUT`` for the event
  stream, and ``SNDBUF`` in the kernel): past it, or when a client takes nothing for ``STALL``
  seconds, it is dropped; the next pipelined request is read only once a reply was taken. The
  event stream pulls from the ring only when its output is empty, so a slow reader loses
  events (counted, told as ``{"lost": N}``) instead of growing pinit's memory;
- a client that has not sent a full request within ``HEAD_WAIT`` seconds is closed, through
  one loop deadline per client: with nobody connected there is no timer at all (idle pinit
  wakes 0 times);
- an exception while serving one client is said once (then counted) and closes that client;
  it never reaches the loop;
- the endpoint takes at most a share of one CPU over time and a few requests per loop turn
  (``httpgate.Share``, issue 8): past it, its sockets wait in the kernel's queues.
"""

from __future__ import annotations

import _socket  # accepted sockets are _socket's (control/accept.py)
import socket
import time
from collections.abc import Callable

import h11

from pinit.control.accept import Acceptor
from pinit.runtime import httpframe, httplisten
from pinit.runtime.httpframe import MAX_HEAD
from pinit.runtime.httpgate import Share
from pinit.runtime.httpreply import Handler, Reply, Request, Stream

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.httpreply import Subscription
    from pinit.runtime.loop import Loop, Timer

__all__ = ["MAX_CLIENTS", "HttpServer"]

MAX_CLIENTS = 64
MAX_OUT = 16 << 20  # one reply (a /metrics of thousands of instances fits)
SNDBUF = 64 << 10  # the kernel's send queue per client (it doubles it): pipelined scrapes
# of a client that never reads stop there, instead of filling an autotuned 4 MiB queue
STREAM_OUT = 256 << 10  # what an event stream may have waiting for its client
HEAD_WAIT = 10.0  # seconds to send a whole request (slow headers, idle keep-alive)
STALL = 5.0  # seconds a client may take nothing of pending output (any progress resets it)
READ_SIZE = 1 << 16
PER_TURN = 8  # pipelined requests of one client answered per loop turn
TAKE = 256  # events moved from the ring per write


class _Client:
    __slots__ = (
        "closed",
        "closing",
        "conn",
        "out",
        "since",
        "sock",
        "sub",
        "timer",
        "wait",
        "watching",
    )

    def __init__(self, sock: _socket.socket, now: float) -> None:
        self.sock = sock
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self.out = bytearray()
        self.closing = False  # close once `out` is sent
        self.closed = False
        self.sub: Subscription | None = None  # an open event stream
        self.since = now  # since when pinit waits on this client (its request, or its reading)
        self.timer: Timer | None = None
        self.wait: float | None = None  # seconds from `since` pinit waits on it; None: not
        self.watching = ""


class HttpServer:
    def __init__(
        self, loop: Loop, address: str, handler: Handler, say: Callable[[str], None]
    ) -> None:
        self.address = address
        self._loop = loop
        self._handler = handler
        self._say = say
        self._sock = httplisten.bind(address)
        self._clients: dict[int, _Client] = {}
        self._closing = False
        self._errors = 0  # exceptions while serving; the first is said
        self.share = Share(loop)  # its ``new_turn`` runs once per loop turn (httpapp)
        self._door = Acceptor(
            loop,
            self._sock,
            say,
            "http",
            limit=MAX_CLIENTS,
            room=lambda: len(self._clients) < MAX_CLIENTS,
            admit=self._admit,
            regate=self._gate,
            add_reader=lambda fd, callback: loop.add_reader(fd, callback, deferrable=True),
            charge=self.share.charge,
        )
        self.dropped = 0  # clients dropped for not reading
        self._gate()

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- the door (httpgate) ---------------------------------------------------------------------
    def _gate(self) -> None:
        self._door.watch(not self._closing and len(self._clients) < MAX_CLIENTS)

    def _admit(self, sock: _socket.socket) -> None:
        try:  # what the kernel may hold for a client that does not read: bounded too
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        except OSError:
            pass
        client = _Client(sock, time.monotonic())
        self._clients[sock.fileno()] = client
        self._watch(client, "read")
        self._deadline(client, HEAD_WAIT)

    # -- one client --------------------------------------------------------------------------
    def _watch(self, c: _Client, what: str) -> None:
        if c.watching == what or c.closed:
            return
        fd = c.sock.fileno()
        if c.watching:
            self._loop.remove(fd)
        c.watching = what
        if what == "read":
            self._loop.add_reader(fd, lambda _fd: self._guarded(c, self._readable), True)
        elif what == "write":
            self._loop.add_writer(fd, lambda _fd: self._guarded(c, self._writable), True)

    def _deadline(self, c: _Client, seconds: float | None) -> None:
        """Set how long pinit waits on the client from ``c.since``; None: it does not.

        One loop timer per client at most, moved lazily: a kept-alive client asking 700 times
        a second would otherwise leave 700 cancelled timers a second in the loop's heap. When
        the timer fires early (the deadline moved later meanwhile) it re-arms itself."""
        c.wait = seconds
        if seconds is None or c.closed:
            return
        due = c.since + seconds
        if c.timer is not None and c.timer.deadline <= due:
            return  # fires first and re-arms for the rest
        if c.timer is not None:
            c.timer.cancel()
        c.timer = self._loop.call_at(due, lambda: self._expired(c))

    def _expired(self, c: _Client) -> None:
        c.timer = None
        if c.wait is None or c.closed:
            return
        due = c.since + c.wait
        if due > time.monotonic():
            c.timer = self._loop.call_at(due, lambda: self._expired(c))
            return
        if c.out or c.watching == "write":  # pinit was waiting for it to read, not to ask
            self._dropped(f"took nothing for {STALL:g}s")
        self._close(c)

    def _dropped(self, why: str) -> None:
        """Said each time: at most MAX_CLIENTS lines per STALL seconds, and an operator whose
        scraper is stuck wants to know."""
        self.dropped += 1
        self._say(f"http: dropped a client that {why} ({self.dropped} dropped so far)")

    def _close(self, c: _Client) -> None:
        if c.closed:
            return
        self._watch(c, "")
        c.closed = True
        if c.timer is not None:
            c.timer.cancel()
            c.timer = None
        if c.sub is not None:
            c.sub.close()
            c.sub = None
        self._clients.pop(c.sock.fileno(), None)
        c.sock.close()
        self._gate()

    def _guarded(self, c: _Client, step: Callable[[_Client], None]) -> None:
        """PID 1 never sees a client's exception: said once, counted, that client closed."""
        began = time.monotonic()
        try:
            step(c)
        except Exception as exc:
            self._errors += 1
            if self._errors == 1:
                self._say(f"http: internal error serving a client (said once): {exc!r}")
            self._close(c)
        self.share.charge(time.monotonic() - began)

    def _readable(self, c: _Client) -> None:
        if self.share.budget <= 0 and c.sub is None:
            return  # still readable at the next poll: served in the next turn
        try:
            data = c.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(c)
            return
        if c.sub is not None or c.closing:
            if not data:
                self._close(c)  # the stream's reader left; anything it sends is ignored
            return
        c.conn.receive_data(data)
        self._serve(c)

    def _serve(self, c: _Client) -> None:
        """Answer what is complete, a few requests per turn; then watch what is due."""
        answered = 0
        while not (c.closed or c.closing or c.sub is not None or c.out):
            if answered == PER_TURN or self.share.budget <= 0:  # writable, it brings us back
                self._watch(c, "write")
                self._deadline(c, STALL)
                return
            try:
                event = c.conn.next_event()
            except h11.RemoteProtocolError as exc:
                hint = exc.error_status_hint
                self._error(c, hint if hint in (400, 431) else 400, str(exc) or "bad request")
                break
            if event is h11.NEED_DATA:
                break
            if isinstance(event, h11.Request):
                answered += 1
                self.share.budget -= 1
                self._request(c, event)
            elif isinstance(event, h11.ConnectionClosed):
                self._close(c)
                return
            elif event is h11.PAUSED:
                if c.conn.our_state is h11.DONE and c.conn.their_state is h11.DONE:
                    c.conn.start_next_cycle()
                    c.since = time.monotonic()
                    continue
                c.closing = True  # keep-alive is over (Connection: close, HTTP/1.0)
                break
            # Data/EndOfMessage of a request: bodies were refused before this point
        self._settle(c)

    def _settle(self, c: _Client) -> None:
        if c.closed:
            return
        if c.out:
            self._watch(c, "write")
            self._deadline(c, STALL)
        elif c.closing:
            self._close(c)
        elif c.sub is not None:
            self._watch(c, "read")  # an EOF tells that the reader left
            self._deadline(c, None)  # waiting on pinit's own events, not on the client
        else:
            self._watch(c, "read")
            self._deadline(c, HEAD_WAIT)

    def _request(self, c: _Client, req: h11.Request) -> None:
        request = httpframe.parse(req)
        if not isinstance(request, Request):
            self._error(c, *request)
            return
        reply = self._handler(request)
        if isinstance(reply, Stream):
            self._stream(c, reply, request.head)
        else:
            self._send(c, reply, request.head)

    def _send(
        self, c: _Client, reply: Reply, head: bool, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        data = httpframe.framed(c.conn, reply, head, extra)
        if c.conn.our_state is h11.MUST_CLOSE:
            c.closing = True  # HTTP/1.0 or Connection: close
        self._queue(c, data, MAX_OUT)

    def _error(
        self, c: _Client, status: int, why: str, extra: tuple[tuple[str, str], ...] = ()
    ) -> None:
        """Answer and close: after a framing error the rest of the bytes mean nothing."""
        c.closing = True
        if c.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        reply = httpframe.error_reply(status, why)
        self._send(c, reply, False, (("Connection", "close"), *extra))

    def _stream(self, c: _Client, stream: Stream, head: bool) -> None:
        data = httpframe.stream_head(c.conn)
        if head:
            data += c.conn.send(h11.EndOfMessage())
            c.closing = True
            self._queue(c, data, MAX_OUT)
            return
        c.sub = stream.subscribe(lambda: self._guarded(c, self._wake))
        self._queue(c, data, STREAM_OUT)
        self._pull(c)

    def _wake(self, c: _Client) -> None:
        """Events arrived for a stream that had taken everything: write them out."""
        if not c.out:
            self._pull(c)
            self._settle(c)

    def _pull(self, c: _Client) -> None:
        if c.sub is None or c.closed:
            return
        records, lost = c.sub.take(TAKE)
        if not records and not lost:
            return
        self._queue(c, httpframe.records(c.conn, records, lost), STREAM_OUT)

    def _queue(self, c: _Client, data: bytes | None, bound: int) -> None:
        if not data or c.closed:
            return
        if len(c.out) + len(data) > bound:
            self._dropped(f"left over {bound >> 10} KiB unread")
            self._close(c)  # a client that does not read is dropped, never buffered
            return
        if not c.out:
            c.since = time.monotonic()  # from now on pinit waits on the client's reading
        c.out += data
        self._flush(c)

    def _flush(self, c: _Client) -> None:
        while c.out and not c.closed:
            try:
                sent = c.sock.send(c.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._close(c)
                return
            del c.out[:sent]
            c.since = time.monotonic()  # progress: the stall clock starts again

    def _writable(self, c: _Client) -> None:
        self._flush(c)
        if c.closed or c.out:
            if c.out:
                self._deadline(c, STALL)
            return
        if c.sub is not None:
            self._pull(c)
        else:
            c.since = time.monotonic()
            self._serve(c)  # pipelined requests waited for this reply to be taken
            return
        self._settle(c)

    # -- the end -----------------------------------------------------------------------------
    def close(self) -> None:
        self._closing = True
        self._door.cancel()
        for c in list(self._clients.values()):
            self._close(c)
        self._gate()
        self._sock.close()
        httplisten.unbind(self.address)
