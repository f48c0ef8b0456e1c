"""The fast path of the command line must read valid input exactly as argparse does."""

from __future__ import annotations

import pytest

from pinit.cli import _slow_parse, fast_parse

VALID = [
    ["--", "sleep", "1"],
    ["sleep", "1"],
    ["-v", "--no-group", "--grace", "2.5", "--", "sh", "-c", "exit 3"],
    ["--name", "shop", "--verbose", "--", "app", "--flag", "--", "x"],
    ["--grace", "0s", "--", "true"],
    ["--config", "/etc/pinit.toml"],
    ["--config", "/etc/pinit.toml", "--name", "x", "-v"],
    ["--config", "/etc/pinit.toml", "--", "myapp", "--port", "80"],  # issue 7.5
    ["-v", "--config", "/etc/pinit.toml", "myapp"],
]


def _fields(args: object) -> tuple[object, ...]:
    names = ("config", "name", "grace", "no_group", "verbose", "command")
    return tuple(getattr(args, n) for n in names)


@pytest.mark.parametrize("argv", VALID)
def test_fast_path_agrees_with_argparse(argv: list[str]) -> None:
    fast = fast_parse(argv)
    assert fast is not None
    assert _fields(fast) == _fields(_slow_parse(argv))


@pytest.mark.parametrize(
    "argv", [["--help"], ["--grace=3", "--", "x"], ["--bogus", "--", "x"], ["--grace", "x"]]
)
def test_anything_unusual_goes_to_argparse(argv: list[str]) -> None:
    assert fast_parse(argv) is None
