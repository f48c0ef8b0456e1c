"""pinit under a Type=notify-reload unit (issue 10): systemd sends SIGHUP and waits for
`RELOADING=1` with `MONOTONIC_USEC=` (CLOCK_MONOTONIC in µs, sd_notify(3): systemd >= 253 drops a
RELOADING=1 without it) in one datagram, then `READY=1`. A fake systemd listens on
NOTIFY_SOCKET and reads the sequence."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import Events, start, svc
from tests.integration.test_systemd import FakeSystemd


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSystemd]:
    listener = FakeSystemd(tmp_path / "notify.sock")
    yield listener
    listener.sock.close()


def ready_under(launch: type[Launch], tmp_path: Path, fake: FakeSystemd) -> tuple[Launch, Events]:
    """pinit on one program `a`, its NOTIFY_SOCKET the fake's, once it said READY=1."""
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.a]
        command = {svc("run", "a")}
        start_seconds = "100ms"
        """,
        env_extra={"NOTIFY_SOCKET": fake.path},
    )
    fake.wait_for("READY")
    return pinit, events


def now_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def test_hup_sends_reloading_with_monotonic_usec_then_ready(
    launch: type[Launch], tmp_path: Path, fake: FakeSystemd
) -> None:
    pinit, events = ready_under(launch, tmp_path, fake)
    config = tmp_path / "pinit.toml"
    config.write_text(
        config.read_text() + f'[programs.b]\ncommand = {svc("run", "b")}\nstart_seconds = "100ms"\n'
    )
    before = now_usec()
    pinit.signal(signal.SIGHUP)
    reloading, _ = fake.next()
    after = now_usec()
    assert reloading.get("RELOADING") == "1", reloading
    assert before <= int(reloading["MONOTONIC_USEC"]) <= after
    ready, _ = fake.next()
    assert ready.get("READY") == "1", ready
    events.wait("b", "start")  # the reload took effect
    pinit.signal(signal.SIGTERM)
    assert fake.wait_for("STOPPING")[0]["STOPPING"] == "1"
    assert pinit.finish()[0] == 0
