"""The operator's bookkeeping (pending starts, withheld starts, targets) on the pure model."""

from __future__ import annotations

import random
import time
from collections import deque

from pinit.config.schema import Config, Program, Readiness, ReadyKind, Restart
from pinit.control.proto import Request
from pinit.model import plan as P  # noqa: N812
from pinit.model.events import (
    Event,
    Exited,
    GroupGone,
    Spawn,
    Spawned,
    StartRequested,
    StopRequested,
)
from pinit.model.state import State, step
from pinit.runtime.operator import Host, Operator


class Fake:
    """The supervisor's side, minus the OS: a queue drained through model.step."""

    def __init__(self, *programs: Program) -> None:
        self.plan = P.initial(Config(programs=programs))
        self.queue: deque[tuple[P.Key, Event]] = deque()
        self.op = Operator(
            Host(
                lambda: self.plan,
                self.set_plan,
                self.post,
                self.drain,
                lambda: [],
                lambda cb: cb(),
            ),
            lambda _msg: None,
        )
        self.next_pid = 100
        self.plan, acts = P.boot(self.plan)
        self.plan_acts(acts)
        self.drain()

    def set_plan(self, plan: P.Plan) -> None:
        self.plan = plan

    def post(self, key: P.Key, event: Event) -> None:
        self.queue.append((key, event))

    def plan_acts(self, acts: tuple[P.PlanAction, ...]) -> None:
        for a in acts:
            if isinstance(a, P.StartInstance):
                self.post(a.key, StartRequested())
            elif isinstance(a, P.StopInstance):
                self.post(a.key, StopRequested())

    def drain(self) -> None:
        while self.queue:
            key, ev = self.queue.popleft()
            old = self.plan.instances[key]
            new, acts = step(old, ev, time.monotonic(), random.Random(1))
            if new != old:
                self.plan, pacts = P.on_instance_change(self.plan, key, new)
                self.op.on_change(key, old, new)
                self.plan_acts(pacts)
            for a in acts:
                if isinstance(a, Spawn):
                    self.next_pid += 1
                    self.post(key, Spawned(self.next_pid, self.next_pid))

    def die(self, name: str, index: int = 0) -> None:
        inst = self.plan.instances[(name, index)]
        assert inst.pid is not None
        self.post((name, index), Exited(inst.pid, 15))
        self.post((name, index), GroupGone())
        self.drain()

    def ask(self, cmd: str, target: str = "") -> dict[str, object]:
        got: list[dict[str, object]] = []
        self.op.handle(Request(cmd, target), got.append)
        assert len(got) == 1
        return got[0]

    def state(self, name: str, index: int = 0) -> State:
        return self.plan.instances[(name, index)].state


def prog(name: str, **kw: object) -> Program:
    return Program(name, (name,), start_seconds=0, **kw)  # type: ignore[arg-type]


def test_restart_starts_again_once_stopped() -> None:
    fake = Fake(prog("web", numprocs=2), prog("db"))
    first = fake.plan.instances[("web", 0)].pid
    reply = fake.ask("restart", "web-1")
    assert reply["instances"] == [{"name": "web-1", "state": "stopping", "pending_start": True}]
    fake.die("web")  # the stop signal took effect
    assert fake.state("web") is State.RUNNING
    assert fake.plan.instances[("web", 0)].pid != first
    assert fake.state("web", 1) is State.RUNNING  # untouched
    status = fake.ask("status")
    rows = {r["name"]: r for r in status["instances"]}  # type: ignore[union-attr]
    assert rows["web-1"]["restarts"] == 1 and rows["web-2"]["restarts"] == 0


def test_start_while_stopping_waits_and_stop_cancels_it() -> None:
    fake = Fake(prog("web"))
    fake.ask("stop", "web")
    assert fake.state("web") is State.STOPPING
    assert fake.ask("start", "web")["instances"] == [
        {"name": "web", "state": "stopping", "pending_start": True}
    ]
    fake.ask("stop", "all")  # changed its mind: no start once stopped
    fake.die("web")
    assert fake.state("web") is State.STOPPED


def test_stop_withholds_an_instance_waiting_on_after() -> None:
    fake = Fake(prog("db", ready=Readiness(kind=ReadyKind.NOTIFY)), prog("web", after=("db",)))
    assert ("web", 0) in fake.plan.to_start
    fake.ask("stop", "web")
    assert ("web", 0) not in fake.plan.to_start


def test_unknown_target_lists_the_known_ones() -> None:
    fake = Fake(prog("web", numprocs=2))
    reply = fake.ask("stop", "wbe")
    assert reply["ok"] is False
    assert "known: web, web-1, web-2" in str(reply["error"])


def test_start_from_fatal_and_refusals_during_shutdown() -> None:
    fake = Fake(prog("web", restart=Restart.NEVER))
    fake.die("web")
    assert fake.state("web") is State.EXITED
    fake.ask("start", "web")
    assert fake.state("web") is State.RUNNING
    fake.plan, acts = P.begin_shutdown(fake.plan, "test")
    fake.plan_acts(acts)
    fake.drain()
    for cmd in ("start", "restart"):
        assert "shutting down" in str(fake.ask(cmd, "web")["error"])
    assert "shutting down" in str(fake.ask("reload")["error"])
