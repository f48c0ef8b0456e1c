"""`pinit ctl` against a real pinit: every command, the socket's access rules, slow clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Launch, pinit_bin
from tests.integration.supervise import start, svc, up


def ctl(sock: Path, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [*pinit_bin(), "ctl", "--socket", str(sock), *args],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return proc.returncode, proc.stdout, proc.stderr


def status(sock: Path) -> dict[str, dict[str, object]]:
    rc, out, err = ctl(sock, "status", "--json")
    assert rc == 0, err
    reply = json.loads(out)
    return {inst["name"]: inst for inst in reply["instances"]}


TWO = f"""
[programs.a]
command = {svc("run", "a")}
start_seconds = 0
[programs.b]
command = {svc("run", "b")}
numprocs = 2
start_seconds = 0
"""


def test_status_lists_every_instance(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, TWO, mode="pid1")
    pids = {events.wait(name, "start").pid for name in ("a", "b", "b")}
    insts = status(sock)
    assert set(insts) == {"a", "b-1", "b-2"}
    assert {i["state"] for i in insts.values()} == {"running"}
    assert {i["pid"] for i in insts.values()} == pids
    for inst in insts.values():
        assert isinstance(inst["rss"], int) and inst["rss"] > 0
        assert inst["ready"] is True and inst["restarts"] == 0
    rc, table, _ = ctl(sock, "status")
    assert rc == 0
    assert table.splitlines()[1].split()[:3] == ["INSTANCE", "STATE", "PID"]
    assert any(line.split()[:2] == ["b-2", "running"] for line in table.splitlines())
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
    assert not sock.exists()  # removed at exit


def test_stop_then_start_one_program(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, TWO)
    first = events.wait("a", "start")
    others = {events.wait("b", "start").pid, events.wait("b", "start").pid}
    rc, out, err = ctl(sock, "stop", "a")
    assert rc == 0, err
    assert out == "a: stopping\n"
    events.wait("a", "term")
    rc, out, err = ctl(sock, "start", "a")  # may still be stopping: started once stopped
    assert rc == 0, err
    second = events.wait("a", "start")
    assert second.pid != first.pid
    insts = status(sock)
    assert {insts["b-1"]["pid"], insts["b-2"]["pid"]} == others
    assert insts["a"]["pid"] == second.pid and insts["a"]["restarts"] == 1
    assert {insts["b-1"]["state"], insts["b-2"]["state"]} == {"running"}
    pinit.signal(signal.SIGTERM)
    pinit.finish()
    assert events.count("b", "term") == 2  # one each, from the shutdown: `stop a` spared b


def test_stopped_main_keeps_the_container_up(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(launch, tmp_path, TWO, head='main = "a"\n')
    events.wait("a", "start")
    assert ctl(sock, "stop", "all")[0] == 0
    for name in ("a", "b", "b"):
        events.wait(name, "term")
    assert {i["state"] for i in status(sock).values()} == {"stopped"}
    assert pinit.proc.poll() is None
    assert ctl(sock, "start", "b-2")[0] == 0
    events.wait("b", "start")
    insts = status(sock)
    assert insts["b-2"]["state"] == "running" and insts["b-1"]["state"] == "stopped"


def test_restart(launch: type[Launch], tmp_path: Path) -> None:
    _pinit, events, sock = up(launch, tmp_path, TWO)
    first = events.wait("a", "start")
    rc, out, _ = ctl(sock, "restart", "a")
    assert rc == 0
    assert "will start once stopped" in out
    term = events.wait("a", "term")
    second = events.wait("a", "start")
    assert term.pid == first.pid and second.pid != first.pid
    assert term.ns < second.ns


def test_signal_reaches_the_program(launch: type[Launch], tmp_path: Path) -> None:
    _pinit, events, sock = up(
        launch, tmp_path, f"[programs.s]\ncommand = {svc('signals', 's')}\nstart_seconds = 0\n"
    )
    events.wait("s", "start")
    rc, out, err = ctl(sock, "signal", "s", "USR1")
    assert rc == 0, err
    assert out == "SIGUSR1 sent to s\n"
    events.wait("s", f"got-{int(signal.SIGUSR1)}")
    rc, _, err = ctl(sock, "signal", "nope", "USR1")
    assert rc == 1 and "no program or instance 'nope'" in err


def test_reload_with_a_broken_config_returns_the_errors(
    launch: type[Launch], tmp_path: Path
) -> None:
    _pinit, events, sock = up(launch, tmp_path, TWO)
    first = events.wait("a", "start")
    config = tmp_path / "pinit.toml"
    config.write_text(config.read_text() + "\n[programs.c]\ncomand = ['true']\n")
    rc, _, err = ctl(sock, "reload")
    assert rc == 1
    assert "reload refused" in err and "programs.c.comand" in err
    assert status(sock)["a"]["pid"] == first.pid  # the old config keeps running
    config.write_text(config.read_text().replace("comand", "command"))
    rc, out, err = ctl(sock, "reload")
    assert (rc, out) == (0, "reloaded\n"), err


def test_logs_of_a_program_with_a_file(launch: type[Launch], tmp_path: Path) -> None:
    lines = "; ".join(f"echo line{i}" for i in range(1, 8))
    then_svc = svc("run", "talk")[1:-1]  # the items of svc's TOML array
    _pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.talk]
        command = ["sh", "-c", "{lines}; exec \\"$0\\" \\"$@\\"", {then_svc}]
        stdout = "talk.log"
        start_seconds = 0
        [programs.quiet]
        command = {svc("run", "quiet")}
        """,
    )
    events.wait("talk", "start")
    out = ""
    for _ in range(50):  # the writer thread puts the lines on disk a moment after the read
        rc, out, err = ctl(sock, "logs", "talk", "-n", "3")
        assert rc == 0, err
        if out == "line5\nline6\nline7\n":
            break
    assert out == "line5\nline6\nline7\n"
    rc, _, err = ctl(sock, "logs", "quiet")
    assert rc == 1 and "no log file" in err and "pinit's own stdout" in err


def test_a_silent_client_does_not_block_others(launch: type[Launch], tmp_path: Path) -> None:
    _pinit, events, sock = up(launch, tmp_path, TWO)
    events.wait("a", "start")
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(str(sock))
    silent.sendall(b'{"cmd": "sta')  # half a request, and then nothing
    noisy = socket.socket(socket.AF_UNIX)
    noisy.connect(str(sock))
    noisy.settimeout(10)
    noisy.sendall(b"x" * 70_000 + b"\nnot json\n" + b'{"cmd": "status"}\n')
    replies = noisy.makefile("rb")
    assert b"longer than" in replies.readline()
    assert b"not a JSON object" in replies.readline()
    assert json.loads(replies.readline())["ok"] is True
    assert ctl(sock, "status")[0] == 0  # served while both others are still connected
    silent.sendall(b'tus"}\n')
    silent.settimeout(10)
    assert json.loads(silent.makefile("rb").readline())["ok"] is True
    silent.close()
    noisy.close()


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory another user can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="pinit-ctl-"))
    path.chmod(0o755)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another uid")
def test_another_uid_is_refused(launch: type[Launch], tmp_path: Path, open_dir: Path) -> None:
    sock = open_dir / "ctl.sock"
    body = f'[pinit]\ncontrol_socket = "{sock}"\n' + textwrap.dedent(TWO)
    pinit, _events = start(launch, tmp_path, body, mode="plain")
    pinit.wait_stderr("control socket")
    client = textwrap.dedent(
        """
        import socket, sys
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sys.argv[1])
        except OSError as e:
            print("connect", e.errno)
            sys.exit()
        try:
            s.sendall(b'{"cmd": "status"}\\n')
        except OSError:
            pass  # refused at accept: pinit may have closed before this was sent
        s.settimeout(10)
        data = b""
        try:
            while chunk := s.recv(4096):
                data += chunk
        except OSError as e:
            print("recv", e.errno, data)
        print(data.decode())
        """
    )

    python = next(
        (p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if os.access(p, os.X_OK)), None
    )
    if python is None:
        pytest.skip("no system python3 that another user may run (the venv's is under /root)")

    def as_nobody() -> str:
        proc = subprocess.run(
            [python, "-I", "-c", client, str(sock)],
            cwd="/",
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return proc.stdout

    import errno

    assert as_nobody().strip() == f"connect {errno.EACCES}"  # wall one: mode 0600
    sock.chmod(0o666)  # take it down: SO_PEERCRED is the second wall
    answer = as_nobody()
    replies = [json.loads(line) for line in answer.splitlines() if line.startswith("{")]
    reply = replies[0] if replies else {}
    assert reply.get("ok") is False and "uid 65534" in reply["error"], answer
    pinit.wait_stderr("refused a connection from uid 65534")
    assert ctl(sock, "status")[0] == 0  # root still gets in


def test_stale_socket_is_replaced_and_a_live_one_is_not(
    launch: type[Launch], tmp_path: Path
) -> None:
    sock = tmp_path / "ctl.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock))
    stale.close()  # the file stays, nobody listens: a pinit killed with SIGKILL
    _pinit, _events, _ = up(launch, tmp_path, TWO)
    assert ctl(sock, "status")[0] == 0
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    body = f'[pinit]\ncontrol_socket = "{sock}"\n[programs.z]\ncommand = {svc("run", "z")}\n'
    other, other_events = start(launch, second_dir, body)
    rc, _, err = other.finish()  # issue 9: it refuses before starting anything
    assert rc == 1 and f"another pinit (pid {_pinit.proc.pid})" in err, err
    assert other_events.count("z", "start") == 0
    assert ctl(sock, "status")[0] == 0  # the first one still owns it
    assert status(sock)["a"]["state"] == "running"


def test_programs_get_the_socket_path(launch: type[Launch], tmp_path: Path) -> None:
    _pinit, events, sock = up(launch, tmp_path, TWO)
    pid = events.wait("a", "start").pid
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"PINIT_CONTROL_SOCKET={sock}".encode() in environ


def test_ctl_without_pinit_exits_3(tmp_path: Path) -> None:
    rc, _, err = ctl(tmp_path / "none.sock", "status")
    assert rc == 3
    assert str(tmp_path / "none.sock") in err and "no pinit is listening" in err


def test_idle_crowds_and_non_reading_clients_do_not_lock_out_the_operator(
    launch: type[Launch], tmp_path: Path
) -> None:
    """More idle connections than the server keeps: at the cap pinit stops accepting, closes
    the connections that kept it waiting IDLE seconds, and the queued client is served. A
    client that pipelines requests and never reads its replies stalls only itself."""
    from pinit.control.server import MAX_CLIENTS

    pinit, events, sock = up(launch, tmp_path, TWO)
    events.wait("a", "start")
    crowd = []
    for _ in range(MAX_CLIENTS + 8):
        conn = socket.socket(socket.AF_UNIX)
        conn.connect(str(sock))
        crowd.append(conn)
    greedy = socket.socket(socket.AF_UNIX)
    greedy.connect(str(sock))
    greedy.setblocking(False)
    request = b'{"cmd": "status"}\n' * 1000
    sent = 0
    try:
        while sent < 50 * len(request):  # until the kernel buffers are full both ways
            sent += greedy.send(request)
    except BlockingIOError:
        pass
    rc, out, err = ctl(sock, "status")
    assert rc == 0, err
    assert "a " in out
    assert pinit.proc.poll() is None
    for conn in [*crowd, greedy]:
        conn.close()
    assert ctl(sock, "status")[0] == 0
