"""Find the TOML line a key path was written on.

The TOML reader (config/toml.py) returns plain dicts and forgets positions, yet an error
without a line number makes the user hunt through a long file. This is a small lexer over the
text that knows just enough TOML (strings of all four kinds, comments, arrays, inline tables,
``[table]`` and ``[[array]]`` headers, dotted and quoted keys) to map each key path to the
1-based line where it appears. It never raises: on text it cannot follow it simply knows fewer
keys, and ``locate`` falls back to the nearest enclosing table that it does know.

It also names a key of too many dotted parts (issue 11.6: no pinit key has more than 4, so
``overlong_key`` refuses keys of more than ``MAX_KEY_PARTS``). tomllib's cost per key grew
with the square of its parts (a 20,000-part key took 6 s) and this ran before it, on every
load; pinit's own reader is linear, so the loader asks only when the document it read is
nested that deep. A C-speed regex finds candidates, the lexer confirms (a long dotted word
inside a string is not a key). The lexer itself is linear: it records only the first
``MAX_KEY_PARTS`` prefixes of a key, and nothing is cached between calls, so a refused config
leaves nothing behind. Imported at a config's first error only (``re`` with it).
"""

from __future__ import annotations

import re

from pinit.config.read import MAX_KEY_PARTS

__all__ = ["MAX_KEY_PARTS", "key_lines", "locate", "locate_in", "overlong_key"]

_MAX_NESTING = 64  # arrays/inline tables deeper than this are skipped, not recursed into
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[\d+\]")
_PART = r"""(?:[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|'[^'\n]*+')"""
# A run of more than MAX_KEY_PARTS dotted parts; possessive and atomic so that it stays linear.
_LONG_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-])(?>{_PART}(?:[ \t]*+\.[ \t]*+{_PART}){{{MAX_KEY_PARTS}}})"
)


_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "e": "\x1b"}


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1) or match.group(2)
    if code is not None:
        number = int(code, 16)
        return chr(number) if number < 0x110000 else ""
    char = match.group(3)
    return _SIMPLE.get(char, char)


def _unescape(content: str) -> str:
    """A basic string's escapes, so that ``"a\\nb" = 1`` is found under the key the reader
    reports (``a``, newline, ``b``)."""
    return _ESCAPE.sub(_unescape_one, content)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.found: dict[str, int] = {}
        self.overlong: tuple[int, list[str], int] | None = None  # line, first parts, count
        self.depth = 0

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + n)
        self.pos += n

    def skip_space(self, newlines: bool) -> None:
        """Whitespace and comments; newlines only where TOML allows them (arrays)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.advance((len(self.text) if end < 0 else end + 1) - self.pos)

    def string(self) -> str:
        """Consume a string starting at pos and return its (roughly unescaped) content."""
        for quote in ('"""', "'''"):
            if self.peek(3) == quote:
                self.advance(3)
                end = self.text.find(quote, self.pos)
                end = len(self.text) if end < 0 else end
                while self.text.startswith(quote[0], end + 3):  # up to two quotes may close it
                    end += 1
                content = self.text[self.pos : end]
                self.advance(end + 3 - self.pos if end < len(self.text) else end - self.pos)
                return content
        quote = self.peek()
        self.advance()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in (quote, "\n"):
            if quote == '"' and self.text[self.pos] == "\\":
                self.advance()
            self.advance()
        content = self.text[start : self.pos]
        if self.peek() == quote:
            self.advance()
        return _unescape(content) if quote == '"' and "\\" in content else content

    def key(self) -> list[str] | None:
        """A dotted key, or None when the text here is not a key."""
        parts: list[str] = []
        line = self.line
        while True:
            self.skip_space(newlines=False)
            ch = self.peek()
            if ch in ('"', "'"):
                parts.append(self.string())
            else:
                match = _BARE.match(self.text, self.pos)
                if match is None:
                    return None
                parts.append(match.group())
                self.advance(match.end() - self.pos)
            self.skip_space(newlines=False)
            if self.peek() != ".":
                if len(parts) > MAX_KEY_PARTS and self.overlong is None:
                    self.overlong = (line, parts[:4], len(parts))
                return parts
            self.advance()

    def record(self, path: list[str], line: int, known: int = 0) -> None:
        """Remember the path and its implicit parents (``[a.b]`` also defines table ``a``);
        the first ``known`` parts are a table already recorded (each key under a header must
        not pay for the header's length again)."""
        for end in range(known + 1, min(len(path), MAX_KEY_PARTS) + 1):
            self.found.setdefault(".".join(path[:end]), line)

    def value(self, prefix: list[str]) -> None:
        """Consume one value; inline tables record their keys under ``prefix``."""
        self.skip_space(newlines=False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.string()
        elif ch in "[{" and self.depth >= _MAX_NESTING:
            self.skip_line()  # not located this deep (the reader refuses past toml.MAX_DEPTH)
        elif ch == "[":
            self.advance()
            while self.pos < len(self.text):
                self.skip_space(newlines=True)
                if self.peek() in ("]", ""):
                    self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                before = self.pos
                self.depth += 1
                self.value(prefix)
                self.depth -= 1
                if self.pos == before:
                    self.advance()
        elif ch == "{":
            self.advance()
            while self.pos < len(self.text):
                self.skip_space(newlines=False)
                if self.peek() in ("}", "\n", ""):
                    if self.peek() == "}":
                        self.advance()
                    return
                if self.peek() == ",":
                    self.advance()
                    continue
                self.depth += 1
                self.assignment(prefix)
                self.depth -= 1
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.advance()

    def assignment(self, table: list[str]) -> None:
        line = self.line
        key = self.key()
        if key is None or self.peek() != "=":
            self.skip_line()
            return
        self.advance()
        self.record(table + key, line, len(table))
        self.value(table + key)

    def run(self, until_overlong: bool = False) -> _Lexer:
        table: list[str] = []
        while self.pos < len(self.text) and not (until_overlong and self.overlong):
            self.skip_space(newlines=True)
            if self.pos >= len(self.text):
                break
            if self.peek() == "[":
                line = self.line
                double = self.peek(2) == "[["
                self.advance(2 if double else 1)
                header = self.key()
                if header is None:
                    self.skip_line()
                    continue
                table = header
                self.record(table, line)
                self.skip_line()
            else:
                self.assignment(table)
        return self


def _lex(text: str, until_overlong: bool = False) -> _Lexer:
    lexer = _Lexer(text)
    try:
        return lexer.run(until_overlong)
    except (IndexError, ValueError, RecursionError):  # pragma: no cover - meant never to fail
        return lexer


def key_lines(text: str) -> dict[str, int]:
    """Every dotted key path in ``text`` mapped to the line of its first appearance."""
    return _lex(text).found


def overlong_key(text: str) -> tuple[int, str] | None:
    """(line, message) for the first key of more than MAX_KEY_PARTS parts, else None."""
    if text.count(".") < MAX_KEY_PARTS or _LONG_KEY.search(text) is None:
        return None
    found = _lex(text, until_overlong=True).overlong
    if found is None:
        return None
    line, first, count = found
    shown = ".".join(first)
    return line, (
        f"key {shown}... has {count} dotted parts; at most {MAX_KEY_PARTS} are allowed"
        " (no pinit key has more than 4)"
    )


def locate(text: str, key_path: str) -> int | None:
    """``locate_in(key_lines(text), key_path)``: lexes ``text`` on every call."""
    return locate_in(key_lines(text), key_path)


def locate_in(lines: dict[str, int], key_path: str) -> int | None:
    """The 1-based line of ``key_path`` (``programs.web.command[2]``) or of its nearest parent.

    Array indices are dropped (the line of the array's key is close enough), and when the key is
    not in the text at all (a missing required key, a default that failed) the enclosing table's
    header is the best place to send the reader.
    """
    parts = _INDEX.sub("", key_path).split(".")[:MAX_KEY_PARTS]
    while parts:
        line = lines.get(".".join(parts))
        if line is not None:
            return line
        parts.pop()
    return None
