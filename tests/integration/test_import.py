"""`pinit import` on real files nobody on the project wrote (issue 10): supervisor's shipped
sample config (its skel/sample.conf, and what `echo_supervisord_conf` prints), Debian's
/etc/supervisor/supervisord.conf when the package is installed, and a shop (redis ->
gunicorn -> nginx) written the way supervisord's and foreman's docs write one. Each import is
valid TOML; those with programs pass `pinit check`; the shop's run under pinit (every process
starts) and stop cleanly (exit 0, none left)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, Launch, pinit_bin, processes_with_arg
from tests.integration.supervise import free_ports

SHOP = ROOT / "tests" / "data" / "import" / "shop"
APT_CONF = Path("/etc/supervisor/supervisord.conf")
NOT_PROGRAMS = ("unix_http_server", "rpcinterface:supervisor", "supervisorctl")


def pinit_import(*args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    done = subprocess.run(
        [*pinit_bin(), "import", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    tomllib.loads(done.stdout)
    return done.stdout, done.stderr


def pinit_check(path: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [*pinit_bin(), "check", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def sample_conf() -> Path:
    skel = pytest.importorskip("supervisor").__file__
    assert skel is not None
    return Path(skel).parent / "skel" / "sample.conf"


def test_supervisors_sample_conf(tmp_path: Path) -> None:
    out, err = pinit_import(str(sample_conf()), "--explain")
    for section in NOT_PROGRAMS:
        assert f"# [{section}] not translated: " in out
    assert "# [supervisord] pidfile = /tmp/supervisord.pid: pinit writes no pidfile" in out
    assert "no programs found" in err  # every [program:x] of the sample is commented out


def test_echo_supervisord_conf_output(tmp_path: Path) -> None:
    echo = Path(sys.executable).parent / "echo_supervisord_conf"
    if not echo.exists():
        pytest.skip("supervisor's echo_supervisord_conf is not installed")
    conf = tmp_path / "supervisord.conf"
    conf.write_text(subprocess.run([str(echo)], capture_output=True, text=True, check=True).stdout)
    out, _ = pinit_import(str(conf))
    assert "# [supervisorctl] not translated: " in out


def test_sample_conf_with_its_examples_uncommented(tmp_path: Path) -> None:
    """The sample's own [program:x], [eventlistener:x], [group:x] and [include] examples,
    uncommented (only the user and log path swapped for ones this host has)."""
    example = re.compile(r"^;(?=\[|[a-z_.]+ ?=)", re.MULTILINE)
    text = example.sub("", sample_conf().read_text()).replace("user=chrism", f"user={os.getuid()}")
    text = text.replace("/a/path", str(tmp_path / "cat.log"))
    conf = tmp_path / "supervisord.conf"
    conf.write_text(text)
    out, err = pinit_import(str(conf), "--explain")
    data = tomllib.loads(out)
    prog = data["programs"]["theprogramname"]
    assert prog["command"] == "/bin/cat"
    assert prog["stop_signal"] == "QUIT"
    assert prog["stdout"]["file"] == str(tmp_path / "cat.log")
    assert "# [eventlistener:theeventlistenername] not translated" in out
    assert "# [inet_http_server] not translated" in out
    assert "names unknown program 'progname1'" in err
    toml = tmp_path / "pinit.toml"
    toml.write_text(out)
    assert "OK (1 program, 1 process)" in pinit_check(toml)


@pytest.mark.skipif(not APT_CONF.exists(), reason="Debian's supervisor package is not installed")
def test_debians_supervisord_conf() -> None:
    out, err = pinit_import(str(APT_CONF), "--explain")
    assert "# [unix_http_server] not translated" in out
    assert "[supervisord] childlogdir = /var/log/supervisor" in out
    assert "[include]" in err  # its files=/etc/supervisor/conf.d/*.conf was followed


def run_shop(
    launch: type[Launch], tmp_path: Path, toml: str, env: dict[str, str], names: list[str]
) -> None:
    """Run an imported config: every process starts, TERM stops them all, exit 0, none left."""
    config = tmp_path / "pinit.toml"
    config.write_text(toml + f'\n[pinit]\ncontrol_socket = "{tmp_path}/ctl.sock"\n')
    full = {**os.environ, **env}
    pinit_check(config, env)
    pinit = launch([*pinit_bin(), "--config", str(config)], "plain", env=full)
    for name in names:  # in any order: a wait consumes the lines before its match
        if f"{name}: running (pid".encode() not in pinit.err_seen:
            pinit.wait_stderr(f"{name}: running (pid", timeout=30)
    alive = processes_with_arg(str(tmp_path))  # every stand-in has the app dir in its argv
    assert len(alive) >= len(names), alive
    pinit.signal(signal.SIGTERM)
    code, _, err = pinit.finish(timeout=30)
    assert code == 0, err
    assert "all programs stopped; exiting with 0" in err
    assert processes_with_arg(str(tmp_path)) == []


@pytest.mark.timeout(90)
def test_shop_supervisord_conf_runs_under_pinit(launch: type[Launch], tmp_path: Path) -> None:
    redis, web, nginx = free_ports(3)  # distinct: each socket stays bound until all are picked
    env = {
        "REDIS_PORT": str(redis),
        "WEB_PORT": str(web),
        "NGINX_PORT": str(nginx),
        "APP_DIR": str(tmp_path),
        "APP_USER": str(os.getuid()),
    }
    out, err = pinit_import(str(SHOP / "supervisord.conf"), "--explain", env=env)
    data = tomllib.loads(out)
    assert data["programs"]["gunicorn"]["after"] == ["redis"]
    assert data["programs"]["nginx"]["after"] == ["gunicorn", "worker"]
    assert data["programs"]["worker"]["numprocs"] == 2
    assert "did not wait for readiness" in out
    assert "conf.d/nginx.conf" in err  # the [include] was followed
    names = ["redis", "gunicorn", "worker-1", "worker-2", "nginx"]
    run_shop(launch, tmp_path, out, env, names)
    assert (tmp_path / "gunicorn.log").exists()


@pytest.mark.timeout(90)
def test_shop_procfile_runs_under_pinit(launch: type[Launch], tmp_path: Path) -> None:
    redis, web = free_ports(2)
    env = {"REDIS_PORT": str(redis), "WEB_PORT": str(web), "APP_DIR": str(tmp_path)}
    out, _ = pinit_import(str(SHOP / "Procfile"))
    data = tomllib.loads(out)
    assert list(data["programs"]) == ["web", "worker", "redis"]
    run_shop(launch, tmp_path, out, env, ["web", "worker", "redis"])
