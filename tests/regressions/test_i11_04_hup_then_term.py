"""Issue 11.4 (loop side): a reload that fails never swallows a TERM of the same signal batch.

The loader raised on some inputs (a user of "²"); the exception left the batch's handler, and
what the batch still had to do was skipped: here the drain of the stop a TERM had just queued,
so pinit ran on until some unrelated event. pinit is stopped (SIGSTOP) while HUP and TERM are
sent, so both are pending and arrive in one batch when it continues (the kernel delivers HUP
first, TERM interrupts its handler, so the batch reads TERM, HUP). The program is past its
start_seconds first, so no timer of its own drains the queue by chance.
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import start, svc


def test_term_in_the_batch_of_a_failing_reload_still_stops_pinit(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.app]
        command = {svc("run", "app")}
        start_seconds = "0.1s"
        """,
        mode="plain",
    )
    events.wait("app", "start")
    pinit.wait_stderr("app: running")
    # An input the loader once crashed on; refused with a located error once fixed. Either
    # way the reload fails, and the TERM must still be handled.
    (tmp_path / "pinit.toml").write_text(
        textwrap.dedent(
            f"""
            [programs.app]
            command = {svc("run", "app")}
            user = "\u00b2"
            """
        )
    )
    pid = pinit.init_pid()
    os.kill(pid, signal.SIGSTOP)
    try:
        os.kill(pid, signal.SIGHUP)
        os.kill(pid, signal.SIGTERM)
    finally:
        os.kill(pid, signal.SIGCONT)
    events.wait("app", "term")
    rc, _, err = pinit.finish(timeout=10)
    assert "reload refused" in err or "error" in err, err
    assert "shutting down: received SIGTERM" in err, err
    assert rc == 0, err
