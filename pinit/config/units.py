"""Pure parsers for the scalar units a config is written in.

Each parser takes the raw TOML value (``object``: a str, int, float or anything the TOML
reader can produce) and returns a typed value or raises ``ValueError`` with a message meant to
be shown after a key path, e.g.
``programs.web.stop_timeout: invalid duration '10 sec' (use 250ms, 1.5s, 2m, 1h)``.

TOML has ``bool`` as a subclass of ``int`` in Python, so every parser rejects bools explicitly:
``stop_timeout = true`` is a mistake, not one second.
"""

from __future__ import annotations

import math
import signal

__all__ = ["parse_duration", "parse_signal", "parse_size", "parse_umask", "show"]


def show(value: object, limit: int = 40) -> str:
    """``repr`` for messages, short, and safe for any TOML value: ``repr`` of an int of more
    than 4,300 digits raises ValueError (CPython's int_max_str_digits), and TOML's ``0x...``
    spelling makes such ints cheap to write (issue 11.4)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"<{'-' if value < 0 else ''}{value.bit_length()}-bit integer>"
    if isinstance(value, list | dict):
        shown = f"<{'array' if isinstance(value, list) else 'table'} of {len(value)} items>"
    else:
        shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


_DURATION_UNITS: dict[str, float] = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
# The grammar is scanned by hand, not with `re` (~2 ms of PID 1's start to import and compile,
# issue 7). ASCII digits only: float() would also read "٣" as 3; a config is written in ASCII.
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SPACE = frozenset(" \t\n\r\f\v")  # what re.ASCII's \s matches


def _skip(text: str, i: int, chars: frozenset[str] = _SPACE) -> int:
    """The end of the run of `chars` that starts at i."""
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _decimal(text: str, i: int) -> int:
    """The end of `digits[.digits]` or `.digits` starting at i, or -1."""
    j = _skip(text, i, _DIGITS)
    if text[j : j + 1] == ".":
        k = _skip(text, j + 1, _DIGITS)
        if k > j + 1:
            return k
    return j if j > i else -1


def _plain_number(text: str) -> bool:
    """`[-+]digits[.digits][e[-+]digits]` (or `.digits`, `digits.`) between ASCII spaces."""
    start = _skip(text, 0)
    i = start + 1 if text[start : start + 1] in ("+", "-") else start
    j = _skip(text, i, _DIGITS)
    if j > i:
        if text[j : j + 1] == ".":
            j = _skip(text, j + 1, _DIGITS)
    elif text[i : i + 1] == "." and _skip(text, i + 1, _DIGITS) > i + 1:
        j = _skip(text, i + 1, _DIGITS)
    else:
        return False
    if text[j : j + 1] in ("e", "E"):
        k = j + 2 if text[j + 1 : j + 2] in ("+", "-") else j + 1
        if _skip(text, k, _DIGITS) > k:
            j = _skip(text, k, _DIGITS)
    return _skip(text, j) == len(text)


def _duration_parts(text: str) -> list[tuple[str, str]] | None:
    """`1m30s` as [("1", "m"), ("30", "s")]: numbers each followed by a unit, ASCII spaces
    allowed around both; None unless the whole text is such parts. The two-letter units are
    tried first, so `1ms` is milliseconds (no part starts with a letter: nothing to retry)."""
    parts: list[tuple[str, str]] = []
    i = 0
    while True:
        start = _skip(text, i)
        end = _decimal(text, start)
        if end < 0:
            return parts if parts and start == len(text) else None
        at = _skip(text, end)
        unit = text[at : at + 2] if text[at : at + 2] in ("us", "ms") else text[at : at + 1]
        if unit not in _DURATION_UNITS:
            return None
        parts.append((text[start:end], unit))
        i = at + len(unit)


def _number(value: object) -> float | None:
    """A TOML int or float as a float (inf for ints too large for one), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond 1.8e308
        return math.inf if value > 0 else -math.inf


MAX_DURATION = 366 * 86400.0


def parse_duration(value: object) -> float:
    """Seconds as a float: ``"250ms"``, ``"1.5s"``, ``"2m"``, ``"1h"``, ``"1m30s"`` or a number.

    A plain number is seconds, as in systemd's ``TimeoutStopSec=10``. Units are lower case only:
    ``"1M"`` could mean minutes or months and nobody should have to guess. Negative, NaN and
    infinite durations are rejected, and so is anything over a year (MAX_DURATION), because
    every duration ends up as a timer deadline (select() overflows time_t on absurd ones).
    """
    seconds = _parse_duration(value)
    if math.isnan(seconds):
        raise ValueError(f"invalid duration {show(value)} (not a number)")
    if seconds < 0:
        raise ValueError(f"duration must not be negative, got {show(value)}")
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {show(value)} is longer than a year")
    return seconds


def _parse_duration(value: object) -> float:
    """Seconds, possibly negative, infinite or NaN: the caller's range check refuses those.
    A plain number must be written in ASCII digits (float() would take "nan", "inf", "٣")."""
    number = _number(value)
    if number is not None:
        return number
    if not isinstance(value, str):
        raise ValueError(
            f"expected a duration (string like '250ms' or a number), got {show(value)}"
        )
    if _plain_number(value):
        return float(value)
    parts = _duration_parts(value.strip())
    if parts is None:
        raise ValueError(f"invalid duration {show(value)} (use 250ms, 1.5s, 2m, 1h)")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _size_parts(text: str) -> tuple[str, str] | None:
    """`10 MiB` as ("10", "MiB"): a number, then letters (maybe none), ASCII spaces around."""
    start = _skip(text, 0)
    end = _decimal(text, start)
    if end < 0:
        return None
    at = _skip(text, end)
    stop = _skip(text, at, _LETTERS)
    return (text[start:end], text[at:stop]) if _skip(text, stop) == len(text) else None


# Far past any log file, yet exact in a float and in every C off_t: "9" * 400 + "K" is refused
# with this message instead of overflowing round() (issue 11.4).
MAX_SIZE = 1 << 53
_SIZE_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(value: object) -> int:
    """Bytes as an int: ``"10MB"``, ``"512KiB"``, ``"1G"`` or a plain integer.

    The choice, documented because tools disagree: ``KB/MB/GB/TB`` are SI (1000^n, as in
    systemd's and the IEC's reading), ``KiB/MiB/GiB/TiB`` are 1024^n, and a bare ``K/M/G/T`` is
    1024^n (what ``ulimit``, ``dd`` and Docker's ``--memory`` mean by it). Units are
    case-insensitive; there are no bit units. Fractions are allowed when the result is whole
    enough to round (``"1.5K"`` = 1536).
    """
    size = _parse_size(value)
    if size > MAX_SIZE:
        raise ValueError(f"size {show(value)} is larger than {MAX_SIZE >> 50} PiB")
    return size


def _parse_size(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a size, got {show(value)}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must not be negative, got {show(value)}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer():
            raise ValueError(f"size must be a whole number of bytes, got {show(value)}")
        return MAX_SIZE + 1 if value > MAX_SIZE else int(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a size (string like '10MB' or an integer), got {show(value)}")
    parts = _size_parts(value)
    if parts is None or parts[1].lower() not in _SIZE_UNITS:
        raise ValueError(f"invalid size {show(value)} (use 512, 64KiB, 10MB, 1G)")
    number = float(parts[0]) * _SIZE_UNITS[parts[1].lower()]
    return MAX_SIZE + 1 if not number <= MAX_SIZE else round(number)


def parse_signal(value: object) -> signal.Signals:
    """A signal from ``"TERM"``, ``"SIGTERM"``, ``"term"``, ``15`` or ``"15"``.

    Numbers are accepted because that is how ``kill -15`` and Docker's ``STOPSIGNAL`` write them,
    but the number must be a signal this kernel has (checked against ``signal.Signals``).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a signal name or number, got {show(value)}")
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) < 10 else 0
    if isinstance(value, int):
        try:
            return signal.Signals(value)
        except ValueError:
            raise ValueError(f"no such signal number {show(value)}") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a signal name or number, got {show(value)}")
    name = value.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return signal.Signals[name]
    except KeyError:
        raise ValueError(f"no such signal {show(value)}") from None


def parse_umask(value: object) -> int:
    """A umask from the string ``"027"`` (always octal, as ``umask 027`` in a shell) or an int.

    An int is taken as written in TOML: ``0o027`` is 23 and ``18`` is 18 (= 0o022). A string is
    octal even without the leading zero because nobody writes a umask in decimal in a string.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a umask, got {show(value)}")
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"invalid umask {show(value)} (an octal string like '027')")
        value = int(text, 8)
    if not isinstance(value, int):
        raise ValueError(
            f"expected a umask (octal string like '027' or an integer), got {show(value)}"
        )
    if not 0 <= value <= 0o777:
        raise ValueError(f"umask out of range 0..0o777: {value:#o}")
    return value
