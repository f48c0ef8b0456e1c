"""Issue 10, Type=notify-reload: a HUP with a broken config was refused and logged, but systemd
heard nothing. Under notify-reload systemd waits after its SIGHUP for RELOADING=1 then READY=1,
so `systemctl reload` hung until TimeoutStartSec (90 s) and failed. A refused reload is a
finished reload that changed nothing: pinit now says RELOADING=1 (with MONOTONIC_USEC), then
READY=1 with a STATUS naming the refusal."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.conftest import Launch
from tests.integration.test_systemd import FakeSystemd
from tests.integration.test_systemd_reload import ready_under


def test_refused_reload_still_completes_for_systemd(launch: type[Launch], tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path / "notify.sock")
    try:
        pinit, _ = ready_under(launch, tmp_path, fake)
        (tmp_path / "pinit.toml").write_text("[programs.a]\ncommand = 42\n")
        pinit.signal(signal.SIGHUP)
        reloading, _ = fake.next(timeout=10)
        assert reloading.get("RELOADING") == "1" and reloading["MONOTONIC_USEC"].isdigit()
        ready, _ = fake.next(timeout=10)
        assert ready.get("READY") == "1"
        assert "reload refused" in ready.get("STATUS", "")
        pinit.signal(signal.SIGTERM)
        assert pinit.finish()[0] == 0
    finally:
        fake.sock.close()
