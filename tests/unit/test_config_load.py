"""config.load: each class of mistake gives its message, key path and line; valid configs load.

Every error test asserts all three parts of the ConfigError, because a right message on the
wrong line sends the reader to the wrong place just as surely as a wrong message.
"""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pinit.config.load import load_file, load_text
from pinit.config.locate import locate
from pinit.config.schema import (
    Config,
    ConfigError,
    Liveness,
    OnFatal,
    Readiness,
    ReadyKind,
    Restart,
)

PATH = "/etc/pinit/pinit.toml"


def load(
    text: str, environ: dict[str, str] | None = None
) -> tuple[Config | None, list[ConfigError]]:
    return load_text(textwrap.dedent(text), PATH, environ or {})


def ok(text: str, environ: dict[str, str] | None = None) -> Config:
    config, errors = load(text, environ)
    assert errors == []
    assert config is not None
    return config


def one_error(text: str, environ: dict[str, str] | None = None) -> ConfigError:
    config, errors = load(text, environ)
    assert config is None
    assert len(errors) == 1, errors
    assert errors[0].file == PATH
    return errors[0]


def test_full_example_loads_with_every_field_typed() -> None:
    config = ok(
        """\
        [pinit]
        name = "shop"
        main = "web"
        on_fatal = "ignore"
        stop_timeout = "15s"
        log_dir = "logs"
        control_socket = "/run/pinit.sock"

        [programs.db]
        command = "sleep 100"

        [programs.web]
        command = ["gunicorn", "app:app", "-b", "127.0.0.1:${PORT}"]
        numprocs = 2
        user = "www-data"
        umask = "027"
        cwd = "app"
        environment = { PORT = "8000", APP_ENV = "prod" }
        restart = "always"
        exit_codes = [0, 2]
        start_seconds = "1s"
        start_retries = 5
        backoff = { initial = "100ms", max = "30s", factor = 3, jitter = 0.2 }
        stop_signal = "QUIT"
        after = ["db"]
        ready = { http = "http://127.0.0.1:8000/health", interval = "50ms" }
        stdout = { file = "web.log", max_bytes = "10MB", backups = 2, passthrough = true }
        stderr = "stdout"
        rlimits = { nofile = 65536, core = [0, "unlimited"] }
        autostart = false
        critical = true
        """
    )
    assert config.name == "shop"
    assert config.main == "web"
    assert config.on_fatal is OnFatal.IGNORE
    assert config.stop_timeout == 15.0
    assert config.log_dir == "/etc/pinit/logs"
    assert config.path == PATH
    db, web = config.programs
    assert db.command == ("sleep", "100")
    assert db.stop_timeout == 15.0  # inherits [pinit].stop_timeout
    assert web.command == ("gunicorn", "app:app", "-b", "127.0.0.1:8000")
    assert web.numprocs == 2
    assert web.umask == 0o027
    assert web.cwd == "/etc/pinit/app"
    assert web.environment == (("PORT", "8000"), ("APP_ENV", "prod"))
    assert web.restart is Restart.ALWAYS
    assert web.exit_codes == frozenset({0, 2})
    assert web.start_retries == 5
    assert web.backoff.initial == pytest.approx(0.1)
    assert web.backoff.factor == 3.0
    assert web.stop_signal is signal.SIGQUIT
    assert web.after == ("db",)
    assert web.ready.kind is ReadyKind.HTTP
    assert (web.ready.host, web.ready.port) == ("127.0.0.1", 8000)
    assert web.ready.interval == pytest.approx(0.05)
    assert web.stdout.file == "/etc/pinit/logs/web.log"
    assert web.stdout.max_bytes == 10_000_000
    assert web.stdout.passthrough is True
    assert web.stderr is None
    assert web.rlimits == (("nofile", 65536, 65536), ("core", 0, -1))
    assert web.autostart is False
    assert web.critical is True
    assert web.source == PATH


def test_toml_syntax_error_has_the_line() -> None:
    err = one_error('[programs.web]\ncommand = ["a"]\nuser = \n')
    assert err.key_path == ""
    assert err.line == 3
    assert err.message.startswith("TOML syntax error")
    assert "line" not in err.message  # the position went into .line, not the text


def test_unknown_key_has_did_you_mean() -> None:
    err = one_error('[programs.web]\ncomand = ["a"]\ncommand = ["a"]\n')
    assert (err.key_path, err.line) == ("programs.web.comand", 2)
    assert err.message == "unknown key (did you mean 'command'?)"
    assert str(err) == f"{PATH}:2: programs.web.comand: unknown key (did you mean 'command'?)"


def test_unknown_top_level_and_pinit_keys() -> None:
    _, errors = load('[pinit]\nstop_timout = 3\n[progams.web]\ncommand = "a"\n')
    assert [(e.key_path, e.line, e.message) for e in errors] == [
        ("progams", 3, "unknown key (did you mean 'programs'?)"),
        ("pinit.stop_timout", 2, "unknown key (did you mean 'stop_timeout'?)"),
    ]


def test_wrong_type_names_the_expected_type() -> None:
    err = one_error('[programs.web]\ncommand = "a"\nnumprocs = "two"\n')
    assert (err.key_path, err.line) == ("programs.web.numprocs", 3)
    assert err.message == "expected an integer, got string 'two'"


def test_out_of_range_integer() -> None:
    err = one_error('[programs.web]\ncommand = "a"\n\nnumprocs = 0\n')
    assert (err.key_path, err.line, err.message) == (
        "programs.web.numprocs",
        4,
        "must be >= 1, got 0",
    )


def test_missing_command_points_at_the_table() -> None:
    err = one_error("[programs.web]\nuser = 'root'\n")
    assert (err.key_path, err.line) == ("programs.web", 1)
    assert err.message == "missing required key 'command'"


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ("[]", "programs.web.command", "must not be empty"),
        ('""', "programs.web.command", "must not be empty"),
        (
            '"echo \'unclosed"',
            "programs.web.command",
            "cannot split command string: No closing quotation",
        ),
        ('["a", 3]', "programs.web.command[1]", "expected a string, got integer 3"),
        ("5", "programs.web.command", "expected an array, got integer 5"),
    ],
)
def test_bad_command(value: str, path: str, message: str) -> None:
    err = one_error(f"[programs.web]\ncommand = {value}\n")
    assert (err.key_path, err.line, err.message) == (path, 2, message)


def test_undefined_variable_names_the_item() -> None:
    err = one_error('[programs.web]\ncommand = ["srv", "-p", "${PORT}"]\n')
    assert (err.key_path, err.line) == ("programs.web.command[2]", 2)
    assert err.message == "undefined variable ${PORT}"


def test_expansion_order_own_environment_then_environ() -> None:
    config = ok(
        """\
        [programs.web]
        command = ["srv", "${BIND}", "$$5", "$HOME", "sh -c 'echo $$X'"]
        cwd = "${ROOT}/app"
        environment = { PORT = "80", BIND = "${HOST}:${PORT}", PATH = "/opt/bin:${PATH}" }
        """,
        {"HOST": "0.0.0.0", "PORT": "1", "PATH": "/usr/bin", "ROOT": "/srv"},
    )
    prog = config.programs[0]
    # supervisor #1170: entries may use earlier entries of the same table; own PORT wins.
    assert dict(prog.environment)["BIND"] == "0.0.0.0:80"
    assert dict(prog.environment)["PATH"] == "/opt/bin:/usr/bin"
    assert prog.command == ("srv", "0.0.0.0:80", "$5", "$HOME", "sh -c 'echo $X'")
    assert prog.cwd == "/srv/app"


def test_environment_errors_are_per_entry() -> None:
    _, errors = load(
        """\
        [programs.web]
        command = "a"
        [programs.web.environment]
        A = "${NOPE}"
        B = 5
        """
    )
    assert [(e.key_path, e.line, e.message) for e in errors] == [
        ("programs.web.environment.A", 4, "undefined variable ${NOPE}"),
        ("programs.web.environment.B", 5, "expected a string, got integer 5"),
    ]


@pytest.mark.parametrize(
    ("line", "path", "message"),
    [
        ('stop_timeout = "10 sec"', "programs.web.stop_timeout", "invalid duration '10 sec'"),
        ('stop_signal = "TERMINATE"', "programs.web.stop_signal", "no such signal 'TERMINATE'"),
        ('umask = "089"', "programs.web.umask", "invalid umask '089'"),
        ('restart = "sometimes"', "programs.web.restart", "expected one of 'always', 'on-failure'"),
        ("exit_codes = [0, 256]", "programs.web.exit_codes[1]", "must be <= 255, got 256"),
        ("start_retries = -1", "programs.web.start_retries", "must be >= 0, got -1"),
        ("autostart = 1", "programs.web.autostart", "expected a boolean"),
        ('user = ""', "programs.web.user", "must not be empty"),
        ('after = ["nope"]', "programs.web.after[0]", "no such program 'nope'"),
        ('after = ["wbe"]', "programs.web.after[0]", "no such program 'wbe' (did you mean 'web'?)"),
        ("rlimits = { nofile = [10, 5] }", "programs.web.rlimits.nofile", "soft limit 10 exceeds"),
        ("rlimits = { nofiles = 5 }", "programs.web.rlimits.nofiles", "unknown key (did you mean"),
        ('rlimits = { core = "lots" }', "programs.web.rlimits.core", "or 'unlimited'"),
        (
            'backoff = { initial = "5s", max = "1s" }',
            "programs.web.backoff.max",
            "must be >= initial",
        ),
        ("backoff = { jitter = 2 }", "programs.web.backoff.jitter", "between 0 and 1"),
        ('ready = "soon"', "programs.web.ready", "expected 'started' or a table"),
        ('ready = { tcp = "localhost" }', "programs.web.ready.tcp", "expected 'host:port'"),
        (
            'ready = { http = "ftp://x/" }',
            "programs.web.ready.http",
            "expected 'http://host:port/path'",
        ),
        ("ready = { notify = false }", "programs.web.ready.notify", "must be true"),
        ('ready = { tcp = "a:1", notify = true }', "programs.web.ready", "exactly one of"),
        (
            'ready = { notify = true, timeout = "0s" }',
            "programs.web.ready.timeout",
            "greater than zero",
        ),
        (
            "stdout = { file = 'x', max_byte = 5 }",
            "programs.web.stdout.max_byte",
            "did you mean 'max_bytes'",
        ),
        ('stderr = { max_bytes = "10XB" }', "programs.web.stderr.max_bytes", "invalid size '10XB'"),
        # issue 8: liveness, one probe per table as for ready
        ('live = { interval = "1s" }', "programs.web.live", "exactly one of tcp, http, command"),
        ('live = { notify = true, tcp = "127.0.0.1:1" }', "programs.web.live.notify", "unknown"),
        ('live = { tcp = "db:5432" }', "programs.web.live.tcp", "expected an IP address"),
        ('live = { tcp = "127.0.0.1:1", failures = 0 }', "programs.web.live.failures", ">= 1"),
        ('live = { command = [], timeout = "1s" }', "programs.web.live.command", "not be empty"),
        ('live = { http = "http://[::1/" }', "programs.web.live.http", "expected 'http://"),
        (
            'live = { tcp = "127.0.0.1:1", interval = "0s" }',
            "programs.web.live.interval",
            "greater than zero",
        ),
        (
            'live = { tcp = "127.0.0.1:1", initial_delay = "soon" }',
            "programs.web.live.initial_delay",
            "invalid duration",
        ),
    ],
)
def test_field_errors(line: str, path: str, message: str) -> None:
    err = one_error(f'[programs.web]\ncommand = "a"\n{line}\n')
    assert err.key_path == path
    assert err.line == 3
    assert message in err.message


def test_live_loads_typed() -> None:
    config = ok(
        '[programs.web]\ncommand = "a"\nenvironment = { P = "8080" }\n'
        'live = { http = "http://127.0.0.1:${P}/h", interval = "5s", timeout = "1s", '
        'failures = 2, initial_delay = "30s" }\n'
    )
    live = config.program("web").live
    assert live == Liveness(
        Readiness(
            ReadyKind.HTTP, "127.0.0.1", 8080, "http://127.0.0.1:8080/h", interval=5.0, timeout=1.0
        ),
        interval=5.0,
        timeout=1.0,
        failures=2,
        initial_delay=30.0,
    )
    assert ok('[programs.web]\ncommand = "a"\n').program("web").live is None


def test_every_error_is_collected_not_just_the_first() -> None:
    _, errors = load(
        """\
        [pinit]
        main = "nope"
        [programs.a]
        command = []
        numprocs = -1
        [programs.b]
        command = "x"
        stop_signal = "NOPE"
        umask = "9"
        """
    )
    assert [(e.key_path, e.line) for e in errors] == [
        ("programs.a.command", 4),
        ("programs.a.numprocs", 5),
        ("programs.b.umask", 9),
        ("programs.b.stop_signal", 8),
        ("pinit.main", 2),
    ]


def test_main_must_name_a_program() -> None:
    err = one_error('[pinit]\nmain = "webb"\n[programs.web]\ncommand = "a"\n')
    assert (err.key_path, err.line) == ("pinit.main", 2)
    assert err.message == "no such program 'webb' (did you mean 'web'?)"


def test_on_fatal_enum() -> None:
    err = one_error('[pinit]\non_fatal = "panic"\n')
    assert (err.key_path, err.line) == ("pinit.on_fatal", 2)
    assert err.message == "expected one of 'shutdown', 'ignore', got string 'panic'"


def test_dependency_cycle_lists_the_cycle() -> None:
    err = one_error(
        """\
        [programs.a]
        command = "x"
        after = ["b"]
        [programs.b]
        command = "x"
        after = ["a"]
        """
    )
    assert (err.key_path, err.line) == ("programs.a.after", 3)
    assert err.message == "dependency cycle: a -> b -> a"


def test_invalid_program_name() -> None:
    err = one_error('[programs."we b"]\ncommand = "x"\n')
    assert (err.key_path, err.line) == ("programs.we b", 1)
    assert "invalid program name" in err.message


def test_programs_must_be_tables() -> None:
    err = one_error('programs = { web = "x" }\n')
    assert (err.key_path, err.line) == ("programs.web", 1)
    assert err.message == "expected a table, got string"


def test_relative_log_file_without_log_dir_uses_config_dir() -> None:
    config = ok('[programs.web]\ncommand = "x"\nstdout = "out.log"\nstderr = "/var/log/err.log"\n')
    prog = config.programs[0]
    assert prog.stdout.file == "/etc/pinit/out.log"
    assert prog.stderr is not None
    assert prog.stderr.file == "/var/log/err.log"


def test_dotted_keys_and_inline_tables_are_located() -> None:
    _, errors = load('programs.web.command = "x"\nprograms.web.numprocs = "2"\n')
    assert [(e.key_path, e.line) for e in errors] == [("programs.web.numprocs", 2)]


def test_includes_merge_programs_and_report_duplicates(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.toml").write_text('[programs.worker]\ncommand = "w"\n')
    (tmp_path / "conf.d" / "b.toml").write_text(
        '[pinit]\nname = "x"\n\n[programs.web]\ncommand = "y"\n'
    )
    main = tmp_path / "pinit.toml"
    main.write_text(
        '[pinit]\ninclude = ["conf.d/*.toml", "extra.toml"]\n[programs.web]\ncommand = "x"\n'
    )
    config, errors = load_file(str(main), {})
    b = str(tmp_path / "conf.d" / "b.toml")
    assert config is None
    assert [(e.file, e.line, e.key_path, e.message) for e in errors] == [
        (str(main), 2, "pinit.include[1]", f"no such file {str(tmp_path / 'extra.toml')!r}"),
        (b, 1, "pinit", "an included file may only define [programs.*] tables"),
        (b, 4, "programs.web", f"defined twice: in {main} and {b}"),
    ]
    (tmp_path / "conf.d" / "b.toml").unlink()
    main.write_text('[pinit]\ninclude = ["conf.d/*.toml"]\n[programs.web]\ncommand = "x"\n')
    config, errors = load_file(str(main), {})
    assert errors == []
    assert config is not None
    assert [p.name for p in config.programs] == ["web", "worker"]
    assert config.program("worker").source == str(tmp_path / "conf.d" / "a.toml")


def test_errors_in_included_files_carry_that_file(tmp_path: Path) -> None:
    (tmp_path / "inc.toml").write_text('\n[programs.w]\ncommand = "w"\nnumprocs = 0\n')
    main = tmp_path / "pinit.toml"
    main.write_text('[pinit]\ninclude = ["inc.toml"]\n')
    _, errors = load_file(str(main), {})
    assert [(e.file, e.line, e.key_path) for e in errors] == [
        (str(tmp_path / "inc.toml"), 4, "programs.w.numprocs")
    ]


def test_unreadable_file_is_one_error(tmp_path: Path) -> None:
    config, errors = load_file(str(tmp_path / "missing.toml"), {})
    assert config is None
    assert [(e.key_path, e.message) for e in errors] == [
        ("", "cannot read config: No such file or directory")
    ]
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe")
    _, errors = load_file(str(tmp_path / "bin.toml"), {})
    assert "not UTF-8" in errors[0].message


def test_locate_follows_multiline_strings_and_arrays() -> None:
    text = textwrap.dedent(
        '''\
        [programs.web]  # comment
        command = [
          "a",
          "user = x",
        ]
        doc = """
        stop_signal = 3
        """
        stop_signal = "TERM"
        ready = { tcp = "h:1", timeout = "1s" }
        [programs."a.b"]
        "quoted key" = 1
        '''
    )
    assert locate(text, "programs.web.command[1]") == 2
    assert locate(text, "programs.web.stop_signal") == 9
    assert locate(text, "programs.web.user") == 1  # not in text: falls back to the table
    assert locate(text, "programs.web.ready.timeout") == 10
    assert locate(text, "programs.a.b.quoted key") == 12
    assert locate(text, "nothing.here") is None


# -- never raises ----------------------------------------------------------------------------

_keys = st.sampled_from(
    ["command", "numprocs", "user", "umask", "ready", "stdout", "stderr", "after", "backoff",
     "rlimits", "environment", "restart", "stop_signal", "stop_timeout", "cwd", "exit_codes",
     "comand", "x"]
)  # fmt: skip
_scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=12),
    st.sampled_from(["started", "stdout", "${X}", "$$", "10MB", "1s", "TERM", "a:1", "http://h/"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["web", "db", "w-1", "bad name"]),
        st.dictionaries(_keys, _values, max_size=6),
        max_size=3,
    ),
    st.sampled_from(["", '[pinit]\nmain = "web"\n', '[pinit]\nstop_timeout = "x"\n']),
)
def test_random_documents_never_raise(programs: dict[str, dict[str, object]], head: str) -> None:
    lines = [head]
    for name, table in programs.items():
        lines.append(f'[programs."{name}"]')
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
    config, errors = load_text("\n".join(lines), PATH, {"X": "1"})
    assert (config is None) == bool(errors)
    assert all(isinstance(e, ConfigError) and e.file == PATH for e in errors)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises(text: str) -> None:
    config, errors = load_text(text, PATH, {})
    assert (config is None) == bool(errors)
    assert all(isinstance(e, ConfigError) for e in errors)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("${PORT", "unterminated '${' in '${PORT'"),
        ("${1X}", "invalid variable name ${1X}"),
        ("${}", "invalid variable name ${}"),
    ],
)
def test_malformed_expansions(item: str, message: str) -> None:
    err = one_error(f'[programs.web]\ncommand = ["srv", "{item}"]\n')
    assert (err.key_path, err.line, err.message) == ("programs.web.command[1]", 2, message)


def test_readiness_probe_and_ids_expand_and_normalise() -> None:
    config = ok(
        """\
        [programs.web]
        command = "srv"
        user = 33
        group = 0
        environment = { PORT = "8080" }
        ready = { tcp = "[::1]:${PORT}" }
        """
    )
    prog = config.programs[0]
    assert (prog.ready.kind, prog.ready.host, prog.ready.port) == (ReadyKind.TCP, "::1", 8080)
    assert (prog.user, prog.group) == ("33", "0")
