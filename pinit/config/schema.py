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
    cmd_after: tuple[str, ...] | None = None  # issue 7.5: what `-- CMD` waits for; None: all
    log_dir: str = ""
    control_socket: str = ""
    http: str = ""  # issue 8: the HTTP endpoint's address (config/listen.py); "": off
    path: str = ""  # the file this was loaded from; "" for a config built in code

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
