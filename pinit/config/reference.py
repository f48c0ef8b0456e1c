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
"""

from __future__ import annotations

__all__ = [
    "ENTRIES",
    "LIVE_PROBES",
    "READY_PROBES",
    "Entry",
    "children",
    "keys",
]

Json = dict[str, object]

# JSON Schema fragments for the scalar units (config/units.py is the authority; these patterns
# accept what it accepts in the spellings people write).
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
DURATION_PATTERN = rf"^\s*(?:{_NUM}(?:[eE][-+]?[0-9]+)?|(?:{_NUM}\s*(?:us|ms|s|m|h|d)\s*)+)\s*$"
DURATION: Json = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]
}
POSITIVE_DURATION: Json = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]
}
SIZE: Json = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": rf"^\s*{_NUM}\s*(?:[bB]|[kKmMgGtT](?:[iI]?[bB])?)?\s*$"},
    ]
}
SIGNAL: Json = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 64},
        {"type": "string", "pattern": r"^\s*(?:(?:[sS][iI][gG])?[A-Za-z][A-Za-z0-9+]*|[0-9]+)\s*$"},
    ]
}
EXIT_CODES: Json = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 255},
}
STRING: Json = {"type": "string"}
NONEMPTY: Json = {"type": "string", "minLength": 1}
BOOL: Json = {"type": "boolean"}
STR_LIST: Json = {"type": "array", "items": {"type": "string"}}
COMMAND: Json = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string"}},
    ]
}
IDENT: Json = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]}
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
_LIMITS: list[Json] = [{"type": "integer", "minimum": 0}, {"const": "unlimited"}]
RLIMIT: Json = {
    "anyOf": [
        *_LIMITS,
        {"type": "array", "items": {"anyOf": _LIMITS}, "minItems": 2, "maxItems": 2},
    ]
}

READY_PROBES = ("tcp", "http", "command", "notify")
LIVE_PROBES = ("tcp", "http", "command")  # issue 8: no notify (a watchdog is another key)


class Entry:
    """One key. ``forms``: JSON Schemas of its non-table spellings; ``table``: the path whose
    child entries describe its table spelling ("" when it has none).

    A plain slotted class, not a dataclass: load.py imports this module on PID 1's start path
    in config mode, and generating dataclass methods costs milliseconds there.
    """

    __slots__ = (
        "default",
        "extra",
        "forms",
        "listed",
        "meaning",
        "path",
        "required",
        "sample",
        "table",
        "toml",
    )

    def __init__(  # noqa: PLR0917 - a record, read like a dataclass
        self,
        path: str,
        toml: str,  # the TOML type(s), as the README shows them
        default: str,  # TOML text, or words in parentheses when there is no TOML spelling
        meaning: str,
        sample: str,  # a valid TOML value, loaded by the tests, the schema's example
        forms: tuple[Json, ...] = (),
        table: str = "",
        required: bool = False,
        extra: Json | None = None,  # merged into the table form's schema
        listed: bool = True,  # a row of its own in the README (rlimits share one row)
    ) -> None:
        self.path = path
        self.toml = toml
        self.default = default
        self.meaning = meaning
        self.sample = sample
        self.forms = forms
        self.table = table
        self.required = required
        self.extra: Json = extra or {}
        self.listed = listed

    def __repr__(self) -> str:
        return f"Entry({self.path!r})"


P = "programs.NAME"
MAX_CPU = 8191  # the kernel's largest NR_CPUS; a bigger number is a typo
LOG = f"{P}.stdout"  # the table form of stdout and stderr: same keys

_RLIMITS = (
    ("nofile", "open files"),
    ("nproc", "processes of the user"),
    ("core", "core file size"),
    ("memlock", "locked memory"),
    ("stack", "stack size"),
    ("as", "address space"),
    ("fsize", "file size"),
    ("cpu", "CPU seconds"),
    ("data", "data segment"),
    ("rss", "resident set"),
    ("msgqueue", "POSIX message queue bytes"),
    ("nice", "nice ceiling"),
    ("rtprio", "real-time priority"),
    ("sigpending", "pending signals"),
)
# Not "locks": Python's resource module has no RLIMIT_LOCKS, so the spawn could not set it (the
# loader used to accept it and the child then failed); refused as an unknown key instead.

ENTRIES: tuple[Entry, ...] = (
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
    Entry(
        "programs",
        "table of tables",
        "{}",
        "One `[programs.NAME]` table per program; NAME: letters, digits, `_`, `.`, `-`.",
        "{}",
    ),
    Entry(
        P,
        "table",
        "",
        "One program: a command and how to run, watch, restart and stop it.",
        '{ command = ["true"] }',
        table=P,
    ),
    Entry(
        f"{P}.command",
        "string or array of strings",
        "(required)",
        "What to run. A string is split like a shell would (shlex; no shell runs); "
        "`${VAR}` expands from `environment` and pinit's environment, `$$` is a literal `$`.",
        '["gunicorn", "app:app", "-b", "127.0.0.1:8000"]',
        (COMMAND,),
        required=True,
    ),
    Entry(
        f"{P}.numprocs",
        "integer >= 1",
        "1",
        "How many copies to run; more than one are named `NAME-1`..`NAME-N`. Each process "
        "gets `PINIT_PROGRAM`, `PINIT_PROCESS_NUM` (1..N) and `PINIT_INSTANCE`.",
        "2",
        ({"type": "integer", "minimum": 1},),
    ),
    Entry(
        f"{P}.environment",
        "table of strings",
        "{}",
        "Variables added to pinit's environment for this program; values may use `${VAR}` "
        "(earlier keys of this table, then pinit's environment).",
        '{ APP_ENV = "prod" }',
        ({"type": "object", "additionalProperties": {"type": "string"}},),
    ),
    Entry(
        f"{P}.user",
        "string or integer",
        "(pinit's own)",
        "User name or uid to run as; also sets HOME, USER, LOGNAME and SHELL as a login does, "
        "and the user's supplementary groups. A bare uid without a passwd entry needs `group`.",
        '"www-data"',
        (IDENT,),
    ),
    Entry(
        f"{P}.group",
        "string or integer",
        "(the user's primary group)",
        "Group name or gid to run as (without `user`: only the group changes).",
        '"www-data"',
        (IDENT,),
    ),
    Entry(
        f"{P}.umask",
        "string (octal) or integer",
        "(pinit's own)",
        'File mode mask, `"027"` as in a shell (a string is always octal).',
        '"027"',
        (
            {"type": "string", "pattern": r"^\s*(?:0[oO])?[0-7]+\s*$"},
            {"type": "integer", "minimum": 0, "maximum": 511},
        ),
    ),
    Entry(
        f"{P}.cwd",
        "string (path)",
        "(pinit's own)",
        "Working directory; relative to the config file's directory, `${VAR}` expands.",
        '"/srv/app"',
        (NONEMPTY,),
    ),
    Entry(
        f"{P}.rlimits",
        "table",
        "{}",
        'Resource limits set before exec: `{ nofile = 65536, core = [0, "unlimited"] }`; '
        'a number sets soft and hard, `[soft, hard]` each, `"unlimited"` is no limit. '
        "Names: " + ", ".join(f"`{n}`" for n, _ in _RLIMITS) + ".",
        '{ nofile = 65536, core = [0, "unlimited"] }',
        table=f"{P}.rlimits",
    ),
    *(
        Entry(
            f"{P}.rlimits.{name}",
            'integer, `"unlimited"` or `[soft, hard]`',
            "(inherited)",
            f"RLIMIT_{name.upper()}: {what}.",
            "[1024, 4096]" if name == "nofile" else "1024",
            (RLIMIT,),
            listed=False,
        )
        for name, what in _RLIMITS
    ),
    # issue 9: placement and priority
    Entry(
        f"{P}.cpu_affinity",
        'array of integers and `"N-M"` strings, or `"spread"`',
        "(pinit's own)",
        'CPUs the program may run on (`sched_setaffinity`), e.g. `[0, "2-3"]`; '
        '`"spread"` pins instance N to CPU (N-1) modulo the CPUs pinit may use. '
        "`pinit check` refuses CPUs pinit itself may not use.",
        '[0, "2-3"]',
        (
            {"const": "spread"},
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "anyOf": [
                        {"type": "integer", "minimum": 0, "maximum": MAX_CPU},
                        {"type": "string", "pattern": r"^\s*[0-9]+\s*(?:-\s*[0-9]+\s*)?$"},
                    ]
                },
            },
        ),
    ),
    Entry(
        f"{P}.nice",
        "integer",
        "(pinit's own)",
        "Scheduling niceness, -20 (first) to 19 (last); below pinit's own needs root "
        "(CAP_SYS_NICE), else the start fails naming the key.",
        "5",
        ({"type": "integer", "minimum": -20, "maximum": 19},),
    ),
    Entry(
        f"{P}.oom_score_adj",
        "integer",
        "(pinit's own)",
        "The kernel OOM killer's bias, -1000 (never) to 1000 (first); lowering needs root "
        "(CAP_SYS_RESOURCE), else the start fails naming the key.",
        "500",
        ({"type": "integer", "minimum": -1000, "maximum": 1000},),
    ),
    Entry(
        f"{P}.restart",
        '`"always"`, `"on-failure"` or `"never"`',
        '"on-failure"',
        "When an exit is followed by a restart: `on-failure` unless the code is in "
        "`exit_codes` (a death by signal is 128+N, a failure). A stop pinit asked for is never "
        "restarted.",
        '"always"',
        ({"enum": ["always", "on-failure", "never"]},),
    ),
    Entry(
        f"{P}.exit_codes",
        "array of integers 0-255",
        "[0]",
        "Exit codes that mean success: not restarted under `on-failure`, and they let "
        "programs started `after` this one go on (a one-shot job that exits 0).",
        "[0, 2]",
        (EXIT_CODES,),
    ),
    Entry(
        f"{P}.graceful_exit_codes",
        "array of integers 0-255",
        "[0, 143]",
        "Codes that count as a clean stop when pinit stopped the program: a `docker stop` "
        "that ends a program without a TERM handler with 143 is not a failure (dying of "
        "`stop_signal` always counts; a SIGKILL after `stop_timeout`, 137, never does).",
        "[0, 143, 130]",
        (EXIT_CODES,),
    ),
    Entry(
        f"{P}.start_seconds",
        "duration",
        '"1s"',
        "How long a process must stay up to count as started; dying sooner is a failed start. "
        'With `ready = "started"` it is also when the program counts as ready.',
        '"2s"',
        (DURATION,),
    ),
    Entry(
        f"{P}.start_retries",
        "integer >= 0",
        "3",
        "Consecutive failed starts tolerated; one more and the program gives up (FATAL, see "
        "`on_fatal`). A program that ran past `start_seconds` restarts with the count at 0.",
        "5",
        ({"type": "integer", "minimum": 0},),
    ),
    Entry(
        f"{P}.backoff",
        "table",
        '{ initial = "100ms", max = "30s", factor = 2.0, jitter = 0.1 }',
        "Delay before restarting after failed starts: `initial * factor^(n-1)`, at most "
        "`max`, +- `jitter`. A program that crashes after a good start restarts at once.",
        '{ initial = "200ms", max = "10s" }',
        table=f"{P}.backoff",
    ),
    Entry(
        f"{P}.backoff.initial",
        "duration",
        '"100ms"',
        "Delay after the first failed start.",
        '"250ms"',
        (DURATION,),
    ),
    Entry(
        f"{P}.backoff.max",
        "duration",
        '"30s"',
        "Longest delay (must be >= `initial`).",
        '"1m"',
        (DURATION,),
    ),
    Entry(
        f"{P}.backoff.factor",
        "number >= 1",
        "2.0",
        "Growth of the delay per further failed start.",
        "1.5",
        ({"type": "number", "minimum": 1},),
    ),
    Entry(
        f"{P}.backoff.jitter",
        "number 0-1",
        "0.1",
        "Random spread, a fraction of the delay, so instances crashing together do not "
        "restart in lockstep.",
        "0.2",
        ({"type": "number", "minimum": 0, "maximum": 1},),
    ),
    Entry(
        f"{P}.flap_window",
        "duration > 0",
        '"60s"',
        "Window for flapping detection (systemd's `StartLimitIntervalSec`).",
        '"2m"',
        (POSITIVE_DURATION,),
    ),
    Entry(
        f"{P}.flap_max",
        "integer >= 1",
        "10",
        "More restarts than this inside `flap_window` count as failed starts even when each "
        "run outlived `start_seconds`, so a program crashing every few seconds still gives up.",
        "5",
        ({"type": "integer", "minimum": 1},),
    ),
    Entry(
        f"{P}.stop_signal",
        "string or integer",
        '"TERM"',
        'Signal that asks the program to stop, sent to its whole process group: `"INT"`, '
        '`"SIGQUIT"`, `15`.',
        '"INT"',
        (SIGNAL,),
    ),
    Entry(
        f"{P}.stop_timeout",
        "duration",
        "(`pinit.stop_timeout`)",
        "How long after `stop_signal` the group gets SIGKILL. Also used by `pinit check "
        "--explain` for the worst-case stop budget.",
        '"20s"',
        (DURATION,),
    ),
    # issue 9: per-program watchdog and resource-triggered restarts
    Entry(
        f"{P}.watchdog",
        "duration",
        '"0s"',
        "systemd's `WatchdogSec=`: the program gets `NOTIFY_SOCKET`, `WATCHDOG_USEC` and "
        "`WATCHDOG_PID`, and is restarted (reason `watchdog`, its stop signal and timeout) "
        "when no `WATCHDOG=1` arrives for this long, counted from when it is running and "
        "from each ping; `WATCHDOG=trigger` restarts it at once. `0s`: off.",
        '"10s"',
        (DURATION,),
    ),
    Entry(
        f"{P}.max_memory",
        "size",
        "0",
        "Restart the instance gracefully (reason `memory`) when the resident memory of its "
        "whole process tree stays above this for `max_memory_for`; sampled every "
        "`pinit.memory_interval`. `0`: off.",
        '"512MiB"',
        (SIZE,),
    ),
    Entry(
        f"{P}.max_memory_for",
        "duration",
        '"0s"',
        "How long the memory must stay above `max_memory` before the restart; `0s` (the "
        "default) means one `pinit.memory_interval`: two samples in a row above it.",
        '"30s"',
        (DURATION,),
    ),
    Entry(
        f"{P}.max_lifetime",
        "duration",
        '"0s"',
        "Restart an instance gracefully (reason `lifetime`) once it has run this long, plus "
        "its jitter (gunicorn's `max_requests` for programs pinit cannot count requests of). "
        "At most one instance of a program is restarted for its lifetime at a time; the "
        "others wait until it is running again. `0s`: off.",
        '"6h"',
        (DURATION,),
    ),
    Entry(
        f"{P}.max_lifetime_jitter",
        "number 0-1",
        "0.1",
        "Each instance's lifetime is `max_lifetime` plus a random part up to this fraction of "
        "it, drawn at each spawn, so instances started together do not all restart together.",
        "0.2",
        ({"type": "number", "minimum": 0, "maximum": 1},),
    ),
    Entry(
        f"{P}.after",
        "array of strings",
        "[]",
        "Programs that must be ready (or have exited with a code in `exit_codes`) before this "
        "one starts; at shutdown this one stops before them.",
        '["q"]',
        (STR_LIST,),
    ),
    # issue 9: bound dependencies
    Entry(
        f"{P}.binds_to",
        "array of strings",
        "[]",
        "Programs this one is bound to (systemd's `BindsTo=`/`PartOf=`; implies `after`): when "
        "one of them stops or restarts, this one is stopped first; it starts again once they "
        "are all ready (after an operator's stop, only when they are started again).",
        '["q"]',
        (STR_LIST,),
    ),
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
