"""The validated, typed shape of a pinit config.

Everything here is a frozen, slotted dataclass so that a Config can be compared (HUP reload
diffs programs by equality), hashed and shared with the pure model without copies. Values are
already parsed: durations are float seconds, sizes are int bytes, signals are `signal.Signals`.
Only `config.load` builds these; only `config.resolve` looks at the host.
"""

from __future__ import annotations

import enum
import signal

from pinit.records import dataclass, field


class Restart(enum.Enum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


class OnFatal(enum.Enum):
    """What the whole container does when a program gives up for good."""

    SHUTDOWN = "shutdown"
    IGNORE = "ignore"


class Rolling(enum.Enum):
    """Issue 9: how a rolling restart keeps capacity (``rolling`` key)."""

    START_FIRST = "start-first"  # one extra instance runs while the others are replaced
    STOP_FIRST = "stop-first"  # one instance fewer while it is replaced


class ReadyKind(enum.Enum):
    STARTED = "started"  # alive for start_seconds
    TCP = "tcp"  # a connect() to host:port succeeds
    HTTP = "http"  # a GET answers 2xx
    COMMAND = "command"  # a check command exits 0
    NOTIFY = "notify"  # the child sends READY=1 on $NOTIFY_SOCKET


@dataclass(frozen=True, slots=True)
class Readiness:
    kind: ReadyKind = ReadyKind.STARTED
    host: str = ""  # tcp / http
    port: int = 0  # tcp / http
    url: str = ""  # http: the full URL
    command: tuple[str, ...] = ()  # command
    interval: float = 0.25  # how often a tcp/http/command check is retried
    timeout: float = 60.0  # give up (a failed start) after this long without readiness


@dataclass(frozen=True, slots=True)
class Liveness:
    """Issue 8: a probe run while the program is RUNNING; ``failures`` failed attempts in a
    row restart it (Kubernetes' livenessProbe). ``check`` reuses the readiness probe's
    target (tcp/http/command; its own interval and timeout are unused here)."""

    check: Readiness
    interval: float = 10.0  # between the starts of two attempts
    timeout: float = 2.0  # one attempt's limit: no answer by then is a failure
    failures: int = 3  # consecutive failed attempts that restart the program
    initial_delay: float = 0.0  # after it became RUNNING, before the first attempt


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.1
    max: float = 30.0
    factor: float = 2.0
    jitter: float = 0.1  # +- this fraction of the delay, drawn from a seeded RNG


@dataclass(frozen=True, slots=True)
class LogSpec:
    """Where one stream of a program goes. `file` empty means inherit pinit's own fd."""

    file: str = ""  # absolute after load (relative paths resolve against log_dir)
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 5
    passthrough: bool = False  # also copy lines to pinit's stdout with a "name.N | " prefix
    # issue 10: time rotation, retention, gzip, timestamps (0/False: off, as before)
    rotate_every: float = 0.0  # seconds; periods aligned on the epoch (UTC)
    max_age: float = 0.0  # seconds; backups last written before now - max_age are deleted
    compress: bool = False
    timestamps: bool = False


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    command: tuple[str, ...]
    numprocs: int = 1
    environment: tuple[tuple[str, str], ...] = ()  # as written; ${VAR} expanded at spawn plan
    user: str | None = None
    group: str | None = None
    umask: int | None = None
    cwd: str | None = None
    rlimits: tuple[tuple[str, int, int], ...] = ()  # (name, soft, hard); name like "nofile"
    restart: Restart = Restart.ON_FAILURE
    exit_codes: frozenset[int] = frozenset({0})
    graceful_exit_codes: frozenset[int] = frozenset({0, 143})
    start_seconds: float = 1.0
    start_retries: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    flap_window: float = 60.0  # more than flap_max restarts inside this window count as
    flap_max: int = 10  # failed starts, even if each run outlived start_seconds
    stop_signal: signal.Signals = signal.SIGTERM
    stop_timeout: float = 10.0
    after: tuple[str, ...] = ()
    ready: Readiness = field(default_factory=Readiness)
    autostart: bool = True
    critical: bool = False
    stdout: LogSpec = field(default_factory=LogSpec)
    stderr: LogSpec | None = None  # None: same destination as stdout ("stderr = 'stdout'")
    # issue 9: scale and rolling restarts
    title: bool = False  # exec with argv[0] = pinit-NAME-PROGRAM-N
    rolling: Rolling | None = None  # None: a reload replaces all at once (as before)
    live: Liveness | None = None  # issue 8: liveness probe; None: never probed
    # issue 9: per-program watchdog and resource-triggered restarts (0 = off)
    watchdog: float = 0.0  # seconds without WATCHDOG=1 before a restart (WatchdogSec=)
    max_memory: int = 0  # bytes of RSS over the whole process tree
    max_memory_for: float = 0.0  # how long above it; 0: one [pinit] memory_interval
    max_lifetime: float = 0.0  # seconds since the spawn
    max_lifetime_jitter: float = 0.1  # + up to this fraction of max_lifetime, per instance
    # issue 9: placement and priority (applied in the child before exec: the fork path)
    cpu_affinity: tuple[int, ...] | str | None = None  # CPUs, or "spread"; None: pinit's own
    nice: int | None = None
    oom_score_adj: int | None = None
    # issue 9: bound dependencies (systemd BindsTo=/PartOf=); implies `after`
    binds_to: tuple[str, ...] = ()
    # The file that defined it (the main config or an include); only for locating errors found
    # later (check_host), so it takes no part in equality: moving a program between files is
    # not a change a HUP reload should restart it for.
    source: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Config:
    programs: tuple[Program, ...]
    name: str = "pinit"
    main: str | None = None
    on_fatal: OnFatal = OnFatal.SHUTDOWN
    stop_timeout: float = 10.0
    stop_budget: float = 0.0  # issue 7.6: a whole shutdown's deadline; 0: none
    memory_interval: float = 5.0  # issue 9: how often max_memory is sampled
    cmd_after: tuple[str, ...] | None = None  # issue 7.5: what `-- CMD` waits for; None: all
    log_dir: str = ""
    control_socket: str = ""
    http: str = ""  # issue 8: the HTTP endpoint's address (config/listen.py); "": off
    path: str = ""  # the file this was loaded from; "" for a config built in code
    log_format: str = "text"  # issue 8: "text" | "json" (pinit's lines and passthrough)
    reopen_signal: int = 0  # issue 10: reopens log files instead of being forwarded; 0: none

    def program(self, name: str) -> Program:
        for prog in self.programs:
            if prog.name == name:
                return prog
        raise KeyError(name)


MAX_SHOWN_KEY = 120  # characters of a key path in a message; the line number finds the rest


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped as Python would (``\\n``,
    ``\\x1b``, ``\\u202e``): key names, values and paths come from the config's author, and a
    raw newline forges a second error line while an ESC sequence reaches the terminal
    (issue 11.13)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One problem, located: `programs.web.user: no such user 'wwwdata'` (line 12).

    The fields hold what was found, raw; ``str()`` is the one rendering for people (check,
    start, reload refused), escaped and with an overlong key path shortened."""

    key_path: str
    message: str
    line: int | None = None
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        if not where and self.file:
            where = f"{self.file}: "
        key = self.key_path
        if len(key) > MAX_SHOWN_KEY:
            key = f"{key[: MAX_SHOWN_KEY - 20]}...({len(key)} characters)"
        text = f"{where}{key}: {self.message}" if key else where + self.message
        return printable(text)
