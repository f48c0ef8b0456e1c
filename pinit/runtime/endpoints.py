"""The control socket and the HTTP endpoint, opened right after the boot's spawns.

Imported then, with the operator (issue 7, speed: work no program waits for comes after the
first spawns). The operator and the HTTP routes get the supervisor's state as a few
callables (a `Host`, `Sources`), never the supervisor itself: what they may read and do is
exactly what is passed here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pinit.runtime.operator import Host, Operator, PlanResult

if TYPE_CHECKING:
    from pinit.logs.capture import LogRouter
    from pinit.model import plan as planner
    from pinit.model.events import Event
    from pinit.model.instance import Key
    from pinit.runtime.eventring import EventRing
    from pinit.runtime.httpserve import HttpServer
    from pinit.runtime.loop import Loop

__all__ = ["open_control", "open_http"]


def open_control(
    loop: Loop,
    path: str,
    env: dict[str, str],
    say: Callable[[str], None],
    *,
    plan: Callable[[], planner.Plan],
    post: Callable[[Key, Event], None],
    after_turn: Callable[[Callable[[], None]], None],
    reload: Callable[[], list[str]],
    change: Callable[[Callable[[planner.Plan], PlanResult]], None],
    notify_counters: Callable[[], dict[str, int]],
    events: EventRing,
    logs: LogRouter,
) -> Operator:
    """`pinit ctl`'s socket at `path`, exported in `env` (the programs' environment)."""
    host = Host(
        plan,
        post,
        after_turn,
        reload,
        loop.call_soon_threadsafe,
        events=events,
        logs=logs,
        change=change,
        notify_counters=notify_counters,
    )
    operator = Operator(host, say)
    operator.open(loop, path, env)
    return operator


def open_http(
    loop: Loop,
    address: str,
    say: Callable[[str], None],
    *,
    plan: Callable[[], planner.Plan],
    status: Callable[[], dict[str, object]],
    counts: Callable[[], tuple[int, int]],
    events: EventRing,
) -> HttpServer | None:
    """Issue 8: `[pinit] http`, read-only; failing is a warning (PID 1 runs on without it)."""
    from pinit.runtime.httpapp import Sources, open_server

    return open_server(loop, address, Sources(plan, status, counts, events), say)
