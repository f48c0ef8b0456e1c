"""Found by CI on the issue 11.1 regression (test_i11_01b): a log writer's complaint could be
lost at exit. The writer thread handed it to the loop (call_soon_threadsafe) unless the writer
was already closing; pinit's exit drains the pipes after the loop's last turn, so a rotation
refused during that drain, written before the writer was closed, queued its "refusing to
write" for a loop that never ran again. Now the writer keeps what it has to say until the loop
thread says it, and the capture says what is left once each writer thread is joined."""

from __future__ import annotations

import threading
from collections.abc import Callable

from pinit.logs.writer import Writer


class StoppedLoop:
    """A reactor whose loop has run its last turn: what is queued is never run."""

    def __init__(self) -> None:
        self.queued: list[Callable[[], None]] = []
        self.woken = threading.Event()

    def add_reader(self, fd: int, callback: Callable[[int], None]) -> None:
        raise AssertionError("not used")

    def remove(self, fd: int) -> None:
        raise AssertionError("not used")

    def call_soon_threadsafe(self, callback: Callable[[], None]) -> None:
        self.queued.append(callback)
        self.woken.set()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        raise AssertionError("not used")


def _refusing(block: list[bytes]) -> None:
    raise PermissionError(13, "refusing to write app.log: /var is writable by group 0")


def test_a_complaint_queued_as_the_loop_stopped_is_said_once_after_the_join() -> None:
    said: list[str] = []
    loop = StoppedLoop()
    writer = Writer("app", _refusing, loop, said.append)  # type: ignore[arg-type]
    writer.put([b"a line\n"])  # written (and refused) before the writer is closed
    assert loop.woken.wait(10)  # the thread met the error and queued its complaint
    writer.close()
    assert writer.join(10)
    assert said == []  # the loop never ran: nothing said yet
    writer.say_untold()  # what Capture.close does after each join
    reason = "refusing to write app.log: /var is writable by group 0"
    assert said == [f"app: log write failed: {reason} (lines are being dropped)"]
    for callback in loop.queued:  # had the loop run it after all: said once, not twice
        callback()
    assert len(said) == 1
