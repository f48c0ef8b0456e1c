"""`pinit ctl logs -f NAME`: follow a program's log across rotations (issue 10). Client side only.

Files are followed by the client itself, with `tail -F`'s rules: the control socket only
names them (a follower then costs PID 1 nothing, whatever it does), and the client reads on
its open fd until the end, then looks at the name again. A name that now points at another
file (pinit rotated, or logrotate moved it and pinit reopened) is opened from its start once
the old fd is read to its end: pinit rotates only between lines and writes every line before
the rotation to the old file first, so nothing is lost or printed twice. A file that shrank
was truncated (`copytruncate`): it is read again from its start. Like `tail -F`, this polls
(every POLL seconds); unlike it, when pinit rotated several times between two polls the
backups in between are read too (`_between`), so a fast writer's lines are all shown.

A passthrough-only program has no file: its recent lines are in pinit's memory (logs.tail),
polled with a cursor; lines that scrolled out of pinit's bound before a poll are reported as
lost, with their number.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TextIO

from pinit.control import proto
from pinit.control.client import ERROR_REPLY, OK, TIMEOUT, CtlError, request

__all__ = ["POLL", "follow"]

POLL = 0.2  # seconds between looks, as `tail -F -s 0.2`
TAIL_BYTES = 256 << 10  # read at most this much of a file's end for its last lines
READ = 1 << 16
MAX_BETWEEN = 100  # backups looked at for the files rotated between two polls


class _File:
    __slots__ = ("carry", "fd", "ident", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.ident = (0, 0)
        self.carry = b""

    def open(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return False
        st = os.fstat(fd)
        self.fd, self.ident, self.carry = fd, (st.st_dev, st.st_ino), b""
        return True

    def last(self, lines: int) -> list[bytes]:
        """The last `lines` lines; the fd is left at the end of the file."""
        size = os.lseek(self.fd, 0, os.SEEK_END)
        start = max(0, size - TAIL_BYTES)
        os.lseek(self.fd, start, os.SEEK_SET)
        data = b""
        while chunk := os.read(self.fd, READ):
            data += chunk
        parts = data.split(b"\n")
        self.carry = parts.pop()
        if start > 0 and parts:
            parts = parts[1:]  # the first one is cut
        return parts[-lines:]

    def drain(self) -> list[bytes]:
        """Whole lines added since the last read (a partial last line waits)."""
        got: list[bytes] = []
        while True:
            try:
                chunk = os.read(self.fd, READ)
            except BlockingIOError:
                break
            if not chunk:
                break
            parts = (self.carry + chunk).split(b"\n")
            self.carry = parts.pop()
            got += parts
        return got

    def poll(self) -> tuple[list[bytes], str]:
        """New lines, and a note for the reader ("" or why the file was started over)."""
        if self.fd < 0:
            return (self.drain() if self.open() else []), ""
        got = self.drain()
        try:
            st = os.stat(self.path)
        except OSError:
            return got, ""  # moved away, not yet replaced: keep reading the old one
        if (st.st_dev, st.st_ino) != self.ident:
            old = os.fstat(self.fd)
            os.close(self.fd)
            self.fd = -1
            got += self._between(old)
            if self.open():
                got += self.drain()
            return got, ""
        if st.st_size < os.lseek(self.fd, 0, os.SEEK_CUR):
            os.lseek(self.fd, 0, os.SEEK_SET)
            self.carry = b""
            return got + self.drain(), f"{self.path}: file truncated"
        return got, ""

    def _between(self, old: os.stat_result) -> list[bytes]:
        """The files pinit rotated after the one we read and before the current one.

        The old file is now `NAME.K` (found by inode) or, once gzipped, `NAME.K.gz` (found by
        its modification time, which the gzip keeps to the nanosecond); `NAME.K-1` .. `NAME.1`
        came after it. Not found (moved away by logrotate): none, as `tail -F`.
        """
        for k in range(1, MAX_BETWEEN + 1):
            plain, packed = f"{self.path}.{k}", f"{self.path}.{k}.gz"
            try:
                st = os.stat(plain)
                if (st.st_dev, st.st_ino) == (old.st_dev, old.st_ino):
                    break
            except OSError:
                try:
                    st = os.stat(packed)
                except OSError:
                    return []  # the end of the chain: not there
                if st.st_mtime_ns == old.st_mtime_ns:
                    break
        else:
            return []
        got: list[bytes] = []
        for j in range(k - 1, 0, -1):
            data = _whole(f"{self.path}.{j}")
            got += data.split(b"\n")[:-1]
        return got


def _whole(path: str) -> bytes:
    """A backup's content, decompressed if it is gzipped; b"" if it is gone."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        pass
    try:
        with open(path + ".gz", "rb") as f:
            packed = f.read()
    except OSError:
        return b""
    import zlib

    try:
        return zlib.decompress(packed, 31)
    except zlib.error:
        return b""


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace") + "\n"


def follow(paths: Sequence[str], req: proto.Request, out: TextIO, err: TextIO) -> int:
    """Print the last lines, then new ones as they come, until interrupted or pinit is gone."""
    reply = _ask(paths, proto.Request("logs", req.target, lines=req.lines), err)
    if isinstance(reply, int):
        return reply
    try:
        if isinstance(reply.get("tails"), list):
            return _tails(paths, req, reply, out, err)
        entries = reply.get("files")
        files = [
            _File(e["path"])
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict) and isinstance(e.get("path"), str)
        ]
        return _files(files, req.lines, out, err)
    except (KeyboardInterrupt, BrokenPipeError):
        return OK


def _ask(
    paths: Sequence[str], req: proto.Request, err: TextIO, timeout: float = TIMEOUT
) -> dict[str, object] | int:
    """pinit's reply if it is ok; else the exit code, the error printed."""
    try:
        reply = request(paths, req, timeout)
    except CtlError as exc:
        print(f"pinit ctl: {exc}", file=err)
        return exc.code
    if not reply.get("ok"):
        print(f"pinit ctl: {reply.get('error')}", file=err)
        return ERROR_REPLY
    return reply


def _files(files: list[_File], lines: int, out: TextIO, err: TextIO) -> int:
    shown: _File | None = None
    for f in files:
        if f.open():
            if len(files) > 1:
                out.write(f"==> {f.path} <==\n")
            out.writelines(_text(line) for line in f.last(lines))
            shown = f
    out.flush()
    while True:
        time.sleep(POLL)
        for f in files:
            got, note = f.poll()
            if note:
                print(f"pinit ctl: {note}", file=err)
            if got and len(files) > 1 and shown is not f:
                out.write(f"==> {f.path} <==\n")
                shown = f
            out.writelines(_text(line) for line in got)
        out.flush()


def _tails(
    paths: Sequence[str], req: proto.Request, reply: dict[str, object], out: TextIO, err: TextIO
) -> int:
    cursors: dict[str, int] = {}
    while True:
        entries = reply.get("tails")
        for e in entries if isinstance(entries, list) else []:
            if not isinstance(e, dict) or not isinstance(e.get("program"), str):
                continue
            if e.get("lost"):
                print(f"pinit ctl: {e['lost']} lines of {e['program']} lost", file=err)
            lines = e.get("lines")
            out.writelines(f"{line}\n" for line in (lines if isinstance(lines, list) else []))
            if isinstance(e.get("next"), int):
                cursors[e["program"]] = e["next"]
        out.flush()
        time.sleep(POLL)
        after = tuple(cursors.items())
        ask = proto.Request("logs", req.target, lines=proto.MAX_LOG_LINES, after=after)
        answer = _ask(paths, ask, err, timeout=10.0)
        if isinstance(answer, int):
            return answer
        reply = answer
