"""Issue 11.3 (check side): a NUL byte in any string of a config passed `pinit check`, then the
spawn raised and the instance stayed STARTING forever. Every string that becomes a C string
(argv, environment, paths, names) is now refused by the loader with its key path and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pinit.config.load import load_text
from tests.conftest import pinit_bin, run

PATH = "/etc/pinit.toml"
HEAD = '[programs.web]\ncommand = ["/bin/sh", "-c", "sleep 1"]\n'

CASES = [
    ('environment = { A = "x\\u0000y" }', "programs.web.environment.A"),
    ('cwd = "/tmp\\u0000x"', "programs.web.cwd"),
    ('user = "www\\u0000data"', "programs.web.user"),
    ('group = "www\\u0000data"', "programs.web.group"),
    ('stdout = "web\\u0000.log"', "programs.web.stdout"),
    ('stderr = { file = "err\\u0000.log" }', "programs.web.stderr.file"),
    ('ready = { command = ["/bin/true", "a\\u0000"] }', "programs.web.ready.command[1]"),
    ('after = ["x\\u0000"]', "programs.web.after[0]"),
]


@pytest.mark.parametrize(("line", "key"), CASES)
def test_a_nul_byte_is_refused_with_its_key_path_and_line(line: str, key: str) -> None:
    config, errors = load_text(HEAD + line + "\n", PATH, {})
    assert config is None
    assert [(e.key_path, e.line) for e in errors] == [(key, 3)], errors
    assert "NUL" in errors[0].message


@pytest.mark.parametrize(
    "text",
    [
        '[programs.web]\ncommand = ["/bin/sh", "a\\u0000b"]\n',
        '[programs.web]\ncommand = "/bin/sh a\\u0000b"\n',
    ],
)
def test_a_nul_byte_in_the_command_is_refused(text: str) -> None:
    config, errors = load_text(text, PATH, {})
    assert config is None
    assert [e.line for e in errors] == [2]
    assert errors[0].key_path.startswith("programs.web.command")


def test_pinit_check_refuses_a_nul_in_an_argument(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text('[programs.web]\ncommand = ["/bin/echo", "a\\u0000b"]\n')
    code, out, err = run([*pinit_bin(), "check", "--config", str(conf)], "plain", timeout=20)
    assert code == 1, (out, err)
    assert f"{conf}:2: programs.web.command[1]: must not contain a NUL byte" in err


def test_impossible_values_in_pinit_settings_are_refused() -> None:
    text = '[pinit]\ninclude = ["a\\u0000"]\nlog_dir = "l\\u0000"\n' + HEAD
    _, errors = load_text(text, PATH, {})
    assert sorted((e.key_path, e.line) for e in errors) == [
        ("pinit.include[0]", 2),
        ("pinit.log_dir", 3),
    ]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('environment = { "A=B" = "x" }', "programs.web.environment.A=B"),
        ('environment = { "" = "x" }', "programs.web.environment."),
        ("ready = { command = [] }", "programs.web.ready.command"),
        ('ready = { command = ["", "x"] }', "programs.web.ready.command[0]"),
        ('cwd = ""', "programs.web.cwd"),
        ('user = ""', "programs.web.user"),
    ],
)
def test_other_impossible_values_are_refused_with_their_key_path(line: str, key: str) -> None:
    config, errors = load_text(HEAD + line + "\n", PATH, {})
    assert config is None
    assert [(e.key_path, e.line) for e in errors] == [(key, 3)], errors


@pytest.mark.parametrize("command", ['""', "[]", '[""]', '"   "'])
def test_an_empty_command_is_refused(command: str) -> None:
    config, errors = load_text(f"[programs.web]\ncommand = {command}\n", PATH, {})
    assert config is None
    assert [e.line for e in errors] == [2]
    assert errors[0].key_path.startswith("programs.web.command")
