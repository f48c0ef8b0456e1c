"""One capture pipe (logs.capture): its two ends, its framing state, and how big it may grow.

Why big reads: a read is the unit of everything after it (one framing, one hand-off to the
writer thread and its GIL, one writev), so its size sets the per-byte cost. 200 MB of 97-byte
lines through one pipe into a file rotated at 10 MB, A/B of 7-9 interleaved runs on the 2-core
box (issue 10), pinit's CPU per 100 MB: 64 KiB reads 0.085 s; 256 KiB reads from a grown pipe
0.072 s (supervisord 0.074 s, with rates of 1,290-1,380 MB/s against supervisord's
1,200-1,260). Reading several 64 KiB chunks per wake-up did not help (0.091 s): what counts
is the size of the block handed on, not the number of reads. A read is only as big as the
pipe it drains, and a pipe holds 64 KiB unless grown.

Why only busy pipes grow, and within a budget: F_SETPIPE_SZ charges the whole new capacity
to the pipe's user at once, and a user over `fs.pipe-user-pages-soft` (64 MiB by default)
without CAP_SYS_RESOURCE (root in a default podman or docker container lacks it) gets
two-page pipes from then on: every new pipe of that user, the programs' own shell pipelines
included. Growing every capture pipe to 256 KiB, as pinit once did, crossed that line at 128
streams. So a pipe grows only when a read finds it full (its program writes faster than one
wake-up drains), and all grown pipes together stay within GROW_BUDGET, a quarter of the
default limit; the rest keep the kernel's 64 KiB and work the same, only with more reads.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Callable

from pinit.logs.framing import Framer
from pinit.logs.writer import Writer

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.logs.tail import Tail

__all__ = ["BIG_PIPE", "DEFAULT_PIPE", "GROW_BUDGET", "Route", "Stream", "unread"]

BIG_PIPE = 1 << 18
DEFAULT_PIPE = 1 << 16  # the kernel's; a read this big found the pipe full
GROWTH = BIG_PIPE - DEFAULT_PIPE  # what one grown pipe charges to the budget
GROW_BUDGET = 16 << 20  # bytes of grown capacity, all pipes together (85 grown pipes)

_granted = 0  # grown capacity charged now, in bytes

# destination; prefix (b"" for a file, a clock with `timestamps`); tail of a passthrough-only
Route = tuple[Writer, "bytes | Callable[[], bytes]", "Tail | None"]


class Stream:
    """One pipe: its ends, its framing and where its lines go."""

    __slots__ = ("ends", "framer", "grown", "paused", "read_fd", "routes", "taken", "write_fd")

    def __init__(self, routes: list[Route]) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self.read_fd, False)
        self.framer = Framer()
        self.routes = routes
        self.paused = False
        # None: not grown (asked again at a full read while the budget has no room); True:
        # grown and charged; False: the kernel refused (the user's pipe quota), never again.
        self.grown: bool | None = None
        self.taken = 0  # bytes read from the pipe so far
        # Values of `taken` at which a run ended (exited): rarely more than one. A list, not
        # a deque: an empty deque is 760 bytes, two per instance (issue 7: PSS at 500).
        self.ends: list[int] = []

    def read(self) -> bytes | None:
        """One non-blocking read (b"" at EOF, None when nothing is there) of what the pipe
        holds at most (os.read allocates that much first); a read that found the pipe full
        grows it, if the budget has room."""
        try:
            data = os.read(self.read_fd, BIG_PIPE if self.grown else DEFAULT_PIPE)
        except (BlockingIOError, InterruptedError):
            return None
        if len(data) == DEFAULT_PIPE and self.grown is None:
            self.grown = self._grow()
        return data

    def close_read(self) -> None:
        """The stream is over: its fd goes, and its grown capacity back to the budget."""
        global _granted
        os.close(self.read_fd)
        self.read_fd = -1
        if self.grown:
            _granted -= GROWTH
        self.grown = None

    def _grow(self) -> bool | None:
        """True if the pipe grew and was charged to the budget; None when the budget has no
        room now (a later full read asks again); False when the kernel refused."""
        global _granted
        if _granted + GROWTH > GROW_BUDGET:
            return None
        try:
            fcntl.fcntl(self.read_fd, fcntl.F_SETPIPE_SZ, BIG_PIPE)
        except OSError:  # over the user's pipe quota already: the default size works
            return False
        _granted += GROWTH
        return True


def granted() -> int:
    """Grown capacity charged to the budget now (tests)."""
    return _granted


def unread(fd: int) -> int:
    """Bytes waiting in a pipe (FIONREAD), without reading them.

    termios is imported here, at a program's first exit, not on PID 1's start path (0.4 ms).
    """
    import termios

    try:
        got = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    except OSError:
        return 0
    return int.from_bytes(got, sys.byteorder)
