"""Issue 9, ``binds_to`` with real processes: a redis-like server and a client bound to it.

The order is read from the programs' own event lines (one monotonic clock for all of them). The
server is ready once it listens, so its "start" line precedes any start it gates."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conftest import Launch
from tests.integration.supervise import Events, listener, start, svc


def pair(launch: type[Launch], tmp_path: Path, bound: bool) -> tuple[Launch, Events]:
    binds = 'binds_to = ["redis"]' if bound else 'after = ["redis"]'
    return start(
        launch,
        tmp_path,
        f"""
        [programs.redis]
        {listener("redis")}
        [programs.client]
        command = {svc("run", "client")}
        start_seconds = 0
        {binds}
        """,
        mode="plain",
    )


def test_server_crash_restarts_the_bound_client_around_it(
    launch: type[Launch], tmp_path: Path
) -> None:
    pinit, events = pair(launch, tmp_path, bound=True)
    redis = events.wait("redis", "start")
    client = events.wait("client", "start")
    os.kill(redis.pid, signal.SIGKILL)
    term = events.wait("client", "term")  # the client was stopped...
    redis2 = events.wait("redis", "start")  # ...before the server started again...
    client2 = events.wait("client", "start")  # ...and started once the server was ready
    assert term.ns < redis2.ns < client2.ns
    assert term.pid == client.pid and client2.pid != client.pid
    pinit.signal(signal.SIGTERM)
    rc, _, err = pinit.finish()
    assert rc == 0, err
    lines = (pinit.err_seen.decode() + err).splitlines()

    def first(*texts: str) -> int:
        return next(i for i, line in enumerate(lines) if all(t in line for t in texts))

    assert first("client: redis went down; stopping") < first("redis: ", "restarting now")
    # pinit's own log: the server counted as ready before the client was started again
    assert first(f"redis: running (pid {redis2.pid}), ready") < first(f"started pid {client2.pid}")


def test_without_binds_to_the_client_keeps_its_pid(launch: type[Launch], tmp_path: Path) -> None:
    pinit, events = pair(launch, tmp_path, bound=False)
    redis = events.wait("redis", "start")
    client = events.wait("client", "start")
    os.kill(redis.pid, signal.SIGKILL)
    events.wait("redis", "start")  # restarted: a stop of the client would have come first
    assert events.so_far("client", "term") == 0
    os.kill(client.pid, 0)  # still alive, the same process
    pinit.signal(signal.SIGTERM)
    assert pinit.finish()[0] == 0
    assert events.count("client", "start") == 1


def test_server_restart_waits_for_a_slow_client(launch: type[Launch], tmp_path: Path) -> None:
    """The client ignores SIGTERM (and so does its grandchild): the server's restart is held
    until the client's group is gone, after the KILL at its stop_timeout, not raced."""
    pinit, events = start(
        launch,
        tmp_path,
        f"""
        [programs.redis]
        {listener("redis")}
        [programs.client]
        command = {svc("stubborn", "client")}
        start_seconds = 0
        stop_timeout = 0.5
        binds_to = ["redis"]
        """,
        mode="plain",
    )
    redis = events.wait("redis", "start")
    events.wait("client", "start")
    os.kill(redis.pid, signal.SIGKILL)
    redis2 = events.wait("redis", "start")
    client2 = events.wait("client", "start")
    assert redis2.ns < client2.ns
    pinit.signal(signal.SIGTERM)
    _, _, err = pinit.finish()
    lines = (pinit.err_seen.decode() + err).splitlines()

    def first(*texts: str) -> int:
        return next(i for i, line in enumerate(lines) if all(t in line for t in texts))

    restart = first("redis: ", "restarting now")
    assert first("client: ", "KILL") < first("client: stopped") < restart, lines
