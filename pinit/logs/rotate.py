"""A size-rotated log file that only ever rotates between two lines. Plain blocking file I/O.

Why between lines: supervisord rotates at the byte where the size limit falls, so one line
ends up split across two files and the oldest kept file starts with a fragment (seen in
peers-performance §7). s6-log and svlogd never split a line; neither does this. A block of
whole lines (from logs.framing) is written up to the last newline that still fits, then the
file rotates: `file` -> `file.1` -> ... -> `file.N` (`backups`; the oldest is dropped). A
single line longer than `max_bytes` gets a file of its own rather than being split.

Why blocking: a regular file cannot be made non-blocking (DESIGN §2c), so this runs on a
writer thread (logs.capture), never on the loop. It raises OSError and lets the caller decide
what a full disk means; after an error the file is reopened on the next write, which is how a
writer recovers once space is back.

Logrotate-style outside moves are noticed: before each write the path is stat'ed, and if it no
longer names the open file (renamed or removed), the file is reopened at the path.
"""

from __future__ import annotations

import os

__all__ = ["RotatingFile"]


class RotatingFile:
    __slots__ = ("_fd", "_ident", "_size", "backups", "max_bytes", "mode", "path")

    def __init__(self, path: str, max_bytes: int, backups: int, mode: int = 0o640) -> None:
        self.path = path
        self.max_bytes = max(1, max_bytes)
        self.backups = max(0, backups)
        self.mode = mode
        self._fd = -1
        self._size = 0
        self._ident = (0, 0)

    def write(self, data: bytes) -> None:
        """Append a block of whole lines, rotating before any line that would not fit."""
        self._ensure_open()
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            room = max(0, self.max_bytes - self._size)
            if end - pos <= room:
                self._append(view[pos:])
                return
            fits = data.rfind(b"\n", pos, pos + room) + 1
            if fits > 0:
                self._append(view[pos:fits])
                pos = fits
            elif self._size == 0:
                # One line longer than max_bytes: a file of its own, never split.
                stop = data.find(b"\n", pos) + 1 or end
                self._append(view[pos:stop])
                pos = stop
            if pos < end:
                self._rotate()

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    # -- internals ---------------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._fd >= 0:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self.close()  # removed from outside: start a new file at the path
            else:
                if (st.st_dev, st.st_ino) != self._ident:
                    self.close()  # renamed away (logrotate without copytruncate)
                else:
                    return
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, self.mode)
        st = os.fstat(self._fd)
        self._size = st.st_size
        self._ident = (st.st_dev, st.st_ino)

    def _append(self, view: memoryview) -> None:
        before = self._size
        try:
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
                self._size += done
        except OSError:
            # ENOSPC/EIO part-way through: take the partial line back out (we are the only
            # writer of this file), so that a full disk drops lines but never tears one.
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                pass
            self.close()
            raise

    def _rotate(self) -> None:
        self.close()
        if self.backups == 0:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        else:
            for n in range(self.backups - 1, 0, -1):
                try:
                    os.replace(f"{self.path}.{n}", f"{self.path}.{n + 1}")
                except FileNotFoundError:
                    pass
            try:
                os.replace(self.path, f"{self.path}.1")
            except FileNotFoundError:
                pass
        self._ensure_open()
