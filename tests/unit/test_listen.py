"""`[pinit] http` addresses (issue 8): what the loader accepts, normalizes and refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinit.config import listen
from pinit.config.load import load_file as load


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("127.0.0.1:9100", "127.0.0.1:9100"),
        (" 0.0.0.0:80 ", "0.0.0.0:80"),
        ("localhost:9100", "localhost:9100"),
        ("[::1]:9100", "[::1]:9100"),
        ("[0:0::1]:9100", "[::1]:9100"),
        ("unix:/run/pinit/http.sock", "unix:/run/pinit/http.sock"),
        ("unix:rel/http.sock", "unix:/etc/app/rel/http.sock"),
    ],
)
def test_accepted(text: str, parsed: str) -> None:
    assert listen.parse(text, "/etc/app") == parsed


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9100", "HOST:PORT"),
        (":9100", "HOST:PORT"),
        ("127.0.0.1:0", "port"),
        ("127.0.0.1:65536", "port"),
        ("127.0.0.1:http", "port"),
        ("example.com:80", "no DNS"),
        ("::1:9100", "brackets"),
        ("unix:", "unix:/path"),
        ("unix:/" + "x" * 200, "107 bytes"),
    ],
)
def test_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        listen.parse(text, "/etc/app")


def test_split() -> None:
    assert listen.split("[::1]:80") == ("tcp", "::1", 80)
    assert listen.split("127.0.0.1:9100") == ("tcp", "127.0.0.1", 9100)
    assert listen.split("unix:/a/b") == ("unix", "/a/b", 0)


def test_the_loader_reports_a_bad_address(tmp_path: Path) -> None:
    config = tmp_path / "pinit.toml"
    config.write_text('[pinit]\nhttp = "web:80"\n[programs.a]\ncommand = ["true"]\n')
    loaded, errors = load(str(config), {})
    assert loaded is None or not errors
    assert any("pinit.http" in str(e) and "no DNS" in str(e) for e in errors)
    config.write_text('[pinit]\nhttp = "127.0.0.1:9100"\n[programs.a]\ncommand = ["true"]\n')
    loaded, errors = load(str(config), {})
    assert not errors and loaded is not None and loaded.http == "127.0.0.1:9100"


def test_check_refuses_a_unix_socket_in_a_missing_directory(tmp_path: Path) -> None:
    from pinit.config import resolve

    config = tmp_path / "pinit.toml"
    where = tmp_path / "nope" / "http.sock"
    config.write_text(f'[pinit]\nhttp = "unix:{where}"\n[programs.a]\ncommand = ["true"]\n')
    _, errors = resolve.load_checked(str(config), {"PATH": "/usr/bin:/bin"})
    assert any("pinit.http" in str(e) and "no such directory" in str(e) for e in errors)
