"""``${VAR}`` expansion for command items, cwd and environment values.

Only the braced form and ``$$`` are special. A bare ``$HOME`` stays as written: commands are
exec'd without a shell, and ``sh -c 'echo $HOME'`` must reach the shell untouched so the shell can
expand it at run time. Undefined variables are errors, never empty strings (docker-compose's
silent empty default has broken many a ``--bind ${HOST}:8000``).

Environment values may refer to entries defined earlier in the same table, which supervisord
cannot do (supervisor #1170: ``environment=A=1,B=%(ENV_A)s`` fails because ``environment`` is not
part of the expansion namespace). Lookups go to the program's own already-expanded entries first,
then to pinit's environment.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ExpandError", "expand"]


class ExpandError(ValueError):
    """The message is ready to follow a key path: ``undefined variable ${PORT}``."""


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Replace ``${NAME}`` with ``lookup(NAME)`` and ``$$`` with ``$``; raise on the first error."""
    if "$" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        dollar = text.find("$", pos)
        if dollar < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:dollar])
        nxt = text[dollar + 1 : dollar + 2]
        if nxt == "$":
            out.append("$")
            pos = dollar + 2
        elif nxt == "{":
            close = text.find("}", dollar + 2)
            if close < 0:
                raise ExpandError(f"unterminated '${{' in {text!r}")
            name = text[dollar + 2 : close]
            if not (name.isascii() and name.isidentifier()):  # [A-Za-z_][A-Za-z0-9_]*
                raise ExpandError(f"invalid variable name ${{{name}}}")
            value = lookup(name)
            if value is None:
                raise ExpandError(f"undefined variable ${{{name}}}")
            out.append(value)
            pos = close + 1
        else:
            out.append("$")
            pos = dollar + 1
