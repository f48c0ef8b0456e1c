"""Issue 8's HTTP endpoint: `/metrics` against supervisord's XML-RPC, restarts under scraping,
and the idle cost of an endpoint nobody asks (`scripts/bench --only http`).

- scrape: `large` sleeping programs; the median wall time of one `GET /metrics` (a kept-alive
  connection, as Prometheus scrapes) and the supervisor's own CPU per scrape (its schedstat
  over all scrapes), next to supervisord's `getAllProcessInfo` (XML-RPC over its
  inet_http_server, the interface its exporters use) for the same number of programs;
- restart: ms from kill -9 of a program until its successor's code runs, with and without 20
  clients scraping `/metrics` back to back (issue 8's target: at most 1.5x);
- idle: wake-ups/s of pinit with the endpoint on and nobody connected (target 0), and with it
  off, over one window.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import superv
from benchlib.inits import BENCH_DIR, BENCH_VENV, ROOT
from benchlib.procs import Tracker
from benchlib.stats import Summary, cell
from benchlib.supervisors import Pinit, Supervisord


@dataclass(frozen=True, slots=True)
class Params:
    large: int = 500
    scrapes: int = 40
    restarts: int = 15
    scrapers: int = 20
    idle_window: float = 10.0

    @classmethod
    def quick(cls) -> Params:
        return cls(50, 5, 3, 20, 2.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True, slots=True)
class PinitHttp:
    """pinit's supervisor row (supervisors.Pinit) with `[pinit] http` on `port` (0: off)."""

    name: str
    path: str
    port: int
    is_pinit: bool = True

    def available(self) -> str | None:
        return Pinit(self.name, self.path).available()

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        argv = Pinit(self.name, self.path).prepare(work, command, count)
        conf = work / "pinit.toml"
        # Pinit.prepare gives it its own control socket already (others' connects to a shared
        # default socket would count as wake-ups here); only the endpoint is added.
        if self.port:
            text = conf.read_text().replace(
                "[pinit]\n", "[pinit]\n" + f'http = "127.0.0.1:{self.port}"\n', 1
            )
            conf.write_text(text)
        return argv


@dataclass(frozen=True, slots=True)
class SupervisordRpc:
    """supervisord with its inet_http_server and XML-RPC interface on `port`."""

    port: int
    name: str = "supervisord"
    is_pinit: bool = False

    @property
    def binary(self) -> Path:
        bench = BENCH_VENV / "bin" / "supervisord"
        return bench if bench.exists() else ROOT / ".venv" / "bin" / "supervisord"

    def available(self) -> str | None:
        return None if self.binary.exists() else f"{self.binary} missing"

    def prepare(self, work: Path, command: list[str], count: int) -> list[str]:
        argv = Supervisord().prepare(work, command, count)
        conf = work / "supervisord.conf"
        conf.write_text(
            conf.read_text()
            + f"\n[inet_http_server]\nport=127.0.0.1:{self.port}\n\n[rpcinterface:supervisor]\n"
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        )
        return [str(self.binary), *argv[1:]]


def _cpu_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _connect(port: int, timeout: float = 30.0) -> http.client.HTTPConnection:
    """The endpoint opens right after the boot's spawns; retry a refused connect briefly."""
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.connect()
            return conn
        except ConnectionRefusedError:
            conn.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _scrape(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/metrics")
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"/metrics answered {resp.status}")
    return len(body)


def _timed(pid: int, calls: int, call: Callable[[], int]) -> dict[str, Any]:
    call()  # the first one imports and samples cold: not what a scraper sees every time
    walls, size = [], 0
    cpu0 = _cpu_ns(pid)
    for _ in range(calls):
        began = time.perf_counter()
        size = call()
        walls.append((time.perf_counter() - began) * 1e3)
    cpu = (_cpu_ns(pid) - cpu0) / 1e6 / calls
    return {"latency_ms": walls, "cpu_ms_per_call": cpu, "bytes": size}


def scrape_pinit(path: str, params: Params) -> dict[str, Any]:
    runner = PinitHttp("pinit", path, free_port())
    with superv.stage(runner, params.large, superv.shell_program) as st:
        superv.all_running(st, params.large)
        conn = _connect(runner.port)
        try:
            return _timed(st.proc.pid, params.scrapes, lambda: _scrape(conn))
        finally:
            conn.close()


def scrape_supervisord(params: Params) -> dict[str, Any] | str:
    runner = SupervisordRpc(free_port())
    reason = runner.available()
    if reason is not None:
        return reason
    with superv.stage(runner, params.large, superv.shell_program) as st:
        superv.all_running(st, params.large)
        _connect(runner.port).close()
        rpc = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{runner.port}/RPC2")

        def call() -> int:
            infos = rpc.supervisor.getAllProcessInfo()
            assert isinstance(infos, list) and len(infos) == params.large
            return len(xmlrpc.client.dumps((infos,), methodresponse=True))

        return _timed(st.proc.pid, params.scrapes, call)


def restarts(path: str, params: Params, scrapers: int, pace: float = 0.0) -> dict[str, Any]:
    """superv.restart's measure, with `scrapers` clients scraping /metrics meanwhile, back to
    back (pace 0) or each every `pace` seconds."""
    runner = PinitHttp("pinit", path, free_port())
    samples: list[float] = []
    scraped = [0]
    stop = threading.Event()

    def scrape_loop() -> None:
        conn = _connect(runner.port)
        try:
            while not stop.is_set():
                _scrape(conn)
                scraped[0] += 1
                if pace:
                    stop.wait(pace)
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()

    with superv.stage(runner, 1) as st:
        pid, ns = st.next_start()
        threads = [threading.Thread(target=scrape_loop, daemon=True) for _ in range(scrapers)]
        for t in threads:
            t.start()
        began = time.monotonic()
        try:
            for _ in range(params.restarts):
                superv._await_age(st, ns + int(1.1e9))
                killed = superv._now_ns()
                os.kill(pid, signal.SIGKILL)
                pid, ns = st.next_start(10)
                samples.append((ns - killed) / 1e6)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
    rate = scraped[0] / (time.monotonic() - began)
    return {"restart_ms": samples, "scrapes_per_s": rate}


def idle(path: str, params: Params) -> dict[str, dict[str, float]]:
    """Two pinits (endpoint on, endpoint off) with 10 programs each, over one shared window."""
    runners = {
        "http on": PinitHttp("pinit", path, free_port()),
        "http off": PinitHttp("pinit", path, 0),
    }
    with Tracker() as tracker:
        stages = {k: superv.Stage(tracker, r, 10) for k, r in runners.items()}
        try:
            for st in stages.values():
                superv.all_running(st, 10)
            _connect(runners["http on"].port).close()  # it listens; then nobody asks
            superv.settle(stages, 1.0)
            return superv.idle(stages, params.idle_window)
        finally:
            for st in stages.values():
                st.close()


def run(path: str, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    params = Params.quick() if quick else Params()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    out["params"] = {
        "pinit": path,
        "large": params.large,
        "scrapes": params.scrapes,
        "restarts": params.restarts,
        "scrapers": params.scrapers,
        "idle_window": params.idle_window,
    }
    log(f"http: /metrics scrape with {params.large} programs")
    out["scrape_pinit"] = scrape_pinit(path, params)
    log(f"http: supervisord getAllProcessInfo with {params.large} programs")
    out["scrape_supervisord"] = scrape_supervisord(params)
    log("http: crash -> restart without scrapers")
    out["restart_quiet"] = restarts(path, params, 0)
    log(f"http: crash -> restart with {params.scrapers} scrapers")
    out["restart_loaded"] = restarts(path, params, params.scrapers)
    log(f"http: crash -> restart with {params.scrapers} scrapers, each 10 scrapes/s")
    out["restart_paced"] = restarts(path, params, params.scrapers, 0.1)
    log("http: idle wake-ups")
    out["idle"] = idle(path, params)
    return out


def markdown(res: dict[str, Any]) -> str:
    p = res["params"]
    rows = [
        f"HTTP endpoint (issue 8), `{p['pinit']}`: {p['large']} sleeping programs, "
        f"{p['scrapes']} calls each; restarts: {p['restarts']} kill -9, with "
        f"{p['scrapers']} clients scraping `/metrics` back to back or none.",
        "",
        "| measure | pinit `GET /metrics` | supervisord `getAllProcessInfo` |",
        "|---|---|---|",
    ]
    mine, theirs = res["scrape_pinit"], res["scrape_supervisord"]
    if isinstance(theirs, str):
        theirs = {"latency_ms": [], "cpu_ms_per_call": None, "bytes": None, "why": theirs}

    def cpu(d: dict[str, Any]) -> str:
        return "-" if d.get("cpu_ms_per_call") is None else f"{d['cpu_ms_per_call']:.2f}"

    rows += [
        f"| latency ms, median [min-max] | {cell(Summary.of(mine['latency_ms']))} | "
        f"{cell(Summary.of(theirs['latency_ms']))} |",
        f"| server CPU ms per call | {cpu(mine)} | {cpu(theirs)} |",
        f"| reply bytes | {mine['bytes']} | {theirs['bytes'] or '-'} |",
    ]
    quiet = Summary.of(res["restart_quiet"]["restart_ms"])
    loaded = Summary.of(res["restart_loaded"]["restart_ms"])
    ratio = "-" if not quiet or not loaded else f"{loaded.median / quiet.median:.2f}x"
    paced = Summary.of(res.get("restart_paced", {}).get("restart_ms", []))
    paced_ratio = "-" if not quiet or not paced else f"{paced.median / quiet.median:.2f}x"
    rows += [
        "",
        "| crash -> restart ms | median [min-max] |",
        "|---|---|",
        f"| no scrapers | {cell(quiet)} |",
        f"| {p['scrapers']} scrapers "
        f"({res['restart_loaded']['scrapes_per_s']:.0f} scrapes/s) | {cell(loaded)} |",
        f"| ratio (target <= 1.5x) | {ratio} |",
        f"| {p['scrapers']} scrapers, each 10/s "
        f"({res['restart_paced']['scrapes_per_s']:.0f} scrapes/s) | {cell(paced)} |",
        f"| ratio | {paced_ratio} |",
        "",
        "| idle pinit, 10 programs | wake-ups/s | CPU ms |",
        "|---|---|---|",
    ]
    for name, v in res["idle"].items():
        rows.append(f"| {name} | {v['wakeups_per_s']:.2f} | {v['cpu_ms']:.2f} |")
    return "\n".join(rows)
