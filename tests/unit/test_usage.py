"""`ctl status` and max_memory's sampler (runtime/usage.py) on real processes: one proctree
pass over pinit's own tree, CPU % between two samples, zero for a process that did not run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from pinit.runtime.usage import Sampler

# Waits for a line on stdin, spins until it has used 50 ms more CPU, says so, then waits on
# stdin again without running.
SPINNER = (
    "import sys, time\n"
    "sys.stdin.readline()\n"
    "until = time.process_time() + 0.05\n"
    "while time.process_time() < until: pass\n"
    "sys.stdout.write('spun\\n'); sys.stdout.flush()\n"
    "sys.stdin.read()\n"
)


def test_cpu_between_samples_and_memory_of_a_tree_and_its_group() -> None:
    sampler = Sampler()
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", SPINNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        groups = {"spin": (proc.pid, proc.pid), "gone": (None, None)}
        sampler.sample(groups)  # the first: over the process's life so far, before it spins
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"spun\n"
        _await_blocked(proc.pid)  # in its read of stdin: from here on it uses no CPU
        busy = sampler.sample(groups)
        assert set(busy) == {"spin"}  # nothing for an instance with no process
        assert busy["spin"].processes == 1
        assert busy["spin"].cpu_percent > 0  # it spun between the two samples
        assert busy["spin"].rss > 1 << 20
        idle = sampler.sample(groups)
        assert idle["spin"].cpu_percent == 0.0  # blocked on stdin: no tick since the last
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert sampler.sample({"spin": (proc.pid, proc.pid)}) == {}  # gone: left out
    assert sampler.sample({"none": (None, None)}) == {}


def _await_blocked(pid: int) -> None:
    """Until the process sleeps (its state in /proc is S); bounded, it takes microseconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        if data[data.rfind(b")") + 2 :].split()[0] == b"S":
            return
        os.sched_yield()
    raise TimeoutError(f"pid {pid} never blocked")


def test_descendants_and_group_members_both_count() -> None:
    # sh forks a sleep that stays in the group, prints once it exists, then execs a sleep;
    # a third process joins sh's group without descending from it (same session: setpgid).
    proc = subprocess.Popen(
        ["sh", "-c", "sleep 100 & echo up; exec sleep 100"],
        stdout=subprocess.PIPE,
        process_group=0,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        joined = subprocess.Popen(["sleep", "100"], process_group=proc.pid)
        try:
            assert os.getpgid(joined.pid) == proc.pid
            assert Sampler().sample({"web": (proc.pid, proc.pid)})["web"].processes == 3
            assert Sampler().sample({"web": (proc.pid, None)})["web"].processes == 2  # the tree
            assert Sampler().sample({"web": (None, proc.pid)})["web"].processes == 3  # the group
        finally:
            joined.kill()
            joined.wait()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
