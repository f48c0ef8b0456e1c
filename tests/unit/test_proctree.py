"""One /proc pass for /metrics (issue 8): an instance's tree and group, from real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from pinit.runtime import proctree


def test_a_tree_and_its_group_are_summed() -> None:
    # sh forks a sleep that stays in the group, prints once it exists, then execs a sleep.
    proc = subprocess.Popen(
        ["sh", "-c", "sleep 100 & echo up; exec sleep 100"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"up\n"
        # Resident memory is the kernel's per-CPU batched counter (percpu_counter_read): a
        # process that just exec'd may read 0 for a moment. Sampled again until it shows, each
        # sample counting both processes; bounded by the deadline, no sleep.
        deadline = time.monotonic() + 10
        while True:
            got = proctree.sample({"web": (proc.pid, proc.pid), "gone": (None, None)})
            cpu, rss, count = got["web"]
            assert count == 2 and cpu >= 0
            if rss > 100_000 or time.monotonic() > deadline:
                break
        assert rss > 100_000
        assert "gone" not in got
        assert proctree.sample({"none": (None, None)}) == {}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_own_figures() -> None:
    mine = proctree.own()
    assert mine["rss"] > 1 << 20 and mine["vms"] >= mine["rss"]
    assert mine["fds"] >= 3 and mine["cpu"] > 0 and mine["start"] > 1e9
