"""The unit parsers: every accepted spelling, and a clear ValueError for the rest."""

from __future__ import annotations

import signal

import pytest

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
