"""CPU and memory of each program instance, sampled only when asked: by `pinit ctl status`, and
by the ``max_memory`` timer while a program sets it.

No timer of its own: an idle pinit must make zero wake-ups, and nobody reads the numbers in
between. CPU % is therefore measured between two samples (the previous one is kept), and for a
process not seen before, over its whole life (cpu time / age): honest, if smooth.

One pass over pinit's own process tree (runtime/proctree.py), as /metrics does: psutil, used
here before, answered each instance's ``children(recursive=True)`` with a scan of every process
on the machine, so one status of 50 programs on a busy host read 50 x the host's /proc on
PID 1's loop. Samples are keyed by (pid, start time): a pid the kernel recycled for an
unrelated process is never mixed with the old one's numbers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from pinit.records import dataclass
from pinit.runtime import proctree

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = ["Sampler", "Usage", "UsageSampler"]

Ident = tuple[int, float]  # pid, start (seconds after boot)


@dataclass(frozen=True, slots=True)
class Usage:
    cpu_percent: float
    rss: int  # bytes, summed over the instance's processes
    processes: int


if TYPE_CHECKING:
    from typing import Protocol

    class UsageSampler(Protocol):
        """What `ctl status` and max_memory need; injected into the operator and the limits,
        so unit tests (which pass a fake) never sample the host's processes (issue 7)."""

        def sample(
            self, groups: Mapping[str, tuple[int | None, int | None]]
        ) -> dict[str, Usage]: ...


class Sampler:
    """The /proc implementation of UsageSampler."""

    def __init__(self) -> None:
        self._last: dict[Ident, tuple[float, float]] = {}  # -> (sampled at, cpu seconds)

    def sample(self, groups: Mapping[str, tuple[int | None, int | None]]) -> dict[str, Usage]:
        """``{instance: (main pid, pgid)}`` -> usage of each instance that has a live process."""
        tree, live = proctree.instances(groups)
        now = time.clock_gettime(time.CLOCK_BOOTTIME)  # the clock of /proc's start times
        seen: dict[Ident, tuple[float, float]] = {}
        result: dict[str, Usage] = {}
        for name, pids in live.items():
            cpu = 0.0
            rss = 0
            for pid in pids:
                _, _, _, used, resident, start = tree[pid]
                ident = (pid, start)
                then, before = self._last.get(ident, (start, 0.0))
                if now > then:
                    cpu += max(0.0, used - before) / (now - then) * 100.0
                seen[ident] = (now, used)
                rss += resident
            result[name] = Usage(round(cpu, 1), rss, len(pids))
        self._last = seen  # forget the dead: the table never outgrows the live processes
        return result
