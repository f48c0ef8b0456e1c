"""logs.rotate: rotation only between lines, N backups, oldest dropped, outside moves noticed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.logs.rotate import RotatingFile, UnsafeLogFileError
from pinit.logs.writer import write_all


def numbered(lo: int, hi: int) -> bytes:
    return b"".join(b"line %06d\n" % i for i in range(lo, hi))  # 12 bytes each


def kept(path: Path, backups: int) -> list[bytes]:
    """Contents oldest first: file.N ... file.1, file."""
    names = [Path(f"{path}.{n}") for n in range(backups, 0, -1)] + [path]
    return [p.read_bytes() for p in names if p.exists()]


def test_rotates_only_at_line_boundaries_and_keeps_n_backups(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    out = RotatingFile(str(path), max_bytes=100, backups=3)
    for lo in range(0, 200, 7):  # blocks of 7 lines that never line up with 100 bytes
        out.write([numbered(lo, min(lo + 7, 200))])
    out.close()
    files = kept(path, 3)
    assert len(files) == 4
    assert not Path(f"{path}.4").exists()  # the oldest was dropped
    for content in files:
        assert len(content) <= 100
        assert content.endswith(b"\n")
        assert len(content) % 12 == 0  # whole lines only: no line split across two files
    joined = b"".join(files)
    first = int(joined.split(b"\n")[0].split()[1])
    assert joined == numbered(first, 200)  # a contiguous suffix of the sequence


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=40),
    max_bytes=st.integers(10, 80),
)
def test_no_line_is_ever_split_whatever_the_line_sizes(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], max_bytes: int
) -> None:
    path = tmp_path_factory.mktemp("rot") / "x.log"
    out = RotatingFile(str(path), max_bytes=max_bytes, backups=100)
    lines = [bytes([65 + i % 26]) * n + b"\n" for i, n in enumerate(sizes)]
    for i in range(0, len(lines), 3):
        out.write([b"".join(lines[i : i + 3])])
    out.close()
    files = kept(path, 100)
    assert b"".join(files) == b"".join(lines)
    for content in files:
        assert content.endswith(b"\n")
        assert len(content) <= max_bytes or content.count(b"\n") == 1  # a giant line alone


def test_a_line_longer_than_max_bytes_gets_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=10, backups=5)
    out.write([b"ab\n" + b"z" * 25 + b"\n" + b"cd\n"])
    out.close()
    assert kept(path, 5) == [b"ab\n", b"z" * 25 + b"\n", b"cd\n"]


def test_zero_backups_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=12, backups=0)
    out.write([numbered(0, 3)])
    out.close()
    assert path.read_bytes() == numbered(2, 3)
    assert not Path(f"{path}.1").exists()


def test_appends_to_an_existing_file_and_counts_its_size(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(numbered(0, 8))  # 96 bytes
    out = RotatingFile(str(path), max_bytes=100, backups=1)
    out.write([numbered(8, 9)])
    out.close()
    assert Path(f"{path}.1").read_bytes() == numbered(0, 8)
    assert path.read_bytes() == numbered(8, 9)


def test_a_file_renamed_or_removed_from_outside_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    out.write([b"one\n"])
    os.rename(path, tmp_path / "x.log.old")  # logrotate's default move
    out.write([b"two\n"])
    assert (tmp_path / "x.log.old").read_bytes() == b"one\n"
    assert path.read_bytes() == b"two\n"
    path.unlink()
    out.write([b"three\n"])
    out.close()
    assert path.read_bytes() == b"three\n"


def test_a_failed_write_raises_and_the_next_one_recovers(tmp_path: Path) -> None:
    directory = tmp_path / "gone"
    directory.mkdir()
    path = directory / "x.log"
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    out.write([b"one\n"])
    path.unlink()
    directory.rmdir()
    with pytest.raises(OSError):
        out.write([b"lost\n"])
    directory.mkdir()
    out.write([b"two\n"])
    out.close()
    assert path.read_bytes() == b"two\n"


def test_a_device_is_refused_not_written() -> None:
    """/dev/full answers every write with ENOSPC; a log path naming a device is refused first
    (the full-disk case is tests/integration/test_logs_soak.py, on a real tmpfs)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    out = RotatingFile("/dev/full", max_bytes=1 << 30, backups=0)
    with pytest.raises(UnsafeLogFileError, match="refusing to write /dev/full: it is not a reg"):
        out.write([b"x\n"])
    out.close()


def test_a_symlink_at_the_name_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"root only\n")
    path = tmp_path / "x.log"
    path.symlink_to(target)
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    with pytest.raises(UnsafeLogFileError) as err:
        out.write([b"one\n"])
    assert err.value.strerror == f"refusing to write {path}: it is a symbolic link"
    path.unlink()  # a plain file again: writing resumes there
    out.write([b"two\n"])
    out.close()
    assert target.read_bytes() == b"root only\n"
    assert path.read_bytes() == b"two\n"


def test_a_symlink_swapped_in_after_open_is_noticed_before_the_next_write(
    tmp_path: Path,
) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"root only\n")
    path = tmp_path / "x.log"
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    out.write([b"one\n"])
    path.unlink()
    path.symlink_to(target)
    with pytest.raises(UnsafeLogFileError, match="symbolic link"):
        out.write([b"two\n"])
    out.close()
    assert target.read_bytes() == b"root only\n"


def test_a_link_planted_at_a_backup_name_is_moved_not_written(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"root only\n")
    path = tmp_path / "x.log"
    Path(f"{path}.1").symlink_to(target)
    out = RotatingFile(str(path), max_bytes=12, backups=3)
    out.write([numbered(0, 3)])  # two rotations: the link goes x.log.1 -> .2 -> .3
    out.close()
    assert target.read_bytes() == b"root only\n"
    assert Path(f"{path}.3").is_symlink()
    assert [Path(f"{path}.{n}").read_bytes() for n in (2, 1)] == [numbered(0, 1), numbered(1, 2)]


def test_a_fifo_is_refused_without_blocking_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    os.mkfifo(path)
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    with pytest.raises(UnsafeLogFileError, match="FIFO"):
        out.write([b"one\n"])  # without O_NONBLOCK this open would wait for a reader forever
    out.close()


def test_a_hard_link_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"root only\n")
    path = tmp_path / "x.log"
    os.link(target, path)
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    with pytest.raises(UnsafeLogFileError, match="it has 2 hard links"):
        out.write([b"one\n"])
    out.close()
    assert target.read_bytes() == b"root only\n"


def test_a_directory_at_the_name_is_an_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.mkdir()
    out = RotatingFile(str(path), max_bytes=1000, backups=1)
    with pytest.raises(OSError) as err:
        out.write([b"one\n"])
    assert err.value.strerror == f"cannot open {path}: Is a directory"
    out.close()


def test_close_releases_the_file_and_the_directory(tmp_path: Path) -> None:
    before = set(os.listdir("/proc/self/fd"))
    out = RotatingFile(str(tmp_path / "x.log"), max_bytes=1000, backups=1)
    out.write([b"one\n"])
    assert len(set(os.listdir("/proc/self/fd")) - before) == 2  # the file and its directory
    out.close()
    assert set(os.listdir("/proc/self/fd")) == before


def test_write_all_takes_more_pieces_than_one_writev_and_a_full_pipe() -> None:
    """The writer's writev path (issue 10): 3,000 pieces (IOV_MAX is 1,024), views among them,
    into a non-blocking pipe far smaller than the block, so writes are partial and wait."""
    pieces: list[bytes | memoryview] = []
    for i in range(3000):
        line = b"%06d %s\n" % (i, b"y" * 50)
        pieces.append(memoryview(b"##" + line)[2:] if i % 3 else line)
    want = b"".join(pieces)
    r, w = os.pipe()
    os.set_blocking(w, False)
    got = bytearray()

    def drain() -> None:
        while len(got) < len(want):
            chunk = os.read(r, 4096)
            if not chunk:
                return
            got.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert write_all(w, pieces) == len(want)
        reader.join(10)
    finally:
        os.close(w)
        os.close(r)
    assert bytes(got) == want
