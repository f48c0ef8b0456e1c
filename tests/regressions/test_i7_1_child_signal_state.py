"""Issue 7.1: a child's signal state equals a direct exec's, through both spawn paths.

glibc's posix_spawn left signals 32 and 33 (its internal SIGCANCEL/SIGSETXID) SIG_IGN in
every child, and exec keeps ignored signals ignored: `SigIgn: 0000000180000000` under pinit
where a direct exec shows 0. The fork path never had it. Each path is compared with the same
program started directly from the same parent; the launcher also ignores SIGUSR1 (as `nohup`
ignores SIGHUP), which a direct exec passes on and so must pinit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pinit.runtime.spawn import SpawnSpec, spawn
from tests.conftest import pinit_bin

SHOW = ["grep", "^Sig\\(Blk\\|Ign\\)", "/proc/self/status"]
# A launcher that ignores SIGUSR1, then execs its arguments: the "same parent" for both runs.
# (It undoes CPython's own SIGPIPE/SIGXFSZ ignores first, as a shell's exec would not have them.)
IGNORING = [
    sys.executable,
    "-I",
    "-S",
    "-c",
    "import os, signal as s, sys; s.signal(s.SIGPIPE, s.SIG_DFL); s.signal(s.SIGXFSZ, s.SIG_DFL); "
    "s.signal(s.SIGUSR1, s.SIG_IGN); os.execvp(sys.argv[1], sys.argv[1:])",
]


def state(text: str) -> dict[str, int]:
    fields = dict(line.split(":\t") for line in text.splitlines() if line.startswith("Sig"))
    return {key: int(value, 16) for key, value in fields.items()}


def direct() -> dict[str, int]:
    out = subprocess.run([*IGNORING, *SHOW], capture_output=True, timeout=20, check=True)
    return state(out.stdout.decode())


def test_direct_exec_reference() -> None:
    """The reference itself: nothing blocked, only the launcher's SIGUSR1 ignored."""
    assert direct() == {"SigBlk": 0, "SigIgn": 1 << (signal.SIGUSR1 - 1)}


@pytest.mark.parametrize("path", ["posix_spawn", "fork"])
def test_spawn_paths_give_a_clean_state(path: str) -> None:
    """Both paths of runtime.spawn from this (Python) process: CPython's own SIGPIPE and
    SIGXFSZ ignores and its SIGINT handler are not passed on, and neither are 32 and 33."""
    r, w = os.pipe()
    try:
        pid = spawn(SpawnSpec(tuple(SHOW), stdout=w, cwd="/" if path == "fork" else None))
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    assert os.waitpid(pid, 0)[1] == 0
    assert state(text) == {"SigBlk": 0, "SigIgn": 0}


@pytest.mark.parametrize("mode", ["pid1", "plain"])
def test_pinit_cmd_child_equals_direct_exec(mode: str) -> None:
    """`pinit -- CMD` (the posix_spawn path: no tty on stdin)."""
    prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if mode == "pid1" else []
    out = subprocess.run(
        [*prefix, *IGNORING, *pinit_bin(), "--", *SHOW],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=20,
    )
    assert out.returncode == 0, out.stderr
    assert state(out.stdout.decode()) == direct()


@pytest.mark.parametrize("path", ["posix_spawn", "fork"])
def test_supervised_program_equals_direct_exec(tmp_path: Path, path: str) -> None:
    """`pinit --config`: a program with `cwd` takes the fork path, one without posix_spawn."""
    out_file = tmp_path / "sig.txt"
    command = ["sh", "-c", f"{' '.join(repr(a) for a in SHOW)} > {out_file}"]
    config = tmp_path / "pinit.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [pinit]
            main = "show"
            [programs.show]
            command = [{", ".join(f'"{a}"' for a in command)}]
            restart = "never"
            {'cwd = "/"' if path == "fork" else ""}
            """
        )
    )
    out = subprocess.run(
        [*IGNORING, *pinit_bin(), "--config", str(config)],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=20,
    )
    assert out.returncode == 0, out.stderr
    assert state(out_file.read_text()) == direct()
