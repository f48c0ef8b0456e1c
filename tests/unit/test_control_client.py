"""`pinit ctl` output: the status table, the other replies, exit codes without a pinit."""

from __future__ import annotations

import io
import json
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from pinit.cli import main
from pinit.control import client, paths
from pinit.control.proto import Request

STATUS = {
    "ok": True,
    "name": "shop",
    "phase": "running",
    "pid": 1,
    "instances": [
        {
            "name": "web-1",
            "state": "running",
            "pid": 42,
            "uptime": 3725.2,
            "restarts": 2,
            "last_exit": 143,
            "ready": True,
            "cpu_percent": 1.25,
            "rss": 12 * 1024 * 1024,
        },
        {
            "name": "db",
            "state": "stopped",
            "pid": None,
            "uptime": None,
            "restarts": 0,
            "last_exit": None,
            "ready": False,
            "cpu_percent": None,
            "rss": None,
        },
    ],
}


def test_status_table() -> None:
    text = client.format_reply(Request("status"), STATUS)
    lines = text.splitlines()
    assert lines[0] == "pinit shop (pid 1): running"
    assert lines[1].split() == [
        "INSTANCE", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "EXIT", "READY", "CPU%", "RSS"
    ]  # fmt: skip
    assert lines[2].split() == [
        "web-1",
        "running",
        "42",
        "1h02m",
        "2",
        "143",
        "yes",
        "1.2",
        "12.0M",
    ]
    assert lines[3].split() == ["db", "stopped", "-", "-", "0", "-", "no", "-", "-"]
    # columns line up: every row starts its STATE at the same offset
    offsets = {
        line.index(word)
        for line, word in zip(lines[1:], ["STATE", "running", "stopped"], strict=True)
    }
    assert len(offsets) == 1


def test_status_table_survives_odd_replies() -> None:
    text = client.format_reply(Request("status"), {"ok": True, "instances": [None, {"x": 1}]})
    assert "INSTANCE" in text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.5, "0.5s"), (42, "42s"), (61, "1m01s"), (7322, "2h02m"), (90000, "1d01h"), (None, "-")],
)
def test_durations(seconds: float | None, shown: str) -> None:
    assert client._duration(seconds) == shown


def test_other_replies() -> None:
    fmt = client.format_reply
    lifecycle = {
        "ok": True,
        "instances": [
            {"name": "web-1", "state": "stopping", "pending_start": True},
            {"name": "web-2", "state": "starting", "pending_start": False},
        ],
    }
    assert fmt(Request("restart", "web"), lifecycle) == (
        "web-1: stopping, will start once stopped\nweb-2: starting\n"
    )
    sig = {"ok": True, "signal": "SIGHUP", "instances": ["web-1"]}
    assert fmt(Request("signal", "web", signal=signal.SIGHUP), sig) == "SIGHUP sent to web-1\n"
    assert fmt(Request("reload"), {"ok": True}) == "reloaded\n"
    logs = {"ok": True, "files": [{"path": "/l/a.log", "lines": ["one", "two"]}]}
    assert fmt(Request("logs", "a"), logs) == "one\ntwo\n"
    two = {"ok": True, "files": [{"path": "/a", "lines": ["x"]}, {"path": "/b", "error": "gone"}]}
    assert fmt(Request("logs", "a"), two) == "==> /a <==\nx\n==> /b <==\n(/b: gone)\n"


def test_no_pinit_exits_3_naming_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sock = tmp_path / "nobody-home.sock"
    assert main(["ctl", "--socket", str(sock), "status"]) == client.CONNECT_FAILED
    err = capsys.readouterr().err
    assert str(sock) in err and "no pinit is listening" in err


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    sock = str(tmp_path / "s.sock")
    for argv in (
        ["ctl"],
        ["ctl", "--socket", sock, "dance"],
        ["ctl", "--socket", sock, "signal", "web", "NOPE"],
        ["ctl", "--socket", sock, "logs", "web", "-n", "0"],
        ["ctl", "--socket", sock, "start"],
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2


def test_run_reports_error_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    reply = {"ok": False, "error": "reload refused: 1 error", "errors": ["a.toml:1: x: bad"]}
    monkeypatch.setattr(client, "request", lambda paths, req: reply)
    out, err = io.StringIO(), io.StringIO()
    assert client.run(["/x"], Request("reload"), False, out, err) == client.ERROR_REPLY
    assert out.getvalue() == ""
    assert "reload refused" in err.getvalue() and "a.toml:1: x: bad" in err.getvalue()
    out = io.StringIO()
    assert client.run(["/x"], Request("reload"), True, out, io.StringIO()) == client.ERROR_REPLY
    assert '"ok": false' in out.getvalue()


def test_socket_path_order(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"PINIT_CONTROL_SOCKET": "/e.sock", "XDG_RUNTIME_DIR": "/xdg"}
    assert paths.server_path("/c.sock", "n", env) == "/c.sock"
    assert paths.server_path("", "n", env) != "/e.sock"  # inherited from an outer pinit
    monkeypatch.setattr(paths, "_run_usable", lambda: True)
    assert paths.server_path("", "n", {}) == "/run/pinit/n.sock"
    monkeypatch.setattr(paths, "_run_usable", lambda: False)
    import os

    uid = os.getuid()
    assert paths.server_path("", "n", {"XDG_RUNTIME_DIR": "/xdg"}) == f"/xdg/pinit-{uid}/n.sock"
    assert paths.server_path("", "n", {}) == f"/tmp/pinit-{uid}/n.sock"
    assert paths.candidates("", "zz-none", {})[0] == f"/tmp/pinit-{uid}/zz-none.sock"


def full_backlog(path: Path) -> tuple[socket.socket, list[socket.socket]]:
    """A listener that accepts nobody yet, its backlog filled with silent connections."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(0)
    filler: list[socket.socket] = []
    while True:
        conn = socket.socket(socket.AF_UNIX)
        conn.setblocking(False)
        try:
            conn.connect(str(path))
        except BlockingIOError:
            conn.close()
            return listener, filler
        filler.append(conn)


def wchan(tid: int) -> str:
    try:
        return Path(f"/proc/self/task/{tid}/wchan").read_text()
    except FileNotFoundError:
        return "gone"  # the thread ended


def test_a_full_backlog_is_waited_out_in_the_kernel(tmp_path: Path) -> None:
    """Issue 11.11: pinit at its client cap leaves new clients in the backlog; a client whose
    connect() failed with EAGAIN there was lost. It now blocks in connect() until accepted."""
    path = tmp_path / "busy.sock"
    listener, filler = full_backlog(path)
    result: list[object] = []
    tid: list[int] = []

    def ask() -> None:
        tid.append(threading.get_native_id())
        try:
            result.append(client.request([str(path)], Request("status"), timeout=10))
        except client.CtlError as exc:
            result.append(exc)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not tid or wchan(tid[0]) != "unix_wait_for_peer":  # blocked in connect()
        assert not result and time.monotonic() < deadline, result  # waits, has not failed
        threading.Event().wait(0.005)
    listener.settimeout(5)
    for _ in filler:
        listener.accept()[0].close()
    conn = listener.accept()[0]
    with conn:
        assert json.loads(conn.makefile("rb").readline()) == {"cmd": "status"}
        conn.sendall(b'{"ok": true, "instances": []}\n')
    thread.join(timeout=10)
    assert result == [{"ok": True, "instances": []}]
    listener.close()


def test_a_backlog_full_for_the_whole_timeout_says_busy(tmp_path: Path) -> None:
    path = tmp_path / "busy.sock"
    listener, _filler = full_backlog(path)
    with pytest.raises(client.CtlError, match="busy: pinit took no new connection in time"):
        client.request([str(path)], Request("status"), timeout=0.2)
    listener.close()
