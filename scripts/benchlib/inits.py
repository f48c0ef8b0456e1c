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
PINIT_VENV = BENCH_DIR / "pinit-venv"
WHEELS = BENCH_DIR / "wheels"
PYTHON = "/usr/bin/python3"
SOURCE_PARTS = ("pinit", "pyproject.toml", "setup.py", "README.md")


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
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".so":
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def installed_pinit() -> Path:
    """pinit from a non-editable install of the working tree, redone when the tree changed.

    The tree is copied first so that pip builds in .bench/ and never writes build/ or
    *.egg-info into the tree others are editing. The wheel goes into a venv of its own with
    no pip or setuptools in it (setuptools' distutils .pth alone costs an import at every
    start), as a container image would ship it.
    """
    stamp = PINIT_VENV / ".pinit-src-hash"
    current = _source_hash()
    ensure_tools()
    if not (PINIT_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(PINIT_VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != current:
        _copy_source()
        shutil.rmtree(WHEELS, ignore_errors=True)
        _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(WHEELS), str(BENCH_SRC))
        target = ("--python", str(PINIT_VENV / "bin" / "python"), "install")
        _pip(*target, *_dependencies())
        _pip(*target, "--no-deps", "--force-reinstall", *map(str, WHEELS.glob("*.whl")))
        stamp.write_text(current)
    return PINIT_VENV / "bin" / "pinit"


def ensure_tools() -> None:
    """The bench's own venv: what builds pinit's wheel, and supervisord (a peer from pip)."""
    if not (BENCH_VENV / "bin" / "supervisord").exists():
        if not (BENCH_VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        _pip("install", "setuptools>=68", "wheel", "supervisor")


def _dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def _copy_source() -> None:
    shutil.rmtree(BENCH_SRC, ignore_errors=True)
    BENCH_SRC.mkdir(parents=True)
    for part in SOURCE_PARTS:
        src = ROOT / part
        if src.is_dir():
            # *.so: the editable install's in-place build of the C loop; the wheel builds its own
            shutil.copytree(
                src, BENCH_SRC / part, ignore=shutil.ignore_patterns("__pycache__", "*.so")
            )
        else:
            shutil.copy2(src, BENCH_SRC / part)


def _pip(*args: str) -> None:
    cmd = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*cmd, *args], check=True, timeout=600)
