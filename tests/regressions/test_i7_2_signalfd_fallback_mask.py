"""Review of issue 7.2: sigfd.open_fd blocked its signals before looking up libc's signalfd
and, when the kernel refused, unblocked all of them. A libc without the symbol left them
blocked (the loop's handler fallback skips SIGPIPE/SIGXFSZ, so those stayed blocked for good),
and an EMFILE on the second, blocking signalfd unblocked the signals the first one reads.
Now the symbol is looked up first and a failure restores the mask exactly. Each case runs in
a child Python, whose signal mask the test may change freely."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

PRELUDE = """
import ctypes, errno, os, resource, signal, types
from pinit.runtime import sigfd
def blocked():
    return sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
"""


def run(body: str) -> str:
    code = PRELUDE + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_libc_without_signalfd_leaves_no_signal_blocked() -> None:
    out = run(
        """
        class NoSignalfd:  # a libc built without it (musl before 1.1, a stub)
            def __init__(self, *args, **kwargs): pass
        sigfd.ctypes = types.SimpleNamespace(
            CDLL=NoSignalfd, create_string_buffer=ctypes.create_string_buffer)
        try:
            sigfd.open_fd([signal.SIGPIPE, signal.SIGTERM])
        except OSError as exc:
            print(exc.errno == errno.ENOSYS, blocked())
        """
    )
    assert out == "True []"


def test_a_refused_signalfd_restores_the_mask_it_found() -> None:
    out = run(
        """
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])  # a first signalfd's
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        held = []
        try:
            while True:
                held.append(os.open("/dev/null", os.O_RDONLY))
        except OSError:
            pass
        try:
            sigfd.open_fd([signal.SIGUSR1, signal.SIGUSR2], blocking=True)
        except OSError as exc:
            print(exc.errno == errno.EMFILE, blocked())
        """
    )
    assert out == f"True [{int(signal.SIGUSR1)}]"
