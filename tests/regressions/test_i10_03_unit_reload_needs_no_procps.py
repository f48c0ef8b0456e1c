"""Issue 10, units: `ExecReload=/bin/kill -HUP $MAINPID` failed under real systemd in a
debian:bookworm-slim image ("Job for pinit.service failed"): /bin/kill comes from procps, which
slim images do not install (found by tests/container/test_systemd_unit.py). The units now
reload through pinit itself (`pinit ctl ... reload`, synchronous, and failing with the errors of
a refused config), so every command a unit runs is pinit's own binary."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

UNITS = sorted((ROOT / "units").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_run_only_pinit(unit: object) -> None:
    text = unit.read_text()  # type: ignore[attr-defined]
    commands = re.findall(r"^Exec\w+=[-@:+!]*(\S+)", text, re.MULTILINE)
    assert commands, text
    assert {c for c in commands} == {"/usr/local/bin/pinit"}, commands
