"""The control socket and the HTTP endpoint, opened right after the boot's spawns.

Imported then, with the operator (issue 7, speed: work no program waits for comes after the
first spawns). The operator and the HTTP routes get the supervisor's state as a few
callables (a `Host`, `Sources`), never the supervisor itself: what they may read and do is
exactly what is passed here.
"""

from __future__ import annotations

from collections.abc import Callable

from pinit.runtime.operator import Host, Operator, PlanResult

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.logs.capture import LogRouter
    from pinit.model import plan as planner
    from pinit.model.events import Event
    from pinit.model.instance import Key
    from pinit.runtime.eventring import EventRing
    from pinit.runtime.httpserve import HttpServer
    from pinit.runtime.loop import Loop

__all__ = ["open_endpoints"]


def open_endpoints(
    loop: Loop,
    path: str,
    env: dict[str, str],
    http: str,
    say: Callable[[str], None],
    *,
    plan: Callable[[], planner.Plan],
    post: Callable[[Key, Event], None],
    after_turn: Callable[[Callable[[], None]], None],
    reload: Callable[[], list[str]],
    change: Callable[[Callable[[planner.Plan], PlanResult]], None],
    notify_counters: Callable[[], dict[str, int]],
    counts: Callable[[], tuple[int, int]],  # orphans reaped, signals forwarded
    events: EventRing,
    logs: LogRouter,
) -> tuple[Operator, HttpServer | None]:
    """`pinit ctl`'s socket at `path`, exported in `env` (the programs' environment), then,
    with `[pinit] http` set (`http`), the HTTP endpoint (issue 8): read-only, and failing is
    a warning (PID 1 runs on without it)."""
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
    if not http:
        return operator, None
    from pinit.runtime.httpapp import Sources, open_server

    sources = Sources(plan, operator.status, counts, events)
    return operator, open_server(loop, http, sources, say)
