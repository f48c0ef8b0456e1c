"""pinit check: error listing, OK summary, and the --explain plan."""

from __future__ import annotations

import io
import os
from pathlib import Path

from pinit.checkcmd import process_names, run_check, worst_case_stop
from pinit.config.load import load_text
from pinit.config.schema import Program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "API_TOKEN": "x"}


def check(path: Path, explain: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check(str(path), explain, out, err, ENV)
    return code, out.getvalue(), err.getvalue()


def test_errors_are_listed_with_file_line_and_count(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text('[programs.web]\ncommand = "sh"\nnumprocs = 0\ncomand = 1\n')
    code, out, err = check(conf)
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{conf}:3: programs.web.numprocs: must be >= 1, got 0",
        f"{conf}:4: programs.web.comand: unknown key (did you mean 'command'?)",
        "2 errors",
    ]


def test_host_errors_are_reported_too(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text('[programs.web]\ncommand = "sh"\n\nuser = "no-such-user-xyz"\n')
    code, _, err = check(conf)
    assert code == 1
    assert err.splitlines() == [
        f"{conf}:4: programs.web.user: no such user 'no-such-user-xyz'",
        "1 error",
    ]


def test_missing_file(tmp_path: Path) -> None:
    code, _, err = check(tmp_path / "nope.toml")
    assert code == 1
    assert err.splitlines() == [
        f"{tmp_path / 'nope.toml'}: cannot read config: No such file or directory",
        "1 error",
    ]


def test_example_config_passes_on_this_host() -> None:
    code, out, err = check(EXAMPLES / "pinit.toml")
    assert (code, err) == (0, "")
    assert out == f"{EXAMPLES / 'pinit.toml'}: OK (2 programs, 2 processes)\n"


def test_explain_prints_the_resolved_plan(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(
        """\
[pinit]
main = "web"
[programs.db]
command = ["sleep", "1000"]
stop_timeout = "20s"
[programs.cache]
command = "sleep 1000"
stop_timeout = "3s"
stop_signal = "INT"
[programs.web]
command = ["sh", "-c", "exec sleep 1000"]
numprocs = 2
after = ["db", "cache"]
user = "root"
umask = "027"
cwd = "/tmp"
rlimits = { nofile = [1024, 4096], core = "unlimited" }
environment = { DB_PASSWORD = "hunter2", APP = "shop", HOME = "/root" }
stdout = { file = "/tmp/web.log", backups = 3 }
ready = { tcp = "127.0.0.1:8000" }
"""
    )
    code, out, err = check(conf, explain=True)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"{conf}: OK (3 programs, 4 processes)"
    assert lines[1:6] == [
        "start order (each layer after the one before is ready):",
        "  1. cache, db",
        "  2. web",
        "stop order (reverse):",
        "  1. web (SIGTERM, 10.0s)",
    ]
    assert lines[6] == "  2. cache (SIGINT, 3.0s), db (SIGTERM, 20.0s)"
    # (10 + 1) + (20 + 1): the slowest of each layer plus the margin; + (10 + 1) final sweep
    assert "worst-case stop: 43.0s" in lines
    assert "process web-1 [main]" in lines
    assert "process web-2 [main]" in lines
    assert "  argv:        sh -c 'exec sleep 1000'" in lines
    assert "  umask:       0027" in lines
    assert "  cwd:         /tmp" in lines
    assert "  rlimits:     nofile=1024:4096 core=unlimited:unlimited" in lines
    assert "  stop:        SIGINT, then SIGKILL after 3.0s" in lines
    assert "  ready:       tcp connect 127.0.0.1:8000 (every 0.25s, give up after 60.0s)" in lines
    assert "  stdout:      /tmp/web.log (rotate at 10485760 bytes, 3 backups)" in lines
    env_lines = [line for line in lines if line.startswith("  environment:")]
    web2 = env_lines[-1]
    assert "+DB_PASSWORD=***" in web2
    assert "hunter2" not in out
    assert "+APP=shop" in web2
    assert "+PINIT_PROCESS_NUM=2" in web2
    assert "HOME" not in web2  # unchanged from the base environment: not part of the diff
    assert "API_TOKEN" not in out  # only added/changed keys are shown
    assert f"uid=0(root) gid=0 groups={','.join(map(str, os.getgrouplist('root', 0)))}" in out


def test_worst_case_stop_and_process_names() -> None:
    config, errors = load_text(
        '[programs.a]\ncommand = "x"\nstop_timeout = 4\n'
        '[programs.b]\ncommand = "x"\nstop_timeout = 2\nafter = ["a"]\n'
        '[programs.c]\ncommand = "x"\nstop_timeout = 7\nafter = ["a"]\n',
        "/x.toml",
        {},
    )
    assert errors == []
    assert config is not None
    # two stop layers ([b, c] then [a]) plus the final sweep's grace (default 10s)
    assert worst_case_stop(config) == (7 + 1) + (4 + 1) + (10 + 1)
    assert process_names(Program(name="w", command=("x",))) == ["w"]
    assert process_names(Program(name="w", command=("x",), numprocs=3)) == ["w-1", "w-2", "w-3"]
