"""The HTTP endpoint's listening socket (issue 8): TCP, or AF_UNIX mode 0600 like the control
socket, whose stale file (a pinit killed with SIGKILL) is replaced and a live one's never is."""

from __future__ import annotations

import errno
import os
import socket
import stat

from pinit.config import listen

__all__ = ["BACKLOG", "bind", "unbind"]

BACKLOG = 1024  # connections queued by the kernel while pinit is at MAX_CLIENTS


def bind(address: str) -> socket.socket:
    kind, host, port = listen.split(address)
    if kind == "unix":
        return _bind_unix(host)
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


def _bind_unix(path: str) -> socket.socket:
    """Replace a stale socket file (a pinit killed with SIGKILL), never a live one's."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)
        else:
            raise OSError(errno.EADDRINUSE, f"{path} is in use")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)  # 0600, as the control socket: /status shows names, pids, log paths
    try:
        sock.bind(path)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
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
