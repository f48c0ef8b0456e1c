"""pinit's own TOML reader (issue 7: tomllib's imports cost PID 1 ~8 ms) against the stdlib's
tomllib, its test oracle: every construct, every table redefinition rule, the corpus CPython
ships, the repository's own TOML files, error positions and the three bounds (nesting depth,
integer digits, linear cost of a long dotted key). The randomized comparisons are in
test_toml_differential.py."""

from __future__ import annotations

import datetime as dt
import math
import time
import tomllib
from pathlib import Path

import pytest

from pinit.config import toml
from pinit.config.toml import MAX_DEPTH, TOMLDecodeError, loads

ROOT = Path(__file__).resolve().parents[2]
CPYTHON_DATA = Path(tomllib.__file__).parent.parent / "test" / "test_tomllib" / "data"


def same(a: object, b: object) -> bool:
    """Equal values of the same types (NaN equals NaN; a datetime's offset must match too)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a == b and a.utcoffset() == b.utcoffset()
    return a == b


def agree(doc: str) -> dict[str, object]:
    """Both readers accept ``doc`` with the same result."""
    ours = loads(doc)
    assert same(ours, tomllib.loads(doc)), (ours, tomllib.loads(doc))
    return ours


def both_refuse(doc: str) -> TOMLDecodeError:
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(doc)
    with pytest.raises(TOMLDecodeError) as caught:
        loads(doc)
    return caught.value


VALID = {
    "comments": "# a\na = 1 # b\n#c\n\n  # d\tx\n",
    "bare keys": "key = 1\nbare_key = 2\nbare-key = 3\n1234 = 4\n-_- = 5\n",
    "quoted keys": '"127.0.0.1" = 1\n"ʎǝʞ" = 2\n\'quoted "v"\' = 3\n"" = 4\n"a\\tb" = 5\n',
    "dotted keys": 'name = "O"\nphysical.color = "o"\nphysical . shape = "r"\nsite."g.com" = 1\n',
    "dotted then sibling": "fruit.apple.smooth = true\nfruit.orange = 2\n",
    "basic strings": r'a = "I\"m \\ \b\t\n\f\r \u00E9 \U0001F600 \u0000"' + "\n",
    "tab in strings": 'a = "x\ty"\nb = \'x\ty\'\nc = """x\ty"""\n',
    "unicode text": 'a = "é ☃ 😀 \u2028 \u00a0"\n',
    "multi-line basic": 'a = """\nRoses\nViolets"""\nb = """x\\\n   \n  y \\  \n z"""\n',
    "multi-line quotes": 'a = """Here are two ""quotes"" ."""\nb = """""x"""""\nc = """""""\n',
    "literal strings": "a = 'C:\\Users\\x'\nb = '<\\i\\c*\\s*>'\nc = ''\n",
    "multi-line literal": "a = '''\nfirst\n  raw \\n'''\nb = '''''x'''''\nc = ''''''\n",
    "crlf": 'a = 1\r\nb = """x\r\ny"""\r\n[t]\r\nc = 2',
    "integers": "a = +99\nb = 42\nc = 0\nd = -17\ne = 1_000\nf = 5_349_221\ng = -0\nh = +0\n",
    "prefixed integers": (
        "a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o01234567\nd = 0o755\ne = 0b11010110\nf = 0x0\n"
    ),
    "floats": (
        "a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\n"
        "h = 224_617.445_991_228\ni = -0.0\nj = 0e0\nk = 1e1_0\n"
    ),
    "special floats": "a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n",
    "booleans": "a = true\nb = false\n",
    "offset date-times": (
        "a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\n"
        "c = 1979-05-27T00:32:00.999999+23:59\nd = 1979-05-27 07:32:00z\n"
        "e = 1979-05-27t07:32:00.1234567-00:00\n"
    ),
    "local date-times": (
        "a = 1979-05-27T07:32:00\nb = 1979-05-27T00:32:00.999999\nc = 2000-02-29 23:59:59\n"
    ),
    "local dates and times": (
        "a = 1979-05-27\nb = 07:32:00\nc = 00:32:00.999999\nd = 23:59:59.1\ne = 1979-05-27 # x\n"
    ),
    "arrays": (
        "a = [ 1, 2, 3 ]\nb = [ \"r\", 'y' ]\nc = [ [ 1, 2 ], [3, 4, 5] ]\n"
        'd = [ 0.1, "x", true, 1979-05-27, [], {} ]\ne = []\n'
    ),
    "arrays over lines": "a = [\n  1, # one\n  2,\n\n  # c\n]\nb = [\n1\n,2,]\n",
    "inline tables": (
        'a = { first = "T", last = "P" }\nb = { x = 1, y = { z = [1, {w = 2}] } }\n'
        "c = {}\nd = { t.x = 1, t.y = 2 }\n"
    ),
    "tables": (
        '[table-1]\nkey1 = "s"\n[table-2]\nkey1 = 1\n[dog."tater.man"]\n'
        'type.name = "pug"\n[ j . "ʞ" . \'l\' ]\n'
    ),
    "super-table after sub-table": "[x.y.z.w]\n[x]\n",
    "implicit table extended by a dotted key": "[a.b.c]\n[a]\nb.d = 1\n",
    "sub-table of a dotted-key table": (
        '[fruit]\napple.color = "red"\n[fruit.apple.texture]\nsmooth = true\n'
    ),
    "header beside dotted-key tables": "a.b = 1\n[a.c]\n",
    "empty headers": '[""]\n[" "."".\'\']\n',
    "arrays of tables": '[[products]]\nname = "H"\n[[products]]\n[[products]]\nname = "N"\n',
    "nested arrays of tables": (
        "[[f]]\nn = 1\n[f.p]\nc = 1\n[[f.v]]\nn = 2\n[[f.v]]\nn = 3\n[[f]]\nn = 4\n[f.p]\n[[f.v]]\n"
    ),
    "dotted keys in repeated array elements": "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n",
    "table under an array element": "[[a]]\n[a.b.c]\n[a.b]\nx = 1\n",
    "whitespace in headers": "[ a ]\n[[ b ]]\n[\tc . d\t]\n",
    "no final newline": "a = 1",
    "empty document": "",
}


@pytest.mark.parametrize("doc", VALID.values(), ids=VALID.keys())
def test_each_construct_reads_as_tomllib_reads_it(doc: str) -> None:
    agree(doc)


def test_values_have_tomllib_types() -> None:
    doc = agree(
        VALID["offset date-times"] + "f = 1979-05-27\ng = 07:32:00\nh = 1979-05-27T07:32:00\n"
    )
    offset = doc["b"]
    assert isinstance(offset, dt.datetime)
    assert offset.utcoffset() == dt.timedelta(hours=-7)
    assert doc["a"] == dt.datetime(1979, 5, 27, 7, 32, tzinfo=dt.UTC)
    assert type(doc["f"]) is dt.date
    assert type(doc["g"]) is dt.time
    assert doc["h"] == dt.datetime(1979, 5, 27, 7, 32)
    integers, floats = agree(VALID["integers"]), agree(VALID["floats"])
    assert type(integers["a"]) is int and integers["a"] == 99
    negative_zero = floats["i"]
    assert isinstance(negative_zero, float) and math.copysign(1, negative_zero) == -1.0


INVALID = {
    "no value": "a =\n",
    "no key": "= 1\n",
    "two values": "a = 1 2\n",
    "two keys on a line": "a = 1 b = 2\n",
    "newline in a key's value": "a = \n1\n",
    "invalid bare key": "a$ = 1\n",
    "multi-line string key": '"""a""" = 1\n',
    "bad escape": 'a = "\\e"\n',
    "short unicode escape": 'a = "\\u12"\n',
    "surrogate escape": 'a = "\\uD800"\n',
    "escape past unicode": 'a = "\\U00110000"\n',
    "newline in a basic string": 'a = "x\ny"\n',
    "newline in a literal string": "a = 'x\ny'\n",
    "control char in a string": 'a = "x\x01"\n',
    "DEL in a literal": "a = 'x\x7f'\n",
    "control char in a comment": "# x\x00\n",
    "lone CR": "a = 1\rb = 2\n",
    "CR in a comment": "# x\r\n# y\r",
    "unterminated basic": 'a = "x\n',
    "unterminated multi-line": 'a = """x\n',
    "text after a line-ending backslash": 'a = """x\\ y"""\n',
    "four quotes after a multi-line literal": "a = '''x''''''\n",
    "leading zero": "a = 01\n",
    "double underscore": "a = 1__0\n",
    "leading underscore": "a = _1\n",
    "trailing underscore": "a = 1_\n",
    "signed hex": "a = +0x1\n",
    "empty hex": "a = 0x\n",
    "underscore after prefix": "a = 0x_1\n",
    "bad octal digit": "a = 0o8\n",
    "capital prefix": "a = 0X1\n",
    "dot without fraction": "a = 1.\n",
    "dot first": "a = .1\n",
    "exponent without digits": "a = 1e\n",
    "fraction after exponent": "a = 1e5.0\n",
    "capital inf": "a = Inf\n",
    "infinity": "a = infinity\n",
    "capital true": "a = True\n",
    "bad month": "a = 1979-13-01\n",
    "bad day": "a = 1979-02-30\n",
    "year zero": "a = 0000-01-01\n",
    "hour 24": "a = 24:00:00\n",
    "second 60": "a = 07:32:60\n",
    "time without seconds": "a = 07:32\n",
    "offset on a local time": "a = 07:32:00Z\n",
    "bad offset": "a = 1979-05-27T07:32:00+24:00\n",
    "offset without colon": "a = 1979-05-27T07:32:00+0700\n",
    "dot without fraction in a time": "a = 07:32:00.\n",
    "T without time": "a = 1979-05-27T\n",
    "space then half a time": "a = 1979-05-27 07:32\n",
    "array without comma": "a = [1 2]\n",
    "array with only a comma": "a = [,]\n",
    "array with two commas": "a = [1,,2]\n",
    "unclosed array": "a = [1\n",
    "inline table over two lines": "a = {x = 1,\ny = 2}\n",
    "inline table trailing comma": "a = {x = 1,}\n",
    "inline table comment": "a = {x = 1 # c\n}\n",
    "duplicate key": "a = 1\na = 2\n",
    "duplicate quoted key": 'a = 1\n"a" = 2\n',
    "value then dotted table": "a = 1\na.b = 2\n",
    "dotted table then value": "a.b = 1\na = 2\n",
    "table declared twice": "[a]\n[a]\n",
    "table declared twice under dotted": "[a]\nb.c = 1\n[a.b]\n",
    "dotted key into a header table": "[a.b]\n[a]\nb.c = 1\n",
    "dotted key into an earlier dotted table": "[a]\nb.c = 1\n[x]\n[a]\n",
    "header over a value": "a = 1\n[a]\n",
    "header over an inline table": "a = {}\n[a]\n",
    "header under an inline table": "a = {b = 1}\n[a.c]\n",
    "key added to an inline table": "[t]\na = {b = 1}\na.c = 2\n",
    "key in an inline table's table": "a = {b = {c = 1}, b.d = 2}\n",
    "inline duplicate": "a = {b = 1, b = 2}\n",
    "inline value then dotted": "a = {b = 1, b.c = 2}\n",
    "array of tables over a static array": "a = []\n[[a]]\n",
    "array of tables over an array of inline tables": "a = [{}]\n[[a]]\n",
    "header under a static array": "a = [{}]\n[a.b]\n",
    "table then array of tables": "[a]\n[[a]]\n",
    "array of tables then table": "[[a]]\n[a]\n",
    "dotted key into an array of tables": "[[a.b]]\n[a]\nb.c = 1\n",
    "array of tables over a value": "a = 1\n[[a]]\n",
    "header with a value": "[a] b = 1\n",
    "unclosed header": "[a\n",
    "unclosed array header": "[[a]\n",
    "space inside array header brackets": "[[a] ]\n",
    "empty header": "[]\n",
    "header dot at end": "[a.]\n",
    "non-ASCII bare key": "é = 1\n",
    "BOM": "\ufeffa = 1\n",
}


@pytest.mark.parametrize("doc", INVALID.values(), ids=INVALID.keys())
def test_each_invalid_document_is_refused_by_both(doc: str) -> None:
    both_refuse(doc)


@pytest.mark.parametrize(
    ("doc", "line", "column", "words"),
    [
        ('[programs.web]\ncommand = ["a"]\nuser = \n', 3, 8, "invalid value"),
        ("a = 1\nb = 2 3\n", 2, 7, "after a statement"),
        ("a = 1\n\n  x = [1,\n 2 3]\n", 4, 4, "expected ','"),
        ('a = "ok"\nb = "x\\qy"\n', 2, 7, "invalid escape"),
        ("[t]\nx = 1\n[t]\n", 3, 1, "already defined"),
        ("a = 1\nb = {c = 1, c = 2}\n", 2, 13, "defined twice"),
        ("s = 'fine'\n# bad \x01 char\n", 2, 7, "control character"),
        ("a = 1979-02-30\n", 1, 5, "invalid date"),
        ('a = "never closed\n', 1, 18, "unterminated"),
        ("a = 1\r\nb = 2 3\r\n", 2, 7, "after a statement"),
    ],
)
def test_an_error_says_where_it_is(doc: str, line: int, column: int, words: str) -> None:
    exc = both_refuse(doc)
    assert (exc.lineno, exc.colno) == (line, column)
    assert words in exc.msg
    assert str(exc) == f"{exc.msg} (at line {line}, column {column})"
    assert "line" not in exc.msg  # pinit's loader moves the position out of the text


def _nested(depth: int, open_: str, close: str, inner: str = "1") -> str:
    return "a = " + open_ * depth + inner + close * depth + "\n"


@pytest.mark.parametrize(
    ("open_", "close"),
    [("[", "]"), ("{b = ", "}"), ("[{b = ", "}]")],
    ids=["arrays", "tables", "both"],
)
def test_nesting_past_the_limit_is_a_decode_error_not_a_recursion_error(
    open_: str, close: str
) -> None:
    levels = MAX_DEPTH // (2 if open_ == "[{b = " else 1)  # "[{" is two levels
    agree(_nested(levels, open_, close))  # at the limit: read as tomllib reads it
    with pytest.raises(TOMLDecodeError, match="nested too deeply"):
        loads(_nested(levels + 1, open_, close))
    with pytest.raises(TOMLDecodeError, match="nested too deeply"):
        loads(_nested(5_000, open_, close))  # tomllib: RecursionError


def test_an_integer_past_4300_digits_is_a_decode_error() -> None:
    agree("a = " + "9" * 4300 + "\n")
    doc = "a = 1\nb = -" + "9" * 4301 + "\n"
    with pytest.raises(ValueError, match="digits") as plain:
        tomllib.loads(doc)
    assert not isinstance(plain.value, tomllib.TOMLDecodeError)  # the one allowed difference
    with pytest.raises(TOMLDecodeError, match="4,300 digits") as ours:
        loads(doc)
    assert ours.value.lineno == 2
    agree("a = 0x" + "f" * 5000 + "\n")  # power-of-two bases have no such limit


def test_a_20000_part_dotted_key_costs_linear_time() -> None:
    """tomllib's cost per key is quadratic in its parts (issue 11.6): 20,000 parts would take
    it 117 s on the machine where this reader takes 0.1 s."""
    parts = ".".join(f"k{i}" for i in range(20_000))
    started = time.monotonic()
    doc = loads(f"[{parts}]\n{parts} = 1\nx.{parts} = [1]\n")
    assert time.monotonic() - started < 10.0

    def down(node: object) -> object:
        for i in range(20_000):
            assert isinstance(node, dict)
            node = node[f"k{i}"]
        return node

    table = down(doc)
    assert isinstance(table, dict) and list(table) == ["k0", "x"]
    assert down(table) == 1
    assert down(table["x"]) == [1]


def test_long_strings_and_arrays_cost_linear_time() -> None:
    escapes = "\\n" * 200_000
    text = loads(f'a = "{escapes}"\nb = """{escapes}"""\nc = [{"1," * 200_000}]\n')
    assert text["a"] == "\n" * 200_000 and text["b"] == "\n" * 200_000
    assert text["c"] == [1] * 200_000


def test_datetime_is_imported_only_at_the_first_date() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pinit.config.toml import loads; loads('a = 1\\nb = \"x\"\\n[t]\\n');"
        "assert 'datetime' not in sys.modules, 'early'; loads('d = 1979-05-27');"
        "assert 'datetime' in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout == "ok\n", out.stderr


def test_the_modules_import_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; before = set(sys.modules); import pinit.config.toml;"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('pinit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout == "[]\n", out.stderr


def test_cpython_corpus() -> None:
    if not CPYTHON_DATA.is_dir():
        pytest.skip(f"CPython's tomllib test data is not installed: {CPYTHON_DATA}")
    valid = sorted((CPYTHON_DATA / "valid").rglob("*.toml"))
    invalid = sorted((CPYTHON_DATA / "invalid").rglob("*.toml"))
    assert valid and invalid
    for path in valid:
        agree(path.read_bytes().decode())
    for path in invalid:
        try:
            doc = path.read_bytes().decode()
        except UnicodeDecodeError:
            continue  # refused before any TOML reader sees it
        with pytest.raises(TOMLDecodeError):
            loads(doc)


@pytest.mark.parametrize(
    "path",
    sorted(p for d in ("examples", "tests") for p in (ROOT / d).rglob("*.toml")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_the_repository_toml_files(path: Path) -> None:
    agree(path.read_text())


def test_the_module_names_its_public_api() -> None:
    assert toml.__all__ == ["MAX_DEPTH", "TOMLDecodeError", "loads", "nested_deeper_than"]
    assert issubclass(TOMLDecodeError, ValueError)


def test_the_loader_reports_this_readers_errors_with_their_line() -> None:
    """pinit.config.load reads with this module: the message and line come from the
    exception's fields, deep nesting included (tomllib's RecursionError had no line)."""
    from pinit.config.load import load_text

    head = '[programs.web]\ncommand = ["/bin/true"]\n'
    _, errors = load_text(head + "x = " + "[" * 500 + "]" * 500 + "\n", "/etc/p.toml", {})
    assert [(e.line, e.key_path) for e in errors] == [(3, "")]
    assert errors[0].message.startswith("TOML syntax error: nested too deeply")
    _, errors = load_text(head + "\n\nuser = 'a\n", "/etc/p.toml", {})
    assert [(e.line, e.message) for e in errors] == [(5, "TOML syntax error: unterminated string")]


def test_nested_deeper_than_counts_tables_not_arrays() -> None:
    """The loader's cheap look for a key of too many parts (issue 11.6): tables count a level,
    an array of tables does not add one of its own."""
    assert not toml.nested_deeper_than(toml.loads("[a.b]\nc = [{d = 1}]"), 3)
    assert toml.nested_deeper_than(toml.loads("[a.b]\nc = [{d = {e = 1}}]"), 3)
    assert toml.nested_deeper_than(toml.loads("a.b.c.d.e = 1"), 3)
    assert not toml.nested_deeper_than(toml.loads("a.b.c.d = 1"), 3)
