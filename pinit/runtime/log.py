"""pinit's own log lines: one line each on stderr, "pinit: " first, never fatal, never blocking.

No `logging`: it costs PID 1 start time and takes locks that a signal-time caller could
deadlock on (gunicorn #3198); every caller here runs in the loop anyway.

A stalled stderr (a pipe nobody reads, a terminal stopped with Ctrl-S) must not stall PID 1:
blocking there left control requests unanswered, zombies piling up and TERM waiting 15 s+
(issue 11.7). So every line goes through a bounded buffer (64 KiB) and is written only as far
as the descriptor takes it without blocking; when the buffer is full, lines are dropped and
counted, and the count is said once the buffer has drained. The loop writes the rest when the
descriptor turns writable.

Why not O_NONBLOCK on fd 2: that flag lives on the open file description, which the programs
share with pinit (`pinit -- CMD` and uncaptured programs inherit it), and most programs treat
EAGAIN on stderr as a fatal error. Instead, by what fd 2 is:
- a pipe, FIFO or terminal: reopened through /proc/self/fd/2, which gives pinit a description
  of its own on the same pipe or terminal, and only that one is non-blocking;
- a socket (journald's stream): send() with MSG_DONTWAIT, non-blocking per call;
- a regular file or /dev/null: written directly, as those never wait for a reader;
- otherwise (no /proc, or the reopen refused): a zero-timeout poll before each write of at
  most PIPE_BUF bytes, which a program sharing the pipe can still race; the best left.
"""

from __future__ import annotations

import _thread
import os
import select
import stat
import time
from collections.abc import Callable

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

LIMIT = 64 * 1024
PIPE_BUF = 4096
EXIT_FLUSH = 0.5  # seconds pinit may wait at exit for a slow reader to take its last lines


if TYPE_CHECKING:
    from typing import Protocol

    class Reactor(Protocol):
        def add_writer(self, fd: int, callback: Callable[[int], None]) -> None: ...
        def remove(self, fd: int) -> None: ...


class Stderr:
    """The one writer of pinit's own lines on fd 2 (thread-safe: a lock around each step)."""

    def __init__(self, fd: int = 2) -> None:
        self._target = fd
        self._lock = _thread.allocate_lock()
        self._pending = bytearray()
        self._dropped = 0
        self._kind = ""  # chosen at the first line: nb, sock, poll, direct or none
        self._fd = fd  # where bytes go (a reopened description for "nb")
        self._send: Callable[[bytes], int] | None = None
        self._reactor: Reactor | None = None
        self._armed = False
        self.notice: Callable[[str], str] = _text  # how a message of pinit's own is framed

    # -- set-up ------------------------------------------------------------------------------
    def _choose(self) -> None:
        try:
            mode = os.fstat(self._target).st_mode
        except OSError:
            self._kind = "none"  # no stderr at all: nothing to say it on
            return
        self._kind = "direct"
        if stat.S_ISFIFO(mode) or (stat.S_ISCHR(mode) and os.isatty(self._target)):
            self._kind = "poll"
            flags = os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
            try:
                fd = os.open(f"/proc/self/fd/{self._target}", flags)
            except OSError:
                return
            if os.path.sameopenfile(fd, self._target):
                self._fd, self._kind = fd, "nb"
            else:
                os.close(fd)
        elif stat.S_ISSOCK(mode):
            import _socket  # not socket.py: see control/listen.py

            sock = _socket.socket(fileno=os.dup(self._target))
            sock.setblocking(True)  # MSG_DONTWAIT alone decides, per call

            def send(data: bytes) -> int:
                return sock.send(data, _socket.MSG_DONTWAIT)

            self._send, self._kind = send, "sock"

    def _write_some(self, data: bytes | bytearray) -> int:
        """Bytes taken without blocking; BlockingIOError when none could be."""
        if self._kind == "sock" and self._send is not None:
            return self._send(bytes(data))
        if self._kind == "poll":
            poller = select.poll()
            poller.register(self._fd, select.POLLOUT)
            if not poller.poll(0):
                raise BlockingIOError
            return os.write(self._fd, data[:PIPE_BUF])
        return os.write(self._fd, data)

    # -- writing -----------------------------------------------------------------------------
    def line(self, text: str) -> None:
        data = text.encode(errors="replace")
        with self._lock:
            if not self._kind:
                self._choose()
            if self._kind == "none":
                return
            if (self._pending or self._dropped) and not self._armed:
                # Nothing will call _writable: a regular file or /dev/null ("direct", after
                # a partial write on ENOSPC), or no loop yet. Without this, one short write
                # queued every later line until the buffer filled, then dropped them all.
                self._flush()
            if self._pending or self._dropped:
                self._queue(data)
                return
            try:
                done = self._write_some(data)
            except BlockingIOError:
                done = 0
            except OSError:
                return  # EPIPE, EIO, ENOSPC: that line is lost, as it always was
            if done < len(data):
                rest = data[done:]
                if len(rest) > LIMIT:  # one huge line: keep its head, ended, and count it
                    rest = rest[: LIMIT - 1] + b"\n"
                    self._dropped += 1
                self._pending += rest
                self._arm()

    def _queue(self, data: bytes) -> None:
        if len(self._pending) + len(data) > LIMIT:
            self._dropped += 1
        else:
            self._pending += data
        self._arm()

    def _flush(self) -> bool:
        """Write what the descriptor takes; True once everything (and the drop count) is out."""
        while self._pending or self._dropped:
            if not self._pending:
                count, self._dropped = self._dropped, 0
                self._pending += self.notice(
                    f"{count} of its own lines dropped: stderr was not being read"
                ).encode()
            try:
                done = self._write_some(self._pending)
            except BlockingIOError:
                return False
            except OSError:
                self._pending.clear()
                self._dropped = 0
                return True
            del self._pending[:done]
        return True

    # -- the loop ----------------------------------------------------------------------------
    def attach(self, reactor: Reactor | None) -> None:
        """Let `reactor` call us when the descriptor turns writable (None: detach)."""
        with self._lock:
            self._disarm()
            self._reactor = reactor
            if self._pending or self._dropped:
                self._arm()

    def _arm(self) -> None:
        if self._armed or self._reactor is None or self._kind == "direct":
            return
        try:
            self._reactor.add_writer(self._fd, self._writable)
        except (KeyError, OSError, ValueError):
            return
        self._armed = True

    def _disarm(self) -> None:
        if self._armed and self._reactor is not None:
            self._reactor.remove(self._fd)
        self._armed = False

    def _writable(self, fd: int) -> None:
        with self._lock:
            if self._flush():
                self._disarm()

    def drain(self, timeout: float) -> None:
        """At exit: give a slow reader `timeout` seconds for the last lines, then give up."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._disarm()
            while not self._flush():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                poller = select.poll()
                poller.register(self._fd, select.POLLOUT)
                poller.poll(left * 1000)


def _text(message: str) -> str:
    return f"pinit: {message}\n"


STDERR = Stderr()


def use_json() -> None:
    """Issue 8, ``log_format = "json"``: every later line of pinit's own is a JSON object."""
    from pinit.logs.jsonlog import own_line

    STDERR.notice = own_line


def say(message: str) -> None:
    """One line; never raises, never blocks (see the module docstring)."""
    try:
        STDERR.line(STDERR.notice(message))
    except Exception:
        pass  # PID 1 must not die of its own log line


def write(text: str) -> None:
    """Text that is not one pinit line (a traceback), through the same bounded writer; in
    JSON mode one object, its newlines escaped in ``msg``."""
    try:
        STDERR.line(text if STDERR.notice is _text else STDERR.notice("error: " + text.rstrip()))
    except Exception:
        pass


def report_exception(exc: BaseException) -> None:
    """A traceback on stderr, or at least one line: the traceback module is imported only
    here (~3 ms of PID 1's start otherwise), and that import itself can fail when the error
    was running out of file descriptors. Through the bounded writer, never blocking."""
    try:
        import traceback

        write("".join(traceback.format_exception(exc)))
    except Exception:
        say(f"internal error: {exc!r}")
