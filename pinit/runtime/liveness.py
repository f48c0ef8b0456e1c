"""Issue 8: liveness probes, run in the loop while an instance is RUNNING.

One ``_Live`` per RUNNING instance of a program with ``live``, and nothing at all for the
others: no timer, no socket, no import (this module is imported at the first program with
``live`` that becomes RUNNING, ``actions.py``). Each attempt is a readiness ``Probe`` in its
one-attempt mode (the same tcp/http/command code, non-blocking, bounded by ``live.timeout``);
its verdict goes to the model as ``LiveOk``/``LiveFailed``, which counts failures in a row and
decides (``model/liveness.py``).

Attempts start on a fixed cadence, ``initial_delay`` after RUNNING and then every ``interval``
from the start of the previous one (Kubernetes' ``periodSeconds``), or at once after a verdict
when an attempt outlasted the interval: never two at a time. So a program that hangs at time T
is restarted by ``T + interval * failures + timeout`` at the latest.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pinit.config.schema import Liveness
from pinit.model.events import Event, LiveFailed, LiveOk
from pinit.model.instance import Key
from pinit.runtime.loop import Loop, Timer
from pinit.runtime.probes import Probe, RunCheck

__all__ = ["LiveProbes"]


class _Live:
    def __init__(
        self, loop: Loop, live: Liveness, verdict: Callable[[bool], None], run_check: RunCheck
    ) -> None:
        self._loop = loop
        self._live = live
        self._verdict = verdict
        self._run_check = run_check
        self._probe: Probe | None = None
        self._due = time.monotonic() + live.initial_delay
        self._timer: Timer | None = loop.call_at(self._due, self._attempt)

    def _attempt(self) -> None:
        self._timer = None
        self._due = max(self._due + self._live.interval, time.monotonic())
        self._probe = Probe(
            self._loop,
            self._live.check,
            lambda: self._done(True),
            self._run_check,
            on_fail=lambda: self._done(False),
            attempt_timeout=self._live.timeout,
        )
        self._probe.start()

    def _done(self, ok: bool) -> None:
        self._probe = None
        self._timer = self._loop.call_at(max(self._due, time.monotonic()), self._attempt)
        self._verdict(ok)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._probe is not None:
            self._probe.stop()
            self._probe = None


class LiveProbes:
    """The liveness probes of the RUNNING instances that have one, keyed by instance."""

    def __init__(self, loop: Loop, post: Callable[[Key, Event], None], run_check: RunCheck) -> None:
        self._loop = loop
        self._post = post
        self._run_check = run_check
        self._probes: dict[Key, _Live] = {}

    def start(self, key: Key, live: Liveness) -> None:
        self.stop(key)

        def verdict(ok: bool) -> None:
            self._post(key, LiveOk() if ok else LiveFailed())

        self._probes[key] = _Live(self._loop, live, verdict, self._run_check)

    def stop(self, key: Key) -> None:
        probe = self._probes.pop(key, None)
        if probe is not None:
            probe.stop()
