"""Markdown for the supervisor measures (issue 3): one row per supervisor, then pinit's targets.

A runner that could not start a program (pinit's supervisor mode while it is being written)
stays in the table as "pending" with the reason, so a missing row is never silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchlib.stats import Summary, cell, ratio

DIRECT = "program alone (spawned by the bench)"


def header(sup: dict[str, Any]) -> str:
    p = sup["params"]
    return (
        f"Supervisors: each program is `python3 -I -S svc.py FIFO` (announces its pid and "
        f"CLOCK_MONOTONIC start on a FIFO, then sleeps); s6 and runit get a `#!/bin/sh` run "
        f"script that execs it; every supervisor restarts at once (supervisord "
        f"`startsecs=0 autorestart=true`, pinit `restart=always start_seconds=0 backoff 0s`, "
        f"flap_max and start_retries out of reach). "
        f"Launch: {p['launch_runs']} runs, supervisor start -> program code runs. Restart: "
        f"{p['restarts']} kill -9s of a program at least {p['min_age']:g} s old (runsv and "
        f"s6-supervise delay the restart of a younger one) -> successor's code runs; after "
        f"each, the bench starts the program itself once, and the ratio divides by those "
        f"paired starts (the box drifts over a run; the program-alone row is from its "
        f"start). Memory "
        f"and idle: the supervisor and its helpers, programs excluded; {p['small']} programs "
        f"(all supervisors at once, {p['idle_window']:g} s window) and {p['large']} programs "
        f"(one at a time, {p['large_idle_window']:g} s window). The {p['large']}-program runs "
        f"use `sh -c 'echo \"$$ 0\" > FIFO; exec sleep N'` (~1 ms to start; 500 Python starts "
        f"would cost ~2.5 s of CPU on 2 cores whatever the supervisor), timed to the bench's "
        f"read of the last line."
    )


def _row(name: str, sup: dict[str, Any], direct: Summary | None) -> str:
    launch = Summary.of(sup["launch_ms"].get(name, []))
    restart = Summary.of(sup["restart_ms"].get(name, []))
    small = sup["small"].get(name, {})
    large = sup["large"].get(name, {})
    cells = [
        cell(launch, 1),
        cell(restart, 1),
        ratio(restart, _paired(sup, name) or direct),
        _mem(small, "tree_pss_kb"),
        _num(small.get("cpu_ms"), 1),
        _num(small.get("wakeups_per_s"), 2),
        _num(large.get("all_running_ms"), 0),
        f"{_num(large.get('root_rss_kb'), 0)} / {_num(large.get('root_pss_kb'), 0)}",
        _mem(large, "tree_pss_kb"),
        _num(large.get("wakeups_per_s"), 2),
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def _paired(sup: dict[str, Any], name: str) -> Summary | None:
    """The program's own starts taken right after each of this row's restarts (older runs
    have none: their ratio is against the program-alone row)."""
    return Summary.of(sup.get("restart_direct_ms", {}).get(name, []))


def _mem(values: dict[str, float], key: str) -> str:
    if key not in values:
        return "-"
    return f"{values[key]:.0f} ({values['processes']:.0f} procs)"


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(sup: dict[str, Any]) -> str:
    p = sup["params"]
    head = (
        f"| supervisor | launch -> started ms | crash-restart ms | restart / program start "
        f"| tree PSS kB @{p['small']} | idle CPU ms @{p['small']} | wake-ups/s @{p['small']} "
        f"| {p['large']} running ms | root RSS / PSS kB @{p['large']} "
        f"| tree PSS kB @{p['large']} | wake-ups/s @{p['large']} |"
    )
    direct = Summary.of(sup["direct_ms"])
    lines = [head, "|" + "---|" * 11]
    lines.append(f"| {DIRECT} | {cell(direct, 1)} | {cell(direct, 1)} | 1.00x |" + " - |" * 7)
    for name in sup["order"]:
        if name in sup["pending"]:
            lines.append(f"| {name} | pending: {sup['pending'][name]} |" + " |" * 9)
        else:
            lines.append(_row(name, sup, direct))
    return "\n".join(lines)


def _value(sup: dict[str, Any], name: str, key: str) -> float | None:
    """One comparable number per metric and row: medians for samples, the value otherwise."""
    if key in ("launch_ms", "restart_ms"):
        summary = Summary.of(sup[key].get(name, []))
        return None if summary is None else summary.median
    group, _, field = key.partition(".")
    value = sup[group].get(name, {}).get(field)
    return None if value is None else float(value)


def _restart_limit(sup: dict[str, Any], name: str) -> float:
    direct = _paired(sup, name) or Summary.of(sup["direct_ms"])
    return 0.0 if direct is None else 1.2 * direct.median


TARGETS: tuple[tuple[str, str, Callable[[dict[str, Any], str], float]], ...] = (
    ("launch < 50 ms", "launch_ms", lambda sup, name: 50.0),
    ("restart within 1.2x of the program's own start", "restart_ms", _restart_limit),
    ("{large} programs running < 0.8 s", "large.all_running_ms", lambda sup, name: 800.0),
    ("tree PSS < 15 MB at {large}", "large.tree_pss_kb", lambda sup, name: 15 * 1024.0),
    ("0 wake-ups/s idle ({small} programs)", "small.wakeups_per_s", lambda sup, name: 0.0),
    ("0 wake-ups/s idle ({large} programs)", "large.wakeups_per_s", lambda sup, name: 0.0),
)


def targets(sup: dict[str, Any]) -> str:
    rows = [n for n in sup["order"] if n in sup["pinit_rows"]]
    if not rows:
        return ""
    lines = ["| target (issue 3) | " + " | ".join(rows) + " |", "|" + "---|" * (len(rows) + 1)]
    for label, key, limit_of in TARGETS:
        marks = []
        for name in rows:
            value = None if name in sup["pending"] else _value(sup, name, key)
            marks.append("pending" if value is None else _mark(value, limit_of(sup, name)))
        lines.append(f"| {label.format(**sup['params'])} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def _mark(value: float, limit: float) -> str:
    ok = value <= limit if limit == 0 else value < limit
    return f"{'met' if ok else '**missed**'} ({value:.3g})"


def errors(sup: dict[str, Any]) -> str:
    """Measures a runner failed, so that a "-" in the table always has its reason nearby."""
    lines = [
        f"- {name}: {message}" for name, msgs in sup.get("errors", {}).items() for message in msgs
    ]
    return "Failed measures:\n" + "\n".join(lines) if lines else ""


def markdown(sup: dict[str, Any]) -> str:
    parts = [header(sup), table(sup), errors(sup), targets(sup)]
    if large := [n for n in sup["order"] if n in sup["large"]]:
        parts.insert(2, ratio_note(sup, large))
    return "\n\n".join(part for part in parts if part)


def ratio_note(sup: dict[str, Any], names: list[str]) -> str:
    """pinit's numbers over each peer's on the measures the issue compares."""
    p = sup["params"]
    peers = [n for n in names if n not in sup["pinit_rows"]]
    mine = [n for n in names if n in sup["pinit_rows"]]
    keys = (
        "launch_ms",
        "restart_ms",
        "small.tree_pss_kb",
        "large.tree_pss_kb",
        "large.all_running_ms",
    )
    lines = [
        f"| pinit row | vs | launch | restart | tree PSS @{p['small']} | tree PSS @{p['large']} "
        f"| all running @{p['large']} |",
        "|" + "---|" * 7,
    ]
    for name in mine:
        for peer in peers:
            cells = [_ratio(_value(sup, name, k), _value(sup, peer, k)) for k in keys]
            lines.append(f"| {name} | {peer} | " + " | ".join(cells) + " |")
    return "\n".join(lines) if mine else ""


def _ratio(mine: float | None, theirs: float | None) -> str:
    if mine is None or not theirs:
        return "-"
    return f"{mine / theirs:.2f}x"
