"""Process plumbing for the bench: every start is bounded in time and every start is undone.

The harness makes itself a child subreaper, so whatever an init leaves behind (or whatever
outlives an init we had to kill) is re-parented to the harness, where `sweep_descendants`
finds, kills and reaps it. Waits are events (a pipe line, a pidfd) with a deadline, never sleeps.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import time
from collections.abc import Sequence

PR_SET_CHILD_SUBREAPER = 36
_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND
DEFAULT_TIMEOUT = 30.0


def become_subreaper() -> None:
    """Adopt orphans of the processes we start so none can escape the final sweep."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _devnull_stdin() -> list[tuple[int | str, ...]]:
    """No terminal on stdin: inits hand a TTY to the child, which would skew timings."""
    return [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0)]


class LineReader:
    """Lines from a pipe or FIFO, each awaited with a deadline."""

    def __init__(self, fd: int, label: str) -> None:
        self.fd = fd
        self.label = label
        self._buf = b""

    def read_line(self, timeout: float = DEFAULT_TIMEOUT, pidfd: int = -1) -> str:
        """Next line; a TimeoutError or EOFError instead of hanging the whole bench, and a
        ChildProcessError at once when `pidfd` (the writer's parent) says it has exited."""
        deadline = time.monotonic() + timeout
        watched = [self.fd] if pidfd < 0 else [self.fd, pidfd]
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select(watched, [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"no line from {self.label} within {timeout}s")
            if self.fd not in ready:
                raise ChildProcessError(f"{self.label} exited before the line came")
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise EOFError(f"{self.label} closed; got {self._buf!r}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def pending(self) -> bool:
        return b"\n" in self._buf


class Proc:
    """A process we started in its own session, with its stdout on a pipe we read by lines."""

    def __init__(self, argv: Sequence[str], *, capture: bool = True, log: str = "") -> None:
        """capture: stdout on a pipe we read; else stdout to /dev/null. log: stderr (and
        uncaptured stdout) appended to this file instead of the bench's own stderr."""
        self.argv = list(argv)
        self.status: int | None = None
        actions = _devnull_stdin()
        self.stdout = -1
        write_end = -1
        if capture:
            self.stdout, write_end = os.pipe2(os.O_CLOEXEC)
            actions += [(os.POSIX_SPAWN_DUP2, write_end, 1)]
        else:
            actions += [(os.POSIX_SPAWN_OPEN, 1, log or "/dev/null", _APPEND, 0o644)]
        if log:
            actions += (
                [(os.POSIX_SPAWN_DUP2, 1, 2)]
                if not capture
                else [(os.POSIX_SPAWN_OPEN, 2, log, _APPEND, 0o644)]
            )
        try:
            self.pid = os.posix_spawn(
                self.argv[0], self.argv, os.environ, file_actions=actions, setsid=True
            )
        finally:
            if write_end >= 0:
                os.close(write_end)
        self.pidfd = os.pidfd_open(self.pid)
        self.lines = LineReader(self.stdout, str(self.argv))

    def read_line(self, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Next stdout line; a TimeoutError or EOFError instead of hanging the whole bench."""
        return self.lines.read_line(timeout)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Exit code (negative for a signal), once the pidfd says the process has ended."""
        if self.status is None:
            poller = select.poll()
            poller.register(self.pidfd, select.POLLIN)
            if not poller.poll(int(timeout * 1000)):
                raise TimeoutError(f"{self.argv} still running after {timeout}s")
            _, raw = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(raw)
            self._close()
        return self.status

    def kill(self) -> None:
        """SIGKILL the session's process group and the leader, then reap the leader."""
        if self.status is not None:
            return
        for target in (-self.pid, self.pid):
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait(10)

    def _close(self) -> None:
        for fd in (self.stdout, self.pidfd):
            if fd >= 0:
                os.close(fd)
        self.stdout = self.pidfd = -1


class Tracker:
    """Context that kills every Proc it started, then every stray descendant, even on error."""

    def __init__(self) -> None:
        self.procs: list[Proc] = []

    def start(self, argv: Sequence[str], *, capture: bool = True, log: str = "") -> Proc:
        proc = Proc(argv, capture=capture, log=log)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            try:
                proc.kill()
            except (OSError, TimeoutError):
                pass
        self.procs.clear()
        sweep_descendants()


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(b")", 1)[1].split()[1])
    return parents


def descendants(root: int) -> list[int]:
    """Every live pid below root, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def sweep_descendants(timeout: float = 10.0) -> int:
    """SIGKILL and reap whatever is still below the harness; returns how many were found."""
    me = os.getpid()
    deadline = time.monotonic() + timeout
    total = 0
    while time.monotonic() < deadline:
        pids = descendants(me)
        if not pids:
            break
        total += len(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap_children(deadline)
    return total


def _reap_children(deadline: float) -> None:
    """Reap our direct children (adopted ones included), each awaited on its pidfd."""
    me = os.getpid()
    for pid, ppid in _parents().items():
        if ppid != me:
            continue
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        finally:
            os.close(fd)
