"""The time prefix of `timestamps = true` (issue 10): RFC 3339, UTC, milliseconds.

UTC with `Z`, not the local offset: a container's zone is usually UTC anyway, and a log
shipped elsewhere must not need the host's zone to be read; `2026-01-02T03:04:05.678Z` sorts
as text. The time is when the loop read the lines from the program's pipe, one stamp per read
(a block of whole lines), so the cost is one clock read and one small format per read, not per
line; the seconds part is formatted once a second.
"""

from __future__ import annotations

import time

__all__ = ["stamp"]

_last = [-1, b""]  # the second formatted last, and its text up to the seconds


def stamp() -> bytes:
    """`2026-01-02T03:04:05.678Z ` for now."""
    now = time.time()
    sec = int(now)
    if sec != _last[0]:
        _last[0], _last[1] = sec, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)).encode()
    head = _last[1]
    assert isinstance(head, bytes)
    return b"%s.%03dZ " % (head, int((now - sec) * 1000))
