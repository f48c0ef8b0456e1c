"""CPU and memory of each program instance, sampled only when `pinit ctl status` asks.

No timer of its own: an idle pinit must make zero wake-ups, and nobody reads the numbers in
between. CPU % is therefore measured between two status calls (the previous sample is kept),
and for a process not seen before, over its whole life (cpu time / age) — honest, if smooth.

An instance's processes are its main pid plus every live process in its process group and the
main pid's descendants (a worker that left the group but not the tree still counts). Samples
are keyed by (pid, create_time): a pid the kernel recycled for an unrelated process is never
mixed with the old one's numbers, and psutil re-checks create_time before each read.

psutil is imported here, lazily, only on the first status request: its import costs PID 1
several milliseconds of start that no one is waiting for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping

from pinit.records import dataclass

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    import psutil

__all__ = ["Sampler", "Usage", "UsageSampler"]

Ident = tuple[int, float]  # pid, create_time


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_percent: float
    rss: int  # bytes, summed over the instance's processes
    processes: int


if TYPE_CHECKING:
    from typing import Protocol

    class UsageSampler(Protocol):
        """What `ctl status` needs; injected into the operator, so unit tests (which pass a fake)
        never sample the host's processes through psutil (issue 7)."""

        def sample(
            self, groups: Mapping[str, tuple[int | None, int | None]]
        ) -> dict[str, Usage]: ...


class Sampler:
    """The psutil implementation of UsageSampler."""

    def __init__(self) -> None:
        self._last: dict[Ident, tuple[float, float]] = {}  # -> (wall time, cpu seconds)

    def sample(self, groups: Mapping[str, tuple[int | None, int | None]]) -> dict[str, Usage]:
        """``{instance: (main pid, pgid)}`` -> usage of each instance that has a process."""
        import psutil

        by_group: dict[int, list[int]] = {}
        wanted = {pgid for _, pgid in groups.values() if pgid is not None}
        if wanted:
            for other in psutil.pids():
                try:
                    group = os.getpgid(other)
                except OSError:
                    continue
                if group in wanted:
                    by_group.setdefault(group, []).append(other)
        now = time.time()
        seen: dict[Ident, tuple[float, float]] = {}
        result: dict[str, Usage] = {}
        for name, (pid, pgid) in groups.items():
            procs = self._members(pid, by_group.get(pgid, []) if pgid else [])
            if not procs:
                continue
            cpu = rss = 0.0
            for proc in procs:
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        used = times.user + times.system
                        rss += proc.memory_info().rss
                        ident = (proc.pid, proc.create_time())
                except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                    continue
                then, before = self._last.get(ident, (ident[1], 0.0))
                if now > then:
                    cpu += max(0.0, used - before) / (now - then) * 100.0
                seen[ident] = (now, used)
            result[name] = Usage(round(cpu, 1), int(rss), len(procs))
        self._last = seen  # forget the dead: the table never outgrows the live processes
        return result

    @staticmethod
    def _members(pid: int | None, group: Iterable[int]) -> list[psutil.Process]:
        import psutil

        procs: dict[int, psutil.Process] = {}
        candidates = list(group)
        if pid is not None:
            try:
                main = psutil.Process(pid)
                procs[pid] = main
                candidates += [child.pid for child in main.children(recursive=True)]
            except psutil.Error:
                pass
        for cpid in candidates:
            if cpid not in procs:
                try:
                    procs[cpid] = psutil.Process(cpid)  # records its create_time now
                except psutil.Error:
                    continue
        return list(procs.values())
