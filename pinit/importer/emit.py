"""The importer's output: a tiny TOML writer and the record of every decision.

Issue 10, `pinit import`: the translation is a list of programs, each a list of keys with
an optional comment, plus comments that belong to no key (sections and keys with no pinit
meaning). Writing TOML by hand is a few lines for the value types pinit's keys use (strings,
integers, booleans, arrays, inline tables); what matters is quoting: a supervisord value may
hold quotes, backslashes, tabs or a stray control character, and every one must come out as a
TOML escape, never raw (a raw newline in a basic string is a TOML syntax error; tomllib reads
the output back in the tests).
"""

from __future__ import annotations

import re

__all__ = ["Decision", "Doc", "Prog", "comment_text", "key", "toml_value"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}

Value = str | int | bool | list["Value"] | dict[str, "Value"]


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character escaped
    (TOML forbids raw U+0000-U+001F and U+007F in basic strings)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def key(name: str) -> str:
    """A key as TOML wants it: bare when it can be, else quoted (`"web.1"` would otherwise
    be a dotted key, two tables)."""
    return name if _BARE.match(name) else toml_string(name)


def toml_value(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def comment_text(text: str) -> str:
    """One comment line's text: a newline or control character in a source value must not
    end the comment and start TOML of its own."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class Decision:
    """One line of `--explain`: where in the source, and what became of it."""

    __slots__ = ("source", "text")

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text

    def __str__(self) -> str:
        return comment_text(f"{self.source}: {self.text}")


class Prog:
    """One `[programs.NAME]` table: keys in the order written, each with its comment."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source  # "[program:web] in /etc/supervisor/conf.d/web.conf"
        self.notes: list[str] = []  # comments above the table
        self.keys: dict[str, tuple[Value, str]] = {}

    def set(self, name: str, value: Value, why: str = "") -> None:
        self.keys[name] = (value, why)

    def note(self, text: str) -> None:
        self.notes.append(text)


class Doc:
    def __init__(self, source: str, kind: str) -> None:
        self.source = source
        self.kind = kind
        self.header: list[str] = []  # comments at the top: settings of pinit, dropped sections
        self.pinit: dict[str, tuple[Value, str]] = {}
        self.programs: list[Prog] = []
        self.decisions: list[Decision] = []

    def decide(self, source: str, text: str) -> None:
        self.decisions.append(Decision(source, text))

    def render(self) -> str:
        lines = [f"# Imported by `pinit import` from {self.kind} {self.source}."]
        lines.append("# Check it with `pinit check --config FILE --explain`.")
        lines += [f"# {comment_text(c)}" if c else "#" for c in self.header]
        if self.pinit:
            lines += ["", "[pinit]"]
            lines += _keys(self.pinit)
        for prog in self.programs:
            lines.append("")
            lines += [f"# {comment_text(n)}" for n in prog.notes]
            lines.append(f"[programs.{key(prog.name)}]")
            lines += _keys(prog.keys)
        return "\n".join(lines) + "\n"


def _keys(keys: dict[str, tuple[Value, str]]) -> list[str]:
    out = []
    for name, (value, why) in keys.items():
        line = f"{key(name)} = {toml_value(value)}"
        out.append(f"{line}  # {comment_text(why)}" if why else line)
    return out
