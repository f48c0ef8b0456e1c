"""The recent lines of a passthrough-only program, kept in memory for `pinit ctl logs` (issue 10).

A program whose lines go only to pinit's stdout (`passthrough`, no `file`) has no file to
tail: once the container runtime took them, pinit cannot read them back. So pinit keeps the
last TAIL_BYTES of what it printed for each such program: the very blocks the passthrough
writer gets (already prefixed `NAME | `), by reference, so keeping them costs no copy. Only
a block bigger than the whole bound is cut, to its last lines that fit.

Followers poll with a cursor (a line number): a reply carries the lines after it and the
next cursor; a follower that fell behind by more than the ring holds is told how many lines
it lost. Nothing in pinit waits for a follower or holds anything for it: a follower that
stops reading costs pinit nothing, which is why this is polled and not pushed.

Figure: at most 64 KiB of line data per passthrough-only program (plus ~100 bytes per held
block), allocated at its first line; none for programs with a file or without capture.
"""

from __future__ import annotations

from collections import deque

__all__ = ["TAIL_BYTES", "Tail"]

TAIL_BYTES = 64 << 10


class Tail:
    __slots__ = ("_blocks", "_bytes", "first", "next")

    def __init__(self) -> None:
        self._blocks: deque[tuple[int, bytes]] = deque()  # (number of its first line, block)
        self._bytes = 0
        self.first = 0  # number of the oldest line held
        self.next = 0  # number the next line will get

    def add(self, block: bytes) -> None:
        """Keep a block of whole lines; drop the oldest blocks beyond the bound."""
        lines = block.count(b"\n")
        if not lines:
            return
        start = self.next
        self.next += lines
        if len(block) > TAIL_BYTES:
            cut = block.find(b"\n", len(block) - TAIL_BYTES - 1) + 1
            start += block.count(b"\n", 0, cut)
            block = block[cut:]
            self._blocks.clear()  # older lines would leave a gap before the kept ones
            self._bytes = 0
        if block:
            self._blocks.append((start, block))
            self._bytes += len(block)
        while self._bytes > TAIL_BYTES:
            _, old = self._blocks.popleft()
            self._bytes -= len(old)
        self.first = self._blocks[0][0] if self._blocks else self.next

    def since(self, cursor: int | None, limit: int) -> tuple[list[bytes], int, int]:
        """(lines after `cursor`, at most `limit`; lines lost before them; the next cursor).

        cursor None: the last `limit` lines (a plain `ctl logs`), nothing counted as lost.
        """
        lines: list[bytes] = []
        blocks: list[tuple[int, bytes]] | deque[tuple[int, bytes]] = self._blocks
        if (
            cursor is not None and cursor <= self.next
        ):  # a follower's poll: split only the blocks it has not read
            blocks = []  # (newest first, then put back in order; regression i10_06)
            for start, block in reversed(self._blocks):
                blocks.append((start, block))
                if start <= cursor:
                    break
            blocks.reverse()
        for start, block in blocks:
            parts = block.split(b"\n")[:-1]
            if cursor is not None and start + len(parts) <= cursor:
                continue
            skip = 0 if cursor is None else max(0, cursor - start)
            lines.extend(parts[skip:])
        if cursor is None:
            return lines[-limit:], 0, self.next
        lost = max(0, self.first - cursor) if cursor < self.next else 0
        if cursor > self.next:  # a cursor from before pinit restarted: start over
            return lines[-limit:], 0, self.next
        taken = lines[:limit]
        return taken, lost, max(cursor, self.first) + len(taken)
