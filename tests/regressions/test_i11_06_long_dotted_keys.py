"""Issue 11.6: locating keys was quadratic in a key's dotted parts, and so is tomllib itself
(a 269 KB header took 40 s and 5.7 GB in `pinit check`); a module-level cache kept the texts
of refused configs. Now: keys of more than MAX_KEY_PARTS parts are refused before tomllib
sees them, the lexer is linear, nothing is cached between loads, and a config over 256 KiB is
refused with the cap in the message."""

from __future__ import annotations

import gc
import time
import tracemalloc
from pathlib import Path

import pytest

from pinit.config import locate
from pinit.config.load import load_file, load_text
from pinit.config.read import MAX_FILE_BYTES

PATH = "/etc/pinit.toml"
PROGRAM = '[programs.web]\ncommand = ["/bin/true"]\n'


def _timed_load(text: str) -> tuple[float, int, list[str]]:
    gc.collect()
    tracemalloc.start()
    started = time.thread_time()  # CPU time: the box's other load does not count
    config, errors = load_text(text, PATH, {})
    elapsed = time.thread_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert config is None
    return elapsed, peak, [str(e) for e in errors]


@pytest.mark.parametrize(
    "text",
    [
        PROGRAM + "[" + ".".join(["a"] * 40_000) + "]\n",  # 80 KB header: ~3 s and 400 MB before
        PROGRAM + "x." + ".".join(["a"] * 20_000) + " = 1\n",  # 40 KB key: ~6 s before
        PROGRAM + "[" + ".".join(['"q"'] * 20_000) + "]\n",  # quoted parts
    ],
)
def test_a_long_dotted_key_is_refused_quickly_with_its_line(text: str) -> None:
    elapsed, peak, errors = _timed_load(text)
    assert elapsed < 1.0
    assert peak < 50 * 2**20
    assert len(errors) == 1
    assert errors[0].startswith(f"{PATH}:3: key ")
    assert "dotted parts; at most 8 are allowed" in errors[0]


def test_a_long_header_with_many_keys_under_it_is_refused_quickly() -> None:
    # Each key under a long header paid for the header again in tomllib.
    keys = "".join(f"b{n} = 1\n" for n in range(20_000))
    text = PROGRAM + "[" + ".".join(["a"] * 1000) + "]\n" + keys
    elapsed, _, errors = _timed_load(text)
    assert elapsed < 1.0
    assert len(errors) == 1


def test_dotted_words_inside_strings_are_not_keys() -> None:
    dotted = ".".join(["a"] * 100)
    config, errors = load_text(PROGRAM + f'environment = {{ X = "{dotted}" }}\n', PATH, {})
    assert errors == []
    assert config is not None


def test_no_module_level_cache_keeps_a_refused_config() -> None:
    assert not hasattr(locate.key_lines, "cache_info")
    text = PROGRAM + "numprocs = 0\n" + "# filler\n" * 20_000
    load_text(text, PATH, {})  # warm up whatever is lazily created once
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(5):
        load_text(text + f"# {n}\n", PATH, {})
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert kept < len(text) // 2  # five refused texts of ~200 KB each are all gone


def test_a_config_over_the_cap_is_refused_naming_the_cap(tmp_path: Path) -> None:
    conf = tmp_path / "pinit.toml"
    conf.write_text(PROGRAM + "#" * MAX_FILE_BYTES + "\n")
    config, errors = load_file(str(conf), {})
    assert config is None
    assert [str(e) for e in errors] == [
        f"{conf}: cannot read config: {conf.stat().st_size} bytes, larger than the 256 KiB limit"
        " on a config file"
    ]
    config, errors = load_text(conf.read_text(), str(conf), {})
    assert [str(e) for e in errors] == [f"{conf}: larger than the 256 KiB limit on a config file"]
