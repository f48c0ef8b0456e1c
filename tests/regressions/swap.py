"""Shared by the issue 11.1 regressions: a program run as the test user that, when the test
writes to a FIFO, swaps part of its own log path for a symbolic link, then writes more."""

from __future__ import annotations

import os
from pathlib import Path


def swap_stage(shared: Path, script: str, lines: int = 40) -> tuple[Path, Path, Path]:
    """go.fifo and go2.fifo (anyone may open them), a payload of `lines` short lines (1 KB:
    one atomic write, so one block) and `script` as swap.sh; returns (go, go2, swap.sh)."""
    go, go2 = shared / "go.fifo", shared / "go2.fifo"
    for fifo in (go, go2):
        os.mkfifo(fifo)
        fifo.chmod(0o666)
    payload = shared / "payload"
    payload.write_text("".join(f"after the swap, line {i}\n" for i in range(lines)))
    payload.chmod(0o644)
    sh = shared / "swap.sh"
    sh.write_text(script)
    sh.chmod(0o644)
    return go, go2, sh


def release(fifo: Path) -> None:
    """Let the program past its `read go < fifo` (open blocks until the program opens it)."""
    with open(fifo, "w") as f:
        f.write("go\n")
