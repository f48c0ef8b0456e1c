"""Issue 11.13: `pinit --grace nan` (and inf, 1e999) was accepted, and then the SIGKILL after
the grace period was never sent. --grace now goes through the config's duration parser,
which refuses non-finite and absurd durations, as every duration in a config is."""

from __future__ import annotations

import pytest

from pinit.cli import fast_parse
from pinit.config.load import load_text
from tests.conftest import pinit_bin, run


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "infinity", "NaN", "-1"])
def test_a_non_finite_grace_is_a_usage_error(value: str) -> None:
    assert fast_parse(["--grace", value, "--", "true"]) is None  # left to argparse, which says why
    code, out, err = run([*pinit_bin(), "--grace", value, "--", "true"], "plain", timeout=20)
    assert code == 2, (out, err)
    assert "argument --grace" in err


@pytest.mark.parametrize("value", ["2", "2.5", "2.5s", "500ms", "0"])
def test_finite_graces_still_work(value: str) -> None:
    parsed = fast_parse(["--grace", value, "--", "true"])
    assert parsed is not None
    assert 0 <= parsed.grace <= 2.5


@pytest.mark.parametrize("value", ["nan", "inf", '"nan"', '"inf"', '"1e999"', '"1e999s"'])
def test_non_finite_durations_are_refused_in_a_config(value: str) -> None:
    text = f'[programs.web]\ncommand = "x"\nstop_timeout = {value}\n'
    _, errors = load_text(text, "/etc/pinit.toml", {})
    assert [(e.key_path, e.line) for e in errors] == [("programs.web.stop_timeout", 3)]
