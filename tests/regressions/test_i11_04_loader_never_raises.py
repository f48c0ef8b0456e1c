"""Issue 11.4: inputs that made the config loader (or the host check after it) raise instead
of reporting: non-ASCII digits in user/group/ports, a NUL in a user name, ids past 2**32, an
unparsable http URL, a size of 400 nines plus a unit, and more found while fixing them (ints
too long to print, floats out of range, huge ints as durations/factors/rlimits). Each must
give located errors, never an exception; "٣" must not silently mean uid 3."""

from __future__ import annotations

import pytest

from pinit.config.load import load_text
from pinit.config.resolve import check_host

PATH = "/etc/pinit.toml"
HEAD = '[programs.web]\ncommand = ["/bin/true"]\n'
HUGE_HEX = "0x" + "f" * 4000  # 4,817 decimal digits: str() of it raises ValueError

CASES = [
    ('user = "²"', "programs.web.user"),
    ('user = "٣"\ngroup = "0"', "programs.web.user"),
    ('group = "٣"', "programs.web.group"),
    ('user = "www\\u0000data"', "programs.web.user"),
    ('group = "a\\u0000"', "programs.web.group"),
    ("group = 99999999999", "programs.web.group"),
    ('user = "4294967296"\ngroup = "0"', "programs.web.user"),
    ('ready = { tcp = "127.0.0.1:²" }', "programs.web.ready.tcp"),
    ('ready = { tcp = "127.0.0.1:٣٣" }', "programs.web.ready.tcp"),
    ('ready = { http = "http://[::1/" }', "programs.web.ready.http"),
    ('ready = { http = "http://127.0.0.1:²/" }', "programs.web.ready.http"),
    ('ready = { http = "http://127.0.0.1:0/" }', "programs.web.ready.http"),
    ('ready = { http = "http://127.0.0.1/a b" }', "programs.web.ready.http"),
    (
        'stdout = { file = "w.log", max_bytes = "' + "9" * 400 + 'K" }',
        "programs.web.stdout.max_bytes",
    ),
    (f"numprocs = {HUGE_HEX}", "programs.web.numprocs"),
    (f"stop_timeout = {HUGE_HEX}", "programs.web.stop_timeout"),
    (f"backoff = {{ factor = {HUGE_HEX} }}", "programs.web.backoff.factor"),
    (f"rlimits = {{ nofile = {HUGE_HEX} }}", "programs.web.rlimits.nofile"),
    ("rlimits = { nofile = 18446744073709551616 }", "programs.web.rlimits.nofile"),
    (f"exit_codes = [{HUGE_HEX}]", "programs.web.exit_codes[0]"),
    # found by test_config_fuzz in CI: the past-the-largest-CPU message printed the int
    (f"cpu_affinity = [{HUGE_HEX}]", "programs.web.cpu_affinity"),
    ('stop_signal = "²"', "programs.web.stop_signal"),
    ('stop_timeout = "٣s"', "programs.web.stop_timeout"),
]


@pytest.mark.parametrize(("line", "key"), CASES)
def test_each_crasher_gives_a_located_error(line: str, key: str) -> None:
    config, errors = load_text(HEAD + line + "\n", PATH, {})
    if config is not None:  # the host check is the other half of `pinit check`
        errors = check_host(config, {"PATH": "/bin:/usr/bin"})
    assert [(e.key_path, e.line) for e in errors] == [(key, 3)], errors
    str(errors[0])  # rendering must not raise either


def test_an_integer_too_long_to_read_is_a_file_error_not_an_exception() -> None:
    config, errors = load_text(HEAD + "numprocs = " + "9" * 5000 + "\n", PATH, {})
    assert config is None
    assert [(e.file, e.key_path) for e in errors] == [(PATH, "")]
    assert "4,300 digits" in errors[0].message
