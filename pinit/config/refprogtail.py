"""The rest of a program's keys, from its ``ready`` table on, in the order the README shows them.

A part of the key table (``reference.py`` assembles ``ENTRIES`` from it; issue 7: modules
under ~400 lines), after ``refprogram.PROGRAM``: ``PROBES`` (the ``ready`` and ``live``
tables), ``SWITCHES`` (autostart, critical, title, rolling) and ``STREAMS`` (``stdout`` /
``stderr`` and their table), which ends the table.
"""

from __future__ import annotations

from pinit.config.refentry import (
    BOOL,
    COMMAND,
    DURATION,
    LIVE_PROBES,
    LOG,
    POSITIVE_DURATION,
    READY_PROBES,
    SIZE,
    STRING,
    Entry,
    P,
)

PROBES: tuple[Entry, ...] = (
    Entry(
        f"{P}.ready",
        '`"started"` or table',
        '"started"',
        "When the program counts as ready (which starts the programs `after` it): "
        '`"started"` = alive for `start_seconds`, or a table with exactly one probe: '
        "`tcp`, `http`, `command`, `notify`.",
        '{ tcp = "127.0.0.1:8000" }',
        ({"const": "started"},),
        table=f"{P}.ready",
        extra={"oneOf": [{"required": [probe]} for probe in READY_PROBES]},
    ),
    Entry(
        f"{P}.ready.tcp",
        'string `"host:port"`',
        "(none)",
        "Ready when a TCP connect succeeds; `${VAR}` expands.",
        '"127.0.0.1:${PORT}"',
        ({"type": "string", "pattern": r"^.+:(?:[0-9]+|.*\$.*)$"},),  # ${VAR} may give the port
    ),
    Entry(
        f"{P}.ready.http",
        'string `"http://host:port/path"`',
        "(none)",
        "Ready when a GET answers 2xx (plain http only); `${VAR}` expands.",
        '"http://127.0.0.1:8000/health"',
        ({"type": "string", "pattern": r"^(?:http://|\$)"},),
    ),
    Entry(
        f"{P}.ready.command",
        "string or array of strings",
        "(none)",
        "Ready when this command exits 0 (run like `command`).",
        '["pg_isready", "-q"]',
        (COMMAND,),
    ),
    Entry(
        f"{P}.ready.notify",
        "`true`",
        "(none)",
        "Ready when the program sends `READY=1` to the `$NOTIFY_SOCKET` pinit gives it "
        "(sd_notify, as systemd's `Type=notify`). Only these programs get the variable, and "
        "only their `READY=1` counts: a program with another probe is ready by that probe.",
        "true",
        ({"const": True},),
    ),
    Entry(
        f"{P}.ready.interval",
        "duration > 0",
        '"250ms"',
        "How often a tcp/http/command probe is retried.",
        '"100ms"',
        (POSITIVE_DURATION,),
    ),
    Entry(
        f"{P}.ready.timeout",
        "duration > 0",
        '"60s"',
        "Not ready after this long: a failed start (the process group is stopped).",
        '"20s"',
        (POSITIVE_DURATION,),
    ),
    # issue 8: liveness probes (one kind per table, as for `ready`; model/liveness.py)
    Entry(
        f"{P}.live",
        "table",
        "(none: never probed)",
        "A liveness probe, run only while the program is RUNNING: exactly one of `tcp`, "
        "`http`, `command` (as for `ready`). After `failures` failed attempts in a row the "
        "program is stopped (`stop_signal`, `stop_timeout`) and its `restart` policy decides, "
        'as Kubernetes does: restarted with backoff (reason "liveness"), or with `restart = '
        '"never"` left EXITED.',
        '{ http = "http://127.0.0.1:8000/health", interval = "5s" }',
        table=f"{P}.live",
        extra={"oneOf": [{"required": [probe]} for probe in LIVE_PROBES]},
    ),
    Entry(
        f"{P}.live.tcp",
        'string `"host:port"`',
        "(none)",
        "Alive when a TCP connect succeeds within `timeout`; `${VAR}` expands.",
        '"127.0.0.1:${PORT}"',
        ({"type": "string", "pattern": r"^.+:(?:[0-9]+|.*\$.*)$"},),
    ),
    Entry(
        f"{P}.live.http",
        'string `"http://host:port/path"`',
        "(none)",
        "Alive when a GET answers 2xx within `timeout` (plain http only); `${VAR}` expands.",
        '"http://127.0.0.1:8000/health"',
        ({"type": "string", "pattern": r"^(?:http://|\$)"},),
    ),
    Entry(
        f"{P}.live.command",
        "string or array of strings",
        "(none)",
        "Alive when this command exits 0 within `timeout` (else its group is killed).",
        '["redis-cli", "ping"]',
        (COMMAND,),
    ),
    Entry(
        f"{P}.live.interval",
        "duration > 0",
        '"10s"',
        "Time between the starts of two attempts (Kubernetes' `periodSeconds`).",
        '"5s"',
        (POSITIVE_DURATION,),
    ),
    Entry(
        f"{P}.live.timeout",
        "duration > 0",
        '"2s"',
        "One attempt without an answer after this long is a failure.",
        '"1s"',
        (POSITIVE_DURATION,),
    ),
    Entry(
        f"{P}.live.failures",
        "integer >= 1",
        "3",
        "Failed attempts in a row that restart the program (`failureThreshold`).",
        "5",
        ({"type": "integer", "minimum": 1},),
    ),
    Entry(
        f"{P}.live.initial_delay",
        "duration",
        '"0s"',
        "Wait this long after the program became RUNNING before the first attempt.",
        '"30s"',
        (DURATION,),
    ),
)

SWITCHES: tuple[Entry, ...] = (
    Entry(
        f"{P}.autostart",
        "boolean",
        "true",
        "Start with pinit; `false` defines a program that is only started by request.",
        "false",
        (BOOL,),
    ),
    Entry(
        f"{P}.critical",
        "boolean",
        "false",
        "When it ends for good (an exit `restart` does not restart, or giving up), the "
        "container stops and exits with its code (1 if it gave up), as for `main`.",
        "true",
        (BOOL,),
    ),
    # issue 9: scale and rolling restarts
    Entry(
        f"{P}.title",
        "boolean",
        "false",
        "Exec each instance with `argv[0]` = `pinit-NAME-PROGRAM-N` (NAME: `[pinit] name`, "
        "N: `PINIT_PROCESS_NUM`), so `ps` and `top` tell instances and containers apart; the "
        "file executed is still `command`'s. Not for multi-call binaries that choose what to "
        "be from `argv[0]` (busybox, toybox): they would see an "
        "unknown applet name.",
        "true",
        (BOOL,),
    ),
    Entry(
        f"{P}.rolling",
        '`"start-first"` or `"stop-first"`',
        "(unset: a reload replaces all instances at once)",
        "Replace instances one at a time, each ready before the next old one stops, on a "
        "reload that changed this program and on `pinit ctl restart --rolling`. "
        '`"start-first"` first starts one extra instance (`NAME-(N+1)`) so capacity never '
        'drops (the port must be shared, e.g. `SO_REUSEPORT`); `"stop-first"` runs one '
        "fewer while each is replaced. A replacement that is not ready stops the roll.",
        '"start-first"',
        ({"enum": ["start-first", "stop-first"]},),
    ),
)

STREAMS: tuple[Entry, ...] = (
    Entry(
        f"{P}.stdout",
        "string (file) or table",
        '""',
        "Where the program's stdout goes: `\"\"` = pinit's own stdout (what a container's "
        "log driver collects), a file name (relative to `log_dir`), or a table.",
        '"web.log"',
        (STRING,),
        table=LOG,
    ),
    Entry(
        f"{LOG}.file",
        "string",
        '""',
        "The file (appended to); `stderr` takes the same table.",
        '"web.log"',
        (STRING,),
    ),
    Entry(
        f"{LOG}.max_bytes",
        "size",
        '"10MiB"',
        "Rotate at this size (`512`, `64KiB`, `10MB` = 10^7, `1G` = 2^30): the file becomes "
        "`.1`, older ones move up; rotation happens only between lines, so none is split.",
        '"1MB"',
        (SIZE,),
    ),
    Entry(
        f"{LOG}.backups",
        "integer 0..1000",
        "5",
        "Rotated files to keep (`web.log.1` .. `web.log.N`); the oldest is dropped; `0` "
        "drops the file itself at rotation. At most 1000: each rotation renames them all.",
        "2",
        ({"type": "integer", "minimum": 0, "maximum": 1000},),
    ),
    Entry(
        f"{LOG}.passthrough",
        "boolean",
        "false",
        "Also copy each line to pinit's stdout, prefixed `NAME | ` (what `docker logs` "
        "reads). Without `file` and `passthrough` the program writes to pinit's own fd.",
        "true",
        (BOOL,),
    ),
    # issue 10: logs that log tools expect (time rotation, retention, gzip, timestamps)
    Entry(
        f"{LOG}.rotate_every",
        "duration",
        "0",
        "Also rotate by time (`1h`, `1d`): at the first line written after each period, "
        "periods aligned on UTC multiples of it since the epoch (`1d` = UTC midnight); with "
        "`max_bytes` whichever comes first. Between lines, like size rotation; no timer: an "
        "idle file is not rotated. `0` = by size only.",
        '"1d"',
        (DURATION,),
    ),
    Entry(
        f"{LOG}.max_age",
        "duration",
        "0",
        "At each rotation and reopen, delete backups whose last write is "
        "older than this, on top of the `backups` count. `0` = keep by count only.",
        '"14d"',
        (DURATION,),
    ),
    Entry(
        f"{LOG}.compress",
        "boolean",
        "false",
        "Gzip each backup (`web.log.1.gz` .. `web.log.N.gz`) right after it is rotated, on "
        "the file's writer thread (its programs wait while it runs, as on a slow disk).",
        "true",
        (BOOL,),
    ),
    Entry(
        f"{LOG}.timestamps",
        "boolean",
        "false",
        "Prefix each line written to the file with the UTC time pinit read it, RFC 3339 "
        "with milliseconds (`2026-01-02T03:04:05.678Z `). Passthrough lines are unchanged.",
        "true",
        (BOOL,),
    ),
    Entry(
        f"{P}.stderr",
        '`"stdout"`, string (file) or table',
        '"stdout"',
        'Where stderr goes: `"stdout"` = wherever stdout goes (pinit\'s own stderr when '
        "stdout is pinit's), else as `stdout`.",
        '"web.err"',
        (STRING,),
        table=LOG,
    ),
)
