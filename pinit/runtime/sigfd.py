"""Signals as readable records: signalfd(2) through ctypes, with the sender of each signal.

Why not CPython's handler + `set_wakeup_fd`: that path interrupts epoll_wait, runs a Python
handler, re-enters epoll_wait, then reads one byte per signal; it made SIGTERM forwarding of
`pinit -- CMD` twice tini's latency (issue 7). A blocked signal queued on a signalfd wakes the
loop directly, and one read returns every pending signal.

It also says who sent each one (`ssi_pid`, `ssi_code`), which a wakeup byte cannot: SIGPIPE and
SIGXFSZ that pinit causes itself (a write to a closed pipe, a file over RLIMIT_FSIZE) arrive
with pinit's own pid as sender and must not be forwarded, while `kill -PIPE 1` from another
process must be, as tini and dumb-init do (issue 7.2).

Blocked signals are queued even for a namespace's PID 1 with SIG_DFL or SIG_IGN dispositions
(the kernel's sig_ignored() never ignores a blocked signal), so pinit needs no handler at all
and leaves every disposition as it inherited it: a child then inherits exactly what a direct
exec would (issue 7.1).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import struct
import sys
from collections.abc import Iterable

SFD_CLOEXEC = 0o2000000
SFD_NONBLOCK = 0o4000
SIGINFO_SIZE = 128  # sizeof(struct signalfd_siginfo)
# ssi_signo, ssi_errno, ssi_code, ssi_pid, ssi_uid: the first 20 bytes of the record.
_HEAD = struct.Struct("=IiiII")
# Signal numbers are below 65: the low byte of ssi_signo is the number.
SIGNO_LOW_BYTE = 0 if sys.byteorder == "little" else 3
SIGSET_BYTES = 128  # glibc's sigset_t; the kernel reads the first 8 (NSIG / 8)

# Room for every standard signal and every real-time one at once; more stay queued.
READ_SIZE = SIGINFO_SIZE * 64


def sigset(signums: Iterable[int]) -> ctypes.Array[ctypes.c_char]:
    """A raw sigset_t with these bits set. Built by hand because glibc's sigaddset (and so
    Python's converters) refuse its internal signals 32 and 33, which posix_spawn needs."""
    word = 0
    for sig in signums:
        word |= 1 << (sig - 1)
    # The kernel's sigset is an array of unsigned longs: bit N-1 of the first is signal N.
    return ctypes.create_string_buffer(word.to_bytes(8, sys.byteorder), SIGSET_BYTES)


def open_fd(signums: Iterable[int], *, blocking: bool = False) -> int:
    """Block `signums` in this thread (threads started later inherit the mask) and return a
    non-blocking, close-on-exec signalfd for them. Raises OSError when the kernel (or a libc
    without signalfd) refuses; the mask is then exactly what it was, so a caller's fallback
    (handlers, or an earlier signalfd still in use) sees the signals it expects blocked."""
    signums = list(signums)
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        signalfd = libc.signalfd  # looked up before blocking anything
    except AttributeError:
        raise OSError(errno.ENOSYS, "libc has no signalfd") from None
    mask = sigset(signums)
    before = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    fd = int(signalfd(-1, mask, SFD_CLOEXEC | (0 if blocking else SFD_NONBLOCK)))
    if fd < 0:
        num = ctypes.get_errno()
        signal.pthread_sigmask(signal.SIG_SETMASK, before)  # unblock only what we blocked
        raise OSError(num, os.strerror(num))
    return fd


def sender(data: bytes, offset: int) -> int:
    """ssi_pid of the record at `offset`: the sender's pid in our namespace, 0 when the sender
    is outside it (a `podman kill` from the host), our own pid for what the kernel sends us
    because of our own syscall (SIGPIPE, SIGXFSZ: SI_USER from the current task)."""
    return int(_HEAD.unpack_from(data, offset)[3])


def read_records(fd: int) -> list[tuple[int, int, int]]:
    """Every pending signal as (signo, code, sender pid); [] when none is pending."""
    try:
        data = os.read(fd, READ_SIZE)
    except BlockingIOError:
        return []
    unpack = _HEAD.unpack_from
    out = []
    for offset in range(0, len(data) - SIGINFO_SIZE + 1, SIGINFO_SIZE):
        signo, _, code, pid, _ = unpack(data, offset)
        out.append((signo, code, pid))
    return out
