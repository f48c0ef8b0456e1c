"""The unit files in units/ (issue 10), checked by systemd's own parser: `systemd-analyze verify`
on a copy whose ExecStart names the pinit under test (verify wants the binary to exist). The
template is verified as itself and as an instance (pinit@web.service: %i expanded). systemd
older than 253 does not know Type=notify-reload (nor ReloadSignal=): for that unit, those two
complaints are the only ones allowed, and only there."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, pinit_bin

UNITS = sorted((ROOT / "units").glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def systemd_version() -> int:
    assert ANALYZE is not None
    out = subprocess.run([ANALYZE, "--version"], capture_output=True, text=True, check=True)
    match = re.match(r"systemd (\d+)", out.stdout)
    assert match, out.stdout
    return int(match.group(1))


def test_units_are_there() -> None:
    assert {u.name for u in UNITS} >= {"pinit.service", "pinit@.service", "pinit-reload.service"}


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_systemd_analyze_verify(tmp_path: Path, unit: Path) -> None:
    binary = str(Path(pinit_bin()[0]).resolve())
    text = unit.read_text().replace("/usr/local/bin/pinit", binary)
    copies = [tmp_path / unit.name]
    if unit.name.endswith("@.service"):
        copies.append(tmp_path / unit.name.replace("@.", "@web."))
    for copy in copies:
        copy.write_text(text)
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "verify", "--man=no", *map(str, copies)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    complaints = [line for line in done.stderr.splitlines() if line.strip()]
    if "Type=notify-reload" in text and systemd_version() < 253:
        complaints = [
            c for c in complaints if "notify-reload" not in c and "'ReloadSignal'" not in c
        ]
    assert complaints == []


def test_template_names_each_instance() -> None:
    text = (ROOT / "units" / "pinit@.service").read_text()
    assert "ExecStart=/usr/local/bin/pinit --name %i --config /etc/pinit/%i.toml" in text
    assert "ExecStartPre=/usr/local/bin/pinit check --config /etc/pinit/%i.toml" in text


def test_notify_reload_unit_has_no_exec_reload() -> None:
    """With ExecReload= set, systemd (253's service_enter_reload) runs it instead of sending
    ReloadSignal= and waiting for RELOADING=1: the variant leaves the reload to the signal."""
    text = (ROOT / "units" / "pinit-reload.service").read_text()
    assert "Type=notify-reload" in text
    assert not re.search(r"^ExecReload=", text, re.MULTILINE)
