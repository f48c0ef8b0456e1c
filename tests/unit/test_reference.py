"""config.reference is the loader's key list: every documented key loads, every accepted key is
documented, and each documented TOML default is the default schema.py really has."""

from __future__ import annotations

import dataclasses
import resource
import tomllib
from pathlib import Path

import pytest

from pinit.config import docgen, loadprog, reference
from pinit.config import load as load_mod
from pinit.config.load import load_text
from pinit.config.schema import Backoff, Config, Liveness, LogSpec, Program

PATH = "/etc/pinit/pinit.toml"
ENV = {"PORT": "8000"}
PROGRAM_PREFIX = "programs.NAME."
LOG_PREFIX = reference.LOG + "."

# Tables whose keys are plain values (the entries for the tables themselves are documented
# but loaded through their children).
VALUE_ENTRIES = [
    e for e in reference.ENTRIES if e.path.startswith(("pinit.", PROGRAM_PREFIX)) and not e.table
] + [e for e in reference.ENTRIES if e.table and e.path != "pinit" and e.path != "programs.NAME"]


def config_text(path: str, value: str) -> str:
    """A whole config that sets ``path`` (a reference path) to the TOML text ``value``."""
    pinit = ["[pinit]"]
    program = ["[programs.p]"]
    if path.startswith("pinit."):
        pinit.append(f"{path.removeprefix('pinit.')} = {value}")
    else:
        key = path.removeprefix(PROGRAM_PREFIX)
        program.append(f"{key} = {value}")
        if key.startswith("ready.") and key.removeprefix("ready.") not in reference.READY_PROBES:
            program.append('ready.tcp = "127.0.0.1:9"')  # interval/timeout need a probe
        if key.startswith("live.") and key.removeprefix("live.") not in reference.LIVE_PROBES:
            program.append('live.tcp = "127.0.0.1:9"')  # issue 8: so do live's
    if not any(line.startswith("command =") for line in program):
        program.append('command = ["true"]')
    return "\n".join([*pinit, "", *program, "", "[programs.q]", 'command = ["true"]', ""])


def load_ok(text: str) -> Config:
    config, errors = load_text(text, PATH, ENV)
    assert errors == [], text
    assert config is not None
    return config


@pytest.mark.parametrize("entry", VALUE_ENTRIES, ids=lambda e: e.path)
def test_every_documented_key_loads_with_its_sample(entry: reference.Entry) -> None:
    config = load_ok(config_text(entry.path, entry.sample))
    baseline = load_ok(config_text("programs.NAME.numprocs", "1"))
    # the sample is not a no-op: the key reached the loaded config (include: see below)
    assert config != baseline or entry.path == "pinit.include"


def test_include_sample_pulls_in_programs(tmp_path: Path) -> None:
    sample = next(e.sample for e in reference.ENTRIES if e.path == "pinit.include")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "extra.toml").write_text('[programs.r]\ncommand = ["true"]\n')
    text = config_text("pinit.include", sample)
    config, errors = load_text(text, str(tmp_path / "pinit.toml"), ENV)
    assert errors == []
    assert config is not None
    assert [p.name for p in config.programs] == ["p", "q", "r"]


@pytest.mark.parametrize(
    "entry", [e for e in reference.ENTRIES if e.path.startswith(LOG_PREFIX)], ids=lambda e: e.path
)
def test_stderr_takes_the_same_table_as_stdout(entry: reference.Entry) -> None:
    path = "programs.NAME.stderr." + entry.path.removeprefix(LOG_PREFIX)
    assert load_ok(config_text(path, entry.sample)).program("p").stderr is not None


def _toml(text: str) -> tuple[bool, object]:
    try:
        return True, tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return False, None


DEFAULTED = [e for e in VALUE_ENTRIES if _toml(e.default)[0]]


@pytest.mark.parametrize("entry", DEFAULTED, ids=lambda e: e.path)
def test_documented_default_is_the_real_default(entry: reference.Entry) -> None:
    if entry.path.startswith(PROGRAM_PREFIX + "ready."):  # config_text adds a tcp probe
        baseline = load_ok(config_text(PROGRAM_PREFIX + "ready.tcp", '"127.0.0.1:9"'))
    elif entry.path.startswith(PROGRAM_PREFIX + "live."):
        baseline = load_ok(config_text(PROGRAM_PREFIX + "live.tcp", '"127.0.0.1:9"'))
    else:
        baseline = load_ok(config_text("programs.NAME.numprocs", "1"))
    assert load_ok(config_text(entry.path, entry.default)) == baseline


def test_words_stand_only_where_toml_cannot_say_the_default() -> None:
    worded = {e.path for e in VALUE_ENTRIES if not _toml(e.default)[0]}
    for path in worded:
        assert reference.ENTRIES[[e.path for e in reference.ENTRIES].index(path)].default[0] == "("
    assert "programs.NAME.stop_timeout" in worded
    assert len(DEFAULTED) > 30


TABLES = {
    "": "",
    "pinit": "pinit.",
    "programs.NAME": PROGRAM_PREFIX,
    "programs.NAME.backoff": PROGRAM_PREFIX + "backoff.",
    "programs.NAME.ready": PROGRAM_PREFIX + "ready.",
    "programs.NAME.live": PROGRAM_PREFIX + "live.",
    "programs.NAME.stdout": PROGRAM_PREFIX + "stdout.",
    "programs.NAME.stderr": PROGRAM_PREFIX + "stderr.",
    "programs.NAME.rlimits": PROGRAM_PREFIX + "rlimits.",
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_an_undocumented_key_is_refused_in_every_table(table: str) -> None:
    if table:
        text = config_text(TABLES[table] + "undocumented_key", "1")
    else:
        text = 'undocumented_key = 1\n[programs.p]\ncommand = ["true"]\n'
    config, errors = load_text(text, PATH, ENV)
    assert config is None
    assert any(
        e.key_path.endswith("undocumented_key") and e.message.startswith("unknown key")
        for e in errors
    ), errors


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_loader_accepts_exactly_the_documented_keys() -> None:
    assert reference.keys("") == {"pinit", "programs"} == set(load_mod.TOP_KEYS)
    assert reference.keys("pinit") == load_mod.PINIT_KEYS
    assert reference.keys("programs.NAME") == loadprog.PROGRAM_KEYS
    assert reference.keys("programs.NAME.rlimits") == loadprog.RLIMIT_NAMES
    # ...and the reference covers every field of the typed config
    assert _fields(Config) - {"programs", "path"} | {"include"} == reference.keys("pinit")
    assert _fields(Program) - {"name", "source"} == reference.keys("programs.NAME")
    assert _fields(Backoff) == reference.keys("programs.NAME.backoff")
    assert _fields(LogSpec) == reference.keys("programs.NAME.stdout")
    probes = set(reference.READY_PROBES)
    assert reference.keys("programs.NAME.ready") == probes | {"interval", "timeout"}
    live = set(reference.LIVE_PROBES) | _fields(Liveness) - {"check"}
    assert reference.keys("programs.NAME.live") == live


def test_every_rlimit_name_is_a_real_limit() -> None:
    for name in reference.keys("programs.NAME.rlimits"):
        assert hasattr(resource, f"RLIMIT_{name.upper()}"), name


def test_markdown_has_a_row_for_every_listed_key() -> None:
    text = docgen.markdown()
    for entry in reference.ENTRIES:
        if not entry.listed or entry.path in ("pinit", "programs", "programs.NAME"):
            continue
        leaf = entry.path.rpartition(".")[2]
        assert f"`{leaf}`" in text or f".{leaf}`" in text, entry.path
    for name in reference.keys("programs.NAME.rlimits"):
        assert f"`{name}`" in text
    assert text.count("| --- | --- | --- | --- |") == 2


@pytest.mark.parametrize("entry", VALUE_ENTRIES, ids=lambda e: e.path)
def test_the_json_schema_accepts_every_documented_sample(entry: reference.Entry) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[dev]'")
    doc = tomllib.loads(config_text(entry.path, entry.sample))
    jsonschema.Draft7Validator(docgen.json_schema()).validate(doc)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("stop_timeout", '"10 sec"'),
        ("stop_timeout", "-1"),
        ("stdout.max_bytes", '"10 bits"'),
        ("umask", '"089"'),
        ("numprocs", "0"),
        ("exit_codes", "[256]"),
        ("ready", '"now"'),
        ("ready", '{ interval = "1s" }'),
        ("rlimits.nofiles", "10"),
        ("backoff.jitter", "2"),
        ("live", '{ interval = "1s" }'),
        ("live", '{ tcp = "127.0.0.1:1", command = "true" }'),
        ("live.failures", "0"),
    ],
)
def test_the_json_schema_refuses_what_the_loader_refuses(key: str, value: str) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="pip install -e '.[dev]'")
    text = config_text(PROGRAM_PREFIX + key, value)
    assert load_text(text, PATH, ENV)[0] is None
    validator = jsonschema.Draft7Validator(docgen.json_schema())
    assert not validator.is_valid(tomllib.loads(text))
