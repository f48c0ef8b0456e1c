"""The one event loop: file descriptors, signals and monotonic deadlines, and nothing else.

Why not asyncio: PID 1 must start fast and stay small, and every event pinit handles is a
readable fd (signal wakeup pipe, child output, sockets) or a deadline. A selector plus a heap
is all that needs, and it blocks in the kernel with no timeout when no deadline is due, so an
idle pinit makes zero wake-ups (tini polls once a second; supervisord and horust tick too).

Signals arrive on a signalfd (runtime/sigfd.py): they stay blocked, the kernel queues them
with their sender, and the selector sees the fd readable. No handler runs at all, so no work
ever runs inside one (gunicorn #3198/#3004 deadlocked by logging there), and forwarding a
SIGTERM costs one wake-up and one read (issue 7). Without a signalfd (a kernel or seccomp
profile that refuses it) the old path remains: `signal.set_wakeup_fd`, where CPython's C-level
handler writes the signal number into a non-blocking pipe and the Python handler is a no-op.

A pipe wakes the loop for `call_soon_threadsafe` (the log writer threads' only way to reach
the loop): they write a 0 byte, which no signal number can be.
"""

from __future__ import annotations

import _thread
import heapq
import itertools
import os
import select
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable

from pinit.runtime import log, sigfd
from pinit.runtime.signals import SELF_CAUSED, handled_here

ReadCallback = Callable[[int], None]
SignalCallback = Callable[[list[int]], None]
TimerCallback = Callable[[], None]


MAX_WAIT = 86400.0
_ONE_RECORD = sigfd.SIGINFO_SIZE
_SIGNO = sigfd.SIGNO_LOW_BYTE


def report_exception(exc: BaseException) -> None:
    """A traceback on stderr, or at least one line: the traceback module is imported only
    here (~3 ms of PID 1's start otherwise), and that import itself can fail when the error
    was running out of file descriptors. Through log's bounded writer, never blocking."""
    try:
        import traceback

        log.write("".join(traceback.format_exception(exc)))
    except Exception:
        log.say(f"internal error: {exc!r}")


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


def _noop_handler(signum: int, frame: object) -> None:
    """Exists only so the kernel delivers the signal; the wakeup fd carries it to the loop."""


class Loop:
    def __init__(self) -> None:
        # epoll itself, not `selectors`: its per-wake bookkeeping (key objects, event masks,
        # a list per select) was a measurable part of signal forwarding latency (issue 7).
        self._epoll = select.epoll(flags=select.EPOLL_CLOEXEC)
        self._handlers: dict[int, ReadCallback] = {}
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        self._running = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._on_signals: SignalCallback | None = None
        self._soon: deque[TimerCallback] = deque()  # append/popleft are atomic: no lock
        self._sigfd = -1
        self._signums: list[int] = []
        self._sigfd_blocking = -1
        self._direct_pgid = 0
        self._direct_keep: frozenset[int] = SELF_CAUSED
        self._direct_done: Callable[[int], None] | None = None
        self._pid = os.getpid()
        self._after_turn: TimerCallback | None = None
        self._deferrable: dict[int, int] = {}  # fd -> events: served after supervision
        self._deferred = False  # the last turn held them back: this one serves them
        self._held = False  # ``hold``: the deferrable fds are out of the epoll set
        log.STDERR.attach(self)  # pinit's own lines wait in the loop for a slow stderr
        self.add_reader(self._wake_r, self._drain_wakeup)

    # -- signals -----------------------------------------------------------------------------
    def watch_signals(self, signums: Iterable[int], callback: SignalCallback) -> None:
        """Route these signals into the loop. Must run before the first child is spawned and
        before any thread starts (threads inherit the blocked mask; one without it would take
        a signal's default action for the whole process).

        Signals that arrived earlier stay pending and are read at the first turn: a launcher
        that exec'd us as PID 1 may have blocked them so that a `podman stop` during our start
        stays pending instead of being dropped. SIGCHLD goes back to SIG_DFL: inherited as
        SIG_IGN, the kernel would reap children itself and the reaper would see no status.
        """
        self._on_signals = callback
        signums = [int(s) for s in signums]
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        try:
            self._sigfd = sigfd.open_fd(signums)
        except (OSError, AttributeError):  # no signalfd: the handler path, blind to senders
            self._watch_with_handlers([s for s in signums if s not in SELF_CAUSED])
            return
        self._signums = signums
        self.add_reader(self._sigfd, self._read_signalfd)
        try:
            self._sigfd_blocking = sigfd.open_fd(signums, blocking=True)
        except OSError:
            pass  # EMFILE at start: the epoll path serves alone

    def forward_directly(
        self, pgid: int, keep: Iterable[int] = (), done: Callable[[int], None] | None = None
    ) -> None:
        """While `pgid` is set (0 turns it off) and the loop waits on signals alone, every
        signal but `keep` (and SIGPIPE/SIGXFSZ, whose sender must be checked) goes to process
        group `pgid` straight from the signal wait, before any callback runs; `done(signum)` is
        told afterwards and the signal callback never sees it. On the epoll path (another fd
        or a thread is active) signals reach the callback as usual, which must then forward
        them itself. This is `pinit -- CMD`'s forwarding, on the path measured against tini
        (issue 7): with the kill in the loop, nothing stands between wake-up and kill."""
        self._direct_pgid = pgid
        self._direct_keep = frozenset(keep) | SELF_CAUSED
        self._direct_done = done

    def _watch_with_handlers(self, signums: list[int]) -> None:
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        for signum in signums:
            signal.signal(signum, _noop_handler)
        handled_here(signums)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, signums)

    def _read_signalfd(self, fd: int) -> None:
        """The hot path of forwarding: one read, a byte per record, one call. Only SIGPIPE and
        SIGXFSZ need their sender, so only they are unpacked further."""
        try:
            data = os.read(fd, sigfd.READ_SIZE)
        except BlockingIOError:
            return
        if len(data) == _ONE_RECORD:  # the common case: one signal, straight through
            signo = data[_SIGNO]
            if signo not in SELF_CAUSED and self._on_signals is not None:
                self._on_signals([signo])
                return
        signums = []
        for offset in range(0, len(data), sigfd.SIGINFO_SIZE):
            signo = data[offset + sigfd.SIGNO_LOW_BYTE]
            if signo in SELF_CAUSED and sigfd.sender(data, offset) == self._pid:
                continue  # pinit's own broken pipe or file size limit: nobody else's business
            signums.append(signo)
        if signums and self._on_signals is not None:
            self._on_signals(signums)

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

    def _wait_for_a_signal(self, timeout: float | None) -> None:
        """tini's way, when the loop has only its signalfd and wakeup pipe and no thread can
        write to the pipe (`pinit -- CMD` most of its life): wait for the signal itself, one
        syscall where epoll needs two. With no deadline, a blocking read of a second signalfd;
        with one, sigtimedwait. Measured, this and a lean path to the kill took forwarding
        from 1.65x tini's latency to about 1.3x (issue 7). Any other fd (a stalled stderr, a
        thread) brings the epoll path back at the next turn.
        """
        if timeout is None:  # a blocking read of a second signalfd, one record at a time
            # Everything the forwarding needs is a local before the read blocks: after it, in
            # a cold process, each other object touched (a module global, an instance's dict,
            # another function's code) is a cache and TLB miss, about a microsecond each.
            read, killpg, pgid, keep = os.read, os.killpg, self._direct_pgid, self._direct_keep
            data = read(self._sigfd_blocking, _ONE_RECORD)
            signo = data[_SIGNO]
            if pgid and signo not in keep:
                try:
                    killpg(pgid, signo)
                except OSError:
                    return  # the group is gone: nothing to forward to, as with os.kill
                # The child just woken is often queued on this very CPU (wake-affine): let
                # it run before pinit's own bookkeeping does.
                os.sched_yield()
                if self._direct_done is not None:
                    try:
                        self._direct_done(signo)
                    except Exception as exc:  # run() catches only OSError here
                        report_exception(exc)
                return
            if signo in SELF_CAUSED and sigfd.sender(data, 0) == self._pid:
                return  # pinit's own broken pipe or file size limit, as in _read_signalfd
            if self._on_signals is not None:
                try:
                    self._on_signals([signo])
                except Exception as exc:
                    report_exception(exc)
            return
        info = signal.sigtimedwait(self._signums, timeout)
        if info is None or self._on_signals is None:
            return
        if info.si_signo in SELF_CAUSED and info.si_pid == self._pid:
            return  # pinit's own broken pipe or file size limit, as in _read_signalfd
        try:
            self._on_signals([info.si_signo])
        except Exception as exc:
            report_exception(exc)

    @staticmethod
    def _guard(callback: Callable[[], None]) -> None:
        """PID 1 must survive its own bugs: one failing event is reported, the loop goes on."""
        try:
            callback()
        except Exception as exc:
            report_exception(exc)

    def close(self) -> None:
        signal.set_wakeup_fd(-1)
        if self._sigfd >= 0:
            os.close(self._sigfd)  # the signals stay blocked: pinit is about to exit
            self._sigfd = -1
        if self._sigfd_blocking >= 0:
            os.close(self._sigfd_blocking)
            self._sigfd_blocking = -1
        log.STDERR.attach(None)
        log.STDERR.drain(log.EXIT_FLUSH)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
