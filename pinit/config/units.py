"""Pure parsers for the scalar units a config is written in.

Each parser takes the raw TOML value (``object``: a str, int, float or anything tomllib can
produce) and returns a typed value or raises ``ValueError`` with a message meant to be shown after
a key path, e.g. ``programs.web.stop_timeout: invalid duration '10 sec' (use 250ms, 1.5s, 2m, 1h)``.

TOML has ``bool`` as a subclass of ``int`` in Python, so every parser rejects bools explicitly:
``stop_timeout = true`` is a mistake, not one second.
"""

from __future__ import annotations

import math
import re
import signal

__all__ = ["parse_duration", "parse_signal", "parse_size", "parse_umask"]

_DURATION_UNITS: dict[str, float] = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(us|ms|s|m|h|d)")
_DURATION_WHOLE = re.compile(r"(?:\s*(?:\d+(?:\.\d+)?|\.\d+)\s*(?:us|ms|s|m|h|d))+\s*")


def _finite_number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


MAX_DURATION = 366 * 86400.0


def parse_duration(value: object) -> float:
    """Seconds as a float: ``"250ms"``, ``"1.5s"``, ``"2m"``, ``"1h"``, ``"1m30s"`` or a number.

    A plain number is seconds, as in systemd's ``TimeoutStopSec=10``. Units are lower case only:
    ``"1M"`` could mean minutes or months and nobody should have to guess. Negative, NaN and
    infinite durations are rejected, and so is anything over a year (MAX_DURATION), because
    every duration ends up as a timer deadline (select() overflows time_t on absurd ones).
    """
    seconds = _parse_duration(value)
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {value!r} is longer than a year")
    return seconds


def _parse_duration(value: object) -> float:
    number = _finite_number(value)
    if number is not None:
        if number < 0:
            raise ValueError(f"duration must not be negative, got {value!r}")
        return number
    if not isinstance(value, str):
        raise ValueError(f"expected a duration (string like '250ms' or a number), got {value!r}")
    text = value.strip()
    try:
        plain = float(text)
    except ValueError:
        plain = None
    if plain is not None:
        if not math.isfinite(plain) or plain < 0:
            raise ValueError(f"invalid duration {value!r}")
        return plain
    if not text or not _DURATION_WHOLE.fullmatch(text):
        raise ValueError(f"invalid duration {value!r} (use 250ms, 1.5s, 2m, 1h)")
    return sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))


_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*")
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
    if isinstance(value, bool):
        raise ValueError(f"expected a size, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"size must not be negative, got {value}")
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0 or not value.is_integer():
            raise ValueError(f"size must be a whole number of bytes, got {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a size (string like '10MB' or an integer), got {value!r}")
    match = _SIZE.fullmatch(value)
    if match is None or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"invalid size {value!r} (use 512, 64KiB, 10MB, 1G)")
    return round(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_signal(value: object) -> signal.Signals:
    """A signal from ``"TERM"``, ``"SIGTERM"``, ``"term"``, ``15`` or ``"15"``.

    Numbers are accepted because that is how ``kill -15`` and Docker's ``STOPSIGNAL`` write them,
    but the number must be a signal this kernel has (checked against ``signal.Signals``).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a signal name or number, got {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        try:
            return signal.Signals(value)
        except ValueError:
            raise ValueError(f"no such signal number {value}") from None
    if not isinstance(value, str):
        raise ValueError(f"expected a signal name or number, got {value!r}")
    name = value.strip().upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return signal.Signals[name]
    except KeyError:
        raise ValueError(f"no such signal {value!r}") from None


def parse_umask(value: object) -> int:
    """A umask from the string ``"027"`` (always octal, as ``umask 027`` in a shell) or an int.

    An int is taken as written in TOML: ``0o027`` is 23 and ``18`` is 18 (= 0o022). A string is
    octal even without the leading zero because nobody writes a umask in decimal in a string.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a umask, got {value!r}")
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"invalid umask {value!r} (an octal string like '027')")
        value = int(text, 8)
    if not isinstance(value, int):
        raise ValueError(f"expected a umask (octal string like '027' or an integer), got {value!r}")
    if not 0 <= value <= 0o777:
        raise ValueError(f"umask out of range 0..0o777: {value:#o}")
    return value
