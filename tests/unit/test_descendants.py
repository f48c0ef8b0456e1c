"""runtime.pid1.descendants: the tree under a process, down the children files or, without
them, from every process's ppid; both ways give the same answer (issue 7: a restart's view of
the tree no longer reads every process on the host)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pinit.runtime import pid1, proctree

TREE = r"""
import os, sys, time
r, w = os.pipe()
life_r, life_w = os.pipe()  # EOF for the setsid'd pair once the root is gone, however it went
if os.fork() == 0:          # a child in a session of its own, with a child of its own
    os.close(life_w)
    os.setsid()
    if os.fork() == 0:
        os.write(w, b"%d %d\n" % (os.getpid(), os.getpgrp()))
        os.read(life_r, 1)
        os._exit(0)
    os.read(life_r, 1)
    os._exit(0)
zombie = os.fork()
if zombie == 0:
    os._exit(0)
os.close(w)
line = os.read(r, 100)      # the grandchild is up
os.waitid(os.P_PID, zombie, os.WEXITED | os.WNOWAIT)  # its exit, left unreaped: a zombie
sys.stdout.write(f"{zombie} {line.decode()}")
sys.stdout.flush()
time.sleep(60)
"""


@pytest.fixture
def tree() -> Iterator[tuple[int, int, int, int]]:
    """(root pid, zombie pid, grandchild pid, grandchild pgid)."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", TREE], stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout is not None
    groups = [proc.pid]  # the root leads its own session's group
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "the tree never came up"
        zombie, grandchild, pgid = map(int, proc.stdout.readline().split())
        groups.append(pgid)  # the setsid'd child's, the grandchild's too
        yield proc.pid, zombie, grandchild, pgid
    finally:
        for group in groups:  # by group, not by the walk under test
            pid1.kill_group(group, signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()


@pytest.mark.parametrize("walk", ["children files", "every ppid"])
def test_the_tree_its_groups_and_its_zombie(
    tree: tuple[int, int, int, int], walk: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, zombie, grandchild, pgid = tree
    if walk == "every ppid":
        monkeypatch.setattr(proctree, "below", lambda root: None)
    elif proctree.below(root) is None:
        pytest.skip("this kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)")
    found = pid1.descendants(root)
    assert found[grandchild] == pgid != os.getpgid(root)
    assert found[zombie] == os.getpgid(root)
    assert len(found) == 3  # the session leader, its child, the zombie
    assert zombie not in pid1.descendants(root, live=True)
    assert grandchild in pid1.descendants(root, live=True)
