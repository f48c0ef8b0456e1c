"""A log file's backups: the shift at rotation, gzip, and deletion by age (issue 10).

Everything here runs on a destination's writer thread (logs.writer), between two blocks of
whole lines, and works relative to the log directory's held fd (logs.rotate, issue 11.1):
renameat/unlinkat never follow a link in their last component, and the one file created here
(the gzip being written) is opened O_CREAT|O_EXCL|O_NOFOLLOW, so a link planted at its name
fails instead of being written through.

Names: `NAME.K` or, once compressed, `NAME.K.gz`, for K = 1..backups; the first index with
neither name ends the chain (issue 11.10: a rotation costs one lstat and one rename per
existing backup). Compression writes `.NAME.1.gz.tmp`, renames it to `NAME.1.gz` (whole, or
not there), then unlinks `NAME.1`: a crash in between leaves both, never a torn `.gz`.

Why zlib and not the gzip module: the frozen build excludes gzip (and the zipfile/tarfile it
drags in); a gzip member is one zlib stream with wbits=31, which is all `zcat` and logrotate
need. zlib is imported on the first compression only (issue 7: nothing new at start).
Level 1: log text still shrinks 5-10x, at several times level 6's speed; the writer thread's
programs wait while a backup is compressed (back-pressure), so speed is what matters.
"""

from __future__ import annotations

import os
import stat

__all__ = ["GZ", "compress", "expire", "shift"]

GZ = ".gz"
LEVEL = 1
CHUNK = 1 << 20
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
_READ = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def _lstat(name: str, d: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=d, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _unlink(name: str, d: int) -> None:
    try:
        os.unlink(name, dir_fd=d)
    except FileNotFoundError:
        pass


def _backup(name: str, k: int, d: int) -> str | None:
    """The existing name of backup K (`NAME.K` or `NAME.K.gz`), or None."""
    for candidate in (f"{name}.{k}", f"{name}.{k}{GZ}"):
        if _lstat(candidate, d) is not None:
            return candidate
    return None


def shift(name: str, backups: int, d: int) -> None:
    """`NAME.K[.gz]` -> `NAME.K+1[.gz]` for the existing chain, dropping `NAME.backups`; then
    `NAME` -> `NAME.1`."""
    top = 1  # the first backup index that is free (or the last one kept)
    while top < backups and _backup(name, top, d) is not None:
        top += 1
    for n in range(top, 1, -1):
        older = _backup(name, n - 1, d)
        if older is None:
            continue  # removed from outside meanwhile
        suffix = GZ if older.endswith(GZ) else ""
        other = f"{name}.{n}" if suffix else f"{name}.{n}{GZ}"
        _unlink(other, d)  # the oldest's other spelling would outlive the chain
        try:
            os.replace(older, f"{name}.{n}{suffix}", src_dir_fd=d, dst_dir_fd=d)
        except FileNotFoundError:
            pass
    _unlink(f"{name}.1{GZ}", d)
    try:
        os.replace(name, f"{name}.1", src_dir_fd=d, dst_dir_fd=d)
    except FileNotFoundError:
        pass


def compress(name: str, d: int, mode: int) -> bool:
    """Gzip `NAME.1` into `NAME.1.gz` and remove it; False (the plain backup kept) on error.

    Only a regular file with one link is read (O_NOFOLLOW, like every open here): a link or a
    FIFO planted at the backup's name is left alone.
    """
    import zlib

    src = f"{name}.1"
    tmp = f".{name}.1{GZ}.tmp"
    _unlink(tmp, d)
    try:
        fd_in = os.open(src, _READ, dir_fd=d)
    except OSError:
        return False
    fd_out = -1
    try:
        st = os.fstat(fd_in)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return False
        os.set_blocking(fd_in, True)
        fd_out = os.open(tmp, _CREATE, mode, dir_fd=d)
        packer = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
        while chunk := os.read(fd_in, CHUNK):
            _write_all(fd_out, packer.compress(chunk))
        _write_all(fd_out, packer.flush())
        os.close(fd_out)
        fd_out = -1
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=d, follow_symlinks=False)
        os.replace(tmp, f"{src}{GZ}", src_dir_fd=d, dst_dir_fd=d)
        _unlink(src, d)
        return True
    except OSError:
        if fd_out >= 0:
            os.close(fd_out)
        _unlink(tmp, d)
        return False
    finally:
        os.close(fd_in)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def expire(name: str, backups: int, max_age: float, now: float, d: int) -> int:
    """Delete backups last written before `now - max_age`, and every older one; how many.

    The chain is in age order, so the first expired index ends it: that one and all above go.
    """
    limit = now - max_age
    k, cut = 1, 0
    while k <= backups:
        found = _backup(name, k, d)
        if found is None:
            break
        if not cut:
            st = _lstat(found, d)
            if st is not None and st.st_mtime < limit:
                cut = k
        if cut:
            _unlink(found, d)
        k += 1
    return k - cut if cut else 0
