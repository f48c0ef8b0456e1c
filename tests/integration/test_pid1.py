"""`pinit -- CMD`: what a container can trust of its PID 1.

Where tini promises the same behaviour, the same test runs against `tini -g` too, so each test
shows it can tell right from wrong on a trusted peer. Each runs as PID 1 of a fresh PID
namespace and as a plain process (child subreaper).
"""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import PROBE, Launch, init_prefix, pinit_bin, processes_with_arg, run

MODES = ["pid1", "plain"]
INITS = ["pinit", "tini"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_exit_status_passes_through(init: str, mode: str, code: int) -> None:
    rc, _, _ = run([*init_prefix(init, mode), "sh", "-c", f"exit {code}"], mode)
    assert rc == code


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1, signal.SIGSEGV])
def test_death_by_signal_is_128_plus_n(init: str, mode: str, sig: signal.Signals) -> None:
    rc, _, _ = run([*init_prefix(init, mode), "sh", "-c", f"kill -{sig.name[3:]} $$"], mode)
    assert rc == 128 + sig


FORWARDED = [
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGWINCH,
    signal.SIGCONT,
    signal.SIGALRM,
    signal.SIGRTMIN + 1,
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
def test_every_signal_reaches_child_and_grandchild(
    launch: type[Launch], init: str, mode: str
) -> None:
    run_ = launch(
        [*init_prefix(init, mode), *PROBE, "signals", str(len(FORWARDED)), "--grandchild"], mode
    )
    roles = {run_.readline().split()[1], run_.readline().split()[1]}
    assert roles == {"child", "grandchild"}
    for sig in FORWARDED:
        run_.signal(sig)
        got = sorted(run_.readline().split()[:3] for _ in range(2))
        assert got == [["child", "got", str(int(sig))], ["grandchild", "got", str(int(sig))]]
    rc, _, _ = run_.finish()
    assert rc == 0


def test_no_group_reaches_child_only(launch: type[Launch]) -> None:
    argv = [*pinit_bin(), "--no-group", "--", *PROBE, "signals", "1", "--grandchild"]
    run_ = launch(argv, "plain")
    ready = dict(run_.readline().split()[1:3] for _ in range(2))
    run_.signal(signal.SIGUSR1)
    assert run_.readline().split()[:3] == ["child", "got", str(int(signal.SIGUSR1))]
    # Had pinit sent USR1 to the group, the grandchild would take it before this USR2:
    # pending standard signals are delivered lowest number first.
    os.kill(int(ready["grandchild"]), signal.SIGUSR2)
    assert run_.readline().split()[:3] == ["grandchild", "got", str(int(signal.SIGUSR2))]
    assert run_.finish()[0] == 0


@pytest.mark.parametrize("mode", ["pid1"])
@pytest.mark.parametrize("init", [*INITS, "none"])
def test_two_thousand_orphans_are_reaped(init: str, mode: str) -> None:
    """The no-init control must fail here, which proves the test can tell."""
    prefix = [] if init == "none" else init_prefix(init, mode)
    rc, out, _ = run([*prefix, *PROBE, "orphans", "2000"], mode, timeout=60)
    if init == "none":
        assert "zombies 0" not in out and rc == 1
    else:
        assert "zombies 0" in out, out
        assert rc == 0


@pytest.mark.parametrize("init", INITS)
def test_orphans_come_to_a_subreaper(init: str) -> None:
    """Outside a PID namespace, an orphan is re-parented to the init, not to the host's."""
    rc, out, _ = run([*init_prefix(init, "plain"), *PROBE, "adopt"], "plain")
    words = out.split()
    assert words[0] == "adopted-by" and words[1] == words[3], out
    assert rc == 0


@pytest.mark.parametrize("mode", MODES)
def test_nothing_survives_pinit(launch: type[Launch], mode: str) -> None:
    """A setsid'd grandchild that ignores SIGTERM is killed after the grace period."""
    mark = f"{uuid.uuid4().int % 10**6 + 10**6}.5"
    run_ = launch([*pinit_bin(), "--grace", "0.3", "--", *PROBE, "leave-behind", mark], mode)
    assert run_.readline() == "left"
    rc, _, _ = run_.finish()
    assert rc == 0
    assert processes_with_arg(mark) == []


def test_tini_leaves_the_stray_behind(launch: type[Launch]) -> None:
    """The control for the test above: tini exits at once and the stray lives on."""
    mark = f"{uuid.uuid4().int % 10**6 + 10**6}.5"
    run_ = launch([*init_prefix("tini", "plain"), *PROBE, "leave-behind", mark], "plain")
    assert run_.readline() == "left"
    run_.finish()
    strays = processes_with_arg(mark)
    for pid in strays:
        os.kill(pid, signal.SIGKILL)
    assert strays


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
def test_missing_command_is_127(init: str, mode: str) -> None:
    rc, _, err = run([*init_prefix(init, mode), "/no/such/program"], mode)
    assert rc == 127
    assert "/no/such/program" in err


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
def test_not_executable_is_126(init: str, mode: str, tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("not a program\n")
    data.chmod(0o644)
    rc, _, err = run([*init_prefix(init, mode), str(data)], mode)
    assert rc == 126
    assert str(data) in err


def test_command_on_path_not_found_is_127() -> None:
    rc, _, err = run([*pinit_bin(), "--", "no-such-command-xyz"], "plain")
    assert rc == 127
    assert err.strip() == "pinit: cannot run 'no-such-command-xyz': No such file or directory"


@pytest.mark.parametrize("argv", [["--bogus", "--", "true"], [], ["--grace", "x", "--", "true"]])
def test_bad_usage_is_2(argv: list[str]) -> None:
    rc, _, err = run([*pinit_bin(), *argv], "plain")
    assert rc == 2
    assert "usage: pinit" in err


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
def test_stdin_and_stdout_pass_through(init: str, mode: str) -> None:
    rc, out, _ = run([*init_prefix(init, mode), "tr", "a-z", "A-Z"], mode, input=b"hello init\n")
    assert (rc, out) == (0, "HELLO INIT\n")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("init", INITS)
def test_environment_passes_through(init: str, mode: str) -> None:
    env = {**os.environ, "PINIT_TEST_VALUE": "some value=with=equals"}
    rc, out, _ = run(
        [*init_prefix(init, mode), "sh", "-c", 'echo "$PINIT_TEST_VALUE"'], mode, env=env
    )
    assert (rc, out) == (0, "some value=with=equals\n")


@pytest.mark.parametrize("mode", MODES)
def test_verbose_logs_forwarding_and_reaping(launch: type[Launch], mode: str) -> None:
    run_ = launch([*pinit_bin(), "-v", "--", *PROBE, "signals", "1"], mode)
    run_.readline()
    run_.signal(signal.SIGUSR1)
    assert run_.readline().startswith(f"child got {int(signal.SIGUSR1)}")
    rc, _, err = run_.finish()
    assert rc == 0
    lines = err.splitlines()
    assert any(line.startswith("pinit: forwarded SIGUSR1 to process group") for line in lines), err
    assert any(line.startswith("pinit: main process") and "exit 0" in line for line in lines), err


@pytest.mark.parametrize("mode", MODES)
def test_process_title(launch: type[Launch], mode: str) -> None:
    run_ = launch([*pinit_bin(), "--name", "shop", "--", *PROBE, "signals", "1"], mode)
    run_.readline()
    with open(f"/proc/{run_.init_pid()}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"pinit-shop-manager"
    run_.signal(signal.SIGTERM)
    assert run_.finish()[0] == 0


def test_pinit_survives_a_signal_storm(launch: type[Launch]) -> None:
    """Thousands of signals collapse as kernel signals do; pinit neither dies nor stalls."""
    run_ = launch([*pinit_bin(), "--", *PROBE, "signals", "1"], "pid1")
    run_.readline()
    pid = run_.init_pid()
    for _ in range(3000):
        os.kill(pid, signal.SIGUSR2)
    assert run_.readline().startswith(f"child got {int(signal.SIGUSR2)}")
    rc, _, _ = run_.finish()
    assert rc == 0


@pytest.mark.parametrize("init", INITS)
def test_inherited_fds_pass_through_to_cmd(init: str) -> None:
    """Socket activation (LISTEN_FDS) under `pinit --`: fds pinit inherited are CMD's, as
    with tini. (Supervised programs, by contrast, get none of pinit's fds.)"""
    r, w = os.pipe()
    os.set_inheritable(w, True)
    try:
        proc = subprocess.run(
            [
                *init_prefix(init, "plain"),
                *PROBE[:3],
                "-c",
                f"import os; os.write({w}, b'passed\\n')",
            ],
            pass_fds=(w,),
            capture_output=True,
            timeout=20,
        )
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"passed\n"
    assert proc.returncode == 0
