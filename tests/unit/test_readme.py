"""The README and pinit.schema.json say what the code does: the documented help is the real
help, and the generated parts are what scripts/gen-docs would write now."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import tomllib
import types
from pathlib import Path

import pytest

from pinit import cli
from pinit.config import docgen, reference

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIX = "out of date: run scripts/gen-docs and commit the result"


def gen_docs() -> types.ModuleType:
    path = str(ROOT / "scripts" / "gen-docs")
    loader = importlib.machinery.SourceFileLoader("gen_docs", path)
    spec = importlib.util.spec_from_loader("gen_docs", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def readme_block(command: str) -> str:
    """The text of the README's ```text block that starts with `$ COMMAND`."""
    text = README.read_text()
    match = re.search(rf"```text\n\$ {re.escape(command)}\n(.*?)```", text, re.S)
    assert match is not None, f"README has no block for `{command}`"
    return match.group(1)


def test_readme_documents_the_real_pinit_help(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    real = cli._run_parser().format_help()
    assert "--config FILE" in real
    assert readme_block("pinit --help") == real, "pinit --help " + FIX


def test_readme_documents_the_real_check_help(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    real = capsys.readouterr().out
    assert "--explain" in real
    assert readme_block("pinit check --help") == real, "pinit check --help " + FIX


def test_readme_generated_sections_are_current() -> None:
    text = README.read_text()
    assert gen_docs().render_readme(text) == text, "README.md " + FIX
    section = text[text.index(docgen.README_START) : text.index(docgen.README_END)]
    assert docgen.markdown() in section


def test_schema_file_is_current() -> None:
    assert (ROOT / "pinit.schema.json").read_text() == docgen.schema_text(), (
        "pinit.schema.json " + FIX
    )


def test_keyset_is_current() -> None:
    """The loader checks key names against keyset.py, generated from the reference (issue 7:
    PID 1 no longer imports the reference): both must allow the same keys everywhere."""
    assert (ROOT / "pinit" / "config" / "keyset.py").read_text() == docgen.keyset_text(), (
        "pinit/config/keyset.py " + FIX
    )
    from pinit.config import keyset

    tables = {reference.parent(e.path) for e in reference.ENTRIES} | {"programs.NAME.nothing"}
    for table in tables:
        assert keyset.keys(table) == reference.keys(table), table
    assert (keyset.MAX_CPU, keyset.READY_PROBES, keyset.LIVE_PROBES) == (
        reference.MAX_CPU,
        reference.READY_PROBES,
        reference.LIVE_PROBES,
    )


def test_recordinit_is_current() -> None:
    """Every record shape pinit's modules use is precompiled (issue 7: no compile at start)."""
    from pinit import recordgen

    assert (ROOT / "pinit" / "recordinit.py").read_text() == recordgen.text(), (
        "pinit/recordinit.py " + FIX
    )


def test_splice_replaces_only_between_the_markers() -> None:
    text = f"top\n{docgen.README_START}\nstale\n{docgen.README_END}\nbottom\n"
    out = docgen.splice_readme(text)
    assert out.startswith("top\n") and out.endswith(f"{docgen.README_END}\nbottom\n")
    assert "stale" not in out and "`stop_timeout`" in out
    with pytest.raises(ValueError, match="config-reference"):
        docgen.splice_readme("no markers")


def test_readme_keeps_its_fixed_parts() -> None:
    text = README.read_text()
    assert text.startswith(
        "# pinit\n\n```sh\n"
        "scripts/demo    # set up (venv, deps) and run pinit as PID 1 on examples/pinit.toml\n"
        "scripts/test    # set up (apt: tini, dumb-init; venv) and run lint, types,"
    )
    assert text.count("<!-- bench:start -->") == 1 and text.count("<!-- bench:end -->") == 1
    for heading in (
        "## `pinit -- CMD`: the tini-style init",
        "## Under systemd",
        "## Kubernetes",
        "## Config reference",
        "## Exit status",
        "## Signals",
        "## Coming from supervisord, tini or dumb-init",
        "## `pinit check` and `--explain`",
        "## The frozen binary",
    ):
        assert heading in text, heading
    assert "docs/architecture.md" in text and "packaging/CHOICE.md" in text


def test_every_toml_block_in_the_readme_is_a_valid_config_fragment() -> None:
    """The README's TOML examples use only documented keys (taplo's .taplo.toml aside)."""
    text = README.read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        doc = tomllib.loads(block)
        if "rule" in doc:
            continue
        for prog in doc.get("programs", {}).values():
            assert set(prog) <= reference.keys("programs.NAME"), prog
        assert set(doc.get("pinit", {})) <= reference.keys("pinit")


def test_schema_is_draft7_and_closed() -> None:
    schema = json.loads((ROOT / "pinit.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    program = schema["properties"]["programs"]["additionalProperties"]
    assert program["additionalProperties"] is False
    assert program["required"] == ["command"]
    assert set(program["properties"]) == reference.keys("programs.NAME")
    assert program["properties"]["restart"]["enum"] == ["always", "on-failure", "never"]
    assert schema["properties"]["pinit"]["properties"]["on_fatal"]["enum"] == [
        "shutdown",
        "ignore",
    ]


def test_readme_shows_the_real_pinit_service() -> None:
    """The unit under "Under systemd" is units/pinit.service, its comment lines left out: a
    changed unit (issue 10 moved ExecReload to `pinit ctl reload`) must change the README."""
    text = README.read_text()
    section = text[text.index("## Under systemd") : text.index("## Kubernetes")]
    match = re.search(r"```ini\n(.*?)```", section, re.S)
    assert match is not None, "README's systemd section has no ```ini block"
    unit = (ROOT / "units" / "pinit.service").read_text().splitlines(keepends=True)
    assert match.group(1) == "".join(line for line in unit if not line.startswith("#"))
