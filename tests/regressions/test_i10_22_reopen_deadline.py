"""Regression (issue 10 review): `ctl logs --reopen` never replied while a log writer stalled.

The reopen runs on each file's writer thread; a thread stuck in a write to a stalled disk
never ran it, so the reply (and the client's connection, which nothing sweeps while a reply
is owed) waited forever. Now, past a deadline, the answer names the files not reopened yet;
their reopen still happens once their writer gets to it. The stall is simulated by a task
that holds the writer thread until the test releases it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pinit.logs.capture import LogRouter
from pinit.runtime.loop import Loop
from tests.unit.test_config_load import ok


def test_a_stalled_writer_gets_a_late_answer_naming_its_file(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    config = ok(f'[programs.a]\ncommand = ["x"]\nstdout = {{ file = "{log}" }}\n')
    loop = Loop()
    router = LogRouter(loop, lambda *args: None)
    router.fds_for("a", config.program("a"))  # its write ends are the router's to close
    entered, release = threading.Event(), threading.Event()

    def stall() -> None:
        entered.set()
        release.wait(30)

    router._writers[str(log)].run(stall)
    assert entered.wait(10)
    got: list[tuple[str, list[str]]] = []

    def late(pending: list[str]) -> None:
        got.append(("late", pending))
        loop.stop()

    router.reopen(lambda done: got.append(("done", done)), 0.2, late)
    guard = loop.call_later(10, loop.stop)
    try:
        loop.run()
        assert got == [("late", [str(log)])]
        # the reopen still happens once the writer is free: it opens the file at its path
        assert not log.exists()  # opened at the first write, or by a reopen
        release.set()
        router.reopen(lambda done: (got.append(("again", done)), loop.stop()))
        loop.run()
        assert got[1:] == [("again", [str(log)])]  # the first one answered once, late
        assert log.exists()
    finally:
        release.set()
        guard.cancel()
        router.close()
        loop.close()
