"""From a configured program instance to the exact SpawnSpec the kernel will see.

Kept apart from the supervisor so that `pinit check --explain` and the runtime can never
disagree about argv, ids, environment or output files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pinit.config import resolve
from pinit.config.schema import LogSpec, Program
from pinit.notify.client import base_environment
from pinit.runtime.spawn import SpawnSpec

__all__ = ["base_environment", "build", "tag_entry"]


def build(
    prog: Program,
    *,
    index: int,
    name: str,
    base_env: Mapping[str, str],
    handled_signals: tuple[int, ...],
    notify_socket: str = "",
) -> tuple[SpawnSpec, list[int]]:
    """The spec, plus the fds opened for it that the caller closes once the child has them.

    Raises LookupError (unknown user/group) or OSError (a log file that cannot be opened).
    """
    ident = resolve.identity(prog)
    env = resolve.environment(prog, base_env, ident, index + 1)
    env["PINIT_INSTANCE"] = name
    if notify_socket:
        env["NOTIFY_SOCKET"] = notify_socket
    opened: list[int] = []
    try:
        stdout = _open_log(prog.stdout, opened)
        stderr = stdout if prog.stderr is None else _open_log(prog.stderr, opened)
    except OSError:
        for fd in opened:
            os.close(fd)
        raise
    spec = SpawnSpec(
        argv=prog.command,
        env=env,
        cwd=prog.cwd,
        uid=ident.uid if ident else None,
        gid=ident.gid if ident else None,
        groups=ident.groups if ident else None,
        umask=prog.umask,
        rlimits=prog.rlimits,
        new_session=True,
        stdout=stdout,
        stderr=stderr,
        handled_signals=handled_signals,
    )
    return spec, opened


def _open_log(spec: LogSpec, opened: list[int]) -> int | None:
    """An append-only fd the child writes to directly, or None to inherit pinit's own.

    O_APPEND keeps lines whole when several instances share one file; rotation and
    passthrough belong to the log capture work, which will put a pipe here instead.
    """
    if not spec.file:
        return None
    fd = os.open(spec.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    opened.append(fd)
    return fd


def tag_entry(name: str) -> bytes:
    """How /proc/PID/environ shows an instance's tag (Instance.name): strays are found by it."""
    return f"PINIT_INSTANCE={name}".encode()
