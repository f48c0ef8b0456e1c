"""Log throughput with rotation (issue 10): pinit vs supervisord vs s6-log, in the same run.

One program writes SIZE bytes of 97-byte numbered lines (read from a file made once per bench,
then written in 64 KiB chunks, so the producer is not what is measured) to its stdout; the
logger under test writes them into a file rotated at 10 MB with enough backups to keep
everything. The clock runs from the producer's first write until every byte is on disk (the
files' sizes add up), and then every line of every file is checked: a line that does not match
the pattern is torn (split by a rotation, or merged), a number seen twice is doubled, one never
seen lost.

- pinit: `stdout = { file, max_bytes = "10MB", backups = 40 }`, and again with
  `compress = true` (the gzip cost: backups are compressed on the writer thread).
- supervisord: `stdout_logfile`, `stdout_logfile_maxbytes=10MB`, `_backups=40`.
- s6-log: `program | s6-log n40 s10000000 DIR`, the pipe s6-svscan would set up between a
  service and its `log/` service (s6-supervise adds no copy of its own).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.inits import BENCH_DIR, BENCH_VENV

SKIP = ("lock", "state", "previous")  # s6-log's; `previous` is `current` being archived
MAX_BYTES = 10_000_000
BACKUPS = 40  # room for 400 MB: every line stays on disk to be checked
WIDTH = 97
LINE = re.compile(rb"^L(\d{10}) x{85}$")
PRODUCER = r"""
import os, sys, time
lines, mark = sys.argv[1], sys.argv[2]
with open(lines, "rb") as f:
    data = f.read()
view = memoryview(data)
with open(mark, "w") as f:
    f.write(repr(time.monotonic()))
for pos in range(0, len(data), 65536):
    chunk = view[pos : pos + 65536]
    while chunk:
        chunk = chunk[os.write(1, chunk):]
time.sleep(3600)  # stay up: a restart would write it all again
"""


def _lines(size: int) -> Path:
    """The numbered lines, made once per bench, so each run's producer only reads them
    (making them took it a second of CPU a run, on the box the logger runs on)."""
    path = BENCH_DIR / f"pinit-bench-lines-{size}"
    if not path.exists() or path.stat().st_size != size // WIDTH * WIDTH:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            step = 100_000
            for lo in range(0, size // WIDTH, step):
                hi = min(lo + step, size // WIDTH)
                f.write(b"".join(b"L%010d %s\n" % (i, b"x" * 85) for i in range(lo, hi)))
            # On disk before the first timed run: its writeback would land on that run's
            # 200 MB of logs, the first rows of the first round alone.
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(path)
    return path


def _producer(work: Path, size: int) -> list[str]:
    script = work / "produce.py"
    script.write_text(PRODUCER)
    return [sys.executable, "-I", "-S", str(script), str(_lines(size)), str(work / "began")]


def _pinit(pinit: str, compress: bool) -> Callable[[Path, list[str]], tuple[list[str], Path]]:
    def prepare(work: Path, command: list[str]) -> tuple[list[str], Path]:
        logs = work / "logs"
        argv = ", ".join(f'"{a}"' for a in command)
        (work / "pinit.toml").write_text(
            textwrap.dedent(
                f"""\
                [programs.gen]
                command = [{argv}]
                stdout = {{ file = "{logs}/gen.log", max_bytes = {MAX_BYTES}, \
backups = {BACKUPS}{", compress = true" if compress else ""} }}
                """
            )
        )
        return [pinit, "--config", str(work / "pinit.toml")], logs

    return prepare


def _supervisord(work: Path, command: list[str]) -> tuple[list[str], Path]:
    logs = work / "logs"
    conf = work / "supervisord.conf"
    conf.write_text(
        "[supervisord]\nuser=root\n"
        f"nodaemon=true\nlogfile={work}/supervisord.log\npidfile={work}/supervisord.pid\n"
        "loglevel=warn\n\n[program:gen]\n"
        f"command={' '.join(command)}\nautorestart=false\nstartsecs=0\n"
        f"stdout_logfile={logs}/gen.log\nstdout_logfile_maxbytes={MAX_BYTES}\n"
        f"stdout_logfile_backups={BACKUPS}\nstderr_logfile=NONE\n"
    )
    return [str(_supervisord_bin()), "-n", "-c", str(conf)], logs


def _supervisord_bin() -> Path:
    for venv in (BENCH_VENV, Path(sys.prefix)):
        if (venv / "bin" / "supervisord").exists():
            return venv / "bin" / "supervisord"
    return BENCH_VENV / "bin" / "supervisord"


def _s6_log(work: Path, command: list[str]) -> tuple[list[str], Path]:
    logs = work / "logs"
    s6 = shutil.which("s6-log") or "s6-log"
    pipe = " ".join(command) + f" | {s6} n{BACKUPS} s{MAX_BYTES} {logs}"
    return ["sh", "-c", pipe], logs


def _on_disk(logs: Path) -> int:
    total = 0
    for entry in os.scandir(logs):
        if entry.name.endswith(".gz") or entry.name.startswith(".") or entry.name in SKIP:
            continue
        try:
            total += entry.stat().st_size
        except FileNotFoundError:
            pass
    return total


def _gz_pending(logs: Path) -> bool:
    return any(p.name.startswith(".") for p in logs.iterdir())


def _check(logs: Path, lines: int) -> dict[str, int]:
    seen = bytearray(lines)
    torn = doubled = 0
    for path in logs.iterdir():
        if path.name in SKIP or path.name.startswith("."):
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        for raw in data.split(b"\n"):
            if not raw:
                continue
            match = LINE.match(raw)
            if not match or int(match.group(1)) >= lines:
                torn += 1
                continue
            n = int(match.group(1))
            if seen[n]:
                doubled += 1
            seen[n] = 1
    # A line split by a rotation is two fragments, and its number is never seen whole.
    return {"fragments": torn, "doubled": doubled, "not_whole": lines - sum(seen)}


def one(
    name: str, prepare: Callable[[Path, list[str]], tuple[list[str], Path]], size: int
) -> dict[str, Any]:
    work = BENCH_DIR / "logs-bench" / re.sub(r"[^A-Za-z0-9]+", "-", name)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    argv, logs = prepare(work, _producer(work, size))
    logs.mkdir()
    lines = size // WIDTH
    expected = lines * WIDTH
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        compressed = "compress" in name
        # The logger's CPU counts from the producer's first write: its own start (imports,
        # the config) is not log handling. The last sample before the mark appears is taken
        # while it idles, so it is its start's CPU alone.
        cpu_before = 0.0
        while not (work / "began").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{name}: the producer never started")
            cpu_before = _cpu(proc.pid)
            time.sleep(0.005)
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: not all on disk in 300 s")
            if proc.poll() is not None:
                raise RuntimeError(f"{name}: the logger exited ({proc.returncode})")
            if _done(logs, expected, compressed):
                ended = time.monotonic()
                # A scan racing a rotation can see a renamed file under both names: the total
                # must hold in a later scan too (the time is the first one's).
                time.sleep(0.05)
                if _done(logs, expected, compressed):
                    cpu = _cpu(proc.pid) - cpu_before
                    break
            time.sleep(0.005)  # a run is ~0.15 s: the end is known to ~3 %
        began = float((work / "began").read_text())
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            proc.wait()
    while _gz_pending(logs):
        time.sleep(0.01)
    result: dict[str, Any] = {"mb_s": expected / 1e6 / (ended - began), "files": 0}
    result["cpu_s_per_100mb"] = cpu * 1e8 / expected
    result |= _check(logs, lines)
    result["files"] = sum(1 for _ in logs.iterdir())
    shutil.rmtree(work, ignore_errors=True)
    return result


def _cpu(pid: int) -> float:
    """CPU seconds of the logger, every thread of it: `pid` itself, or for the s6-log
    pipeline the s6-log child of `sh`. Sturdier than MB/s on a shared box: it does not
    count the time spent waiting for a core. From each thread's schedstat (nanoseconds):
    /proc/PID/stat counts in 10 ms ticks, coarse for a run that takes ~0.2 s of CPU."""
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for kid in kids:
            if Path(f"/proc/{kid}/comm").read_text().strip() == "s6-log":
                pid = int(kid)
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
    except OSError:
        return float("nan")
    return total / 1e9


def _done(logs: Path, expected: int, compressed: bool) -> bool:
    return _all_lines_written(logs, expected) if compressed else _on_disk(logs) >= expected


def _all_lines_written(logs: Path, expected: int) -> bool:
    """With gzip the sizes on disk no longer add up: count the plain bytes the writer handed
    to files, compressed backups by their gzip trailer's ISIZE (the size mod 2^32)."""
    total = 0
    for entry in os.scandir(logs):
        try:
            if entry.name.startswith("."):
                continue
            if os.path.exists(entry.path + ".gz"):
                continue  # being replaced by its gzip, which is complete
            if entry.name.endswith(".gz"):
                with open(entry.path, "rb") as f:
                    f.seek(-4, os.SEEK_END)
                    total += int.from_bytes(f.read(4), "little")
            else:
                total += entry.stat().st_size
        except (FileNotFoundError, OSError):
            return False
    return total >= expected


def run_all(
    pinits: list[tuple[str, str]], quick: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    # 200 MB: below the kernel's dirty-page limits, so the run measures the logger and not
    # the disk (at 600 MB writeback throttling cut every rate to a third, and spread them
    # tenfold). A run is ~0.15 s, so a stall of this shared 2-core box moves a rate by
    # 10-20 %: seven interleaved runs for the median.
    size = 50_000_000 if quick else 200_000_000
    runs = 1 if quick else 7
    setups: list[tuple[str, Callable[[Path, list[str]], tuple[list[str], Path]]]] = []
    for name, path in pinits:
        setups.append((name, _pinit(path, False)))
        setups.append((f"{name} compress", _pinit(path, True)))
    if _supervisord_bin().exists():
        setups.append(("supervisord", _supervisord))
    if shutil.which("s6-log"):
        setups.append(("s6-log", _s6_log))
    out: dict[str, Any] = {"size": size, "runs": {}}
    lines = _lines(size)
    try:
        for k in range(runs):  # interleaved: a busy moment of the box hits every row alike
            for name, prepare in setups:
                log(f"logs: {name} run {k + 1}/{runs}")
                try:
                    out["runs"].setdefault(name, []).append(one(name, prepare, size))
                except (RuntimeError, TimeoutError) as exc:
                    log(f"logs: {exc}")
                    out["runs"].pop(name, None)
                    setups = [s for s in setups if s[0] != name]
    finally:
        lines.unlink(missing_ok=True)
    return out


def markdown(results: dict[str, Any]) -> str:
    rows = [
        f"{results['size'] / 1e6:.0f} MB of 97-byte lines, rotated at 10 MB; median MB/s "
        "[range] of the runs; torn/doubled/lost lines counted over every file:",
        "",
        "| logger | MB/s | logger CPU s / 100 MB | torn (fragments) | doubled | lines not whole |",
        "|---|---|---|---|---|---|",
    ]
    for name, runs in results["runs"].items():
        rates = [r["mb_s"] for r in runs]
        rows.append(
            f"| {name} | {statistics.median(rates):.0f} [{min(rates):.0f}-{max(rates):.0f}] "
            f"| {statistics.median(r['cpu_s_per_100mb'] for r in runs):.2f} "
            f"| {sum(r['fragments'] for r in runs)} | {sum(r['doubled'] for r in runs)} "
            f"| {sum(r['not_whole'] for r in runs)} |"
        )
    return "\n".join(rows)
