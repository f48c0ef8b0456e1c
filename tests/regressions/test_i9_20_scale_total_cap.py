"""Regression (issue 9 review): `pinit ctl scale` had no cap on the processes of all programs.

The loader refuses a config whose numprocs, summed over the programs, pass MAX_NUMPROCS
(10,000): each process costs pids, fds and /proc scans. `ctl scale` checked only the one
program's count, so scaling each program to 10,000 ran far past what any config may ask.
Now a scale that would pass the total is refused with a message naming it; reaching the
bound exactly is still accepted.
"""

from __future__ import annotations

import signal
from pathlib import Path

from pinit.config.loadprog import MAX_NUMPROCS
from tests.conftest import Launch
from tests.integration.supervise import svc
from tests.integration.test_ctl import ctl, status, up

PROGRAMS = f"""
[programs.a]
command = {svc("run", "a")}
numprocs = {MAX_NUMPROCS - 1}
autostart = false

[programs.b]
command = {svc("run", "b")}
autostart = false
"""


def test_scale_past_the_total_bound_is_refused(launch: type[Launch], tmp_path: Path) -> None:
    pinit, _events, sock = up(launch, tmp_path, PROGRAMS)
    rc, out, err = ctl(sock, "scale", "b", "2")
    assert rc == 1, out
    assert f"{MAX_NUMPROCS + 1} processes in all; at most {MAX_NUMPROCS} allowed" in err, err
    rc, _, err = ctl(sock, "scale", "b", "1")  # exactly the bound: fine
    assert rc == 0, err
    assert [n for n in status(sock) if n.startswith("b")] == ["b"]
    pinit.signal(signal.SIGTERM)
