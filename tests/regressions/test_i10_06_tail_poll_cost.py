"""Regression (issue 10 review): each `ctl logs -f` poll of a passthrough-only program split
every block of its in-memory tail, read or not.

A poll runs in PID 1's loop, five times a second per follower: with one block per line (a
program that prints a line at a time) that was ~0.2 ms per program per poll, whatever was
new, so `ctl logs -f all` over a hundred such programs held the loop ~20 ms five times a
second. A poll with a cursor now looks only at the blocks from the cursor on.
"""

from __future__ import annotations

from pinit.logs.tail import Tail


class _Counted(bytes):
    splits = 0

    def split(self, *args: object, **kwargs: object) -> list[bytes]:  # type: ignore[override]
        _Counted.splits += 1
        return super().split(*args, **kwargs)  # type: ignore[arg-type]


def test_a_poll_splits_only_the_blocks_after_its_cursor() -> None:
    tail = Tail()
    for i in range(500):
        tail.add(_Counted(b"p | line %04d\n" % i))
    cursor = tail.next - 2
    _Counted.splits = 0
    lines, lost, nxt = tail.since(cursor, 100)
    assert (lines, lost, nxt) == ([b"p | line 0498", b"p | line 0499"], 0, 500)
    assert _Counted.splits <= 2
    assert tail.since(nxt, 100) == ([], 0, 500)
    assert tail.since(None, 3)[0] == [b"p | line %04d" % i for i in (497, 498, 499)]
