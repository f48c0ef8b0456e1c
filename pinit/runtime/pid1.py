"""What makes pinit an init whether or not it is PID 1: subreaper, the process tree, the tty.

Outside a PID namespace (under systemd, a shell, or PyInstaller's one-file bootloader) orphans
would go to the real init and pinit could neither reap nor stop them. PR_SET_CHILD_SUBREAPER
makes them come to us instead, so pinit behaves the same everywhere (tini only warns, and
users hit that warning constantly: tini #141; on AWS Lambda the prctl is refused, tini #218,
so failure is a warning here, never fatal).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator

PR_SET_CHILD_SUBREAPER = 36


def set_subreaper() -> str | None:
    """Register as child subreaper; return an error text instead of raising."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        return str(exc)
    return None


def _stat_fields(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) from /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    return int(rest[1]), int(rest[2])


def _all_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of `root` as {pid: pgid}, by walking ppid links in /proc.

    Zombies are included (they are gone already, signalling them is harmless).
    """
    parents: dict[int, tuple[int, int]] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None:
            parents[pid] = fields
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, int] = {}
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found[pid] = parents[pid][1]
        stack.extend(children.get(pid, ()))
    return found


def stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
