"""Typed validation at the TOML reader's boundary, collecting every error with its key path.

The reader hands back ``dict[str, Any]``; everything past this module sees only typed values. A
field parser raises ``FieldError`` (possibly with several located problems) and ``TableReader``
turns that into ``ConfigError`` values, keeps going, and remembers that the table is unusable.
That is what lets ``pinit check`` list every mistake at once, instead of supervisord's
fix-one-rerun-find-the-next loop.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable

from pinit.config.schema import ConfigError
from pinit.config.units import show
from pinit.records import dataclass, field

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    E = TypeVar("E", bound=enum.Enum)


@dataclass(slots=True)
class Source:
    """One TOML file as read: its absolute path and text (the text is needed for line numbers)."""

    path: str
    text: str
    # Key path -> line, lexed on the first error and dropped with the Source: a cache that
    # lives exactly as long as one load (a module-level one kept refused configs, issue 11.6).
    lines: dict[str, int] | None = field(default=None, compare=False)

    def locate(self, key_path: str) -> int | None:
        from pinit.config.locate import key_lines, locate_in  # errors only: `re` stays off

        if self.lines is None:
            self.lines = key_lines(self.text)
        return locate_in(self.lines, key_path)


@dataclass(slots=True)
class Errors:
    items: list[ConfigError] = field(default_factory=list)

    def add(self, src: Source, key_path: str, message: str) -> None:
        self.items.append(ConfigError(key_path, message, src.locate(key_path), src.path))


class FieldError(ValueError):
    """One or more problems inside a value; each is (suffix to the key path, message)."""

    def __init__(self, message: str = "", sub: str = "", items: Iterable[tuple[str, str]] = ()):
        self.items: list[tuple[str, str]] = list(items)
        if message:
            self.items.insert(0, (sub, message))
        super().__init__("; ".join(m for _, m in self.items))


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages like ``expected a string, got integer 5``."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if type(value).__module__ == "datetime":  # date, time or datetime, without importing it
        return "datetime"
    return type(value).__name__


def _got(value: object) -> str:
    return f"got {type_name(value)} {show(value)}"


NUL_MESSAGE = "must not contain a NUL byte (no path, argument, name or variable can hold one)"


def want_str(value: object) -> str:
    """A string that can become a C string: argv, env, paths and names all go through
    execve/open/getpwnam, where a NUL is impossible (issue 11.3: it raised at spawn)."""
    if not isinstance(value, str):
        raise FieldError(f"expected a string, {_got(value)}")
    if "\0" in value:
        raise FieldError(NUL_MESSAGE)
    return value


def want_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise FieldError(f"expected a boolean (true or false), {_got(value)}")
    return value


def want_int(value: object, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"expected an integer, {_got(value)}")
    if low is not None and value < low:
        raise FieldError(f"must be >= {low}, got {show(value)}")
    if high is not None and value > high:
        raise FieldError(f"must be <= {high}, got {show(value)}")
    return value


def want_list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise FieldError(f"expected an array, {_got(value)}")
    return list(value)


def want_table(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise FieldError(f"expected a table, {_got(value)}")
    return {str(k): v for k, v in value.items()}


def want_enum(value: object, kind: type[E]) -> E:
    choices = [str(member.value) for member in kind]
    if isinstance(value, str):
        for member in kind:
            if member.value == value:
                return member
    raise FieldError(f"expected one of {', '.join(repr(c) for c in choices)}, {_got(value)}")


def want_str_list(value: object) -> list[str]:
    problems: list[tuple[str, str]] = []
    out: list[str] = []
    for i, item in enumerate(want_list(value)):
        try:
            out.append(want_str(item))
        except FieldError as exc:
            problems.append((f"[{i}]", str(exc)))
    if problems:
        raise FieldError(items=problems)
    return out


def unit(parser: Callable[[object], T]) -> Callable[[object], T]:
    """Adapt a ``config.units`` parser (plain ValueError) to ``FieldError``."""

    def parse(value: object) -> T:
        try:
            return parser(value)
        except FieldError:
            raise
        except ValueError as exc:
            raise FieldError(str(exc)) from None

    return parse


def unknown_keys(raw: dict[str, object], allowed: Iterable[str]) -> list[tuple[str, str]]:
    """``(".comand", "unknown key (did you mean 'command'?)")`` for each key not allowed.

    Unknown keys are errors, not warnings: a typo such as ``stop_timout`` otherwise silently
    keeps the default, the failure mode horust avoids with ``deny_unknown_fields``.
    """
    known = sorted(allowed)
    out: list[tuple[str, str]] = []
    for key in raw:
        if key in known:
            continue
        import difflib  # only on an error: off PID 1's start path (issue 7, speed)

        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        out.append((f".{key}", f"unknown key{hint}"))
    return out


def sub_field(
    raw: dict[str, object],
    key: str,
    parser: Callable[[object], T],
    default: T,
    problems: list[tuple[str, str]],
) -> T:
    """Parse ``raw[key]`` if present; on failure record ``.key``-prefixed problems, use default."""
    if key not in raw:
        return default
    try:
        return parser(raw[key])
    except FieldError as exc:
        problems.extend((f".{key}{sub}", msg) for sub, msg in exc.items)
        return default


class TableReader:
    """Reads the keys of one table, reporting problems under ``prefix`` and counting them."""

    def __init__(self, errors: Errors, src: Source, prefix: str, raw: dict[str, object]) -> None:
        self.errors = errors
        self.src = src
        self.prefix = prefix
        self.raw = raw
        self.failed = False

    def fail(self, key_path: str, message: str) -> None:
        self.failed = True
        self.errors.add(self.src, key_path, message)

    def report(self, key: str, exc: FieldError) -> None:
        for sub, message in exc.items or [("", str(exc))]:
            self.fail(f"{self.prefix}.{key}{sub}", message)

    def check_keys(self, allowed: Iterable[str]) -> None:
        for sub, message in unknown_keys(self.raw, allowed):
            self.fail(f"{self.prefix}{sub}", message)

    def get(self, key: str, parser: Callable[[object], T], default: T) -> T:
        if key not in self.raw:
            return default
        try:
            return parser(self.raw[key])
        except FieldError as exc:
            self.report(key, exc)
        return default
