"""Issue 9: `pinit ctl scale` and `title = true` against a real pinit, pids read from /proc."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import svc
from tests.integration.test_ctl import ctl, status, up

HEAD = 'name = "t9"\n'


def config(count: int) -> str:
    return f"""
[programs.w]
command = {svc("run", "w")}
numprocs = {count}
start_seconds = 0
title = true
"""


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode().split("\0")[:-1]


def pids(sock: Path) -> dict[str, int]:
    return {name: int(str(i["pid"])) for name, i in status(sock).items() if i["pid"]}


def test_scale_1_8_2_keeps_pids_stops_highest_first_and_titles_stay_dense(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events, sock = up(launch, tmp_path, config(1), head=HEAD)  # host pids for /proc
    first = events.wait("w", "start").pid
    assert cmdline(first)[0] == "pinit-t9-w-1"
    assert cmdline(first)[-2:] == ["run", "w"]  # the rest of argv is the command's

    rc, out, err = ctl(sock, "scale", "w", "8")
    assert rc == 0, err
    assert out == "w: scaled to 8\n"
    started = {events.wait("w", "start").pid for _ in range(7)}
    now = pids(sock)
    assert now["w-1"] == first  # renamed w -> w-1 by the count, same process
    assert set(now) == {f"w-{n}" for n in range(1, 9)}
    assert set(now.values()) == started | {first}
    for name, pid in now.items():
        assert cmdline(pid)[0] == f"pinit-t9-{name}"  # title number = instance number

    rc, _, err = ctl(sock, "scale", "w", "2")
    assert rc == 0, err
    order = [pinit.wait_stderr(f"w-{n}: stopping") for n in range(8, 2, -1)]
    assert len(order) == 6  # each found after the previous one: highest first
    for _ in range(6):
        events.wait("w", "term")
    pinit.wait_stderr("w-3: stopped")
    assert pids(sock) == {"w-1": now["w-1"], "w-2": now["w-2"]}

    # a reload whose only change is numprocs scales: the others keep their pids
    (tmp_path / "pinit.toml").write_text(
        (tmp_path / "pinit.toml").read_text().replace("numprocs = 1", "numprocs = 3")
    )
    rc, _, err = ctl(sock, "reload")
    assert rc == 0, err
    third = events.wait("w", "start").pid
    after = pids(sock)
    assert after == {"w-1": now["w-1"], "w-2": now["w-2"], "w-3": third}
    assert cmdline(third)[0] == "pinit-t9-w-3"
    assert all(i["restarts"] == 0 for i in status(sock).values())  # scaling is no restart

    rc, _, err = ctl(sock, "scale", "w", "0")
    assert rc == 0, err
    for _ in range(3):
        events.wait("w", "term")
    pinit.wait_stderr("scale w: 3 -> 0")
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_scale_refusals(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, config(1), head=HEAD)
    events.wait("w", "start")
    rc, _, err = ctl(sock, "scale", "nope", "2")
    assert rc == 1 and "no program 'nope'" in err
    rc, _, err = ctl(sock, "scale", "w", "10001")
    assert rc == 2 and "0..10000" in err
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_title_on_the_fork_path_too(launch: type[Launch], tmp_path: Path) -> None:
    """`cwd` needs the fork path (posix_spawn cannot chdir): the title is set there too."""
    body = config(2) + f'cwd = "{tmp_path}"\n'
    pinit, events, _ = up(launch, tmp_path, body, head=HEAD)
    got = sorted(cmdline(events.wait("w", "start").pid)[0] for _ in range(2))
    assert got == ["pinit-t9-w-1", "pinit-t9-w-2"]
    assert re.search(rb"w-1: started pid \d+: \S*python", pinit.err_seen)  # the real command
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
