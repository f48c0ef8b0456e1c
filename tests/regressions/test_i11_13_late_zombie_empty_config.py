"""Issue 11.13 (runtime side): a zombie reaped late is not a stray; an empty config is refused.

The program exits on TERM and leaves a child that ignores TERM; the stop timer KILLs the
group. When that child is already a zombie at the check right after the KILL, the group counts
as gone, the shutdown ends in the same turn, and the final sweep found the unreaped zombie:
"stray pid N () origin unknown". It depends on scheduling (about one run in two), so the test
repeats the stop a few times; with the fix no run may report a stray.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.conftest import Launch, pinit_bin, run

RUNS = 8
SCRIPT = "trap '' TERM; sleep 1000 & trap 'exit 0' TERM; while :; do wait; done"


def test_a_zombie_at_the_final_sweep_is_not_reported_as_a_stray(
    launch: type[Launch], tmp_path: Path
) -> None:
    config = tmp_path / "pinit.toml"
    config.write_text(
        f'[pinit]\ncontrol_socket = "{tmp_path / "ctl.sock"}"\n'
        f'[programs.app]\ncommand = ["sh", "-c", "{SCRIPT}"]\n'
        'stop_timeout = "0.1s"\nstart_seconds = "0.05s"\n'
    )
    for _ in range(RUNS):
        pinit = launch([*pinit_bin(), "--config", str(config)], "plain")
        pinit.wait_stderr("app: running")
        pinit.signal(signal.SIGTERM)
        rc, _, err = pinit.finish(timeout=10)
        assert "app: SIGTERM, gone after" in err, err  # the report was printed
        assert "stray" not in err, err
        assert rc == 0 or rc == 128 + signal.SIGKILL, err


@pytest.mark.parametrize("body", ["", '[pinit]\nname = "shop"\n'])
def test_a_config_without_programs_is_refused_by_run_and_check(tmp_path: Path, body: str) -> None:
    """Issue 11.13: an empty config ran forever supervising nothing; `check` said OK."""
    config = tmp_path / "empty.toml"
    config.write_text(body)
    rc, _, err = run([*pinit_bin(), "--config", str(config)], "plain", timeout=10)
    assert rc == 2, err
    assert "no programs to supervise" in err
    rc, _, err = run([*pinit_bin(), "check", "--config", str(config)], "plain", timeout=10)
    assert rc == 1, err
    assert "no programs to supervise" in err
