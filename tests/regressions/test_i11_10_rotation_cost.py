"""Issue 11.10: `backups = 1000000000` started a billion renames at the first rotation.

The config bounds `backups`; independently, a rotation now touches only the backups that
exist (the first missing name ends the chain), so its cost does not depend on the bound.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pinit.logs.rotate import RotatingFile


@pytest.mark.timeout(10)
def test_rotation_with_a_huge_bound_costs_what_the_existing_backups_cost(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=6, backups=1_000_000_000)
    started = time.thread_time()  # CPU time, renames included; not the box's load
    for i in range(5):
        out.write([b"line%d\n" % i])  # 6 bytes each: every write after the first rotates
    out.close()
    assert time.thread_time() - started < 2.0  # before the fix: a billion renames, minutes
    assert path.read_bytes() == b"line4\n"
    assert [Path(f"{path}.{n}").read_bytes() for n in (4, 3, 2, 1)] == [
        b"line0\n",
        b"line1\n",
        b"line2\n",
        b"line3\n",
    ]
    assert not Path(f"{path}.5").exists()


def test_the_oldest_backup_is_still_dropped_at_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=6, backups=2)
    for i in range(5):
        out.write([b"line%d\n" % i])
    out.close()
    assert [Path(f"{path}.{n}").read_bytes() for n in (2, 1)] == [b"line2\n", b"line3\n"]
    assert not Path(f"{path}.3").exists()
