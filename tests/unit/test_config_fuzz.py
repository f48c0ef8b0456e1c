"""Fuzz `pinit check`'s path (load + host checks + --explain) with 2,000 generated configs a run.

Issue 11 found crashers, quadratic keys and endless includes with 5,000 fuzzed configs; this
keeps them found. Configs mix documented samples (so many load and reach the host checks and
the plan) with wrong types, unknown keys, huge and non-finite numbers, Unicode digits, NUL and
control characters, long and deep dotted keys, deep nesting, include cycles and special files
(/dev/zero, a FIFO, a directory, a file over the cap, invalid UTF-8). For every input: nothing
raises, every error names its file and has a key path (or is a whole-file error), every message
is printable on one line, the load takes under 1 s, and the process's peak RSS during the load
grows by less than MAX_PEAK. The peak is per input: writing 5 to /proc/self/clear_refs resets
VmHWM to the current RSS (Linux >= 4.0), so hypothesis's own growth over 2,000 examples does
not count, and it costs microseconds where tracemalloc made every load four times slower.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinit.checkcmd import explain_plan
from pinit.config import reference
from pinit.config.read import MAX_FILE_BYTES
from pinit.config.resolve import load_checked

EXAMPLES = 2000
PER_INPUT = 1.0  # CPU seconds
MAX_PEAK = 64 << 10  # KiB of RSS one load may add at its peak (issue 11.6 saw 5.7 GB)
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/root", "PORT": "8000", "X": "1"}
WHOLE_FILE = re.compile(
    r"cannot read config|TOML (syntax )?error|TOML nested|larger than|key .* dotted parts"
    r"|config nested"
)

# ---------------------------------------------------------------- TOML text from Python values

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _string(text: str) -> str:
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _string(key)


def _int(n: int) -> str:
    if abs(n) < 10**1000:
        return str(n)
    return ("-" if n < 0 else "") + hex(abs(n))  # str() refuses ints past 4,300 digits


def toml_value(value: object) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return _int(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


class Raw:
    """TOML text used as is (documented samples, datetimes, hand-made oddities)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text!r})"


# ---------------------------------------------------------------- value strategies

TRICKY = [
    "²", "٣", "٣٣s", "\0", "a\0b", "\x1b[2J", "a\nb", "\u202e", "", " ", "-1", "0", "nan", "inf",
    "1e999", "-inf", "http://[::1/", "http://127.0.0.1:²/", "http://127.0.0.1:0/",
    "http://127.0.0.1:8000/a b", "127.0.0.1:²", "[::1]:80", "localhost:65536", "9" * 400 + "K",
    "9" * 400 + "s", "4294967295", "4294967296", "99999999999", "${X}", "${", "${1}",
    "${UNDEFINED}", "$$", "a." * 40 + "a", "unlimited", "root", "nobody", "no-such-user-x",
    "/bin/true", "/nonexistent/x", "true", "sh -c 'exit 0'", "'unbalanced", "x" * 3000,
    "/dev/zero", "TERM", "SIGKILL", "64", "027", "0o777", "999",
]  # fmt: skip
HUGE_INTS = [2**31, 2**32 - 1, 2**32, 2**63, 2**64, 10**400, -(10**400)]
HUGE_HEX = Raw(
    "0x" + "f" * 4000
)  # 4,817 digits: str() of it raises (a Raw: hypothesis repr()s ints)

scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(HUGE_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from([Raw("1979-05-27T07:32:00Z"), Raw("07:32:00"), Raw("1979-05-27"), HUGE_HEX]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["a", "tcp", "file", "x\ny", "", "nofile"]), inner, max_size=3
        ),
    ),
    max_leaves=4,
)


def _samples(prefix: str) -> dict[str, str]:
    """Documented sample TOML per child key of ``prefix`` (valid values, so loads go deep)."""
    out = {}
    for entry in reference.ENTRIES:
        head, _, last = entry.path.rpartition(".")
        if head == prefix:
            out[last] = entry.sample
    return out


# Samples that also pass the host checks here, so that sane configs reach the plan (--explain).
HOST_SAFE = {
    "command": '["/bin/true"]',
    "user": '"root"',
    "group": "0",
    "cwd": '"/"',
    "log_dir": '"/tmp"',
    "control_socket": '"/tmp/pinit-fuzz.sock"',
    "stdout": '"/tmp/pinit-fuzz.log"',
    "stderr": '"stdout"',
    "include": '["inc/web.toml"]',
}
PINIT_SAMPLES = _samples("pinit") | {k: v for k, v in HOST_SAFE.items() if k in _samples("pinit")}
PROGRAM_SAMPLES = _samples("programs.NAME") | {
    k: v for k, v in HOST_SAFE.items() if k in _samples("programs.NAME")
}
NESTED = {k: _samples(f"programs.NAME.{k}") for k in ("backoff", "ready", "stdout", "rlimits")}
JUNK_KEYS = ["comand", "x\nFORGED: ok", "\x1b[31m", "", "a.b", "programs", "é", "k" * 300]


@st.composite
def table(
    draw: st.DrawFn, samples: dict[str, str], nested: dict[str, dict[str, str]], sane: bool
) -> dict:
    out: dict[str, object] = {}
    if "command" in samples and (sane or draw(st.integers(0, 3))):
        out["command"] = Raw(samples["command"])
    keys = draw(st.lists(st.sampled_from(sorted(samples)), max_size=6, unique=True))
    for key in keys:
        pick = 0 if sane else draw(st.integers(0, 9))
        if pick < 5:
            out[key] = Raw(samples[key])
        elif pick < 7 and key in nested:
            sub = nested[key]
            out[key] = draw(table(sub, {}, sane))
        else:
            out[key] = draw(values)
    if not sane and draw(st.integers(0, 4)) == 0:
        out[draw(st.sampled_from(JUNK_KEYS))] = draw(values)
    return out


# ---------------------------------------------------------------- special files


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    inc = root / "inc"
    inc.mkdir()
    os.mkfifo(root / "fifo.toml")
    (root / "dir.toml").mkdir()
    (root / "zero.toml").symlink_to("/dev/zero")
    (root / "big.toml").write_text("#" * (MAX_FILE_BYTES + 10))
    (root / "latin1.toml").write_bytes(b'[programs.l]\ncommand = "caf\xe9"\n')
    (inc / "cycle.toml").write_text(
        '[pinit]\ninclude = ["../main.toml"]\n[programs.c]\ncommand = "/bin/true"\n'
    )
    (inc / "self.toml").write_text('[programs.s]\ncommand = "/bin/true"\n')
    (inc / "web.toml").write_text('[programs.web]\ncommand = "/bin/true"\n')
    return root


INCLUDES = [
    "/dev/zero", "/dev/null", "fifo.toml", "dir.toml", "zero.toml", "big.toml", "latin1.toml",
    "inc/*.toml", "inc/cycle.toml", "main.toml", "*.toml", "missing.toml", "inc/[",
    "/proc/self/mem",
]  # fmt: skip


@st.composite
def config_text(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    if kind == 0:  # long or deep keys, as text
        n = draw(st.integers(1, 3000))
        part = draw(st.sampled_from(["a", '"q.r"', "'l'", "b-c", "1"]))
        sep = draw(st.sampled_from([".", " . ", "."]))
        key = sep.join([part] * n)
        return draw(st.sampled_from([f"[{key}]\nx = 1\n", f"{key} = 1\n", f"a = {{ {key} = 1 }}\n",
                                     f"[[{key}]]\n", f"[programs.w]\n{key} = 1\n"]))  # fmt: skip
    if kind == 1:  # deep nesting
        d = draw(st.integers(1, 2000))
        arrays = "a = " + "[" * d + "]" * d + "\n"
        tables = "a = " + "{b = " * d + "1" + "}" * d + "\n"
        return draw(st.sampled_from([arrays, tables]))
    if kind == 2:  # token soup
        return draw(st.text(st.sampled_from(list("[]{}=.,\"'\n #abc019\\-_:xyzé\0")), max_size=300))
    sane = kind < 6  # documented values only: most of these load, so the plan is fuzzed too
    pinit = draw(table(PINIT_SAMPLES, {}, sane))
    if not sane and draw(st.booleans()):
        pinit["include"] = draw(st.lists(st.sampled_from(INCLUDES), max_size=3))
    programs: dict[str, object] = {}
    names = ["p", "q", "web"] if sane else ["p", "q", "a.b", "x y", "é", "", "p\0", "n" * 200]
    for _ in range(draw(st.integers(1 if sane else 0, 3))):
        programs[draw(st.sampled_from(names))] = draw(table(PROGRAM_SAMPLES, NESTED, sane))
    lines = []
    if pinit or draw(st.booleans()):
        lines.append("[pinit]")
        lines += [f"{_key(k)} = {toml_value(v)}" for k, v in pinit.items()]
    for name, body in programs.items():
        lines.append(f"[programs.{_key(name)}]")
        assert isinstance(body, dict)
        lines += [f"{_key(k)} = {toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the property


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS and return that RSS (KiB)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    return _status_kib("VmRSS")


def check_one(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    before = _reset_peak()
    started = time.thread_time()  # CPU time: the box's other load does not count
    config, errors = load_checked(str(path), ENV)
    if config is not None:
        out = io.StringIO()
        explain_plan(config, ENV, out)
        assert all(line.isprintable() for line in out.getvalue().splitlines())
    elapsed = time.thread_time() - started
    grown = _status_kib("VmHWM") - before
    assert elapsed < PER_INPUT, f"{elapsed:.2f}s for {text[:200]!r}"
    assert grown < MAX_PEAK, f"peak RSS grew {grown} KiB for {text[:200]!r}"
    assert (config is None) == bool(errors)
    for error in errors:
        shown = str(error)
        assert error.file, error
        assert shown.isprintable(), shown
        assert error.key_path or WHOLE_FILE.search(error.message), error


@pytest.mark.timeout(180)
def test_the_loader_survives_generated_configs(place: Path) -> None:
    main = place / "main.toml"
    done = [0]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(config_text())
    def run(text: str) -> None:
        check_one(main, text)
        done[0] += 1

    run()
    assert done[0] >= EXAMPLES  # issue 11: at least 2,000 per run, none skipped for time
