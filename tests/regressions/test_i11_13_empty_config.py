"""Issue 11.13: a config without programs ran forever supervising nothing. The loader refuses
it with a located error, so `pinit check` says so and `pinit --config` does not start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import pinit_bin, run


@pytest.mark.parametrize("text", ["", '[pinit]\nname = "shop"\n', "[programs]\n"])
def test_a_config_without_programs_is_refused(tmp_path: Path, text: str) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(text)
    code, _, err = run([*pinit_bin(), "check", "--config", str(conf)], "plain", timeout=20)
    assert code == 1
    assert "programs: no programs to supervise" in err
    code, _, err = run([*pinit_bin(), "--config", str(conf)], "plain", timeout=20)
    assert code == 1
    assert "no programs to supervise" in err
    assert "refusing to start" in err


def test_an_empty_include_directory_alone_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["conf.d/*.toml"]\n')
    code, _, err = run([*pinit_bin(), "check", "--config", str(conf)], "plain", timeout=20)
    assert code == 1
    assert f"{conf}: programs: no programs to supervise" in err
