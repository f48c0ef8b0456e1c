"""The control socket's file: bound 0600, a stale one replaced, a live one never taken over.

Split from ``server.py`` for size. A stale socket file (a pinit killed with SIGKILL) is
unlinked only if connecting to it fails: a live pinit on the same path is never cut off.
"""

from __future__ import annotations

import _socket  # not socket.py: see below
import errno
import os
import stat

__all__ = ["BACKLOG", "bind"]

# _socket, not socket: socket.py (with selectors, math, array and four IntEnum classes made
# at import) cost PID 1 ~300 kB for good, for nothing the control socket uses (issue 7, PSS).

BACKLOG = 1024  # connections queued by the kernel beyond that (capped by net.core.somaxconn)


def bind(path: str) -> _socket.socket:
    """Bind `path` 0600, replacing a stale socket file; OSError if in use or not a socket."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode):
            raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # nobody listens: left by a pinit that was killed
        else:
            raise OSError(errno.EADDRINUSE, f"{path} is in use by another pinit")
        finally:
            probe.close()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
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
