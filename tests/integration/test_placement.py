"""Issue 9, placement and priority: `cpu_affinity`, `nice` and `oom_score_adj` are set in the
child before exec, read back from /proc of the running program (not from what it claims)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import start, svc


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def nice_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[16])  # field 19: after comm, 17th


def oom_of(pid: int) -> int:
    with open(f"/proc/{pid}/oom_score_adj") as f:
        return int(f.read())


def instance_num(pid: int) -> int:
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    return int(env[b"PINIT_PROCESS_NUM"])


def test_affinity_nice_and_oom_score_adj(launch: type[Launch], tmp_path: Path) -> None:
    cpu = max(os.sched_getaffinity(0))  # a CPU this machine lets us use, whatever its count
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.placed]
        command = {svc("run", "placed")}
        cpu_affinity = [{cpu}]
        nice = 7
        oom_score_adj = 321
        [programs.plain]
        command = {svc("run", "plain")}
        """,
        mode="plain",
    )
    placed = events.wait("placed", "start").pid
    plain = events.wait("plain", "start").pid
    assert proc_status(placed)["Cpus_allowed_list"] == str(cpu)
    assert nice_of(placed) == 7
    assert oom_of(placed) == 321
    # a program without the keys keeps pinit's own (the posix_spawn path, unchanged)
    assert proc_status(plain)["Cpus_allowed_list"] == proc_status(os.getpid())["Cpus_allowed_list"]
    assert nice_of(plain) == nice_of(os.getpid())
    assert oom_of(plain) == oom_of(os.getpid())
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_spread_pins_instance_n_to_cpu_n_minus_1(launch: type[Launch], tmp_path: Path) -> None:
    """Two instances: on 2+ CPUs they land on different CPUs, on 1 CPU both on it."""
    allowed = sorted(os.sched_getaffinity(0))
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.w]
        command = {svc("run", "w")}
        numprocs = 2
        cpu_affinity = "spread"
        """,
        mode="plain",
    )
    pids = [events.wait("w", "start").pid for _ in range(2)]
    got = {instance_num(pid): proc_status(pid)["Cpus_allowed_list"] for pid in pids}
    assert got == {1: str(allowed[0]), 2: str(allowed[1 % len(allowed)])}
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_lowering_without_privilege_is_a_failed_start_naming_the_key(
    launch: type[Launch], tmp_path: Path
) -> None:
    """pinit as root without CAP_SYS_NICE / CAP_SYS_RESOURCE (setpriv drops them from the
    bounding set): each program fails to start with the key in the message; pinit lives on."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop CAP_SYS_NICE and CAP_SYS_RESOURCE")
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [pinit]
        on_fatal = "ignore"
        [programs.greedy]
        command = {svc("run", "greedy")}
        nice = -5
        restart = "never"
        [programs.immortal]
        command = {svc("run", "immortal")}
        oom_score_adj = -500
        restart = "never"
        [programs.fine]
        command = {svc("run", "fine")}
        """,
        mode="plain",
        stdout=subprocess.DEVNULL,
        wrap=("setpriv", "--bounding-set=-sys_nice,-sys_resource"),
    )
    lines = [pinit.wait_stderr("cannot set"), pinit.wait_stderr("cannot set")]
    assert any("greedy" in ln and "cannot set nice for" in ln for ln in lines), lines
    assert any("immortal" in ln and "cannot set oom_score_adj for" in ln for ln in lines), lines
    assert all("Permission denied" in ln for ln in lines), lines
    events.wait("fine", "start")  # pinit lives on and runs the rest
    pinit.signal(signal.SIGTERM)
    _, _, err = pinit.finish()
    assert "Traceback" not in pinit.err_seen.decode() + err
    assert events.count("greedy", "start") == events.count("immortal", "start") == 0
