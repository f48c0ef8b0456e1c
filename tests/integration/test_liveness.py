"""Issue 8: liveness probes against a real pinit and a server whose port stops answering."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import free_port, start, svc
from tests.integration.test_ctl import status

INTERVAL, TIMEOUT, FAILURES = 0.3, 0.2, 3
MARGIN = 1.5  # the loop's own latency on a loaded 2-core machine


def _hanging(tmp_path: Path, restart: str) -> tuple[str, Path]:
    port, sock = free_port(), tmp_path / "ctl.sock"
    live = (
        f'{{ http = "http://127.0.0.1:{port}/", interval = "{INTERVAL}s", '
        f'timeout = "{TIMEOUT}s", failures = {FAILURES} }}'
    )
    body = f"""
        [pinit]
        control_socket = "{sock}"
        [programs.web]
        command = {svc("hang", "web", str(port))}
        restart = "{restart}"
        # running (and so probed for liveness) once the port is open, however slow the start
        start_seconds = 30
        ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
        live = {live}
        [programs.other]
        command = {svc("run", "other")}
        """
    return body, sock


def test_a_hung_program_is_restarted_within_interval_x_failures_plus_timeout(
    launch: type[Launch], tmp_path: Path
) -> None:
    body, sock = _hanging(tmp_path, "always")
    pinit, events = start(launch, tmp_path, body, mode="plain")
    first = events.wait("web", "listening")
    events.wait("other", "start")
    pinit.wait_stderr(f"control socket {sock}")
    os.kill(first.pid, 10)  # SIGUSR1: stop answering, stay alive
    hung = events.wait("web", "hang")
    term = events.wait("web", "term")  # the stop signal of the liveness restart
    assert term.pid == first.pid
    seconds = (term.ns - hung.ns) / 1e9
    assert seconds <= INTERVAL * FAILURES + TIMEOUT + MARGIN, seconds
    second = events.wait("web", "listening")
    assert second.pid != first.pid
    line = pinit.wait_stderr("liveness probe failed 3 times in a row: restarting")
    assert line.startswith("pinit") or "web" in line
    web = status(sock)["web"]
    assert web["restarts"] == 1
    assert events.so_far("other", "term") == 0  # nothing else was touched
    pinit.signal(15)
    assert pinit.finish()[0] == 0


def test_liveness_with_restart_never_leaves_it_stopped(
    launch: type[Launch], tmp_path: Path
) -> None:
    body, sock = _hanging(tmp_path, "never")
    pinit, events = start(launch, tmp_path, body, mode="plain", extra=("-v",))
    first = events.wait("web", "listening")
    pinit.wait_stderr(f"control socket {sock}")
    os.kill(first.pid, 10)
    events.wait("web", "term")
    pinit.wait_stderr("leaving it stopped")
    pinit.wait_stderr("web: cleanup -> exited")
    web = status(sock)["web"]
    assert web["state"] == "exited"
    assert web["last_exit"] == 0  # svc exits 0 on TERM: still not restarted (policy never)
    assert events.so_far("web", "listening") == 1
    pinit.signal(15)
    assert pinit.finish()[0] == 0


def _switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches")


def test_a_program_without_live_costs_no_wakeup(launch: type[Launch], tmp_path: Path) -> None:
    """Idle pinit with a program that has no `live`: it sleeps through a window in which a
    probe (of the shortest interval the test above uses) would have run several times. The
    window ends at a marker written by a process outside pinit."""
    body = f"""
        [pinit]
        control_socket = "{tmp_path / "ctl.sock"}"
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = 0
        """
    pinit, events = start(launch, tmp_path, body, mode="plain")
    events.wait("web", "start")
    pinit.wait_stderr("control socket")
    before = _switches(pinit.proc.pid)
    beacon = subprocess.Popen(
        [sys.executable, "-c", f"import time; time.sleep({INTERVAL * 4}); print()"],
        stdout=subprocess.PIPE,
    )
    assert beacon.stdout is not None
    assert beacon.stdout.readline() == b"\n"  # the window's end: an event, not our sleep
    beacon.wait(timeout=10)
    assert _switches(pinit.proc.pid) == before
    pinit.signal(15)
    assert pinit.finish()[0] == 0


def test_a_command_probe_waits_out_initial_delay(launch: type[Launch], tmp_path: Path) -> None:
    """No attempt before initial_delay from RUNNING; then a failing check command restarts."""
    delay = 0.8
    body = f"""
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = 0
        live.command = ["test", "-e", "{tmp_path / "absent"}"]
        live.interval = "0.1s"
        live.failures = 1
        live.initial_delay = "{delay}s"
        """
    launched = time.monotonic_ns()  # before RUNNING, whatever the program's own start costs
    pinit, events = start(launch, tmp_path, body, mode="plain")
    first = events.wait("web", "start")
    term = events.wait("web", "term")
    assert term.pid == first.pid
    assert (term.ns - launched) / 1e9 >= delay
    second = events.wait("web", "start")  # restarted (on-failure: a liveness kill is one)
    assert second.pid != first.pid
    pinit.signal(15)
    assert pinit.finish()[0] == 0
