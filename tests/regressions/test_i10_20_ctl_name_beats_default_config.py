"""i10_20: `pinit ctl --name NAME` must reach pinit@NAME's socket even when the default config
(/etc/pinit.toml) names another control_socket: explicit beats implicit. Before the fix the
default config's socket won, so units/pinit@.service's `ExecReload=pinit ctl --name %i reload`
reloaded the wrong pinit. --socket and --config still beat --name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinit.ctlcmd import run_ctl


def _default_config(tmp_path: Path) -> Path:
    config = tmp_path / "pinit.toml"
    config.write_text(
        f'[pinit]\ncontrol_socket = "{tmp_path}/wrong.sock"\n\n[programs.a]\ncommand = ["true"]\n'
    )
    return config


def test_name_beats_the_default_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("PINIT_CONTROL_SOCKET", raising=False)
    default = _default_config(tmp_path)
    assert run_ctl(["--name", "web", "status"], str(default)) == 3
    err = capsys.readouterr().err
    assert "wrong.sock" not in err
    assert "web.sock" in err


def test_config_and_socket_still_beat_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pinit.ctlcmd import config_to_read

    default = _default_config(tmp_path)
    assert run_ctl(["--config", str(default), "--name", "web", "status"], "/nonexistent") == 3
    assert "wrong.sock" in capsys.readouterr().err
    assert config_to_read("/s.sock", None, "web", str(default)) == ""
    assert config_to_read(None, "/c.toml", "web", str(default)) == "/c.toml"
    assert config_to_read(None, None, "web", str(default)) == ""
    assert config_to_read(None, None, None, str(default)) == str(default)
    assert config_to_read(None, None, None, str(tmp_path / "absent.toml")) == ""
