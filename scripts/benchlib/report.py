"""Markdown tables from one run's raw results, and the README section they live in.

Only the text between the bench markers is ever rewritten, so the rest of README.md stays
whatever its other authors made it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchlib import report_sup
from benchlib.stats import Summary, cell, ratio

START_MARK = "<!-- bench:start -->"
END_MARK = "<!-- bench:end -->"
PEERS = ("tini", "dumb-init")


def _core_summaries(results: dict[str, Any], name: str) -> dict[str, Summary | None]:
    memfwd = results["mem_fwd"].get(name, {})
    reap = results["reap"].get(name, [])
    return {
        "start": Summary.of(results["start_ms"].get(name, [])),
        "start_ns": Summary.of(results.get("start_pidns_ms", {}).get(name, [])),
        "rss": Summary.of(memfwd.get("rss_kb", [])),
        "pss": Summary.of(memfwd.get("pss_kb", [])),
        "forward": Summary.of(memfwd.get("forward_ms", [])),
        "reap_total": Summary.of([r["total_ms"] if not r["zombies_left"] else None for r in reap]),
        "clear": Summary.of([r["clear_ms"] for r in reap]),
        "left": Summary.of([r["zombies_left"] for r in reap]),
    }


def core_table(results: dict[str, Any]) -> str:
    params = results["meta"]["params"]
    window = params["idle_window"]
    head = (
        f"| init | `INIT -- true` ms | same, as PID 1 of a new PID ns | RSS kB | PSS kB "
        f"| SIGTERM forward ms "
        f"| reap {params['orphans']}: total ms | clear after last exit ms | zombies left "
        f"| idle CPU ms / {window:g} s | idle wake-ups/s |"
    )
    lines = [head, "|" + "---|" * 11]
    for name in results["meta"]["inits"]:
        s = _core_summaries(results, name)
        idle = results["idle"].get(name, {})
        lines.append(
            f"| {name} | {cell(s['start'])} | {cell(s['start_ns'])} | {cell(s['rss'], 0)} "
            f"| {cell(s['pss'], 0)} "
            f"| {cell(s['forward'], 3)} | {cell(s['reap_total'], 0)} | {cell(s['clear'], 2)} "
            f"| {_number(None if s['left'] is None else s['left'].high, 0)} "
            f"| {_number(idle.get('cpu_ms'), 2)} | {_number(idle.get('wakeups_per_s'), 2)} |"
        )
    return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio_table(results: dict[str, Any]) -> str:
    """pinit's median over each peer's, per metric: the cost of a Python init, in one glance."""
    names = results["meta"]["inits"]
    peers = [p for p in PEERS if p in names]
    lines = [
        "| pinit row | vs | start | start in PID ns | PSS | SIGTERM forward | reap total "
        "| clear after last exit |",
        "|" + "---|" * 8,
    ]
    for mine in results["meta"]["pinit_rows"]:
        m = _core_summaries(results, mine)
        for peer in peers:
            p = _core_summaries(results, peer)
            keys = ("start", "start_ns", "pss", "forward", "reap_total", "clear")
            lines.append(
                f"| {mine} | {peer} | " + " | ".join(ratio(m[k], p[k]) for k in keys) + " |"
            )
    return "\n".join(lines)


TARGETS = (
    ("SIGTERM forwarding median < 0.25 ms", "forward", 0.25),
    ("zombies cleared < 1 ms after the last orphan's exit", "clear", 1.0),
    ("PSS < 12 MB", "pss", 12 * 1024),
    ("`pinit -- true` < 40 ms", "start", 40.0),
    ("`pinit -- true` < 40 ms as PID 1 of a PID ns (unshare included)", "start_ns", 40.0),
)


def target_table(results: dict[str, Any]) -> str:
    rows = results["meta"]["pinit_rows"]
    lines = ["| target (issue 2) | " + " | ".join(rows) + " |", "|" + "---|" * (len(rows) + 1)]
    for label, key, limit in TARGETS:
        marks = []
        for name in rows:
            summary = _core_summaries(results, name)[key]
            marks.append("-" if summary is None else _mark(summary.median, limit))
        lines.append(f"| {label} | " + " | ".join(marks) + " |")
    wakes = [results["idle"].get(name, {}).get("wakeups_per_s") for name in rows]
    marks = ["-" if w is None else _mark(w, 0.0, inclusive=True) for w in wakes]
    lines.append("| 0 wake-ups/s idle | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def _mark(value: float, limit: float, *, inclusive: bool = False) -> str:
    ok = value <= limit if inclusive else value < limit
    return f"{'met' if ok else '**missed**'} ({value:.3g})"


def header(results: dict[str, Any]) -> str:
    meta = results["meta"]
    return (
        f"Run {meta['date']} on {meta['cores']} cores ({meta['cpu']}), Linux {meta['kernel']}, "
        f"Python {meta['python']}; load average at start {meta['loadavg']}; "
        f"{'`--quick`, ' if meta['quick'] else ''}took {meta['duration_s']:.0f} s. "
        f"Median [min-max]; workloads run as `python3 -I -S`. Raw samples: `.bench/last.json`."
        + (
            " PYTHONDONTWRITEBYTECODE was set: the editable row compiles pinit's sources at "
            "every start (no `__pycache__`); installed and frozen rows ship bytecode."
            if meta.get("dont_write_bytecode")
            else ""
        )
    )


def pid1_notes(results: dict[str, Any]) -> str:
    meta = results["meta"]
    p = meta["params"]
    return (
        f"Start: {p['start_runs']} runs each (after {p['warmup']} warm-up), interleaved, "
        f"posix_spawn to waitpid; the PID-ns column wraps every row (none too) in "
        f"`unshare --pid --fork --mount-proc`. Memory: {p['instances']} instances; forwarding: "
        f"{p['instances']} x {p['signals_per_instance']} SIGTERMs, {p['signal_gap'] * 1000:g} ms "
        f"apart (idle CPUs). Reaping: {p['reap_runs']} "
        f"runs of {p['orphans']} double-forked orphans under `unshare --pid --fork --mount-proc "
        f'INIT --`; "clear" ends at the end of the /proc scan that found no zombie '
        f"(one scan ≈ {meta.get('scan_us', 0):.0f} µs). Idle: all inits at once, "
        f"{p['idle_window']:g} s window after {p['idle_settle']:g} s settle; CPU from "
        f"/proc/PID/schedstat, wake-ups = voluntary context switches."
    )


def markdown(results: dict[str, Any]) -> str:
    parts = [header(results)]
    if "start_ms" in results:
        parts += [
            "### PID-1 core (issue 2)",
            pid1_notes(results),
            core_table(results),
            "Ratio of pinit's median to each peer's (1.00x = parity):",
            ratio_table(results),
            target_table(results),
        ]
    if "supervisors" in results:
        parts += ["### Supervisor (issue 3)", report_sup.markdown(results["supervisors"])]
    if "scale" in results:
        from benchlib import scale

        parts += ["### Scale at run time (issue 9)", scale.markdown(results["scale"])]
    if "logs" in results:
        from benchlib import logs

        parts += ["### Logs with rotation (issue 10)", logs.markdown(results["logs"])]
    if "http" in results:
        from benchlib import httpbench

        parts += ["### HTTP endpoint (issue 8)", httpbench.markdown(results["http"])]
    return "\n\n".join(parts)


USAGE = """\
`scripts/bench` runs pinit side by side with tini and dumb-init (PID-1 core) and with
supervisord, s6 and runit (supervisor) in one run (~9 min; `--quick` ~1 min, for development,
never written here), prints these tables and writes them between the bench markers of this
README. pinit is measured as the editable venv install, as a plain `pip install` in
`.bench/venv`, and as `dist/pinit` when built; `--init [NAME=]PATH` adds another executable,
`--only pid1|supervisors|scale` runs one part, `--render FILE` re-renders a saved
`.bench/last.json`.
Peers: `apt-get install tini dumb-init s6 runit`; supervisord comes from pip into `.bench/venv`.
"""


def readme_section(body: str) -> str:
    return f"{START_MARK}\n## Benchmarks (`scripts/bench`)\n\n{USAGE}\n{body}\n{END_MARK}"


def write_readme(readme: Path, body: str) -> None:
    """Replace the marked section, or append markers and section at the end when absent."""
    text = readme.read_text()
    section = readme_section(body)
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(text)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
