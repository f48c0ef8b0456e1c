"""One /proc pass for /metrics (issue 8): an instance's tree and group, from real processes."""

from __future__ import annotations

import os
import signal
import subprocess

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
        got = proctree.sample({"web": (proc.pid, proc.pid), "gone": (None, None)})
        cpu, rss, count = got["web"]
        assert count == 2 and rss > 100_000 and cpu >= 0
        assert "gone" not in got
        assert proctree.sample({"none": (None, None)}) == {}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_own_figures() -> None:
    mine = proctree.own()
    assert mine["rss"] > 1 << 20 and mine["vms"] >= mine["rss"]
    assert mine["fds"] >= 3 and mine["cpu"] > 0 and mine["start"] > 1e9
