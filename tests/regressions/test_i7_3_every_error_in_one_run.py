"""Issue 7.3: `pinit check` reported host errors (unknown user or group, missing executable,
missing cwd) only once every other error was fixed. Now the host checks run on every program
that parsed, so one run lists all of them, in file and line order, each with key and line."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import pinit_bin, run


def test_host_errors_come_with_type_and_reference_errors(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    inc = tmp_path / "more.toml"
    inc.write_text('[programs.extra]\ncommand = "/bin/true"\ngroup = "no-such-group-pinit"\n')
    conf.write_text(
        '[pinit]\ninclude = ["more.toml"]\nstop_timeout = "soon"\n'
        '[programs.web]\ncommand = "/bin/true"\nuser = "no-such-user-pinit"\n'
        '[programs.db]\ncommand = "no-such-binary-pinit"\nafter = ["wbe"]\n'
        '[programs.api]\ncommand = "/bin/true"\nnumprocs = 0\n'
        f'[programs.job]\ncommand = "/bin/true"\ncwd = "{tmp_path}/missing"\n'
    )
    code, _, err = run([*pinit_bin(), "check", "--config", str(conf)], "plain", timeout=20)
    assert code == 1
    got = err.splitlines()
    assert got[:-1] == [
        f"{conf}:3: pinit.stop_timeout: invalid duration 'soon' (use 250ms, 1.5s, 2m, 1h)",
        f"{conf}:6: programs.web.user: no such user 'no-such-user-pinit'",
        f"{conf}:8: programs.db.command[0]: 'no-such-binary-pinit' not found on PATH"
        + got[2].partition("not found on PATH")[2],
        f"{conf}:9: programs.db.after[0]: no such program 'wbe' (did you mean 'web'?)",
        f"{conf}:12: programs.api.numprocs: must be >= 1, got 0",
        f"{conf}:15: programs.job.cwd: no such directory '{tmp_path}/missing'",
        f"{inc}:3: programs.extra.group: no such group 'no-such-group-pinit'",
    ]
    assert got[-1] == "7 errors"
