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

Logrotate-style outside moves are noticed: before each write the name is lstat'ed, and if it
no longer names the open file (renamed or removed), the file is reopened at the path. `reopen`
does the same at once (issue 10: `ctl logs --reopen`, `reopen_signal`), so the old file is
closed before logrotate's postrotate goes on to compress it.

Time rotation (issue 10, `rotate_every`) is checked before each block, in the same thread:
periods are aligned on the epoch (`1d` ends at UTC midnight, as Apache's rotatelogs), so a
restarted pinit keeps the same boundaries, and a file last written in an earlier period is
rotated at its first new line. No timer: an idle file is not rotated (a rotation at the next
line is as good, and an idle pinit must not wake up). Backups are gzipped and expired by
logs.retain, also in this thread, after the new file is open.

Why a held directory fd and O_NOFOLLOW (issue 11.1): pinit runs as root and its programs often
do not, and a log directory may be writable by a program's user. Such a user can replace the
log file with a symbolic link to a root-only file (`/etc/shadow`, `authorized_keys`); a root
`open(path, O_APPEND)` would then follow it. Checking ownership first and opening afterwards
is a race the user wins; instead every operation on the file is one system call relative to
the directory, opened once (before the programs that write there start) and held: the leaf is
opened with O_NOFOLLOW (a link there fails with ELOOP, atomically), identities are compared
with fstatat(AT_SYMLINK_NOFOLLOW) and fstat, renames and unlinks are renameat/unlinkat, which
never follow a link in their last component. What opens must be a regular file with one link
(a FIFO would block the writer; a hard link to a root-only file, possible where
`fs.protected_hardlinks` is off, is the same attack as a symlink). Anything else is refused
with an UnsafeLogFileError naming the path and the cause; the writer drops and counts lines
until the name is a plain file again. The path *to* the directory is walked by logs.dirs,
which refuses a directory on the way that another user could change.
"""

from __future__ import annotations

import errno
import os
import stat
import time

from pinit.logs.dirs import UntrustedPathError, open_trusted_dir
from pinit.logs.framing import Block, joined
from pinit.logs.writer import write_all

__all__ = ["RotatingFile", "UnsafeLogFileError"]

_OPEN = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NOCTTY
# O_NONBLOCK: a FIFO planted at the name must fail (ENXIO, no reader), not hang the writer.
# It changes nothing for a regular file, and is cleared once the file is known to be one.


class UnsafeLogFileError(OSError):
    """The log path names something pinit refuses to write to; strerror says what and why."""


class RotatingFile:
    __slots__ = (
        "_dir",
        "_fd",
        "_ident",
        "_name",
        "_period_end",
        "_size",
        "backups",
        "compress",
        "directory",
        "every",
        "max_age",
        "max_bytes",
        "mode",
        "path",
    )

    def __init__(self, path: str, max_bytes: int, backups: int, mode: int = 0o640) -> None:
        self.path = path
        # issue 10: set by the capture side (plain attributes the thread reads between writes)
        self.every = 0.0  # rotate_every, seconds; periods aligned on the epoch (set_every)
        self.max_age = 0.0
        self.compress = False
        self._period_end = -1.0  # < 0: not known yet (set at the next open or write)
        self.directory, self._name = os.path.split(path)
        self.directory = self.directory or "."
        self.max_bytes = max(1, max_bytes)
        self.backups = max(0, backups)
        self.mode = mode
        self._fd = -1
        self._dir = -1
        self._size = 0
        self._ident = (0, 0)
        try:
            self._open_dir()  # now, on the loop, before a program writing here is spawned
        except OSError:
            pass  # not there yet: retried on the first write

    def write(self, block: Block) -> None:
        """Append a block of whole lines, rotating before any line that would not fit."""
        self._ensure_open()
        if self.every:
            now = time.time()
            if self._period_end < 0:
                self._period_end = self._next_period(now)  # rotate_every set by a reload
            elif now >= self._period_end:
                if self._size:
                    self._rotate()  # a new period: the whole block goes to the new file
                else:
                    self._period_end = self._next_period(now)
        size = sum(map(len, block))
        if size <= self.max_bytes - self._size:  # the usual case: its pieces, uncopied
            self._append(block)
            return
        data = joined(block)  # a rotation falls in it: about once per max_bytes
        view = memoryview(data)
        pos, end = 0, len(data)
        while pos < end:
            room = max(0, self.max_bytes - self._size)
            if end - pos <= room:
                self._append([view[pos:]])
                return
            fits = data.rfind(b"\n", pos, pos + room) + 1
            if fits > 0:
                self._append([view[pos:fits]])
                pos = fits
            elif self._size == 0:
                # One line longer than max_bytes: a file of its own, never split.
                stop = data.find(b"\n", pos) + 1 or end
                self._append([view[pos:stop]])
                pos = stop
            if pos < end:
                self._rotate()

    def reopen(self) -> None:
        """Close the file and open the name again (logrotate's `create` + postrotate, issue 10).

        Called by the writer thread between two blocks, so at a line boundary: every line
        before it is in the old file, every line after it in the new one.
        """
        self._close_file()
        self._ensure_open()
        if self.backups and self.max_age:
            from pinit.logs import retain

            retain.expire(self._name, self.backups, self.max_age, time.time(), self._dir)

    def set_every(self, seconds: float) -> None:
        """Loop side (config, reload): a changed period starts counting at the next write."""
        if seconds != self.every:
            self.every, self._period_end = seconds, -1.0

    def _next_period(self, now: float) -> float:
        return (now // self.every + 1) * self.every

    def close(self) -> None:
        """Release both fds (the writer thread calls this when its destination retires)."""
        self._close_file()
        if self._dir >= 0:
            fd, self._dir = self._dir, -1
            os.close(fd)

    # -- internals ---------------------------------------------------------------------------
    def _close_file(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def _lstat(self, name: str) -> os.stat_result:
        return os.stat(name, dir_fd=self._dir, follow_symlinks=False)

    def _open_dir(self) -> None:
        """Hold the directory; open it again only if the held one was removed (nlink 0)."""
        if self._dir >= 0:
            if os.fstat(self._dir).st_nlink > 0:
                return
            os.close(self._dir)
            self._dir = -1
        try:
            self._dir = open_trusted_dir(self.directory)
        except UntrustedPathError as exc:
            raise self._unsafe(errno.EPERM, str(exc.strerror)) from None

    def _ensure_open(self) -> None:
        if self._fd >= 0:
            try:
                st = self._lstat(self._name)
            except FileNotFoundError:
                self._close_file()  # removed from outside: start a new file at the path
            else:
                if (st.st_dev, st.st_ino) != self._ident:
                    self._close_file()  # renamed away, or replaced (by a link: refused below)
                else:
                    return
        self._open_dir()
        try:
            fd = os.open(self._name, _OPEN | os.O_NONBLOCK, self.mode, dir_fd=self._dir)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._unsafe(exc.errno, "it is a symbolic link") from None
            if exc.errno == errno.ENXIO:
                raise self._unsafe(exc.errno, "it is a FIFO or socket") from None
            raise OSError(exc.errno, f"cannot open {self.path}: {exc.strerror}") from None
        st = os.fstat(fd)
        cause = ""
        if not stat.S_ISREG(st.st_mode):
            cause = "it is not a regular file"
        elif st.st_nlink != 1:
            cause = f"it has {st.st_nlink} hard links"
        if cause:
            os.close(fd)
            raise self._unsafe(errno.EPERM, cause)
        os.set_blocking(fd, True)
        self._fd = fd
        self._size = st.st_size
        self._ident = (st.st_dev, st.st_ino)
        if self.every:
            # A file last written in an earlier period (pinit restarted) rotates at the next
            # write; else it waits for the end of the current period.
            now = time.time()
            stale = st.st_size and st.st_mtime < now // self.every * self.every
            self._period_end = 0.0 if stale else self._next_period(now)

    def _unsafe(self, code: int, cause: str) -> UnsafeLogFileError:
        return UnsafeLogFileError(code, f"refusing to write {self.path}: {cause}")

    def _append(self, block: Block) -> None:
        before = self._size
        try:
            self._size += write_all(self._fd, block)
        except OSError:
            # ENOSPC/EIO part-way through: take the partial line back out (we are the only
            # writer of this file), so that a full disk drops lines but never tears one.
            try:
                os.ftruncate(self._fd, before)
            except OSError:
                pass
            self._close_file()
            raise

    def _rotate(self) -> None:
        """Shift the backups that exist, start a new file, then gzip and expire (logs.retain).

        Only the names that exist are touched (issue 11.10): the first missing `file.K` ends
        the chain, so a rotation costs one lstat and one rename per existing backup, whatever
        `backups` says. renameat/unlinkat on the held directory never follow a link in the
        last component: a link planted at a backup name is moved or replaced, never written.
        The new file is open before the backup is compressed, so a crash while compressing
        loses nothing: the plain backup stays.
        """
        from pinit.logs import retain  # at the first rotation, not at PID 1's start (issue 7)

        self._close_file()
        name, d = self._name, self._dir
        if self.backups == 0:
            try:
                os.unlink(name, dir_fd=d)
            except FileNotFoundError:
                pass
        else:
            retain.shift(name, self.backups, d)
        self._ensure_open()
        if self.backups and self.compress:
            retain.compress(name, d, self.mode)
        if self.backups and self.max_age:
            retain.expire(name, self.backups, self.max_age, time.time(), d)
