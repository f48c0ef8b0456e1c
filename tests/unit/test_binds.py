"""Issue 9, ``binds_to`` (model/binds.py): histories replayed through the shared pure core.

Each test checks the order of what happened from the core's record of effects (the spawns and
stop signals, in the order the runtime would have carried them out)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from pinit.config.schema import OnFatal, Program
from pinit.model.actions import Action, SignalGroup, Spawn, StateChanged
from pinit.model.events import BackoffDone, Exited, GroupGone
from pinit.model.instance import Key
from pinit.model.plan import deps_ready
from pinit.model.state import State
from tests.unit.modelcore import Core, prog

REDIS, CLIENT = ("redis", 0), ("client", 0)


def pair(bound: bool = True, **client: object) -> Core:
    sim = Core(prog("redis"), prog("client", binds_to=("redis",) if bound else (), **client))
    sim.settle()
    assert sim.state("redis") is State.RUNNING and sim.state("client") is State.RUNNING
    return sim


def when(sim: Core, key: Key, what: Action, nth: int = 1) -> int:
    """Index in the effects of the nth ``what``-like action of ``key`` (by type, or equal)."""
    seen = 0
    for i, (k, a) in enumerate(sim.effects):
        if k == key and (a == what or (isinstance(what, type) and isinstance(a, what))):
            seen += 1
            if seen == nth:
                return i
    raise AssertionError(f"no {what} #{nth} for {key}")


def spawns(sim: Core, key: Key) -> int:
    return len(sim.actions(key, Spawn))


STOPPED = StateChanged(State.STOPPING, State.STOPPED)


def counts(sim: Core, key: Key) -> dict[str, int]:
    return dict(sim.plan.instances[key].restarts_by_reason)


def test_crash_stops_the_client_first_and_starts_it_after_the_server_is_ready() -> None:
    sim = pair()
    sim.crash("redis", 1 << 8)
    sim.settle()
    client_down = when(sim, CLIENT, STOPPED)
    redis_again = when(sim, REDIS, Spawn(*REDIS), nth=2)
    redis_ready = when(sim, REDIS, StateChanged(State.STARTING, State.RUNNING), nth=2)
    client_again = when(sim, CLIENT, Spawn(*CLIENT), nth=2)
    assert client_down < redis_again < redis_ready < client_again
    assert sim.state("redis") is State.RUNNING and sim.state("client") is State.RUNNING
    assert counts(sim, CLIENT) == {"bound": 1}
    assert counts(sim, REDIS) == {"exited": 1}
    assert sim.plan.bound_held == frozenset() and not sim.inst("redis").held


def test_without_binds_to_the_client_keeps_running() -> None:
    sim = pair(bound=False)
    pid = sim.inst("client").pid
    sim.crash("redis", 1 << 8)
    sim.settle()
    assert spawns(sim, REDIS) == 2
    assert sim.inst("client").pid == pid and spawns(sim, CLIENT) == 1
    assert sim.plan.binds == {}


def test_server_restart_waits_for_a_slow_client_to_be_down() -> None:
    """A client that ignores its stop signal: redis is held until the KILL took the client."""
    sim = Core(prog("redis"), prog("client", binds_to=("redis",)), stubborn=frozenset({"client"}))
    sim.settle()
    sim.crash("redis", 1 << 8)
    assert sim.state("redis") is State.BACKOFF and sim.inst("redis").held
    assert spawns(sim, REDIS) == 1  # held: no timer would restart it either
    sim.settle()
    kill = when(sim, CLIENT, StateChanged(State.STOPPING, State.STOPPED))
    assert kill < when(sim, REDIS, Spawn(*REDIS), nth=2) < when(sim, CLIENT, Spawn, nth=2)
    assert sim.state("client") is State.RUNNING


def test_operator_restart_of_the_server_restarts_the_client_around_it() -> None:
    sim = pair()
    reply = sim.ask("restart", "redis")
    assert reply["ok"], reply
    sim.settle()
    assert when(sim, CLIENT, STOPPED) < when(sim, REDIS, Spawn(*REDIS), nth=2)
    assert when(sim, REDIS, StateChanged(State.STARTING, State.RUNNING), nth=2) < when(
        sim, CLIENT, Spawn, nth=2
    )
    assert counts(sim, CLIENT) == {"bound": 1} and counts(sim, REDIS) == {"operator": 1}


def test_operator_stop_keeps_the_client_stopped_until_the_server_starts_again() -> None:
    sim = pair()
    sim.ask("stop", "redis")
    sim.settle()
    assert sim.state("redis") is State.STOPPED and sim.state("client") is State.STOPPED
    assert sim.plan.bound_held == {CLIENT}
    sim.ask("start", "redis")
    assert sim.state("client") is State.STOPPED  # redis is not ready yet
    sim.settle()
    assert sim.state("client") is State.RUNNING and counts(sim, CLIENT) == {"bound": 1}
    assert when(sim, REDIS, StateChanged(State.STARTING, State.RUNNING), nth=2) < when(
        sim, CLIENT, Spawn, nth=2
    )


def test_operator_start_of_a_held_client_is_the_operators_to_make() -> None:
    sim = pair()
    sim.ask("stop", "redis")
    sim.settle()
    sim.ask("start", "client")
    sim.settle()
    assert sim.state("client") is State.RUNNING and sim.plan.bound_held == frozenset()


def test_a_crash_looping_server_still_gives_up() -> None:
    """The hold keeps the server's failed-start count: it ends FATAL as without binds_to."""
    sim = Core(
        prog("redis", start_retries=2),
        prog("client", binds_to=("redis",)),
        on_fatal=OnFatal.IGNORE,
    )
    sim.settle()
    sim.crash("redis", 1 << 8)  # after a good run: the client is stopped, redis restarted
    for _ in range(3):
        assert sim.state("redis") is State.STARTING
        sim.crash("redis", 1 << 8)  # before start_seconds: a failed start
        if sim.state("redis") is State.BACKOFF:
            sim.tick()  # the backoff delay, then the next spawn
    assert sim.state("redis") is State.FATAL
    assert sim.state("client") is State.STOPPED  # held until redis is started and ready


def test_a_chain_restarts_outside_in() -> None:
    sim = Core(prog("db"), prog("cache", binds_to=("db",)), prog("web", binds_to=("cache",)))
    sim.settle()
    sim.crash("db", 1 << 8)
    sim.settle()
    web, cache, db = ("web", 0), ("cache", 0), ("db", 0)
    assert when(sim, web, STOPPED) < when(sim, cache, STOPPED) < when(sim, db, Spawn, nth=2)
    assert when(sim, db, Spawn, nth=2) < when(sim, cache, Spawn, nth=2) < when(sim, web, Spawn, 2)
    assert all(sim.state(n) is State.RUNNING for n in ("db", "cache", "web"))


def test_shutdown_stops_the_client_before_the_server() -> None:
    sim = pair()
    sim.shutdown()
    assert sim.exit == 0
    first = when(sim, CLIENT, SignalGroup)
    assert first < when(sim, REDIS, SignalGroup)


def test_several_clients_and_server_instances() -> None:
    sim = Core(prog("redis", numprocs=2), prog("client", binds_to=("redis",), numprocs=3))
    sim.settle()
    sim.crash("redis", 1 << 8, index=1)
    sim.settle()
    assert spawns(sim, ("redis", 1)) == 2
    assert all(counts(sim, ("client", i)) == {} for i in range(3))  # redis 0 served meanwhile
    for i in range(2):  # both die before either group is gone: the clients go down first
        sim.post(("redis", i), Exited(sim.alive.pop(("redis", i)), 1 << 8))
    for i in range(2):
        sim.post(("redis", i), GroupGone())
    sim.settle()
    for i in range(3):
        key = ("client", i)
        assert when(sim, key, STOPPED) < when(sim, ("redis", 0), Spawn, nth=2)
        assert when(sim, key, STOPPED) < when(sim, ("redis", 1), Spawn, nth=3)
        assert counts(sim, key) == {"bound": 1}


# --- property: any history with bound programs settles, then shuts down cleanly ------------------

NAMES = ["db", "cache", "web"]
OPS = ["stop", "start", "restart"]
ops = st.lists(
    st.one_of(
        st.tuples(st.just("crash"), st.sampled_from(NAMES), st.sampled_from([0, 256, 9])),
        st.tuples(st.just("tick"), st.just(""), st.just(0)),
        st.tuples(
            st.sampled_from(["stop", "start", "restart"]), st.sampled_from(NAMES), st.just(0)
        ),
        st.tuples(st.just("reload"), st.just(""), st.integers(0, 1)),
    ),
    max_size=25,
)


def chain(variant: int = 0) -> tuple[Program, ...]:
    web = prog("web", binds_to=("cache",), numprocs=2)
    return (
        prog("db", start_retries=2),
        prog("cache", binds_to=("db",)),
        web if variant == 0 else replace(web, numprocs=3, after=("db",)),
    )


@settings(max_examples=150, deadline=None)
@given(ops, st.booleans())
def test_any_history_settles_without_a_stuck_hold(
    history: list[tuple[str, str, int]], stubborn: bool
) -> None:
    sim = Core(*chain(), on_fatal=OnFatal.IGNORE, stubborn=frozenset({"web"} if stubborn else ()))
    sim.settle()
    for op, name, arg in history:
        if op == "crash":
            keys = [k for k in sim.alive if k[0] == name]
            if keys:
                sim.crash(name, arg, keys[0][1])
        elif op == "tick":
            sim.tick()
        elif op == "reload":
            sim.reload(*chain(arg), on_fatal=OnFatal.IGNORE)
        else:
            sim.ask(op, name)
    sim.settle(limit=1000)
    assert not sim.timers  # settled
    insts = sim.plan.instances
    # nothing waits for a release that will never come
    assert not any(i.held for i in insts.values()), insts
    # a dependent we stopped is started again once its targets are up (and its `after`
    # programs ready), so none is left held that could start
    for key in sim.plan.bound_held:
        assert not deps_ready(sim.plan, insts[key].program), key
    sim.shutdown()
    sim.settle(limit=1000)
    assert sim.exit is not None
    assert sim.alive == {}


def test_a_held_restart_with_a_backoff_delay_waits_for_both() -> None:
    """Flapping (flap_max 1) gives the second crash a 1 s backoff; the client needs 5 s (its
    stop_timeout) to go: the timer fires first and the restart keeps waiting for the client."""
    sim = Core(
        prog("redis", flap_max=1),
        prog("client", binds_to=("redis",)),
        stubborn=frozenset({"client"}),
    )
    sim.settle()
    sim.crash("redis", 1 << 8)
    sim.settle()  # the client was KILLed, redis restarted, the client started again
    sim.crash("redis", 1 << 8)
    assert sim.state("redis") is State.BACKOFF and sim.inst("redis").held
    t0 = sim.now
    assert sim.timers[(REDIS, BackoffDone())] == t0 + 1.0  # the backoff delay runs meanwhile
    sim.tick()  # the delay is over: the client is still stopping, so redis keeps waiting
    assert sim.now == t0 + 1.0 and sim.state("redis") is State.BACKOFF and spawns(sim, REDIS) == 2
    sim.settle()
    client_gone = when(sim, CLIENT, StateChanged(State.STOPPING, State.STOPPED), nth=2)
    assert client_gone < when(sim, REDIS, Spawn, nth=3)
    assert sim.state("redis") is State.RUNNING and sim.state("client") is State.RUNNING
