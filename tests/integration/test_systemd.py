"""pinit under a Type=notify unit: a fake systemd listens on NOTIFY_SOCKET and reads what
pinit tells it (READY=1 only once its programs are ready, STOPPING=1, watchdog pings)."""

from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import free_port, start, svc

# Records "env <NOTIFY_SOCKET it sees> 0 0"; `$$` is pinit's escape for a literal `$`.
REPORT_SOCKET = (
    '["sh", "-c", "echo \\"env $${NOTIFY_SOCKET:-none} 0 0\\" >> \\"$$EVENTS\\"; exec sleep 1000"]'
)


class FakeSystemd:
    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def next(self, timeout: float = 10.0) -> tuple[dict[str, str], int]:
        """The next message as fields, with its arrival time (monotonic ns)."""
        if not select.select([self.sock], [], [], timeout)[0]:
            raise TimeoutError(f"no sd_notify message within {timeout}s")
        data = self.sock.recv(4096)
        fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        return fields, time.monotonic_ns()

    def wait_for(self, key: str, timeout: float = 10.0) -> tuple[dict[str, str], int]:
        deadline = time.monotonic() + timeout
        while True:
            fields, at = self.next(max(0.0, deadline - time.monotonic()))
            if key in fields:
                return fields, at


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[FakeSystemd]:
    fake = FakeSystemd(tmp_path / "notify.sock")
    yield fake
    fake.sock.close()


def test_ready_only_when_programs_are_ready_then_stopping(
    launch: type[Launch], tmp_path: Path, systemd: FakeSystemd
) -> None:
    port = free_port()
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.db]
        command = {svc("listen", "db", str(port), "0.4")}
        ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
        [programs.env]
        command = {REPORT_SOCKET}
        """,
        env_extra={"NOTIFY_SOCKET": systemd.path},
    )
    ready, ready_at = systemd.wait_for("READY")
    assert ready["READY"] == "1" and "running" in ready.get("STATUS", "")
    assert ready_at > events.wait("db", "listening").ns
    child_sees = next(ev.what for ev in events.seen if ev.name == "env")
    # Never systemd's socket; and not pinit's either: env does not use sd_notify (issue 7.4).
    assert child_sees == "none"
    pinit.signal(signal.SIGTERM)
    stopping, _ = systemd.wait_for("STOPPING")
    assert stopping["STOPPING"] == "1"
    assert pinit.finish()[0] == 0


def test_watchdog_pings_at_half_the_interval(
    launch: type[Launch], tmp_path: Path, systemd: FakeSystemd
) -> None:
    pinit, _ = start(
        launch,
        tmp_path,
        f"[programs.a]\ncommand = {svc('run', 'a')}\n",
        mode="plain",
        env_extra={"NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "400000"},
    )
    pings = []
    while len(pings) < 4:
        fields, at = systemd.next()
        if fields.get("WATCHDOG") == "1":
            pings.append(at)
    gaps = sorted(b - a for a, b in itertools.pairwise(pings))
    assert 0.15e9 < gaps[len(gaps) // 2] < 0.3e9  # half of 0.4 s, give or take the scheduler
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_no_watchdog_for_another_pid(
    launch: type[Launch], tmp_path: Path, systemd: FakeSystemd
) -> None:
    env = {"NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"}
    pinit, _ = start(
        launch,
        tmp_path,
        f"[programs.a]\ncommand = {svc('run', 'a')}\n",
        mode="plain",
        env_extra=env,
    )
    systemd.wait_for("READY")
    pinit.signal(signal.SIGTERM)
    systemd.wait_for("STOPPING")
    assert pinit.finish()[0] == 0
    systemd.sock.setblocking(False)
    leftover = []
    while True:
        try:
            leftover.append(systemd.sock.recv(4096))
        except BlockingIOError:
            break
    assert not any(b"WATCHDOG=1" in msg for msg in leftover)


def test_single_child_mode_reports_ready_and_hides_the_socket(
    launch: type[Launch], systemd: FakeSystemd
) -> None:
    env = {**os.environ, "NOTIFY_SOCKET": systemd.path}
    run_ = launch(
        [*pinit_bin(), "--", "sh", "-c", 'echo "socket=${NOTIFY_SOCKET:-none}"; exec sleep 1000'],
        "plain",
        env=env,
    )
    fields, _ = systemd.wait_for("READY")
    assert fields["READY"] == "1"
    assert run_.readline() == "socket=none"
    run_.signal(signal.SIGTERM)
    systemd.wait_for("STOPPING")
    assert run_.finish()[0] == 128 + signal.SIGTERM
