"""The PID-1 core measures (issue 2): start, memory, forwarding, reaping and idle cost.

Every measure interleaves the inits round by round, so a burst of load from whatever else
runs on the machine lands on every row alike instead of on one init's whole series.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from benchlib.inits import PYTHON, Init
from benchlib.procs import Proc, Tracker

PROGRAMS = Path(__file__).resolve().parent / "programs"
CHILD = [PYTHON, "-I", "-S", str(PROGRAMS / "child.py")]
TRUE = "/usr/bin/true"
WARMUP = 3


@dataclass(frozen=True, slots=True)
class Params:
    """Sample counts and windows; `quick` shrinks them all for a sub-minute development run."""

    start_runs: int = 40
    instances: int = 10
    signals_per_instance: int = 3
    reap_runs: int = 10
    orphans: int = 2000
    none_give_up: float = 1.0
    idle_window: float = 30.0
    idle_settle: float = 1.0
    signal_gap: float = 0.05

    @classmethod
    def quick(cls) -> Params:
        return cls(10, 3, 7, 3, 300, 0.2, 2.0, 0.2, 0.02)


UNSHARE = ("/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child")


def start_overhead(
    inits: list[Init], runs: int, wrap: tuple[str, ...] = ()
) -> dict[str, list[float]]:
    """Wall ms of `INIT -- true` (bare `true` for none): posix_spawn until waitpid returns.

    `wrap` = UNSHARE measures it as PID 1 of a new PID namespace, as in a container: there
    /proc holds a handful of entries, where outside it holds the whole host's (pinit's exit
    sweep reads them all).
    """
    samples: dict[str, list[float]] = {init.name: [] for init in inits}
    for round_no in range(WARMUP + runs):
        for init in inits:
            elapsed = _time_run([*wrap, *init.argv([TRUE])])
            if round_no >= WARMUP:
                samples[init.name].append(elapsed)
    return samples


def _time_run(argv: list[str]) -> float:
    start = time.perf_counter_ns()
    proc = Proc(argv, capture=False)
    try:
        status = proc.wait(30)
    finally:
        proc.kill()
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if status != 0:
        raise RuntimeError(f"{argv} exited {status}")
    return elapsed


def memory_and_forwarding(inits: list[Init], params: Params) -> dict[str, dict[str, list[float]]]:
    """Per init: RSS/PSS kB of the init while its child sleeps, and SIGTERM forwarding ms.

    One instance serves several signals (the child survives SIGTERM); the child stamps
    CLOCK_MONOTONIC in its handler, the bench stamps the same clock just before kill().
    Signals are `signal_gap` apart so each finds the CPUs idle, as a `docker stop` does: sent
    back to back, they hit warm cores and read ~10x faster than any real stop.
    """
    out: dict[str, dict[str, list[float]]] = {
        init.name: {"rss_kb": [], "pss_kb": [], "forward_ms": []} for init in inits
    }
    for _ in range(params.instances):
        for init in inits:
            with Tracker() as tracker:
                proc = tracker.start(init.argv(CHILD))
                child = int(proc.read_line().split()[1])
                if not init.is_none:
                    rss, pss = smaps_rollup(proc.pid)
                    out[init.name]["rss_kb"].append(rss)
                    out[init.name]["pss_kb"].append(pss)
                for _ in range(params.signals_per_instance):
                    _await_no_exit({init.name: proc}, params.signal_gap)
                    out[init.name]["forward_ms"].append(_forward_once(proc))
                os.kill(child, signal.SIGKILL)
                proc.wait(10)
    return out


def _forward_once(proc: Proc) -> float:
    sent = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    os.kill(proc.pid, signal.SIGTERM)
    received = int(proc.read_line(10))
    return (received - sent) / 1e6


def smaps_rollup(pid: int) -> tuple[int, int]:
    """(Rss, Pss) in kB: PSS splits shared pages among their users, so it is the real cost."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return fields["Rss"], fields["Pss"]


def reaping(inits: list[Init], params: Params) -> dict[str, list[dict[str, float]]]:
    """2,000 double-forked orphans with the init as PID 1 of a fresh PID namespace."""
    program = [PYTHON, "-I", "-S", str(PROGRAMS / "orphans.py"), str(params.orphans)]
    out: dict[str, list[dict[str, float]]] = {init.name: [] for init in inits}
    for _ in range(params.reap_runs):
        for init in inits:
            give_up = params.none_give_up if init.is_none else 5.0
            with Tracker() as tracker:
                proc = tracker.start([*UNSHARE, *init.argv([*program, str(give_up)])])
                out[init.name].append(json.loads(proc.read_line(120)))
                proc.wait(30)
    return out


def idle_cost(inits: list[Init], params: Params) -> dict[str, dict[str, float]]:
    """CPU ns and context switches of every init at once over one window, children asleep.

    The window is awaited on the inits' pidfds: an init that dies early ends it with an error.
    """
    inits = [init for init in inits if not init.is_none]
    with Tracker() as tracker:
        procs = {init.name: tracker.start(init.argv(CHILD)) for init in inits}
        for proc in procs.values():
            proc.read_line()
        _await_no_exit(procs, params.idle_settle)
        before = {name: _counters(proc.pid) for name, proc in procs.items()}
        started = time.monotonic()
        _await_no_exit(procs, params.idle_window)
        elapsed = time.monotonic() - started
        after = {name: _counters(proc.pid) for name, proc in procs.items()}
    return {name: _rates(before[name], after[name], elapsed) for name in procs}


def _await_no_exit(procs: dict[str, Proc], seconds: float) -> None:
    ready, _, _ = select.select([p.pidfd for p in procs.values()], [], [], seconds)
    if ready:
        dead = [name for name, p in procs.items() if p.pidfd in ready]
        raise RuntimeError(f"init exited during the idle window: {dead}")


def _counters(pid: int) -> dict[str, int]:
    """schedstat's run time (ns) is exact where /proc/PID/stat only counts 10 ms ticks."""
    stat = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "ticks": int(stat[11]) + int(stat[12]),
        "sched_ns": int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]),
        "voluntary": int(status["voluntary_ctxt_switches"]),
        "involuntary": int(status["nonvoluntary_ctxt_switches"]),
    }


def _rates(before: dict[str, int], after: dict[str, int], seconds: float) -> dict[str, float]:
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    return {
        "window_s": seconds,
        "cpu_ms_ticks": (after["ticks"] - before["ticks"]) * tick_ms,
        "cpu_ms": (after["sched_ns"] - before["sched_ns"]) / 1e6,
        "wakeups_per_s": (after["voluntary"] - before["voluntary"]) / seconds,
        "involuntary": after["involuntary"] - before["involuntary"],
    }
