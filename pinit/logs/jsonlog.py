"""JSON log lines for log pipelines (issue 8, ``[pinit] log_format = "json"``).

One object per line, whatever a program writes: ``ts`` (float seconds since the epoch),
``program``, ``instance`` (as ``pinit ctl`` names it), ``stream`` (``stdout``/``stderr``), and
``msg``, the line as a string (without its newline). A program line that is itself a JSON
object is kept as an object under ``json`` instead of ``msg``: never escaped into a string, and
a separate key because a log store maps a field to one type (Elasticsearch and Loki's JSON
stage refuse a ``msg`` that is a string in one document and an object in the next). A line
that only looks like an object (invalid JSON, NaN) stays a string. pinit's own messages carry
``program: "pinit"``, ``instance: null``, ``stream: "stderr"`` and a ``level``.

Lines come from ``logs.framing`` blocks, so each object stems from exactly one whole line: none
torn, none merged. Bytes that are not UTF-8 become U+FFFD: the output is valid UTF-8 JSON.
``json`` is imported with this module, only when the key asks for it (never on the start path
of a text-format pinit).
"""

from __future__ import annotations

import json
import time

__all__ = ["encode_block", "head", "own_line"]

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _refuse(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_constant=_refuse)  # NaN, Infinity: Python's, not JSON


def head(program: str, instance: str, stream: str) -> bytes:
    """The constant middle of every object of one (instance, stream): built once per pipe."""
    fields = {"program": program, "instance": instance, "stream": stream}
    return b"," + _dumps(fields)[1:-1].encode() + b","


def _object(line: bytes) -> bytes | None:
    """The line re-encoded compactly if it is one JSON object, else None."""
    try:
        obj = _decoder.decode(line.decode())
    except (ValueError, RecursionError):  # bad UTF-8 and bad JSON are ValueErrors
        return None
    return _dumps(obj).encode() if isinstance(obj, dict) else None


def encode_block(block: bytes, middle: bytes) -> bytes:
    """A block of whole lines (each ending in a newline) -> one JSON object per line."""
    if not block:
        return b""
    start = b'{"ts":%.6f' % time.time() + middle
    out = []
    for line in block[:-1].split(b"\n"):
        text = line.rstrip(b"\r")
        if text[:1] == b"{" and text[-1:] == b"}":
            obj = _object(text)
            if obj is not None:
                out.append(start + b'"json":' + obj + b"}\n")
                continue
        out.append(start + b'"msg":' + _dumps(line.decode(errors="replace")).encode() + b"}\n")
    return b"".join(out)


_LEVELS = (("error: ", "error"), ("warning: ", "warn"), ("warn: ", "warn"), ("debug: ", "debug"))


def own_line(message: str) -> str:
    """One of pinit's own messages as a JSON line; the level is its prefix, if any."""
    level = "info"
    for prefix, name in _LEVELS:
        if message.startswith(prefix):
            level, message = name, message[len(prefix) :]
            break
    record = {
        "ts": round(time.time(), 6),
        "program": "pinit",
        "instance": None,
        "stream": "stderr",
        "level": level,
        "msg": message,
    }
    return _dumps(record) + "\n"
