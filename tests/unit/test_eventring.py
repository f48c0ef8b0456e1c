"""The event ring (issue 8): every subscriber sees events in order, a slow one loses the oldest
and is told how many, and wake-ups come once per empty -> non-empty edge."""

from __future__ import annotations

import time
import tracemalloc

from pinit.runtime.eventring import EventRing


def test_subscriber_reads_in_order_from_now() -> None:
    ring = EventRing(capacity=16)
    ring.append({"n": -1})
    wakes: list[int] = []
    sub = ring.subscribe(lambda: wakes.append(1))
    for n in range(3):
        ring.append({"n": n})
    assert wakes == [1]  # one edge, not one wake per event
    events, lost = sub.take()
    assert [e["n"] for e in events] == [0, 1, 2]
    assert [e["seq"] for e in events] == [1, 2, 3]
    assert lost == 0
    ring.append({"n": 3})
    assert wakes == [1, 1]


def test_slow_subscriber_loses_oldest_and_is_told() -> None:
    ring = EventRing(capacity=100)
    sub = ring.subscribe(lambda: None, bound=10)
    for n in range(25):
        ring.append({"n": n})
    events, lost = sub.take(limit=4)
    assert lost == 15
    assert [e["n"] for e in events] == [15, 16, 17, 18]
    events, lost = sub.take()
    assert lost == 0
    assert [e["n"] for e in events] == list(range(19, 25))


def test_ring_capacity_bounds_memory_and_history() -> None:
    ring = EventRing(capacity=8)
    for n in range(20):
        ring.append({"n": n})
    assert len(ring) == 8
    sub = ring.subscribe(lambda: None, history=100)
    events, lost = sub.take()
    assert [e["n"] for e in events] == list(range(12, 20))
    assert lost == 0
    late = ring.subscribe(lambda: None, bound=1000)
    for n in range(20, 40):
        ring.append({"n": n})
    events, lost = late.take()
    assert lost == 12  # overwritten in the ring before it read them
    assert [e["n"] for e in events] == list(range(32, 40))


def test_closed_subscriber_is_not_woken() -> None:
    ring = EventRing()
    wakes: list[int] = []
    sub = ring.subscribe(lambda: wakes.append(1))
    sub.close()
    ring.append({})
    assert wakes == []
    assert not ring.subscribers


def test_a_kept_record_costs_about_half_a_dict() -> None:
    """Issue 7 (PSS at 500 programs): the ring keeps (shared keys, values), not dicts; a
    state record cost ~380 bytes as a dict, and a boot of 500 programs makes ~1,500."""
    assert not tracemalloc.is_tracing()  # the measure below owns it
    ring = EventRing(capacity=2000)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for n in range(1000):
            record = {"type": "state", "ts": time.time(), "mono": time.monotonic()}
            record |= {"program": "svc", "instance": "svc-7", "pid": 100_000 + n}
            record |= {"from": "starting", "to": "running", "ready": True}
            ring.append(record)
        per_record = (tracemalloc.get_traced_memory()[0] - start) / 1000
    finally:
        tracemalloc.stop()
    assert per_record < 250, per_record
    assert ring.snapshot()[-1]["seq"] == 999
    assert ring.snapshot()[-1]["pid"] == 100_999
