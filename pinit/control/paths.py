"""Where the control socket lives, decided the same way by pinit and by `pinit ctl`.

pinit binds ``[pinit].control_socket``, else ``/run/pinit/NAME.sock`` where /run is writable
(root, the FHS place for runtime sockets), else ``${XDG_RUNTIME_DIR:-/tmp}/pinit-UID/NAME.sock``
(an unprivileged pinit, a read-only /run). ``pinit ctl`` looks in the same places, but first at
``$PINIT_CONTROL_SOCKET``, which pinit exports to its programs so a program can run ``pinit
ctl`` on its own supervisor. The server never reads that variable: a pinit supervised by
another pinit inherits it, and would otherwise try to bind its parent's socket.

Why a private directory (issue 11.8): a socket file directly in a shared /tmp can be created
first by any user, under the name pinit will use. pinit then runs without a socket, and `pinit
ctl` sends its requests to the squatter. Names in a directory that pinit's uid owns, mode
0700, cannot be taken by anyone else (root aside); and /tmp's sticky bit keeps others from
renaming that directory away. So ``prepare`` creates ``pinit-UID`` 0700 and, whether or not it
was there before, checks it without following a link: a directory (not a symlink), owned by
pinit's uid, no access for group or others, in a parent that others cannot rename it out of.
Anything else is refused with the reason: a squatted name is never repaired or used. The
client checks its server's uid as well (SO_PEERCRED, ``client.py``), for configured paths.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Mapping

__all__ = [
    "ENV",
    "RUN_DIR",
    "AlreadyRunningError",
    "candidates",
    "claim",
    "prepare",
    "private_dir",
    "refusal",
    "server_path",
]

ENV = "PINIT_CONTROL_SOCKET"
RUN_DIR = "/run/pinit"


def private_dir(environ: Mapping[str, str], uid: int | None = None) -> str:
    base = environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"pinit-{os.getuid() if uid is None else uid}")


def _fallback(name: str, environ: Mapping[str, str]) -> str:
    return os.path.join(private_dir(environ), f"{name}.sock")


def _run_usable() -> bool:
    if os.path.isdir(RUN_DIR):
        return os.access(RUN_DIR, os.W_OK | os.X_OK)
    return os.access(os.path.dirname(RUN_DIR), os.W_OK | os.X_OK)


def server_path(configured: str, name: str, environ: Mapping[str, str]) -> str:
    """The path pinit binds (``prepare`` makes its directory safe first)."""
    if configured:
        return configured
    if _run_usable():
        return os.path.join(RUN_DIR, f"{name}.sock")
    return _fallback(name, environ)


def candidates(configured: str, name: str, environ: Mapping[str, str]) -> list[str]:
    """Where `pinit ctl` looks, in order. The client may run as another user than pinit (root's
    pinit, a user's ctl), so it tries the /run path whenever it exists, not only when it could
    write /run itself."""
    if configured:
        return [configured]
    if environ.get(ENV):
        return [environ[ENV]]
    run = os.path.join(RUN_DIR, f"{name}.sock")
    fallback = _fallback(name, environ)
    return [run, fallback] if os.path.exists(run) or _run_usable() else [fallback, run]


def _refuse(directory: str, why: str) -> OSError:
    return OSError(
        errno.EPERM,
        f"{directory} {why}; not using it (another user may have created it first: remove"
        " it, or set XDG_RUNTIME_DIR or [pinit].control_socket)",
    )


def prepare(path: str) -> None:
    """Create the socket's directory if it is one of ours; OSError saying why it is unsafe.

    Only the private ``pinit-UID`` directory (named for pinit's own uid) is created 0700 and
    checked; /run/pinit is created 0755 (root's, for clients of other uids to traverse); a
    configured path's directory is the operator's choice and left as it is.
    """
    directory = os.path.dirname(path) or "."
    if directory == RUN_DIR:
        os.makedirs(RUN_DIR, mode=0o755, exist_ok=True)
        return
    uid = os.getuid()
    if os.path.basename(directory) != f"pinit-{uid}":
        return
    old = os.umask(0o077)
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    finally:
        os.umask(old)
    st = os.lstat(directory)
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(directory, "is a symbolic link")
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(directory, "is not a directory")
    if st.st_uid != uid:
        raise _refuse(directory, f"is owned by uid {st.st_uid}, not by pinit's uid {uid}")
    if stat.S_IMODE(st.st_mode) & 0o077:
        mode = stat.S_IMODE(st.st_mode)
        raise _refuse(directory, f"has mode {mode:04o}, not 0700 (others could replace the socket)")
    # Whoever may rename entries in the parent can move this directory away and put their
    # own in its place: its owner always (even with the sticky bit), and any writer without it.
    parent = os.stat(os.path.dirname(os.path.abspath(directory)))
    if parent.st_uid not in (0, uid):
        raise _refuse(directory, f"is in a directory owned by uid {parent.st_uid}")
    if not parent.st_mode & stat.S_ISVTX:
        if parent.st_mode & stat.S_IWOTH:
            why = "is in a directory anyone may rename it out of (no sticky bit)"
            raise _refuse(directory, why)
        if parent.st_mode & stat.S_IWGRP:
            raise _refuse(
                directory,
                f"is in a directory group {parent.st_gid} may rename it out of (no sticky bit)",
            )


class AlreadyRunningError(Exception):
    """Another live pinit holds the lock next to this control socket (issue 9)."""

    def __init__(self, lock: str, pid: int | None) -> None:
        super().__init__(lock, pid)
        self.lock = lock
        self.pid = pid


def claim(path: str) -> int | None:
    """Issue 9, one pinit per config: take the lock ``PATH.lock`` next to the control socket.

    Two pinits with the same ``[pinit] name`` would otherwise both start their programs and then
    fight over the socket (the second one unlinks nothing, but its programs run twice). An
    ``flock`` on an ``O_CLOEXEC`` fd dies with the process (even a SIGKILLed one), so a stale
    lock cannot exist and a dead pinit's socket is still taken over; exec'd children drop the
    fd, so a program outliving pinit does not hold it. Only os and fcntl (already loaded by the
    log capture): a cheap check before the first spawn. The holder writes its pid into the
    file for the refusal message (its pid as seen in its own PID namespace, which the second
    pinit shares when it shares the socket path).

    The lock file is never removed, not even at a clean exit: a flock belongs to the inode,
    not the name, so between a pinit opening the old file and another creating a new one after
    the unlink, both would hold "the" lock and both run. An empty 0600 file is the price.

    Returns the fd to keep open, None when no lock file can be made (an unsafe or read-only
    directory: the socket's own checks say why later), or raises ``AlreadyRunningError``.
    """
    lock = f"{path}.lock"
    try:
        prepare(path)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            text = ""
        os.close(fd)
        raise AlreadyRunningError(lock, int(text) if text.isdigit() else None) from None
    except OSError:  # a filesystem without flock: run as before, unguarded
        os.close(fd)
        return None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass  # the lock holds without the pid; the refusal message then lacks it
    return fd


def refusal(path: str, name: str, held: AlreadyRunningError) -> str:
    """The refusal line, naming the running pinit's pid as seen from here: its control
    socket's SO_PEERCRED when it listens already, else the pid in its lock file."""
    from pinit.control.client import listener_pid  # only on this refusal path

    pid = listener_pid(path) or held.pid
    who = f"pid {pid}" if pid is not None else "pid unknown"
    return (
        f"error: another pinit ({who}) already runs config name {name!r}"
        f" (lock {held.lock}); refusing to start"
    )
