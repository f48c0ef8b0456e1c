"""How signals reach the loop (``runtime.loop``): the signalfd, its fallback, and `pinit -- CMD`'s
direct forwarding. Split from loop.py (issue 7's forwarding path is the loop's most tuned code,
the epoll, timer and turn core the most shared); ``Loop`` inherits this, so a turn stays one
object's state and the forwarding path gains no call or attribute hop.

Signals arrive on a signalfd (runtime/sigfd.py): they stay blocked, the kernel queues them
with their sender, and the selector sees the fd readable. No handler runs at all, so no work
ever runs inside one (gunicorn #3198/#3004 deadlocked by logging there), and forwarding a
SIGTERM costs one wake-up and one read (issue 7). Without a signalfd (a kernel or seccomp
profile that refuses it) the old path remains: `signal.set_wakeup_fd`, where CPython's C-level
handler writes the signal number into the loop's non-blocking wakeup pipe and the Python
handler is a no-op.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable

from pinit.runtime import sigfd
from pinit.runtime.log import report_exception
from pinit.runtime.signals import SELF_CAUSED, handled_here

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from collections import deque

SignalCallback = Callable[[list[int]], None]
ForwardInC = Callable[[int, int, int], bytes | None]

_ONE_RECORD = sigfd.SIGINFO_SIZE
_SIGNO = sigfd.SIGNO_LOW_BYTE


def _forward_in_c() -> ForwardInC | None:
    """runtime/_forward.c's loop, or None where it was not built (it is optional at install;
    imported only by `pinit -- CMD`, never by the supervisor)."""
    try:
        from pinit.runtime._forward import forward
    except ImportError:
        return None
    return forward


def _noop_handler(signum: int, frame: object) -> None:
    """Exists only so the kernel delivers the signal; the wakeup fd carries it to the loop."""


class SignalIntake:
    """The signal side of ``Loop``; the loop's ``run`` picks between epoll and
    ``_wait_for_a_signal``."""

    if TYPE_CHECKING:  # the loop's own, used here
        _wake_w: int
        _soon: deque[Callable[[], None]]

        def add_reader(self, fd: int, callback: Callable[[int], None]) -> None: ...

        def _run_soon(self) -> None: ...

    def __init__(self) -> None:
        self._on_signals: SignalCallback | None = None
        self._sigfd = -1
        self._signums: list[int] = []
        self._sigfd_blocking = -1
        self._direct_pgid = 0
        self._direct_keep: frozenset[int] = SELF_CAUSED
        self._direct_done: Callable[[int], None] | None = None
        self._direct_keep_mask = 0
        self._forward_in_c: ForwardInC | None = None
        self._pid = os.getpid()

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
        self._direct_keep_mask = sum(1 << signo for signo in self._direct_keep)
        self._direct_done = done
        # The C loop's mask holds signals 1-63: keeping SIGRTMAX (64) takes the Python loop.
        in_c = pgid and done is None and max(self._direct_keep) < 64
        self._forward_in_c = _forward_in_c() if in_c else None

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

    def _wait_for_a_signal(self, timeout: float | None) -> None:
        """tini's way, when the loop has only its signalfd and wakeup pipe and no thread can
        write to the pipe (`pinit -- CMD` most of its life): wait for the signal itself, one
        syscall where epoll needs two. With no deadline, a blocking read of a second signalfd
        (for `pinit -- CMD`, the read-kill loop of ``_forward_until_kept``); with one,
        sigtimedwait. Measured (issue 7): epoll and a loop turn per signal, 1.65x tini's
        latency; this wait, about 1.3x; its loop in C, 1.0-1.1x. Any other fd (a stalled
        stderr, a thread) brings the epoll path back at the next turn.
        """
        if timeout is None:  # a blocking read of a second signalfd, one record at a time
            if self._direct_pgid:
                data = self._forward_until_kept()
                if data is None:
                    return
            else:
                data = os.read(self._sigfd_blocking, _ONE_RECORD)
            signo = data[_SIGNO]
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

    def _forward_until_kept(self) -> bytes | None:
        """`pinit -- CMD`'s forwarding, tini's loop: read a signal, kill the group, read the
        next. It returns the first signal that is not forwarded (SIGCHLD, SIGPIPE, SIGXFSZ)
        for the loop's turn, or None when a callback must run (``done``) or the group is gone.

        Nothing else can come due meanwhile: this runs only with no deadline, no other fd and
        no thread. So nothing runs between the kill and the next wait, and the child just
        woken, often queued on this very CPU, runs at once instead of behind a loop turn.

        The loop runs in C (runtime/_forward.c) when that module is built: a signal after a
        quiet spell finds the process cold, and the interpreter's way from the read back to
        the kill cost 20-30 us there (perf, on a VM), a quarter of the latency. This Python
        loop is the fallback and --verbose's path; it keeps what it needs in locals.
        """
        fd, pgid, keep, done = (
            self._sigfd_blocking,
            self._direct_pgid,
            self._direct_keep,
            self._direct_done,
        )
        if self._forward_in_c is not None:  # set only when done is None
            return self._forward_in_c(fd, pgid, self._direct_keep_mask)
        read, killpg, size, low = os.read, os.killpg, _ONE_RECORD, _SIGNO
        while True:
            data = read(fd, size)
            signo = data[low]
            if signo in keep:
                return data
            try:
                killpg(pgid, signo)
            except OSError:
                return None  # the group is gone: nothing to forward to, as with os.kill
            if done is not None:  # someone listens (--verbose): the loop's turn, then
                try:
                    done(signo)
                except Exception as exc:  # run() catches only OSError here
                    report_exception(exc)
                return None

    def _close_signals(self) -> None:
        signal.set_wakeup_fd(-1)
        if self._sigfd >= 0:
            os.close(self._sigfd)  # the signals stay blocked: pinit is about to exit
            self._sigfd = -1
        if self._sigfd_blocking >= 0:
            os.close(self._sigfd_blocking)
            self._sigfd_blocking = -1
