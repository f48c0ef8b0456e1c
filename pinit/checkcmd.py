"""``pinit check [--explain]``: validate a config on this host and show what it would do.

The check is the same load + ``check_host`` that ``pinit run`` does before starting anything,
so "check passes" means "run will not refuse the config". ``--explain`` prints the resolved plan
(every default filled in, every path absolute, every id numeric) because the most common config
bug is not a syntax error but a default the author did not know about.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import TextIO

from pinit.config.graph import start_layers, stop_layers
from pinit.config.maincmd import with_command
from pinit.config.resolve import environment, identity, load_checked
from pinit.config.schema import (
    Config,
    ConfigError,
    LogSpec,
    Program,
    Readiness,
    ReadyKind,
    Restart,
    printable,
)
from pinit.config.units import show

__all__ = ["STOP_MARGIN", "budget_warning", "process_names", "run_check", "worst_case_stop"]

# Per stop layer, on top of the slowest stop_timeout in it: the KILL after the timeout, the
# reap, and the loop turn before the next layer starts are not free.
STOP_MARGIN = 1.0
_SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "KEY")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def run_check(
    path: str,
    explain: bool,
    out: TextIO,
    err: TextIO,
    environ: Mapping[str, str],
    *,
    command: Sequence[str] = (),
) -> int:
    """Print every error (one per line, then a count) and return 1, or print OK and return 0.

    ``command``: the CMD of ``pinit --config FILE -- CMD``, added as the main program ``cmd``
    exactly as the run adds it (``config.maincmd``), so the plan shown is the one that runs.
    """
    # With CMD, a config may hold no programs: CMD is the one to supervise (issue 7.5).
    config, errors = load_checked(path, environ, require_programs=not command)
    if config is not None and command:
        try:
            config = with_command(config, command)
        except ValueError as exc:
            errors, config = [*errors, ConfigError("", str(exc), file=path)], None
    if errors or config is None:
        for error in errors:
            print(error, file=err)
        print(_plural(len(errors), "error"), file=err)
        return 1
    if not config.programs:  # as `pinit --config` refuses it (issue 11.13)
        print(f"{path}: no programs to supervise", file=err)
        print(_plural(1, "error"), file=err)
        return 1
    processes = sum(p.numprocs for p in config.programs)
    programs = _plural(len(config.programs), "program")
    print(f"{path}: OK ({programs}, {_plural(processes, 'process')})", file=out)
    over = budget_warning(config)
    if over:
        print(f"{path}: warning: {over}", file=err)
    if explain:
        explain_plan(config, environ, out)
    return 0


def process_names(prog: Program) -> list[str]:
    """``web`` for one process, ``web-1``..``web-N`` for numprocs > 1 (as in the titles)."""
    if prog.numprocs == 1:
        return [prog.name]
    return [f"{prog.name}-{n}" for n in range(1, prog.numprocs + 1)]


def worst_case_stop(config: Config) -> float:
    """Seconds a full shutdown may take: the sum over stop layers of (slowest stop_timeout in
    the layer + STOP_MARGIN), plus the final sweep's grace ([pinit].stop_timeout, spent only
    when strays are left). Layers stop one after the other; a layer's programs in parallel.
    This is the number to keep under `docker stop -t`, TimeoutStopSec= or
    terminationGracePeriodSeconds, or the runtime SIGKILLs pinit mid-way."""
    total = config.stop_timeout + STOP_MARGIN
    for layer in stop_layers(config.programs):
        total += max(config.program(n).stop_timeout for n in layer) + STOP_MARGIN
    return total


def budget_warning(config: Config) -> str:
    """Issue 7.6: say when the per-program timeouts cannot fit in [pinit].stop_budget."""
    worst = worst_case_stop(config)
    if config.stop_budget <= 0 or worst <= config.stop_budget:
        return ""
    return (
        f"worst-case stop {worst:.1f}s exceeds pinit.stop_budget {config.stop_budget:g}s:"
        f" whatever still runs {config.stop_budget:g}s into a shutdown gets SIGKILL"
    )


def _budget_lines(config: Config) -> list[str]:
    if config.stop_budget <= 0:
        return ["stop budget: none ([pinit].stop_budget unset: the worst case above holds)"]
    over = budget_warning(config)
    if not over:
        return [f"stop budget: {config.stop_budget:g}s (the worst case fits)"]
    return [f"stop budget: {config.stop_budget:g}s", f"  warning: {over}"]


def _mask(key: str, value: str) -> str:
    return "***" if any(word in key.upper() for word in _SECRET_WORDS) else value


def _span(seconds: float) -> str:
    """86400 -> "1d", 5400 -> "90m": a period as its author would write it (issue 10)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def _log(spec: LogSpec | None, stream: str) -> str:
    if spec is None:
        return "same as stdout"
    if not spec.file:
        where = f"pinit's {stream}"
        return where + (" (passthrough)" if spec.passthrough else "")
    extra = ", passthrough" if spec.passthrough else ""
    # issue 10: time rotation, retention, gzip, timestamps
    extra += f", every {_span(spec.rotate_every)}" if spec.rotate_every else ""
    extra += f", max age {_span(spec.max_age)}" if spec.max_age else ""
    extra += ", gzip" if spec.compress else ""
    extra += ", timestamps" if spec.timestamps else ""
    return f"{spec.file} (rotate at {spec.max_bytes} bytes, {spec.backups} backups{extra})"


def _ready(ready: Readiness) -> str:
    timing = f"every {ready.interval}s, give up after {ready.timeout}s"
    if ready.kind is ReadyKind.STARTED:
        return "started (alive for start_seconds)"
    if ready.kind is ReadyKind.TCP:
        return f"tcp connect {ready.host}:{ready.port} ({timing})"
    if ready.kind is ReadyKind.HTTP:
        return f"http GET {ready.url} answers 2xx ({timing})"
    if ready.kind is ReadyKind.COMMAND:
        return f"command {shlex.join(ready.command)} exits 0 ({timing})"
    return f"READY=1 on $NOTIFY_SOCKET (give up after {ready.timeout}s)"


def _live(prog: Program) -> list[str]:
    """Issue 8: the liveness probe's line, only for a program that has one."""
    live = prog.live
    if live is None:
        return []
    what = _ready(live.check).partition(" (")[0]
    on_fail = "left EXITED" if prog.restart is Restart.NEVER else "restarted (its backoff)"
    return [
        f"  live:        {what}, every {live.interval}s from {live.initial_delay}s after"
        f" running, {live.timeout}s each; {show(live.failures)} failures in a row: {on_fail}"
    ]


def _limit(value: int) -> str:
    return "unlimited" if value < 0 else str(value)


def _program_lines(prog: Program, environ: Mapping[str, str], main: str | None) -> list[str]:
    ident = identity(prog)
    if ident is None:
        who = "pinit's own uid/gid/groups"
    else:
        groups = ",".join(str(g) for g in ident.groups)
        who = f"uid={ident.uid}({ident.user}) gid={ident.gid} groups={groups}"
    flags = [f for f, on in (("main", prog.name == main), ("critical", prog.critical)) if on]
    if not prog.autostart:
        flags.append("no autostart")
    codes = ",".join(str(c) for c in sorted(prog.exit_codes))
    b = prog.backoff
    restart = (
        f"{prog.restart.value} (success = exit {codes}; up {prog.start_seconds}s counts as"
        f" started; {show(prog.start_retries)} retries; backoff {b.initial}s..{b.max}s"
        f" x{b.factor} +-{b.jitter:.0%}; over {show(prog.flap_max)} restarts in"
        f" {prog.flap_window}s"
        " is flapping)"
    )
    rlimits = " ".join(f"{n}={_limit(s)}:{_limit(h)}" for n, s, h in prog.rlimits)
    lines: list[str] = []
    for num, name in enumerate(process_names(prog), start=1):
        env = environment(prog, environ, ident, num)
        diff = [
            f"{'+' if key not in environ else '~'}{key}={_mask(key, value)}"
            for key, value in sorted(env.items())
            if environ.get(key) != value
        ]
        lines += [
            f"process {name}" + (f" [{', '.join(flags)}]" if flags else ""),
            f"  argv:        {shlex.join(prog.command)}",
            f"  identity:    {who}",
            f"  umask:       {'inherited' if prog.umask is None else f'{prog.umask:04o}'}",
            f"  cwd:         {prog.cwd or 'inherited'}",
            f"  rlimits:     {rlimits or 'inherited'}",
            f"  environment: {' '.join(diff) or '(unchanged)'}",
            f"  stdout:      {_log(prog.stdout, 'stdout')}",
            f"  stderr:      {_log(prog.stderr, 'stderr')}",
            f"  restart:     {restart}",
            f"  ready:       {_ready(prog.ready)}",
            f"  stop:        {prog.stop_signal.name}, then SIGKILL after {prog.stop_timeout}s",
            *_live(prog),
            *_placement_and_binds_lines(prog, num),
        ]
    return lines


def _placement_and_binds_lines(prog: Program, num: int) -> list[str]:
    """Placement and bindings (issue 9), only for programs that set them."""
    out: list[str] = []
    place = []
    if prog.cpu_affinity == "spread":
        allowed = sorted(os.sched_getaffinity(0))
        place.append(f"cpu {allowed[(num - 1) % len(allowed)]} (spread)")
    elif isinstance(prog.cpu_affinity, tuple):
        place.append("cpus " + ",".join(map(str, prog.cpu_affinity)))
    if prog.nice is not None:
        place.append(f"nice {prog.nice}")
    if prog.oom_score_adj is not None:
        place.append(f"oom_score_adj {prog.oom_score_adj}")
    if place:
        out.append(f"  placement:   {', '.join(place)}")
    if prog.binds_to:
        out.append(f"  binds_to:    {', '.join(prog.binds_to)} (stopped and started again with)")
    return out


def explain_plan(config: Config, environ: Mapping[str, str], out: TextIO) -> None:
    """The resolved plan of a valid config (``check_host`` must have passed)."""
    lines = ["start order (each layer after the one before is ready):"]
    for k, layer in enumerate(start_layers(config.programs), start=1):
        lines.append(f"  {k}. {', '.join(layer)}")
    lines.append("stop order (reverse):")
    for k, layer in enumerate(stop_layers(config.programs), start=1):
        parts = [
            f"{n} ({config.program(n).stop_signal.name}, {config.program(n).stop_timeout}s)"
            for n in layer
        ]
        lines.append(f"  {k}. {', '.join(parts)}")
    lines.append(f"worst-case stop: {worst_case_stop(config):.1f}s")
    lines.append(
        f"  (sum over stop layers of the slowest stop_timeout + {STOP_MARGIN}s margin each,"
        " plus the final sweep's [pinit].stop_timeout + margin)"
    )
    lines.extend(_budget_lines(config))
    for prog in config.programs:
        lines.append("")
        lines.extend(_program_lines(prog, environ, config.main))
    # Arguments, environment values and paths are the author's text: escaped like errors
    # (issue 11.13), so an ESC sequence in a value cannot drive the terminal.
    print("\n".join(printable(line) for line in lines), file=out)
