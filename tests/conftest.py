"""Shared launchers: run an init (pinit or a trusted peer) as PID 1 or as a plain process.

The pinit command comes from one place, $PINIT_BIN (default: the console script next to this
interpreter), so the same suite runs against the frozen executable.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis' per-example deadline (200 ms) measures wall time, which a loaded 2-core CI box
# stretches (a first example that imports a module took 444 ms once): a flake, not a finding.
# Every test is still bounded by pytest-timeout.
settings.register_profile("pinit", deadline=None)
settings.load_profile("pinit")

ROOT = Path(__file__).resolve().parent.parent
PROBE = [sys.executable, "-I", "-S", str(ROOT / "tests" / "programs" / "probe.py")]


def pinit_bin() -> list[str]:
    chosen = os.environ.get("PINIT_BIN")
    if chosen:
        return [chosen]
    return [str(Path(sys.executable).parent / "pinit")]


def init_prefix(init: str, mode: str) -> list[str]:
    """The argv before the program for each init under test."""
    if init == "pinit":
        return [*pinit_bin(), "--grace", "1", "--"]
    if init == "tini":
        if shutil.which("tini") is None:
            pytest.skip("tini is not installed (scripts/test installs it)")
        return ["tini", "-g", *(["-s"] if mode == "plain" else []), "--"]
    raise ValueError(init)


NAMESPACE = ["unshare", "--pid", "--fork", "--mount-proc"]


class Launch:
    """One running init with its stdout on a pipe; every wait has a deadline."""

    def __init__(
        self,
        argv: Sequence[str],
        mode: str,
        *,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = subprocess.PIPE,
        env: dict[str, str] | None = None,
    ) -> None:
        self.mode = mode
        full = [*NAMESPACE, *argv] if mode == "pid1" else list(argv)
        self.proc = subprocess.Popen(
            full,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        self._buf = b""
        self._err = b""
        self.err_seen = b""

    def init_pid(self, timeout: float = 10.0) -> int:
        """The host pid of the init: the child of `unshare` in pid1 mode."""
        if self.mode != "pid1":
            return self.proc.pid
        path = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path) as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
            time.sleep(0.002)
        raise TimeoutError("unshare never started its child")

    def readline(self, timeout: float = 10.0) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no line within {timeout}s; have {self._buf!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"stdout closed; have {self._buf!r}")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def wait_stderr(self, needle: str, timeout: float = 10.0) -> str:
        """Read pinit's stderr until a line containing `needle`; return that line."""
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        deadline = time.monotonic() + timeout
        while True:
            *lines, rest = self._err.split(b"\n")
            for i, line in enumerate(lines):
                if needle.encode() in line:
                    self._err = b"\n".join([*lines[i + 1 :], rest])
                    self.err_seen += b"\n".join(lines[: i + 1]) + b"\n"
                    return line.decode()
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"{needle!r} not on stderr within {timeout}s: {self._err!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError(f"stderr closed before {needle!r}: {self._err!r}")
            self._err += chunk

    def signal(self, sig: int) -> None:
        os.kill(self.init_pid(), sig)

    def finish(self, timeout: float = 20.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        err = self.err_seen + self._err + err
        return self.proc.returncode, (self._buf + (out or b"")).decode(), err.decode()

    def kill(self) -> None:
        """After a failed test: ask the init to clean up first (its programs live in their own
        sessions, so killing our session alone would orphan them), then force it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.init_pid(timeout=1), signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (OSError, TimeoutError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


@pytest.fixture
def launch() -> Iterator[type[Launch]]:
    started: list[Launch] = []

    class Tracked(Launch):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    yield Tracked
    for item in started:
        item.kill()


def run(
    argv: Sequence[str], mode: str, timeout: float = 20.0, **kwargs: object
) -> tuple[int, str, str]:
    """Run an init to completion; return (exit code, stdout, stderr)."""
    full = [*NAMESPACE, *argv] if mode == "pid1" else list(argv)
    proc = subprocess.run(full, capture_output=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 :].split()[0] != b"Z"


def processes_with_arg(arg: str) -> list[int]:
    """Live pids whose command line contains `arg` (a unique marker per test)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if arg.encode() in argv and pid_alive(int(entry)):
            found.append(int(entry))
    return found
