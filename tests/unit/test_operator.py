"""`pinit ctl` verbs as model events, through the shared pure core (tests/unit/modelcore.py)."""

from __future__ import annotations

import signal

from pinit.config.schema import Program, Readiness, ReadyKind, Restart
from pinit.model.actions import SignalGroup
from pinit.model.events import RestartRequested, StopRequested
from pinit.model.state import State
from tests.unit.modelcore import Core


def prog(name: str, **kw: object) -> Program:
    return Program(name, (name,), start_seconds=0, **kw)  # type: ignore[arg-type]


def test_restart_starts_again_once_stopped() -> None:
    fake = Core(prog("web", numprocs=2), prog("db"), stubborn=frozenset({"web"}))
    first = fake.inst("web").pid
    reply = fake.ask("restart", "web-1")
    assert reply["instances"] == [{"name": "web-1", "state": "stopping", "pending_start": True}]
    fake.crash("web", signal.SIGTERM)  # the stop signal took effect
    assert fake.state("web") is State.RUNNING
    assert fake.inst("web").pid != first
    assert fake.state("web", 1) is State.RUNNING  # untouched
    status = fake.ask("status")
    rows = {r["name"]: r for r in status["instances"]}  # type: ignore[union-attr]
    assert rows["web-1"]["restarts"] == 1 and rows["web-2"]["restarts"] == 0
    assert rows["web-1"]["cpu_percent"] is None  # the injected sampler: no host pid sampled


def test_restart_is_one_event_and_the_model_keeps_the_pending_start() -> None:
    fake = Core(prog("web"), stubborn=frozenset({"web"}))
    fake.post(("web", 0), RestartRequested())
    fake.drain()
    inst = fake.inst("web")
    assert inst.state is State.STOPPING and inst.restart_pending
    fake.shutdown()  # a shutdown meanwhile: the pending start is dropped, not issued
    fake.crash("web", signal.SIGTERM)
    fake.settle()
    assert fake.state("web") is State.STOPPED
    assert fake.exit == 0


def test_start_while_stopping_waits_and_stop_cancels_it() -> None:
    fake = Core(prog("web"), stubborn=frozenset({"web"}))
    fake.ask("stop", "web")
    assert fake.state("web") is State.STOPPING
    assert fake.ask("start", "web")["instances"] == [
        {"name": "web", "state": "stopping", "pending_start": True}
    ]
    fake.ask("stop", "all")  # changed its mind: no start once stopped
    fake.crash("web", signal.SIGTERM)
    assert fake.state("web") is State.STOPPED


def test_stop_holds_an_instance_waiting_on_after() -> None:
    db = prog("db", ready=Readiness(kind=ReadyKind.NOTIFY))
    fake = Core(db, prog("web", after=("db",)), probe_ok=False)
    assert ("web", 0) in fake.plan.to_start
    fake.ask("stop", "web")
    assert ("web", 0) not in fake.plan.to_start
    assert fake.inst("web").stop_requested


def test_signal_goes_through_the_one_signal_path() -> None:
    """`ctl signal` is a SignalGroup action like a stop (group plus tagged strays), sent only
    to instances with a process, and it does not count as the start of a stop."""
    fake = Core(prog("web", numprocs=2), prog("job", restart=Restart.NEVER))
    fake.crash("job", 0)
    reply = fake.ask("signal", "all", signal=signal.SIGHUP)
    assert reply == {"ok": True, "signal": "SIGHUP", "instances": ["web-1", "web-2"]}
    pgid = fake.inst("web").pgid
    assert pgid is not None
    assert fake.actions(("web", 0), SignalGroup) == [SignalGroup(pgid, signal.SIGHUP, stop=False)]
    assert all(a.stop for a in fake.actions(("job", 0), SignalGroup))  # type: ignore[attr-defined]
    assert fake.state("web") is State.RUNNING
    assert "nothing of 'job'" in str(fake.ask("signal", "job", signal=signal.SIGHUP)["error"])


def test_unknown_target_lists_the_known_ones() -> None:
    fake = Core(prog("web", numprocs=2))
    reply = fake.ask("stop", "wbe")
    assert reply["ok"] is False
    assert "known: web, web-1, web-2" in str(reply["error"])


def test_start_from_fatal_and_refusals_during_shutdown() -> None:
    fake = Core(prog("web", restart=Restart.NEVER), prog("side"), stubborn=frozenset({"side"}))
    fake.crash("web", 15)
    assert fake.state("web") is State.EXITED
    fake.ask("start", "web")
    assert fake.state("web") is State.RUNNING
    fake.shutdown()
    for cmd in ("start", "restart"):
        assert "shutting down" in str(fake.ask(cmd, "web")["error"])
    assert "shutting down" in str(fake.ask("reload")["error"])
    fake.post(("side", 0), StopRequested())  # a duplicate stop while stopping: harmless
    fake.drain()
    assert fake.state("side") is State.STOPPING
