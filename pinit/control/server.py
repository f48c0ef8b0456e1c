"""The control socket: AF_UNIX stream, mode 0600, SO_PEERCRED; JSON lines in, JSON lines out.

Everything here runs in PID 1's loop, and every peer is untrusted until its uid is checked, so
nothing may block and nothing a client sends may raise out of a callback:

- Access: the file is created 0600 (umask around bind, chmod after, for filesystems that ignore
  the umask on sockets) and each peer's uid from SO_PEERCRED must be 0 or pinit's own (checked
  by the door, ``control/accept.py``). The directory is checked first (``paths.prepare``): a
  fallback under /tmp is private to pinit's uid.
- Framing: ``proto.LineReader`` bounds a request line at 64 KiB; a longer one gets an error
  reply and is skipped, never buffered whole.
- One request at a time per connection, a few per loop turn: the next line is not parsed,
  nor the socket read, until the previous reply was taken by the kernel. A client that sends
  and never reads thus blocks itself, not pinit, and holds at most one reply (bounded by
  ``MAX_OUT``; a bigger reply drops it) in pinit's memory. Replies may come later than the
  request (``respond`` is a callback): a log tail is read off the loop.
- At most ``MAX_CLIENTS`` connections, and an accepted request is never dropped for a newer
  one (issue 11.11: evicting the longest idle lost requests still unread in their sockets;
  200 concurrent clients got 3.7 % answers). At the cap pinit stops accepting: new clients
  wait in the kernel's listen backlog (``BACKLOG``; their connect() blocks while even that is
  full) and are taken in turn as slots free. So that connections which say nothing cannot
  hold every slot forever, at the cap a connection that has kept pinit waiting on it (no
  request, or a reply not read) for ``IDLE`` seconds is closed.
- accept() failing for want of resources (issue 11.2) rests the door for a while, doubling
  (``control/accept.py``), instead of spinning PID 1 on a socket that stays readable.
- A stale socket file (a pinit killed with SIGKILL) is unlinked only if connecting to it
  fails: a live pinit on the same path is never cut off.
"""

from __future__ import annotations

import _socket  # not socket.py: see control/listen.py
import os
import time
from collections import deque
from collections.abc import Callable

from pinit.control import paths, proto, stream
from pinit.control.accept import Acceptor, PeerCheck
from pinit.control.listen import bind

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = ["MAX_CLIENTS", "MAX_OUT", "ControlReactor", "ControlServer", "Handler", "Respond"]

Respond = Callable[[dict[str, object]], None]
Handler = Callable[[proto.Request, Respond], None]
Say = Callable[[str], None]
MAX_CLIENTS = 32  # connections served at once; each costs pinit one fd
MAX_FOLLOWERS = MAX_CLIENTS // 2  # `ctl events`: never idle, so never swept (i8_02)
IDLE = 3.0  # seconds a connection may keep pinit waiting while others queue
MAX_OUT = 8 << 20  # one reply; a status of thousands of instances fits many times over
READ_SIZE = 1 << 16
PER_TURN = 8  # requests of one client handled per loop turn


if TYPE_CHECKING:
    from typing import Protocol

    class Cancellable(Protocol):
        def cancel(self) -> None: ...

    class ControlReactor(Protocol):
        """The slice of runtime.loop.Loop this needs; control must not import the runtime."""

        def add_reader(self, fd: int, callback: Callable[[int], None]) -> None: ...
        def add_writer(self, fd: int, callback: Callable[[int], None]) -> None: ...
        def remove(self, fd: int) -> None: ...
        def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


class _Conn:
    __slots__ = (
        "busy",
        "closed",
        "eof",
        "feed",
        "lines",
        "out",
        "reader",
        "sock",
        "waiting",
        "watching",
    )

    def __init__(self, sock: _socket.socket, now: float) -> None:
        self.sock = sock
        self.reader = proto.LineReader()
        self.lines: deque[bytes | None] = deque()
        self.out = bytearray()
        self.busy = False  # a request was handed out and its reply has not come back yet
        self.eof = False
        self.closed = False
        # Since when pinit waits on this client (for a request, or for it to read a reply);
        # progress does not reset it, so trickling a byte a second earns no extra time.
        self.waiting = now
        self.watching = ""  # "read" | "write" | "" : what the loop watches this fd for
        self.feed: stream.Feed | None = None  # `ctl events`: this connection follows events


class ControlServer:
    def __init__(
        self,
        loop: ControlReactor,
        path: str,
        handler: Handler,
        say: Say,
        allowed_uids: frozenset[int] | None = None,
        *,
        subscribe: stream.Subscribe | None = None,
    ) -> None:
        self.path = path
        self._subscribe = subscribe
        self._loop = loop
        self._handler = handler
        self._say = say
        paths.prepare(path)
        self._sock = bind(path)
        self._ino = os.stat(path).st_ino
        self._conns: dict[int, _Conn] = {}
        self._closing = False
        peers = PeerCheck(
            allowed_uids if allowed_uids is not None else frozenset({0, os.getuid()}), say
        )
        self._door = Acceptor(
            loop,
            self._sock,
            say,
            "control",
            limit=MAX_CLIENTS,
            room=lambda: len(self._conns) < MAX_CLIENTS,
            admit=lambda sock: peers.admit(sock, self._admit),
            regate=self._gate,
        )
        self._sweep: Cancellable | None = None  # while at the cap: closes who keeps us waiting
        self._gate()

    # -- the door ----------------------------------------------------------------------------
    def _gate(self) -> None:
        """Let the door take connections exactly while there is room and pinit is not closing;
        at the cap, arm the idle sweep."""
        full = len(self._conns) >= MAX_CLIENTS
        self._door.watch(not self._closing and not full)
        if full and self._sweep is None and not self._closing:
            self._sweep = self._loop.call_later(self._idle_left(), self._sweep_idle)

    def _idle_left(self) -> float:
        oldest = min((c.waiting for c in self._conns.values() if not c.busy), default=None)
        return IDLE if oldest is None else max(0.05, oldest + IDLE - time.monotonic())

    def _sweep_idle(self) -> None:
        """At the cap: close connections that kept pinit waiting IDLE seconds, making room.

        A connection handed to a handler (``busy``) is pinit's own work and is never cut; a
        `pinit ctl` sends its request as it connects, so only a silent or non-reading peer
        (or one trickling bytes: progress does not reset the clock) can be cut.
        """
        self._sweep = None
        if self._closing or len(self._conns) < MAX_CLIENTS:
            return
        limit = time.monotonic() - IDLE
        stale = [
            c
            for c in self._conns.values()
            if not c.busy and c.waiting <= limit and (c.feed is None or c.out)  # follower: unread
        ]
        if stale:
            self._say(f"control: {MAX_CLIENTS} clients connected, closed {len(stale)} idle")
        for conn in stale:
            self._close(conn)
        self._gate()

    def _admit(self, sock: _socket.socket) -> None:
        """An accepted, allowed peer (``accept.Acceptor``): a connection, read from now on."""
        conn = _Conn(sock, time.monotonic())
        self._conns[sock.fileno()] = conn
        self._watch(conn, "read")

    def _watch(self, conn: _Conn, what: str) -> None:
        if conn.watching == what or conn.closed:
            return
        fd = conn.sock.fileno()
        if conn.watching:
            self._loop.remove(fd)
        conn.watching = what
        if what == "read":
            self._loop.add_reader(fd, lambda _fd: self._readable(conn))
        elif what == "write":
            self._loop.add_writer(fd, lambda _fd: self._writable(conn))

    def _close(self, conn: _Conn) -> None:
        if conn.closed:
            return
        if conn.feed is not None:
            conn.feed.close()
            conn.feed = None
        self._watch(conn, "")
        conn.closed = True
        self._conns.pop(conn.sock.fileno(), None)
        conn.sock.close()
        self._gate()

    # -- input -------------------------------------------------------------------------------
    def _readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close(conn)
            return
        if conn.feed is not None:  # a follower says nothing more: only its EOF matters
            if not data:
                self._close(conn)
            return
        if data:
            conn.lines.extend(conn.reader.feed(data))
        else:
            conn.eof = True
            rest = conn.reader.rest()
            if rest.strip():
                conn.lines.append(rest)
        self._pump(conn)

    def _pump(self, conn: _Conn) -> None:
        """Hand out the next request if nothing is in flight; then watch what is due.

        At most PER_TURN requests per call: a client that pipelines thousands of them gets
        the rest on later loop turns (its socket, writable, brings it back at once), so it
        shares the loop with signals, child exits and other clients instead of holding it.
        """
        if conn.feed is not None:
            self._follow(conn)
            return
        budget = PER_TURN
        while not conn.closed and not conn.busy and not conn.out and conn.lines and budget:
            budget -= 1
            line = conn.lines.popleft()
            if line is None:
                self._queue(conn, proto.error(f"request longer than {proto.MAX_LINE} bytes"))
            elif line.strip():
                self._dispatch(conn, line)
                if conn.feed is not None:  # `ctl events`: a follower from now on
                    self._follow(conn)
                    return
        if conn.closed:
            return
        if conn.out or (conn.lines and not conn.busy):
            self._watch(conn, "write")
        elif conn.busy:
            self._watch(conn, "")
        elif conn.eof:
            self._close(conn)
        else:
            self._watch(conn, "read")

    def _dispatch(self, conn: _Conn, line: bytes) -> None:
        req = proto.parse_request(line)
        if isinstance(req, str):
            self._queue(conn, proto.error(req))
            return
        if req.cmd == "events":
            self._start_follow(conn, req)
            return
        conn.busy = True
        answered = False
        inline = True  # answered inside the handler: the caller's loop goes on (no recursion)

        def respond(reply: dict[str, object]) -> None:
            nonlocal answered
            if answered:
                return
            answered = True
            conn.busy = False
            if not conn.closed:
                self._queue(conn, reply)
                if not inline:
                    self._pump(conn)

        try:
            self._handler(req, respond)
        except Exception as exc:  # a bug in one command must not take PID 1 down
            self._say(f"control: {req.cmd} failed: {exc!r}")
            respond(proto.error(f"internal error: {exc!r}"))
        inline = False

    # -- `ctl events`: a follower (control/stream.py) ---------------------------------------------
    def _start_follow(self, conn: _Conn, req: proto.Request) -> None:
        if sum(c.feed is not None for c in self._conns.values()) >= MAX_FOLLOWERS:
            self._queue(conn, proto.error(f"events: {MAX_FOLLOWERS} followers already"))
            return
        feed = self._subscribe(req, lambda: self._watch(conn, "write")) if self._subscribe else None
        if feed is None or isinstance(feed, str):
            self._queue(conn, proto.error(feed or "events: not served by this pinit"))
            return
        conn.lines.clear()  # nothing after the request is read: it only follows now
        self._queue(conn, {"ok": True, "stream": "events"})
        conn.feed = feed  # the wake turns write interest on; the loop's next turn writes

    def _follow(self, conn: _Conn) -> None:
        if conn.feed is not None and len(conn.out) < stream.STREAM_OUT:
            stream.fill(conn.out, conn.feed)
        self._flush(conn)
        if conn.closed:
            return
        if conn.out:
            self._watch(conn, "write")  # a slow reader: its socket tells when it took some
        else:
            conn.waiting = time.monotonic()  # caught up: it keeps nobody waiting
            self._watch(conn, "read")  # for its EOF; a new record turns write interest on

    # -- output ------------------------------------------------------------------------------
    def _queue(self, conn: _Conn, reply: dict[str, object]) -> None:
        try:
            data = proto.encode(reply)
        except (TypeError, ValueError) as exc:
            data = proto.encode(proto.error(f"internal error: unencodable reply ({exc})"))
        if len(conn.out) + len(data) > MAX_OUT:
            self._say("control: dropped a client whose reply outgrew the bound")
            self._close(conn)
            return
        conn.out += data
        conn.waiting = time.monotonic()  # answered: from now on it is the client's turn
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        while conn.out and not conn.closed:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EPIPE: it left without its answer
                self._close(conn)
                return
            del conn.out[:sent]

    def _writable(self, conn: _Conn) -> None:
        self._flush(conn)
        self._pump(conn)

    # -- the end -----------------------------------------------------------------------------
    def close(self) -> None:
        self._closing = True
        self._door.cancel()
        if self._sweep is not None:
            self._sweep.cancel()
        for conn in list(self._conns.values()):
            if conn.feed is not None:  # the last records (pinit's "done"), as far as it takes
                stream.fill(conn.out, conn.feed)
                self._flush(conn)
            self._close(conn)
        self._gate()
        self._sock.close()
        try:
            if os.stat(self.path).st_ino == self._ino:  # not a successor's socket
                os.unlink(self.path)
        except OSError:
            pass
