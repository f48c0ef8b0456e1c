"""One ring of pinit's events, read by bounded subscribers (issue 8, DESIGN.md §9).

Every state change, verdict, restart decision, exit, reload diff and shutdown step is appended
once, as a plain dict (the JSON object ``ctl events --json``, ``GET /events`` and the JSON log
print). The ring keeps the newest ``capacity`` events, so a subscriber that arrives late can
still ask for recent history, and memory is bounded whatever happens.

A subscriber is a cursor into the ring plus a bound: when more than ``bound`` events wait for
it, the oldest are skipped and counted, and the next ``take`` says how many it lost. Nothing a
subscriber does (a ctl client that never reads, a stalled HTTP stream) can block the loop or
grow memory: its backlog is the ring itself, never a copy. ``wake`` is how a consumer with an
empty backlog learns that events arrived (it turns write interest back on in the loop); it is
called once per empty -> non-empty edge, never per event.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from itertools import islice

from pinit.model.actions import ReloadDiff, Restarting, Verdict
from pinit.model.events import State
from pinit.model.instance import Instance, Key
from pinit.model.status import exit_code, signal_name

__all__ = ["EventRing", "Record", "Recorder", "Subscription"]

Record = dict[str, object]
# What the ring keeps of a record: (its keys, then its values), the keys one shared tuple per
# shape of record. A dict per event cost ~380 bytes, 1,500 of them for a boot of 500 programs
# and the whole ring (~1.5 MB) under churn; this is about half (issue 7: PSS at 500 programs).
# Readers get dicts again, built at `take`.
Packed = tuple[object, ...]
_SHAPES: dict[tuple[str, ...], tuple[str, ...]] = {}
_MAX_SHAPES = 256  # the Recorder makes a handful; anything else still works, unshared


def _pack(record: Record) -> Packed:
    keys = tuple(record)
    shared = _SHAPES.get(keys)
    if shared is None:
        shared = keys
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[keys] = keys
    return (shared, *record.values())


def _unpack(packed: Packed, seq: int) -> Record:
    keys: tuple[str, ...] = packed[0]  # type: ignore[assignment]
    record = dict(zip(keys, islice(packed, 1, None), strict=True))
    record["seq"] = seq
    return record


class Subscription:
    """A cursor into an ``EventRing``; see the module docstring."""

    __slots__ = ("_bound", "_lost", "_ring", "_wake", "cursor")

    def __init__(self, ring: EventRing, cursor: int, bound: int, wake: Callable[[], None]) -> None:
        self._ring = ring
        self._bound = bound
        self._wake = wake
        self._lost = 0
        self.cursor = cursor  # the sequence number of the next event this subscriber reads

    @property
    def pending(self) -> int:
        return self._ring.head - self.cursor

    def take(self, limit: int = 256) -> tuple[list[Record], int]:
        """Up to ``limit`` events in order, and how many were lost since the last take."""
        ring = self._ring
        skip_to = max(ring.first, ring.head - self._bound)
        if self.cursor < skip_to:
            self._lost += skip_to - self.cursor
            self.cursor = skip_to
        out = ring.since(self.cursor, min(limit, ring.head - self.cursor))
        self.cursor += len(out)
        lost, self._lost = self._lost, 0
        return out, lost

    def close(self) -> None:
        self._ring.subscribers.discard(self)


class EventRing:
    """The newest ``capacity`` events and the subscribers reading them."""

    __slots__ = ("_packed", "head", "subscribers")

    def __init__(self, capacity: int = 4096) -> None:
        self._packed: deque[Packed] = deque(maxlen=capacity)
        self.head = 0  # sequence number the next appended event gets
        self.subscribers: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self._packed)

    @property
    def first(self) -> int:
        """The sequence number of the oldest record kept."""
        return self.head - len(self._packed)

    def since(self, seq: int, n: int) -> list[Record]:
        """The `n` records from sequence number `seq` on (which the ring must hold)."""
        start = seq - self.first
        return [_unpack(p, seq + i) for i, p in enumerate(islice(self._packed, start, start + n))]

    def snapshot(self) -> list[Record]:
        """Every record kept, oldest first."""
        return self.since(self.first, len(self._packed))

    def append(self, record: Record) -> None:
        self._packed.append(_pack(record))
        self.head += 1
        if self.subscribers:  # most of the time nobody follows: no copy, no loop
            for sub in tuple(self.subscribers):
                if sub.cursor == self.head - 1:  # was caught up: tell it something is new
                    sub._wake()

    def subscribe(
        self, wake: Callable[[], None], bound: int = 1024, history: int = 0
    ) -> Subscription:
        """A cursor at the newest event, or ``history`` events back (as far as the ring has)."""
        oldest = self.first
        sub = Subscription(self, max(oldest, self.head - max(history, 0)), max(bound, 1), wake)
        self.subscribers.add(sub)
        return sub


class Recorder:
    """Builds the records (issue 8) and appends each once; the one place their format lives.

    Every record has ``type``, ``ts`` (wall clock, float seconds since the epoch: cheap to take,
    exact, and what JSON consumers parse; ``ctl events`` prints it as local time), ``mono``
    (``time.monotonic()``, for durations that a clock step cannot bend), ``program``,
    ``instance`` (the instance's name as ``ctl`` takes it: ``web`` or ``web-2``) and ``pid``
    (None where there is none); ``from``/``to``/``reason`` and the type's own fields where they
    apply. Building one is a small dict: no JSON here, only for a subscriber that asks.
    """

    __slots__ = ("ring",)

    def __init__(self, ring: EventRing) -> None:
        self.ring = ring

    def add(
        self,
        kind: str,
        program: str | None,
        instance: str | None,
        pid: int | None,
        **fields: object,
    ) -> None:
        record: Record = {
            "type": kind,
            "ts": time.time(),
            "mono": time.monotonic(),
            "program": program,
            "instance": instance,
            "pid": pid,
        }
        record.update(fields)
        self.ring.append(record)

    def of(self, key: Key, inst: Instance | None, name: str, kind: str, **fields: object) -> None:
        """A record about one instance (``inst`` None: a reload dropped it; ``name`` stays)."""
        pid = fields.pop("pid", inst.pid if inst is not None else None)
        self.add(kind, key[0], name, pid if isinstance(pid, int) else None, **fields)

    # -- per instance ------------------------------------------------------------------------
    def state(self, key: Key, inst: Instance | None, name: str, old: State, new: State) -> None:
        reason = inst.restart_reason if inst is not None and inst.restart_reason else None
        if reason is None and new is State.FATAL:
            reason = "start_retries"
        fields: dict[str, object] = {"from": old.value, "to": new.value}
        if reason is not None:
            fields["reason"] = reason
        if inst is not None and new is State.RUNNING:
            fields["ready"] = inst.ready
        self.of(key, inst, name, "state", **fields)

    def exited(self, key: Key, inst: Instance | None, name: str, pid: int, status: int) -> None:
        """``code`` as a shell reports it (128+N for signal N); ``signal`` None for an exit."""
        termsig = status & 0x7F
        sig = None if termsig in (0, 0x7F) else signal_name(termsig)
        self.of(key, inst, name, "exit", pid=pid, code=exit_code(status), signal=sig)

    def restarting(self, key: Key, inst: Instance | None, name: str, act: Restarting) -> None:
        delay = round(act.delay, 3)
        fields = {"reason": act.reason, "delay": delay, "attempts": act.attempts}
        self.of(key, inst, name, "backoff", **fields)

    def verdict(self, key: Key, inst: Instance | None, name: str, act: Verdict) -> None:
        fields: dict[str, object] = {"probe": act.probe, "ok": act.ok}
        if act.detail:
            fields["reason"] = act.detail
        self.of(key, inst, name, "probe", **fields)

    # -- pinit-wide --------------------------------------------------------------------------
    def reload(self, diff: ReloadDiff) -> None:
        added, removed, changed = list(diff.added), list(diff.removed), list(diff.changed)
        self.add("reload", None, None, None, added=added, removed=removed, changed=changed)

    def phase(self, old: str, new: str, reason: str) -> None:
        fields: dict[str, object] = {"from": old, "to": new}
        if reason:
            fields["reason"] = reason
        self.add("phase", None, None, None, **fields)
