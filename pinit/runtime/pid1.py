"""What makes pinit an init whether or not it is PID 1: subreaper, the process tree, the tty.

Outside a PID namespace (under systemd, a shell, or PyInstaller's one-file bootloader) orphans
would go to the real init and pinit could neither reap nor stop them. PR_SET_CHILD_SUBREAPER
makes them come to us instead, so pinit behaves the same everywhere (tini only warns, and
users hit that warning constantly: tini #141; on AWS Lambda the prctl is refused, tini #218,
so failure is a warning here, never fatal).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(say: Callable[[str], None]) -> None:
    """Always register; a refusal only matters (and is only reported) when not PID 1."""
    problem = set_subreaper()
    if problem and os.getpid() != 1:
        say(f"warning: cannot become child subreaper ({problem}); orphans escape pinit")


def set_subreaper() -> str | None:
    """Register as child subreaper; return an error text instead of raising.

    PID 1 of a namespace gets every orphan anyway, so it skips the call and ctypes (~3 ms of
    start, issue 7 speed); elsewhere prctl(2) is only reachable through ctypes."""
    if os.getpid() == 1:
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return os.strerror(ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        return str(exc)
    return None


def kill_group(pgid: int, sig: int) -> bool:
    """killpg that reports "gone" instead of raising: ESRCH means the group is empty, and
    EPERM (a member that switched to another user) must not stop the rest of a stop."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_pid(pid: int, sig: int) -> bool:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def descendants(root: int, *, live: bool = False) -> dict[int, int]:
    """Every descendant of `root` as {pid: pgid} (proctree.subtree: down the children files
    where the kernel has them, else by every process's ppid).

    Zombies are included unless `live`: signalling them is harmless, but a zombie whose parent
    has not reaped it yet must not count as a survivor.

    The children files make the cost pinit's own tree, not the host's: every restart takes
    one such view, and outside a PID namespace (under systemd, on a developer's machine) a
    scan of all of /proc read ~100 stat files a restart here, thousands on a busy host
    (issue 7: restart within 1.2x).
    """
    from pinit.runtime import proctree  # not before the boot's first spawns (issue 7, start)

    return {pid: f[1] for pid, f in proctree.subtree(root).items() if not (live and f[2])}


class ProcTable:
    """A /proc snapshot shared by every lookup until the process set may have changed.

    Stopping a layer of 500 programs asks "who is left of this instance?" 500 times in one
    loop turn; one scan, indexed by process group, answers them all. The caller invalidates
    it whenever processes may have changed (after reaping, at each new batch of events).
    """

    def __init__(self) -> None:
        self._by_group: dict[int, list[int]] | None = None
        self._loose: list[int] = []  # in no known instance's group: strays and orphans
        self._tags: dict[int, bytes | None] = {}

    def invalidate(self) -> None:
        self._by_group = None
        self._loose = []
        self._tags.clear()

    def members(self, pgid: int, tag: bytes, groups: Collection[int] = ()) -> set[int]:
        """The live processes of one program instance: its process group, plus descendants
        of pinit that left the group (setsid daemons) but still carry the instance's tag in
        their initial environment (/proc/PID/environ).

        This is the cgroup-less answer to supervisor #1101 and dumb-init #191: a process that
        calls setsid escapes the group, but it keeps the environment it was started with.
        `groups` are every instance's group (the same set for the whole snapshot): processes
        in one of them are never read for a tag.
        """
        if self._by_group is None:
            self._by_group = {}
            for pid, pg in descendants(os.getpid(), live=True).items():
                self._by_group.setdefault(pg, []).append(pid)
            self._loose = [
                pid for pg, pids in self._by_group.items() if pg not in groups for pid in pids
            ]
        found = set(self._by_group.get(pgid, ()))
        found.update(pid for pid in self._loose if self._tag(pid) == tag)
        return found

    def in_group(self, pgid: int) -> set[int]:
        """The snapshot's members of process group `pgid` (after a ``members`` call)."""
        return set((self._by_group or {}).get(pgid, ()))

    def _tag(self, pid: int) -> bytes | None:
        if pid not in self._tags:
            self._tags[pid] = _env_entry(pid, b"PINIT_INSTANCE=")
        return self._tags[pid]


def _env_entry(pid: int, prefix: bytes) -> bytes | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return None
    return next((e for e in env if e.startswith(prefix)), None)


def describe(pid: int) -> tuple[str, str]:
    """(command line, PINIT_INSTANCE tag or "") of a process, for the shutdown report."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").strip().decode(errors="replace")
    except OSError:
        return "?", ""
    tag = _env_entry(pid, b"PINIT_INSTANCE=") or b"="
    return command[:120], tag.partition(b"=")[2].decode(errors="replace")


def cloexec_inherited_fds() -> None:
    """Mark every fd above 2 that pinit inherited close-on-exec, once at start.

    The supervisor starts programs with posix_spawn, which cannot close fds; Python's own are
    close-on-exec already (PEP 446), so only what pinit's parent left open (a CI runner's pipe,
    a terminal's extra fds) could otherwise leak into every program.
    """
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # the listdir fd itself, already closed


def stdin_is_tty() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
