"""Issue 10, logs, the parts without a running pinit: retention and gzip (logs.retain), time
rotation (logs.rotate), the passthrough tail (logs.tail), the stamp, config keys, protocol."""

from __future__ import annotations

import gzip
import os
import re
import time
from pathlib import Path

import pytest

from pinit.control import proto
from pinit.logs import retain
from pinit.logs.rotate import RotatingFile
from pinit.logs.stamp import stamp
from pinit.logs.tail import TAIL_BYTES, Tail
from tests.unit.test_config_load import ok, one_error


def numbered(lo: int, hi: int) -> bytes:
    return b"".join(b"line %06d\n" % i for i in range(lo, hi))  # 12 bytes each


def contents(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()


def test_compressed_rotation_keeps_every_line_and_n_gz_backups(tmp_path: Path) -> None:
    path = tmp_path / "web.log"
    out = RotatingFile(str(path), max_bytes=120, backups=4)
    out.compress = True
    for lo in range(0, 300, 7):
        out.write([numbered(lo, min(lo + 7, 300))])
    out.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["web.log", *(f"web.log.{k}.gz" for k in range(1, 5))]
    chain = [tmp_path / f"web.log.{k}.gz" for k in range(4, 0, -1)] + [path]
    joined = b"".join(contents(p) for p in chain)
    first = int(joined.split()[1])
    assert joined == numbered(first, 300)  # whole lines, in order, none twice


def test_a_chain_mixing_plain_and_gz_backups_shifts_without_leftovers(tmp_path: Path) -> None:
    d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name, body in (("a", b"0\n"), ("a.1", b"1\n"), ("a.2.gz", b"2\n"), ("a.3", b"3\n")):
            (tmp_path / name).write_bytes(body)
        (tmp_path / "a.3.gz").write_bytes(b"stale\n")  # the oldest's other spelling
        retain.shift("a", 3, d)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["a.1", "a.2", "a.3.gz"]
        assert [(tmp_path / n).read_bytes() for n in names] == [b"0\n", b"1\n", b"2\n"]
        assert retain.compress("a", d, 0o640)
        assert gzip.decompress((tmp_path / "a.1.gz").read_bytes()) == b"0\n"
        assert not (tmp_path / "a.1").exists()
    finally:
        os.close(d)


def test_compress_leaves_a_symlink_alone(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"root only\n")
    (tmp_path / "a.1").symlink_to(secret)
    d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert not retain.compress("a", d, 0o640)
    finally:
        os.close(d)
    assert (tmp_path / "a.1").is_symlink()
    assert not (tmp_path / "a.1.gz").exists()


def test_expire_deletes_the_first_too_old_backup_and_every_older_one(tmp_path: Path) -> None:
    now = time.time()
    for k, days in ((1, 1), (2, 15), (3, 2), (4, 40)):  # 3 is younger than 2: still older
        p = tmp_path / f"a.{k}"
        p.write_bytes(b"x\n")
        os.utime(p, (now - days * 86400, now - days * 86400))
    d = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert retain.expire("a", 10, 14 * 86400, now, d) == 3
    finally:
        os.close(d)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.1"]


def test_a_file_from_an_earlier_period_rotates_at_the_first_write(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    path.write_bytes(b"yesterday\n")
    old = time.time() - 86400
    os.utime(path, (old, old))
    out = RotatingFile(str(path), max_bytes=1 << 20, backups=2)
    out.set_every(3600.0)
    out.write([b"today\n"])
    out.write([b"still today\n"])
    out.close()
    assert (tmp_path / "t.log.1").read_bytes() == b"yesterday\n"
    assert path.read_bytes() == b"today\nstill today\n"


def test_reopen_starts_a_new_file_after_an_outside_move(tmp_path: Path) -> None:
    path = tmp_path / "r.log"
    out = RotatingFile(str(path), max_bytes=1 << 20, backups=2)
    out.write([b"one\n"])
    path.rename(tmp_path / "r.log.moved")
    out.reopen()  # logrotate without `create`: the name exists again at once
    assert path.read_bytes() == b""
    out.write([b"two\n"])
    out.close()
    assert (tmp_path / "r.log.moved").read_bytes() == b"one\n"
    assert path.read_bytes() == b"two\n"


def test_the_tail_keeps_the_last_lines_within_its_bound_and_counts_losses() -> None:
    tail = Tail()
    tail.add(b"p | a\np | b\n")
    lines, lost, cursor = tail.since(None, 10)
    assert (lines, lost, cursor) == ([b"p | a", b"p | b"], 0, 2)
    big = b"".join(b"p | %07d\n" % i for i in range(20000))  # 240 KB in one block
    tail.add(big)
    lines, lost, nxt = tail.since(cursor, 100_000)
    assert lost > 0 and sum(map(len, lines)) <= TAIL_BYTES
    assert lost + len(lines) == 20000 and nxt == 20002
    assert lines[-1] == b"p | 0019999"
    assert tail.since(nxt, 10) == ([], 0, nxt)
    tail.add(b"p | new\n")
    assert tail.since(nxt, 10) == ([b"p | new"], 0, nxt + 1)
    for i in range(10000):
        tail.add(b"p | %07d\n" % i)
    assert sum(len(b) for _, b in tail._blocks) <= TAIL_BYTES


def test_the_stamp_is_rfc3339_utc_with_milliseconds() -> None:
    before = time.time()
    got = stamp()
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", got)
    head = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before)).encode()
    assert got.startswith(head[:13])  # same UTC hour (a minute boundary may pass)


def test_config_keys_load_and_bad_values_say_why() -> None:
    config = ok(
        """\
        [pinit]
        reopen_signal = "USR1"
        [programs.web]
        command = ["a"]
        stdout = { file = "/l/web.log", rotate_every = "1d", max_age = "14d", compress = true, \
timestamps = true }
        """
    )
    spec = config.programs[0].stdout
    assert (spec.rotate_every, spec.max_age, spec.compress, spec.timestamps) == (
        86400.0,
        14 * 86400.0,
        True,
        True,
    )
    assert config.reopen_signal == 10
    err = one_error('[programs.w]\ncommand = ["a"]\nstdout = { file = "x", rotate_every = "1ms" }')
    assert "at least 1s" in err.message
    err = one_error('[pinit]\nreopen_signal = "TERM"\n[programs.w]\ncommand = ["a"]\n')
    assert "SIGTERM already means something" in err.message


@pytest.mark.parametrize(
    ("obj", "needle"),
    [
        ({"cmd": "logs", "target": "a", "after": []}, "must be an object"),
        ({"cmd": "logs", "target": "a", "after": {"a": -1}}, "line numbers"),
        ({"cmd": "logs", "target": "a", "after": {"a": True}}, "line numbers"),
        ({"cmd": "reopen", "target": "a"}, "unknown key"),
    ],
)
def test_bad_follow_and_reopen_requests_say_why(obj: object, needle: str) -> None:
    import json

    got = proto.parse_request(json.dumps(obj).encode())
    assert isinstance(got, str) and needle in got


def test_follow_cursors_round_trip() -> None:
    req = proto.Request("logs", "p", lines=5, after=(("p", 7),))
    again = proto.parse_request(proto.encode(proto.request_json(req)).rstrip(b"\n"))
    assert again == req
    assert proto.parse_request(b'{"cmd": "reopen"}') == proto.Request("reopen")


def test_the_follower_reads_on_across_moves_backups_and_truncation(tmp_path: Path) -> None:
    from pinit.control.logfollow import _File

    path = tmp_path / "a.log"
    path.write_bytes(b"1\n2\n")
    f = _File(str(path))
    assert f.open()
    assert f.last(1) == [b"2"]
    with path.open("ab") as out:
        out.write(b"3\npart")
    assert f.poll() == ([b"3"], "")
    with path.open("ab") as out:
        out.write(b"ial\n")
    # two rotations between polls: a.log -> a.log.1 (gzipped) -> a.log.2, then a new a.log.1
    path.rename(tmp_path / "a.log.2")
    (tmp_path / "a.log.1.gz").write_bytes(gzip.compress(b"4\n5\n"))
    path.write_bytes(b"6\n")
    assert f.poll() == ([b"partial", b"4", b"5", b"6"], "")
    path.write_bytes(b"")  # copytruncate: as for `tail -F`, seen when the size is below ours
    assert f.poll() == ([], f"{path}: file truncated")
    with path.open("ab") as out:
        out.write(b"7\n")
    assert f.poll() == ([b"7"], "")
