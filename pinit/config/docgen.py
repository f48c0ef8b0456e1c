"""The config reference as documents: the README's tables and ``pinit.schema.json``.

Generated from ``reference.py``'s table by ``scripts/gen-docs`` (``tests/unit/test_readme.py``
fails while a generated file is stale). Kept apart from the table itself because the loader
imports ``reference`` on PID 1's start path and none of this is needed there (issue 7, speed).
"""

from __future__ import annotations

from pinit.config.reference import BY_PATH, ENTRIES, LOG, NAME_PATTERN, Entry, Json, P, children
from pinit.config.reference import leaf as _leaf

__all__ = ["README_END", "README_START", "json_schema", "markdown", "schema_text", "splice_readme"]


# -- JSON Schema ------------------------------------------------------------------------------


def _toml_value(text: str) -> tuple[bool, object]:
    from pinit.config import toml  # pinit's own reader, so the schema agrees with the loader

    try:
        return True, toml.loads(f"v = {text}")["v"]
    except toml.TOMLDecodeError:
        return False, None


def _table_schema(table: str) -> Json:
    props: dict[str, object] = {}
    for entry in children(table):
        props[_leaf(entry.path)] = _key_schema(entry)
    out: Json = {"type": "object", "additionalProperties": False, "properties": props}
    required = [_leaf(e.path) for e in children(table) if e.required]
    if required:
        out["required"] = required
    return out


def _key_schema(entry: Entry) -> Json:
    forms: list[Json] = list(entry.forms)
    if entry.table:
        forms.append({**_table_schema(entry.table), **entry.extra})
    schema: Json = dict(forms[0]) if len(forms) == 1 else {"anyOf": forms}
    schema["description"] = _plain(entry.meaning)
    fine, default = _toml_value(entry.default)
    if fine:
        schema["default"] = default
    fine, sample = _toml_value(entry.sample)
    if fine:
        schema["examples"] = [sample]
    return schema


def _plain(text: str) -> str:
    return text.replace("`", "")


def json_schema() -> Json:
    """Draft-07 JSON Schema of a pinit config (main file or an included one)."""
    program = _key_schema(BY_PATH[P])
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://pinit.invalid/pinit.schema.json",
        "title": "pinit config",
        "description": "The TOML config of pinit, a container init and process supervisor "
        "(generated from pinit/config/reference.py by scripts/gen-docs).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "pinit": _key_schema(BY_PATH["pinit"]),
            "programs": {
                "type": "object",
                "description": _plain(BY_PATH["programs"].meaning),
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": program,
            },
        },
    }


# -- Markdown ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_cell(text: str) -> str:
    if not text:
        return ""
    return text if text.startswith("(") else f"`{text}`"


def markdown() -> str:
    """The config reference as README markdown: one table per TOML table."""
    out = [
        "Types: a *duration* is a number of seconds or a string with units "
        '(`"250ms"`, `"1.5s"`, `"2m"`, `"1h"`, `"1m30s"`; units `us ms s m h d`); a *size* is '
        'bytes or a string (`"512"`, `"64KiB"`, `"10MB"` = 10^7, `"1G"` = 2^30). Unknown keys '
        "are errors (with a did-you-mean), so a typo never silently keeps a default.",
        "",
    ]
    sections = (
        ("[pinit]", "pinit", "pinit."),
        ("[programs.NAME]", P, f"{P}."),
    )
    for title, table, prefix in sections:
        out += [f"#### `{title}`", "", _cell(BY_PATH[table].meaning), ""]
        out += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for entry in ENTRIES:
            if not entry.path.startswith(prefix) or not entry.listed:
                continue
            key = entry.path.removeprefix(prefix)
            if entry.path.startswith(LOG + "."):
                key = "stdout/stderr." + _leaf(entry.path)
            req = " **required**" if entry.required else ""
            out.append(
                f"| `{key}`{req} | {_cell(entry.toml)} | {_cell(_default_cell(entry.default))}"
                f" | {_cell(entry.meaning)} |"
            )
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# -- Generated files (scripts/gen-docs writes them; tests compare) ----------------------------

README_START = "<!-- config-reference:start -->"
README_END = "<!-- config-reference:end -->"


def schema_text() -> str:
    """The content of ``pinit.schema.json``."""
    import json

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def splice_readme(text: str) -> str:
    """``text`` with the section between the config-reference markers regenerated."""
    start = text.find(README_START)
    end = text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README needs {README_START} ... {README_END}")
    head = text[: start + len(README_START)]
    return head + "\n\n" + markdown() + "\n" + text[end:]


def keyset_text() -> str:
    """The content of ``pinit/config/keyset.py``: the key names of each table, and the few
    constants the loader reads, without the rest of the reference."""
    from pinit.config import reference

    tables = sorted({reference.parent(e.path) for e in reference.ENTRIES})
    lines = [
        '"""The keys the loader accepts in each table, generated from config/reference.py by',
        "scripts/gen-docs (tests/unit/test_readme.py fails while it is out of date). Do not edit.",
        "",
        "Why a copy: the reference also holds every key's meaning, example and JSON Schema: 94 KiB",
        "that PID 1 kept for good only to check key names (this: 11 KiB; issue 7, PSS).",
        '"""',
        "",
        '__all__ = ["LIVE_PROBES", "MAX_CPU", "READY_PROBES", "keys"]',
        "",
        f"MAX_CPU = {reference.MAX_CPU}",
        f"READY_PROBES = {_tuple(reference.READY_PROBES)}",
        f"LIVE_PROBES = {_tuple(reference.LIVE_PROBES)}",
        "",
        "_KEYS: dict[str, frozenset[str]] = {",
    ]
    for table in tables:  # laid out as ruff formats it, so the file passes its check
        lines.append(f'    "{table}": frozenset(')
        lines.append("        {")
        lines += [f'            "{name}",' for name in sorted(reference.keys(table))]
        lines += ["        }", "    ),"]
    lines += [
        "}",
        "",
        "",
        "def keys(table: str) -> frozenset[str]:",
        '    """The keys allowed directly in ``table`` ("" for the top level, "pinit",',
        '    "programs.NAME", "programs.NAME.backoff", ...)."""',
        "    return _KEYS.get(table, frozenset())",
        "",
    ]
    return "\n".join(lines)


def _tuple(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{name}"' for name in names) + ("," if len(names) == 1 else "") + ")"
