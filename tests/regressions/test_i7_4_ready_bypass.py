"""Issue 7.4: READY=1 never bypasses a program's own probe; only notify programs see NOTIFY_SOCKET.

A program with ``ready = { tcp = ... }`` that said READY=1 (``systemd-notify --ready``, as many
daemons do whenever NOTIFY_SOCKET is set) was marked ready at once, and its ``after`` dependents
started before its port was open. Now it does not get the variable, and a READY=1 that reaches
pinit anyway (the program found the abstract socket in /proc/net/unix) is ignored.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration.supervise import SVC, free_port, start, svc

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-notify") is None, reason="systemd-notify is not installed"
)


def _toml_array(argv: list[str]) -> str:
    """TOML literal strings; "$" doubled, as pinit expands ${VAR} in commands."""
    return "[" + ", ".join("'" + a.replace("$", "$$") + "'" for a in argv) + "]"


def test_ready_1_does_not_stand_in_for_a_tcp_probe(launch: type[Launch], tmp_path: Path) -> None:
    port = free_port()
    # READY=1 through $NOTIFY_SOCKET if it is set, then through pinit's socket found by name
    # ("@pinit-<its pid>-...-notify"), then open the port only 0.5 s later.
    script = (
        "systemd-notify --ready; "
        'addr=$(grep -o "@pinit-$PPID-[0-9a-f]*-notify" /proc/net/unix | head -n 1); '
        "NOTIFY_SOCKET=$addr systemd-notify --ready && "
        'echo "db notified $$ 0" >> "$EVENTS"; '
        f'exec "$@" listen db {port} 0.5'
    )
    pinit, events = start(
        launch,
        tmp_path,
        # pinit binds its notify socket only for a program that uses it: `notifier` makes it
        # exist (and ready) before db starts and looks for it.
        f"""
        [programs.notifier]
        command = {svc("notify", "notifier")}
        ready = {{ notify = true }}
        [programs.db]
        command = {_toml_array(["sh", "-c", script, "sh", *SVC])}
        ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
        after = ["notifier"]
        [programs.web]
        command = {svc("run", "web")}
        after = ["db"]
        """,
        mode="plain",  # $PPID is pinit's host pid: no other pinit's socket matches
    )
    notified = events.wait("db", "notified")  # READY=1 did reach pinit's socket
    listening = events.wait("db", "listening")
    web = events.wait("web", "start")
    assert notified.ns < listening.ns < web.ns
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_only_notify_programs_get_notify_socket(launch: type[Launch], tmp_path: Path) -> None:
    show = 'echo "$1 env-${NOTIFY_SOCKET:+set} $$ 0" >> "$EVENTS"; exec sleep 1000'
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.plain]
        command = {_toml_array(["sh", "-c", show, "sh", "plain"])}
        [programs.tcp]
        command = {_toml_array(["sh", "-c", show, "sh", "tcp"])}
        ready = {{ command = ["true"] }}
        [programs.notifier]
        command = {svc("notify", "notifier")}
        ready = {{ notify = true }}
        """,
    )
    events.wait("notifier", "notified")  # svc.py read $NOTIFY_SOCKET: it had the variable
    events.wait("plain", "env-")
    events.wait("tcp", "env-")
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
