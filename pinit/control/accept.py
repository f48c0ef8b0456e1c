"""The doors of pinit's listening sockets: when accept() is tried at all, and who is let in.

The control server (``control/server.py``) and the HTTP endpoint (``runtime/httpserve.py``)
own their connections and say when there is room; ``Acceptor`` takes connections off the
listening socket exactly while there is room and accept() is not resting, and the control
socket's ``PeerCheck`` checks each peer before it gets a connection:

- Access: each peer's uid from SO_PEERCRED must be 0 or pinit's own (``allowed``). The
  socket's 0600 mode alone is not enough: a socket passed across a container boundary, or a
  directory with loose permissions, would let anyone in; the kernel's credentials cannot be
  forged. A refused peer gets one error line, best effort, and its uid is said once.
- accept() failing for want of resources (EMFILE, ENFILE, ENOBUFS, ENOMEM; issue 11.2) leaves
  the connection in the backlog, so the socket stays readable: retrying at once spun PID 1 at
  99 % CPU writing "accept failed" at 11 MB/s. The socket is instead taken out of the loop
  for ``BACKOFF`` seconds, doubling to ``BACKOFF_MAX``; this is said once, and once again with
  the count when an accept succeeds.
"""

from __future__ import annotations

import _socket  # not socket.py: see control/listen.py
import errno
import struct
import time
from collections.abc import Callable

from pinit.control import proto

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.control.server import Cancellable, ControlReactor

__all__ = ["BACKOFF", "BACKOFF_MAX", "Acceptor", "PeerCheck", "accept_some"]

BACKOFF, BACKOFF_MAX = 0.1, 1.0  # seconds without accept() after it ran out of resources
MAX_REFUSED_UIDS = 64  # refused uids remembered (and said); more are refused silently
_CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid
_TRANSIENT = (errno.ECONNABORTED, errno.EPROTO, errno.EPERM)  # that connection only


def accept_some(
    listener: _socket.socket,
    limit: int,
    room: Callable[[], bool],
    take: Callable[[_socket.socket], None],
) -> tuple[bool, OSError | None]:
    """Accept at most `limit` connections while `room()`, handing each (non-blocking) to `take`:
    bounded, so a connect storm cannot starve the loop. Returns (clean, failure): clean when an
    accept worked or found the backlog empty; failure is an error that would repeat at once
    (EMFILE and friends: the caller rests the socket), not one that concerned one connection.
    The control socket's and the HTTP endpoint's Acceptor both accept through it."""
    clean = False
    for _ in range(limit):
        if not room():
            break
        try:
            # _socket's own accept, which socket.socket.accept wraps in a socket.socket
            fd, _ = listener._accept()  # type: ignore[attr-defined]
        except (BlockingIOError, InterruptedError):
            return True, None
        except OSError as exc:
            if exc.errno in _TRANSIENT:
                continue
            return clean, exc
        clean = True
        # the listener's family and type: else _socket asks the kernel for them, 3 syscalls
        sock = _socket.socket(listener.family, listener.type, listener.proto, fd)
        sock.setblocking(False)
        take(sock)
    return clean, None


class Acceptor:
    """Takes connections off ``sock`` for a server: ``admit`` gets each one, ``room`` says
    whether one more fits, ``regate`` lets the server re-decide what the loop watches. The
    control socket and the HTTP endpoint (runtime/httpserve.py) each have one; ``label`` names
    which in what is said. ``add_reader`` is how the socket joins the loop (the endpoint's may
    be held back with the rest of its sockets), ``charge`` is told the time each wake-up took
    (the endpoint's CPU share)."""

    def __init__(
        self,
        loop: ControlReactor,
        sock: _socket.socket,
        say: Callable[[str], None],
        label: str,
        *,
        limit: int,
        room: Callable[[], bool],
        admit: Callable[[_socket.socket], None],
        regate: Callable[[], None],
        add_reader: Callable[[int, Callable[[int], None]], None] | None = None,
        charge: Callable[[float], None] | None = None,
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._say = say
        self._label = label
        self._limit = limit  # accepts per wake-up: a connect storm cannot starve the loop
        self._room = room
        self._admit = admit
        self._regate = regate
        self._add_reader = add_reader or loop.add_reader
        self._charge = charge
        self._accepting = False  # the listening fd is in the loop
        self._failures = 0  # accept() failures since the last success
        self._delay = BACKOFF
        self._backoff: Cancellable | None = None  # while set, accept() rests

    def watch(self, wanted: bool) -> None:
        """Watch the listening socket exactly when a connection could be taken now: the
        server wants one (not full, not closing) and accept() is not resting."""
        want = wanted and self._backoff is None
        if want != self._accepting:
            self._accepting = want
            if want:
                self._add_reader(self._fd, self._accept)
            else:
                self._loop.remove(self._fd)

    def cancel(self) -> None:
        """The server is closing: no resumption after a rest."""
        if self._backoff is not None:
            self._backoff.cancel()

    def _accept(self, fd: int) -> None:
        if self._charge is None:
            self._accept_some()
            return
        began = time.monotonic()
        try:
            self._accept_some()
        finally:
            self._charge(time.monotonic() - began)

    def _accept_some(self) -> None:
        clean, failed = accept_some(self._sock, self._limit, self._room, self._admit)
        if failed is not None:
            self._rest(failed)
            return
        if clean and self._failures:  # a burst without failing: the episode is over
            n, self._failures, self._delay = self._failures, 0, BACKOFF
            self._say(f"{self._label}: accepting connections again ({n} failed accepts)")
        self._regate()

    def _rest(self, exc: OSError) -> None:
        """Take the listening socket out of the loop for a while; say so the first time."""
        self._failures += 1
        if self._failures == 1:
            self._say(
                f"{self._label}: accept failed: {exc.strerror or exc}; pausing new connections"
                f" (retrying every {BACKOFF:g}-{BACKOFF_MAX:g}s)"
            )
        self._backoff = self._loop.call_later(self._delay, self._resume)
        self._delay = min(self._delay * 2, BACKOFF_MAX)
        self._regate()

    def _resume(self) -> None:
        """Try at once: with the backlog emptied meanwhile (its clients gave up) the socket
        would not turn readable, and the recovery would never be said."""
        self._backoff = None
        self._accept(self._fd)


class PeerCheck:
    """The control socket's access rule: a peer's uid from SO_PEERCRED must be in
    ``allowed``; anyone else gets one error line, best effort, and its uid is said once."""

    def __init__(self, allowed: frozenset[int], say: Callable[[str], None]) -> None:
        self._allowed = allowed
        self._say = say
        self._refused: set[int | None] = set()  # uids whose refusal was said

    def admit(self, sock: _socket.socket, admit: Callable[[_socket.socket], None]) -> None:
        uid = self._peer_uid(sock)
        if uid not in self._allowed:
            self._refuse(sock, uid)
        else:
            admit(sock)

    @staticmethod
    def _peer_uid(sock: _socket.socket) -> int | None:
        try:
            creds = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _CREDS.size)
        except OSError:
            return None
        return int(_CREDS.unpack(creds)[1])

    def _refuse(self, sock: _socket.socket, uid: int | None) -> None:
        reply = proto.error(f"permission denied: uid {uid} is neither root nor pinit's uid")
        try:
            sock.send(proto.encode(reply))  # best effort: never wait for such a peer
        except OSError:
            pass
        sock.close()
        if uid not in self._refused and len(self._refused) < MAX_REFUSED_UIDS:
            self._refused.add(uid)  # once per uid: a connect loop must not flood stderr
            self._say(f"control: refused a connection from uid {uid} (said once per uid)")
