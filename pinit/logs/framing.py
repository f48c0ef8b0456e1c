"""Bytes from a program's pipe in, blocks of whole lines out: the pure half of log capture.

Why blocks and not one `bytes` per line: splitting 200 MB of 97-byte lines into two million
Python objects is what makes a Python logger slow. peers-performance §7 shows the split:
supervisord reaches 562 MB/s by copying big reads with no per-line work (and so rotates in
the middle of a line), while s6-log (222 MB/s) and svlogd (78 MB/s) keep every line whole by
handling them one by one. Here a read is cut once at its last newline (one `rfind`), and
everything before it is complete lines. The lines themselves are only looked at where a line
could be longer than the limit, with one `rfind` per `max_line` window, so a block of short
lines costs a handful of C-level scans.

A block is a list of pieces, each piece whole lines: the line the previous read left
unfinished, completed (a small new `bytes`), then a `memoryview` of the read's own complete
lines. So the bytes of a read are never copied in pinit's memory: the writer hands the pieces
to writev(2) (issue 10: a copy per read, then another to join queued blocks, took as much CPU
as the kernel's own copy into the page cache, and kept pinit's rate below supervisord's).

The rules, which hold for any chunking of the same byte stream (tested with hypothesis):
- a partial line is carried to the next feed;
- a line longer than `max_line` is cut every `max_line` bytes; each cut piece ends with
  CUT_MARK instead of a newline, and the rest goes on as the next line (nothing is dropped);
- at EOF, `flush` ends a trailing partial line with a newline.

No I/O, no threads: capture and the writers use it; either side of DESIGN §2c's choice can.
"""

from __future__ import annotations

__all__ = ["CUT_MARK", "MAX_LINE", "Block", "Framer", "Piece", "joined", "prefix_lines"]

# A line is a record, not a file: 64 KiB is s6-log's default upper range for a line and far
# above any sane log line, yet small enough that a program writing no newline at all (a
# progress bar, binary output) never makes pinit hold more than this per stream.
MAX_LINE = 64 * 1024
CUT_MARK = b" [pinit: line cut]\n"

Piece = bytes | memoryview  # whole lines; a memoryview is of a `bytes` read, never changed
Block = list[Piece]


class Framer:
    """One stream's framing state: only the partial line carried between reads."""

    __slots__ = ("_carry", "max_line")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least 1")
        self.max_line = max_line
        self._carry = b""

    @property
    def pending(self) -> int:
        """Bytes of a partial line held back (a test and the EOF path look at it)."""
        return len(self._carry)

    def feed(self, data: bytes) -> Block:
        """The complete lines that `data` finishes, as pieces ([] when none)."""
        nl = data.rfind(b"\n")
        if nl < 0:
            self._carry += data
            return self._cut_carry() if len(self._carry) > self.max_line else []
        carry, self._carry = self._carry, data[nl + 1 :]
        if carry:  # the usual case, as reads rarely end on a newline
            first = data.find(b"\n") + 1
            head = carry + data[:first]
            block = self._limit(head, 0, len(head))
            if first <= nl:
                block += self._limit(data, first, nl + 1)
        else:
            block = self._limit(data, 0, nl + 1)
        if len(self._carry) > self.max_line:
            block += self._cut_carry()
        return block

    def flush(self) -> Block:
        """At EOF: the partial line, ended with a newline so the next writer starts clean."""
        rest, self._carry = self._carry, b""
        return [rest + b"\n"] if rest else []

    def _cut_carry(self) -> Block:
        """The carry grew past the limit without a newline: emit it in cut pieces."""
        limit = self.max_line
        carry = self._carry
        pieces = []
        while len(carry) > limit:
            pieces.append(carry[:limit] + CUT_MARK)
            carry = carry[limit:]
        self._carry = carry
        return [b"".join(pieces)]

    def _limit(self, data: bytes, start: int, end: int) -> Block:
        """data[start:end] (whole lines) as pieces, any line longer than max_line cut; usually
        one piece, `data` itself or a view of it, with nothing copied.

        Walks windows of max_line + 1 bytes: the last newline in a window ends a line of at
        most max_line bytes, so the next window starts after it. A window without a newline
        holds a too-long line, which is cut at exactly max_line bytes from its start, the same
        place `_cut_carry` cuts, so the chunking of the input never changes the output.
        """
        limit = self.max_line
        first = pos = start
        pieces: list[bytes] = []
        while end - pos > limit + 1:
            nl = data.rfind(b"\n", pos, pos + limit + 1)
            if nl >= 0:
                pos = nl + 1
                continue
            pieces.append(data[first : pos + limit])
            pieces.append(CUT_MARK)
            pos = first = pos + limit
        if pieces:
            pieces.append(data[first:end])
            return [b"".join(pieces)]
        if start == 0 and end == len(data):
            return [data]
        if (end - start) * 2 < len(data):
            # A view keeps its whole read alive while it waits in a writer's backlog, which
            # counts only the view's bytes: "a\nb\n" and then 64 KiB without a newline, read
            # after read, would pin 64 KiB per 2 bytes counted. A copy keeps what the backlog
            # holds within twice what it counts.
            return [data[start:end]]
        return [memoryview(data)[start:end]]


def joined(block: Block) -> bytes:
    """A block as one `bytes`, for the consumers that look into it (prefixes, the tail)."""
    return block[0] if len(block) == 1 and isinstance(block[0], bytes) else b"".join(block)


def prefix_lines(block: bytes, prefix: bytes) -> bytes:
    """`NAME | ` before every line of a block of whole lines (honcho's and foreman's format).

    One C-level `replace` for the whole block, not a Python loop over its lines.
    """
    if not block:
        return b""
    return prefix + block[:-1].replace(b"\n", b"\n" + prefix) + b"\n"
