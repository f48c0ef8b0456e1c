"""The control socket: AF_UNIX stream, mode 0600, SO_PEERCRED; JSON lines in, JSON lines out.

Everything here runs in PID 1's loop, and every peer is untrusted until its uid is checked, so
nothing may block and nothing a client sends may raise out of a callback:

- Access: the file is created 0600 (umask around bind, chmod after, for filesystems that ignore
  the umask on sockets) and each peer's uid from SO_PEERCRED must be 0 or pinit's own. The
  mode alone is not enough: a socket passed across a container boundary, or a directory with
  loose permissions, would let anyone in; the kernel's credentials cannot be forged. The
  directory is checked first (``paths.prepare``): a fallback under /tmp is private to pinit's uid.
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
- accept() failing for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM; issue 11.2) leaves
  the connection in the backlog, so the socket stays readable: retrying at once spun PID 1 at
  99 % CPU writing "accept failed" at 11 MB/s. The socket is instead taken out of the loop
  for ``BACKOFF`` seconds, doubling to ``BACKOFF_MAX``; this is said once, and once again with
  the count when an accept succeeds.
- A stale socket file (a pinit killed with SIGKILL) is unlinked only if connecting to it
  fails: a live pinit on the same path is never cut off.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from pinit.control import paths, proto, stream
from pinit.control.listen import bind

__all__ = ["MAX_CLIENTS", "MAX_OUT", "ControlReactor", "ControlServer", "Handler", "Respond"]

Respond = Callable[[dict[str, object]], None]
Handler = Callable[[proto.Request, Respond], None]
Say = Callable[[str], None]
MAX_CLIENTS = 32  # connections served at once; each costs pinit one fd
MAX_FOLLOWERS = MAX_CLIENTS // 2  # `ctl events`: never idle, so never swept (i8_02)
IDLE = 3.0  # seconds a connection may keep pinit waiting while others queue
BACKOFF, BACKOFF_MAX = 0.1, 1.0  # seconds without accept() after it ran out of resources
MAX_OUT = 8 << 20  # one reply; a status of thousands of instances fits many times over
READ_SIZE = 1 << 16
PER_TURN = 8  # requests of one client handled per loop turn
MAX_REFUSED_UIDS = 64  # refused uids remembered (and said); more are refused silently
_CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid
_TRANSIENT = (errno.ECONNABORTED, errno.EPROTO, errno.EPERM)  # that connection only


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

    def __init__(self, sock: socket.socket, now: float) -> None:
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
        self._allowed = allowed_uids if allowed_uids is not None else frozenset({0, os.getuid()})
        paths.prepare(path)
        self._sock = bind(path)
        self._ino = os.stat(path).st_ino
        self._conns: dict[int, _Conn] = {}
        self._accepting = False  # the listening fd is in the loop
        self._closing = False
        self._refused: set[int | None] = set()  # uids whose refusal was said
        self._failures = 0  # accept() failures since the last success
        self._delay = BACKOFF
        self._backoff: Cancellable | None = None  # while set, accept() rests
        self._sweep: Cancellable | None = None  # while at the cap: closes who keeps us waiting
        self._gate()

    # -- the door ----------------------------------------------------------------------------
    def _gate(self) -> None:
        """Watch the listening socket exactly when a connection could be taken now."""
        full = len(self._conns) >= MAX_CLIENTS
        want = not self._closing and self._backoff is None and not full
        if want != self._accepting:
            self._accepting = want
            if want:
                self._loop.add_reader(self._sock.fileno(), self._accept)
            else:
                self._loop.remove(self._sock.fileno())
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

    def _accept(self, fd: int) -> None:
        clean = False  # accept() worked, or found the backlog empty
        for _ in range(MAX_CLIENTS):  # bounded: a connect storm cannot starve the loop
            if len(self._conns) >= MAX_CLIENTS:
                break
            try:
                sock, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                clean = True
                break
            except OSError as exc:
                if exc.errno in _TRANSIENT:
                    continue
                self._rest(exc)  # EMFILE and friends: would fail again at once
                return
            clean = True
            sock.setblocking(False)
            uid = self._peer_uid(sock)
            if uid not in self._allowed:
                self._refuse(sock, uid)
                continue
            conn = _Conn(sock, time.monotonic())
            self._conns[sock.fileno()] = conn
            self._watch(conn, "read")
        if clean and self._failures:  # a burst without failing: the episode is over
            n, self._failures, self._delay = self._failures, 0, BACKOFF
            self._say(f"control: accepting connections again ({n} failed accepts)")
        self._gate()

    def _rest(self, exc: OSError) -> None:
        """Take the listening socket out of the loop for a while; say so the first time."""
        self._failures += 1
        if self._failures == 1:
            self._say(
                f"control: accept failed: {exc.strerror or exc}; pausing new connections"
                f" (retrying every {BACKOFF:g}-{BACKOFF_MAX:g}s)"
            )
        self._backoff = self._loop.call_later(self._delay, self._resume)
        self._delay = min(self._delay * 2, BACKOFF_MAX)
        self._gate()

    def _resume(self) -> None:
        """Try at once: with the backlog emptied meanwhile (its clients gave up) the socket
        would not turn readable, and the recovery would never be said."""
        self._backoff = None
        self._accept(self._sock.fileno())

    @staticmethod
    def _peer_uid(sock: socket.socket) -> int | None:
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
        except OSError:
            return None
        return int(_CREDS.unpack(creds)[1])

    def _refuse(self, sock: socket.socket, uid: int | None) -> None:
        reply = proto.error(f"permission denied: uid {uid} is neither root nor pinit's uid")
        try:
            sock.send(proto.encode(reply))  # best effort: never wait for such a peer
        except OSError:
            pass
        sock.close()
        if uid not in self._refused and len(self._refused) < MAX_REFUSED_UIDS:
            self._refused.add(uid)  # once per uid: a connect loop must not flood stderr
            self._say(f"control: refused a connection from uid {uid} (said once per uid)")

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
        for timer in (self._backoff, self._sweep):
            if timer is not None:
                timer.cancel()
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
