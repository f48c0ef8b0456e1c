"""The shutdown report: why `docker stop` took as long as it did, in the last lines of the log.

Per program: the signal it got, how long it took to go, whether SIGKILL was needed; then every
stray the final sweep found (pid, command, and the program it came from by its tag).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class ShutdownReport:
    def __init__(self) -> None:
        self._signal: dict[str, tuple[str, float]] = {}
        self._gone: dict[str, float] = {}
        self._killed: set[str] = set()
        self.strays: list[tuple[int, str, str]] = []  # (pid, command, program tag or "")
        self.budget_reason = ""  # set when [pinit].stop_budget ran out (issue 7.6)

    def signalled(self, name: str, sig: str) -> None:
        """The first signal of a stop counts; a stop after an earlier, finished one starts anew."""
        if name not in self._signal or name in self._gone:
            self._signal[name] = (sig, time.monotonic())
            self._gone.pop(name, None)
            self._killed.discard(name)

    def budget_spent(self, reason: str) -> None:
        self.budget_reason = reason

    def killed(self, name: str) -> None:
        self._killed.add(name)

    def stopped(self, name: str) -> None:
        if name in self._signal:
            self._gone[name] = time.monotonic()

    def lines(self) -> list[str]:
        out = [f"  {self.budget_reason}: SIGKILL to everything left"] if self.budget_reason else []
        for name, (sig, at) in self._signal.items():
            took = f"{self._gone[name] - at:.3f}s" if name in self._gone else "not confirmed"
            kill = ", needed SIGKILL" if name in self._killed else ""
            out.append(f"  {name}: {sig}, gone after {took}{kill}")
        for pid, command, tag in self.strays:
            origin = f"from {tag}" if tag else "origin unknown"
            out.append(f"  stray pid {pid} ({command}) {origin}: swept")
        return out

    def print(self, say: Callable[[str], None]) -> None:
        lines = self.lines()
        if lines:
            say("shutdown report:")
            for line in lines:
                say(line)
