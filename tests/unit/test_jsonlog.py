"""Issue 8, JSON logs: one object per framed line, whatever the bytes; an object line embedded
under "json"; pinit's own lines with a level."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pinit.logs.framing import CUT_MARK, Framer, joined
from pinit.logs.jsonlog import encode_block, head, own_line

MIDDLE = head("web", "web-2", "stderr")


def objects(out: bytes) -> list[dict[str, object]]:
    lines = out.split(b"\n")
    assert lines[-1] == b""
    return [json.loads(line) for line in lines[:-1]]


def test_each_line_one_object() -> None:
    block = b'plain\n{"a": {"b": [1, 2]}}\n[1, 2]\n{"x": NaN}\n{nope}\n\xff\xfe bad utf-8\r\n\n'
    got = objects(encode_block(block, MIDDLE))
    for obj in got:
        assert (obj["program"], obj["instance"], obj["stream"]) == ("web", "web-2", "stderr")
        assert isinstance(obj["ts"], float)
    assert [o.get("msg", o.get("json")) for o in got] == [
        "plain",
        {"a": {"b": [1, 2]}},
        "[1, 2]",  # JSON, but not an object: kept as the line it is
        '{"x": NaN}',
        "{nope}",
        "\ufffd\ufffd bad utf-8\r",
        "",
    ]


def test_a_cut_line_stays_a_string() -> None:
    framer = Framer(max_line=8)
    block = joined(framer.feed(b'{"a": "0123456789"}\n'))
    assert CUT_MARK in block
    got = objects(encode_block(block, MIDDLE))
    assert all("msg" in o for o in got)


@given(st.lists(st.binary().map(lambda b: b.replace(b"\n", b"")), min_size=1, max_size=20))
def test_never_a_line_lost_or_merged(lines: list[bytes]) -> None:
    block = b"".join(line + b"\n" for line in lines)
    got = objects(encode_block(block, MIDDLE))
    assert len(got) == len(lines)


def test_own_lines_carry_a_level() -> None:
    cases = [
        ("web: running", "info", "web: running"),
        ("warn: web: pid 7 exit 3", "warn", "web: pid 7 exit 3"),
        ("warning: no control socket", "warn", "no control socket"),
        ("error: web: cannot start", "error", "web: cannot start"),
    ]
    for message, level, msg in cases:
        line = own_line(message)
        assert line.endswith("\n") and line.count("\n") == 1
        obj = json.loads(line)
        assert (obj["level"], obj["msg"], obj["program"], obj["instance"]) == (
            level,
            msg,
            "pinit",
            None,
        )
    assert json.loads(own_line("a\nb"))["msg"] == "a\nb"  # a traceback stays one line
