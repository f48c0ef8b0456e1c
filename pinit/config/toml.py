"""A TOML 1.0.0 reader for PID 1's start path: ``loads(text)`` as ``tomllib.loads`` does it.

Why not tomllib (issue 7, speed): ``pinit --config`` must run its first program within 50 ms,
and importing tomllib cost ~8 ms, mostly for what it imports (``typing``, ``re``, ``string``,
``datetime``) and ~450 KB of heap. This module and ``tomlscalar`` import nothing at the top.

It accepts what tomllib accepts and returns equal values (tests/unit/test_toml*.py compare
both), with three deliberate differences, all refusals instead of worse outcomes:
- arrays and inline tables nested more than ``MAX_DEPTH`` deep are a ``TOMLDecodeError``
  (tomllib recurses until ``RecursionError``);
- a decimal integer past CPython's int_max_str_digits (4,300 digits) is a ``TOMLDecodeError``
  (tomllib lets int()'s plain ValueError through);
- the cost is linear in the input: table rules are kept as marks on the tables themselves
  (sets of ``id``), not on key paths, so a key of n dotted parts costs n, not n² (issue 11.6).

The rules kept: a table is *explicit* once a ``[header]`` names it, or once a later section
starts after dotted keys made it; an explicit table can be neither declared again nor
extended with dotted keys. Values written inline (``{...}`` and ``[...]``) are *frozen*:
nothing may add to them. An array of tables (``[[name]]``) may only be appended to.
"""

from __future__ import annotations

from pinit.config.tomlscalar import (
    TOMLDecodeError,
    basic_string,
    check_text,
    literal_string,
    multiline_string,
    scalar,
)

__all__ = ["MAX_DEPTH", "TOMLDecodeError", "loads", "nested_deeper_than"]

# Deeper nesting of arrays and inline tables is refused: each level costs two Python frames,
# and a config never needs more than a few.
MAX_DEPTH = 100
_BARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_KEY_START = frozenset(_BARE + "\"'")
_WINDOW = 32


def loads(text: str) -> dict[str, object]:
    """The document in ``text`` as dicts, lists, str, int, float, bool and datetime values."""
    return _Document(text.replace("\r\n", "\n")).parse()


def nested_deeper_than(doc: dict[str, object], limit: int) -> bool:
    """Tables (in arrays of tables too) nested more than `limit` deep; stops at the first."""
    stack: list[tuple[object, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth) for v in value if isinstance(v, dict | list))
    return False


def _show(key: str) -> str:
    """A key for an error message: a key can be as long as the file, a message should not."""
    return repr(key) if len(key) <= 40 else repr(key[:40]) + "..."


def _skip_blanks(src: str, pos: int) -> int:
    char = src[pos : pos + 1]
    while char == " " or char == "\t":  # noqa: PLR1714 - two compares beat a set here
        pos += 1
        char = src[pos : pos + 1]
    return pos


def _skip_comment(src: str, pos: int) -> int:
    """Past the comment at ``src[pos] == '#'``, up to its newline."""
    end = src.find("\n", pos)
    if end < 0:
        end = len(src)
    check_text(src, pos + 1, end)
    return end


def _skip_space(src: str, pos: int) -> int:
    """Past blanks, newlines and comments (between an array's values)."""
    while True:
        while src.startswith((" ", "\t", "\n"), pos):
            pos += 1
        if not src.startswith("#", pos):
            return pos
        pos = _skip_comment(src, pos)


def _key(src: str, pos: int) -> tuple[int, list[str]]:
    """A bare, quoted or dotted key at ``pos`` (blanks around its dots allowed): where it and
    the blanks after it end, and its parts."""
    parts = []
    while True:
        char = src[pos : pos + 1]
        if char == '"':
            pos, part = basic_string(src, pos + 1)
        elif char == "'":
            pos, part = literal_string(src, pos + 1)
        else:
            start = pos
            while True:  # lstrip scans at C speed; the window keeps a long key linear
                window = src[pos : pos + _WINDOW]
                rest = window.lstrip(_BARE)
                pos += len(window) - len(rest)
                if rest or len(window) < _WINDOW:
                    break
            if pos == start:
                raise TOMLDecodeError("invalid character in a key", src, pos)
            parts.append(src[start:pos])
            if rest[:1] == "=" or rest[:2] == " =":  # the usual `key = value`: done
                return pos + (rest[0] == " "), parts
            pos = _skip_blanks(src, pos)
            if not src.startswith(".", pos):
                return pos, parts
            pos = _skip_blanks(src, pos + 1)
            continue
        parts.append(part)
        pos = _skip_blanks(src, pos)
        if not src.startswith(".", pos):
            return pos, parts
        pos = _skip_blanks(src, pos + 1)


def _value(src: str, pos: int, depth: int) -> tuple[int, object]:
    char = src[pos : pos + 1]
    if char == '"':
        if src.startswith('"""', pos):
            return multiline_string(src, pos, '"')
        return basic_string(src, pos + 1)
    if char == "'":
        if src.startswith("'''", pos):
            return multiline_string(src, pos, "'")
        return literal_string(src, pos + 1)
    if char == "[":
        return _array(src, pos, depth + 1)
    if char == "{":
        return _inline_table(src, pos, depth + 1)
    return scalar(src, pos)


def _array(src: str, pos: int, depth: int) -> tuple[int, list[object]]:
    if depth > MAX_DEPTH:
        raise TOMLDecodeError(f"nested too deeply (more than {MAX_DEPTH} levels)", src, pos)
    items: list[object] = []
    pos = _skip_space(src, pos + 1)
    while not src.startswith("]", pos):
        pos, item = _value(src, pos, depth)
        items.append(item)
        pos = _skip_space(src, pos)
        if src.startswith(",", pos):
            pos = _skip_space(src, pos + 1)
        elif not src.startswith("]", pos):
            raise TOMLDecodeError("expected ',' or ']' after an array's value", src, pos)
    return pos + 1, items


def _set_once(
    node: dict[str, object], key: str, value: object, frozen: set[int], *, src: str, start: int
) -> None:
    """``node[key] = value``, once; a table or array written in place is frozen (its ``id``
    joins ``frozen``): nothing may add to it afterwards."""
    if key in node:
        raise TOMLDecodeError(f"key {_show(key)} defined twice", src, start)
    node[key] = value
    if type(value) is dict or type(value) is list:
        frozen.add(id(value))


def _inline_table(src: str, pos: int, depth: int) -> tuple[int, dict[str, object]]:
    """``{k = v, ...}`` on one line, no trailing comma; a dotted key may extend a table made by
    an earlier dotted key of the same braces, never a value written inline."""
    if depth > MAX_DEPTH:
        raise TOMLDecodeError(f"nested too deeply (more than {MAX_DEPTH} levels)", src, pos)
    table: dict[str, object] = {}
    inline: set[int] = set()
    pos = _skip_blanks(src, pos + 1)
    if src.startswith("}", pos):
        return pos + 1, table
    while True:
        start = pos
        pos, keys = _key(src, pos)
        if not src.startswith("=", pos):
            raise TOMLDecodeError("expected '=' after a key", src, pos)
        pos, value = _value(src, _skip_blanks(src, pos + 1), depth)
        node = table
        for index in range(len(keys) - 1):
            child = node.setdefault(keys[index], {})
            if type(child) is not dict or id(child) in inline:
                raise TOMLDecodeError("cannot add to a value already defined", src, start)
            node = child
        _set_once(node, keys[-1], value, inline, src=src, start=start)
        pos = _skip_blanks(src, pos)
        if src.startswith("}", pos):
            return pos + 1, table
        if not src.startswith(",", pos):
            raise TOMLDecodeError("expected ',' or '}' after an inline table's value", src, pos)
        pos = _skip_blanks(src, pos + 1)


class _Document:
    """One parse: the tables' marks live here, keyed by ``id`` of the dicts and lists, which
    the result keeps alive until the parse ends."""

    __slots__ = ("explicit", "frozen", "pending", "root", "src", "table")

    def __init__(self, src: str) -> None:
        self.src = src
        self.root: dict[str, object] = {}
        self.table = self.root  # where key/value lines go: the last [header]'s table
        self.explicit: set[int] = set()  # tables named by a header or closed dotted-key tables
        self.frozen: set[int] = set()  # values written inline
        self.pending: list[dict[str, object]] = []  # made by dotted keys in this section

    def parse(self) -> dict[str, object]:
        src = self.src
        size = len(src)
        pos = 0
        while pos < size:
            char = src[pos]
            if char in {" ", "\t"}:
                pos = _skip_blanks(src, pos)
                if pos == size:
                    break
                char = src[pos]
            if char == "\n":
                pos += 1
                continue
            if char in _KEY_START:
                pos = self._key_value(pos)
            elif char == "[":
                pos = self._header(pos)
            elif char != "#":
                raise TOMLDecodeError("invalid statement", src, pos)
            if src.startswith("\n", pos):  # the usual end of a statement
                pos += 1
                continue
            pos = _skip_blanks(src, pos)
            if src.startswith("#", pos):
                pos = _skip_comment(src, pos)
            if pos < size:
                if src[pos] != "\n":
                    raise TOMLDecodeError("unexpected text after a statement", src, pos)
                pos += 1
        return self.root

    def _key_value(self, pos: int) -> int:
        src = self.src
        start = pos
        pos, keys = _key(src, pos)
        if not src.startswith("=", pos):
            raise TOMLDecodeError("expected '=' after a key", src, pos)
        pos, value = _value(src, _skip_blanks(src, pos + 1), 0)
        node = self.table
        explicit, frozen, pending = self.explicit, self.frozen, self.pending
        for index in range(len(keys) - 1):
            child = node.setdefault(keys[index], {})
            if type(child) is not dict or id(child) in explicit or id(child) in frozen:
                raise TOMLDecodeError(
                    f"cannot add to {_show(keys[index])} with a dotted key: it is already defined",
                    src,
                    start,
                )
            pending.append(child)
            node = child
        _set_once(node, keys[-1], value, frozen, src=src, start=start)
        return pos

    def _header(self, pos: int) -> int:
        """``[table]`` or ``[[array of tables]]``: the tables after it get their keys."""
        src = self.src
        if self.pending:  # the dotted-key tables of the section just ended are closed now
            self.explicit.update(map(id, self.pending))
            self.pending.clear()
        array = src.startswith("[[", pos)
        start = pos
        pos, keys = _key(src, _skip_blanks(src, pos + (2 if array else 1)))
        closing = "]]" if array else "]"
        if not src.startswith(closing, pos):
            raise TOMLDecodeError(f"expected {closing!r} to end the header", src, pos)
        node = self._walk(keys, start)
        last = keys[-1]
        child = node.get(last)
        if array:
            if child is None:
                table: dict[str, object] = {}
                node[last] = [table]
            elif type(child) is list and id(child) not in self.frozen:
                table = {}
                child.append(table)
            else:
                raise TOMLDecodeError(
                    f"{_show(last)} is already defined, not as an array of tables", src, start
                )
        elif child is None:
            table = node[last] = {}
            self.explicit.add(id(table))
        elif (
            type(child) is dict and id(child) not in self.explicit and id(child) not in self.frozen
        ):
            table = child
            self.explicit.add(id(table))
        else:
            raise TOMLDecodeError(f"table {_show(last)} is already defined", src, start)
        self.table = table
        return pos + len(closing)

    def _walk(self, keys: list[str], start: int) -> dict[str, object]:
        """The table holding a header's last key, made on the way: a header may pass through
        tables, implicit or not, and into an array of tables' last table, never into a value
        written inline."""
        node = self.root
        frozen = self.frozen
        for index in range(len(keys) - 1):
            child = node.setdefault(keys[index], {})
            if type(child) is list and child and id(child) not in frozen:
                child = child[-1]
            if type(child) is not dict or id(child) in frozen:
                raise TOMLDecodeError(
                    f"cannot define a table under {_show(keys[index])}: it is a value",
                    self.src,
                    start,
                )
            node = child
        return node
