"""One log destination, one thread: where blocking writes happen, so the loop never does.

DESIGN §2c, option (2): a regular file cannot be made non-blocking, and pinit's stdout may be a
pipe to a slow log driver, so every destination (a rotating file, or pinit's stdout for
passthrough) gets a thread fed with blocks of whole lines through a bounded backlog. The bound
is soft and counted in bytes: `put` always takes the block (it was already read from a pipe
and must not be lost), and answers False once the backlog is over HIGH_WATER; the capture side
then stops reading the programs that feed it, so they block in write() as on a slow terminal.
When the thread has brought the backlog down to LOW_WATER it wakes the loop with
`call_soon_threadsafe`, and reading resumes. Nothing is dropped, except on a write error.

Tasks (issue 10: reopen) go through the same thread: `run(task)` queues a callable that runs
after the blocks queued before it, so it always falls between two blocks of whole lines.

A write error (ENOSPC, EIO, EPIPE, or a log path logs.rotate refuses as unsafe) drops the
lines of that write: blocking until space comes back would stall every program feeding the
destination, and retrying forever would hold their lines in pinit's memory. It is reported
once on pinit's stderr, and once more when writes succeed again, with the number of lines
dropped. Both reports go through the loop thread, so pinit's stderr has one writer.

Fork safety: pinit forks its programs from the loop thread while these threads run. The child
only makes os-level calls before exec (runtime/spawn.py) and never touches a Writer, and the
loop thread holds a Writer's lock only inside `put`/`close`, never across a spawn, so no lock
the child could need is held by a thread that does not exist in the child.
"""

from __future__ import annotations

import os
import select
from collections.abc import Callable

from pinit.logs.framing import Block, joined

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = ["HIGH_WATER", "LOW_WATER", "LogReactor", "Say", "Sink", "Writer", "fd_sink", "write_all"]

# 1 MiB per destination: ~10,000 lines of 100 bytes, room for a burst from many programs and
# big enough blocks for the thread; a 4 MiB bound was no faster and cost pinit 8 MB more PSS
# under a flood (see logs.capture). The loop pauses the readers above it.
HIGH_WATER = 1 << 20
LOW_WATER = 1 << 18

Sink = Callable[[Block], None]
IOV_MAX = 1024  # Linux's limit of buffers in one writev(2)
Say = Callable[[str], None]


if TYPE_CHECKING:
    from typing import Protocol

    class LogReactor(Protocol):
        """The slice of runtime.loop.Loop that logs needs; logs must not import the runtime."""

        def add_reader(self, fd: int, callback: Callable[[int], None]) -> None: ...
        def remove(self, fd: int) -> None: ...
        def call_soon_threadsafe(self, callback: Callable[[], None]) -> None: ...
        def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...

    class Cancellable(Protocol):
        def cancel(self) -> None: ...


def write_all(fd: int, block: Block) -> int:
    """Write every piece of `block`, in order, in as few writev(2) calls as the kernel takes;
    returns the bytes written. An fd that may be non-blocking (pinit's stdout, a pipe shared
    with others) is waited for. Raises OSError with part of the block possibly written."""
    views = [memoryview(piece) for piece in block]
    count = len(views)
    i = written = 0
    while i < count:
        try:
            done = os.writev(fd, views[i : i + IOV_MAX])
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        written += done
        while i < count and done >= len(views[i]):  # whole pieces out, empty ones too
            done -= len(views[i])
            i += 1
        if done:
            views[i] = views[i][done:]
    return written


def fd_sink(fd: int) -> Sink:
    """Write all of a block to an fd (pinit's stdout, for passthrough)."""

    def write(block: Block) -> None:
        write_all(fd, block)

    return write


class Writer:
    """A destination's thread and backlog. `put`, `close` and `on_drained` are loop-side."""

    def __init__(
        self,
        label: str,
        sink: Sink,
        reactor: LogReactor,
        say: Say,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self.label = label
        self._finish = finish  # run by the thread after its last write: closes the file
        self.users = 0  # streams routed here; the capture side closes the writer at zero
        self._sink = sink
        self._reactor = reactor
        self._say = say
        import threading  # only for a log file: off PID 1's start path (issue 7, speed)

        self._cond = threading.Condition(threading.Lock())
        self._blocks: Block = []
        self._tasks: list[Callable[[], None]] = []  # run by the thread between two blocks
        self._queued = 0  # bytes in _blocks plus the block being written
        self._wanted = False  # someone paused on us and waits for LOW_WATER
        self._closing = False
        self._untold: list[str] = []  # complaints queued for the loop thread to say
        self._on_drained: Callable[[], None] | None = None
        self._failed: OSError | None = None
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"pinit-log:{label}", daemon=True)
        self._thread.start()

    def on_drained(self, callback: Callable[[], None]) -> None:
        """Called on the loop thread when a backlog that was over HIGH_WATER is low again."""
        self._on_drained = callback

    def put(self, block: Block) -> bool:
        """Queue a block of whole lines; False means "over the bound: stop reading for me"."""
        size = sum(map(len, block))
        with self._cond:
            self._blocks += block
            self._queued += size
            full = self._queued > HIGH_WATER
            if full:
                self._wanted = True
            self._cond.notify()
        return not full

    def run(self, task: Callable[[], None]) -> None:
        """Run `task` on the thread after the blocks queued so far: at a line boundary, with
        nothing written twice (issue 10: reopen). It runs even when closing."""
        with self._cond:
            self._tasks.append(task)
            self._cond.notify()

    def close(self) -> None:
        """Write what is queued, then end the thread (it also ends at pinit's exit)."""
        with self._cond:
            self._closing = True
            self._cond.notify()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._blocks and not self._tasks and not self._closing:
                    self._cond.wait()
                if not self._blocks and not self._tasks:
                    break
                blocks, self._blocks = self._blocks, []
                tasks, self._tasks = self._tasks, []
            size = sum(map(len, blocks))
            if size:
                self._write(blocks)
            for task in tasks:
                try:
                    task()
                except OSError as exc:  # a reopen that failed: said, and retried at next write
                    self._tell(f"log reopen failed: {exc.strerror or exc}")
            with self._cond:
                self._queued -= size
                wake = self._wanted and self._queued <= LOW_WATER
                if wake:
                    self._wanted = False
            if wake and self._on_drained is not None:
                self._reactor.call_soon_threadsafe(self._on_drained)
        if self._finish is not None:
            # A retired destination's fds go with its thread (issue 11.2: a reload that moved
            # a program to another file used to keep the old file open for good).
            try:
                self._finish()
            except OSError:
                pass

    def _write(self, block: Block) -> None:
        try:
            self._sink(block)
        except OSError as exc:
            if self._failed is None:
                self._failed = exc
                reason = exc.strerror or str(exc)
                self._tell(f"log write failed: {reason} (lines are being dropped)")
            self._dropped += joined(block).count(b"\n")
            return
        except ValueError:  # a sink closed under us at exit
            return
        if self._failed is not None:
            self._failed = None
            dropped, self._dropped = self._dropped, 0
            self._tell(f"log writes resumed ({dropped} lines dropped)")

    def _tell(self, message: str) -> None:
        text = f"{self.label}: {message}"
        with self._cond:
            closing = self._closing
            self._untold.append(text)
            if closing:  # the loop has stopped; the loop thread only joins us now
                told, self._untold = self._untold, []
        if closing:
            for line in told:  # what was queued for the loop first, in order
                self._say(line)
        else:
            self._reactor.call_soon_threadsafe(self.say_untold)

    def say_untold(self) -> None:
        """Say, on the loop thread, what the thread queued to say. Also called once the thread
        is joined at exit: a complaint queued as the loop ran its last turn (a refused
        reopen, say) is still said, once, before the shutdown report."""
        with self._cond:
            told, self._untold = self._untold, []
        for text in told:
            self._say(text)
