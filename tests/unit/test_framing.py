"""logs.framing: any chunking of a byte stream yields the same lines; long lines are cut."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.logs.framing import CUT_MARK, Framer, joined, prefix_lines


def frame(chunks: list[bytes], max_line: int = 64) -> bytes:
    framer = Framer(max_line)
    out = [joined(framer.feed(chunk)) for chunk in chunks]
    out.append(joined(framer.flush()))
    return b"".join(out)


def reference(stream: bytes, max_line: int) -> bytes:
    """The obvious line-by-line definition the fast framer must match."""
    out = []
    lines = stream.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    for whole in lines:
        line = whole
        while len(line) > max_line:
            out.append(line[:max_line] + CUT_MARK)
            line = line[max_line:]
        out.append(line + b"\n")
    return b"".join(out)


def chunked(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    bounds = [0, *points, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


streams = st.lists(
    st.sampled_from([b"a", b"bc", b"\n", b"\n\n", b"x" * 7, b"y" * 20, b"\xff\x00"]), max_size=60
).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(
    stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=12), max_line=st.integers(1, 9)
)
def test_any_chunking_yields_the_reference_lines(
    stream: bytes, cuts: list[int], max_line: int
) -> None:
    assert frame(chunked(stream, cuts), max_line) == reference(stream, max_line)


@settings(max_examples=200, deadline=None)
@given(stream=streams, cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_every_block_is_whole_lines_and_the_carry_stays_bounded(
    stream: bytes, cuts: list[int]
) -> None:
    framer = Framer(5)
    for chunk in chunked(stream, cuts):
        for piece in framer.feed(chunk):  # each piece whole lines: a writer may stop after one
            assert bytes(piece).endswith(b"\n")
        assert framer.pending <= 5


def test_a_partial_line_waits_for_its_end() -> None:
    framer = Framer()
    assert joined(framer.feed(b"hel")) == b""
    assert framer.pending == 3
    assert joined(framer.feed(b"lo\nwor")) == b"hello\n"
    assert joined(framer.feed(b"ld\n")) == b"world\n"
    assert framer.pending == 0


def test_a_block_of_whole_lines_passes_through_unchanged() -> None:
    data = b"one\ntwo\nthree\n"
    assert Framer().feed(data) == [data]
    assert Framer().feed(data)[0] is data  # no copy on the fast path


def test_a_read_after_a_partial_line_is_not_copied() -> None:
    """The carried line is completed in a small new piece; the read's other lines go out as
    a view of the read itself (issue 10: no copy of a read in pinit's memory)."""
    framer = Framer()
    framer.feed(b"hel")
    data = b"lo\none\ntwo\nthr"
    head, rest = framer.feed(data)
    assert head == b"hello\n"
    assert isinstance(rest, memoryview) and rest.obj is data
    assert bytes(rest) == b"one\ntwo\n"
    assert framer.pending == 3


def test_flush_ends_a_trailing_partial_line() -> None:
    framer = Framer()
    joined(framer.feed(b"done\nlast words"))
    assert joined(framer.flush()) == b"last words\n"
    assert joined(framer.flush()) == b""


def test_a_long_line_is_cut_with_a_marker_and_nothing_is_lost() -> None:
    framer = Framer(4)
    out = joined(framer.feed(b"abcdefghij\nok\n"))
    assert out == b"abcd" + CUT_MARK + b"efgh" + CUT_MARK + b"ij\nok\n"


def test_a_line_of_exactly_max_line_is_not_cut() -> None:
    assert joined(Framer(4).feed(b"abcd\n")) == b"abcd\n"
    framer = Framer(4)
    assert joined(framer.feed(b"abcd")) == b""
    assert joined(framer.feed(b"\n")) == b"abcd\n"


def test_output_without_newlines_never_grows_the_carry() -> None:
    framer = Framer(8)
    out = b"".join(joined(framer.feed(b"z" * 5)) for _ in range(10))
    assert out == (b"z" * 8 + CUT_MARK) * 6
    assert framer.pending == 2


def test_prefix_lines_prefixes_every_line() -> None:
    assert prefix_lines(b"a\nb\n", b"web-2 | ") == b"web-2 | a\nweb-2 | b\n"
    assert prefix_lines(b"\n", b"w | ") == b"w | \n"
    assert prefix_lines(b"", b"w | ") == b""


def test_a_small_view_is_copied_so_a_backlog_never_pins_whole_reads() -> None:
    """A writer's backlog counts the bytes of its pieces: a view of 4 bytes must not keep a
    64 KiB read alive, or a program writing short lines then long partial ones could make a
    stalled writer's 1 MiB backlog hold gigabytes."""
    framer = Framer()
    framer.feed(b"x")  # a partial line: the next read completes it, then views the rest
    data = b"a\nb\nc\n" + b"z" * 60_000
    head, rest = framer.feed(data)
    assert head == b"xa\n"
    assert isinstance(rest, bytes) and rest == b"b\nc\n"
