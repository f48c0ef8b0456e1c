"""The PATH search of spawn and `pinit check`, in a leaf module: `pinit -- CMD` needs it at
every start and must not load the config stack with it (config.resolve brings the schema,
pwd and grp: ~2.5 ms of the tini-style start, issue 7)."""

from __future__ import annotations

import os

__all__ = ["search_path"]


def search_path(name: str, path_var: str, cwd: str | None = None) -> str | None:
    """The first PATH entry where `name` is an executable file, as execvp(3) searches in the
    child (an empty entry is the current directory): runtime.spawn runs what this finds, and
    `pinit check` reports what it does not. A relative entry is the child's: it is resolved
    against `cwd` (the program's, else pinit's), and the path returned is absolute, so the
    child's chdir cannot make it name another file. Not shutil.which, which PID 1 would keep
    for good with zlib, bz2 and lzma (~240 KiB, issue 7: PSS) for this one loop."""
    base = cwd or os.getcwd()
    for folder in path_var.split(os.pathsep):
        candidate = os.path.join(base, folder or ".", name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return os.path.normpath(candidate)
    return None
