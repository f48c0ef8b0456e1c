"""Issue 7.5: ``pinit --config FILE -- CMD ARGS...`` runs CMD as the main program.

As s6-overlay's /init runs an image's CMD: the config's programs start as usual, CMD once they
are ready, its exit status is pinit's (128+N for a signal), and a stop goes CMD first, then the
programs in reverse order. It used to exit 2 ("give either --config FILE or -- CMD").
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Launch, pinit_bin, run
from tests.integration.supervise import SVC, Events, free_ports, svc


def _config(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "pinit.toml"
    sock = tmp_path / "ctl.sock"
    # The body may go on with more [pinit] keys before its first table.
    config.write_text(f'[pinit]\ncontrol_socket = "{sock}"\n' + textwrap.dedent(body))
    return config


def _launch(
    launch: type[Launch], tmp_path: Path, body: str, cmd: list[str]
) -> tuple[Launch, Events]:
    events = Events(tmp_path)
    config = _config(tmp_path, body)
    env = {**os.environ, "EVENTS": str(events.path)}
    return launch([*pinit_bin(), "--config", str(config), "--", *cmd], "pid1", env=env), events


@pytest.mark.parametrize(
    ("script", "code"), [("exit 3", 3), ("exit 0", 0), ("kill -USR1 $$", 128 + 10)]
)
def test_cmds_exit_status_is_pinits(
    launch: type[Launch], tmp_path: Path, script: str, code: int
) -> None:
    (port,) = free_ports(1)
    pinit, events = _launch(
        launch,
        tmp_path,
        # ready once listening, which svc.py does after its TERM handler is in: CMD's quick
        # exit must find db's handler there however slow db's own start is
        f"""
        [programs.db]
        command = {svc("listen", "db", str(port))}
        ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
        """,
        ["sh", "-c", script],
    )
    rc, _, err = pinit.finish()
    assert rc == code, err
    assert events.count("db", "term") == 1  # the programs were stopped on CMD's exit


def test_cmd_starts_after_ready_programs_and_stops_first(
    launch: type[Launch], tmp_path: Path
) -> None:
    port, cron_port = free_ports(2)
    pinit, events = _launch(
        launch,
        tmp_path,
        f"""
        [programs.db]
        command = {svc("listen", "db", str(port), "0.5")}
        ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}
        [programs.cron]
        command = {svc("listen", "cron", str(cron_port))}
        ready = {{ tcp = "127.0.0.1:{cron_port}", interval = "50ms" }}
        [programs.timer]
        command = {svc("run", "timer")}
        start_seconds = "0.1s"
        """,
        [*SVC, "run", "app"],
    )
    listening = events.wait("db", "listening")
    app = events.wait("app", "start")
    assert app.ns > listening.ns
    assert app.ns > events.wait("cron", "listening").ns
    pinit.signal(signal.SIGTERM)
    app_term = events.wait("app", "term")
    assert app_term.ns < events.wait("db", "term").ns
    assert app_term.ns < events.wait("cron", "term").ns
    rc, _, err = pinit.finish()
    assert rc == 0, err  # CMD took the TERM gracefully: a docker stop is no failure
    # a program ready by start_seconds alone gates CMD too: read in pinit's own log, as the
    # programs' lines race (timer's start line may come after CMD's on a busy box)
    lines = (pinit.err_seen.decode() + err).splitlines()
    ready = next(i for i, line in enumerate(lines) if "timer: running (pid" in line)
    started = next(i for i, line in enumerate(lines) if f"cmd: started pid {app.pid}" in line)
    assert ready < started and lines[ready].endswith(", ready"), lines


def test_cmd_wins_over_a_configured_main_and_cmd_after_is_honoured(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, _ = _launch(
        launch,
        tmp_path,
        f"""
        main = "web"
        cmd_after = []
        [programs.web]
        command = {svc("run", "web")}
        start_seconds = "5s"
        """,
        ["sh", "-c", "exit 4"],
    )
    rc, _, err = pinit.finish()
    assert "CMD given: it is the main program; [pinit].main 'web'" in err
    assert rc == 4, err
    # cmd_after = []: CMD did not wait for web's 5 s start_seconds; web got stopped either way
    assert "main program cmd exited (4)" in err


def test_check_explain_shows_cmd_in_the_plan(tmp_path: Path) -> None:
    config = _config(tmp_path, '[programs.db]\ncommand = ["sleep", "1"]\n')
    argv = [*pinit_bin(), "check", "--explain", "--config", str(config), "--", "myapp", "-x"]
    rc, out, err = run(argv, "plain")
    assert rc == 0, err
    assert "  2. cmd" in out and "process cmd [main]" in out
    assert "argv:        myapp -x" in out
    named = _config(tmp_path, '[programs.cmd]\ncommand = ["sleep", "1"]\n')
    rc, _, err = run([*pinit_bin(), "--config", str(named), "--", "true"], "plain", timeout=10)
    assert rc == 2 and "named 'cmd'" in err


def test_a_reload_adding_a_program_does_not_restart_cmd(
    launch: type[Launch], tmp_path: Path
) -> None:
    body = f"""
        [programs.db]
        command = {svc("run", "db")}
        start_seconds = "0.1s"
        """
    pinit, events = _launch(launch, tmp_path, body, [*SVC, "run", "app"])
    app = events.wait("app", "start")
    with (tmp_path / "pinit.toml").open("a") as f:
        f.write(f"[programs.x]\ncommand = {svc('run', 'x')}\n")
    pinit.signal(signal.SIGHUP)
    events.wait("x", "start")  # the reload was applied
    assert events.count("app", "term") == 0
    pinit.signal(signal.SIGTERM)
    assert events.wait("app", "term").pid == app.pid  # the same CMD process all along
    assert events.count("app", "start") == 1
    assert pinit.finish()[0] == 0
