"""Issue 9: scale one program 0 -> 500 -> 250 -> 0 at run time (`--only scale`).

pinit: `pinit ctl scale svc N`. supervisord: `numprocs` edited in an included file, then
`supervisorctl update` (reread + update: the change it supports at run time; a program
section cannot say numprocs=0, so 0 is the section removed). Each step is timed from the
command until the wanted processes have run their code (a FIFO report, as in superv.py)
and the unwanted ones are dead (a pidfd per program, polled); CPU is the supervisor's own
(/proc/PID/schedstat, the client's left out). The 500 -> 250 step shows the difference that
matters: pinit stops 250 and keeps 250 pids, supervisord's update replaces the whole group.
"""

from __future__ import annotations

import os
import select
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.inits import BENCH_DIR, BENCH_VENV
from benchlib.procs import LineReader, Tracker, descendants
from benchlib.superv import shell_program, tree_counters

STEPS = (500, 250, 0)


class _Scaler:
    """One supervisor, its FIFO of reports, and the pidfds of every program seen."""

    def __init__(self, tracker: Tracker, name: str, argv: list[str], fifo: Path) -> None:
        self.name = name
        self.reports = LineReader(os.open(fifo, os.O_RDWR | os.O_NONBLOCK), name)
        self.proc = tracker.start(argv, capture=False, log=str(fifo.parent / "sup.log"))
        self.pids: set[int] = set()  # every program pid reported so far
        self.alive: dict[int, int] = {}  # pid -> pidfd, until it is seen dead

    def pump(self, deadline: float) -> None:
        """Take new reports, drop the dead; wait (bounded) for either to happen."""
        poller = select.poll()
        poller.register(self.reports.fd, select.POLLIN)
        for fd in self.alive.values():
            poller.register(fd, select.POLLIN)
        poller.poll(max(0.0, deadline - time.monotonic()) * 1000)
        while self.reports.pending() or _readable(self.reports.fd):
            pid = int(self.reports.read_line(1.0, self.proc.pidfd).split()[0])
            if pid not in self.pids:
                self.pids.add(pid)
                try:
                    self.alive[pid] = os.pidfd_open(pid)
                except ProcessLookupError:
                    pass
        for pid, fd in list(self.alive.items()):
            if _readable(fd):
                os.close(fd)
                del self.alive[pid]

    def until(self, alive: int, seen: int, new: int, timeout: float = 120.0) -> None:
        """Until exactly `alive` programs live and `new` were reported after the first `seen`."""
        deadline = time.monotonic() + timeout
        while len(self.alive) != alive or len(self.pids) - seen < new:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {len(self.alive)} alive after {timeout}s")
            self.pump(min(deadline, time.monotonic() + 1.0))

    def close(self) -> None:
        for fd in self.alive.values():
            os.close(fd)
        os.close(self.reports.fd)


def _await_path(sup: _Scaler, path: Path, timeout: float = 30.0) -> None:
    """The control socket exists: the supervisor listens (a pidfd says if it died first)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline or _readable(sup.proc.pidfd):
            raise TimeoutError(f"{sup.name}: no {path.name} within {timeout}s")
        select.select([sup.proc.pidfd], [], [], 0.01)  # a socket's creation has no event


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def _pinit(path: str, work: Path, fifo: Path) -> tuple[list[str], Callable[[int], list[str]]]:
    import json

    sock = work / "ctl.sock"
    argv = ", ".join(json.dumps(a.replace("$", "$$")) for a in shell_program(fifo))
    conf = work / "pinit.toml"
    conf.write_text(
        f'[pinit]\nname = "bench-scale"\ncontrol_socket = "{sock}"\n'
        f"[programs.svc]\ncommand = [{argv}]\nnumprocs = 1\nautostart = false\n"
        'restart = "always"\nstart_seconds = 0\nstop_timeout = 5\n'
    )

    def scale(count: int) -> list[str]:
        return [path, "ctl", "--socket", str(sock), "scale", "svc", str(count)]

    return [path, "--config", str(conf)], scale


def _supervisord(work: Path, fifo: Path) -> tuple[list[str], Callable[[int], list[str]]]:
    sock = work / "supervisor.sock"
    conf = work / "supervisord.conf"
    (work / "conf.d").mkdir()
    conf.write_text(
        "[supervisord]\nuser=root\nnodaemon=true\n"
        f"logfile={work}/supervisord.log\npidfile={work}/supervisord.pid\n"
        "minfds=4096\nloglevel=warn\n\n"
        f"[unix_http_server]\nfile={sock}\n\n"
        f"[supervisorctl]\nserverurl=unix://{sock}\n\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
        f"[include]\nfiles={work}/conf.d/*.conf\n"
    )
    ctl = str(BENCH_VENV / "bin" / "supervisorctl")

    def scale(count: int) -> list[str]:
        section = work / "conf.d" / "svc.conf"
        if count == 0:
            section.unlink(missing_ok=True)
        else:
            section.write_text(
                "[program:svc]\n"
                f"command={shlex.join(shell_program(fifo))}\n"
                f"numprocs={count}\nprocess_name=%(program_name)s_%(process_num)03d\n"
                "autorestart=true\nstartsecs=0\nstopwaitsecs=5\n"
                "stdout_logfile=NONE\nstderr_logfile=NONE\n"
            )
        return [ctl, "-c", str(conf), "update"]

    return [str(BENCH_VENV / "bin" / "supervisord"), "-n", "-c", str(conf)], scale


def measure(name: str, pinit_path: str | None, steps: tuple[int, ...] = STEPS) -> dict[str, Any]:
    """Every step of ``steps`` from 0 on one supervisor: wall ms, supervisor CPU ms, pids kept."""
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=BENCH_DIR))
    fifo = work / "report.fifo"
    os.mkfifo(fifo)
    if pinit_path is not None:
        argv, scale = _pinit(pinit_path, work, fifo)
        ready = work / "ctl.sock"
    else:
        argv, scale = _supervisord(work, fifo)
        ready = work / "supervisor.sock"
    out: dict[str, Any] = {"steps": []}
    try:
        with Tracker() as tracker:
            sup = _Scaler(tracker, name, argv, fifo)
            try:
                _await_path(sup, ready)
                running = 0
                for count in steps:
                    before = set(sup.alive)
                    cpu0 = tree_counters(tree_of(sup))[0]
                    began = time.monotonic()
                    subprocess.run(scale(count), check=True, capture_output=True, timeout=120)
                    seen = len(sup.pids)
                    want_new = max(0, count - running) if pinit_path is not None else count
                    sup.until(count, seen, want_new)
                    wall = (time.monotonic() - began) * 1e3
                    cpu = (tree_counters(tree_of(sup))[0] - cpu0) / 1e6
                    kept = len(before & set(sup.alive))
                    out["steps"].append(
                        {"from": running, "to": count, "wall_ms": wall, "cpu_ms": cpu, "kept": kept}
                    )
                    running = count
            finally:
                sup.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def tree_of(sup: _Scaler) -> list[int]:
    """The supervisor and its helpers, programs left out (as superv.tree)."""
    return [sup.proc.pid] + [p for p in descendants(sup.proc.pid) if p not in sup.pids]


def run_all(
    pinits: list[tuple[str, str]], log: Callable[[str], None], quick: bool
) -> dict[str, Any]:
    """supervisord first, then each pinit row, one after the other (never at once)."""
    steps = (50, 25, 0) if quick else STEPS
    out: dict[str, Any] = {"steps": list(steps), "rows": {}, "errors": {}}
    rows: list[tuple[str, str | None]] = [("supervisord", None), *pinits]
    for name, path in rows:
        if path is None and not (BENCH_VENV / "bin" / "supervisorctl").exists():
            out["errors"][name] = "supervisorctl missing (.bench/venv)"
            continue
        log(f"scale: {name}")
        try:
            out["rows"][name] = measure(name, path, steps)
        except (OSError, RuntimeError, TimeoutError, EOFError, subprocess.SubprocessError) as e:
            out["errors"][name] = str(e)
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| supervisor | step | wall ms | supervisor CPU ms | pids kept |",
        "|---|---|---:|---:|---:|",
    ]
    for name, row in result["rows"].items():
        for step in row["steps"]:
            lines.append(
                f"| {name} | {step['from']} -> {step['to']} | {step['wall_ms']:.0f} | "
                f"{step['cpu_ms']:.0f} | {step['kept']} |"
            )
    for name, error in result["errors"].items():
        lines.append(f"| {name} | error: {error} | | | |")
    note = (
        "pinit: `pinit ctl scale svc N`; supervisord: `numprocs` edited in an included file, "
        "then `supervisorctl update` (0 = the section removed). Wall time from the command "
        "until the wanted programs ran and the others are dead; CPU of the supervisor process "
        "alone. Programs: `sh -c 'echo $$ > fifo; exec sleep'`."
    )
    return note + "\n\n" + "\n".join(lines)
