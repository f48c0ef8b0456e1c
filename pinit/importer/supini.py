"""Reading a supervisord config the way supervisord reads it (supervisor/options.py, 4.x).

- The parser: ``RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)``, so ``;``
  and ``#`` start a comment only at a line's start or after whitespace (``a;b`` keeps its
  ``;``), duplicate sections merge, and option names are lower-cased.
- ``[include] files=``: whitespace-separated globs, relative to the including file's directory,
  each glob's matches read in sorted order; ``%(here)s`` in an included file is that file's
  directory (supervisord's ``expand_here`` after each read).
- ``%(name)s`` expansion is Python's ``%`` formatting against ``here``, ``program_name``,
  ``group_name``, ``host_node_name``, ``process_num``, ``numprocs`` and ``ENV_X`` (supervisord's
  own environment, then ``[supervisord] environment``, then the program's ``environment``);
  ``%%`` is a literal ``%``.

Where pinit expands ``${X}`` at its own start (command, cwd, environment values), ``%(ENV_X)s``
becomes ``${X}`` so the value is read where pinit runs, as supervisord read it where it ran;
a literal ``$`` there becomes ``$$``. Everywhere else ``ENV_X`` is expanded now, from the
importer's environment.
"""

from __future__ import annotations

import configparser
import glob
import os
import re
import shlex
import signal
import stat
from collections.abc import Mapping

__all__ = [
    "Expander",
    "Source",
    "boolean",
    "byte_size",
    "key_value_pairs",
    "read",
    "signal_name",
]

TRUTHY = ("yes", "true", "on", "1")
FALSY = ("no", "false", "off", "0")


class Source:
    """The parsed files: sections in file order, and which file each came from."""

    def __init__(self) -> None:
        self.parser = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
        self.section_file: dict[str, str] = {}
        self.files: list[str] = []
        self.warnings: list[str] = []

    def _read(self, path: str) -> None:
        before = set(self.parser.sections())
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            self.parser.read_file(handle, source=path)
        self.files.append(path)
        here = os.path.dirname(os.path.abspath(path))
        for section in self.parser.sections():
            if section in before:
                continue
            self.section_file[section] = path
            for name, value in self.parser.items(section):
                if "%(here)s" in value:
                    self.parser.set(section, name, value.replace("%(here)s", here))

    def get(self, section: str, option: str) -> str | None:
        return self.parser.get(section, option) if self.parser.has_option(section, option) else None


def read(path: str, environ: Mapping[str, str]) -> Source:
    """The main file and its includes; OSError / configparser.Error / ValueError on bad
    input, with the file named."""
    src = Source()
    src._read(path)
    files = src.get("include", "files")
    if files is None:
        return src
    base = os.path.dirname(os.path.abspath(path))
    expansions: dict[str, object] = {"here": base, "host_node_name": os.uname().nodename}
    expansions.update({f"ENV_{k}": v for k, v in environ.items()})
    for pattern in percent(files, expansions, "include.files").split():
        matches = sorted(glob.glob(os.path.join(base, pattern)))
        if not matches:
            src.warnings.append(f'[include] files: no file matches "{pattern}"')
        for match in matches:
            if _regular(match):
                src._read(match)
            else:  # a FIFO or /proc/self/fd/N would block the read: the loader refuses them too
                src.warnings.append(f"[include] files: {match} is not a regular file, skipped")
    return src


def _regular(path: str) -> bool:
    """Whether ``path`` is a regular file (stat follows symlinks and never blocks; open does on
    a FIFO with no writer). Missing ones count as regular so their read says why."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def percent(text: str, expansions: Mapping[str, object], where: str) -> str:
    """supervisord's ``expand``: ``text % expansions``, errors worded as it words them."""
    try:
        return text % expansions
    except KeyError as exc:
        # supervisord lists every name; the ENV_ ones are the importer's whole environment
        names = ", ".join([*sorted(k for k in expansions if not k.startswith("ENV_")), "ENV_*"])
        raise ValueError(
            f"format string {text!r} for {where} names {exc} which cannot be expanded"
            f" (available: {names})"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"format string {text!r} for {where} is badly formatted: {exc}") from None


class _RuntimeEnv(dict[str, object]):
    """``ENV_X`` answers a placeholder made of word characters only (it survives
    supervisord's shlex split of ``environment``), swapped for ``${X}`` at the end."""

    def __init__(self, base: Mapping[str, object], marks: dict[str, str]) -> None:
        super().__init__(base)
        self._marks = marks

    def __missing__(self, name: str) -> object:
        if not name.startswith("ENV_"):
            raise KeyError(name)
        mark = f"PINITENV{len(self._marks)}Z"
        self._marks.setdefault(mark, name[4:])
        return mark

    def __getitem__(self, name: str) -> object:
        if name.startswith("ENV_"):
            return self.__missing__(name)
        return super().__getitem__(name)


class Expander:
    """``%(...)`` expansion for one process of one section."""

    def __init__(self, values: dict[str, object], environ: Mapping[str, str]) -> None:
        self.values = values
        self.env: dict[str, str] = dict(environ)  # ENV_X for keys pinit does not expand

    def static(self, text: str, where: str) -> str:
        expansions = dict(self.values)
        expansions.update({f"ENV_{k}": v for k, v in self.env.items()})
        return percent(text, expansions, where)

    def runtime(self, text: str, where: str) -> tuple[str, list[str]]:
        """Expanded for a key where pinit expands ``${X}``: the text with ``$`` escaped and
        ``%(ENV_X)s`` as ``${X}``, and the names so deferred."""
        marks: dict[str, str] = {}
        out = percent(text, _RuntimeEnv(self.values, marks), where)
        return finish(out, marks), sorted(set(marks.values()))

    def runtime_pairs(self, text: str, where: str) -> tuple[dict[str, str], list[str]]:
        marks: dict[str, str] = {}
        out = percent(text, _RuntimeEnv(self.values, marks), where)
        pairs = key_value_pairs(out)
        return {k: finish(v, marks) for k, v in pairs.items()}, sorted(set(marks.values()))


def finish(text: str, marks: Mapping[str, str]) -> str:
    text = text.replace("$", "$$")
    for mark, name in marks.items():
        text = text.replace(mark, "${" + name + "}")
    return text


def key_value_pairs(text: str) -> dict[str, str]:
    """supervisord's ``dict_of_key_value_pairs``: ``A=1,B="x,y"`` by shlex, quotes stripped."""
    lexer = shlex.shlex(text)
    lexer.wordchars += "/.+-():"
    tokens = list(lexer)
    pairs: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        k_eq_v = tokens[i : i + 3]
        if len(k_eq_v) != 3 or k_eq_v[1] != "=":
            raise ValueError(f"unexpected end of key/value pairs in {text!r}")
        pairs[k_eq_v[0]] = k_eq_v[2].strip("'\"")
        i += 4
    return pairs


def boolean(text: str) -> bool:
    low = text.strip().lower()
    if low in TRUTHY:
        return True
    if low in FALSY:
        return False
    raise ValueError(f"not a valid boolean value: {text!r}")


_SIZE = re.compile(r"^(\d+)(kb|mb|gb)?$")


def byte_size(text: str) -> int:
    """supervisord's sizes: KB, MB, GB are powers of 1024 (pinit's `MB` is 10^6: the
    importer writes bytes, so nothing is lost in translation)."""
    match = _SIZE.match(text.strip().lower())
    if match is None:
        raise ValueError(f"not a valid size: {text!r}")
    unit = {"kb": 1024, "mb": 1024**2, "gb": 1024**3}.get(match.group(2) or "", 1)
    return int(match.group(1)) * unit


def signal_name(text: str) -> str | int:
    """A signal as pinit spells it (``"TERM"``), or its number when it has no name here."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    name = raw.upper()
    name = name if name.startswith("SIG") else "SIG" + name
    if not isinstance(getattr(signal, name, None), int):
        raise ValueError(f"value {text!r} is not a valid signal name")
    return name[3:]
