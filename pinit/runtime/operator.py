"""What an operator's `pinit ctl` request does: the runtime half of the control socket.

Every verb is an instance event, stepped by the model like a death or a timeout (issue 7):
``start``/``stop``/``restart``/``signal`` post StartRequested / StopRequested / RestartRequested /
SignalRequested and answer once the turn's events are stepped (``Host.after_turn``), so the
reply shows the states they led to. The bookkeeping lives in the model: a restart of a running
instance is a stop with ``restart_pending``, and the plan starts it again once it is STOPPED; a
stop of an instance waiting on its ``after`` is held out of the plan's start list; a signal goes
through the supervisor's one signal path (group plus tagged strays). This module writes no plan
and sends no signal. What is left here:

- the refusals: no ``start``/``restart``/``reload`` once pinit is shutting down;
- ``reload`` is the HUP path; a refused config's errors go back to the caller;
- ``scale`` and ``restart --rolling`` (issue 9) are container-wide plan decisions
  (``model.scale``, ``model.roll``): posted through ``Host.change`` like a reload;
- ``logs`` and ``logs --reopen`` are in ``runtime/ctllogs.py``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from pinit.control import paths, proto
from pinit.control.server import ControlServer, Respond
from pinit.model import plan as planner
from pinit.model.events import (
    Event,
    RestartRequested,
    SignalRequested,
    StartRequested,
    StopRequested,
)
from pinit.model.instance import Instance, Key
from pinit.records import dataclass
from pinit.runtime import ctllogs
from pinit.runtime.eventring import EventRing, Record, Subscription
from pinit.runtime.usage import Sampler

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.control.server import ControlReactor
    from pinit.control.stream import Feed
    from pinit.logs.capture import LogRouter
    from pinit.runtime.usage import UsageSampler

__all__ = ["Operator"]

PlanResult = tuple[planner.Plan, tuple[planner.PlanAction, ...]]

_LIVE = (planner.Phase.STARTING, planner.Phase.RUNNING)
_VERBS: dict[str, Callable[[], Event]] = {
    "start": StartRequested,
    "stop": StopRequested,
    "restart": RestartRequested,
}


@dataclass(frozen=True, slots=True)
class Host:
    """What the operator needs from the supervisor, as callbacks: narrow, and no cycle."""

    plan: Callable[[], planner.Plan]  # read only
    post: Callable[[Key, Event], None]
    after_turn: Callable[[Callable[[], None]], None]  # run once this turn's events are stepped
    reload: Callable[[], list[str]]  # the HUP path; returns a refused config's errors
    call_soon_threadsafe: Callable[[Callable[[], None]], None]
    # issue 9: hand a plan decision (scale, roll) to the supervisor, which applies its actions
    change: Callable[[Callable[[planner.Plan], PlanResult]], None] | None = None
    notify_counters: Callable[[], dict[str, int]] = dict  # issue 9: datagrams dropped
    events: EventRing | None = None  # issue 8: what `ctl events` follows
    logs: LogRouter | None = None  # issue 10: reopen, and passthrough-only programs' tails


class Operator:
    def __init__(
        self, host: Host, say: Callable[[str], None], sampler: UsageSampler | None = None
    ) -> None:
        self._host = host
        self._say = say
        self._sampler: UsageSampler = sampler if sampler is not None else Sampler()
        self.server: ControlServer | None = None

    # -- the socket --------------------------------------------------------------------------
    def open(self, loop: ControlReactor, path: str, env: dict[str, str]) -> None:
        """Bind the socket at `path` (`paths.server_path`) and export it in `env` (the
        programs' environment), so a program can `pinit ctl` its own supervisor. Failing is a
        warning: PID 1 runs on, and later programs no longer see the path."""
        env.pop(paths.ENV, None)  # an outer pinit's socket is not ours to hand down
        try:
            if os.path.dirname(path) == paths.RUN_DIR:
                os.makedirs(paths.RUN_DIR, mode=0o755, exist_ok=True)
            self.server = ControlServer(loop, path, self.handle, self._say, subscribe=self.follow)
        except OSError as exc:
            self._say(f"warning: no control socket ({path}: {exc.strerror or exc})")
            return
        env[paths.ENV] = path
        self._say(f"control socket {path}")

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    # -- requests ----------------------------------------------------------------------------
    def follow(self, req: proto.Request, wake: Callable[[], None]) -> Feed | str:
        """`ctl events`: a cursor into the ring, filtered by name if names were given."""
        ring = self._host.events
        if ring is None:
            return "events: not served by this pinit"
        sub = ring.subscribe(wake, bound=req.bound, history=req.history)
        return _Named(sub, frozenset(req.names)) if req.names else sub

    def handle(self, req: proto.Request, respond: Respond) -> None:
        if req.cmd == "status":
            respond(self._status())
        elif req.cmd == "health":
            respond(_health(self._host.plan(), req))
        elif req.cmd == "reload":
            plan = self._host.plan()
            if plan.phase not in (planner.Phase.STARTING, planner.Phase.RUNNING):
                respond(proto.error(f"reload: pinit is shutting down ({plan.reason})"))
                return
            errors = self._host.reload()
            if errors:
                n = len(errors)
                refused = f"reload refused: {n} error(s); the running config stays"
                respond(proto.error(refused) | {"errors": errors})
            else:
                respond({"ok": True})
        elif req.cmd == "logs":
            keys = self._match(req.target)
            if isinstance(keys, str):
                respond(proto.error(keys))
            else:
                ctllogs.logs(self._host, keys, req, respond)
        elif req.cmd == "scale" or (req.cmd == "restart" and req.rolling):
            self._container(req, respond)
        elif req.cmd == "reopen":
            ctllogs.reopen(self._host, respond)
        else:
            keys = self._match(req.target)
            if isinstance(keys, str):
                respond(proto.error(keys))
            elif req.cmd == "signal":
                self._signal(keys, req, respond)
            else:
                self._lifecycle(req.cmd, keys, respond)

    def _match(self, target: str) -> list[Key] | str:
        insts = self._host.plan().instances
        keys = sorted(k for k, i in insts.items() if target in ("all", k[0], i.name))
        if keys:
            return keys
        known = sorted({k[0] for k in insts} | {i.name for i in insts.values()})
        return f"no program or instance {target!r} (known: {', '.join(known) or 'none'})"

    def _lifecycle(self, cmd: str, keys: list[Key], respond: Respond) -> None:
        plan = self._host.plan()
        if cmd != "stop" and plan.phase not in _LIVE:
            respond(proto.error(f"{cmd}: pinit is shutting down ({plan.reason})"))
            return
        for key in keys:
            self._host.post(key, _VERBS[cmd]())

        def reply() -> None:
            insts = self._host.plan().instances
            rows = [
                {
                    "name": insts[k].name,
                    "state": insts[k].state.value,
                    "pending_start": insts[k].restart_pending,
                }
                for k in keys
                if k in insts
            ]
            respond({"ok": True, "instances": rows})

        self._host.after_turn(reply)

    def _container(self, req: proto.Request, respond: Respond) -> None:
        """Issue 9: scale or roll one program; the reply lists its instances after the turn."""
        plan = self._host.plan()
        name = req.target
        if plan.phase not in _LIVE:
            respond(proto.error(f"{req.cmd}: pinit is shutting down ({plan.reason})"))
            return
        if name not in {p.name for p in plan.config.programs}:
            known = ", ".join(sorted(p.name for p in plan.config.programs)) or "none"
            respond(proto.error(f"{req.cmd}: no program {name!r} (known: {known})"))
            return
        if name in plan.rolls and req.cmd != "scale":  # a scale calls the roll off (model.scale)
            respond(proto.error(f"{req.cmd}: a rolling restart of {name} is under way"))
            return
        if self._host.change is None:
            respond(proto.error(f"{req.cmd}: not supported here"))
            return
        if req.cmd == "scale":
            from pinit.model.scale import scale

            count = req.count
            others = sum(p.numprocs for p in plan.config.programs if p.name != name)
            if others + count > proto.MAX_SCALE:  # the loader's bound on numprocs summed
                respond(
                    proto.error(
                        f"scale: {name} to {count} makes {others + count} processes in all;"
                        f" at most {proto.MAX_SCALE} allowed"
                    )
                )
                return
            self._host.change(lambda p: scale(p, name, count))
        else:
            from pinit.model.roll import begin

            self._host.change(lambda p: begin(p, name))

        def reply() -> None:
            now = self._host.plan()
            insts = [now.instances[k] for k in sorted(now.instances) if k[0] == name]
            rows = [{"name": i.name, "state": i.state.value, "pid": i.pid} for i in insts]
            out: dict[str, object] = {"ok": True, "program": name, "instances": rows}
            if req.cmd == "scale":
                out["count"] = req.count
            else:
                out["rolling"] = name in now.rolls
            respond(out)

        self._host.after_turn(reply)

    def _signal(self, keys: list[Key], req: proto.Request, respond: Respond) -> None:
        assert req.signal is not None
        insts = self._host.plan().instances
        sent = [key for key in keys if insts[key].pgid is not None]
        if not sent:
            respond(proto.error(f"signal: nothing of {req.target!r} is running"))
            return
        names = [insts[key].name for key in sent]
        self._say(f"ctl: {req.signal.name} to {', '.join(names)}")
        for key in sent:
            self._host.post(key, SignalRequested(req.signal))
        reply = {"ok": True, "signal": req.signal.name, "instances": names}
        self._host.after_turn(lambda: respond(reply))

    # -- status ------------------------------------------------------------------------------
    def status(self) -> dict[str, object]:
        """`ctl status --json`'s reply; GET /status serves the same (issue 8)."""
        return self._status()

    def _status(self) -> dict[str, object]:
        plan = self._host.plan()
        insts = [plan.instances[k] for k in sorted(plan.instances)]
        usage = self._sampler.sample({i.name: (i.pid, i.pgid) for i in insts})
        now = time.monotonic()
        rows: list[dict[str, object]] = []
        for inst in insts:
            use = usage.get(inst.name)
            rows.append(
                {
                    "name": inst.name,
                    "program": inst.program.name,
                    "state": inst.state.value,
                    "pid": inst.pid,
                    "uptime": _uptime(inst, now),
                    "restarts": max(0, inst.spawns - 1),
                    "failed_starts": inst.attempts,
                    "last_exit": inst.exit_code,
                    "ready": inst.ready,
                    "cpu_percent": use.cpu_percent if use else None,
                    "rss": use.rss if use else None,
                    "processes": use.processes if use else 0,
                    "log_files": ctllogs.log_files(inst),
                    # issue 9: the notify protocol and the restarts by reason
                    "status_text": inst.status_text,
                    "sub_state": inst.sub_state,
                    "restarts_by_reason": dict(inst.restarts_by_reason),
                }
            )
        reply: dict[str, object] = {
            "ok": True,
            "name": plan.config.name,
            "phase": plan.phase.value,
            "pid": os.getpid(),
            "rolling": sorted(plan.rolls),  # issue 9: programs with a roll under way
            "instances": rows,
        }
        counters = self._host.notify_counters()
        if counters:
            reply["notify"] = counters
        return reply


def _health(plan: planner.Plan, req: proto.Request) -> dict[str, object]:
    """Issue 8: `ctl health`, from the plan alone (no /proc sampling: a probe every few
    seconds must cost PID 1 next to nothing)."""
    from pinit.model import health

    insts = health.watched(plan, req.names)
    if isinstance(insts, str):
        return proto.error(insts)
    problems = health.problems(plan, insts, req.ready)
    names = [inst.name for inst in insts]
    return {"ok": True, "healthy": not problems, "problems": problems, "checked": names}


def _uptime(inst: Instance, now: float) -> float | None:
    """Seconds since the current process was spawned; None while there is none."""
    if inst.pid is None or inst.started_at is None:
        return None
    return round(now - inst.started_at, 3)


class _Named:
    """A subscription that keeps the records of the named programs or instances, and pinit's
    own (a reload, a shutdown: the context a follower of one program still wants)."""

    __slots__ = ("_names", "_sub")

    def __init__(self, sub: Subscription, names: frozenset[str]) -> None:
        self._sub, self._names = sub, names

    @property
    def pending(self) -> int:
        return self._sub.pending

    def take(self, limit: int = 256) -> tuple[list[Record], int]:
        records, lost = self._sub.take(limit)
        names = self._names
        kept = [
            r
            for r in records
            if r.get("program") is None or r.get("program") in names or r.get("instance") in names
        ]
        return kept, lost

    def close(self) -> None:
        self._sub.close()
