"""logs.pipe: a capture pipe grows only when a read finds it full, within one budget for all.

Real pipes, real F_SETPIPE_SZ: the kernel's F_GETPIPE_SZ says what each pipe holds.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator

import pytest

from pinit.logs import pipe
from pinit.logs.pipe import BIG_PIPE, DEFAULT_PIPE, Stream


def _capacity(stream: Stream) -> int:
    return int(fcntl.fcntl(stream.read_fd, fcntl.F_GETPIPE_SZ))


def _fill(stream: Stream, size: int) -> None:
    data = b"x" * (size - 1) + b"\n"
    view = memoryview(data)
    while view:
        view = view[os.write(stream.write_fd, view) :]


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    made: list[Stream] = []
    yield made
    for stream in made:
        if stream.read_fd >= 0:
            stream.close_read()
        os.close(stream.write_fd)


def _stream(made: list[Stream]) -> Stream:
    stream = Stream([])
    made.append(stream)
    return stream


def test_a_quiet_pipe_keeps_the_kernels_size(streams: list[Stream]) -> None:
    stream = _stream(streams)
    before = pipe.granted()
    os.write(stream.write_fd, b"one line\n")
    assert stream.read() == b"one line\n"
    assert stream.read() is None  # nothing more: not an EOF
    assert _capacity(stream) == DEFAULT_PIPE
    assert pipe.granted() == before


def test_a_full_pipe_grows_once_and_reads_get_bigger(streams: list[Stream]) -> None:
    stream = _stream(streams)
    before = pipe.granted()
    _fill(stream, DEFAULT_PIPE)
    assert len(stream.read() or b"") == DEFAULT_PIPE
    assert _capacity(stream) == BIG_PIPE
    assert pipe.granted() == before + pipe.GROWTH
    _fill(stream, 3 * DEFAULT_PIPE)  # more than the old size: one read takes it all
    assert len(stream.read() or b"") == 3 * DEFAULT_PIPE
    stream.close_read()
    assert pipe.granted() == before  # given back with the stream


def test_growth_stops_at_the_budget_and_resumes_when_streams_end(
    streams: list[Stream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipe, "GROW_BUDGET", pipe.granted() + 2 * pipe.GROWTH)
    busy = [_stream(streams) for _ in range(3)]
    for stream in busy:
        _fill(stream, DEFAULT_PIPE)
        stream.read()
    assert [_capacity(s) for s in busy] == [BIG_PIPE, BIG_PIPE, DEFAULT_PIPE]
    charged = pipe.granted()
    _fill(busy[2], 3 * DEFAULT_PIPE // 4)  # a read that is not full: no growth asked
    busy[2].read()
    assert (_capacity(busy[2]), pipe.granted()) == (DEFAULT_PIPE, charged)
    busy[0].close_read()  # room again: the stream refused for want of it grows when full
    _fill(busy[2], DEFAULT_PIPE)
    busy[2].read()
    assert _capacity(busy[2]) == BIG_PIPE
    assert pipe.granted() == charged  # one given back, one taken
    late = _stream(streams)
    _fill(late, DEFAULT_PIPE)
    late.read()
    assert _capacity(late) == DEFAULT_PIPE  # the budget is full again


def test_a_refused_grow_leaves_the_pipe_working(
    streams: list[Stream], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the user's pipe quota the kernel says EPERM: the default size goes on working."""

    def refuse(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_SETPIPE_SZ:
            raise PermissionError(1, "Operation not permitted")
        return int(fcntl_fcntl(fd, cmd, arg))

    fcntl_fcntl = fcntl.fcntl
    monkeypatch.setattr(pipe.fcntl, "fcntl", refuse)
    stream = _stream(streams)
    before = pipe.granted()
    _fill(stream, DEFAULT_PIPE)
    assert len(stream.read() or b"") == DEFAULT_PIPE
    monkeypatch.undo()
    assert _capacity(stream) == DEFAULT_PIPE
    assert pipe.granted() == before
    os.write(stream.write_fd, b"still\n")
    assert stream.read() == b"still\n"
    _fill(stream, DEFAULT_PIPE)  # the kernel said no: not asked again, not even now it would
    assert len(stream.read() or b"") == DEFAULT_PIPE
    assert _capacity(stream) == DEFAULT_PIPE
