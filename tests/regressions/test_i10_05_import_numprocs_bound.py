"""Regression (issue 10 review): `pinit import` of `numprocs = 99999999` ran for minutes.

The importer expands every key once per process_num, as supervisord does, with no bound: a
typo'd or hostile numprocs meant a hundred million expansions (and their memory). pinit's
loader accepts at most MAX_NUMPROCS processes, so beyond that the section is skipped with a
comment saying why, as any other key supervisord would refuse.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pinit.config.loadprog import MAX_NUMPROCS
from tests.conftest import pinit_bin


def test_numprocs_beyond_what_pinit_runs_is_skipped_at_once(tmp_path: Path) -> None:
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        "[program:w]\ncommand=/bin/true\nnumprocs=99999999\n"
        "process_name=%(program_name)s_%(process_num)d\n"
        "[program:ok]\ncommand=/bin/true\n"
    )
    proc = subprocess.run(
        [*pinit_bin(), "import", str(conf)], capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 0, proc.stderr
    assert "[programs.ok]" in proc.stdout and "[programs.w]" not in proc.stdout, proc.stdout
    assert f"at most {MAX_NUMPROCS}" in proc.stdout, proc.stdout
