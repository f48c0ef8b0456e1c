"""Issue 8: `pinit ctl health` exit codes against a real pinit: 0 healthy, 1 not, 3 unreachable."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import svc
from tests.integration.test_ctl import up


def health(sock: Path, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [*pinit_bin(), "ctl", "--socket", str(sock), "health", *args],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return proc.returncode, proc.stdout.strip(), proc.stderr.strip()


def test_a_critical_program_in_backoff_is_unhealthy(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {svc("exit", "web", "3")}
        critical = true
        start_seconds = 5
        backoff = {{ initial = "60s", max = "60s", jitter = 0.0 }}
        [programs.db]
        command = {svc("run", "db")}
        start_seconds = 0
        """,
    )
    events.wait("web", "start")
    pinit.wait_stderr("web: restarting in")
    rc, out, _ = health(sock)
    assert (rc, out) == (1, "web: BACKOFF (exited 3), restarting")
    assert health(sock, "db") == (0, "ok: db running", "")  # named: only db is looked at
    rc, out, _ = health(sock, "db", "web")
    assert (rc, out) == (1, "web: BACKOFF (exited 3), restarting")
    rc, _, err = health(sock, "nosuch")
    assert rc == 1
    assert "no program or instance 'nosuch'" in err
    pinit.signal(15)
    pinit.finish()


def test_ready_flag_waits_for_the_ready_probe(launch: type[Launch], tmp_path: Path) -> None:
    flag = tmp_path / "ready.flag"
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.db]
        command = {svc("run", "db")}
        start_seconds = 0
        ready = {{ command = ["test", "-e", "{flag}"], interval = "50ms" }}
        [programs.web]
        command = {svc("run", "web")}
        after = ["db"]
        start_seconds = 0
        """,
    )
    events.wait("db", "start")
    # no program is critical: every autostart one is looked at, web still waits on db
    assert health(sock)[:2] == (1, "web: STOPPED")
    assert health(sock, "db") == (0, "ok: db running", "")
    assert health(sock, "--ready", "db")[:2] == (1, "db: RUNNING, not ready")
    flag.touch()
    events.wait("web", "start")  # started after db: db was ready then
    assert health(sock, "--ready", "db") == (0, "ok: db running and ready", "")
    assert health(sock, "--ready") == (0, "ok: db, web running and ready", "")
    pinit.signal(15)
    assert pinit.finish()[0] == 0


def test_a_finished_one_shot_job_is_healthy(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.migrate]
        command = {svc("exit", "migrate", "0")}
        restart = "on-failure"
        start_seconds = 0
        [programs.web]
        command = {svc("run", "web")}
        after = ["migrate"]
        start_seconds = 0
        """,
    )
    events.wait("web", "start")
    assert health(sock, "--ready")[0] == 0
    pinit.signal(15)
    assert pinit.finish()[0] == 0


def test_no_pinit_is_exit_3(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sock"
    rc, _, err = health(missing)
    assert rc == 3
    assert "no pinit is listening" in err
    refused = tmp_path / "refused.sock"
    bound = socket.socket(socket.AF_UNIX)
    bound.bind(str(refused))  # bound, never listening: ECONNREFUSED
    try:
        assert health(refused)[0] == 3
    finally:
        bound.close()


def test_a_silent_server_is_exit_3_within_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "silent.sock"
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(path))
    silent.listen(8)  # the kernel accepts the connect; nobody ever answers
    try:
        rc, _, err = health(path, "--timeout", "0.3")
    finally:
        silent.close()
    assert rc == 3
    assert "no reply within 0.3s" in err
