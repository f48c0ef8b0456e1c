"""Issue 9: an instance replaced under a new name kept its old log pipes open for good.

A single instance is named `w`; with numprocs > 1 the same index is `w-1`. When a reload
(or a roll) replaced that instance once it was down, the fresh one took the key under the new
name, and the log streams opened for `w` (pinit holds their write ends, to hand to the next
run) were never forgotten: two pipes (four fds) leaked per such replacement, and scale and
rolling restarts make numprocs cross 1 routinely. The supervisor now forgets the old name's
streams when the plan replaced an instance under another name.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import fd_targets, svc
from tests.integration.test_ctl import ctl, status, up


def config(tmp_path: Path, count: int, version: str) -> str:
    return f"""
[programs.w]
command = {svc("run", "w")}
numprocs = {count}
start_seconds = 0
environment = {{ V = "{version}" }}
stdout = {{ file = "{tmp_path / "w.log"}" }}
"""


def pipes(pid: int) -> int:
    """pinit's pipes above fd 2 (an fd it closes while we look is skipped, not an error)."""
    return sum(1 for target in fd_targets(pid) if target.startswith("pipe:"))


def test_replacing_w_by_w_1_leaves_no_pipe_behind(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, config(tmp_path, 1, "1"))
    events.wait("w", "start")
    one = pipes(pinit.proc.pid)
    body = (tmp_path / "pinit.toml").read_text()
    (tmp_path / "pinit.toml").write_text(
        body.replace(config(tmp_path, 1, "1"), config(tmp_path, 2, "2"))
    )
    rc, _, err = ctl(sock, "reload")
    assert rc == 0, err
    events.wait("w", "term")  # the old `w` stopped ...
    events.wait("w", "start")  # ... and `w-1`, `w-2` run the new definition
    events.wait("w", "start")
    assert set(status(sock)) == {"w-1", "w-2"}  # one more turn: the old pipe's EOF is read
    assert pipes(pinit.proc.pid) == one + 4  # two streams of two fds for the one new instance
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
