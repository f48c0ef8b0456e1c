"""The control protocol: every request validated, any bytes answered, lines framed within bounds."""

from __future__ import annotations

import json
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.control import proto
from pinit.control.proto import LineReader, Request, parse_request


def parse(obj: object) -> Request | str:
    return parse_request(json.dumps(obj).encode())


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        ({"cmd": "status"}, Request("status")),
        ({"cmd": "reload"}, Request("reload")),
        ({"cmd": "start", "target": "web"}, Request("start", "web")),
        ({"cmd": "stop", "target": "web-2"}, Request("stop", "web-2")),
        ({"cmd": "restart", "target": "all"}, Request("restart", "all")),
        (
            {"cmd": "signal", "target": "web", "signal": "HUP"},
            Request("signal", "web", signal=signal.SIGHUP),
        ),
        (
            {"cmd": "signal", "target": "web", "signal": "sigusr1"},
            Request("signal", "web", signal=signal.SIGUSR1),
        ),
        (
            {"cmd": "signal", "target": "web", "signal": 15},
            Request("signal", "web", signal=signal.SIGTERM),
        ),
        ({"cmd": "logs", "target": "db"}, Request("logs", "db", lines=proto.DEFAULT_LINES)),
        ({"cmd": "logs", "target": "db", "lines": 5}, Request("logs", "db", lines=5)),
        ({"cmd": "logs", "target": "db", "lines": 10**9}, Request("logs", "db", lines=10_000)),
        # issue 9
        ({"cmd": "scale", "target": "web", "count": 0}, Request("scale", "web", count=0)),
        ({"cmd": "scale", "target": "web", "count": 500}, Request("scale", "web", count=500)),
        (
            {"cmd": "restart", "target": "web", "rolling": True},
            Request("restart", "web", rolling=True),
        ),
        ({"cmd": "restart", "target": "web", "rolling": False}, Request("restart", "web")),
    ],
)
def test_valid_requests(obj: object, want: Request) -> None:
    assert parse(obj) == want


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"cmd": "dance"}, "unknown cmd 'dance'"),
        ({}, 'missing "cmd"'),
        ({"cmd": 3}, 'missing "cmd"'),
        ([1, 2], "JSON object"),
        ({"cmd": "start"}, 'start: missing "target"'),
        ({"cmd": "stop", "target": ""}, 'stop: missing "target"'),
        ({"cmd": "restart", "target": 7}, 'restart: missing "target"'),
        ({"cmd": "signal", "target": "web"}, 'missing "signal"'),
        ({"cmd": "signal", "target": "web", "signal": "USR9"}, "unknown signal 'USR9'"),
        ({"cmd": "signal", "target": "web", "signal": 999}, "unknown signal '999'"),
        ({"cmd": "signal", "target": "web", "signal": "SIG_IGN"}, "unknown signal"),
        ({"cmd": "signal", "target": "web", "signal": True}, "unknown signal"),
        ({"cmd": "logs", "target": "web", "lines": 0}, "positive integer"),
        ({"cmd": "logs", "target": "web", "lines": "5"}, "positive integer"),
        ({"cmd": "status", "target": "web"}, "unknown key(s) 'target'"),
        ({"cmd": "start", "target": "a\nb"}, "not a program or instance name"),
        # issue 9
        ({"cmd": "scale", "target": "web"}, '"count" must be an integer 0..10000'),
        ({"cmd": "scale", "target": "web", "count": -1}, "0..10000"),
        ({"cmd": "scale", "target": "web", "count": 10_001}, "0..10000"),
        ({"cmd": "scale", "target": "web", "count": True}, "0..10000"),
        ({"cmd": "scale", "target": "web", "count": "3"}, "0..10000"),
        ({"cmd": "scale", "count": 3}, 'scale: missing "target"'),
        ({"cmd": "restart", "target": "web", "rolling": 1}, '"rolling" must be true or false'),
        ({"cmd": "start", "target": "web", "rolling": True}, "unknown key(s) 'rolling'"),
    ],
)
def test_invalid_requests_say_why(obj: object, needle: str) -> None:
    result = parse(obj)
    assert isinstance(result, str)
    assert needle in result


def test_not_json_and_not_utf8() -> None:
    assert "not a JSON object" in str(parse_request(b"status"))
    assert "not a JSON object" in str(parse_request(b'{"cmd": "\xff"}'))


def test_oversized_line_is_refused() -> None:
    line = json.dumps({"cmd": "status", "x": "a" * proto.MAX_LINE}).encode()
    assert "longer than" in str(parse_request(line))


def test_request_json_round_trips() -> None:
    for req in (
        Request("status"),
        Request("stop", "web"),
        Request("signal", "web-2", signal=signal.SIGUSR2),
        Request("logs", "db", lines=7),
        Request("scale", "web", count=3),
        Request("restart", "web", rolling=True),
    ):
        assert parse_request(proto.encode(proto.request_json(req)).rstrip(b"\n")) == req


def test_replies_are_one_ascii_line() -> None:
    line = proto.encode({"ok": True, "lines": ["caf\u00e9\n", "\x00"]})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.isascii()
    assert proto.decode_reply(line)["lines"] == ["caf\u00e9\n", "\x00"]
    with pytest.raises(ValueError):
        proto.decode_reply(b'{"no": "ok"}')


@settings(max_examples=500)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = parse_request(data)
    assert isinstance(result, Request | str)
    proto.encode(proto.error(result) if isinstance(result, str) else {"ok": True})


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_raises(obj: object) -> None:
    assert isinstance(parse_request(json.dumps(obj).encode()), Request | str)
    if isinstance(obj, dict):
        cmd_obj = {**obj, "cmd": "signal", "target": "x"}
        assert isinstance(parse_request(json.dumps(cmd_obj).encode()), Request | str)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    assert isinstance(parse_request(b"[" * 100_000), str)


# -- framing ---------------------------------------------------------------------------------


def test_lines_split_across_reads() -> None:
    reader = LineReader()
    assert reader.feed(b'{"cmd":') == []
    assert reader.feed(b'"status"}\n{"cmd"') == [b'{"cmd":"status"}']
    assert reader.feed(b':"reload"}\n\n') == [b'{"cmd":"reload"}', b""]
    assert reader.rest() == b""


def test_long_line_becomes_none_once_and_is_skipped_to_its_newline() -> None:
    reader = LineReader(limit=10)
    assert reader.feed(b"x" * 8) == []
    assert reader.feed(b"x" * 8) == [None]
    assert reader.feed(b"x" * 100) == []
    assert reader.feed(b"xx\nok\n") == [b"ok"]
    assert reader.feed(b"y" * 11 + b"\n") == [None]
    assert reader.feed(b"last") == []
    assert reader.rest() == b"last"


@given(st.lists(st.binary(max_size=40), max_size=30), st.integers(min_value=1, max_value=30))
def test_framing_keeps_every_short_line_and_buffers_at_most_the_limit(
    chunks: list[bytes], limit: int
) -> None:
    reader = LineReader(limit=limit)
    got: list[bytes | None] = []
    for chunk in chunks:
        got += reader.feed(chunk)
        assert len(reader._buf) <= limit
    data = b"".join(chunks)
    complete = data.split(b"\n")[:-1]
    want_short = [line for line in complete if len(line) <= limit]
    assert [line for line in got if line is not None] == want_short
