"""TOML text -> ``schema.Config``, or every error found, each with key path, file and line.

The contract is total: ``load_text`` returns ``(Config, [])`` or ``(None, [errors...])`` and never
raises, whatever bytes it is given. PID 1 reads this file on start and on every HUP; a config
mistake must be a message, not a traceback that takes the container down.

``include`` globs pull in ``[programs.*]`` tables from other files (a ``conf.d`` directory, as
supervisord's ``[include] files=`` does), but only programs: one file owns the ``[pinit]``
settings, so it is never ambiguous which ``main`` or ``stop_timeout`` wins.

``load_partial`` is the same load keeping what did parse: ``pinit check`` runs the host checks
(users, executables, directories) on every program whose own table is sound, so one run
reports every error (issue 7.3), not the host errors only once the rest is fixed.
"""

from __future__ import annotations

import os.path
from collections.abc import Iterable, Mapping

from pinit.config import keyset, read, toml, units
from pinit.config.fields import (
    Errors,
    FieldError,
    Source,
    TableReader,
    unit,
    unknown_keys,
    want_enum,
    want_str,
    want_str_list,
    want_table,
)
from pinit.config.graph import find_cycle
from pinit.config.loadprog import MAX_NUMPROCS, ProgramContext, parse_program
from pinit.config.loadready import positive_duration
from pinit.config.read import MAX_FILE_BYTES, MAX_TOTAL_BYTES, ReadError, read_config, too_large
from pinit.config.schema import Config, ConfigError, OnFatal, Program
from pinit.config.units import show
from pinit.records import dataclass, field

__all__ = ["Loaded", "load_file", "load_partial", "load_text"]

TOP_KEYS = keyset.keys("")
PINIT_KEYS = keyset.keys("pinit")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
# Every program costs a supervisor entry, and planning walks the dependency graph by layers
# (programs x layers): a bound keeps a file of one-line programs from costing PID 1
# seconds. 2,000 is four times the 500 programs pinit is benchmarked with.
MAX_PROGRAMS = 2_000
# A glob such as "/*/*/*" would otherwise read (or report) half the filesystem.
MAX_INCLUDE_MATCHES = 1_000
NO_PROGRAMS = "no programs to supervise (define at least one [programs.NAME] table)"


@dataclass(slots=True)
class Loaded:
    """A load's whole outcome: ``config`` holds every program that parsed (all of them when
    ``errors`` is empty), ``sources`` the text of each file read, for locating later errors."""

    config: Config | None
    errors: list[ConfigError]
    sources: dict[str, Source] = field(default_factory=dict)


def load_file(
    path: str, environ: Mapping[str, str], require_programs: bool = True
) -> tuple[Config | None, list[ConfigError]]:
    """Read and load ``path``; an unreadable file is one error, not an exception."""
    loaded = load_partial(path, environ, require_programs)
    return _outcome(loaded)


def load_text(
    text: str, path: str, environ: Mapping[str, str], require_programs: bool = True
) -> tuple[Config | None, list[ConfigError]]:
    """Load a config from ``text``; ``path`` names it in errors and anchors relative paths."""
    return _outcome(
        _load_source(Source(os.path.abspath(path) if path else "", text), environ, require_programs)
    )


def _outcome(loaded: Loaded) -> tuple[Config | None, list[ConfigError]]:
    if loaded.config is not None and not loaded.errors:
        return loaded.config, []
    return None, loaded.errors


def load_partial(path: str, environ: Mapping[str, str], require_programs: bool = True) -> Loaded:
    """Like ``load_file``, but ``config`` keeps the programs that parsed even when others did
    not (None only when nothing could be parsed at all)."""
    full = os.path.abspath(path)
    try:
        text = read_config(full)
    except ReadError as exc:
        return Loaded(None, [ConfigError("", f"cannot read config: {exc}", None, full)])
    return _load_source(Source(full, text), environ, require_programs)


def _load_source(src: Source, environ: Mapping[str, str], require_programs: bool) -> Loaded:
    errors = Errors()
    sources = {src.path: src}
    try:
        config = _load(errors, src, environ, sources, require_programs)
    except RecursionError:  # pragma: no cover - the TOML reader caps nesting at 100 levels
        errors.items.append(ConfigError("", "config nested too deeply", None, src.path))
        config = None
    return Loaded(config, errors.items, sources)


def _parse_toml(errors: Errors, src: Source) -> dict[str, object] | None:
    """The document, or None after reporting why not. The size is checked first; a key of
    too many dotted parts after reading (issue 11.6: the reader is linear in them, and a
    document that deep is where to look for one)."""
    if len(src.text) > MAX_FILE_BYTES or len(src.text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        errors.items.append(ConfigError("", too_large(), None, src.path))
        return None
    try:
        doc = toml.loads(src.text)
    except toml.TOMLDecodeError as exc:  # nesting and 4,300-digit integers included
        errors.items.append(ConfigError("", f"TOML syntax error: {exc.msg}", exc.lineno, src.path))
        return None
    if toml.nested_deeper_than(doc, read.MAX_KEY_PARTS):  # then locate names the key
        from pinit.config.locate import overlong_key

        long_key = overlong_key(src.text)
        if long_key is not None:
            errors.items.append(ConfigError("", long_key[1], long_key[0], src.path))
            return None
    return doc


def _is_name(text: str) -> bool:
    """[A-Za-z0-9_.-]+, a program's name."""
    return bool(text) and _NAME_CHARS.issuperset(text)


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    import difflib  # only on an error: off PID 1's start path (issue 7, speed)

    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _load(
    errors: Errors,
    src: Source,
    environ: Mapping[str, str],
    sources: dict[str, Source],
    require_programs: bool,
) -> Config | None:
    doc = _parse_toml(errors, src)
    if doc is None:
        return None
    here = os.path.dirname(src.path) or os.getcwd()
    for sub, message in unknown_keys(doc, TOP_KEYS):
        errors.add(src, sub[1:], message)

    def abs_path(value: object) -> str:
        text = want_str(value)
        return os.path.normpath(os.path.join(here, text)) if text else ""

    def program_name(value: object) -> str:
        text = want_str(value)
        if not _is_name(text):
            raise ValueError(f"invalid name {show(text)} (letters, digits, '_', '.', '-')")
        return text

    pinit_raw: dict[str, object] = {}
    if "pinit" in doc:
        if isinstance(doc["pinit"], dict):
            pinit_raw = want_table(doc["pinit"])
        else:
            errors.add(src, "pinit", "expected a table ([pinit])")
    r = TableReader(errors, src, "pinit", pinit_raw)
    r.check_keys(PINIT_KEYS)
    defaults = Config(programs=())
    name = r.get("name", unit(program_name), defaults.name)
    main = r.get("main", want_str, None)
    on_fatal = r.get("on_fatal", lambda v: want_enum(v, OnFatal), defaults.on_fatal)
    stop_timeout = r.get("stop_timeout", unit(units.parse_duration), defaults.stop_timeout)
    stop_budget = r.get("stop_budget", unit(units.parse_duration), defaults.stop_budget)
    memory_interval = r.get("memory_interval", positive_duration, defaults.memory_interval)
    cmd_after = r.get("cmd_after", want_str_list, None)
    log_dir = r.get("log_dir", abs_path, defaults.log_dir)
    control_socket = r.get("control_socket", abs_path, defaults.control_socket)
    log_format = r.get("log_format", _log_format, defaults.log_format)
    reopen_signal = r.get("reopen_signal", _reopen_signal, 0)  # issue 10
    http = r.get("http", lambda v: _listen(want_str(v), here), defaults.http)
    no_include: list[str] = []
    include = r.get("include", want_str_list, no_include)

    ctx = ProgramContext(environ=environ, log_dir=log_dir, stop_timeout=stop_timeout)
    defined: dict[str, Source] = {}
    programs: list[Program] = []
    included = _includes(errors, src, here, include)
    sources.update((file.path, file) for file in included)
    for file in [src, *included]:
        for prog_name, raw in _program_tables(errors, file, doc if file is src else None):
            if prog_name in defined:
                errors.add(
                    file,
                    f"programs.{prog_name}",
                    f"defined twice: in {defined[prog_name].path} and {file.path}",
                )
                continue
            defined[prog_name] = file
            if not _is_name(prog_name):
                errors.add(
                    file,
                    f"programs.{prog_name}",
                    "invalid program name (use letters, digits, '_', '.', '-')",
                )
                continue
            prog = parse_program(errors, file, prog_name, raw, ctx)
            if prog is not None:
                programs.append(prog)

    _check_program_set(
        errors,
        src,
        defined,
        programs,
        main=main,
        cmd_after=cmd_after,
        require_programs=require_programs,
    )
    return Config(
        programs=tuple(programs),
        name=name,
        main=main if main in defined else None,
        on_fatal=on_fatal,
        stop_timeout=stop_timeout,
        stop_budget=stop_budget,
        memory_interval=memory_interval,
        cmd_after=None if cmd_after is None else tuple(cmd_after),
        log_dir=log_dir,
        control_socket=control_socket,
        reopen_signal=reopen_signal,
        http=http,
        path=src.path,
        log_format=log_format,
    )


def _listen(text: str, here: str) -> str:
    """``[pinit] http`` (issue 8); config/listen.py is imported only when the key is set."""
    if not text.strip():
        return ""  # off, as when the key is absent
    from pinit.config import listen

    try:
        return listen.parse(text, here)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def _check_program_set(
    errors: Errors,
    src: Source,
    defined: dict[str, Source],
    programs: list[Program],
    *,
    main: str | None,
    cmd_after: list[str] | None,
    require_programs: bool,
) -> None:
    """What only the whole set of programs shows: references, cycles, count and size.

    An empty config is refused (issue 11.13): pinit would otherwise run forever supervising
    nothing, which is never what the author meant (an empty ``conf.d`` included alone is the
    usual cause). It is said only when nothing else is wrong: after ``[progams.web]`` it
    would be noise."""
    if require_programs and not defined and not errors.items:  # else likely a consequence
        errors.add(src, "programs", NO_PROGRAMS)
    if len(defined) > MAX_PROGRAMS:
        errors.add(src, "programs", f"{len(defined)} programs; at most {MAX_PROGRAMS} allowed")
    processes = sum(p.numprocs for p in programs)
    if processes > MAX_NUMPROCS:
        msg = f"{processes} processes in all (numprocs summed); at most {MAX_NUMPROCS} allowed"
        errors.add(src, "programs", msg)
    if main is not None and main not in defined:
        msg = f"no such program {show(main)}{_did_you_mean(main, defined)}"
        errors.add(src, "pinit.main", msg)
    for prog in programs:
        file = defined[prog.name]
        for i, dep in enumerate(prog.after):
            if dep not in defined:
                errors.add(
                    file,
                    f"programs.{prog.name}.after[{i}]",
                    f"no such program {show(dep)}{_did_you_mean(dep, defined)}",
                )
        for i, dep in enumerate(prog.binds_to):  # issue 9: bound dependencies
            key = f"programs.{prog.name}.binds_to[{i}]"
            if dep == prog.name:
                errors.add(file, key, "a program cannot be bound to itself")
            elif dep not in defined:
                msg = f"no such program {show(dep)}{_did_you_mean(dep, defined)}"
                errors.add(file, key, msg)
    for i, dep in enumerate(cmd_after or ()):
        if dep not in defined:
            errors.add(
                src,
                f"pinit.cmd_after[{i}]",
                f"no such program {show(dep)}{_did_you_mean(dep, defined)}",
            )
    cycle = find_cycle(programs)
    first = None if cycle is None else next(p for p in programs if p.name == cycle[0])
    if cycle is not None and first is not None:
        key = "binds_to" if cycle[1] in first.binds_to and cycle[1] not in first.after else "after"
        if cycle[0] == cycle[1] and key == "binds_to":
            return  # a self-binding, said above
        errors.add(
            defined[cycle[0]],
            f"programs.{cycle[0]}.{key}",
            "dependency cycle: " + " -> ".join(cycle),
        )


def _program_tables(
    errors: Errors, src: Source, doc: dict[str, object] | None
) -> list[tuple[str, object]]:
    """The ``[programs.*]`` tables of one file (``doc`` given for the main, parsed otherwise)."""
    if doc is None:
        doc = _parse_toml(errors, src)
        if doc is None:
            return []
        for key in doc:
            if key != "programs":
                errors.add(src, key, "an included file may only define [programs.*] tables")
    raw = doc.get("programs", {})
    if not isinstance(raw, dict):
        errors.add(src, "programs", "expected a table of programs ([programs.NAME])")
        return []
    return [(str(k), v) for k, v in raw.items()]


def _includes(errors: Errors, src: Source, here: str, patterns: list[str]) -> list[Source]:
    """Read every file the ``include`` globs match, in sorted order, each once.

    A glob matching nothing is fine (an empty ``conf.d`` is normal); a plain path that does not
    exist is a mistake and reported. Only regular files are read, each capped, and all of them
    together capped at MAX_TOTAL_BYTES (issue 11.9: ``/dev/zero`` and FIFOs; see ``read``).
    """
    out: list[Source] = []
    if not patterns:
        return out
    from pinit.config.globs import GlobError, has_magic, matches  # off the start path (7)

    seen = {src.path}
    budget = MAX_TOTAL_BYTES - len(src.text)
    for i, pattern in enumerate(patterns):
        full = os.path.normpath(os.path.join(here, pattern))
        try:
            found = matches(full, MAX_INCLUDE_MATCHES)
        except GlobError as exc:
            errors.add(src, f"pinit.include[{i}]", f"{show(pattern, 300)}: {exc}")
            continue
        if len(found) > MAX_INCLUDE_MATCHES:
            msg = f"matches more than {MAX_INCLUDE_MATCHES} files"
            errors.add(src, f"pinit.include[{i}]", msg)
            continue
        if not found and not has_magic(pattern):
            errors.add(src, f"pinit.include[{i}]", f"no such file {show(full, 300)}")
        for match in found:
            path = os.path.abspath(match)
            if path in seen:
                continue
            seen.add(path)
            try:
                text = read_config(path)
            except ReadError as exc:
                errors.add(src, f"pinit.include[{i}]", f"cannot read {show(path, 300)}: {exc}")
                continue
            budget -= len(text)
            if budget < 0:
                limit = MAX_TOTAL_BYTES >> 10
                msg = f"cannot read {show(path, 300)}: config and includes exceed {limit} KiB"
                errors.add(src, f"pinit.include[{i}]", msg)
                return out
            out.append(Source(path, text))
    return out


def _log_format(value: object) -> str:
    """Issue 8: `[pinit] log_format`."""
    text = want_str(value)
    if text not in ("text", "json"):
        raise FieldError(f'expected "text" or "json", got {show(text)}')
    return text


def _reopen_signal(value: object) -> int:
    """`[pinit] reopen_signal` (issue 10): "" for none, else a signal pinit may take over."""
    if value == "":
        return 0
    sig = unit(units.parse_signal)(value)
    if sig.name in ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGCHLD", "SIGKILL", "SIGSTOP"):
        raise FieldError(f"{sig.name} already means something to pinit; USR1 is the usual one")
    return int(sig)
