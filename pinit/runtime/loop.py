"""The one event loop: file descriptors, signals and monotonic deadlines, and nothing else.

Why not asyncio: PID 1 must start fast and stay small, and every event pinit handles is a
readable fd (signal wakeup pipe, child output, sockets) or a deadline. A selector plus a heap
is all that needs, and it blocks in the kernel with no timeout when no deadline is due, so an
idle pinit makes zero wake-ups (tini polls once a second; supervisord and horust tick too).

Signals come in through ``loopsignals`` (its ``SignalIntake`` is this loop's signal side): a
signalfd the loop waits on like any other fd, or, in `pinit -- CMD`, a wait on the signal
alone that forwards it before anything else runs (issue 7).

A pipe wakes the loop for `call_soon_threadsafe` (the log writer threads' only way to reach
the loop): they write a 0 byte, which no signal number can be.
"""

from __future__ import annotations

import _thread
import heapq
import itertools
import os
import select
import time
from collections import deque
from collections.abc import Callable

from pinit.runtime import log
from pinit.runtime.log import report_exception
from pinit.runtime.loopsignals import SignalIntake

ReadCallback = Callable[[int], None]
TimerCallback = Callable[[], None]


MAX_WAIT = 86400.0


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


class _TimedEpoll:
    """An epoll that notes when its wait returned (``Loop.time_turns``)."""

    __slots__ = ("_inner", "close", "register", "unregister", "woke")

    def __init__(self, inner: select.epoll) -> None:
        self._inner = inner
        self.register = inner.register
        self.unregister = inner.unregister
        self.close = inner.close
        self.woke = 0.0

    def poll(self, timeout: float = -1, maxevents: int = -1) -> list[tuple[int, int]]:
        ready = self._inner.poll(timeout, maxevents)
        self.woke = time.monotonic()
        return ready


class Loop(SignalIntake):
    def __init__(self) -> None:
        super().__init__()  # the signal side's state (loopsignals)
        # epoll itself, not `selectors`: its per-wake bookkeeping (key objects, event masks,
        # a list per select) was a measurable part of signal forwarding latency (issue 7).
        self._epoll = select.epoll(flags=select.EPOLL_CLOEXEC)
        self._handlers: dict[int, ReadCallback] = {}
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._running = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._soon: deque[TimerCallback] = deque()  # append/popleft are atomic: no lock
        self._after_turn: TimerCallback | None = None
        self._deferrable: dict[int, int] = {}  # fd -> events: served after supervision
        self._deferred = False  # the last turn held them back: this one serves them
        self._held = False  # ``hold``: the deferrable fds are out of the epoll set
        log.STDERR.attach(self)  # pinit's own lines wait in the loop for a slow stderr
        self.add_reader(self._wake_r, self._drain_wakeup)

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
    def add_reader(self, fd: int, callback: ReadCallback, deferrable: bool = False) -> None:
        """Errors and hang-ups also call `callback` (epoll always reports them): it reads and
        finds EOF or the error, as with `selectors`.

        `deferrable` (the HTTP endpoint's sockets, issue 8): in a turn whose wake-up holds a
        signal, this fd waits for the next turn, so that a SIGCHLD's reap and respawn (the
        after-turn hook) never queue behind scrapes. epoll is level-triggered: the fd is
        reported again by the next wait, which then returns at once. Never two turns in a row,
        so a signal storm slows the endpoint down to every other turn but cannot starve it."""
        self._register(fd, select.EPOLLIN, callback, deferrable)

    def add_writer(self, fd: int, callback: ReadCallback, deferrable: bool = False) -> None:
        """For a non-blocking connect(): the socket turns writable once it has an answer."""
        self._register(fd, select.EPOLLOUT, callback, deferrable)

    def _register(
        self, fd: int, events: int, callback: ReadCallback, deferrable: bool = False
    ) -> None:
        if fd in self._handlers:
            raise KeyError(f"fd {fd} is already registered")  # as selectors said it
        if deferrable:
            self._deferrable[fd] = events
            if self._held:  # registered when the hold ends
                self._handlers[fd] = callback
                return
        self._epoll.register(fd, events)
        self._handlers[fd] = callback

    def remove(self, fd: int) -> None:
        if self._handlers.pop(fd, None) is None:
            return  # already gone: closing an fd twice is a caller's race, not fatal
        if self._deferrable.pop(fd, None) is not None and self._held:
            return  # not in the epoll set
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass  # closed before it was removed: the kernel already dropped it

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

    def time_turns(self, observe: Callable[[float], None]) -> None:
        """Issue 8's loop turn histogram: ``observe(seconds)`` after each turn, from the wake-up
        to the end of the after-turn hook (call after ``after_turn``). Only a loop that asks
        pays for it: the epoll object is wrapped so that ``run`` itself is unchanged."""
        timed = _TimedEpoll(self._epoll)
        self._epoll = timed  # type: ignore[assignment]
        hook = self._after_turn

        def after() -> None:
            if hook is not None:
                hook()
            if timed.woke:
                observe(time.monotonic() - timed.woke)
                timed.woke = 0.0

        self._after_turn = after

    def run(self) -> None:
        self._running = True
        handlers = self._handlers
        while self._running:
            if self._after_turn is not None:
                self._guard(self._after_turn)  # before the wait: it may arm the next deadline
                if not self._running:
                    return
            timeout = self._next_timeout()
            # Only signals to wait for: no other fd, no callback queued by a thread that may
            # already have ended, and no thread alive that could queue one.
            if (
                len(handlers) == 2
                and self._sigfd_blocking >= 0
                and not self._soon
                and _thread._count() == 0
            ):
                try:
                    self._wait_for_a_signal(timeout)  # nothing but signals to wait for
                except OSError as exc:  # never expected; the epoll path still works
                    report_exception(exc)
                    os.close(self._sigfd_blocking)
                    self._sigfd_blocking = -1
                self._fire_due()
                continue
            try:
                ready = self._epoll.poll(-1 if timeout is None else timeout, 64)
            except InterruptedError:  # a signal on the fallback path: its byte is in the pipe
                continue
            if self._deferrable and len(ready) > 1:
                ready = self._signals_first(ready)
            for fd, _ in ready:
                callback = handlers.get(fd)
                if callback is None:
                    continue  # removed by an earlier callback of this same turn
                try:  # inline, not through _guard: this is the signal forwarding path
                    callback(fd)
                except Exception as exc:
                    report_exception(exc)
                if not self._running:
                    return
            self._fire_due()

    def _signals_first(self, ready: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Supervision before the HTTP endpoint (issue 8: a restart under 20 scrapers within
        1.5x of a quiet one): when the signalfd (or the fallback's wakeup pipe) is ready, it
        goes first and the deferrable fds wait for the next turn, after the supervisor's step
        has reaped and respawned. Only loops with deferrable fds pay for this check."""
        urgent = (self._sigfd, self._wake_r)
        first = [entry for entry in ready if entry[0] in urgent]
        if not first:
            self._deferred = False
            return ready
        rest = [entry for entry in ready if entry[0] not in urgent]
        if self._deferred:  # held back last turn: served now, after the signals
            self._deferred = False
            return first + rest
        self._deferred = True
        defer = self._deferrable
        return first + [entry for entry in rest if entry[0] not in defer]

    def hold(self, seconds: float) -> None:
        """Take the deferrable fds out of the wait for `seconds` (issue 8: the HTTP endpoint's
        CPU share, ``httpserve``). Out of the epoll set, not filtered after the wait: a
        level-triggered fd left in would end every wait at once and spin. Their callbacks
        stay registered; ``add_reader``/``remove`` meanwhile apply when the hold ends."""
        if self._held or not self._deferrable:
            return
        self._held = True
        for fd in self._deferrable:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass
        self.call_later(seconds, self._release)

    def _release(self) -> None:
        self._held = False
        for fd, events in self._deferrable.items():
            try:
                self._epoll.register(fd, events)
            except (OSError, ValueError):
                pass  # closed meanwhile without remove(): its owner's error to find

    @staticmethod
    def _guard(callback: Callable[[], None]) -> None:
        """PID 1 must survive its own bugs: one failing event is reported, the loop goes on."""
        try:
            callback()
        except Exception as exc:
            report_exception(exc)

    def close(self) -> None:
        self._close_signals()
        log.STDERR.attach(None)
        log.STDERR.drain(log.EXIT_FLUSH)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
