"""Every key a pinit config accepts: its path, TOML type, default and meaning, in one table.

This is the single source of three things that must never disagree: the keys the loader
accepts (``load.py`` / ``loadprog.py`` take their allowed-key sets from ``keys()``), the config
reference in the README and the JSON Schema editors use (``pinit.schema.json``), both generated
from this table by ``docgen.py`` for ``scripts/gen-docs``. The generators live there so that
PID 1's start path (the loader imports this module) carries only the table (issue 7, speed).
A key added to the loader without a line here is an "unknown key"; a line here without loader
support fails ``tests/unit/test_reference.py``.

A path names a key from the top of the file: ``pinit.stop_timeout``,
``programs.NAME.backoff.initial``; ``NAME`` stands for any program name. ``default`` is written
as the user would write it in TOML where the default has a TOML spelling (tests load it and
compare with ``schema.py``'s defaults), else as words.

The table is in parts, each a module under ~400 lines (issue 7): ``refentry.py`` (the
``Entry`` record, JSON Schema fragments), the ``[pinit]`` keys here, ``refprogram.py`` (a
program's keys up to its ``ready`` table), ``refprogtail.py`` (the rest: ``ready``, ``live``,
four switches, ``stdout``/``stderr``). ``ENTRIES`` joins them in the order the README and the
schema show. Three modules, not one a table: each import is on PID 1's start path.
"""

from __future__ import annotations

__all__ = [
    "BY_PATH",
    "ENTRIES",
    "LIVE_PROBES",
    "LOG",
    "MAX_CPU",
    "NAME_PATTERN",
    "READY_PROBES",
    "Entry",
    "Json",
    "P",
    "children",
    "keys",
    "leaf",
    "parent",
]

from pinit.config.refentry import (
    DURATION,
    LIVE_PROBES,
    LOG,
    NAME_PATTERN,
    POSITIVE_DURATION,
    READY_PROBES,
    SIGNAL,
    STR_LIST,
    STRING,
    Entry,
    Json,
    P,
)
from pinit.config.refprogram import MAX_CPU, PROGRAM
from pinit.config.refprogtail import PROBES, STREAMS, SWITCHES

PINIT: tuple[Entry, ...] = (
    Entry(
        "pinit",
        "table",
        "{}",
        "Settings of pinit itself. Only the main config file may have it; included files "
        "define programs only, so it is never ambiguous which `main` wins.",
        "{}",
        table="pinit",
    ),
    Entry(
        "pinit.name",
        "string",
        '"pinit"',
        "Names pinit's process title, `pinit-NAME-manager` (`ps` tells containers apart); "
        "`--name` overrides it. Letters, digits, `_`, `.`, `-`.",
        '"shop"',
        ({"type": "string", "pattern": NAME_PATTERN},),
    ),
    Entry(
        "pinit.main",
        "string",
        "(none)",
        "The program the container is about: when it ends for good (an exit `restart` does "
        "not restart, or giving up) everything else stops in order, and its exit status "
        "becomes pinit's.",
        '"p"',
        (STRING,),
    ),
    Entry(
        "pinit.on_fatal",
        '`"shutdown"` or `"ignore"`',
        '"shutdown"',
        "What a program that gave up for good (FATAL) does to the container: `shutdown` stops "
        "everything and exits 1, so the orchestrator sees the failure and reschedules; "
        "`ignore` keeps the rest running.",
        '"ignore"',
        ({"enum": ["shutdown", "ignore"]},),
    ),
    Entry(
        "pinit.stop_timeout",
        "duration",
        '"10s"',
        "Default `stop_timeout` of every program, and the grace the final sweep gives leftover "
        "processes (strays outside any program's group) between SIGTERM and SIGKILL.",
        '"5s"',
        (DURATION,),
    ),
    Entry(
        "pinit.stop_budget",
        "duration",
        '"0s"',
        "A deadline for the whole shutdown, counted from its start (TERM, `ctl`, or the end of "
        "`main`): whatever the per-program `stop_timeout`s add up to, everything still running "
        "when it is spent gets SIGKILL at once (the final sweep too), the shutdown report says "
        "so, and pinit exits. Set it a few seconds under what the orchestrator waits before "
        "its own KILL (Kubernetes' `terminationGracePeriodSeconds`, `docker stop -t`), so the "
        "report still gets written. `0s`: no budget. `pinit check --explain` shows the worst "
        "case against it.",
        '"25s"',
        (DURATION,),
    ),
    # issue 9: resource-triggered restarts
    Entry(
        "pinit.memory_interval",
        "duration > 0",
        '"5s"',
        "How often the resident memory of the programs that set `max_memory` is sampled (one "
        "pass over /proc for all of them). No sampling, and no timer, when none sets it.",
        '"2s"',
        (POSITIVE_DURATION,),
    ),
    Entry(
        "pinit.cmd_after",
        "array of strings",
        "(every autostart program)",
        "With `pinit --config FILE -- CMD ARGS...`, CMD runs as the `main` program (named "
        "`cmd`; its exit status is pinit's) once these programs are ready. `[]`: at once.",
        '["p"]',
        (STR_LIST,),
    ),
    Entry(
        "pinit.log_dir",
        "string (path)",
        '""',
        "Where relative `stdout`/`stderr` file names go; created at start (its parent must "
        "exist). Empty: next to the config file.",
        '"/var/log/pinit"',
        (STRING,),
    ),
    # issue 8: JSON logs
    Entry(
        "pinit.log_format",
        '`"text"` or `"json"`',
        '"text"',
        "How pinit writes its own messages (stderr) and passed-through program lines "
        "(stdout). `json`: one object per line, `ts` (seconds since the epoch), `program`, "
        "`instance`, `stream`, `msg`, and `level` for pinit's own; a program line that is a "
        "JSON object is kept as an object under `json` instead of `msg`. Read at start.",
        '"json"',
        ({"enum": ["text", "json"]},),
    ),
    Entry(
        "pinit.control_socket",
        "string (path)",
        '""',
        "Path of the control socket `pinit ctl` talks to (mode 0600). Empty: "
        "`/run/pinit/NAME.sock` when /run is writable, else "
        "`${XDG_RUNTIME_DIR:-/tmp}/pinit-UID/NAME.sock`.",
        '"/run/pinit.sock"',
        (STRING,),
    ),
    # issue 10: a signal for logrotate's postrotate (taken, not forwarded)
    Entry(
        "pinit.reopen_signal",
        "signal",
        '""',
        "This signal makes pinit close and reopen every log file (as `pinit ctl logs "
        "--reopen`), for logrotate's `postrotate kill -USR1 1`; it is then no longer "
        'forwarded to the programs. `""`: none (every signal but TERM, INT, QUIT and HUP '
        "is forwarded, as before).",
        '"USR1"',
        (STRING, SIGNAL),
    ),
    # issue 8: the HTTP endpoint
    Entry(
        "pinit.http",
        "string (address)",
        '""',
        "Serve health, readiness, liveness, `/metrics` (Prometheus/OpenMetrics), `/status` and "
        "`/events` over HTTP, read-only, at `HOST:PORT` (an IP address or `localhost`) or "
        "`unix:/path`. Empty: off. Read at start; a reload does not move it.",
        '"127.0.0.1:9100"',
        (STRING,),
    ),
    Entry(
        "pinit.include",
        "array of strings (globs)",
        "[]",
        "More files with `[programs.*]` tables (a `conf.d`, as supervisord's `[include]`), "
        "read in sorted order; a glob matching nothing is fine, a plain path that does not "
        "exist is an error. Wildcards only in the file name (`conf.d/*.toml`): a reload runs "
        "in PID 1's loop, so a pattern reads one directory, never a tree.",
        '["conf.d/*.toml"]',
        (STR_LIST,),
    ),
)

ENTRIES: tuple[Entry, ...] = (*PINIT, *PROGRAM, *PROBES, *SWITCHES, *STREAMS)

BY_PATH = {e.path: e for e in ENTRIES}


def parent(path: str) -> str:
    return path.rpartition(".")[0]


def leaf(path: str) -> str:
    return path.rpartition(".")[2]


_CHILDREN: dict[str, frozenset[str]] = {}
for _e in ENTRIES:
    _CHILDREN[parent(_e.path)] = _CHILDREN.get(parent(_e.path), frozenset()) | {leaf(_e.path)}


def keys(table: str) -> frozenset[str]:
    """The keys allowed directly in ``table`` ("" for the top level, "pinit",
    "programs.NAME", "programs.NAME.backoff", ...): what the loader accepts there."""
    return _CHILDREN.get(table, frozenset())


def children(table: str) -> list[Entry]:
    return [e for e in ENTRIES if parent(e.path) == table]
