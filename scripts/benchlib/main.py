"""`scripts/bench`: pinit side by side with its peers in one run; tables to stdout and README."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import httpbench, pid1, report, superv
from benchlib.inits import BENCH_DIR, ROOT, Init, peers, pinit_rows
from benchlib.procs import become_subreaper, sweep_descendants
from benchlib.supervisors import Pinit, peer_runners


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(
            "Benchmark pinit against tini and dumb-init (PID-1 core) and against supervisord, "
            "s6 and runit (supervisor), in one run."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="short windows and counts (<1 min)")
    parser.add_argument(
        "--init",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="another pinit executable as a row (dist/pinit is added when it exists)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="skip the non-editable install row"
    )
    parser.add_argument(
        "--render", metavar="FILE", help="measure nothing: print the tables of a saved JSON"
    )
    parser.add_argument(
        "--only",
        choices=("pid1", "supervisors", "scale", "logs", "http"),
        help="run one part of the benchmark (scale: issue 9, ctl scale against supervisord; "
        "logs: issue 10's log throughput; http: issue 8's endpoint against supervisord's "
        "XML-RPC)",
    )
    parser.add_argument(
        "--readme",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the tables into README.md (default: only for a full, non --quick run)",
    )
    return parser


def _meta(args: argparse.Namespace, params: pid1.Params, inits: list[Init]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "quick": args.quick,
        "dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        "params": {**dataclasses.asdict(params), "warmup": pid1.WARMUP},
        "inits": {init.name: list(init.prefix) for init in inits},
        "pinit_rows": [init.name for init in inits if init.is_pinit],
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def _log(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Fills `results` step by step, so that a failure still leaves what was measured."""
    params = pid1.Params.quick() if args.quick else pid1.Params()
    inits = peers() + pinit_rows(args.init, install=not args.no_install)
    results["meta"] = _meta(args, params, inits)
    began = time.monotonic()
    if args.only in (None, "logs"):  # issue 10
        from benchlib import logs

        rows = [(i.name, i.prefix[0]) for i in inits if i.is_pinit]
        results["logs"] = logs.run_all(rows, args.quick, _log)
    if args.only in (None, "http"):  # issue 8: the last pinit row (--init, else dist/pinit)
        pinit = [i for i in inits if i.is_pinit][-1].prefix[0]
        results["http"] = httpbench.run(pinit, args.quick, _log)
    if args.only in (None, "pid1"):
        _run_pid1(results, inits, params)
    if args.only in (None, "supervisors"):
        results["supervisors"] = _run_supervisors(inits, args.quick)
    if args.only in (None, "scale"):
        from benchlib import scale

        pinits = [(i.name, i.prefix[0]) for i in inits if i.is_pinit]
        results["scale"] = scale.run_all(pinits, _log, args.quick)
    results["meta"]["duration_s"] = time.monotonic() - began


def _run_supervisors(inits: list[Init], quick: bool) -> dict[str, Any]:
    params = superv.Params.quick() if quick else superv.Params()
    runners = peer_runners() + [Pinit(i.name, i.prefix[0]) for i in inits if i.is_pinit]
    out = superv.run_all(runners, params, _log)
    out["params"] = dataclasses.asdict(params)
    out["order"] = [r.name for r in runners]
    out["pinit_rows"] = [r.name for r in runners if r.is_pinit]
    return out


def _run_pid1(results: dict[str, Any], inits: list[Init], params: pid1.Params) -> None:
    steps = (
        ("start_ms", "start overhead", lambda: pid1.start_overhead(inits, params.start_runs)),
        (
            "start_pidns_ms",
            "start overhead in a PID namespace",
            lambda: pid1.start_overhead(inits, params.start_runs, pid1.UNSHARE),
        ),
        ("mem_fwd", "memory + forwarding", lambda: pid1.memory_and_forwarding(inits, params)),
        ("reap", "orphan reaping", lambda: pid1.reaping(inits, params)),
        ("idle", "idle cost", lambda: pid1.idle_cost(inits, params)),
    )
    for key, label, step in steps:
        _log(label)
        results[key] = step()
    scans = [r["scan_us"] for runs in results["reap"].values() for r in runs]
    results["meta"]["scan_us"] = statistics.median(scans) if scans else 0


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One run; whatever happens, nothing it started survives and the raw samples are kept."""
    become_subreaper()
    results: dict[str, Any] = {}
    try:
        run(args, results)
    finally:
        strays = sweep_descendants()
        if strays:
            _log(f"killed {strays} stray process(es) left at the end")
        report.write_json(BENCH_DIR / "last.json", results)
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render:
        results = json.loads(Path(args.render).read_text())
        args.quick = results["meta"]["quick"]
    else:
        results = measure(args)
    body = report.markdown(results)
    print(body)
    full = not args.quick and args.only is None
    if args.readme or (args.readme is None and full):
        report.write_readme(ROOT / "README.md", body)
    return 0
