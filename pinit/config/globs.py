"""Expand one ``include`` pattern with a bounded amount of filesystem work.

PID 1 expands includes on start and on every HUP, on its loop. ``glob.iglob`` walks every
directory a wildcard in a *directory* component names, and capping the matches bounds none of
that: ``include = ["/*/*/*/*/*/nomatch"]`` read the whole filesystem at each reload and matched
nothing (review of issue 11.9). Includes are a ``conf.d`` (``conf.d/*.toml``, supervisord's
``[include] files``), so a wildcard is allowed in the file name only: one directory is read,
and at most MAX_DIR_ENTRIES of its entries. Otherwise glob's rules: ``*``, ``?`` and ``[...]``
as fnmatch; a name starting with ``.`` is matched only by a pattern starting with ``.``; a
pattern without wildcards is the path itself, if anything is there.
"""

from __future__ import annotations

import fnmatch
import os

__all__ = ["MAX_DIR_ENTRIES", "GlobError", "has_magic", "matches"]

# Reading 10,000 entries costs a few milliseconds; a conf.d holds tens.
MAX_DIR_ENTRIES = 10_000


class GlobError(Exception):
    """Why a pattern is refused, ready to follow the include's key path."""


def has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def matches(pattern: str, limit: int) -> list[str]:
    """Up to `limit` + 1 paths `pattern` (absolute, normalised) matches, sorted."""
    directory, name = os.path.split(pattern)
    if has_magic(directory):
        raise GlobError("wildcards are allowed in the file name only (like conf.d/*.toml)")
    if not has_magic(name):
        return [pattern] if os.path.lexists(pattern) else []
    found: list[str] = []
    hidden = name.startswith(".")
    try:
        with os.scandir(directory or ".") as entries:
            for seen, entry in enumerate(entries):
                if seen >= MAX_DIR_ENTRIES:
                    raise GlobError(f"its directory has more than {MAX_DIR_ENTRIES} entries")
                if entry.name.startswith(".") and not hidden:
                    continue
                if fnmatch.fnmatchcase(entry.name, name):
                    found.append(os.path.join(directory, entry.name))
                    if len(found) > limit:
                        break
    except OSError:
        return []  # no such directory, or not readable: matches nothing, as with glob
    return sorted(found)
