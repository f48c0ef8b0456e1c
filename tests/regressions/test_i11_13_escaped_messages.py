"""Issue 11.13: key names were printed raw in errors: a newline in a quoted key forged a second
error line and an ESC sequence reached the terminal. Every message is rendered escaped, values
and paths included, and `pinit check --explain` escapes the author's text as well."""

from __future__ import annotations

from pathlib import Path

from pinit.config.load import load_text
from tests.conftest import pinit_bin, run

FORGED = "/etc/passwd:1: pinit.main: all good"


def test_a_newline_in_a_key_cannot_forge_an_error_line(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(
        '[programs.web]\ncommand = "/bin/true"\n"x\\nFORGED" = 1\n'.replace("FORGED", FORGED)
        + '"\\u001b[2J\\u001b]0;owned\\u0007" = 2\n'
    )
    code, _, err = run([*pinit_bin(), "check", "--config", str(conf)], "plain", timeout=20)
    assert code == 1
    lines = err.splitlines()
    assert lines == [
        f"{conf}:3: programs.web.x\\n{FORGED}: unknown key",
        f"{conf}:4: programs.web.\\x1b[2J\\x1b]0;owned\\x07: unknown key",
        "2 errors",
    ]
    assert "\x1b" not in err


def test_values_and_overlong_keys_are_escaped_and_shortened() -> None:
    long_key = "k" * 5000
    text = f'[programs.web]\ncommand = "/bin/true"\nuser = "\\u202e\\u001b"\n{long_key} = 1\n'
    _, errors = load_text(text, "/etc/pinit.toml", {})
    shown = [str(e) for e in errors]
    assert "\x1b" not in "".join(shown) and "\u202e" not in "".join(shown)
    assert all(len(s) < 300 for s in shown), shown


def test_explain_escapes_arguments_and_environment(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(
        '[programs.web]\ncommand = ["/bin/echo", "\\u001b[31mred"]\n'
        'environment = { GREETING = "hi\\nthere" }\n'
    )
    code, out, err = run(
        [*pinit_bin(), "check", "--config", str(conf), "--explain"], "plain", timeout=20
    )
    assert code == 0, err
    assert "\x1b" not in out
    assert "\\x1b[31mred" in out
    assert "+GREETING=hi\\nthere" in out
