"""Issue 11.9: `include = ["/dev/zero"]` grew without bound (4.8 GB in 10 s) and an included
FIFO hung the load, also on HUP inside PID 1. Only regular files are read (stat, then an
O_NONBLOCK open checked with fstat), each with a size cap, and the refusal names the file.
Each `pinit check` runs in a subprocess with a memory limit and a deadline, so the unfixed
code fails (MemoryError traceback, or timeout) instead of taking the test run down."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import pytest

from pinit.config.read import MAX_FILE_BYTES
from tests.conftest import pinit_bin

PROGRAM = '[programs.web]\ncommand = ["/bin/true"]\n'


def _limit_memory() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def check(conf: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [*pinit_bin(), "check", "--config", str(conf)],
        capture_output=True,
        text=True,
        timeout=15,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


@pytest.mark.parametrize(
    ("target", "kind"),
    [("/dev/zero", "a character device"), ("/dev/null", "a character device")],
)
def test_an_included_device_is_refused(tmp_path: Path, target: str, kind: str) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(f'[pinit]\ninclude = ["{target}"]\n' + PROGRAM)
    code, err = check(conf)
    assert code == 1
    assert f"{conf}:2: pinit.include[0]: cannot read '{target}': not a regular file ({kind})" in err


def test_an_included_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "conf.d" / "web.toml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["conf.d/*.toml"]\n' + PROGRAM)
    code, err = check(conf)
    assert code == 1
    assert f"cannot read '{fifo}': not a regular file (a FIFO)" in err


def test_the_main_config_as_a_fifo_or_directory_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pinit.toml"
    os.mkfifo(fifo)
    code, err = check(fifo)
    assert code == 1
    assert f"{fifo}: cannot read config: not a regular file (a FIFO)" in err
    code, err = check(tmp_path)
    assert code == 1
    assert f"{tmp_path}: cannot read config: not a regular file (a directory)" in err


def test_an_include_over_the_cap_is_refused_naming_the_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text(PROGRAM.replace("web", "big") + "#" * MAX_FILE_BYTES + "\n")
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["big.toml"]\n' + PROGRAM)
    code, err = check(conf)
    assert code == 1
    assert "larger than the 256 KiB limit on a config file" in err
    assert "pinit.include[0]: cannot read" in err


def test_includes_are_capped_in_total(tmp_path: Path) -> None:
    for n in range(4):
        part = tmp_path / f"part{n}.toml"
        part.write_text(PROGRAM.replace("web", f"p{n}") + "#" * (MAX_FILE_BYTES - 100) + "\n")
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["part*.toml"]\n' + PROGRAM)
    code, err = check(conf)
    assert code == 1
    assert "config and includes exceed 512 KiB" in err


def test_a_glob_matching_too_many_files_is_refused(tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for n in range(1001):
        (many / f"{n}.toml").write_text("")
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["many/*.toml"]\n' + PROGRAM)
    code, err = check(conf)
    assert code == 1
    assert f"{conf}:2: pinit.include[0]: matches more than 1000 files" in err
