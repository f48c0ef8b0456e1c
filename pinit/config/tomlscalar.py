"""TOML 1.0.0's scalar values: strings, integers, floats, booleans, dates and times.

Half of pinit's own TOML reader (``pinit.config.toml`` holds the document, tables and
arrays). The stdlib's ``tomllib`` pulled ``typing``, ``re``, ``string`` and ``datetime`` onto
PID 1's start path (~8 ms and ~450 KB of its ~45 ms start, issue 7); this module needs none
of them: literals are checked with ``str`` methods (``find``, ``strip``, ``isprintable``),
which run at C speed, and ``datetime`` is imported at the first date or time value only.

Every scan is linear: a string's end is found once with ``str.find`` and reused across its
escapes, so a long string with many escapes costs its length, not length times escapes.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (PID 1's start time)
if TYPE_CHECKING:
    import datetime as _dt

__all__ = ["TOMLDecodeError", "basic_string", "literal_string", "multiline_string", "scalar"]

_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"
# The characters a number, a boolean, an inf/nan or a date/time can be made of. None of them
# may follow a value (only blanks, a comment, ',', ']', '}' or the end of the line can), so a
# value is valid exactly when its whole run of these characters is.
_TOKEN = _DIGITS + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_+-.:"
# ASCII control characters: TOML allows a tab in every string and a comment, and a newline in
# multi-line strings only; DEL (0x7f) nowhere.
_CONTROL = frozenset(chr(i) for i in range(32) if i != 9) | {"\x7f"}
_CONTROL_ML = _CONTROL - {"\n"}
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_WINDOW = 64


class TOMLDecodeError(ValueError):
    """A document that is not TOML: ``msg`` says why, ``lineno`` and ``colno`` (1-based) where."""

    def __init__(self, msg: str, src: str, pos: int) -> None:
        lineno = src.count("\n", 0, pos) + 1
        colno = pos - src.rfind("\n", 0, pos)
        super().__init__(f"{msg} (at line {lineno}, column {colno})")
        self.msg = msg
        self.lineno = lineno
        self.colno = colno


def check_text(src: str, start: int, end: int, bad: frozenset[str] = _CONTROL) -> None:
    """Refuse a control character in ``src[start:end]`` (a string's text or a comment)."""
    text = src[start:end]
    if text.isprintable() or bad.isdisjoint(text):
        return
    for offset, char in enumerate(text):
        if char in bad:
            raise TOMLDecodeError(f"control character {char!r} not allowed", src, start + offset)


def _escape(src: str, pos: int, multiline: bool) -> tuple[int, str]:
    """The escape at ``src[pos] == '\\'``: its end and its text."""
    char = src[pos + 1 : pos + 2]
    text = _ESCAPES.get(char)
    if text is not None:
        return pos + 2, text
    if char in {"u", "U"}:
        size = 4 if char == "u" else 8
        digits = src[pos + 2 : pos + 2 + size]
        if len(digits) != size or digits.strip(_HEX):
            raise TOMLDecodeError(f"\\{char} needs {size} hex digits", src, pos)
        code = int(digits, 16)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise TOMLDecodeError("escaped character is not a Unicode scalar value", src, pos)
        return pos + 2 + size, chr(code)
    if multiline and char and char in " \t\n":  # a line-ending backslash: trims up to the text
        end = pos + 1
        while src.startswith((" ", "\t"), end):
            end += 1
        if not src.startswith("\n", end):
            raise TOMLDecodeError("only blanks may follow a line-ending backslash", src, end)
        while src.startswith((" ", "\t", "\n"), end):
            end += 1
        return end, ""
    raise TOMLDecodeError(f"invalid escape \\{char}", src, pos)


def _one_line(src: str, pos: int, quote: str) -> tuple[int, int]:
    """(end of the line, the first ``quote`` on it) for a one-line string starting at ``pos``."""
    limit = src.find("\n", pos)
    if limit < 0:
        limit = len(src)
    close = src.find(quote, pos, limit)
    if close < 0:
        raise TOMLDecodeError("unterminated string", src, limit)
    return limit, close


def basic_string(src: str, pos: int) -> tuple[int, str]:
    """The one-line ``"..."`` string whose text starts at ``pos``: its end and its value."""
    limit, close = _one_line(src, pos, '"')
    slash = src.find("\\", pos, close)
    if slash < 0:
        check_text(src, pos, close)
        return close + 1, src[pos:close]
    pieces = []
    while True:
        if slash < 0:
            check_text(src, pos, close)
            pieces.append(src[pos:close])
            return close + 1, "".join(pieces)
        check_text(src, pos, slash)
        pieces.append(src[pos:slash])
        pos, text = _escape(src, slash, False)
        pieces.append(text)
        if close < pos:  # the quote found was escaped
            close = src.find('"', pos, limit)
            if close < 0:
                raise TOMLDecodeError("unterminated string", src, limit)
        slash = src.find("\\", pos, close)


def literal_string(src: str, pos: int) -> tuple[int, str]:
    """The one-line ``'...'`` string whose text starts at ``pos``: its end and its value."""
    _, close = _one_line(src, pos, "'")
    check_text(src, pos, close)
    return close + 1, src[pos:close]


def multiline_string(src: str, pos: int, quote: str) -> tuple[int, str]:
    """The ``\"\"\"...\"\"\"`` or ``'''...'''`` string whose delimiter starts at ``pos``. A
    newline right after the opening delimiter is trimmed; one or two quotes right before the
    closing one belong to the text."""
    delim = quote * 3
    pos += 3
    if src.startswith("\n", pos):
        pos += 1
    close = src.find(delim, pos)
    if close < 0:
        raise TOMLDecodeError("unterminated multi-line string", src, len(src))
    slash = src.find("\\", pos, close) if quote == '"' else -1
    if slash < 0:
        check_text(src, pos, close, _CONTROL_ML)
        text = src[pos:close]
    else:
        pieces = []
        while slash >= 0:
            check_text(src, pos, slash, _CONTROL_ML)
            pieces.append(src[pos:slash])
            pos, piece = _escape(src, slash, True)
            pieces.append(piece)
            if close < pos:
                close = src.find(delim, pos)
                if close < 0:
                    raise TOMLDecodeError("unterminated multi-line string", src, len(src))
            slash = src.find("\\", pos, close)
        check_text(src, pos, close, _CONTROL_ML)
        pieces.append(src[pos:close])
        text = "".join(pieces)
    end = close + 3
    if src.startswith(quote, end):
        end += 1
        text += quote
        if src.startswith(quote, end):
            end += 1
            text += quote
    return end, text


def _token_end(src: str, pos: int) -> int:
    """The end of the run of ``_TOKEN`` characters at ``pos`` (``lstrip`` scans at C speed)."""
    while True:
        window = src[pos : pos + _WINDOW]
        rest = window.lstrip(_TOKEN)
        pos += len(window) - len(rest)
        if rest or len(window) < _WINDOW:
            return pos


def scalar(src: str, pos: int) -> tuple[int, object]:
    """A value that is not a string, array or inline table, starting at ``pos``."""
    end = _token_end(src, pos)
    token = src[pos:end]
    if token.isdigit():  # ASCII only: the token is made of _TOKEN characters
        if token[0] != "0" or len(token) == 1:
            return end, _integer(token, 10, src, pos)
    elif token == "true":
        return end, True
    elif token == "false":
        return end, False
    elif len(token) >= 10 and token[4] == "-" and token[:4].isdigit():
        return _date_time(src, pos, end, token)
    elif len(token) >= 8 and token[2] == ":":
        return end, _local_time(src, pos, token)
    else:
        number = _number(token, src, pos)
        if number is not None:
            return end, number
    if not token:
        raise TOMLDecodeError("invalid value", src, pos)
    raise TOMLDecodeError(f"invalid value {token[:40]!r}", src, pos)


def _integer(digits: str, base: int, src: str, pos: int) -> int:
    try:
        return int(digits, base)
    except ValueError:  # CPython's int_max_str_digits: decimal only, 4,300 digits by default
        import sys

        limit = sys.get_int_max_str_digits()
        raise TOMLDecodeError(f"an integer of more than {limit:,} digits", src, pos) from None


def _digits_ok(text: str, allowed: str) -> bool:
    """``text`` is digits of ``allowed`` with single underscores between them."""
    return (
        text != ""
        and text[0] != "_"
        and text[-1] != "_"
        and "__" not in text
        and not text.strip(allowed + "_")
    )


def _number(token: str, src: str, pos: int) -> int | float | None:
    """An integer or float literal, or None when ``token`` is not one."""
    body = token[1:] if token[:1] in ("+", "-") else token
    if body in {"inf", "nan"}:
        return float(token)
    if body is token and body[:2] in ("0x", "0o", "0b"):
        base = {"x": 16, "o": 8, "b": 2}[body[1]]
        digits = body[2:]
        if not _digits_ok(digits, _HEX if base == 16 else _DIGITS[:base]):
            return None
        return int(digits.replace("_", ""), base)
    mantissa, exp_mark, exponent = body, "", ""
    for mark in ("e", "E"):
        if mark in body:
            mantissa, exp_mark, exponent = body.partition(mark)
            break
    whole, dot, fraction = mantissa.partition(".")
    if not _digits_ok(whole, _DIGITS) or (whole[0] == "0" and whole != "0"):
        return None
    if dot and not _digits_ok(fraction, _DIGITS):
        return None
    if exp_mark:
        if exponent[:1] in ("+", "-"):
            exponent = exponent[1:]
        if not _digits_ok(exponent, _DIGITS):
            return None
    if dot or exp_mark:
        return float(token.replace("_", ""))
    return _integer(token.replace("_", ""), 10, src, pos)


def _two(text: str, at: int, top: int) -> int:
    """Two ASCII digits at ``text[at]`` up to ``top``, or -1."""
    pair = text[at : at + 2]
    if len(pair) != 2 or not pair.isdigit():
        return -1
    value = int(pair)
    return value if value <= top else -1


def _clock(text: str) -> tuple[int, int, int, int, int] | None:
    """``HH:MM:SS[.fraction]`` at the start of ``text``: hour, minute, second, microsecond
    (digits past the sixth are dropped, as tomllib does) and where it ends; or None."""
    hour, minute, second = _two(text, 0, 23), _two(text, 3, 59), _two(text, 6, 59)
    if hour < 0 or minute < 0 or second < 0 or text[2:3] != ":" or text[5:6] != ":":
        return None
    end, micro = 8, 0
    if text[8:9] == ".":
        stop = 9
        while text[stop : stop + 1].isdigit():
            stop += 1
        if stop == 9:
            return None
        micro = int(text[9 : min(stop, 15)].ljust(6, "0"))
        end = stop
    return hour, minute, second, micro, end


def _local_time(src: str, pos: int, token: str) -> _dt.time:
    clock = _clock(token)
    if clock is None or clock[4] != len(token):
        raise TOMLDecodeError(f"invalid time {token[:40]!r}", src, pos)
    import datetime  # at the first date or time only: off PID 1's start path (issue 7)

    return datetime.time(*clock[:4])


def _date_time(src: str, pos: int, end: int, token: str) -> tuple[int, object]:
    """``YYYY-MM-DD``, alone or with a time (after ``T``, ``t`` or one space) and an offset."""
    import datetime  # at the first date or time only: off PID 1's start path (issue 7)

    month, day = _two(token, 5, 12), _two(token, 8, 31)
    valid = month >= 1 and day >= 1 and token[7] == "-"
    clock_text = token[11:]
    if valid and len(token) == 10:
        if not (src.startswith(" ", end) and "0" <= src[end + 1 : end + 2] <= "9"):
            try:
                return end, datetime.date(int(token[:4]), month, day)
            except ValueError:  # the 30th of February, the year 0
                valid = False
        else:  # "1979-05-27 07:32:00": one space may separate the date and the time
            end = _token_end(src, end + 1)
            clock_text = src[pos + 11 : end]
    elif token[10:11] not in ("T", "t"):
        valid = False
    clock = _clock(clock_text) if valid else None
    if clock is not None:
        tail = clock_text[clock[4] :]
        tz: datetime.tzinfo | None = None
        if tail in {"Z", "z"}:
            tz = datetime.UTC
        elif len(tail) == 6 and tail[0] in "+-" and tail[3] == ":":
            hours, minutes = _two(tail, 1, 23), _two(tail, 4, 59)
            sign = -1 if tail[0] == "-" else 1
            if hours >= 0 and minutes >= 0:
                tz = datetime.timezone(
                    datetime.timedelta(hours=sign * hours, minutes=sign * minutes)
                )
            else:
                clock = None
        elif tail:
            clock = None
        if clock is not None:
            try:
                return end, datetime.datetime(int(token[:4]), month, day, *clock[:4], tzinfo=tz)
            except ValueError:
                pass
    raise TOMLDecodeError(f"invalid date or date-time {src[pos:end][:40]!r}", src, pos)
