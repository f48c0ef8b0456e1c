"""Issue 7 (model): every death was logged twice, by the runtime's reaper ("pid N exit 3") and
by the model ("exit 3"), with two describers that disagreed on a stopped status. Now the model
says it once, with the pid, using the one decoder in model/status.py."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start


def test_a_death_is_logged_once(launch: type[Launch], tmp_path: Path) -> None:
    pinit, _events = start(
        launch,
        tmp_path,
        """
        [pinit]
        main = "app"
        [programs.app]
        command = ["false"]
        restart = "never"
        """,
    )
    rc, _, err = pinit.finish()
    assert rc == 1, err
    deaths = [line for line in err.splitlines() if "app:" in line and "exit 1" in line]
    assert len(deaths) == 1, err
