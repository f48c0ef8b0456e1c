"""pinit's own NOTIFY_SOCKET, so children that speak sd_notify work unchanged in a container.

SO_PASSCRED makes the kernel attach the sender's pid to every datagram, so a message cannot
claim to be from another program: the supervisor maps that pid to an instance.

Anyone in the network namespace can send to an abstract socket: an unprivileged user's flood
of 1.36 M datagrams in 12 s cut the restart rate from 9.5/s to 5.4/s (issue 11.12). So the
supervisor's `accept(pid, uid)` decides from the kernel's credentials, before any parsing,
whether the sender belongs to a program; and one readiness reads at most MAX_PER_TURN
datagrams, the rest waiting for the next loop turn, so a flood cannot starve the other events.
 The socket is
abstract ("@pinit-PID-RANDOM-notify") by default: it needs no writable directory, which matters on a
read-only root filesystem (the s6-overlay #397/#578 class of failures).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable

from pinit.notify import proto

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

OnMessage = Callable[[int, dict[str, str]], None]
Accept = Callable[[int, int], bool]  # (pid, uid) -> does this sender belong to a program?
_CREDS = struct.Struct("iII")  # struct ucred: pid, uid, gid
MAX_PER_TURN = 64


if TYPE_CHECKING:
    from typing import Protocol

    class NotifyReactor(Protocol):
        """The slice of runtime.loop.Loop this needs; notify must not import the runtime."""

        def add_reader(self, fd: int, callback: Callable[[int], None]) -> None: ...
        def remove(self, fd: int) -> None: ...


class NotifyServer:
    def __init__(
        self,
        loop: NotifyReactor,
        on_message: OnMessage,
        address: str = "",
        *,
        accept: Accept | None = None,
        debug: Callable[[str], None] | None = None,
    ) -> None:
        # Abstract names are per network namespace, not per PID namespace: two pinits that
        # are both PID 1 (containers sharing a pod's network) would both claim "@pinit-1-...".
        self.address = address or f"@pinit-{os.getpid()}-{os.urandom(4).hex()}-notify"
        self._loop = loop
        self._on_message = on_message
        self._accept = accept
        self._debug = debug
        self.refused = 0  # datagrams dropped unparsed: no credentials or not a program's
        self.oversized = 0  # issue 9: a program's datagrams past MAX_DATAGRAM, dropped unparsed
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.setblocking(False)
        bind_to = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        self._sock.bind(bind_to)
        loop.add_reader(self._sock.fileno(), self._readable)

    def _readable(self, fd: int) -> None:
        for _ in range(MAX_PER_TURN):  # the socket stays readable: the rest comes next turn
            try:
                data, ancdata, flags, _ = self._sock.recvmsg(
                    proto.MAX_DATAGRAM, socket.CMSG_SPACE(_CREDS.size)
                )
            except (BlockingIOError, InterruptedError):
                return
            pid = uid = 0
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid, uid, _ = _CREDS.unpack(payload[: _CREDS.size])
            if not (pid > 0 and (self._accept is None or self._accept(pid, uid))):
                self._refuse(pid, uid)
            elif flags & socket.MSG_TRUNC:  # cut: its last field would be a lie
                self.oversized += 1
                if self._debug is not None and self.oversized & (self.oversized - 1) == 0:
                    self._debug(f"notify: {self.oversized} oversized datagrams dropped so far")
            else:
                self._on_message(pid, proto.parse(data))

    def drain(self) -> None:
        """Issue 9: read what is queued now, before a death is handled (as systemd gives its
        notify socket priority over SIGCHLD): a MAINPID= or READY=1 sent just before the sender
        exited must reach the model before the exit does."""
        self._readable(self._sock.fileno())

    def _refuse(self, pid: int, uid: int) -> None:
        """Counted, and said (with -v) at 1, 2, 4, 8... refusals: a flood costs log2 lines."""
        self.refused += 1
        if self._debug is not None and self.refused & (self.refused - 1) == 0:
            self._debug(
                f"notify: {self.refused} datagrams refused unparsed so far "
                f"(latest from pid {pid} uid {uid}: not a program's process)"
            )

    def close(self) -> None:
        self._loop.remove(self._sock.fileno())
        self._sock.close()
        if not self.address.startswith("@"):
            try:
                os.unlink(self.address)
            except OSError:
                pass
