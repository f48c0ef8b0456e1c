"""Issue 9: the per-program watchdog and the rest of the notify protocol, end to end.

Clients are systemd's own ``systemd-notify`` (it sends from its own pid, a process in the
program's group, which the sender check accepts) run by small shell programs that report on
the events FIFO. Every wait is on a FIFO line, a stderr line or a bounded series of
``ctl status`` calls; none sleeps.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import Launch
from tests.integration import supervise
from tests.integration.supervise import Events, start
from tests.integration.test_ctl import ctl

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-notify") is None, reason="systemd-notify is not installed"
)

NS_PER_S = 1_000_000_000


def sh(script: str, name: str) -> str:
    """A TOML array running `script` with sh; "$" doubled, as pinit expands ${VAR}."""
    return "['sh', '-c', '" + script.replace("$", "$$") + f"', 'sh', '{name}']"


def script(tmp_path: Path, name: str, body: str) -> str:
    """`body` in a file, run by sh with $1 = name: no quoting through TOML and pinit's ${VAR}."""
    path = tmp_path / f"{name}.sh"
    path.write_text(body)
    return f"['sh', '{path}', '{name}']"


def mark(what: str) -> str:
    """A line on the events FIFO; its time is the wall clock's (`date`), compared only with
    the same program's other lines."""
    return f'echo "$1 {what} $$ $(date +%s%N)" >> "$EVENTS"'


def up(launch: type[Launch], tmp_path: Path, programs: str) -> tuple[Launch, Events, Path]:
    return supervise.up(launch, tmp_path, programs, extra=("-v",))


def status(sock: Path) -> dict[str, object]:
    rc, out, err = ctl(sock, "status", "--json")
    assert rc == 0, err
    reply: dict[str, object] = json.loads(out)
    return reply


def instance(sock: Path, name: str) -> dict[str, object]:
    rows = status(sock)["instances"]
    assert isinstance(rows, list)
    return next(row for row in rows if row["name"] == name)


def until(
    sock: Path, name: str, key: str, want: object, timeout: float = 10.0
) -> dict[str, object]:
    """`ctl status` until the instance's `key` is `want`: a message sent just before the
    request may be stepped in the same turn the request is answered in. Each try is a full
    round trip through pinit's loop (no spin); bounded by time, as a loaded host makes 40
    round trips anything from 0.2 to 20 s."""
    deadline = time.monotonic() + timeout
    row = instance(sock, name)
    while row.get(key) != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}.{key} never became {want!r} in {timeout}s: {row}")
        row = instance(sock, name)
    return row


def stop(pinit: Launch) -> None:
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_watchdog_restarts_a_program_that_stops_pinging(
    launch: type[Launch], tmp_path: Path
) -> None:
    # Pings 16 times, 0.25 s apart (4 s, twice the interval: a pinging program is left alone),
    # then says "quiet" and hangs. It checks its environment first. The interval leaves 1.75 s
    # between two pings, each a systemd-notify process: room for a loaded host's slow spawn.
    script = (
        'ok=no; [ "$WATCHDOG_USEC" = 2000000 ] && [ "$WATCHDOG_PID" = $$ ] && ok=yes; '
        + mark("env-$ok")
        + "; "
        + mark("start")
        + "; i=0; while [ $i -lt 16 ]; do systemd-notify WATCHDOG=1; sleep 0.25; i=$((i+1)); done; "
        + mark("quiet")
        + "; exec sleep 1000"
    )
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.w]
        command = {sh(script, "w")}
        start_seconds = 0
        watchdog = "2s"
        """,
    )
    events.wait("w", "env-yes")
    first = events.wait("w", "start")
    quiet = events.wait("w", "quiet")
    assert events.so_far("w", "start") == 1  # 4 s of pings: no restart
    pinit.wait_stderr("no WATCHDOG=1 for 2s: restarting")
    second = events.wait("w", "start")
    assert second.pid != first.pid
    # The deadline runs from the last ping (just before "quiet"): 2 s, plus the stop and spawn
    # (the upper bound only catches a watchdog far off its interval, not a slow host).
    assert 1 * NS_PER_S < second.ns - quiet.ns < 12 * NS_PER_S
    row = until(sock, "w", "restarts_by_reason", {"watchdog": 1})
    assert row["state"] == "running"
    stop(pinit)


def test_watchdog_trigger_restarts_at_once(launch: type[Launch], tmp_path: Path) -> None:
    flag = tmp_path / "triggered"
    script = (
        mark("start")
        + f"; if [ ! -e {flag} ]; then touch {flag}; systemd-notify WATCHDOG=trigger; fi"
        + "; exec sleep 1000"
    )
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.t]
        command = {sh(script, "t")}
        start_seconds = 0
        watchdog = "1h"
        """,
    )
    events.wait("t", "start")
    pinit.wait_stderr("t: restarting: watchdog")
    events.wait("t", "start", timeout=5)  # long before the 1 h interval
    until(sock, "t", "restarts_by_reason", {"watchdog": 1})
    stop(pinit)


def test_status_and_reloading_are_shown(launch: type[Launch], tmp_path: Path) -> None:
    go = tmp_path / "s.go"
    os.mkfifo(go)
    body = f"""
systemd-notify --ready --status='serving 3 clients' && {mark("said")}
read x < {go}
systemd-notify RELOADING=1 && {mark("reloading")}
exec sleep 1000
"""
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.s]
        command = {script(tmp_path, "s", body)}
        ready = {{ notify = true }}
        """,
    )
    events.wait("s", "said")
    row = until(sock, "s", "status_text", "serving 3 clients")
    assert row["ready"] is True and row["sub_state"] == ""
    rc, table, _ = ctl(sock, "status")
    assert rc == 0 and "STATUS" in table and "serving 3 clients" in table
    with open(go, "w") as f:
        f.write("go\n")
    events.wait("s", "reloading")
    until(sock, "s", "sub_state", "reloading")
    rc, table, _ = ctl(sock, "status")
    assert "running/reloading" in table
    notify = status(sock)["notify"]
    # "refused" may count a BARRIER=1 datagram: systemd-notify exits as soon as pinit has read
    # it, and may be reaped by its shell before pinit looks its pid up (a dropped barrier).
    assert isinstance(notify, dict) and (notify["oversized"], notify["malformed"]) == (0, 0)
    stop(pinit)


def test_mainpid_names_a_forked_daemon(launch: type[Launch], tmp_path: Path) -> None:
    # The parent forks the daemon, which names itself with MAINPID= and READY=1 in one
    # datagram; the parent exits once it has. The daemon's death is then what counts.
    fifo = tmp_path / "forked"
    os.mkfifo(fifo)
    daemon = f"""
systemd-notify --ready MAINPID=$$ && {mark("daemon")}
echo ok > {fifo}
exec sleep 1000
"""
    (tmp_path / "daemon.sh").write_text(daemon)
    body = f"""
{mark("parent")}
sh {tmp_path / "daemon.sh"} "$1" &
read x < {fifo}
{mark("parent-exit")}
"""
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.f]
        command = {script(tmp_path, "f", body)}
        ready = {{ notify = true }}
        restart = "always"
        backoff = {{ initial = "0s" }}
        """,
    )
    events.wait("f", "parent")
    child = events.wait("f", "daemon")
    events.wait("f", "parent-exit")
    pinit.wait_stderr(f"main pid is now {child.pid}")
    row = until(sock, "f", "pid", child.pid)
    assert row["state"] == "running" and row["ready"] is True and row["restarts"] == 0
    os.kill(child.pid, signal.SIGKILL)  # the named main pid dies: the instance restarts
    pinit.wait_stderr(f"pid {child.pid} killed by SIGKILL")
    events.wait("f", "parent")
    until(sock, "f", "restarts_by_reason", {"exited": 1})
    stop(pinit)


def test_extend_timeout_usec_extends_the_ready_timeout(
    launch: type[Launch], tmp_path: Path
) -> None:
    # ready.timeout is 1 s; the program asks for 4 s more and is ready after 2 s.
    body = f"""
{mark("start")}
systemd-notify EXTEND_TIMEOUT_USEC=4000000
sleep 2
systemd-notify --ready && {mark("ready")}
exec sleep 1000
"""
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.e]
        command = {script(tmp_path, "e", body)}
        ready = {{ notify = true, timeout = "1s" }}
        """,
    )
    first = events.wait("e", "start")
    events.wait("e", "ready")
    assert events.so_far("e", "start") == 1  # not restarted at 1 s
    row = until(sock, "e", "ready", True)
    assert row["pid"] == first.pid and row["restarts"] == 0
    stop(pinit)


def test_memory_limit_restarts_a_growing_program(launch: type[Launch], tmp_path: Path) -> None:
    grow = (
        "import os, sys, time\n"
        "n, chunks = sys.argv[1], []\n"
        "line = f'{n} start {os.getpid()} {time.monotonic_ns()}\\n'\n"
        "os.write(os.open(os.environ['EVENTS'], os.O_WRONLY | os.O_APPEND), line.encode())\n"
        "while True:\n"
        "    chunks.append(b'x' * (4 << 20))  # written, so resident\n"
        "    time.sleep(0.05)\n"
        "    if len(chunks) > 100: time.sleep(1000)\n"
    )
    prog = tmp_path / "grow.py"
    prog.write_text(grow)
    sock = tmp_path / "ctl.sock"
    body = f"""
    [pinit]
    control_socket = "{sock}"
    memory_interval = "100ms"
    [programs.m]
    command = ["{os.sys.executable}", "{prog}", "m"]
    start_seconds = 0
    max_memory = "48MiB"
    max_memory_for = "200ms"
    """
    pinit, events = start(launch, tmp_path, textwrap.dedent(body), mode="plain")
    first = events.wait("m", "start")
    line = pinit.wait_stderr("m: resident memory")
    assert "> max_memory 48.0MiB" in line
    pinit.wait_stderr("m: restarting: memory")
    second = events.wait("m", "start")
    assert second.pid != first.pid
    until(sock, "m", "restarts_by_reason", {"memory": 1})
    stop(pinit)


def test_max_lifetime_restarts_one_instance_at_a_time(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.l]
        command = {script(tmp_path, "l", mark("start") + "; exec sleep 1000")}
        numprocs = 2
        start_seconds = 0
        max_lifetime = "1s"
        max_lifetime_jitter = 0
        """,
    )
    events.wait("l", "start")
    events.wait("l", "start")
    # Staggered: the second instance's lifetime restart waits for the first to run again
    # (wait_stderr reads on, line by line: a second "reached" before "running" is skipped and
    # the next one found would be the first instance's again, a second later).
    first = pinit.wait_stderr("max_lifetime reached").split(": ")[1]
    pinit.wait_stderr(f"{first}: running")
    other = pinit.wait_stderr("max_lifetime reached").split(": ")[1]
    assert {first, other} == {"l-1", "l-2"}
    events.wait("l", "start")
    events.wait("l", "start")
    rows = status(sock)["instances"]
    assert isinstance(rows, list)
    assert all(row["restarts_by_reason"].get("lifetime", 0) >= 1 for row in rows)
    stop(pinit)


def test_malformed_and_oversized_datagrams_are_counted_and_ignored(
    launch: type[Launch], tmp_path: Path
) -> None:
    # MAINPID of a process that is not the program's (pid 1 of the host), one that does not
    # parse, and a datagram past 4096 bytes; then a good STATUS= to wait on.
    big = "y" * 5000
    body = f"""
systemd-notify --ready
systemd-notify MAINPID=1
systemd-notify MAINPID=abc
systemd-notify --status={big}
systemd-notify --status=fine && {mark("sent")}
exec sleep 1000
"""
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.b]
        command = {script(tmp_path, "b", body)}
        ready = {{ notify = true }}
        """,
    )
    first = events.wait("b", "sent")
    row = until(sock, "b", "status_text", "fine")
    assert row["pid"] == first.pid and row["state"] == "running"
    notify = status(sock)["notify"]  # "refused": see test_status_and_reloading_are_shown
    assert isinstance(notify, dict) and (notify["oversized"], notify["malformed"]) == (1, 2)
    stop(pinit)


def test_mainpid_sent_just_before_the_parent_exits_wins_the_race(
    launch: type[Launch], tmp_path: Path
) -> None:
    # pinit is held stopped while another program exits (its SIGCHLD is pending first), then
    # the parent names its daemon (no barrier: --no-block) and exits. One reap collects both
    # deaths; the notify socket is read before they are handled (as systemd orders them), so
    # the daemon becomes the main pid instead of being cleaned up with its parent's group.
    go, go_other = tmp_path / "go", tmp_path / "go-other"
    os.mkfifo(go)
    os.mkfifo(go_other)
    body = f"""
sh -c '{mark("daemon")}; exec sleep 1000' sh "$1" &
{mark("parent")}
read x < {go}
systemd-notify --no-block --ready MAINPID=$!
"""
    other = f"{mark('other')}; read x < {go_other}"
    pinit, events, sock = up(
        launch,
        tmp_path,
        f"""
        [programs.r]
        command = {script(tmp_path, "r", body)}
        ready = {{ notify = true }}
        restart = "always"
        [programs.o]
        command = {script(tmp_path, "o", other)}
        restart = "never"
        """,
    )
    child = events.wait("r", "daemon")
    parent = events.wait("r", "parent")
    other_pid = events.wait("o", "other").pid
    pinit.proc.send_signal(signal.SIGSTOP)
    try:
        for fifo, pid in ((go_other, other_pid), (go, parent.pid)):
            exited = os.pidfd_open(pid)
            with open(fifo, "w") as f:
                f.write("go\n")
            assert select.select([exited], [], [], 10)[0]  # dead (pinit has not reaped it)
            os.close(exited)
    finally:
        pinit.proc.send_signal(signal.SIGCONT)
    pinit.wait_stderr(f"main pid is now {child.pid}")
    row = until(sock, "r", "pid", child.pid)
    assert row["state"] == "running" and row["ready"] is True and row["restarts"] == 0
    stop(pinit)
