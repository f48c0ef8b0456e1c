"""Issue 8, events: the model's structured facts (Restarting, Verdict, ReloadDiff), the
records the runtime builds from them, the `ctl events` request, a follower's bounded output
and the human lines `pinit ctl events` prints."""

from __future__ import annotations

import json
import random

from pinit.config.schema import Config, Readiness, ReadyKind, Restart
from pinit.control import proto, stream
from pinit.control.follow import format_event
from pinit.model import plan as planner
from pinit.model.actions import ReloadDiff, Restarting, Verdict
from pinit.model.events import (
    Exited,
    GroupGone,
    ReadyObserved,
    ReadyTimeout,
    Spawned,
    StartRequested,
    State,
)
from pinit.model.instance import Instance
from pinit.model.reload import apply_reload
from pinit.model.state import step
from pinit.runtime.eventring import EventRing, Recorder
from tests.unit.test_state import exited_with, prog, run, running


def test_a_failed_start_tells_its_restart_delay_and_reason() -> None:
    inst, acts = run(
        Instance(prog()),
        (0.0, StartRequested()),
        (0.0, Spawned(100, 100)),
        (0.2, Exited(100, exited_with(3))),
        (0.3, GroupGone()),
    )
    assert inst.state is State.BACKOFF
    told = [a for a in acts[-1] if isinstance(a, Restarting)]
    assert told == [Restarting("exited", 1.0, 1)]  # NO_JITTER: initial 1s at the first failure


def test_a_crash_after_a_good_start_restarts_at_once_and_says_so() -> None:
    inst = running()
    inst, acts = run(inst, (5.0, Exited(100, exited_with(1))), (5.1, GroupGone()))
    assert inst.state is State.STARTING
    assert [a for a in acts[-1] if isinstance(a, Restarting)] == [Restarting("exited", 0.0, 0)]


def test_probe_verdicts() -> None:
    p = prog(ready=Readiness(kind=ReadyKind.TCP, port=80, timeout=30.0))
    inst, _ = run(Instance(p), (0.0, StartRequested()), (0.0, Spawned(7, 7)))
    _, ok = step(inst, ReadyObserved(), 0.5, random.Random(0))
    assert Verdict("ready", True) in ok
    _, bad = step(inst, ReadyTimeout(), 30.0, random.Random(0))
    assert Verdict("ready", False, "not ready after 30s") in bad


def test_reload_diff_is_a_plan_action() -> None:
    plan = planner.initial(Config(programs=(prog(name="a"), prog(name="c"))))
    plan, _ = planner.boot(plan)
    new = Config(programs=(prog(name="a", command=("a2",)), prog(name="b")))
    _, acts = apply_reload(plan, new)
    assert ReloadDiff(added=("b",), removed=("c",), changed=("a",)) in acts


def recorder() -> tuple[EventRing, Recorder]:
    ring = EventRing(capacity=64)
    return ring, Recorder(ring)


def test_records_carry_the_common_keys_and_their_own() -> None:
    ring, rec = recorder()
    inst = running(pid=42)
    rec.state(inst.key, inst, inst.name, State.STARTING, State.RUNNING)
    rec.exited(inst.key, inst, inst.name, 42, 9)  # killed by SIGKILL
    rec.exited(inst.key, inst, inst.name, 43, exited_with(3))
    rec.restarting(inst.key, inst, inst.name, Restarting("exited", 0.123456, 2))
    rec.verdict(inst.key, inst, inst.name, Verdict("ready", False, "not ready after 3s"))
    rec.reload(ReloadDiff(("b",), (), ("a",)))
    rec.phase("running", "shutting-down", "received SIGTERM")
    state, killed, code, backoff, verdict, reload, phase = ring.snapshot()
    for r in ring.snapshot():
        assert {"type", "ts", "mono", "program", "instance", "pid", "seq"} <= r.keys()
        assert isinstance(r["ts"], float) and isinstance(r["mono"], float)
        json.dumps(r)  # JSON-able as built
    assert state == state | {"type": "state", "program": "web", "instance": "web", "pid": 42}
    assert (state["from"], state["to"], state["ready"]) == ("starting", "running", True)
    assert "reason" not in state
    assert (killed["pid"], killed["code"], killed["signal"]) == (42, 137, "SIGKILL")
    assert (code["pid"], code["code"], code["signal"]) == (43, 3, None)
    assert (backoff["type"], backoff["delay"], backoff["reason"]) == ("backoff", 0.123, "exited")
    assert backoff["attempts"] == 2
    assert (verdict["probe"], verdict["ok"], verdict["reason"]) == (
        "ready",
        False,
        "not ready after 3s",
    )
    assert (reload["added"], reload["removed"], reload["changed"]) == (["b"], [], ["a"])
    assert reload["program"] is None and reload["pid"] is None
    assert (phase["from"], phase["to"], phase["reason"]) == (
        "running",
        "shutting-down",
        "received SIGTERM",
    )


def test_a_removed_instance_keeps_its_name_and_a_fatal_says_why() -> None:
    ring, rec = recorder()
    rec.state(("web", 1), None, "web-2", State.STOPPING, State.STOPPED)
    inst = Instance(prog())
    rec.state(inst.key, inst, inst.name, State.CLEANUP, State.FATAL)
    gone, fatal = ring.snapshot()
    assert (gone["program"], gone["instance"], gone["pid"]) == ("web", "web-2", None)
    assert fatal["reason"] == "start_retries"


def test_events_request_round_trip_and_refusals() -> None:
    req = proto.Request("events", names=("web", "db-2"), history=10, bound=5)
    line = proto.encode(proto.request_json(req)).rstrip(b"\n")
    assert proto.parse_request(line) == req
    assert proto.parse_request(b'{"cmd":"events"}') == proto.Request("events")
    assert proto.parse_request(b'{"cmd":"events","bound":999999}') == proto.Request(
        "events", bound=proto.MAX_BOUND
    )
    for bad in (
        b'{"cmd":"events","names":"web"}',
        b'{"cmd":"events","names":[1]}',
        b'{"cmd":"events","names":["a\\nb"]}',
        b'{"cmd":"events","history":-1}',
        b'{"cmd":"events","bound":0}',
        b'{"cmd":"events","bound":true}',
        b'{"cmd":"events","target":"x"}',
    ):
        assert isinstance(proto.parse_request(bad), str), bad


def test_a_follower_never_holds_more_than_its_bound() -> None:
    """A follower that never reads: its encoded backlog stays under STREAM_OUT (plus one
    round), the ring keeps its capacity, and the next round tells exactly what was lost."""
    ring = EventRing(capacity=10_000)
    sub = ring.subscribe(lambda: None, bound=100)
    for n in range(50_000):
        ring.append({"type": "x", "n": n, "pad": "y" * 100})
    out = bytearray()
    stream.fill(out, sub)
    assert len(out) < stream.STREAM_OUT + stream.TAKE * 200
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0] == {"lost": 49_900}
    assert [r["n"] for r in lines[1:]] == list(range(49_900, 49_900 + len(lines) - 1))
    assert len(ring) == 10_000


def test_human_lines() -> None:
    ts = 1_700_000_000.25
    base = {"ts": ts, "mono": 1.0, "program": "web", "instance": "web-2", "pid": 7}
    cases = [
        ({"type": "state", "from": "running", "to": "cleanup", "reason": "exited"},
         "web-2  running -> cleanup (exited)"),
        ({"type": "exit", "code": 137, "signal": "SIGKILL"},
         "web-2  pid 7 killed by SIGKILL (code 137)"),
        ({"type": "exit", "code": 3, "signal": None}, "web-2  pid 7 exited (code 3)"),
        ({"type": "backoff", "delay": 0.5, "reason": "exited", "attempts": 1},
         "web-2  restart in 0.5s (exited), failed starts: 1"),
        ({"type": "probe", "probe": "ready", "ok": True}, "web-2  ready probe ok"),
        ({"type": "kill", "signal": "SIGKILL", "reason": "stop_timeout"},
         "web-2  SIGKILL sent (stop_timeout)"),
        ({"type": "spawn_failed", "reason": "not found", "code": 127},
         "web-2  cannot spawn: not found (code 127)"),
    ]  # fmt: skip
    for fields, text in cases:
        line = format_event(base | fields)
        assert line.endswith("  " + text), line
        assert line[2] == ":" and line[8] == "." and line[9:12] == "250"
    pinit = {"ts": ts, "program": None, "instance": None, "pid": None}
    reload = pinit | {"type": "reload", "added": ["b"], "removed": [], "changed": ["a"]}
    assert format_event(reload).endswith("  pinit  reload: added b; changed a")
    assert format_event({"lost": 12}) == "... 12 events lost (this reader was too slow)"
    assert format_event(pinit | {"type": "future", "x": 1}).endswith("  pinit  future x=1")


def test_liveness_verdicts_and_its_restart_reason() -> None:
    """Issue 8 merged with liveness: each failed probe and a recovery are verdicts (not each
    passing probe), and the restart it causes is told with the reason "liveness"."""
    from pinit.config.schema import Liveness
    from pinit.model.events import LiveFailed, LiveOk

    live = Liveness(Readiness(ReadyKind.TCP, "127.0.0.1", 9), interval=1.0, timeout=0.5, failures=2)
    inst = running(prog(live=live, restart=Restart.ALWAYS))
    inst, acts = run(inst, (5.0, LiveFailed()), (5.5, LiveOk()), (6.0, LiveOk()))
    verdicts = [[a for a in step if isinstance(a, Verdict)] for step in acts]
    assert verdicts == [
        [Verdict("live", False, "failed 1 of 2")],
        [Verdict("live", True, "ok after 1 failure(s)")],
        [],  # a passing probe is no event
    ]
    inst, acts = run(inst, (7.0, LiveFailed()), (8.0, LiveFailed()))
    assert inst.state is State.CLEANUP
    _, acts = run(inst, (8.1, Exited(100, 15)), (8.2, GroupGone()))
    assert [a for a in acts[-1] if isinstance(a, Restarting)] == [Restarting("liveness", 0.0, 0)]
