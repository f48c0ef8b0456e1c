"""Talking to the manager above pinit (systemd, or podman --sdnotify=container) over sd_notify.

Read once at start, before the environment is handed on: programs never see the outer
NOTIFY_SOCKET (runtime/procspec.py strips it), so only pinit can declare the service ready,
and it does so when its own programs are, which is the point of running it as Type=notify.

The watchdog follows sd_watchdog_enabled(3): WATCHDOG_USEC applies when WATCHDOG_PID is unset
or names us, and the ping interval is half of it. A ping is sent from the event loop, so a
stuck loop stops pinging and systemd restarts the service, which is what a watchdog is for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from pinit.notify import proto

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PID 1's start time)
if TYPE_CHECKING:
    import socket


# Variables of an outer manager that must not leak into programs: a child that found
# systemd's NOTIFY_SOCKET would talk to systemd directly (NotifyAccess=main refuses it, and
# with =all it could declare the whole service ready before pinit's own programs are).
OUTER_ONLY = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")


def base_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """pinit's environment as its programs inherit it: without the outer manager's hooks."""
    return {k: v for k, v in environ.items() if k not in OUTER_ONLY}


class Upstream:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.address = environ.get("NOTIFY_SOCKET", "")
        self.watchdog_interval = _watchdog_interval(environ)
        self._sock: socket.socket | None = None
        self.last_error = ""

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str) -> bool:
        """One datagram; False (with last_error set) when it could not be sent. Never raises,
        never blocks: a manager that stopped listening must not stall PID 1."""
        if not self.address:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        import socket  # here, not at the top: `pinit -- CMD` outside systemd never needs it

        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.setblocking(False)
            self._sock.sendto(proto.format_message(fields), target)
        except OSError as exc:
            self.last_error = f"{self.address}: {exc.strerror or exc}"
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def reloading(self) -> bool:
        """systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload)."""
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send(RELOADING="1", MONOTONIC_USEC=str(now))

    def stopping(self, status: str) -> bool:
        return self.send(STOPPING="1", STATUS=status)

    def ping(self) -> bool:
        return self.send(WATCHDOG="1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_interval(environ: Mapping[str, str]) -> float | None:
    usec = environ.get("WATCHDOG_USEC", "")
    pid = environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 2_000_000
