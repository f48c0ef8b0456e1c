"""Where the control socket lives, decided the same way by pinit and by `pinit ctl`.

pinit binds ``[pinit].control_socket``, else ``/run/pinit/NAME.sock`` where /run is writable
(root, the FHS place for runtime sockets), else ``${XDG_RUNTIME_DIR:-/tmp}/pinit-NAME-UID.sock``
(an unprivileged pinit, a read-only /run); the uid keeps two users' pinits apart in a shared
/tmp. ``pinit ctl`` looks in the same places, but first at ``$PINIT_CONTROL_SOCKET``, which
pinit exports to its programs so a program can run ``pinit ctl`` on its own supervisor. The
server never reads that variable: a pinit supervised by another pinit inherits it, and would
otherwise try to bind its parent's socket.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["ENV", "RUN_DIR", "candidates", "server_path"]

ENV = "PINIT_CONTROL_SOCKET"
RUN_DIR = "/run/pinit"


def _fallback(name: str, environ: Mapping[str, str]) -> str:
    base = environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"pinit-{name}-{os.getuid()}.sock")


def _run_usable() -> bool:
    if os.path.isdir(RUN_DIR):
        return os.access(RUN_DIR, os.W_OK | os.X_OK)
    return os.access(os.path.dirname(RUN_DIR), os.W_OK | os.X_OK)


def server_path(configured: str, name: str, environ: Mapping[str, str]) -> str:
    """The path pinit binds (the caller creates RUN_DIR when it is chosen)."""
    if configured:
        return configured
    if _run_usable():
        return os.path.join(RUN_DIR, f"{name}.sock")
    return _fallback(name, environ)


def candidates(configured: str, name: str, environ: Mapping[str, str]) -> list[str]:
    """Where `pinit ctl` looks, in order. The client may run as another user than pinit (root's
    pinit, a user's ctl), so it tries the /run path whenever it exists, not only when it could
    write /run itself."""
    if configured:
        return [configured]
    if environ.get(ENV):
        return [environ[ENV]]
    run = os.path.join(RUN_DIR, f"{name}.sock")
    fallback = _fallback(name, environ)
    return [run, fallback] if os.path.exists(run) or _run_usable() else [fallback, run]
