"""The control socket's file: bound 0600, a stale one replaced, a live one never taken over.

Split from ``server.py`` for size. A stale socket file (a pinit killed with SIGKILL) is
unlinked only if connecting to it fails: a live pinit on the same path is never cut off.
"""

from __future__ import annotations

import errno
import os
import socket
import stat

__all__ = ["BACKLOG", "bind"]

BACKLOG = 1024  # connections queued by the kernel beyond that (capped by net.core.somaxconn)


def bind(path: str) -> socket.socket:
    """Bind `path` 0600, replacing a stale socket file; OSError if in use or not a socket."""
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
            os.unlink(path)  # nobody listens: left by a pinit that was killed
        else:
            raise OSError(errno.EADDRINUSE, f"{path} is in use by another pinit")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    sock.setblocking(False)
    return sock
