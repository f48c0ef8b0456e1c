"""Issue 9, one pinit per config: a second `pinit --config` with the same name (the same control
socket) refuses to start, naming the first one's pid, before it starts any program."""

from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import Events, fd_targets, start, svc


def config(tmp_path: Path, sock: Path, who: str) -> Path:
    path = tmp_path / f"{who}.toml"
    path.write_text(
        textwrap.dedent(f"""
        [pinit]
        name = "same"
        control_socket = "{sock}"
        [programs.{who}]
        command = {svc("run", who)}
        start_seconds = 0
        """)
    )
    return path


def run(launch: type[Launch], tmp_path: Path, sock: Path, events: Events, who: str) -> Launch:
    argv = [*pinit_bin(), "--config", str(config(tmp_path, sock, who))]
    return launch(argv, "plain", env={**os.environ, "EVENTS": str(events.path)})


def second(tmp_path: Path, sock: Path, events: Events) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*pinit_bin(), "--config", str(config(tmp_path, sock, "two"))],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "EVENTS": str(events.path)},
        check=False,
    )


def test_second_pinit_with_same_name_refuses(launch: type[Launch], tmp_path: Path) -> None:
    sock = tmp_path / "ctl.sock"
    first, events = start(launch, tmp_path, config(tmp_path, sock, "one").read_text(), "plain")
    try:
        one = events.wait("one", "start")
        first.wait_stderr(f"control socket {sock}")
        # the lock is pinit's alone: a program outliving pinit must not keep it
        # (fds opened and closed while we look, as svc.py's event line, are skipped)
        assert f"{sock}.lock" not in fd_targets(one.pid)
        assert f"{sock}.lock" in fd_targets(first.proc.pid)
        done = second(tmp_path, sock, events)
        assert done.returncode == 1, done.stderr
        assert f"another pinit (pid {first.proc.pid})" in done.stderr, done.stderr
        assert "refusing to start" in done.stderr
        # the first is unaffected: its socket still answers, its program kept its pid
        ctl = subprocess.run(
            [*pinit_bin(), "ctl", "--socket", str(sock), "status", "--json"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert ctl.returncode == 0, ctl.stderr
        assert f'"pid": {one.pid}' in ctl.stdout
        first.proc.send_signal(signal.SIGTERM)
        rc, _, err = first.finish()
        assert rc == 0, err
        # the refused one never started its program: "two start" was never written
        assert events.count("two", "start") == 0
    finally:
        first.kill()
    # after the first stopped, a new one starts (its lock died with it)
    third = run(launch, tmp_path, sock, events, "three")
    try:
        three = events.wait("three", "start")
        third.wait_stderr(f"control socket {sock}")
        # SIGKILLed: its socket file stays behind, stale; the lock dies with the process
        third.proc.kill()
        third.proc.wait(timeout=20)
        os.kill(three.pid, signal.SIGKILL)  # its orphan, in its own session
        assert sock.exists()
        fourth = run(launch, tmp_path, sock, events, "four")
        try:
            events.wait("four", "start")
            fourth.wait_stderr(f"control socket {sock}")  # the stale socket was taken over
        finally:
            fourth.kill()
    finally:
        third.kill()
        events.close()


def test_the_pid_named_is_the_one_seen_from_here(launch: type[Launch], tmp_path: Path) -> None:
    """The first pinit is PID 1 of its own namespace (its lock file says 1); the refusal names
    the pid this side sees (SO_PEERCRED of its control socket)."""
    sock = tmp_path / "ctl.sock"
    first, events = start(launch, tmp_path, config(tmp_path, sock, "one").read_text(), "pid1")
    try:
        events.wait("one", "start")
        first.wait_stderr(f"control socket {sock}")
        assert (tmp_path / "ctl.sock.lock").read_text() == "1\n"
        done = second(tmp_path, sock, events)
        assert done.returncode == 1, done.stderr
        assert f"another pinit (pid {first.init_pid()})" in done.stderr, done.stderr
    finally:
        first.kill()
        events.close()
