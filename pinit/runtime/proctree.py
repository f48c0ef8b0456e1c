"""CPU and memory of every instance's process tree in one pass over /proc (issue 8, /metrics;
``ctl status`` and ``max_memory`` through runtime/usage.py).

Why not psutil: it answers each instance's ``children(recursive=True)`` from a scan of every
process on the machine, so a scrape of 50 programs cost 50 scans (176 ms of PID 1's CPU on a
shared host, and a restart waited behind it). DESIGN.md §9 asks for one /proc pass per scrape:
here each process of pinit's tree is read once (its ``stat``: ppid, group, CPU ticks, resident
pages, start time), and every instance sums its share.

The tree is walked down from pinit through ``/proc/PID/task/TID/children`` (CONFIG_PROC_CHILDREN):
every process of an instance descends from pinit (an orphan is re-parented to pinit, PID 1 or
a subreaper), so the walk costs what pinit supervises, not what the host runs. Without that
file (an older or trimmed kernel) it falls back to reading every process in /proc once.
Raw os.open/os.read as in pid1.py: the buffered file object tripled each read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

__all__ = ["Tree", "below", "instances", "own", "sample", "subtree"]

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")

# pid -> ppid, pgid, zombie, cpu seconds, rss bytes, start (seconds after boot, CLOCK_BOOTTIME)
Tree = dict[int, tuple[int, int, bool, float, int, float]]


def _read(path: str, size: int = 4096) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat(pid: int) -> tuple[tuple[int, int, bool, float, int, float], int] | None:
    """The tree's fields of `pid`, and its number of threads."""
    data = _read(f"/proc/{pid}/stat", 1024)
    if not data:
        return None
    rest = data[data.rfind(b")") + 2 :].split()  # the comm may hold spaces and parentheses
    try:
        cpu = (int(rest[11]) + int(rest[12])) / _TICK
        start = int(rest[19]) / _TICK
        fields = int(rest[1]), int(rest[2]), rest[0] == b"Z", cpu, int(rest[21]) * _PAGE, start
        return fields, int(rest[17])
    except (IndexError, ValueError):
        return None


def _children(pid: int, threads: int = 0) -> list[int] | None:
    """Children of every thread of `pid`; None when the kernel has no children files. A
    single-threaded process (most of a tree) is read without listing its tasks: one syscall
    in three fewer per process of a scrape (issue 8)."""
    if threads == 1:
        data = _read(f"/proc/{pid}/task/{pid}/children", 1 << 16)
        if data is not None:
            return [int(p) for p in data.split()]
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    out: list[int] = []
    for tid in tids:
        data = _read(f"/proc/{pid}/task/{tid}/children", 1 << 16)
        if data is None:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None
        out.extend(int(p) for p in data.split())
    return out


def _all() -> Iterable[int]:
    try:
        entries = os.listdir("/proc")
    except OSError:
        return ()
    return (int(e) for e in entries if e.isdigit())


def below(root: int) -> Tree | None:
    """Every process under `root` (not `root` itself, zombies included), walked down the
    children files: each read once. None when the kernel has no children files."""
    first = _children(root)
    if first is None:
        return None
    tree: Tree = {}
    stack = first
    while stack:
        pid = stack.pop()
        if pid in tree or (read := _stat(pid)) is None:
            continue
        tree[pid] = read[0]
        stack.extend(_children(pid, read[1]) or ())
    return tree


def subtree(root: int) -> Tree:
    """Every process under `root` (not `root` itself, zombies included), each read once: down
    the children files, or without them (no CONFIG_PROC_CHILDREN) from every process on the
    machine, kept when its chain of parents reaches `root`."""
    tree = below(root)
    if tree is not None:
        return tree
    everyone: Tree = {}
    kids: dict[int, list[int]] = {}
    for pid in _all():
        if pid != root and (read := _stat(pid)) is not None:
            everyone[pid] = read[0]
            kids.setdefault(read[0][0], []).append(pid)
    tree = {}
    stack = list(kids.get(root, ()))
    while stack:
        pid = stack.pop()
        if pid not in tree:
            tree[pid] = everyone[pid]
            stack.extend(kids.get(pid, ()))
    return tree


def sample(
    groups: Mapping[str, tuple[int | None, int | None]], root: int | None = None
) -> dict[str, tuple[float, int, int]]:
    """``{instance: (main pid, pgid)}`` -> ``{instance: (cpu seconds, rss bytes, processes)}``
    for each instance with a live process: its main pid, the main pid's descendants and every
    member of its process group (a worker that left the tree but not the group still counts).
    """
    tree, live = instances(groups, root)
    out: dict[str, tuple[float, int, int]] = {}
    for name, pids in live.items():
        fields = [tree[pid] for pid in pids]
        out[name] = (sum(f[3] for f in fields), sum(f[4] for f in fields), len(fields))
    return out


def instances(
    groups: Mapping[str, tuple[int | None, int | None]], root: int | None = None
) -> tuple[Tree, dict[str, list[int]]]:
    """``{instance: (main pid, pgid)}`` -> the tree under `root` (pinit by default) and the
    live pids in it that are each instance's: its main pid, the main pid's descendants and
    every member of its process group (a worker that left the tree but not the group still
    counts). Instances with none are left out; with no process to look for, /proc is not read.
    """
    if not any(pid is not None or pgid is not None for pid, pgid in groups.values()):
        return {}, {}
    tree = subtree(os.getpid() if root is None else root)
    kids: dict[int, list[int]] = {}
    by_group: dict[int, list[int]] = {}
    for pid, (ppid, group, *_) in tree.items():
        kids.setdefault(ppid, []).append(pid)
        by_group.setdefault(group, []).append(pid)
    out: dict[str, list[int]] = {}
    for name, (main, pgid) in groups.items():
        seen: set[int] = set()
        stack = ([main] if main is not None else []) + (by_group.get(pgid, []) if pgid else [])
        while stack:
            pid = stack.pop()
            if pid in seen or pid not in tree:
                continue
            seen.add(pid)
            stack.extend(kids.get(pid, ()))
        live = sorted(pid for pid in seen if not tree[pid][2])
        if live:
            out[name] = live
    return tree, out


_BOOT: list[float] = []


def own() -> dict[str, float]:
    """pinit's own process figures, as every Prometheus client library names them."""
    times = os.times()
    out: dict[str, float] = {"cpu": times.user + times.system}
    statm = _read("/proc/self/statm")
    if statm:
        size, resident = statm.split()[:2]
        out["vms"], out["rss"] = int(size) * _PAGE, int(resident) * _PAGE
    stat = _read("/proc/self/stat", 1024)
    if not _BOOT:
        for line in (_read("/proc/stat", 1 << 20) or b"").splitlines():
            if line.startswith(b"btime "):
                _BOOT.append(float(line.split()[1]))
    if stat and _BOOT:
        started = int(stat[stat.rfind(b")") + 2 :].split()[19])
        out["start"] = _BOOT[0] + started / _TICK
    try:
        out["fds"] = len(os.listdir("/proc/self/fd"))
    except OSError:
        pass
    try:
        out["max_fds"] = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        pass
    return out
