"""Issue 11.10 (config side): `backups = 1000000000` was accepted and started a billion
renames at the first rotation. The key reference bounds it to 0..1000, so the loader, the
generated JSON Schema (pinit.schema.json) and the README all say so."""

from __future__ import annotations

import json

from pinit.config import docgen
from pinit.config.load import load_text
from tests.conftest import ROOT

PATH = "/etc/pinit.toml"


def _load(backups: int) -> list[str]:
    text = f'[programs.web]\ncommand = "x"\nstdout = {{ file = "w.log", backups = {backups} }}\n'
    return [str(e) for e in load_text(text, PATH, {})[1]]


def test_the_loader_takes_0_to_1000_backups() -> None:
    assert _load(0) == []
    assert _load(1000) == []
    assert _load(1001) == [f"{PATH}:3: programs.web.stdout.backups: must be <= 1000, got 1001"]
    assert _load(10**9) == [
        f"{PATH}:3: programs.web.stdout.backups: must be <= 1000, got 1000000000"
    ]


def test_the_schema_in_the_repository_bounds_backups() -> None:
    for schema in (docgen.json_schema(), json.loads((ROOT / "pinit.schema.json").read_text())):
        text = json.dumps(schema)
        assert '"maximum": 1000' in text
    table = json.loads((ROOT / "pinit.schema.json").read_text())
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "backups" in node.get("properties", {}):
                found.append(node["properties"]["backups"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(table)
    assert found
    assert all(json.dumps(f).count('"maximum": 1000') == 1 for f in found), found
