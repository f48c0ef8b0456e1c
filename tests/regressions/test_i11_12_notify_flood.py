"""Issue 11.12: the notify socket accepted any user.

An unprivileged user's 1.36 M datagrams in 12 s cut the restart rate nearly in half: every one
was parsed and looked up. Now a datagram whose sender (from SCM_CREDENTIALS) is no program's
process is dropped unparsed and counted (said with -v at 1, 2, 4... refusals), and one loop
turn reads at most 64 datagrams. The test floods from uid 65534 while a notify-ready program
waits to send READY=1: its dependent must still start, pinit must say it refused the flood
unparsed, and a TERM during the flood must still stop everything promptly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start, svc

# The system's interpreter: the test's own may live where uid 65534 cannot read.
FLOOD_PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
FLOODER = (
    "import socket, sys\n"
    "a = sys.argv[1]\n"
    "t = '\\0' + a[1:] if a.startswith('@') else a\n"
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
    "s.setblocking(False)\n"
    "m = b'READY=1\\nSTATUS=' + b'x' * 200\n"
    "print('flooding', flush=True)\n"
    "while True:\n"
    "    try:\n"
    "        s.sendto(m, t)\n"
    "    except BlockingIOError:\n"
    "        pass\n"
)

# Records its NOTIFY_SOCKET, then waits for the test's go (a FIFO) before READY=1.
PROVIDER = (
    "import os, socket, sys\n"
    "addr = os.environ['NOTIFY_SOCKET']\n"
    "with open(sys.argv[1] + '.tmp', 'w') as f: f.write(addr)\n"
    "os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
    "with open(os.environ['EVENTS'], 'w') as e: e.write('db addr %d 0\\n' % os.getpid())\n"
    "os.close(os.open(sys.argv[2], os.O_RDONLY))\n"
    "t = '\\0' + addr[1:] if addr.startswith('@') else addr\n"
    "socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', t)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)


def test_flood_from_another_user_is_refused_unparsed(launch: type[Launch], tmp_path: Path) -> None:
    addr_file, go = tmp_path / "addr", tmp_path / "go.fifo"
    os.mkfifo(go)
    script = tmp_path / "provider.py"
    script.write_text(PROVIDER)
    provider = [sys.executable, "-I", "-S", str(script), str(addr_file), str(go)]
    command = "[" + ", ".join(f'"{a}"' for a in provider) + ", " + svc("run", "db")[1:]
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.db]
        command = {command}
        ready = {{ notify = true }}
        [programs.web]
        command = {svc("run", "web")}
        after = ["db"]
        """,
        extra=("-v",),
    )
    events.wait("db", "addr")
    flooder = subprocess.Popen(
        [FLOOD_PYTHON, "-I", "-S", "-c", FLOODER, addr_file.read_text()],
        stdout=subprocess.PIPE,
        user=65534,
    )
    try:
        assert flooder.stdout is not None
        assert flooder.stdout.readline() == b"flooding\n"
        pinit.wait_stderr("datagrams refused unparsed", timeout=10)
        with open(go, "w"):
            pass  # db sends READY=1 now, in the middle of the flood
        events.wait("web", "start", timeout=10)
        events.wait("db", "start", timeout=10)  # its TERM handler is in place
        line = pinit.wait_stderr("1024 datagrams refused unparsed", timeout=20)
        assert "uid 65534" in line
        sent = time.monotonic()
        pinit.signal(signal.SIGTERM)
        events.wait("web", "term", timeout=10)
        events.wait("db", "term", timeout=10)
        assert pinit.proc.wait(timeout=10) == 0
        assert time.monotonic() - sent < 8
    finally:
        flooder.kill()
        flooder.wait(timeout=10)
