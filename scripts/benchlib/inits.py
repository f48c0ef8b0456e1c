"""The inits under test (rows of the table) and the throwaway install of pinit they need.

pinit is measured three ways because its start cost depends on how it is installed: the
editable venv install pays ~20 ms for the editable finder's imports, a plain `pip install`
does not, and the frozen binary (dist/pinit) pays its own unpacking instead.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / ".bench"
BENCH_VENV = BENCH_DIR / "venv"
BENCH_SRC = BENCH_DIR / "src"
PYTHON = "/usr/bin/python3"
SOURCE_PARTS = ("pinit", "pyproject.toml", "README.md")


@dataclass(frozen=True, slots=True)
class Init:
    """One row: how to put an init in front of a command (`prefix + argv`); none = no init."""

    name: str
    prefix: tuple[str, ...]
    is_pinit: bool = False

    @property
    def is_none(self) -> bool:
        return not self.prefix

    def argv(self, command: list[str]) -> list[str]:
        return [*self.prefix, *command]


NONE = Init("none", ())


def peers() -> list[Init]:
    """tini with -g (group forwarding, like pinit's default) and -s (subreaper, like pinit)."""
    rows = [NONE]
    for name, args in (("tini", ("-s", "-g", "--")), ("dumb-init", ("--",))):
        path = shutil.which(name)
        if path is None:
            print(f"bench: {name} not found, row skipped (apt-get install {name})", file=sys.stderr)
            continue
        rows.append(Init(name, (path, *args)))
    return rows


def pinit_rows(extra: list[str], *, install: bool = True) -> list[Init]:
    """Editable venv, non-editable install, dist/pinit when built, and every --init given."""
    rows = []
    editable = ROOT / ".venv" / "bin" / "pinit"
    if editable.exists():
        rows.append(Init("pinit (venv, editable)", (str(editable), "--"), True))
    if install:
        rows.append(Init("pinit (pip installed)", (str(installed_pinit()), "--"), True))
    frozen = ROOT / "dist" / "pinit"
    paths = [f"pinit (frozen dist/pinit)={frozen}"] if frozen.exists() else []
    for spec in [*paths, *extra]:
        name, _, path = spec.rpartition("=")
        rows.append(Init(name or f"pinit ({path})", (str(Path(path).resolve()), "--"), True))
    return rows


def _source_hash() -> str:
    digest = hashlib.sha256()
    for part in SOURCE_PARTS:
        base = ROOT / part
        files = sorted(base.rglob("*")) if base.is_dir() else [base]
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def installed_pinit() -> Path:
    """pinit from a non-editable `pip install` of the working tree, redone when it changed.

    The tree is copied first so that pip builds in .bench/ and never writes build/ or
    *.egg-info into the tree others are editing.
    """
    stamp = BENCH_VENV / ".pinit-src-hash"
    current = _source_hash()
    if not (BENCH_VENV / "bin" / "python").exists():
        subprocess.run([PYTHON, "-m", "venv", str(BENCH_VENV)], check=True)
        _pip("setuptools>=68", "wheel")
    if not stamp.exists() or stamp.read_text() != current:
        _copy_source()
        _pip(*_dependencies())
        _pip("--no-build-isolation", "--no-deps", "--force-reinstall", str(BENCH_SRC))
        stamp.write_text(current)
    return BENCH_VENV / "bin" / "pinit"


def _dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _copy_source() -> None:
    shutil.rmtree(BENCH_SRC, ignore_errors=True)
    BENCH_SRC.mkdir(parents=True)
    for part in SOURCE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, BENCH_SRC / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, BENCH_SRC / part)


def _pip(*args: str) -> None:
    cmd = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*cmd, "--disable-pip-version-check", *args], check=True, timeout=600)
