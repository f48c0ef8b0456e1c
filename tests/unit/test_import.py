"""`pinit import` (issue 10): each supervisord key's translation, the expansion rules of
supervisor/options.py, the Procfile rules, and the TOML writer's quoting (every output is read
back with tomllib, and those that name nothing host-specific pass `pinit check`'s loader)."""

from __future__ import annotations

import io
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pinit.checkcmd import run_check
from pinit.importer import detect, run, supervisord
from pinit.importer import procfile as procfile_mod
from pinit.importer.emit import Doc, key, toml_string
from pinit.importer.supkeys import NO_ROTATION


def imp(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> tuple[Any, Doc]:
    path = tmp_path / "supervisord.conf"
    path.write_text(text)
    doc = supervisord.translate(str(path), environ or {})
    return tomllib.loads(doc.render()), doc


def prog(tmp_path: Path, body: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    data, _ = imp(tmp_path, "[program:p]\n" + body, environ)
    programs: dict[str, Any] = data["programs"]
    return programs["p"]


def checks(tmp_path: Path, toml: str, environ: dict[str, str] | None = None) -> str:
    path = tmp_path / "out.toml"
    path.write_text(toml)
    out, err = io.StringIO(), io.StringIO()
    assert run_check(str(path), False, out, err, environ or dict(os.environ)) == 0, err.getvalue()
    return out.getvalue()


# --- the TOML writer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "back\\slash", "tab\there", "new\nline", "nul\x00bell\x07", "del\x7f", "é ✓"],
)
def test_strings_round_trip(text: str) -> None:
    assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text


def test_keys_with_dots_are_quoted() -> None:
    assert key("web.1") == '"web.1"'
    assert tomllib.loads(f"[programs.{key('web.1')}]\nx = 1")["programs"]["web.1"] == {"x": 1}
    assert key("web_1-a") == "web_1-a"


def test_a_newline_in_a_value_cannot_forge_toml(tmp_path: Path) -> None:
    data, _ = imp(
        tmp_path, "[program:p]\ncommand=/bin/true\n[nonsense]\nkey=a\n  [programs.evil]\n"
    )
    assert set(data["programs"]) == {"p"}


# --- reading as supervisord reads ---------------------------------------------------------


def test_semicolon_is_a_comment_only_after_whitespace(tmp_path: Path) -> None:
    p = prog(tmp_path, 'command=/bin/sh -c "a;b" ; a comment\n')
    assert p["command"] == '/bin/sh -c "a;b"'


def test_here_is_each_files_own_directory(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("[program:b]\ncommand=%(here)s/run\n")
    (tmp_path / "conf.d" / "a.conf").write_text("[program:a]\ncommand=/bin/a\npriority=5\n")
    data, _ = imp(tmp_path, "[program:m]\ncommand=%(here)s/m\n[include]\nfiles=conf.d/*.conf\n")
    assert data["programs"]["m"]["command"] == f"{tmp_path}/m"
    assert data["programs"]["b"]["command"] == f"{tmp_path}/conf.d/run"
    assert list(data["programs"]) == ["m", "a", "b"]  # each glob's matches sorted


def test_include_matching_nothing_is_said(tmp_path: Path) -> None:
    _, doc = imp(tmp_path, "[program:m]\ncommand=/bin/m\n[include]\nfiles=nope/*.conf\n")
    assert any("no file matches" in str(d) for d in doc.decisions)


def test_expansions(tmp_path: Path) -> None:
    data, _ = imp(
        tmp_path,
        "[group:g]\nprograms=w\n"
        "[program:w]\ncommand=/bin/w %(program_name)s %(group_name)s 100%%\n",
    )
    assert data["programs"]["w"]["command"] == "/bin/w w g 100%"


def test_env_in_command_is_read_when_pinit_starts(tmp_path: Path) -> None:
    p = prog(tmp_path, "command=/bin/sh -c 'echo $HOME' --port=%(ENV_PORT)s\n", {"PORT": "1"})
    # supervisord's `$` is literal: pinit's escape keeps it; ENV_X becomes pinit's ${X}
    assert p["command"] == "/bin/sh -c 'echo $$HOME' --port=${PORT}"


def test_env_in_user_and_log_file_is_expanded_now(tmp_path: Path) -> None:
    p = prog(
        tmp_path,
        "command=/bin/x\nuser=%(ENV_U)s\nstdout_logfile=%(ENV_D)s/x.log\n",
        {"U": "www-data", "D": "/var/log"},
    )
    assert p["user"] == "www-data"
    assert p["stdout"]["file"] == "/var/log/x.log"


def test_unknown_expansion_skips_the_program_with_supervisords_reason(tmp_path: Path) -> None:
    data, doc = imp(tmp_path, "[program:p]\ncommand=/bin/x %(nope)s\n[program:q]\ncommand=/bin/q\n")
    assert list(data["programs"]) == ["q"]
    assert any("cannot be expanded" in str(d) for d in doc.decisions)


def test_environment_pairs_merge_with_supervisord_environment(tmp_path: Path) -> None:
    data, _ = imp(
        tmp_path,
        '[supervisord]\nenvironment=A="1",B=global\n'
        '[program:p]\ncommand=/bin/x\nenvironment=B="own,with comma",C=%(ENV_A)s,D="$x"\n',
    )
    env = data["programs"]["p"]["environment"]
    assert env == {"A": "1", "B": "own,with comma", "C": "${A}", "D": "$$x"}


def test_numprocs_alike_become_one_program(tmp_path: Path) -> None:
    p = prog(
        tmp_path, "command=/bin/w\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)02d\n"
    )
    assert p["numprocs"] == 3


def test_numprocs_differing_become_programs_named_by_supervisord(tmp_path: Path) -> None:
    data, _ = imp(
        tmp_path,
        "[program:web]\ncommand=/bin/web --port=80%(process_num)02d\nnumprocs=2\n"
        "numprocs_start=1\nprocess_name=%(program_name)s@%(process_num)d\n",
    )
    assert data["programs"] == {
        "web_1": {"command": "/bin/web --port=8001"},
        "web_2": {"command": "/bin/web --port=8002"},
    }


def test_numprocs_without_process_num_is_refused_as_supervisord_does(tmp_path: Path) -> None:
    data, doc = imp(tmp_path, "[program:w]\ncommand=/bin/w\nnumprocs=2\n")
    assert "programs" not in data
    assert any("process_num" in str(d) for d in doc.decisions)


# --- keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "policy"), [("true", "always"), ("false", "never"), ("unexpected", "on-failure")]
)
def test_autorestart(tmp_path: Path, value: str, policy: str) -> None:
    assert prog(tmp_path, f"command=/bin/x\nautorestart={value}\n")["restart"] == policy


def test_scalar_keys(tmp_path: Path) -> None:
    p = prog(
        tmp_path,
        "command=/bin/x\ndirectory=/srv\nuser=1000\numask=027\nautostart=no\nexitcodes=0,2\n"
        "startsecs=0\nstartretries=7\nstopsignal=SIGINT\nstopwaitsecs=30\n",
    )
    assert p == {
        "command": "/bin/x",
        "cwd": "/srv",
        "user": 1000,
        "umask": "027",
        "autostart": False,
        "exit_codes": [0, 2],
        "start_seconds": "0s",
        "start_retries": 7,
        "stop_signal": "INT",
        "stop_timeout": "30s",
    }


@pytest.mark.parametrize(
    "bad", ["autorestart=maybe", "exitcodes=0,256", "stopsignal=NOPE", "umask=089", "startsecs=x"]
)
def test_bad_values_skip_the_program_with_a_reason(tmp_path: Path, bad: str) -> None:
    data, doc = imp(tmp_path, f"[program:p]\ncommand=/bin/x\n{bad}\n")
    assert "programs" not in data
    assert any("skipped" in str(d) for d in doc.decisions)


def test_log_files(tmp_path: Path) -> None:
    p = prog(
        tmp_path,
        "command=/bin/x\nstdout_logfile=/var/log/x.log\nstdout_logfile_maxbytes=1KB\n"
        "stderr_logfile=/var/log/x.err\nstderr_logfile_maxbytes=0\nstderr_logfile_backups=2\n",
    )
    assert p["stdout"] == {"file": "/var/log/x.log", "max_bytes": 1024, "backups": 10}
    assert p["stderr"] == {"file": "/var/log/x.err", "max_bytes": NO_ROTATION, "backups": 2}


@pytest.mark.parametrize("special", ["AUTO", "NONE", "/dev/stdout", "syslog"])
def test_special_log_files_are_pinits_own_output(tmp_path: Path, special: str) -> None:
    assert prog(tmp_path, f"command=/bin/x\nstdout_logfile={special}\n")["stdout"] == ""


def test_redirect_stderr(tmp_path: Path) -> None:
    p = prog(
        tmp_path, "command=/bin/x\nstdout_logfile=/l\nredirect_stderr=true\nstderr_logfile=/e\n"
    )
    assert p["stderr"] == "stdout"
    # supervisord keeps stderr apart by default: pinit's default would follow stdout's file
    assert prog(tmp_path, "command=/bin/x\nstdout_logfile=/l\n")["stderr"] == ""


def test_priority_becomes_after_layers_of_autostart_programs(tmp_path: Path) -> None:
    data, _ = imp(
        tmp_path,
        "[program:db]\ncommand=/bin/db\npriority=1\n"
        "[program:cache]\ncommand=/bin/c\npriority=1\n"
        "[program:app]\ncommand=/bin/app\n"
        "[program:manual]\ncommand=/bin/m\npriority=500\nautostart=false\n"
        "[program:web]\ncommand=/bin/web\npriority=1000\n",
    )
    progs = data["programs"]
    assert "after" not in progs["db"] and "after" not in progs["manual"]
    assert progs["app"]["after"] == ["db", "cache"]  # 999, supervisord's default
    assert progs["web"]["after"] == ["app"]


def test_groups_and_unexpressible_sections_become_comments(tmp_path: Path) -> None:
    data, doc = imp(
        tmp_path,
        "[inet_http_server]\nport=127.0.0.1:9001\n[eventlistener:mem]\ncommand=/bin/m\n"
        "events=TICK_60\n[group:g]\nprograms=p,ghost\n[program:p]\ncommand=/bin/p\n"
        "stopasgroup=true\nserverurl=AUTO\nfrobnicate=1\n",
    )
    text = doc.render()
    assert "# [inet_http_server] not translated" in text
    assert "# [eventlistener:mem] not translated" in text
    assert "# supervisord [group:g]" in text
    assert "stopasgroup: pinit always signals the whole process group" in text
    said = "\n".join(str(d) for d in doc.decisions)
    assert "unknown program 'ghost'" in said
    assert "frobnicate: not a supervisord program key" in said
    assert "serverurl" in said
    assert data["programs"] == {"p": {"command": "/bin/p"}}


def test_every_source_key_has_a_decision(tmp_path: Path) -> None:
    body = (
        "command=/bin/x\nprocess_name=%(program_name)s\nnumprocs=1\nnumprocs_start=0\n"
        "priority=1\nautostart=true\nautorestart=true\nstartsecs=1\nstartretries=3\n"
        "exitcodes=0\nstopsignal=TERM\nstopwaitsecs=10\nstopasgroup=false\nkillasgroup=false\n"
        "user=root\nredirect_stderr=false\nstdout_logfile=/a\nstdout_logfile_maxbytes=1MB\n"
        "stdout_logfile_backups=10\nstdout_capture_maxbytes=1MB\nstdout_events_enabled=false\n"
        "stdout_syslog=false\nstderr_logfile=/b\nstderr_logfile_maxbytes=1MB\n"
        "stderr_logfile_backups=10\nstderr_capture_maxbytes=1MB\nstderr_events_enabled=false\n"
        "stderr_syslog=false\nenvironment=A=1\ndirectory=/tmp\numask=022\nserverurl=AUTO\n"
    )
    _, doc = imp(tmp_path, "[program:p]\n" + body)
    said = {
        d.source.split("] ", 1)[1] for d in doc.decisions if d.source.startswith("[program:p] ")
    }
    assert said == {line.split("=", 1)[0] for line in body.splitlines()}


def test_translated_keys_pass_the_loader(tmp_path: Path) -> None:
    _, doc = imp(
        tmp_path,
        "[program:p]\ncommand=/bin/sleep 1\nautorestart=true\nexitcodes=0,2\nstartsecs=0\n"
        "stopsignal=INT\nstopwaitsecs=3\numask=022\nnumprocs=2\n"
        "process_name=%(program_name)s_%(process_num)s\n"
        f"stdout_logfile={tmp_path}/p.log\nstdout_logfile_maxbytes=0\n"
        "[program:q]\ncommand=/bin/sleep %(ENV_N)s\npriority=1000\n",
    )
    assert "OK (2 programs, 3 processes)" in checks(tmp_path, doc.render(), {"N": "5"})


# --- Procfile ------------------------------------------------------------------------------


def test_procfile(tmp_path: Path) -> None:
    path = tmp_path / "Procfile"
    path.write_text(
        "# comment\n\nweb: gunicorn app:app --bind 0.0.0.0:$PORT\nworker:  rq worker ${Q}\n"
        "not a line\nweb: again\n"
    )
    doc = procfile_mod.translate(str(path))
    data = tomllib.loads(doc.render())
    assert data["programs"] == {
        "web": {
            "command": ["/bin/sh", "-c", "gunicorn app:app --bind 0.0.0.0:$$PORT"],
            "environment": {"PORT": "5000"},
        },
        "worker": {
            "command": ["/bin/sh", "-c", "rq worker $${Q}"],
            "environment": {"PORT": "5100"},
        },
    }
    said = "\n".join(str(d) for d in doc.decisions)
    assert "line 5: not `name: command`" in said and "line 6: 'web' again" in said


def test_detect(tmp_path: Path) -> None:
    (tmp_path / "Procfile.dev").write_text("[x]\n")
    (tmp_path / "apps").write_text("web: x\n")
    (tmp_path / "s.conf").write_text("; hi\n[program:x]\ncommand=x\n")
    assert detect(str(tmp_path / "Procfile.dev")) == "procfile"
    assert detect(str(tmp_path / "apps")) == "procfile"
    assert detect(str(tmp_path / "s.conf")) == "supervisord"


def test_unreadable_or_broken_input_is_an_error_not_a_crash(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(str(tmp_path / "missing"), None, False, out, err, {}) == 1
    assert "missing" in err.getvalue() and out.getvalue() == ""
    broken = tmp_path / "broken.conf"
    broken.write_text("[program:x]\ncommand=x\nno equals sign here\n")
    err = io.StringIO()
    assert run(str(broken), "supervisord", False, io.StringIO(), err, {}) == 1
    assert "broken.conf" in err.getvalue()


def test_explain_goes_to_stderr_and_no_programs_is_said(tmp_path: Path) -> None:
    path = tmp_path / "s.conf"
    path.write_text("[supervisord]\nnodaemon=true\n")
    out, err = io.StringIO(), io.StringIO()
    assert run(str(path), None, True, out, err, {}) == 0
    assert "nodaemon" in err.getvalue() and "no programs found" in err.getvalue()
    tomllib.loads(out.getvalue())


def test_relative_log_file_is_resolved_as_supervisord_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    p = prog(tmp_path, "command=/bin/x\nstdout_logfile=logs/x.log\n")
    assert p["stdout"]["file"] == str(tmp_path / "logs" / "x.log")


def test_unknown_name_error_does_not_list_the_environment(tmp_path: Path) -> None:
    _, doc = imp(tmp_path, "[program:p]\ncommand=/bin/x\nuser=%(ENV_NOPE)s\n", {"SECRET": "x"})
    said = "\n".join(str(d) for d in doc.decisions)
    assert "ENV_NOPE" in said and "ENV_*" in said and "SECRET" not in said
