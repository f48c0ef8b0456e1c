"""config.resolve against the real host: root exists as uid 0, made-up names do not."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest

from pinit.config.load import load_text
from pinit.config.resolve import Identity, check_host, environment, identity
from pinit.config.schema import Config, Program

MISSING = "no-such-user-xyz"


def prog(
    user: str | None = None,
    group: str | None = None,
    environment: tuple[tuple[str, str], ...] = (),
) -> Program:
    return Program(name="web", command=("sh",), user=user, group=group, environment=environment)


def config_at(tmp_path: Path, body: str) -> Config:
    path = tmp_path / "pinit.toml"
    path.write_text(body)
    config, errors = load_text(body, str(path), {"PATH": "/usr/bin:/bin"})
    assert errors == [], errors
    assert config is not None
    return config


def test_no_user_no_group_means_run_as_pinit() -> None:
    assert identity(prog()) is None


def test_root_by_name_and_by_number() -> None:
    by_name = identity(prog(user="root"))
    assert by_name is not None
    assert (by_name.uid, by_name.gid, by_name.user) == (0, 0, "root")
    assert by_name.home == pwd.getpwuid(0).pw_dir
    assert 0 in by_name.groups
    assert identity(prog(user="0")) == by_name


def test_user_with_explicit_group() -> None:
    nobody = pwd.getpwnam("nobody")
    ident = identity(prog(user="nobody", group="root"))
    assert ident is not None
    assert (ident.uid, ident.gid) == (nobody.pw_uid, 0)
    assert ident.groups == tuple(os.getgrouplist("nobody", 0))


def test_group_alone_keeps_our_uid() -> None:
    ident = identity(prog(group="root"))
    assert ident is not None
    assert (ident.uid, ident.gid) == (os.getuid(), 0)
    assert ident.groups == tuple(os.getgroups())


def test_numeric_uid_without_entry_needs_a_group() -> None:
    free = next(u for u in range(54321, 60000) if not _has_uid(u))
    with pytest.raises(LookupError, match=f"uid {free} has no passwd entry"):
        identity(prog(user=str(free)))
    assert identity(prog(user=str(free), group="4242")) == Identity(
        free, 4242, (4242,), str(free), "/", "/bin/sh"
    )


def _has_uid(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def test_missing_user_and_group_raise() -> None:
    with pytest.raises(LookupError, match=f"no such user '{MISSING}'"):
        identity(prog(user=MISSING))
    with pytest.raises(LookupError, match="no such group 'no-such-group-xyz'"):
        identity(prog(user="root", group="no-such-group-xyz"))


def test_environment_for_root() -> None:
    root = identity(prog(user="root"))
    env = environment(
        prog(user="root", environment=(("USER", "override"), ("A", "1"))),
        {"HOME": "/elsewhere", "PATH": "/bin"},
        root,
        2,
    )
    assert env["HOME"] == pwd.getpwuid(0).pw_dir
    assert env["LOGNAME"] == "root"
    assert env["SHELL"] == pwd.getpwuid(0).pw_shell
    assert env["USER"] == "override"  # the program's own table wins over the login defaults
    assert env["A"] == "1"
    assert env["PATH"] == "/bin"
    assert env["PINIT_PROGRAM"] == "web"
    assert env["PINIT_PROCESS_NUM"] == "2"


def test_environment_without_user_keeps_base_home() -> None:
    env = environment(prog(), {"HOME": "/elsewhere"}, None, 1)
    assert env == {"HOME": "/elsewhere", "PINIT_PROGRAM": "web", "PINIT_PROCESS_NUM": "1"}


def test_check_host_accepts_a_good_config(tmp_path: Path) -> None:
    config = config_at(
        tmp_path,
        '[pinit]\nlog_dir = "logs"\n[programs.web]\ncommand = "sh -c true"\nuser = "root"\n'
        'cwd = "."\nstdout = "web.log"\nready = { command = "true" }\n',
    )
    assert check_host(config, {"PATH": "/usr/bin:/bin"}) == []


def test_check_host_reports_each_problem_with_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    script = tmp_path / "noexec.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(stat.S_IRUSR)
    config = config_at(
        tmp_path,
        "[pinit]\n"
        'log_dir = "nope/logs"\n'
        "[programs.a]\n"
        'command = ["no-such-binary-xyz"]\n'
        f'user = "{MISSING}"\n'
        'group = "no-such-group-xyz"\n'
        "[programs.b]\n"
        'command = ["./noexec.sh"]\n'
        'cwd = "file"\n'
        "[programs.c]\n"
        'command = ["/nonexistent/bin"]\n'
        'cwd = "."\n'
        'stdout = "/nonexistent/dir/out.log"\n',
    )
    got = [(e.line, e.key_path, e.message) for e in check_host(config, {"PATH": "/usr/bin"})]
    here = str(tmp_path)
    noexec = f"{here}/file/noexec.sh"
    assert got == [
        (2, "pinit.log_dir", f"cannot be created: no such directory '{here}/nope'"),
        (6, "programs.a.group", "no such group 'no-such-group-xyz'"),
        (5, "programs.a.user", f"no such user '{MISSING}'"),
        (4, "programs.a.command[0]", "'no-such-binary-xyz' not found on PATH (/usr/bin)"),
        (9, "programs.b.cwd", f"not a directory '{here}/file'"),
        (8, "programs.b.command[0]", f"no such file {noexec!r}"),
        (11, "programs.c.command[0]", "no such file '/nonexistent/bin'"),
        (13, "programs.c.stdout", "no such directory '/nonexistent/dir'"),
    ]
    assert all(e.file == str(tmp_path / "pinit.toml") for e in check_host(config))


def test_check_host_sees_the_programs_path_not_ours(tmp_path: Path) -> None:
    config = config_at(
        tmp_path, '[programs.a]\ncommand = ["sh"]\nenvironment = { PATH = "/nonexistent" }\n'
    )
    [err] = check_host(config, {"PATH": "/usr/bin:/bin"})
    assert (err.key_path, err.line) == ("programs.a.command[0]", 2)
    assert err.message == "'sh' not found on PATH (/nonexistent)"


def test_non_executable_file(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    config = config_at(tmp_path, f'[programs.a]\ncommand = ["{script}"]\n')
    [err] = check_host(config)
    assert (err.key_path, err.line, err.message) == (
        "programs.a.command[0]",
        2,
        f"{str(script)!r} is not executable",
    )


def test_the_path_search_answers_as_execvp_searches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one PATH walk of spawn and `pinit check` (shutil stays off PID 1, issue 7) against
    shutil.which, which differs only where PATH is empty (execvp then looks in ".")."""
    import shutil

    from pinit.config.pathsearch import search_path

    bin_a, bin_b = tmp_path / "a", tmp_path / "b"
    bin_a.mkdir()
    bin_b.mkdir()
    (bin_a / "plain").write_text("")  # not executable
    (bin_b / "plain").write_text("#!/bin/sh\n")
    (bin_b / "plain").chmod(0o755)
    (bin_a / "tool").write_text("#!/bin/sh\n")
    (bin_a / "tool").chmod(0o755)
    (bin_a / "adir").mkdir()  # a directory with the x bit is no command
    (bin_b / "link").symlink_to(bin_a / "tool")
    (bin_b / "dangling").symlink_to(tmp_path / "nowhere")
    paths = [
        f"{bin_a}:{bin_b}",
        f"{bin_b}",
        f"{tmp_path / 'missing'}:{bin_a}",
        "",
        f":{bin_a}",  # an empty entry: the current directory (bin_b, below)
        f"{bin_a}/",
    ]
    monkeypatch.chdir(bin_b)
    # found only through the empty entry, as an absolute path: the child's cwd is bin_b ...
    assert search_path("link", f":{bin_a}") == str(bin_b / "link")
    # ... unless the program has a cwd of its own: relative entries are the child's
    assert search_path("link", f":{bin_a}", str(bin_a)) is None
    assert search_path("tool", "", str(bin_a)) == str(bin_a / "tool")
    assert search_path("tool", "..", str(bin_a / "adir")) == str(bin_a / "tool")
    names = ["plain", "tool", "adir", "link", "dangling", "nothing"]
    for path_var in paths:
        for name in names:
            expected = shutil.which(name, path=path_var or os.curdir) is not None
            assert (search_path(name, path_var) is not None) is expected, (name, path_var)
