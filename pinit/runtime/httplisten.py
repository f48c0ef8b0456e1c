"""The HTTP endpoint's listening socket (issue 8): TCP, or AF_UNIX mode 0600 like the control
socket, whose stale file (a pinit killed with SIGKILL) is replaced and a live one's never is."""

from __future__ import annotations

import _socket
import os
import socket

from pinit.config import listen
from pinit.control.listen import bind as bind_unix

__all__ = ["BACKLOG", "bind", "unbind"]

BACKLOG = 1024  # connections queued by the kernel while pinit is at MAX_CLIENTS


def bind(address: str) -> _socket.socket:
    kind, host, port = listen.split(address)
    if kind == "unix":
        return bind_unix(host)  # 0600 and stale-file rules of the control socket
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1" if host == "localhost" else host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def unbind(address: str) -> None:
    """At exit: remove the socket file of a unix address."""
    kind, path, _ = listen.split(address)
    if kind == "unix":
        try:
            os.unlink(path)
        except OSError:
            pass
