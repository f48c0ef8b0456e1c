"""TOML text -> ``schema.Config``, or every error found, each with key path, file and line.

The contract is total: ``load_text`` returns ``(Config, [])`` or ``(None, [errors...])`` and never
raises, whatever bytes it is given. PID 1 reads this file on start and on every HUP; a config
mistake must be a message, not a traceback that takes the container down.

``include`` globs pull in ``[programs.*]`` tables from other files (a ``conf.d`` directory, as
supervisord's ``[include] files=`` does), but only programs: one file owns the ``[pinit]``
settings, so it is never ambiguous which ``main`` or ``stop_timeout`` wins.
"""

from __future__ import annotations

import difflib
import glob
import os.path
import re
import tomllib
from collections.abc import Iterable, Mapping

from pinit.config import reference, units
from pinit.config.fields import (
    Errors,
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
from pinit.config.loadprog import ProgramContext, parse_program
from pinit.config.schema import Config, ConfigError, OnFatal, Program

__all__ = ["load_file", "load_text"]

TOP_KEYS = reference.keys("")
PINIT_KEYS = reference.keys("pinit")
NAME = re.compile(r"[A-Za-z0-9_.-]+")
_TOML_POS = re.compile(r"\s*\(at line (\d+), column \d+\)|\s*\(at end of document\)")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def load_file(path: str, environ: Mapping[str, str]) -> tuple[Config | None, list[ConfigError]]:
    """Read and load ``path``; an unreadable file is one error, not an exception."""
    full = os.path.abspath(path)
    try:
        text = _read(full)
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ConfigError("", f"cannot read config: {_reason(exc)}", None, full)]
    return load_text(text, path, environ)


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"not UTF-8 ({exc.reason} at byte {exc.start})"


def _parse_toml(errors: Errors, src: Source) -> dict[str, object] | None:
    try:
        return dict(tomllib.loads(src.text))
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POS.search(message)
        line = int(match.group(1)) if match and match.group(1) else None
        if line is None and "end of document" in message:
            line = src.text.count("\n") + 1
        text = _TOML_POS.sub("", message)
        errors.items.append(ConfigError("", f"TOML syntax error: {text}", line, src.path))
        return None


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_text(
    text: str, path: str, environ: Mapping[str, str]
) -> tuple[Config | None, list[ConfigError]]:
    """Load a config from ``text``; ``path`` names it in errors and anchors relative paths."""
    errors = Errors()
    try:
        config = _load(errors, Source(os.path.abspath(path) if path else "", text), environ)
    except RecursionError:  # pragma: no cover - absurdly nested TOML arrays
        errors.items.append(ConfigError("", "config nested too deeply", None, path))
        config = None
    return (config, []) if config is not None and not errors.items else (None, errors.items)


def _load(errors: Errors, src: Source, environ: Mapping[str, str]) -> Config | None:
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
        if not NAME.fullmatch(text):
            raise ValueError(f"invalid name {text!r} (letters, digits, '_', '.', '-')")
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
    cmd_after = r.get("cmd_after", want_str_list, None)
    log_dir = r.get("log_dir", abs_path, defaults.log_dir)
    control_socket = r.get("control_socket", abs_path, defaults.control_socket)
    no_include: list[str] = []
    include = r.get("include", want_str_list, no_include)

    ctx = ProgramContext(environ=environ, log_dir=log_dir, stop_timeout=stop_timeout)
    defined: dict[str, Source] = {}
    programs: list[Program] = []
    sources = [src, *_includes(errors, src, here, include)]
    for file in sources:
        for prog_name, raw in _program_tables(errors, file, doc if file is src else None):
            if prog_name in defined:
                errors.add(
                    file,
                    f"programs.{prog_name}",
                    f"defined twice: in {defined[prog_name].path} and {file.path}",
                )
                continue
            defined[prog_name] = file
            if not NAME.fullmatch(prog_name):
                errors.add(
                    file,
                    f"programs.{prog_name}",
                    "invalid program name (use letters, digits, '_', '.', '-')",
                )
                continue
            prog = parse_program(errors, file, prog_name, raw, ctx)
            if prog is not None:
                programs.append(prog)

    if main is not None and main not in defined:
        errors.add(src, "pinit.main", f"no such program {main!r}{_did_you_mean(main, defined)}")
    for prog in programs:
        file = defined[prog.name]
        for i, dep in enumerate(prog.after):
            if dep not in defined:
                errors.add(
                    file,
                    f"programs.{prog.name}.after[{i}]",
                    f"no such program {dep!r}{_did_you_mean(dep, defined)}",
                )
    for i, dep in enumerate(cmd_after or ()):
        if dep not in defined:
            errors.add(
                src,
                f"pinit.cmd_after[{i}]",
                f"no such program {dep!r}{_did_you_mean(dep, defined)}",
            )
    cycle = find_cycle(programs)
    if cycle is not None:
        errors.add(
            defined[cycle[0]],
            f"programs.{cycle[0]}.after",
            "dependency cycle: " + " -> ".join(cycle),
        )
    if errors.items:
        return None
    return Config(
        programs=tuple(programs),
        name=name,
        main=main,
        on_fatal=on_fatal,
        stop_timeout=stop_timeout,
        stop_budget=stop_budget,
        cmd_after=None if cmd_after is None else tuple(cmd_after),
        log_dir=log_dir,
        control_socket=control_socket,
        path=src.path,
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
    exist is a mistake and reported.
    """
    out: list[Source] = []
    seen = {src.path}
    for i, pattern in enumerate(patterns):
        full = os.path.normpath(os.path.join(here, pattern))
        matches = sorted(glob.glob(full))
        if not matches and not any(c in pattern for c in "*?["):
            errors.add(src, f"pinit.include[{i}]", f"no such file {full!r}")
        for match in matches:
            path = os.path.abspath(match)
            if path in seen:
                continue
            seen.add(path)
            try:
                out.append(Source(path, _read(path)))
            except (OSError, UnicodeDecodeError) as exc:
                errors.add(src, f"pinit.include[{i}]", f"cannot read {path!r}: {_reason(exc)}")
    return out
