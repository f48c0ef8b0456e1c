"""One ``[programs.NAME]`` table -> ``schema.Program``, every problem reported with its key path.

Host facts (does the user exist, is the binary on PATH) are deliberately not checked here:
``config.resolve.check_host`` does that, so a config can be validated on a build machine that is
not the container it will run in.
"""

from __future__ import annotations

import os.path
from collections.abc import Callable, Mapping

from pinit.config import keyset, units
from pinit.config.expand import ExpandError, expand
from pinit.config.fields import (
    Errors,
    FieldError,
    Source,
    TableReader,
    sub_field,
    type_name,
    unit,
    unknown_keys,
    want_bool,
    want_enum,
    want_int,
    want_list,
    want_str,
    want_str_list,
    want_table,
)
from pinit.config.loadready import (
    duration,
    parse_argv,
    parse_live,
    parse_ready,
    positive_duration,
)
from pinit.config.schema import Backoff, LogSpec, Program, Restart, Rolling
from pinit.config.units import show
from pinit.records import dataclass

PROGRAM_KEYS = keyset.keys("programs.NAME")
RLIMIT_NAMES = keyset.keys("programs.NAME.rlimits")
BACKOFF_KEYS = keyset.keys("programs.NAME.backoff")
LOG_KEYS = keyset.keys("programs.NAME.stdout")  # stdout and stderr tables alike
UNLIMITED = -1
# uid_t/gid_t are 32 bits and (uid_t)-1 means "leave unchanged" to setresuid(2): the largest
# id a process can have is 2**32 - 2. Python's getpwuid raises OverflowError past it.
MAX_ID = 2**32 - 2
# rlim_t is 64 bits and RLIM_INFINITY is its all-ones value (spelled "unlimited" here).
MAX_RLIMIT = 2**63 - 1
# Rotation renames every backup; a billion of them stalled output (issue 11.10). 1,000 is far
# past any retention a log file rotated by size needs; 0 means "drop the file at rotation".
MAX_BACKUPS = 1000


@dataclass(frozen=True, slots=True)
class ProgramContext:
    """What a program table needs from outside itself."""

    environ: Mapping[str, str]
    log_dir: str  # absolute, or "" (then log files resolve against the defining file's dir)
    stop_timeout: float  # [pinit].stop_timeout, the per-program default


def parse_environment(value: object, environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    own: dict[str, str] = {}
    problems: list[tuple[str, str]] = []

    def lookup(name: str) -> str | None:
        return own[name] if name in own else environ.get(name)

    for key, item in want_table(value).items():
        if not key or "=" in key or "\0" in key:
            problems.append((f".{key}", "invalid environment variable name"))
        else:
            try:
                own[key] = expand(want_str(item), lookup)
            except (ExpandError, FieldError) as exc:
                problems.append((f".{key}", str(exc)))
    if problems:
        raise FieldError(items=problems)
    return tuple(own.items())


def parse_ident(value: object) -> str:
    """A user or group: a name, or a numeric id (TOML int or ASCII digit string).

    ``"²"`` and ``"٣"`` are digits to ``str.isdigit``: the first made ``int()`` raise in the
    loader, the second would have been read as id 3 (issue 11.4). Only ASCII counts as a number.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return str(want_int(value, 0, MAX_ID))
    text = want_str(value)
    if not text:
        raise FieldError("must not be empty")
    if text.isdigit() and not text.isascii():
        raise FieldError(f"a numeric id must be written in ASCII digits, got {show(text)}")
    if text.isascii() and text.isdigit() and (len(text) > 10 or int(text) > MAX_ID):
        raise FieldError(f"must be <= {MAX_ID}, got {show(text)}")
    return text


def _limit(value: object) -> int:
    if value == "unlimited":
        return UNLIMITED
    if isinstance(value, str):
        raise FieldError(f"expected an integer or 'unlimited', got {show(value)}")
    return want_int(value, 0, MAX_RLIMIT)


def parse_rlimits(value: object) -> tuple[tuple[str, int, int], ...]:
    """``{nofile = 65536, core = [0, "unlimited"]}``; -1 stands for RLIM_INFINITY."""
    out: list[tuple[str, int, int]] = []
    problems: list[tuple[str, str]] = []
    for name, item in want_table(value).items():
        try:
            if name not in RLIMIT_NAMES:
                problems.extend(unknown_keys({name: item}, RLIMIT_NAMES))
                continue
            if isinstance(item, list):
                if len(item) != 2:
                    raise FieldError(f"expected [soft, hard], got {len(item)} items")
                soft, hard = _limit(item[0]), _limit(item[1])
            else:
                soft = hard = _limit(item)
            if hard != UNLIMITED and (soft == UNLIMITED or soft > hard):
                raise FieldError(f"soft limit {soft} exceeds hard limit {hard}")
            out.append((name, soft, hard))
        except FieldError as exc:
            problems.extend((f".{name}{sub}", msg) for sub, msg in exc.items)
    if problems:
        raise FieldError(items=problems)
    return tuple(out)


def parse_exit_codes(value: object) -> frozenset[int]:
    problems: list[tuple[str, str]] = []
    codes: set[int] = set()
    for i, item in enumerate(want_list(value)):
        try:
            codes.add(want_int(item, 0, 255))
        except FieldError as exc:
            problems.append((f"[{i}]", str(exc)))
    if problems:
        raise FieldError(items=problems)
    return frozenset(codes)


def parse_backoff(value: object) -> Backoff:
    raw = want_table(value)
    problems = unknown_keys(raw, BACKOFF_KEYS)
    base = Backoff()
    initial = sub_field(raw, "initial", duration, base.initial, problems)
    maximum = sub_field(raw, "max", duration, base.max, problems)
    factor = sub_field(raw, "factor", _number_at_least(1.0), base.factor, problems)
    jitter = sub_field(raw, "jitter", _fraction, base.jitter, problems)
    if not problems and maximum < initial:
        problems.append((".max", f"must be >= initial ({initial}s), got {maximum}s"))
    if problems:
        raise FieldError(items=problems)
    return Backoff(initial=initial, max=maximum, factor=factor, jitter=jitter)


def _number_at_least(low: float) -> Callable[[object], float]:
    def parse(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError(f"expected a number, got {type_name(value)} {show(value)}")
        try:
            number = float(value)
        except OverflowError:  # an int past 1.8e308
            number = float("inf")
        if not low <= number < float("inf"):
            raise FieldError(f"must be a finite number >= {low}, got {show(value)}")
        return number

    return parse


def _fraction(value: object) -> float:
    number = _number_at_least(0.0)(value)
    if number > 1.0:
        raise FieldError(f"must be between 0 and 1, got {show(value)}")
    return number


# Each process costs pids, fds and /proc scans; a typo like 100000000000 must be an error,
# not an attempt. 10,000 is far past any real container and below default pid_max.
MAX_NUMPROCS = 10_000


def parse_cpus(value: object) -> tuple[int, ...] | str:
    """Issue 9: ``"spread"``, or CPUs as numbers and ``"N-M"`` ranges: ``[0, "2-3"]``."""
    if value == "spread":
        return "spread"
    if isinstance(value, str):
        raise FieldError(f'expected an array of CPUs or "spread", got {show(value)}')
    cpus: set[int] = set()
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(want_list(value)):
        try:
            if isinstance(item, str):
                low, dash, high = want_str(item).partition("-")
                ends = [low.strip(), high.strip()] if dash else [low.strip()]
                if not all(e.isascii() and e.isdigit() and len(e) < 6 for e in ends):
                    raise FieldError(f'expected a CPU number or "N-M", got {show(item)}')
                first, last = int(ends[0]), int(ends[-1])
                if last < first:
                    raise FieldError(f"range {show(item)} ends before it starts")
                cpus.update(range(first, last + 1))
            else:
                cpus.add(want_int(item, 0))
        except FieldError as exc:
            problems.append((f"[{i}]", str(exc)))
    if not problems and not cpus:
        raise FieldError("must name at least one CPU")
    if not problems and max(cpus) > keyset.MAX_CPU:
        raise FieldError(f"CPU {show(max(cpus))} is past the largest possible, {keyset.MAX_CPU}")
    if problems:
        raise FieldError(items=problems)
    return tuple(sorted(cpus))


def _every(value: object) -> float:
    """A rotation period: 0 (off) or at least a second (a file per line helps nobody)."""
    seconds = unit(units.parse_duration)(value)
    if 0 < seconds < 1:
        raise FieldError(f"rotate_every must be 0 (off) or at least 1s, got {seconds:g}s")
    return seconds


def parse_log(value: object, base_dir: str, allow_same: bool) -> LogSpec | None:
    """A file name or ``{file, max_bytes, backups, passthrough}``; ``"stdout"`` for stderr.

    An empty file name means "inherit pinit's own fd", which is what a container wants: the
    runtime's log driver already collects stdout, and a second copy on disk is waste.
    """
    if allow_same and value == "stdout":
        return None
    if isinstance(value, str):
        return LogSpec(file=os.path.join(base_dir, want_str(value)) if value else "")
    raw = want_table(value)
    problems = unknown_keys(raw, LOG_KEYS)
    base = LogSpec()
    file = sub_field(raw, "file", want_str, base.file, problems)
    max_bytes = sub_field(raw, "max_bytes", unit(units.parse_size), base.max_bytes, problems)
    backups = sub_field(
        raw, "backups", lambda v: want_int(v, 0, MAX_BACKUPS), base.backups, problems
    )
    passthrough = sub_field(raw, "passthrough", want_bool, base.passthrough, problems)
    every = sub_field(raw, "rotate_every", _every, 0.0, problems)
    max_age = sub_field(raw, "max_age", unit(units.parse_duration), 0.0, problems)
    compress = sub_field(raw, "compress", want_bool, False, problems)
    timestamps = sub_field(raw, "timestamps", want_bool, False, problems)
    if problems:
        raise FieldError(items=problems)
    return LogSpec(
        file=os.path.join(base_dir, file) if file else "",
        max_bytes=max_bytes,
        backups=backups,
        passthrough=passthrough,
        rotate_every=every,
        max_age=max_age,
        compress=compress,
        timestamps=timestamps,
    )


def parse_program(
    errors: Errors, src: Source, name: str, value: object, ctx: ProgramContext
) -> Program | None:
    """The Program, or None after reporting why not (every reason, not just the first)."""
    prefix = f"programs.{name}"
    if not isinstance(value, dict):
        errors.add(src, prefix, f"expected a table, got {type_name(value)}")
        return None
    r = TableReader(errors, src, prefix, want_table(value))
    r.check_keys(PROGRAM_KEYS)
    here = os.path.dirname(src.path)
    log_base = ctx.log_dir or here
    no_env: tuple[tuple[str, str], ...] = ()
    env = r.get("environment", lambda v: parse_environment(v, ctx.environ), no_env)
    own = dict(env)

    def lookup(var: str) -> str | None:
        return own[var] if var in own else ctx.environ.get(var)

    if "command" not in r.raw:
        r.fail(prefix, "missing required key 'command'")
    no_argv: tuple[str, ...] = ()
    no_names: list[str] = []
    command = r.get("command", lambda v: parse_argv(v, lookup), no_argv)

    def cwd(v: object) -> str:
        text = want_str(v)
        if not text:
            raise FieldError("must not be empty")
        try:
            return os.path.normpath(os.path.join(here, expand(text, lookup)))
        except ExpandError as exc:
            raise FieldError(str(exc)) from None

    default = Program(name=name, command=())
    prog = Program(
        name=name,
        command=command,
        numprocs=r.get("numprocs", lambda v: want_int(v, 1, MAX_NUMPROCS), default.numprocs),
        environment=env,
        user=r.get("user", parse_ident, None),
        group=r.get("group", parse_ident, None),
        umask=r.get("umask", unit(units.parse_umask), None),
        cwd=r.get("cwd", cwd, None),
        rlimits=r.get("rlimits", parse_rlimits, ()),
        restart=r.get("restart", lambda v: want_enum(v, Restart), default.restart),
        exit_codes=r.get("exit_codes", parse_exit_codes, default.exit_codes),
        graceful_exit_codes=r.get(
            "graceful_exit_codes", parse_exit_codes, default.graceful_exit_codes
        ),
        start_seconds=r.get("start_seconds", duration, default.start_seconds),
        start_retries=r.get("start_retries", lambda v: want_int(v, 0), default.start_retries),
        backoff=r.get("backoff", parse_backoff, default.backoff),
        flap_window=r.get("flap_window", positive_duration, default.flap_window),
        flap_max=r.get("flap_max", lambda v: want_int(v, 1), default.flap_max),
        stop_signal=r.get("stop_signal", unit(units.parse_signal), default.stop_signal),
        stop_timeout=r.get("stop_timeout", duration, ctx.stop_timeout),
        after=tuple(dict.fromkeys(r.get("after", want_str_list, no_names))),
        ready=r.get("ready", lambda v: parse_ready(v, lookup), default.ready),
        autostart=r.get("autostart", want_bool, default.autostart),
        critical=r.get("critical", want_bool, default.critical),
        stdout=r.get("stdout", lambda v: parse_log(v, log_base, False), None) or LogSpec(),
        stderr=r.get("stderr", lambda v: parse_log(v, log_base, True), None),
        # issue 9: scale and rolling restarts
        title=r.get("title", want_bool, default.title),
        rolling=r.get("rolling", lambda v: want_enum(v, Rolling), None),
        live=r.get("live", lambda v: parse_live(v, lookup), None),
        # issue 9: watchdog and resource-triggered restarts
        watchdog=r.get("watchdog", duration, default.watchdog),
        max_memory=r.get("max_memory", unit(units.parse_size), default.max_memory),
        max_memory_for=r.get("max_memory_for", duration, default.max_memory_for),
        max_lifetime=r.get("max_lifetime", duration, default.max_lifetime),
        max_lifetime_jitter=r.get("max_lifetime_jitter", _fraction, default.max_lifetime_jitter),
        cpu_affinity=r.get("cpu_affinity", parse_cpus, None),  # issue 9: placement, priority
        nice=r.get("nice", lambda v: want_int(v, -20, 19), None),
        oom_score_adj=r.get("oom_score_adj", lambda v: want_int(v, -1000, 1000), None),
        binds_to=tuple(dict.fromkeys(r.get("binds_to", want_str_list, no_names))),
        source=src.path,
    )
    return None if r.failed else prog
