"""Regression (issue 9 review): a notify value of Unicode digits raised in PID 1's loop.

``Inbox._int`` took ``str.isdigit()`` as "int() will parse it", but superscripts such as
``²`` are digits to ``isdigit`` and not to ``int``: ``EXTEND_TIMEOUT_USEC=²`` raised
ValueError inside the notify callback, so the whole datagram was lost (its ``READY=1`` too)
and, when read by the drain before a reap, that turn's reaping was skipped. Now such a value
is malformed data: counted, ignored, and the rest of the datagram still counts.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.test_watchdog import mark, script, status, until, up

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-notify") is None, reason="systemd-notify is not installed"
)


def test_unicode_digits_are_malformed_not_an_exception(
    launch: type[Launch], tmp_path: Path
) -> None:
    body = f"""
systemd-notify READY=1 EXTEND_TIMEOUT_USEC=² MAINPID=²
systemd-notify --status=after && {mark("sent")}
exec sleep 1000
"""
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.b]
        command = {script(tmp_path, "b", body)}
        ready = {{ notify = true, timeout = "60s" }}
        """,
    )
    first = events.wait("b", "sent")
    row = until(sock, "b", "status_text", "after")  # the second datagram was stepped
    assert row["pid"] == first.pid
    assert row["ready"] is True, row  # READY=1 of the first datagram was not lost with it
    notify = status(sock)["notify"]
    assert isinstance(notify, dict) and notify["malformed"] == 2, notify
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish()
    assert code == 0 and "Traceback" not in err, err
