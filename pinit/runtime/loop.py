"""The one event loop: file descriptors, signals and monotonic deadlines, and nothing else.

Why not asyncio: PID 1 must start fast and stay small, and every event pinit handles is a
readable fd (signal wakeup pipe, child output, sockets) or a deadline. A selector plus a heap
is all that needs, and it blocks in the kernel with no timeout when no deadline is due, so an
idle pinit makes zero wake-ups (tini polls once a second; supervisord and horust tick too).

Signals arrive through `signal.set_wakeup_fd`: CPython's C-level handler writes the signal
number into a non-blocking pipe, which the selector watches. The Python-level handler is a
no-op, so no work ever runs inside a handler (gunicorn #3198/#3004 deadlocked by logging there).

The same pipe wakes the loop for `call_soon_threadsafe` (the log writer threads' only way to
reach the loop): they write a 0 byte, which no signal number can be.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import os
import selectors
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable

ReadCallback = Callable[[int], None]
SignalCallback = Callable[[list[int]], None]
TimerCallback = Callable[[], None]


MAX_WAIT = 86400.0


def report_exception(exc: BaseException) -> None:
    """A traceback on stderr, or at least one line: the traceback module is imported only
    here (~3 ms of PID 1's start otherwise), and that import itself can fail when the error
    was running out of file descriptors."""
    try:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    except Exception:
        try:
            sys.stderr.write(f"pinit: internal error: {exc!r}\n")
        except Exception:
            pass


class Timer:
    """A heap entry; cancelling marks it dead instead of re-heapifying (O(1) disarm).

    A plain slotted class, not a dataclass: importing dataclasses costs `pinit -- true` ~7 ms.
    """

    __slots__ = ("callback", "cancelled", "deadline", "seq")

    def __init__(self, deadline: float, seq: int, callback: TimerCallback) -> None:
        self.deadline = deadline
        self.seq = seq
        self.callback = callback
        self.cancelled = False

    def __lt__(self, other: Timer) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


def _noop_handler(signum: int, frame: object) -> None:
    """Exists only so the kernel delivers the signal; the wakeup fd carries it to the loop."""


class Loop:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._running = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._on_signals: SignalCallback | None = None
        self._soon: deque[TimerCallback] = deque()  # append/popleft are atomic: no lock
        self._after_turn: TimerCallback | None = None
        self._selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wakeup)

    # -- signals -----------------------------------------------------------------------------
    def watch_signals(self, signums: Iterable[int], callback: SignalCallback) -> None:
        """Route these signals into the loop. Must run before the first child is spawned.

        A SIGCHLD that arrives before the wakeup fd is installed would be lost: the exit
        status would still be collected, but only on some later, unrelated wake-up. The
        signals are unblocked last: a launcher that exec'd us as PID 1 may have blocked them
        so that a `podman stop` during our start stays pending instead of being dropped.
        """
        self._on_signals = callback
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        signums = list(signums)
        for signum in signums:
            signal.signal(signum, _noop_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signums)

    def _drain_wakeup(self, fd: int) -> None:
        data = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        signums = [b for b in data if b]
        if self._soon:
            self._run_soon()
        if signums and self._on_signals is not None:
            self._on_signals(signums)

    # -- other threads -----------------------------------------------------------------------
    def call_soon_threadsafe(self, callback: TimerCallback) -> None:
        """Run `callback` on the loop thread at its next turn; callable from any thread.

        A full wakeup pipe drops the byte, which is harmless: the pipe is then readable
        anyway, and every drain of it runs whatever is queued, whichever bytes woke it (the
        append comes before the write, so a drain never misses a callback it was woken for).
        """
        self._soon.append(callback)
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass  # full (see above) or closed at exit: nothing is waiting any more

    def _run_soon(self) -> None:
        for _ in range(len(self._soon)):
            self._guard(self._soon.popleft())

    # -- file descriptors --------------------------------------------------------------------
    def add_reader(self, fd: int, callback: ReadCallback) -> None:
        self._selector.register(fd, selectors.EVENT_READ, callback)

    def add_writer(self, fd: int, callback: ReadCallback) -> None:
        """For a non-blocking connect(): the socket turns writable once it has an answer."""
        self._selector.register(fd, selectors.EVENT_WRITE, callback)

    def remove(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass  # already gone: closing an fd twice is a caller's race, not fatal

    # -- timers ------------------------------------------------------------------------------
    def call_at(self, deadline: float, callback: TimerCallback) -> Timer:
        timer = Timer(deadline, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    def call_later(self, delay: float, callback: TimerCallback) -> Timer:
        return self.call_at(time.monotonic() + delay, callback)

    def _next_timeout(self) -> float | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        # Clamped: select() overflows time_t on absurd deadlines, and waking once a day
        # to find nothing due costs nothing.
        return min(MAX_WAIT, max(0.0, self._timers[0].deadline - time.monotonic()))

    def _fire_due(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0].deadline <= now:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.cancelled = True
                self._guard(timer.callback)

    # -- running -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._running = False

    def after_turn(self, callback: TimerCallback) -> None:
        """Run `callback` once per turn, after that turn's fd, signal and timer callbacks (and
        once before the first wait). gunicorn's arbiter shape: callbacks only queue events, and
        this hook handles the queue, so one turn reads as one pass (the supervisor steps its
        model here, once, instead of after every callback)."""
        self._after_turn = callback

    def run(self) -> None:
        self._running = True
        while self._running:
            if self._after_turn is not None:
                self._guard(self._after_turn)  # before select: it may arm the next deadline
                if not self._running:
                    return
            for key, _ in self._selector.select(self._next_timeout()):
                callback: ReadCallback = key.data
                self._guard(functools.partial(callback, key.fd))
                if not self._running:
                    return
            self._fire_due()

    @staticmethod
    def _guard(callback: Callable[[], None]) -> None:
        """PID 1 must survive its own bugs: one failing event is reported, the loop goes on."""
        try:
            callback()
        except Exception as exc:
            report_exception(exc)

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        self._selector.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
