"""Issue 11.2 (the socket side): accept() out of file descriptors spun PID 1.

With EMFILE the pending connection stays in the listen backlog, so the listening socket stays
readable, and pinit retried at once: 99 % CPU and ~11 MB/s of "accept failed" on stderr. Now
the socket leaves the loop for 0.1 s doubling to 1 s, and the failure is said once, then once
more, with the count, when an accept succeeds again.

pinit runs under `prlimit --nofile` low enough that connections which never send exhaust its
descriptors before its client cap. The CPU it uses is read from /proc/PID/stat between the
failure message and the recovery message (the positive marker); the window between them is a
second of reading pinit's stderr, which a spinning pinit floods.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import socket
import textwrap
import time
from pathlib import Path

import pytest

from pinit.control import server
from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import Events, svc
from tests.integration.test_ctl import ctl

NOFILE = 20  # pinit holds ~9 descriptors running one program; the cap is 32 clients
WINDOW = 1.2  # seconds of pinit's stderr read while it is out of descriptors


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rpartition(b")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def read_stderr_for(pinit: Launch, seconds: float) -> bytes:
    """Everything pinit writes to stderr during `seconds`, read as it comes (a flood must not
    block pinit on a full pipe: then it would spin no more, and the test prove nothing)."""
    assert pinit.proc.stderr is not None
    fd = pinit.proc.stderr.fileno()
    got = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            got += chunk
    return got


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs prlimit (util-linux)")
def test_out_of_descriptors_backs_off_says_it_once_and_recovers(
    launch: type[Launch], tmp_path: Path
) -> None:
    assert server.MAX_CLIENTS > NOFILE  # descriptors run out before the cap pauses accept
    events = Events(tmp_path)
    sock = tmp_path / "ctl.sock"
    config = tmp_path / "pinit.toml"
    config.write_text(
        textwrap.dedent(
            f"""\
            [pinit]
            control_socket = "{sock}"
            [programs.a]
            command = {svc("run", "a")}
            """
        )
    )
    env = {**os.environ, "EVENTS": str(events.path)}
    argv = ["prlimit", f"--nofile={NOFILE}", *pinit_bin(), "--config", str(config)]
    pinit = launch(argv, "plain", env=env)
    pinit.wait_stderr(f"control socket {sock}")
    events.wait("a", "start")

    crowd = []
    for _ in range(NOFILE + 4):  # more than pinit can hold; the rest wait in the backlog
        conn = socket.socket(socket.AF_UNIX)
        conn.connect(str(sock))
        crowd.append(conn)
    pinit.wait_stderr("accept failed")
    pid = pinit.init_pid()
    cpu_before, began = cpu_seconds(pid), time.monotonic()

    flood = read_stderr_for(pinit, WINDOW)
    assert b"accept failed" not in flood, flood[:300]

    for conn in crowd:  # pinit reads EOF on each, closes it, and has descriptors again
        conn.close()
    line = pinit.wait_stderr("accepting connections again")
    cpu_used, wall = cpu_seconds(pid) - cpu_before, time.monotonic() - began
    assert cpu_used < 0.25, f"{cpu_used:.2f}s CPU in {wall:.2f}s while out of descriptors"
    match = re.search(r"\((\d+) failed accepts\)", line)
    assert match is not None, line
    assert 2 <= int(match.group(1)) <= 20  # it retried during the window, a few times only

    rc, out, err = ctl(sock, "status")
    assert rc == 0, err
    assert "a " in out
    pinit.signal(15)
    _, _, stderr = pinit.finish()
    assert stderr.count("accept failed") == 1
    events.close()
