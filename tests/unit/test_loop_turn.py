"""runtime/loop.py's after-turn hook: the supervisor steps its model once per turn, after that
turn's callbacks and before the next wait (so a deadline it arms is seen by that wait)."""

from __future__ import annotations

import os

from pinit.runtime.loop import Loop


def test_after_turn_runs_once_per_turn_after_the_callbacks() -> None:
    loop = Loop()
    r, w = os.pipe()
    order: list[str] = []
    turns = 0

    def read(fd: int) -> None:
        os.read(fd, 10)
        order.append("read")

    def after() -> None:
        nonlocal turns
        turns += 1
        order.append("turn")
        if turns == 1:  # first pass, before any wait: the boot's events; arm work for the next
            os.write(w, b"x")
            loop.call_later(0, lambda: order.append("timer"))
        else:
            loop.stop()

    loop.add_reader(r, read)
    loop.after_turn(after)
    guard = loop.call_later(10, loop.stop)
    try:
        loop.run()
    finally:
        guard.cancel()
        loop.remove(r)
        loop.close()
        os.close(r)
        os.close(w)
    assert order == ["turn", "read", "timer", "turn"]
