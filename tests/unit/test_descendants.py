"""runtime.pid1.descendants: the tree under a process, down the children files or, without
them, from every process's ppid; both ways give the same answer (issue 7: a restart's view of
the tree no longer reads every process on the host)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from pinit.runtime import pid1, proctree

TREE = r"""
import os, sys, time
r, w = os.pipe()
if os.fork() == 0:          # a child in a session of its own, with a child of its own
    os.setsid()
    if os.fork() == 0:
        os.write(w, b"%d %d\n" % (os.getpid(), os.getpgrp()))
        time.sleep(60)
    time.sleep(60)
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
    zombie, grandchild, pgid = map(int, proc.stdout.readline().split())
    try:
        yield proc.pid, zombie, grandchild, pgid
    finally:
        for pid in pid1.descendants(proc.pid):
            pid1.kill_pid(pid, signal.SIGKILL)
        proc.kill()
        proc.wait()


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
