"""Issue 11.2 (log side): every reload that changed a program with a log file leaked an fd.

A destination whose last user went away (the program moved to another file, or was removed)
had its writer thread ended but its file left open, for good: 300 reloads, 300 more fds, and
EMFILE with a low `nofile`. The writer thread now closes the file (and its directory fd) when
it ends. This soak runs 300 HUP reloads, each changing the program's environment and its log
file, waiting for each reload's "started" line and the new run's event, and keeps pinit's
fds, threads and RSS flat.
"""

from __future__ import annotations

import signal
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import start

RELOADS = 300


def config(tmp_path: Path, n: int) -> str:
    log = tmp_path / f"p-{n % 2}.log"
    return f"""
        [programs.p]
        command = ["sh", "-c", "echo run $$V; echo p start $$$$ 0 >> $$EVENTS; exec sleep 1000"]
        environment = {{ V = "{n}" }}
        stdout = {{ file = "{log}" }}
        """


def sample(pid: int) -> tuple[int, int, int]:
    """(open fds, threads, RSS in KiB) of a live process, from /proc."""
    fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return fds, threads, rss


@pytest.mark.timeout(60)
def test_300_reloads_keep_fds_threads_and_rss_flat(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(launch, tmp_path, config(tmp_path, 0), mode="plain")
    pid = pinit.proc.pid
    events.wait("p", "start")  # signals are handled from here on
    started = time.monotonic()
    before = (0, 0, 0)
    for n in range(1, RELOADS + 1):
        (tmp_path / "pinit.toml").write_text(textwrap.dedent(config(tmp_path, n)))
        pinit.signal(signal.SIGHUP)
        pinit.wait_stderr("p: started pid")  # the new run, after the old one stopped
        events.wait("p", "start")  # ... and its line is in the pipe: none may be lost
        if n == 20:  # warmed up: caches and the first retired writers settled
            before = sample(pid)
    after = sample(pid)
    elapsed = time.monotonic() - started
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0
    assert "Traceback" not in err
    assert after[0] - before[0] <= 4, f"fds {before[0]} -> {after[0]} over {RELOADS - 20} reloads"
    assert after[1] - before[1] <= 2, f"threads {before[1]} -> {after[1]}"
    assert after[2] - before[2] <= 4096, f"RSS {before[2]} -> {after[2]} KiB"
    assert elapsed < 30, f"{RELOADS} reloads took {elapsed:.1f}s"
    runs = [(tmp_path / f"p-{k}.log").read_text().splitlines() for k in (0, 1)]
    assert runs[0] == [f"run {n}" for n in range(0, RELOADS + 1, 2)]  # no line lost either
    assert runs[1] == [f"run {n}" for n in range(1, RELOADS + 1, 2)]
