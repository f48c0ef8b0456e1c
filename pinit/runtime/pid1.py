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


def _stat_fields(pid: int) -> tuple[bytes, int, int] | None:
    """(state, ppid, pgid) from /proc/PID/stat, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; fields resume after the last ')'.
    rest = data[data.rfind(b")") + 2 :].split()
    return rest[0], int(rest[1]), int(rest[2])


def _all_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def descendants(root: int, *, live: bool = False) -> dict[int, int]:
    """Every descendant of `root` as {pid: pgid}, by walking ppid links in /proc.

    Zombies are included unless `live`: signalling them is harmless, but a zombie whose parent
    has not reaped it yet must not count as a survivor.
    """
    parents: dict[int, tuple[bytes, int, int]] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None:
            parents[pid] = fields
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _) in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, int] = {}
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        state, _, pgid = parents[pid]
        if not (live and state == b"Z"):
            found[pid] = pgid
        stack.extend(children.get(pid, ()))
    return found


def members(pgid: int, tag: bytes) -> set[int]:
    """The live processes of one program instance: its process group, plus descendants of
    pinit that left the group (setsid daemons) but still carry the instance's tag in their
    initial environment (/proc/PID/environ).

    This is the cgroup-less answer to supervisor #1101 and dumb-init #191: a process that
    calls setsid escapes the group, but it keeps the environment it was started with.
    """
    found: set[int] = set()
    for pid, pg in descendants(os.getpid(), live=True).items():
        if pg == pgid or _has_env(pid, tag):
            found.add(pid)
    return found


def _has_env(pid: int, entry: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return entry in f.read().split(b"\0")
    except OSError:
        return False


def describe(pid: int) -> tuple[str, str]:
    """(command line, PINIT_INSTANCE tag or "") of a process, for the shutdown report."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").strip().decode(errors="replace")
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return "?", ""
    tag = next(
        (e[15:].decode(errors="replace") for e in env if e.startswith(b"PINIT_INSTANCE=")), ""
    )
    return command[:120], tag


def stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
