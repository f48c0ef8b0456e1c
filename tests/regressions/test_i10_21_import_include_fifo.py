"""Regression (issue 10 review): `pinit import` hung on an `[include] files=` matching a FIFO.

The importer opened every match with a blocking open(), which waits forever for a writer on a
FIFO (or a /proc/self/fd/N pipe). pinit's own loader reads regular files only, opened
non-blocking; the importer now skips what is not a regular file, with a comment saying so,
and still reads the regular includes next to it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import pinit_bin


def test_fifo_include_is_skipped_not_waited_on(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    os.mkfifo(conf_d / "a.conf")
    (conf_d / "b.conf").write_text("[program:ok]\ncommand=/bin/true\n")
    conf = tmp_path / "supervisord.conf"
    conf.write_text("[supervisord]\n[include]\nfiles = conf.d/*.conf\n")
    try:
        proc = subprocess.run(
            [*pinit_bin(), "import", str(conf)], capture_output=True, text=True, timeout=15
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("pinit import blocked opening the FIFO include") from None
    assert proc.returncode == 0, proc.stderr
    assert "[programs.ok]" in proc.stdout, proc.stdout
    assert f"{conf_d / 'a.conf'} is not a regular file, skipped" in proc.stdout, proc.stdout
