"""What a key-table line is: the `Entry` record and the JSON Schema fragments its forms use.

Split from ``reference.py`` (issue 7: modules under ~400 lines) so that the table's parts
(``refprogram.py``, ``refprogtail.py``) and the table itself (``reference.py``) share one
record without importing each other. Nothing here is a key; the order of the keys is
``reference.ENTRIES``'s.
"""

from __future__ import annotations

Json = dict[str, object]

# JSON Schema fragments for the scalar units (config/units.py is the authority; these patterns
# accept what it accepts in the spellings people write).
_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)"
DURATION_PATTERN = rf"^\s*(?:{_NUM}(?:[eE][-+]?[0-9]+)?|(?:{_NUM}\s*(?:us|ms|s|m|h|d)\s*)+)\s*$"
DURATION: Json = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]
}
POSITIVE_DURATION: Json = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ]
}
SIZE: Json = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": rf"^\s*{_NUM}\s*(?:[bB]|[kKmMgGtT](?:[iI]?[bB])?)?\s*$"},
    ]
}
SIGNAL: Json = {
    "anyOf": [
        {"type": "integer", "minimum": 1, "maximum": 64},
        {"type": "string", "pattern": r"^\s*(?:(?:[sS][iI][gG])?[A-Za-z][A-Za-z0-9+]*|[0-9]+)\s*$"},
    ]
}
EXIT_CODES: Json = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": 255},
}
STRING: Json = {"type": "string"}
NONEMPTY: Json = {"type": "string", "minLength": 1}
BOOL: Json = {"type": "boolean"}
STR_LIST: Json = {"type": "array", "items": {"type": "string"}}
COMMAND: Json = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string"}},
    ]
}
IDENT: Json = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}]}
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
_LIMITS: list[Json] = [{"type": "integer", "minimum": 0}, {"const": "unlimited"}]
RLIMIT: Json = {
    "anyOf": [
        *_LIMITS,
        {"type": "array", "items": {"anyOf": _LIMITS}, "minItems": 2, "maxItems": 2},
    ]
}

READY_PROBES = ("tcp", "http", "command", "notify")
LIVE_PROBES = ("tcp", "http", "command")  # issue 8: no notify (a watchdog is another key)


class Entry:
    """One key. ``forms``: JSON Schemas of its non-table spellings; ``table``: the path whose
    child entries describe its table spelling ("" when it has none).

    A plain slotted class, not a dataclass: load.py imports this module on PID 1's start path
    in config mode, and generating dataclass methods costs milliseconds there.
    """

    __slots__ = (
        "default",
        "extra",
        "forms",
        "listed",
        "meaning",
        "path",
        "required",
        "sample",
        "table",
        "toml",
    )

    def __init__(  # noqa: PLR0917 - a record, read like a dataclass
        self,
        path: str,
        toml: str,  # the TOML type(s), as the README shows them
        default: str,  # TOML text, or words in parentheses when there is no TOML spelling
        meaning: str,
        sample: str,  # a valid TOML value, loaded by the tests, the schema's example
        forms: tuple[Json, ...] = (),
        table: str = "",
        required: bool = False,
        extra: Json | None = None,  # merged into the table form's schema
        listed: bool = True,  # a row of its own in the README (rlimits share one row)
    ) -> None:
        self.path = path
        self.toml = toml
        self.default = default
        self.meaning = meaning
        self.sample = sample
        self.forms = forms
        self.table = table
        self.required = required
        self.extra: Json = extra or {}
        self.listed = listed

    def __repr__(self) -> str:
        return f"Entry({self.path!r})"


P = "programs.NAME"
LOG = f"{P}.stdout"  # the table form of stdout and stderr: same keys
