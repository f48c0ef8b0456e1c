"""Reopening every log file at once (issue 10: logrotate's `postrotate kill -USR1 1`, or
`pinit ctl logs --reopen`), split from logs.capture, whose streams it does not touch.

Each file is closed and opened again on its own writer thread, as a task queued between two
blocks of whole lines, so no line is split or written twice across the reopen. The caller is
told on the loop once every file has been reopened; a writer stalled on its disk must not hold
that answer forever, so with `within` the caller hears `late` instead, once, and the stalled
reopen still happens when its writer gets to it. The timer exists only while a reopen is
pending.
"""

from __future__ import annotations

from collections.abc import Callable

from pinit.logs.rotate import RotatingFile
from pinit.logs.writer import Writer

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.logs.writer import LogReactor

__all__ = ["reopen_all"]


def reopen_all(
    files: list[tuple[Writer, str, RotatingFile]],
    reactor: LogReactor,
    done: Callable[[list[str]], None],
    within: float | None = None,
    late: Callable[[list[str]], None] | None = None,
) -> None:
    """Reopen each (writer, path, file) on its writer; `done(paths)` on the loop once all
    have, or `late(paths not reopened yet)` after `within` seconds if some have not."""
    pending = {path for _, path, _ in files}
    answered = [False]
    if not files:
        done([])
        return

    def one(path: str, rot: RotatingFile) -> Callable[[], None]:
        def task() -> None:
            try:
                rot.reopen()
            finally:
                reactor.call_soon_threadsafe(lambda: finished(path))

        return task

    def finished(path: str) -> None:
        pending.discard(path)
        if not pending and not answered[0]:
            answered[0] = True
            if timer is not None:
                timer.cancel()
            done([path for _, path, _ in files])

    def overdue() -> None:
        if not answered[0] and late is not None:
            answered[0] = True
            late(sorted(pending))

    timer = reactor.call_later(within, overdue) if within and late else None
    for writer, path, rot in files:
        writer.run(one(path, rot))
