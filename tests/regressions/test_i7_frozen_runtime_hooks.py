"""Issue 7, speed: the frozen pinit runs no PyInstaller runtime hook but pinit's own.

PyInstaller adds a hook for some modules it finds bundled: pyi_rth_inspect (inspect) imports
inspect and zipfile and lists the archive at every start; pyi_rth_pkgutil (pkgutil, which
came with pinit/recordgen.py, a gen-docs tool) imports pkgutil at every start. Either costs
PID 1 milliseconds for nothing it uses. packaging/pinit.spec drops them; this reads the built
bootloader's table of scripts, where each hook is named.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BOOTLOADER = ROOT / "build" / "onedir" / "pinit" / "pinit"  # scripts/build's one-folder build


def test_the_frozen_build_carries_no_pyinstaller_runtime_hook() -> None:
    if not BOOTLOADER.exists():
        pytest.skip("no frozen build here (scripts/build makes one; scripts/test runs it)")
    data = BOOTLOADER.read_bytes()
    assert b"rthook" in data  # the table was read: pinit's own hook is named there
    assert sorted(set(re.findall(rb"pyi_rth_\w+", data))) == []
