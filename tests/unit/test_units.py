"""The unit parsers: every accepted spelling, and a clear ValueError for the rest."""

from __future__ import annotations

import re
import signal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config import units
from pinit.config.units import parse_duration, parse_signal, parse_size, parse_umask


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("500us", 0.0005),
        ("1d", 86400.0),
        (" 3s ", 3.0),
        ("10", 10.0),
        ("0.5", 0.5),
        (7, 7.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_duration_accepts(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad", ["", "10 sec", "1M", "-1s", -3, "s", "1.2.3s", True, None, [1], float("nan"), "inf"]
)
def test_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10MB", 10_000_000),
        ("512KiB", 512 * 1024),
        ("1G", 1024**3),
        ("1K", 1024),
        ("1kb", 1000),
        ("2 GiB", 2 * 1024**3),
        ("1.5K", 1536),
        ("100B", 100),
        ("4096", 4096),
        (4096, 4096),
        (0, 0),
        (8.0, 8),
    ],
)
def test_size_accepts(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["10XB", "", "MB", "-5", -5, 1.5, True, None, {"a": 1}])
def test_size_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(bad)


@pytest.mark.parametrize(
    ("value", "sig"),
    [
        ("TERM", signal.SIGTERM),
        ("SIGTERM", signal.SIGTERM),
        ("term", signal.SIGTERM),
        ("sigint", signal.SIGINT),
        (15, signal.SIGTERM),
        ("9", signal.SIGKILL),
        ("QUIT", signal.SIGQUIT),
    ],
)
def test_signal_accepts(value: object, sig: signal.Signals) -> None:
    assert parse_signal(value) is sig


@pytest.mark.parametrize("bad", ["TERMINATE", "", 0, 999, True, 1.0, None])
def test_signal_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="signal"):
        parse_signal(bad)


@pytest.mark.parametrize(
    ("value", "mask"),
    [("027", 0o027), ("0o022", 0o022), ("77", 0o77), ("0", 0), (0o027, 23), (18, 18), (0, 0)],
)
def test_umask_accepts(value: object, mask: int) -> None:
    assert parse_umask(value) == mask


@pytest.mark.parametrize("bad", ["089", "", "abc", 0o1000, -1, True, 1.5, None])
def test_umask_rejects(bad: object) -> None:
    with pytest.raises(ValueError, match="umask"):
        parse_umask(bad)


# The grammar the hand-written scanners replace (issue 7: `re` is off PID 1's start path):
# the regexes units.py had, kept here as the oracle.
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(us|ms|s|m|h|d)", re.ASCII)
_WHOLE = re.compile(r"(?:\s*(?:\d+(?:\.\d+)?|\.\d+)\s*(?:us|ms|s|m|h|d))+\s*", re.ASCII)
_PLAIN = re.compile(r"\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*", re.ASCII)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*", re.ASCII)
_TEXT = st.text(alphabet=" \t\n0123456789.+-eEusmhdKMGTBbi٣x\u2003", max_size=14)


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_the_scanners_read_exactly_what_the_old_regexes_read(text: str) -> None:
    assert units._plain_number(text) == bool(_PLAIN.fullmatch(text))
    stripped = text.strip()
    want = _PART.findall(stripped) if stripped and _WHOLE.fullmatch(stripped) else None
    assert units._duration_parts(stripped) == want
    match = _SIZE.fullmatch(text)
    assert units._size_parts(text) == (match.groups() if match else None)


@pytest.mark.parametrize(
    "text",
    ["1ms", "1m30s", " 2 h ", ".5s", "1.5.3s", "1e3", "+.5e-2", "5.", "1 us1d", "ms", "1m s"],
)
def test_the_scanners_on_the_corners(text: str) -> None:
    stripped = text.strip()
    want = _PART.findall(stripped) if _WHOLE.fullmatch(stripped) else None
    assert units._duration_parts(stripped) == want
    assert units._plain_number(text) == bool(_PLAIN.fullmatch(text))
