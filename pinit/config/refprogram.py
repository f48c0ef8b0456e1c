"""The keys of one ``[programs.NAME]`` table: how to run, place, restart and stop it.

A part of the key table (``reference.py`` assembles ``ENTRIES`` from it; issue 7: modules
under ~400 lines): the keys up to the program's ``ready`` table; the rest, in the order the
README reference and ``pinit.schema.json`` show, is ``refprogtail.py``'s.
"""

from __future__ import annotations

from pinit.config.refentry import (
    COMMAND,
    DURATION,
    EXIT_CODES,
    IDENT,
    NONEMPTY,
    POSITIVE_DURATION,
    RLIMIT,
    SIGNAL,
    SIZE,
    STR_LIST,
    Entry,
    P,
)

MAX_CPU = 8191  # the kernel's largest NR_CPUS; a bigger number is a typo

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

PROGRAM: tuple[Entry, ...] = (
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
        "from each ping; `WATCHDOG=trigger` restarts it at once. A failure, as in systemd: "
        "the `restart` policy, backoff and flap limits apply (`never`: left stopped). "
        "`0s`: off.",
        '"10s"',
        (DURATION,),
    ),
    Entry(
        f"{P}.max_memory",
        "size",
        "0",
        "Restart the instance gracefully (reason `memory`) when the resident memory of its "
        "whole process tree stays above this for `max_memory_for`; sampled every "
        "`pinit.memory_interval`. As with `watchdog`, the `restart` policy, backoff and "
        "flap limits apply. `0`: off.",
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
        "others wait until it is running again. The `restart` policy, backoff and flap "
        "limits apply, as with `watchdog`. `0s`: off.",
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
)
