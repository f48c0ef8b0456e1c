"""Review of issue 11.9: the include glob's cost was capped in matches, not in directories read.
``include = ["/*/*/*/*/*/nomatch"]`` walked the filesystem on PID 1's loop at each HUP and
matched nothing. A wildcard is now allowed in the file name only (a conf.d), so one directory
is read, at most MAX_DIR_ENTRIES entries of it; anything else is a located error, at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pinit.config.globs import MAX_DIR_ENTRIES
from pinit.config.load import load_file

PROGRAM = '[programs.a]\ncommand = "/bin/true"\n'


def test_a_wildcard_in_a_directory_component_is_refused_without_a_walk(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["/*/*/*/*/*/nomatch"]\n' + PROGRAM)
    began = time.thread_time()  # CPU time, a walk's syscalls included; not the box's load
    _, errors = load_file(str(conf), {})
    assert time.thread_time() - began < 1
    assert [(e.key_path, e.message) for e in errors] == [
        (
            "pinit.include[0]",
            "'/*/*/*/*/*/nomatch': wildcards are allowed in the file name only"
            " (like conf.d/*.toml)",
        )
    ]


def test_a_conf_d_glob_still_works_and_skips_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.toml").write_text('[programs.b]\ncommand = "/bin/true"\n')
    (tmp_path / "conf.d" / ".hidden.toml").write_text("not toml at all [")
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["conf.d/*.toml", "conf.d/nothing-*"]\n' + PROGRAM)
    config, errors = load_file(str(conf), {})
    assert errors == []
    assert config is not None
    assert sorted(p.name for p in config.programs) == ["a", "b"]


def test_a_directory_too_large_to_scan_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.mkdir()
    for i in range(MAX_DIR_ENTRIES + 1):
        os.close(os.open(big / f"f{i}", os.O_CREAT | os.O_WRONLY, 0o600))
    conf = tmp_path / "pinit.toml"
    conf.write_text('[pinit]\ninclude = ["big/*.nomatch"]\n' + PROGRAM)
    _, errors = load_file(str(conf), {})
    assert [e.message for e in errors] == [
        f"'big/*.nomatch': its directory has more than {MAX_DIR_ENTRIES} entries"
    ]
