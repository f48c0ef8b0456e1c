"""`[pinit] http` against a real pinit (issue 8): urllib, curl, raw sockets, real parsers.

The probes answer what pinit knows (503 until a slow program is ready), /metrics is read by
prometheus_client's parsers and `promtool check metrics`, bad requests get their 4xx and pinit
supervises on, and hundreds of clients (some never reading) do not slow restarts down.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus

from tests.conftest import Launch
from tests.integration.supervise import Events, free_port, svc
from tests.integration.test_ctl import ctl, status, up


def serve(
    launch: type[Launch], tmp_path: Path, programs: str, address: str = ""
) -> tuple[Launch, Events, Path, str]:
    """pinit with its HTTP endpoint on a free port (or `address`), once it said it serves."""
    address = address or f"127.0.0.1:{free_port()}"
    pinit, events, sock = up(launch, tmp_path, programs, head=f'http = "{address}"\n')
    pinit.wait_stderr(f"http endpoint {address}")
    return pinit, events, sock, f"http://{address}"


def get(url: str, accept: str = "") -> tuple[int, str, str]:
    """Status, content type and body; a 4xx/5xx is an answer, not an exception."""
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def raw(base: str, data: bytes, timeout: float = 10.0) -> bytes:
    """Send `data` as is and read until pinit closes the connection."""
    host, port = base.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def samples(
    text: str, openmetrics: bool = False
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    parse = parse_openmetrics if openmetrics else parse_prometheus
    return {(s.name, frozenset(s.labels.items())): s.value for f in parse(text) for s in f.samples}


def test_readyz_is_503_until_the_slow_program_is_ready(
    launch: type[Launch], tmp_path: Path
) -> None:
    flag = tmp_path / "ready.flag"
    pinit, events, _, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = 0
        [programs.slow]
        command = {svc("run", "slow")}
        ready = {{ command = ["test", "-e", "{flag}"], interval = "50ms" }}
        [programs.marker]
        command = {svc("run", "marker")}
        after = ["slow"]
        start_seconds = 0
        """,
    )
    events.wait("web", "start")
    events.wait("slow", "start")
    code, ctype, body = get(base + "/readyz")
    assert code == 503 and ctype.startswith("text/plain")
    assert "slow: " in body and "marker: " in body and "web" not in body
    assert get(base + "/readyz?program=web")[:1] == (200,)
    assert get(base + "/readyz?program=slow")[0] == 503
    assert get(base + "/readyz?program=nope")[0] == 404
    assert get(base + "/livez")[0] == 200
    assert get(base + "/healthz")[::2] == (200, "ok\n")
    flag.touch()
    events.wait("marker", "start")  # slow was ready: `after` let marker start
    assert get(base + "/readyz")[::2] == (200, "ready\n")
    assert get(base + "/nope")[0] == 404
    reply = json.loads(get(base + "/status")[2])
    assert {i["name"]: i["state"] for i in reply["instances"]} == {
        "web": "running",
        "slow": "running",
        "marker": "running",
    }
    pinit.signal(15)
    assert pinit.finish()[0] == 0


class EventStream:
    """GET /events over HTTP/1.0 (close-delimited: the lines come unframed), read with deadlines."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.sock.sendall(b"GET /events HTTP/1.0\r\n\r\n")
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        self.head = head.decode()

    def _until(self, sep: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while sep not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                raise TimeoutError(f"nothing more on /events; so far {self.buf[-500:]!r}")
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf[-500:])
            self.buf += chunk
        item, _, self.buf = self.buf.partition(sep)
        return item

    def wait(self, instance: str, to: str, timeout: float = 10.0) -> dict[str, object]:
        while True:
            rec = json.loads(self._until(b"\n", timeout))
            if rec.get("instance") == instance and rec.get("to") == to:
                return dict(rec)

    def close(self) -> None:
        self.sock.close()


def test_events_stream_and_livez_once_a_critical_program_is_fatal(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events, sock, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.db]
        command = {svc("exit", "db", "3")}
        critical = true
        autostart = false
        start_retries = 0
        [programs.web]
        command = {svc("stubborn", "web")}
        start_seconds = 0
        stop_timeout = 5
        """,
    )
    events.wait("web", "start")
    stream = EventStream(base)
    assert stream.head.startswith("HTTP/1.1 200")
    assert "content-type: application/x-ndjson" in stream.head.lower()
    assert get(base + "/livez")[0] == 200
    assert ctl(sock, "start", "db")[0] == 0
    rec = stream.wait("db", "starting")
    assert rec["type"] == "state" and rec["program"] == "db" and rec["from"] == "stopped"
    assert isinstance(rec["ts"], float) and isinstance(rec["mono"], float)
    stream.wait("db", "fatal")
    stream.wait("web", "stopping")  # critical and fatal: the container stops; web holds out
    code, _, body = get(base + "/livez")
    assert code == 503 and "db: fatal" in body
    assert get(base + "/livez?program=web")[0] == 200
    code, _, body = get(base + "/readyz")
    assert code == 503 and "shutting down" in body
    stream.close()
    assert pinit.finish()[0] != 0  # the critical program ended the container


def test_metrics_parsed_by_prometheus_and_promtool(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {svc("run", "web")}
        numprocs = 2
        start_seconds = 0
        [programs.crash]
        command = {svc("exit", "crash", "3")}
        start_seconds = 0
        restart = "always"
        backoff = {{ initial = "10ms", max = "10ms" }}
        # crashing every 10 ms is flapping: by the defaults it would end FATAL and, through
        # on_fatal, end pinit itself before the last `ctl status` (the flake seen in CI)
        flap_max = 1000000
        start_retries = 1000000
        """,
    )
    events.wait("web", "start")
    events.wait("web", "start")
    for _ in range(3):
        events.wait("crash", "start")  # two restarts at least are counted
    code, ctype, text = get(base + "/metrics")
    assert code == 200 and ctype == "text/plain; version=0.0.4; charset=utf-8"
    got = samples(text)
    web1 = {("program", "web"), ("instance", "web-1")}
    assert got[("pinit_program_up", frozenset(web1))] == 1
    assert got[("pinit_program_ready", frozenset(web1))] == 1
    assert got[("pinit_program_state", frozenset({*web1, ("state", "running")}))] == 1
    assert got[("pinit_program_state", frozenset({*web1, ("state", "fatal")}))] == 0
    assert got[("pinit_program_resident_memory_bytes", frozenset(web1))] > 1 << 20
    assert got[("pinit_program_cpu_seconds_total", frozenset(web1))] >= 0
    assert 0 <= got[("pinit_program_start_duration_seconds", frozenset(web1))] < 5
    crash = {("program", "crash"), ("instance", "crash")}
    assert got[("pinit_program_restarts_total", frozenset({*crash, ("reason", "exited")}))] >= 2
    assert got[("pinit_program_last_exit_code", frozenset(crash))] == 3
    assert got[("pinit_loop_turn_seconds_count", frozenset())] > 0
    assert got[("process_resident_memory_bytes", frozenset())] > 1 << 20
    assert got[("process_open_fds", frozenset())] > 3
    assert got[("process_start_time_seconds", frozenset())] > 1e9
    assert got[("pinit_signals_forwarded_total", frozenset())] == 0
    assert ("pinit_http_held_total", frozenset()) in got  # pauses by the CPU share: load-dependent
    # each instance's lines are kept between scrapes while the instance is unchanged: a
    # restart since the last scrape shows in the next one
    restarts = frozenset({*crash, ("reason", "exited")})
    for _ in range(2):
        events.wait("crash", "start")
    assert (
        samples(get(base + "/metrics")[2])[("pinit_program_restarts_total", restarts)]
        > (got[("pinit_program_restarts_total", restarts)])
    )

    code, ctype, om = get(base + "/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert ctype == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert om.endswith("# EOF\n")
    assert samples(om, openmetrics=True)[("pinit_program_up", frozenset(web1))] == 1

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus; scripts/setup)")
    curl = subprocess.run(["curl", "-sf", base + "/metrics"], capture_output=True, timeout=10)
    assert curl.returncode == 0
    check = subprocess.run(
        [promtool, "check", "metrics"], input=curl.stdout, capture_output=True, timeout=20
    )
    assert check.returncode == 0, check.stdout + check.stderr
    rc, _, err = ctl(sock, "status")
    assert rc == 0, err
    pinit.signal(15)
    # 0 when the stop found crash in backoff or cleanup, or killed it (143 is graceful); 3
    # when crash ran its own `exit 3` before the stop signal reached it: reaped while
    # stopping, an unclean stop, and with no main program the first unclean code is pinit's
    # (model/shutdown.exit_code_now)
    assert pinit.finish()[0] in (0, 3)


def test_bad_requests_get_4xx_and_pinit_supervises_on(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.crash]
        command = {svc("exit", "crash", "1")}
        start_seconds = 0
        restart = "always"
        backoff = {{ initial = "10ms", max = "10ms" }}
        flap_max = 100000
        """,
    )
    events.wait("crash", "start")

    def first_line(data: bytes) -> str:
        return data.split(b"\r\n", 1)[0].decode()

    assert first_line(raw(base, b"GARBAGE\r\n\r\n")) == "HTTP/1.1 400 Bad Request"
    assert first_line(raw(base, b"\x00\xff\r\n\r\n")).startswith("HTTP/1.1 400")
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert first_line(raw(base, huge)).startswith("HTTP/1.1 431")
    post = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    out = raw(base, post)
    assert (
        first_line(out) == "HTTP/1.1 405 Method Not Allowed" and b"\r\nAllow: GET, HEAD\r\n" in out
    )
    body = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    assert first_line(raw(base, body)).startswith("HTTP/1.1 413")
    assert first_line(raw(base, b"GET /nope HTTP/1.0\r\n\r\n")) == "HTTP/1.1 404 Not Found"
    head = raw(base, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    assert first_line(head) == "HTTP/1.1 200 OK" and head.endswith(b"\r\n\r\n")
    # Pipelined: three requests in one segment, three answers in order, then the close.
    pipelined = b"".join(
        f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()
        for path, extra in (("/healthz", ""), ("/nope", ""), ("/livez", "Connection: close\r\n"))
    )
    out = raw(base, pipelined)
    assert [ln.strip() for ln in out.decode().split("\n") if ln.startswith("HTTP/")] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 404 Not Found",
        "HTTP/1.1 200 OK",
    ]
    assert out.endswith(b"live\n")
    # A connection that says nothing and one that never finishes its head: pinit lives on.
    host, port = base.removeprefix("http://").rsplit(":", 1)
    silent = socket.create_connection((host, int(port)))
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHo")
    before = events.so_far("crash", "start")
    for _ in range(2):
        events.wait("crash", "start")  # restarts go on
    assert events.so_far("crash", "start") >= before + 2
    assert ctl(sock, "status")[0] == 0
    assert get(base + "/healthz")[0] == 200
    silent.close()
    slow.close()
    pinit.signal(15)
    # 0 when the stop found crash in backoff or cleanup, or killed it (143 is graceful); 1
    # when crash ran its own `exit 1` before the stop signal reached it: reaped while
    # stopping, an unclean stop, and with no main program the first unclean code is pinit's
    # (model/shutdown.exit_code_now)
    assert pinit.finish()[0] in (0, 1)


def test_unix_socket_with_curl(launch: type[Launch], tmp_path: Path) -> None:
    path = tmp_path / "http.sock"
    pinit, events, _, _ = serve(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = 0
        """,
        address=f"unix:{path}",
    )
    events.wait("web", "start")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"

    def curl(route: str) -> tuple[int, str]:
        done = subprocess.run(
            [
                "curl",
                "-s",
                "-w",
                "\n%{http_code}",
                "--unix-socket",
                str(path),
                "http://pinit" + route,
            ],
            capture_output=True,
            text=True,
            timeout=10,
        )
        body, _, code = done.stdout.rpartition("\n")
        return int(code), body

    assert curl("/readyz") == (200, "ready\n")
    code, text = curl("/metrics")
    assert code == 200
    assert (
        samples(text)[("pinit_program_up", frozenset({("program", "web"), ("instance", "web")}))]
        == 1
    )
    assert json.loads(curl("/status")[1])["instances"][0]["name"] == "web"
    pinit.signal(15)
    assert pinit.finish()[0] == 0
    assert not path.exists()


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_hundreds_of_clients_and_never_readers_leave_supervision_alone(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events, sock, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.crash]
        command = {svc("exit", "crash", "1")}
        start_seconds = 0
        restart = "always"
        backoff = {{ initial = "20ms", max = "20ms" }}
        flap_max = 100000
        [programs.web]
        command = {svc("run", "web")}
        numprocs = 4
        start_seconds = 0
        """,
    )
    for _ in range(4):
        events.wait("web", "start")
    events.wait("crash", "start")
    host, port = base.removeprefix("http://").rsplit(":", 1)
    address = (host, int(port))
    before = rss(pinit.proc.pid)
    # 20 clients that never read: 10 event streams, 10 that pipeline 500 scrapes each.
    streams = [socket.create_connection(address) for _ in range(10)]
    for s in streams:
        s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    hoarders = []
    for _ in range(10):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
        s.connect(address)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 500)
        hoarders.append(s)
    # 200 concurrent clients, twice over, while crash keeps crashing and restarting.
    starts = events.so_far("crash", "start")
    for _ in range(2):
        clients = [socket.create_connection(address, timeout=20) for _ in range(200)]
        for i, s in enumerate(clients):
            s.sendall(f"GET {('/metrics', '/healthz')[i % 2]} HTTP/1.0\r\n\r\n".encode())
        answers = {s.fileno(): b"" for s in clients}
        open_ = {s.fileno(): s for s in clients}
        deadline = time.monotonic() + 30
        while open_ and time.monotonic() < deadline:
            for fd in select.select(list(open_), [], [], deadline - time.monotonic())[0]:
                chunk = open_[fd].recv(65536)
                answers[fd] += chunk
                if not chunk:
                    open_.pop(fd).close()
        assert not open_, f"{len(open_)} of 200 clients got no full answer"
        assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers.values())
    for _ in range(3):
        events.wait("crash", "start")  # restarts still happen
    assert events.so_far("crash", "start") >= starts + 3
    assert status(sock)["crash"]["restarts"] >= 3  # ctl answers
    # The hoarders took nothing for STALL seconds: pinit dropped each of them.
    pinit.wait_stderr("(10 dropped so far)", timeout=25)
    got = b""
    hoarders[0].settimeout(10)
    while chunk := hoarders[0].recv(1 << 20):  # what the kernels held, then the end
        got += chunk
    assert 0 < got.count(b"HTTP/1.1 200 OK") < 500
    text = get(base + "/metrics")[2]
    assert samples(text)[("pinit_http_dropped_clients_total", frozenset())] >= 10
    assert rss(pinit.proc.pid) < before + (32 << 20)  # one reply each at most, never a backlog
    for s in streams + hoarders:
        s.close()
    pinit.signal(15)
    # 0 when the stop found crash in backoff or cleanup, or killed it (143 is graceful); 1
    # when crash ran its own `exit 1` before the stop signal reached it: reaped while
    # stopping, an unclean stop, and with no main program the first unclean code is pinit's
    # (model/shutdown.exit_code_now)
    assert pinit.finish()[0] in (0, 1)


def test_at_the_client_cap_new_clients_wait_for_a_free_slot(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events, _, base = serve(
        launch,
        tmp_path,
        f"""
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = 0
        """,
    )
    events.wait("web", "start")
    host, port = base.removeprefix("http://").rsplit(":", 1)
    address = (host, int(port))
    silent = [socket.create_connection(address) for _ in range(64)]  # MAX_CLIENTS, all mute
    # Every slot is taken once pinit answered a request sent on the last of them.
    silent[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    silent[-1].settimeout(10)
    assert silent[-1].recv(4096).startswith(b"HTTP/1.1 200 OK")
    waiting = socket.create_connection(address, timeout=10)  # the kernel's backlog takes it
    waiting.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    silent[-1].settimeout(10)
    for _ in range(2):  # two more turns of pinit's loop, answered after the connect above
        silent[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert silent[-1].recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert not select.select([waiting], [], [], 0)[0], "answered past the cap"
    silent.pop(0).close()  # a slot frees: pinit accepts the waiting client and answers it
    answer = b""
    while chunk := waiting.recv(4096):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"ok\n")
    for s in silent:
        s.close()
    waiting.close()
    pinit.signal(15)
    assert pinit.finish()[0] == 0
