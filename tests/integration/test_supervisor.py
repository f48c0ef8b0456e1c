"""`pinit --config`: lifecycle, order, exit status, reload, no survivors; real processes."""

from __future__ import annotations

import os
import signal
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, Launch, pinit_bin, processes_with_arg, run
from tests.integration.supervise import free_port, listener, start, svc


def test_restart_after_a_crash(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.app]
        command = {svc("run", "app")}
        start_seconds = "0.2s"
        backoff = {{ initial = "0s" }}
        """,
        mode="plain",
    )
    first = events.wait("app", "start")
    os.kill(first.pid, signal.SIGKILL)
    second = events.wait("app", "start")
    assert second.pid != first.pid
    pinit.signal(signal.SIGTERM)
    events.wait("app", "term")
    assert pinit.finish()[0] == 0


@pytest.mark.parametrize("on_fatal", ["shutdown", "ignore"])
def test_fatal_after_retries(launch: type[Launch], tmp_path: Path, on_fatal: str) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [pinit]
        on_fatal = "{on_fatal}"
        [programs.bad]
        command = {svc("exit", "bad", "3")}
        start_seconds = "5s"
        start_retries = 2
        backoff = {{ initial = "10ms", max = "20ms" }}
        after = ["other"]
        [programs.other]
        {listener("other")}
        """,
    )
    events.wait("other", "start")
    if on_fatal == "ignore":
        pinit.wait_stderr("bad: gave up")
        pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 1, err  # a program ended FATAL, whoever stopped the rest
    shutdowns = [line for line in err.splitlines() if "shutting down:" in line]
    if on_fatal == "ignore":  # other kept running after bad gave up: only our TERM stops it
        assert len(shutdowns) == 1 and "received SIGTERM" in shutdowns[0], err
    else:
        assert len(shutdowns) == 1 and "on_fatal is shutdown" in shutdowns[0], err
    assert events.count("bad", "start") == 3  # the first start and two retries
    assert events.count("other", "term") == 1


def test_main_exit_status_becomes_pinits(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [pinit]
        main = "app"
        [programs.app]
        command = {svc("exit", "app", "7", "0.3")}
        restart = "never"
        after = ["side"]
        [programs.side]
        {listener("side")}
        """,
    )
    events.wait("side", "start")
    rc, _, err = pinit.finish()
    assert rc == 7, err
    assert events.count("side", "term") == 1


def test_critical_program_ends_the_container(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.job]
        command = {svc("exit", "job", "5", "0.2")}
        restart = "never"
        critical = true
        after = ["side"]
        [programs.side]
        {listener("side")}
        """,
    )
    events.wait("job", "start")
    rc, _, err = pinit.finish()
    assert rc == 5, err
    assert events.count("side", "term") == 1


def test_sigterm_stops_cleanly_with_status_0(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(launch, tmp_path, f"[programs.a]\ncommand = {svc('run', 'a')}\n")
    events.wait("a", "start")
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 0, err
    assert "shutdown report" in err and "a: SIGTERM" in err


def _provider(kind: str, port: int) -> tuple[str, str]:
    """A program that becomes ready late, its `ready` table, and the event it records then.

    http answers 503 at first although its port is open at once, as gunicorn binds before its
    workers can serve: only a 2xx may release the dependent."""
    if kind == "tcp":
        command = svc("listen", "db", str(port), "0.5")
        ready = f'{{ tcp = "127.0.0.1:{port}", interval = "50ms" }}'
        return f"command = {command}\nready = {ready}", "listening"
    if kind == "http":
        command = svc("http", "db", str(port), "0.6")
        ready = f'{{ http = "http://127.0.0.1:{port}/health", interval = "50ms" }}'
        return f"command = {command}\nready = {ready}", "healthy"
    return f"command = {svc('notify', 'db')}\nready = {{ notify = true }}", "notified"


@pytest.mark.parametrize("kind", ["tcp", "http", "notify"])
def test_dependent_starts_after_readiness_and_stops_first(
    launch: type[Launch], tmp_path: Path, kind: str
) -> None:
    provider, ready_event = _provider(kind, free_port())
    pinit, events = start(
        launch,
        tmp_path,
        f"[programs.db]\n{provider}\n"
        f'[programs.web]\ncommand = {svc("run", "web")}\nafter = ["db"]\n',
    )
    ready = events.wait("db", ready_event)
    assert events.wait("web", "start").ns > ready.ns
    pinit.signal(signal.SIGTERM)
    web_term = events.wait("web", "term")
    db_term = events.wait("db", "term")
    assert web_term.ns < db_term.ns
    assert pinit.finish()[0] == 0


def test_stop_timeout_escalates_to_kill_of_the_group(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.stub]
        command = {svc("stubborn", "stub")}
        stop_timeout = "0.3s"
        """,
        mode="plain",
    )
    main = events.wait("stub", "start")
    grandchild = events.wait("stub", "grandchild")
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 128 + signal.SIGKILL, err
    assert "needed SIGKILL" in err
    for pid in (main.pid, grandchild.pid):
        assert not os.path.exists(f"/proc/{pid}")


def test_a_dead_masters_workers_are_stopped_before_the_restart(
    launch: type[Launch], tmp_path: Path
) -> None:
    """gunicorn under supervisord: kill -9 the master, its workers keep the port, and every
    new master fails with "Connection in use". pinit stops the old group first."""
    port = free_port()
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.app]
        command = {svc("master", "app", str(port), "2")}
        start_seconds = "0.2s"
        backoff = {{ initial = "0s" }}
        stop_timeout = "2s"
        """,
        mode="plain",
    )
    first = events.wait("app", "start")
    workers = [events.wait("app", "worker").pid for _ in range(2)]
    os.kill(first.pid, signal.SIGKILL)
    second = events.wait("app", "start")
    assert second.pid != first.pid
    assert events.so_far("app", "bind-failed") == 0  # each master writes it before "start"
    assert all(not os.path.exists(f"/proc/{pid}") for pid in workers)
    pinit.signal(signal.SIGTERM)
    pinit.finish()


def test_setsid_daemon_is_stopped_with_its_program(launch: type[Launch], tmp_path: Path) -> None:
    mark = f"{uuid.uuid4().int % 10**6 + 10**6}.25"
    pinit, events = start(
        launch,
        tmp_path,
        f"[programs.d]\ncommand = {svc('daemon', 'd', mark)}\n",
        mode="plain",
    )
    events.wait("d", "start")
    assert processes_with_arg(mark)  # the daemon is up, outside the program's group
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert processes_with_arg(mark) == []
    assert rc == 0, err


def test_hup_reload_applies_only_the_difference(launch: type[Launch], tmp_path: Path) -> None:
    body = """
        [programs.keep]
        command = {keep}
        [programs.change]
        command = {change}
        [programs.drop]
        command = {drop}
        """
    first = body.format(
        keep=svc("run", "keep"), change=svc("run", "change"), drop=svc("run", "drop")
    )
    pinit, events = start(launch, tmp_path, first)
    keep = events.wait("keep", "start")
    old_change = events.wait("change", "start")
    events.wait("drop", "start")

    config = tmp_path / "pinit.toml"
    config.write_text("[programs.keep]\ncommand = [\n")  # broken: must be refused
    pinit.signal(signal.SIGHUP)
    pinit.wait_stderr("reload refused")
    config.write_text(
        textwrap.dedent(
            f"""
            [programs.keep]
            command = {svc("run", "keep")}
            [programs.change]
            command = {svc("run", "change", "v2")}
            [programs.new]
            command = {svc("run", "new")}
            """
        )
    )
    pinit.signal(signal.SIGHUP)
    events.wait("new", "start")
    events.wait("drop", "term")
    events.wait("change", "term")
    assert events.wait("change", "start").pid != old_change.pid
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 0, err
    assert events.count("keep", "start") == 1  # untouched: same pid all along
    assert next(ev.pid for ev in events.seen if ev.name == "keep") == keep.pid


def test_invalid_config_is_refused_with_every_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[programs.a]\ncomand = ["x"]\n[programs.b]\ncommand = ["true"]\nnumprocs = 0\n'
    )
    rc, _, err = run([*pinit_bin(), "--config", str(config)], "plain")
    assert rc == 1
    assert f"{config}:2: programs.a.comand: unknown key" in err and "did you mean 'command'" in err
    assert f"{config}:5: programs.b.numprocs" in err
    assert f"{config}:1: programs.a: missing required key 'command'" in err
    assert "refusing to start: 3 error(s)" in err


def test_unknown_user_is_refused_before_anything_starts(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[programs.b]\ncommand = ["true"]\nuser = "no-such-user-xyz"\n')
    rc, _, err = run([*pinit_bin(), "--config", str(config)], "plain")
    assert rc == 1
    assert "programs.b.user: no such user 'no-such-user-xyz'" in err
    assert "started" not in err


def test_manager_title_from_config_name(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch, tmp_path, f'[pinit]\nname = "shop"\n[programs.a]\ncommand = {svc("run", "a")}\n'
    )
    events.wait("a", "start")
    with open(f"/proc/{pinit.init_pid()}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"pinit-shop-manager"
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


@pytest.mark.parametrize("numprocs", [3])
def test_numprocs_copies_each_with_its_number(
    launch: type[Launch], tmp_path: Path, numprocs: int
) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"[programs.w]\ncommand = {svc('run', 'w')}\nnumprocs = {numprocs}\n",
        mode="plain",
    )
    pids = [events.wait("w", "start").pid for _ in range(numprocs)]
    nums = set()
    for pid in pids:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        nums.add(env[b"PINIT_PROCESS_NUM"])
        assert env[b"PINIT_INSTANCE"] == b"w-" + env[b"PINIT_PROCESS_NUM"]
    assert nums == {b"1", b"2", b"3"}
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_check_command_readiness(launch: type[Launch], tmp_path: Path) -> None:
    flag = tmp_path / "ready.flag"
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.slow]
        command = ["sh", "-c", "sleep 0.4; touch {flag}; exec sleep 1000"]
        ready = {{ command = ["test", "-e", "{flag}"], interval = "50ms" }}
        [programs.next]
        command = {svc("run", "next")}
        after = ["slow"]
        """,
    )
    events.wait("next", "start")
    assert flag.exists()  # started only once the check command succeeded
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_other_signals_are_passed_on_to_every_program(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.a]
        command = {svc("signals", "a")}
        [programs.b]
        command = {svc("signals", "b")}
        """,
    )
    events.wait("a", "start")
    events.wait("b", "start")
    pinit.signal(signal.SIGUSR1)
    events.wait("a", f"got-{int(signal.SIGUSR1)}")
    events.wait("b", f"got-{int(signal.SIGUSR1)}")
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0


def test_pinit_check_cli(tmp_path: Path) -> None:
    rc, out, _ = run(
        [*pinit_bin(), "check", "--config", str(ROOT / "examples" / "pinit.toml")], "plain"
    )
    assert rc == 0 and "OK (2 programs" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[programs.a]\ncommand = ["true"]\nafter = ["a"]\n')
    rc, _, err = run([*pinit_bin(), "check", "--config", str(bad)], "plain")
    assert rc == 1
    assert "programs.a.after" in err and "a -> a" in err


def test_a_second_sigterm_kills_at_once(launch: type[Launch], tmp_path: Path) -> None:
    """Ctrl-C twice: no waiting out a 60 s stop_timeout (finish() allows only 10 s)."""
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.stub]
        command = {svc("stubborn", "stub")}
        stop_timeout = "60s"
        """,
    )
    events.wait("stub", "start")
    pinit.signal(signal.SIGTERM)
    pinit.wait_stderr("stub: stopping")
    pinit.signal(signal.SIGINT)
    rc, _, err = pinit.finish(timeout=10)
    assert rc == 128 + signal.SIGKILL, err
    assert "SIGKILL to every program now" in err


def test_docker_stop_of_main_is_a_clean_exit(launch: type[Launch], tmp_path: Path) -> None:
    """main dies of the SIGTERM pinit passed on: 0, not 143 (graceful_exit_codes)."""
    pinit, events = start(
        launch,
        tmp_path,
        """
        [pinit]
        main = "app"
        [programs.app]
        command = ["sh", "-c", "echo \\"app start $$$$ 0\\" >> \\"$$EVENTS\\"; exec sleep 1000"]
        """,
    )
    events.wait("app", "start")
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 0, err
    assert "app: pid" in err and "killed by SIGTERM" in err


def test_programs_get_none_of_pinits_inherited_fds(tmp_path: Path) -> None:
    """An fd pinit's parent left open (a CI runner's pipe) must not reach programs, even
    though programs start by posix_spawn, which closes nothing itself."""
    config = tmp_path / "pinit.toml"
    out = tmp_path / "fds.txt"
    config.write_text(
        "[pinit]\nmain = 'probe'\n[programs.probe]\nrestart = 'never'\n"
        f"command = ['sh', '-c', 'ls /proc/self/fd > {out}']\n"
    )
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        rc, _, err = run([*pinit_bin(), "--config", str(config)], "plain", pass_fds=(w,))
    finally:
        os.close(r)
        os.close(w)
    assert rc == 0, err
    fds = {int(fd) for fd in out.read_text().split()}
    assert w not in fds
