"""Readiness checks that run inside the loop: TCP connect, HTTP GET, a check command.

Each attempt is non-blocking (a connect that completes as a writable socket, a check command
whose exit the reaper reports), bounded by its own deadline, and retried every `interval`
until it succeeds or the probe is stopped. The overall limit is the model's "ready" timer,
not ours: the probe only says "ready", never "failed".

Liveness (issue 8, ``runtime/liveness.py``) runs the same attempts one at a time: with
``on_fail`` a Probe makes exactly one attempt per ``start()``, bounded by ``attempt_timeout``,
and reports either outcome instead of retrying.

HTTP exists beside TCP because a port opens before an app server can answer: gunicorn binds,
then its workers import the app, so "port open" would release dependents too early.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable

from pinit.config.schema import Readiness, ReadyKind
from pinit.runtime import pid1
from pinit.runtime.loop import Loop, Timer

TYPE_CHECKING = False  # typing.TYPE_CHECKING without the import
if TYPE_CHECKING:
    import socket
    from urllib.parse import SplitResult

OnReady = Callable[[], None]
# Starts a check command and calls back with its raw exit status; returns its pid, or None
# when it could not be started at all (that attempt then counts as failed).
RunCheck = Callable[[tuple[str, ...], Callable[[int], None]], int | None]


class Probe:
    def __init__(
        self,
        loop: Loop,
        ready: Readiness,
        on_ready: OnReady,
        run_check: RunCheck,
        *,
        on_fail: OnReady | None = None,  # issue 8: one attempt, its failure reported
        attempt_timeout: float = 0.0,  # one attempt's limit; 0: max(interval, 1s)
    ) -> None:
        self._loop = loop
        self._ready = ready
        self._on_ready = on_ready
        self._run_check = run_check
        self._on_fail = on_fail
        self._attempt_timeout = attempt_timeout or max(ready.interval, 1.0)
        self._sock: socket.socket | None = None
        self._check_pid: int | None = None
        self._timer: Timer | None = None
        self._active = False
        self._buf = b""

    def start(self) -> None:
        if self._ready.kind in (ReadyKind.STARTED, ReadyKind.NOTIFY):
            return  # the model decides "started"; READY=1 arrives on the notify socket
        self._active = True
        self._attempt()

    def stop(self) -> None:
        self._active = False
        self._end_attempt()
        if self._check_pid is not None:
            pid1.kill_group(self._check_pid, signal.SIGKILL)
            self._check_pid = None

    # -- one attempt -------------------------------------------------------------------------
    def _attempt(self) -> None:
        if not self._active:
            return
        self._timer = self._loop.call_later(self._attempt_timeout, self._attempt_timed_out)
        kind = self._ready.kind
        if kind is ReadyKind.COMMAND:
            self._check_pid = self._run_check(self._ready.command, self._check_done)
            if self._check_pid is None:
                self._retry()
            return
        host, port = self._address()
        import socket  # at the first tcp/http probe: off PID 1's start path (issue 7, speed)

        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
            rc = self._sock.connect_ex((host, port))
        except OSError:
            self._retry()
            return
        if rc not in (0, errno.EINPROGRESS):
            self._retry()
            return
        self._loop.add_writer(self._sock.fileno(), self._connected)

    def _address(self) -> tuple[str, int]:
        if self._ready.kind is ReadyKind.HTTP and self._ready.url:
            parts = _urlsplit(self._ready.url)
            host = parts.hostname or "127.0.0.1"
            return _numeric(host), parts.port or 80
        return _numeric(self._ready.host or "127.0.0.1"), self._ready.port

    def _connected(self, fd: int) -> None:
        assert self._sock is not None
        self._loop.remove(fd)
        import socket

        if self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            self._retry()
            return
        if self._ready.kind is ReadyKind.TCP:
            self._succeed()
            return
        parts = _urlsplit(self._ready.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = f"GET {path} HTTP/1.0\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
        try:
            self._sock.send(request.encode())  # a few hundred bytes fit any socket buffer
        except OSError:
            self._retry()
            return
        self._buf = b""
        self._loop.add_reader(fd, self._http_answer)

    def _http_answer(self, fd: int) -> None:
        assert self._sock is not None
        try:
            chunk = self._sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        self._buf += chunk
        if b"\r\n" not in self._buf and chunk and len(self._buf) < 8192:
            return  # the status line is not complete yet
        status = self._buf.split(b"\r\n", 1)[0].split()
        if len(status) >= 2 and status[0].startswith(b"HTTP/") and status[1][:1] == b"2":
            self._succeed()
        else:
            self._retry()

    def _check_done(self, status: int) -> None:
        self._check_pid = None
        if not self._active:
            return
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            self._succeed()
        else:
            self._retry()

    def _attempt_timed_out(self) -> None:
        self._timer = None
        if self._check_pid is not None:
            # its exit comes back through the reaper as a failed attempt
            pid1.kill_group(self._check_pid, signal.SIGKILL)
            return
        self._retry()

    # -- outcomes ----------------------------------------------------------------------------
    def _end_attempt(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None:
            self._loop.remove(self._sock.fileno())
            self._sock.close()
            self._sock = None

    def _retry(self) -> None:
        self._end_attempt()
        if self._on_fail is not None:
            if self._active:
                self._active = False
                self._on_fail()
            return
        if self._active:
            self._timer = self._loop.call_later(self._ready.interval, self._attempt)

    def _succeed(self) -> None:
        self._end_attempt()
        if self._active:
            self._active = False
            self._on_ready()


def _urlsplit(url: str) -> SplitResult:
    """urllib.parse (with ipaddress) only once an http probe runs: ~3 ms off PID 1's start."""
    from urllib.parse import urlsplit

    return urlsplit(url)


def _numeric(host: str) -> str:
    """Avoid a blocking DNS lookup in PID 1's loop: readiness hosts are local by nature."""
    return "127.0.0.1" if host == "localhost" else host.strip("[]")
