"""Read a config file (the main one or an include) without trusting what the path names.

PID 1 reads these on start and on every HUP, so a path that is not a plain file must be a
message, never a hang or an unbounded read (issue 11.9): ``include = ["/dev/zero"]`` grew to
4.8 GB in 10 s, and an included FIFO blocked the loop in ``open()`` until a writer came (a
blocking open of a FIFO for reading waits for a writer, fifo(7)). So: ``stat`` first (a device
node is never even opened), open with ``O_NONBLOCK`` (a FIFO swapped in after the ``stat`` then
opens at once instead of blocking), check the opened file with ``fstat`` again, and read at most
``MAX_FILE_BYTES`` + 1 bytes.

The caps (issue 11.6): 256 KiB per file is about 2.5 times a 500-program config (~100 KB),
and 512 KiB for a config with all its includes holds the 2,000 programs the loader allows.
They bound how long a reload can hold PID 1's loop: tomllib needed ~0.3 s of CPU per MiB of
ordinary config and up to ~2 s per MiB of dense dotted keys; pinit's own reader (config/toml.py)
is linear and about 0.15 s per MiB (measured on a 2-core box), so a 512 KiB config costs
well under a second.
"""

from __future__ import annotations

import os
import stat

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_KEY_PARTS",
    "MAX_TOTAL_BYTES",
    "ReadError",
    "read_config",
    "too_large",
]

MAX_FILE_BYTES = 256 << 10
MAX_TOTAL_BYTES = 512 << 10
# The loader refuses a document nested deeper, and config.locate names the key (issue 11.6).
MAX_KEY_PARTS = 8  # no pinit key has more than 4 (programs.NAME.stdout.max_bytes)


class ReadError(Exception):
    """Why a file cannot be used, ready to follow ``cannot read PATH: ``."""


def too_large(limit: int = MAX_FILE_BYTES) -> str:
    return f"larger than the {limit >> 10} KiB limit on a config file"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise ReadError(f"not a regular file ({_kind(mode)})")


def read_config(path: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes, or ReadError."""
    try:
        _check_regular(os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        raise ReadError(exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)
        _check_regular(st.st_mode)
        if st.st_size > limit:
            raise ReadError(f"{st.st_size} bytes, {too_large(limit)}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while we read it
            raise ReadError(too_large(limit))
    except OSError as exc:
        raise ReadError(exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReadError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
