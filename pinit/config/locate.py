"""Find the TOML line a key path was written on.

tomllib returns plain dicts and forgets positions, yet an error without a line number makes the
reader hunt through a long file. This is a small lexer over the text that knows just enough TOML
(strings of all four kinds, comments, arrays, inline tables, ``[table]`` and ``[[array]]``
headers, dotted and quoted keys) to map each key path to the 1-based line where it appears. It
never raises: on text it cannot follow it simply knows fewer keys, and ``locate`` falls back to
the nearest enclosing table that it does know.
"""

from __future__ import annotations

import functools
import re

__all__ = ["key_lines", "locate"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_INDEX = re.compile(r"\[\d+\]")


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.found: dict[str, int] = {}

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
        return content

    def key(self) -> list[str] | None:
        """A dotted key, or None when the text here is not a key."""
        parts: list[str] = []
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
                return parts
            self.advance()

    def record(self, path: list[str], line: int) -> None:
        """Remember the path and its implicit parents (``[a.b]`` also defines table ``a``)."""
        for end in range(1, len(path) + 1):
            self.found.setdefault(".".join(path[:end]), line)

    def value(self, prefix: list[str]) -> None:
        """Consume one value; inline tables record their keys under ``prefix``."""
        self.skip_space(newlines=False)
        ch = self.peek()
        if ch in ('"', "'"):
            self.string()
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
                self.value(prefix)
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
                self.assignment(prefix)
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
        self.record(table + key, line)
        self.value(table + key)

    def run(self) -> dict[str, int]:
        table: list[str] = []
        while self.pos < len(self.text):
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
        return self.found


@functools.lru_cache(maxsize=16)
def key_lines(text: str) -> dict[str, int]:
    """Every dotted key path in ``text`` mapped to the line of its first appearance."""
    try:
        return _Lexer(text).run()
    except (IndexError, ValueError):  # pragma: no cover - the lexer is meant never to fail
        return {}


def locate(text: str, key_path: str) -> int | None:
    """The 1-based line of ``key_path`` (``programs.web.command[2]``) or of its nearest parent.

    Array indices are dropped (the line of the array's key is close enough), and when the key is
    not in the text at all (a missing required key, a default that failed) the enclosing table's
    header is the best place to send the reader.
    """
    lines = key_lines(text)
    parts = _INDEX.sub("", key_path).split(".")
    while parts:
        line = lines.get(".".join(parts))
        if line is not None:
            return line
        parts.pop()
    return None
