"""Review of issue 11.7's bounded stderr writer (pinit.runtime.log).

1. On a regular file or /dev/null ("direct") nothing arms a writable callback, so after one
   partial write (ENOSPC, or the file size limit) the rest stayed pending for good: every later
   line was queued, then dropped, until exit. Now a line first flushes what is pending when
   nothing else will.
2. The rest of a first line longer than the buffer was kept whole, past the 64 KiB bound. Now
   its head is kept, ended, and the line counted as dropped.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from pinit.runtime.log import LIMIT, Stderr

PIPE_CAPACITY = 16 * 4096  # Linux's default pipe size: what the first write can take


def test_after_a_partial_write_to_a_file_later_lines_still_reach_it(tmp_path: Path) -> None:
    out = tmp_path / "stderr.log"
    code = textwrap.dedent(
        f"""
        import os, resource, signal
        from pinit.runtime.log import Stderr
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead: a full disk's ENOSPC
        fd = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = Stderr(fd)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, hard))
        err.line("a" * 149 + "\\n")  # 100 bytes fit: a partial write
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # room again
        err.line("second\\n")
        err.line("third\\n")
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)
    assert out.read_text() == "a" * 149 + "\nsecond\nthird\n"


def test_the_rest_of_one_huge_line_is_capped_at_the_buffers_size() -> None:
    r, w = os.pipe()
    err = Stderr(w)  # a pipe: its own non-blocking description; no loop attached
    huge = b"x" * (4 * LIMIT) + b"\n"
    err.line(huge.decode())  # the pipe takes its capacity; the rest is pending
    got = bytearray()
    reader = threading.Thread(target=_read_until, args=(r, MESSAGE, got))
    reader.start()
    err.drain(10)
    reader.join(10)
    os.close(w)
    os.close(r)
    first, message, end = bytes(got).split(b"\n")
    assert huge.startswith(first) and len(first) < len(huge) - 1
    assert len(first) <= PIPE_CAPACITY + LIMIT
    assert message + b"\n" == MESSAGE
    assert end == b""


MESSAGE = b"pinit: 1 of its own lines dropped: stderr was not being read\n"


def _read_until(fd: int, tail: bytes, got: bytearray) -> None:
    """Until `tail` (the writer keeps its own description open: no EOF), at most 10 s."""
    deadline = time.monotonic() + 10
    while not got.endswith(tail):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return
        got += os.read(fd, 65536)
