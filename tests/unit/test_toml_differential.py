"""pinit's TOML reader against tomllib on random documents (issue 7 replaced tomllib on PID 1's
start path; tomllib stays the oracle). Two ways:
- random Python values written by tomli_w (every type, odd keys, any Unicode, huge integers,
  inf/nan/-0.0, dates with and without offsets, arrays of tables): both readers return equal
  values;
- valid documents with a few random edits from TOML's significant characters: both accept with
  equal values, or both refuse (ours with a TOMLDecodeError whenever tomllib raises one).
"""

from __future__ import annotations

import datetime as dt
import tomllib

import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config.toml import TOMLDecodeError, loads
from tests.unit.test_toml import VALID, same

KEYS = st.one_of(
    st.text(max_size=8),
    st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6),
    st.sampled_from(["a", "b", "a.b", "'", '"', "\\", " ", "\n", "#", "[x]", "=", "\x00", "\x7f"]),
)
OFFSETS = st.builds(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)), st.integers(-1439, 1439)
)
DATES = st.one_of(
    st.dates(),
    st.times(),  # TOML's local time has no offset
    st.datetimes(),
    st.datetimes(timezones=st.one_of(st.just(dt.UTC), OFFSETS)),
)
HUGE = st.integers(1, 4299).flatmap(lambda n: st.integers(-(10**n), 10**n))
SCALARS = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\"'\\\n\r\t\x00\x08\x1f\x7f\u2028é😀#=[]{} ab")),
    st.integers(),
    HUGE,
    st.floats(),
    st.booleans(),
    DATES,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=4),
        st.lists(st.dictionaries(KEYS, inner, max_size=3), min_size=1, max_size=3),
    ),
    max_leaves=20,
)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=6)


@settings(deadline=None, max_examples=400)
@given(DOCUMENTS, st.booleans())
def test_documents_written_by_tomli_w_read_as_tomllib_reads_them(
    value: dict[str, object], multiline: bool
) -> None:
    doc = tomli_w.dumps(value, multiline_strings=multiline)
    want = tomllib.loads(doc)
    got = loads(doc)
    assert same(got, want), doc


# Characters that change how TOML reads a document.
ALPHABET = "[]{}=.,\"'\n#\\ 0123456789abcdefghijklmnopqrstuvwxyz_+-:TZ\t"
CORPUS = [
    *VALID.values(),
    """# a bit of everything
a = 1
b.c = "x\\u00e9\\n"
"q k".'l' = 'lit'
[t]
x = [1, 2.5, -0.0, +inf, -nan, 0xff_ee, 0o17, 0b1_01, 1e-0_5, 3.14E+2]
y = { p = 1, q.r = [ {s = 1}, [] ], "u" = true }
z = 1979-05-27T07:32:00.999999-07:00
w = 1979-05-27 07:32:00Z
d = 1979-05-27
tm = 07:32:00.5
[[arr]]
k = \"\"\"
multi \\
   line ""quote""\\"\\U0001F600\"\"\"\"
[[arr]]
k = '''
raw ''one'' '''
[arr.sub]
m = false
[[arr.list]]
[t.deep.er]
""",
]
# An edit: insert, delete or replace a character, double the one there (1__0, [[, ..) or
# copy its whole line elsewhere (keys and tables defined twice).
Edit = tuple[str, float, float, str]
EDITS = st.lists(
    st.tuples(
        st.sampled_from("+-~2L"), st.floats(0, 1), st.floats(0, 1), st.sampled_from(ALPHABET)
    ),
    min_size=1,
    max_size=3,
)


def _edit(doc: str, edits: list[Edit]) -> str:
    for kind, where, there, char in edits:
        at = int(where * len(doc))
        if kind == "+":
            doc = doc[:at] + char + doc[at:]
        elif kind == "-":
            doc = doc[:at] + doc[at + 1 :]
        elif kind == "~":
            doc = doc[:at] + char + doc[at + 1 :]
        elif kind == "2":
            doc = doc[:at] + doc[at : at + 1] + doc[at:]
        else:
            lines = doc.split("\n")
            line = lines[int(where * len(lines)) % len(lines)]
            lines.insert(int(there * len(lines)), line)
            doc = "\n".join(lines)
    return doc


def _compare(doc: str) -> None:
    try:
        want: dict[str, object] | None = tomllib.loads(doc)
    except tomllib.TOMLDecodeError:
        want = None
    except ValueError:  # int() past 4,300 digits: ours refuses it with a TOMLDecodeError
        want = None
    if want is None:
        try:
            loads(doc)
        except TOMLDecodeError:
            return
        raise AssertionError(f"accepted what tomllib refuses: {doc!r}")
    assert same(loads(doc), want), doc


@settings(deadline=None, max_examples=500)
@given(st.sampled_from(CORPUS), EDITS)
def test_edited_documents_are_accepted_or_refused_as_tomllib_does(
    doc: str, edits: list[Edit]
) -> None:
    _compare(_edit(doc, edits))


@settings(deadline=None, max_examples=300)
@given(DOCUMENTS, EDITS)
def test_edited_tomli_w_documents_are_accepted_or_refused_as_tomllib_does(
    value: dict[str, object], edits: list[Edit]
) -> None:
    _compare(_edit(tomli_w.dumps(value), edits))


# Statements over a few overlapping key paths: tables, arrays of tables, dotted keys and
# inline values in every order, which is where TOML's redefinition rules live. Every sequence
# of up to three is tried (14,424 small documents, about a second), longer ones at random.
PATHS = ["a", "b", "a.b", "b.a"]
STATEMENT_LIST = (
    [f"[{p}]" for p in PATHS]
    + [f"[[{p}]]" for p in PATHS]
    + [f"{p} = {v}" for p in PATHS for v in ["1", "{}", "{a.b = 1}", "[{}]"]]
)


def test_every_sequence_of_three_statements_agrees_with_tomllib() -> None:
    for first in STATEMENT_LIST:
        _compare(first + "\n")
        for second in STATEMENT_LIST:
            _compare(f"{first}\n{second}\n")
            for third in STATEMENT_LIST:
                _compare(f"{first}\n{second}\n{third}\n")


@settings(deadline=None, max_examples=500)
@given(st.lists(st.sampled_from(STATEMENT_LIST), min_size=4, max_size=8))
def test_longer_statement_sequences_agree_with_tomllib(statements: list[str]) -> None:
    _compare("\n".join(statements) + "\n")


def test_the_corpus_is_valid() -> None:
    for doc in CORPUS:
        assert same(loads(doc), tomllib.loads(doc))
