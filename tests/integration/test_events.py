"""Issue 8, events: `pinit ctl events` against a real pinit with real processes.

Each test follows the stream the way an operator would (`pinit ctl events --json`, or a raw
socket for the client that never reads) and checks the order and content of the records: a
crash -> backoff -> restart -> running sequence, a shutdown's steps, a reload's diff, and a
follower that never reads, which costs pinit nothing and is told how many events it lost.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import svc, up

Record = dict[str, object]


class Follower:
    """`pinit ctl events ARGS` with its stdout on a pipe; every read has a deadline."""

    def __init__(self, sock: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*pinit_bin(), "ctl", "--socket", str(sock), "events", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._buf = b""
        self.lines: list[str] = []

    def _read(self, deadline: float) -> bool:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise EOFError(f"ctl events ended; read {self.lines[-5:]}")
        self._buf += chunk
        *lines, self._buf = self._buf.split(b"\n")
        self.lines += [line.decode() for line in lines]
        return True

    def line_until(self, pred: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if pred(line):
                    return line
            seen = len(self.lines)
            if not self._read(deadline):
                raise TimeoutError(f"no such line within {timeout}s; read {self.lines[-10:]}")

    def until(self, pred: Callable[[Record], bool], timeout: float = 15.0) -> Record:
        return json.loads(self.line_until(lambda line: pred(json.loads(line)), timeout))

    @property
    def records(self) -> list[Record]:
        return [json.loads(line) for line in self.lines]

    def finish(self, timeout: float = 20.0) -> int:
        """Read to EOF (pinit stopped): the exit code; every line is in ``lines`` then."""
        out, _ = self.proc.communicate(timeout=timeout)
        tail = (self._buf + out).decode().splitlines()
        self.lines += [line for line in tail if line]
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)


def ctl(sock: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [*pinit_bin(), "ctl", "--socket", str(sock), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20)


def of(records: list[Record], program: str) -> list[Record]:
    return [r for r in records if r.get("program") == program]


def brief(r: Record) -> tuple[object, ...]:
    return (r["type"], r.get("to")) if r["type"] == "state" else (r["type"],)


def in_order(records: list[Record], wanted: list[tuple[object, ...]]) -> list[Record]:
    """The records matching `wanted` as a subsequence, in order (AssertionError if not)."""
    found, i = [], 0
    for r in records:
        if i < len(wanted) and brief(r) == wanted[i]:
            found.append(r)
            i += 1
    assert i == len(wanted), f"missing {wanted[i:]} in {[brief(r) for r in records]}"
    return found


CRASH_ONCE = """
[programs.crash]
command = ["sh", "-c", "if [ -e {flag} ]; then exec sleep 1000; fi; touch {flag}; exit 3"]
# the first run's exit must fall inside start_seconds (a failed start: backoff, attempts 1)
start_seconds = "1s"
backoff = {{ initial = "0.2s", max = "1s", jitter = 0.0 }}
"""


def test_crash_backoff_restart_running_in_order(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, CRASH_ONCE.format(flag=tmp_path / "crashed"))
    follower = Follower(sock, "--json", "--since-start")
    try:
        follower.until(lambda r: r.get("program") == "crash" and r.get("to") == "running")
        pinit.signal(signal.SIGTERM)
        assert follower.finish() == 0
        records = follower.records
        assert pinit.finish()[0] == 0
    finally:
        follower.kill()
        pinit.kill()
        events.close()
    crash = of(records, "crash")
    steps = in_order(
        crash,
        [
            ("spawn",),
            ("state", "starting"),
            ("exit",),
            ("state", "cleanup"),
            ("backoff",),
            ("state", "backoff"),
            ("spawn",),
            ("state", "starting"),
            ("state", "running"),
        ],
    )
    first, exited, backoff, second, running = steps[0], steps[2], steps[4], steps[6], steps[8]
    assert exited["pid"] == first["pid"] and exited["code"] == 3 and exited["signal"] is None
    assert backoff["reason"] == "exited" and backoff["delay"] == 0.2 and backoff["attempts"] == 1
    assert steps[5]["from"] == "cleanup" and steps[5]["reason"] == "exited"
    assert second["pid"] != first["pid"] and running["pid"] == second["pid"]
    # the backoff was really waited out, on the monotonic clock the records carry
    assert isinstance(second["mono"], float) and isinstance(backoff["mono"], float)
    assert second["mono"] - backoff["mono"] >= 0.19
    seqs = [r["seq"] for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for r in records:
        assert {"type", "ts", "mono", "program", "instance", "pid"} <= r.keys()
        assert isinstance(r["ts"], float) and abs(r["ts"] - time.time()) < 60
    assert records[-1]["type"] == "done" and records[-1]["code"] == 0


def test_human_lines(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, CRASH_ONCE.format(flag=tmp_path / "crashed"))
    follower = Follower(sock, "--since-start", "crash")
    try:
        follower.line_until(lambda line: "starting -> running" in line)
        pinit.signal(signal.SIGTERM)
        assert follower.finish() == 0
        assert pinit.finish()[0] == 0
    finally:
        follower.kill()
        pinit.kill()
        events.close()
    stamp = r"\d\d:\d\d:\d\d\.\d{3}"
    text = "\n".join(follower.lines)
    for what in (
        r"crash  pid \d+ exited \(code 3\)",
        r"crash  restart in 0\.2s \(exited\), failed starts: 1",
        r"crash  cleanup -> backoff \(exited\)",
        r"pinit  running -> shutting-down \(received SIGTERM\)",
        r"pinit  exited with code 0",
    ):
        assert re.search(rf"^{stamp}  {what}$", text, re.M), (what, text)
    assert "{" not in text  # human lines, not JSON


def test_shutdown_steps(launch: type[Launch], tmp_path: Path) -> None:
    programs = f"""
    [programs.polite]
    command = {svc("run", "polite")}
    start_seconds = 0
    [programs.stubborn]
    command = {svc("stubborn", "stubborn")}
    start_seconds = 0
    stop_timeout = "0.3s"
    [programs.leaver]
    command = ["sh", "-c", "env -i setsid sh -c '{{STRAY}}' & exec sleep 1000"]
    start_seconds = 0
    """
    stray = 'trap \\"\\" TERM; exec sleep 1000 </dev/null >/dev/null 2>&1'
    programs = programs.replace("{STRAY}", stray)
    # an untagged process in its own session, deaf to TERM: the final sweep's stray
    pinit, events, sock = up(launch, tmp_path, programs, head='stop_timeout = "0.5s"\n')
    follower = Follower(sock, "--json", "--history", "100")
    try:
        events.wait("polite", "start")
        events.wait("stubborn", "start")
        follower.until(lambda r: r.get("type") == "phase" and r.get("to") == "running")
        pinit.signal(signal.SIGTERM)
        assert follower.finish() == 0
        records = follower.records
        rc = pinit.finish()[0]
    finally:
        follower.kill()
        pinit.kill()
        events.close()
    phase = [r for r in records if r["type"] == "phase"]
    assert phase[-2]["to"] == "shutting-down" and phase[-2]["reason"] == "received SIGTERM"
    assert phase[-1]["to"] == "done"
    polite = in_order(of(records, "polite"), [("signal",), ("state", "stopping"), ("exit",)])
    assert polite[0]["signal"] == "SIGTERM" and polite[0]["reason"] == "stop"
    assert polite[2]["signal"] == "SIGTERM" or polite[2]["code"] == 0
    stubborn = in_order(
        of(records, "stubborn"),
        [("signal",), ("state", "stopping"), ("kill",), ("exit",), ("state", "stopped")],
    )
    assert stubborn[2]["signal"] == "SIGKILL" and stubborn[2]["reason"] == "stop_timeout"
    assert stubborn[3]["signal"] == "SIGKILL" and stubborn[3]["code"] == 137
    strays = [r for r in records if r["type"] == "stray"]
    assert any("sleep" in str(r["command"]) for r in strays), strays
    assert records[-1]["type"] == "done" and records[-1]["code"] == rc


def test_reload_diff(launch: type[Launch], tmp_path: Path) -> None:
    def programs(*names: str, changed: str = "") -> str:
        return "".join(
            f"[programs.{n}]\ncommand = {svc('run', n)}\nstart_seconds = 0\n"
            + (f"environment = {{ X = '{changed}' }}\n" if n == "a" and changed else "")
            for n in names
        )

    pinit, events, sock = up(launch, tmp_path, programs("a", "c"))
    follower = Follower(sock, "--json", "--history", "100")
    try:
        follower.until(lambda r: r.get("program") == "c" and r.get("to") == "running")
        config = tmp_path / "pinit.toml"
        head = config.read_text().split("[programs.")[0]
        config.write_text(head + programs("a", "b", changed="2"))
        assert ctl(sock, "reload").returncode == 0
        diff = follower.until(lambda r: r["type"] == "reload")
        assert (diff["added"], diff["removed"], diff["changed"]) == (["b"], ["c"], ["a"])
        assert diff["program"] is None
        follower.until(lambda r: r.get("program") == "b" and r.get("to") == "running")
        follower.until(lambda r: r.get("program") == "c" and r.get("to") == "stopped")
        pinit.signal(signal.SIGTERM)
        assert follower.finish() == 0
        assert pinit.finish()[0] == 0
    finally:
        follower.kill()
        pinit.kill()
        events.close()


def test_a_follower_that_never_reads_loses_events_and_blocks_nothing(
    launch: type[Launch], tmp_path: Path
) -> None:
    """A crash loop makes thousands of events while a raw client with a bound of 8 never
    reads: pinit goes on restarting (the loop's later starts arrive), answers `ctl status`,
    and the client, once it reads, is told how many it lost, with no gap left unexplained."""
    loop = """
    [programs.loop]
    command = ["sh", "-c", "echo \\"loop start $$$$ 0\\" > $EVENTS; exit 1"]
    start_seconds = 0
    restart = "always"
    flap_max = 1000000
    """
    pinit, events, sock = up(launch, tmp_path, loop)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        slow.connect(str(sock))
        slow.sendall(b'{"cmd":"events","bound":8}\n')
        for _ in range(600):  # ~7 records a cycle: far beyond the socket buffers and bound
            events.wait("loop", "start", timeout=30)
        reply = subprocess.run(
            [*pinit_bin(), "ctl", "--socket", str(sock), "status", "--json"],
            capture_output=True,
            timeout=20,
        )
        assert reply.returncode == 0 and b'"loop"' in reply.stdout
        assert ctl(sock, "stop", "loop").returncode == 0
        # now read what was kept: the reply, records, and somewhere the count of the lost
        slow.settimeout(20)
        buf = b""
        lost_at = -1
        while lost_at < 0 or b"stopped" not in buf[lost_at:]:
            chunk = slow.recv(1 << 16)
            assert chunk, "EOF before the lost count"
            buf += chunk
            lost_at = buf.find(b'{"lost":')
        lines = [json.loads(line) for line in buf.split(b"\n")[:-1]]
        assert lines[0] == {"ok": True, "stream": "events"}
        pinit.signal(signal.SIGTERM)
        pinit.finish()  # its code is the loop's last exit's; what matters came before
    finally:
        slow.close()
        pinit.kill()
        events.close()
    # every gap in the sequence numbers is exactly a lost count, told before the next record
    told = 0
    prev = None
    for line in lines[1:]:
        if "lost" in line:
            assert isinstance(line["lost"], int) and line["lost"] > 0
            told += line["lost"]
            gap = line["lost"]
            continue
        seq = line["seq"]
        assert isinstance(seq, int)
        if prev is not None:
            assert seq == prev + 1 + (gap if gap else 0)
        prev, gap = seq, 0
    assert told > 1000


def test_probe_verdicts_and_a_spawn_failure(launch: type[Launch], tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    programs = f"""
    [programs.db]
    command = {svc("listen", "db", str(port), "0.3")}
    ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
    [programs.late]
    command = ["sleep", "1000"]
    ready = {{ tcp = "127.0.0.1:1", interval = "50ms", timeout = "0.3s" }}
    restart = "never"
    [programs.ghost]
    command = ["{tmp_path}/gone"]
    restart = "never"
    autostart = false
    """
    gone = tmp_path / "gone"
    gone.write_text("#!/bin/sh\n")
    gone.chmod(0o755)  # there when the config is checked, gone when it is started
    pinit, events, sock = up(launch, tmp_path, programs, head='on_fatal = "ignore"\n')
    follower = Follower(sock, "--json", "--since-start")
    try:
        ok = follower.until(lambda r: r["type"] == "probe" and r["program"] == "db")
        db = events.wait("db", "start").pid
        bad = follower.until(lambda r: r["type"] == "probe" and r["program"] == "late")
        gone.unlink()
        ctl(sock, "start", "ghost")
        failed = follower.until(lambda r: r["type"] == "spawn_failed")
        pinit.signal(signal.SIGTERM)
        assert follower.finish() == 0
        pinit.finish()
    finally:
        follower.kill()
        pinit.kill()
        events.close()
    assert (ok["probe"], ok["ok"], ok["pid"]) == ("ready", True, db)
    assert (bad["probe"], bad["ok"], bad["reason"]) == ("ready", False, "not ready after 0.3s")
    assert (failed["program"], failed["code"], failed["pid"]) == ("ghost", 127, None)
    assert "gone" in str(failed["reason"])
    ghost = of(follower.records, "ghost")
    assert [brief(r) for r in ghost][-1] == ("state", "exited")
