"""Helpers for supervisor tests: a config on disk, pinit on it, and an events FIFO to wait on.

Programs append "<name> <what> <pid> <ns>" lines to $EVENTS. It is a FIFO that the test keeps
open for reading, so a wait is a select() on it with a deadline, never a sleep.
"""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, Launch, pinit_bin

SVC = [sys.executable, "-I", "-S", str(ROOT / "tests" / "programs" / "svc.py")]


def fd_targets(pid: int) -> list[str]:
    """What the fds above 2 point at. Some open and close while we look: sleep's loader puts
    each library on fd 3 after the exec is visible (a CI failure: fd 3 listed, gone at its
    readlink), pinit reads /proc, svc.py appends its event line. A leak stays open, so an fd
    gone between the two reads is not one and is skipped."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) > 2:
            try:
                targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except FileNotFoundError:
                pass
    return targets


def free_ports(count: int) -> list[int]:
    """Ports free now, all different: each socket stays bound until every port is picked."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def listener(name: str) -> str:
    """TOML keys of a program ready once it listens, which svc.py does after its TERM handler
    is in: a job `after` it that ends the container finds the handler there, however slowly
    either started. Running only when ready too (start_seconds far off), so its log reads
    "running (pid N), ready" at once. Lines after the first are indented by 8, as the tests'
    bodies are, so that their textwrap.dedent still applies."""
    port = free_port()
    keys = [
        f"command = {svc('listen', name, str(port))}",
        f'ready = {{ tcp = "127.0.0.1:{port}", interval = "50ms" }}',
        "start_seconds = 30",
    ]
    return "\n        ".join(keys)


def svc(*args: str) -> str:
    """A TOML array literal running svc.py with these arguments."""
    return "[" + ", ".join(f'"{a}"' for a in [*SVC, *args]) + "]"


@dataclass(frozen=True)
class Event:
    name: str
    what: str
    pid: int
    ns: int


class Events:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "events.fifo"
        os.mkfifo(self.path)
        os.chmod(self.path, 0o666)  # programs may run as another user
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        # Our own idle writer: the FIFO never reads as EOF, so select() only wakes for data.
        self._keep = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        self._buf = b""
        self.seen: list[Event] = []
        self._used: set[int] = set()

    def _pump(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self._fd], [], [], left)[0]:
            return False
        self._buf += os.read(self._fd, 65536)
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            name, what, pid, ns = line.decode().split()
            self.seen.append(Event(name, what, int(pid), int(ns)))
        return True

    def wait(self, name: str, what: str, timeout: float = 15.0) -> Event:
        """The first event matching name and what that no earlier wait returned."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.seen):
                if i not in self._used and ev.name == name and ev.what == what:
                    self._used.add(i)
                    return ev
            if not self._pump(deadline):
                raise TimeoutError(f"no '{name} {what}' within {timeout}s; seen {self.seen}")

    def count(self, name: str, what: str) -> int:
        """Every matching event, once the writers are gone (after pinit.finish()): then all
        their lines are in the FIFO already. Not a way to show that something did NOT happen
        while programs run (a short read window proves nothing): wait for a later marker and
        use so_far()."""
        while self._pump(time.monotonic() + 0.01):
            pass
        return self.so_far(name, what)

    def so_far(self, name: str, what: str) -> int:
        """Matching events among those read so far. A program's lines reach the FIFO in the
        order written, so after a wait() for a marker written later, every earlier line of
        that writer has been read."""
        return sum(1 for ev in self.seen if ev.name == name and ev.what == what)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._keep)


def private_socket(text: str, tmp_path: Path) -> str:
    """The config with a control socket of its own unless it names one: one pinit per config
    name (issue 9) refuses a second pinit on /run/pinit/pinit.sock, and other test runs on
    this host use that default too (a test failed with "another pinit already runs")."""
    if "control_socket" in text or re.search(r"^\s*pinit\.", text, re.M):
        return text
    line = f'control_socket = "{tmp_path / "pinit-ctl.sock"}"\n'
    head = re.search(r"^[ \t]*\[pinit\][ \t]*\n", text, re.M)
    if head is None:
        return "[pinit]\n" + line + text
    return text[: head.end()] + line + text[head.end() :]


def start(
    launch: type[Launch],
    tmp_path: Path,
    body: str,
    mode: str = "pid1",
    extra: tuple[str, ...] = (),
    env_extra: dict[str, str] | None = None,
    stdout: int | None = subprocess.PIPE,
    wrap: tuple[str, ...] = (),  # a command pinit runs under (setpriv, ...)
) -> tuple[Launch, Events]:
    events = Events(tmp_path)
    config = tmp_path / "pinit.toml"
    config.write_text(private_socket(textwrap.dedent(body), tmp_path))
    env = {**os.environ, "EVENTS": str(events.path), **(env_extra or {})}
    argv = [*wrap, *pinit_bin(), *extra, "--config", str(config)]
    run = launch(argv, mode, env=env, stdout=stdout)
    return run, events


def up(
    launch: type[Launch],
    tmp_path: Path,
    programs: str,
    mode: str = "plain",
    head: str = "",
    extra: tuple[str, ...] = (),
) -> tuple[Launch, Events, Path]:
    """pinit on `programs` (`head`: more [pinit] keys) with its control socket in tmp_path,
    once it said it listens; returns the socket's path too."""
    sock = tmp_path / "ctl.sock"
    body = f'[pinit]\ncontrol_socket = "{sock}"\n{head}' + textwrap.dedent(programs)
    pinit, events = start(launch, tmp_path, body, mode=mode, extra=extra)
    pinit.wait_stderr(f"control socket {sock}")
    return pinit, events, sock
