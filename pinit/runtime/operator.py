"""What an operator's `pinit ctl` request does: the runtime half of the control socket.

The model already has the operator's verbs (``StartRequested`` from any down state resets the
failed-start count; ``StopRequested`` marks a stop that policy never restarts), and the plan
never starts a STOPPED instance again on its own, so ``stop`` of ``main`` leaves the container
running (it ends only when main *exits* or gives up). What is left for the runtime:

- ``restart`` is stop, then start once the instance reached STOPPED: the table refuses
  StartRequested while STOPPING (one process per instance, always), so the pending start is
  kept here (``_pending``) and issued by ``on_change``. ``start`` of a STOPPING instance is the
  same pending start, so ``stop`` then ``start`` back to back just works.
- ``stop`` of an instance still waiting on its ``after`` takes it out of the plan's start list
  (``plan.withhold``), or readiness of its dependencies would start it behind the operator's
  back.
- ``signal`` goes to each running instance's process group, as a forwarded signal does.
- ``reload`` is the HUP path; a refused config's errors go back to the caller.
- ``logs`` reads the tail of the instance's log file in a short-lived thread: a read from a
  stalled disk must not stall PID 1 (DESIGN §2c), and the reply comes when the read is done.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from pinit.config.schema import Config
from pinit.control import paths, proto
from pinit.control.server import ControlServer, Reactor, Respond
from pinit.model import plan as planner
from pinit.model.events import Event, StartRequested, StopRequested
from pinit.model.instance import Instance, State
from pinit.records import dataclass
from pinit.stats import Sampler

__all__ = ["Operator"]

Key = tuple[str, int]
TAIL_BYTES = 256 << 10  # per file: a reply stays small, and the read short
_RUNNING = (State.STARTING, State.RUNNING)


@dataclass(frozen=True, slots=True)
class Host:
    """What the operator needs from the supervisor, as callbacks: narrow, and no cycle."""

    plan: Callable[[], planner.Plan]
    replace_plan: Callable[[planner.Plan], None]
    post: Callable[[Key, Event], None]
    drain: Callable[[], None]
    reload: Callable[[], list[str]]  # the HUP path; returns a refused config's errors
    call_soon_threadsafe: Callable[[Callable[[], None]], None]


class Operator:
    def __init__(self, host: Host, say: Callable[[str], None]) -> None:
        self._host = host
        self._say = say
        self._pending: set[Key] = set()  # start once STOPPED (restart, or start while stopping)
        self._starts: dict[Key, int] = {}  # processes spawned per instance, for "restarts"
        self._sampler = Sampler()
        self.server: ControlServer | None = None

    # -- the socket --------------------------------------------------------------------------
    def open(
        self, loop: Reactor, config: Config, environ: Mapping[str, str], env: dict[str, str]
    ) -> None:
        """Bind the socket and export its path in `env` (the programs' environment), so a
        program can `pinit ctl` its own supervisor. Failing is a warning: PID 1 runs on."""
        path = paths.server_path(config.control_socket, config.name, environ)
        env.pop(paths.ENV, None)  # an outer pinit's socket is not ours to hand down
        try:
            if os.path.dirname(path) == paths.RUN_DIR:
                os.makedirs(paths.RUN_DIR, mode=0o755, exist_ok=True)
            self.server = ControlServer(loop, path, self.handle, self._say)
        except OSError as exc:
            self._say(f"warning: no control socket ({path}: {exc.strerror or exc})")
            return
        env[paths.ENV] = path
        self._say(f"control socket {path}")

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    # -- the supervisor's hook ---------------------------------------------------------------
    def on_change(self, key: Key, old: Instance, new: Instance) -> None:
        """After every step that changed an instance: count spawns, issue pending starts."""
        if new.pid is not None and new.pid != old.pid:
            self._starts[key] = self._starts.get(key, 0) + 1
        if key in self._pending and new.state is State.STOPPED:
            self._pending.discard(key)
            if self._host.plan().phase in (planner.Phase.STARTING, planner.Phase.RUNNING):
                self._host.post(key, StartRequested())

    # -- requests ----------------------------------------------------------------------------
    def handle(self, req: proto.Request, respond: Respond) -> None:
        if req.cmd == "status":
            respond(self._status())
        elif req.cmd == "reload":
            plan = self._host.plan()
            if plan.phase not in (planner.Phase.STARTING, planner.Phase.RUNNING):
                respond(proto.error(f"reload: pinit is shutting down ({plan.reason})"))
                return
            errors = self._host.reload()
            self._host.drain()
            if errors:
                n = len(errors)
                refused = f"reload refused: {n} error(s); the running config stays"
                respond(proto.error(refused) | {"errors": errors})
            else:
                respond({"ok": True})
        elif req.cmd == "logs":
            self._logs(req, respond)
        else:
            keys = self._match(req.target)
            if isinstance(keys, str):
                respond(proto.error(keys))
            elif req.cmd == "signal":
                respond(self._signal(keys, req))
            else:
                respond(self._lifecycle(req.cmd, keys))

    def _match(self, target: str) -> list[Key] | str:
        insts = self._host.plan().instances
        keys = sorted(k for k, i in insts.items() if target in ("all", k[0], i.name))
        if keys:
            return keys
        known = sorted({k[0] for k in insts} | {i.name for i in insts.values()})
        return f"no program or instance {target!r} (known: {', '.join(known) or 'none'})"

    def _lifecycle(self, cmd: str, keys: list[Key]) -> dict[str, object]:
        plan = self._host.plan()
        self._pending &= set(plan.instances)
        if cmd != "stop" and plan.phase not in (planner.Phase.STARTING, planner.Phase.RUNNING):
            return proto.error(f"{cmd}: pinit is shutting down ({plan.reason})")
        if cmd == "stop":
            self._pending -= set(keys)
            self._host.replace_plan(planner.withhold(plan, keys))
        for key in keys:
            state = plan.instances[key].state
            if cmd == "stop":
                self._host.post(key, StopRequested())
            elif state is State.STOPPING or (cmd == "restart" and state in _RUNNING):
                self._pending.add(key)
                if state is not State.STOPPING:
                    self._host.post(key, StopRequested())
            else:  # down, BACKOFF (skip the delay), CLEANUP (start once the group is gone)
                self._host.post(key, StartRequested())
        self._host.drain()
        insts = self._host.plan().instances
        return {
            "ok": True,
            "instances": [
                {
                    "name": insts[k].name,
                    "state": insts[k].state.value,
                    "pending_start": k in self._pending,
                }
                for k in keys
                if k in insts
            ],
        }

    def _signal(self, keys: list[Key], req: proto.Request) -> dict[str, object]:
        assert req.signal is not None
        sent: list[str] = []
        for key in keys:
            inst = self._host.plan().instances[key]
            if inst.pgid is None:
                continue
            try:
                os.killpg(inst.pgid, req.signal)
            except (ProcessLookupError, PermissionError):
                continue
            sent.append(inst.name)
        if not sent:
            return proto.error(f"signal: nothing of {req.target!r} is running")
        self._say(f"ctl: {req.signal.name} to {', '.join(sent)}")
        return {"ok": True, "signal": req.signal.name, "instances": sent}

    # -- status ------------------------------------------------------------------------------
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
                    "restarts": max(0, self._starts.get(inst.key, 0) - 1),
                    "failed_starts": inst.attempts,
                    "last_exit": inst.exit_code,
                    "ready": inst.ready,
                    "cpu_percent": use.cpu_percent if use else None,
                    "rss": use.rss if use else None,
                    "processes": use.processes if use else 0,
                    "log_files": _log_files(inst),
                }
            )
        return {
            "ok": True,
            "name": plan.config.name,
            "phase": plan.phase.value,
            "pid": os.getpid(),
            "instances": rows,
        }

    # -- logs --------------------------------------------------------------------------------
    def _logs(self, req: proto.Request, respond: Respond) -> None:
        keys = self._match(req.target)
        if isinstance(keys, str):
            respond(proto.error(keys))
            return
        insts = [self._host.plan().instances[k] for k in keys]
        files = list(dict.fromkeys(f for inst in insts for f in _log_files(inst)))
        if not files:
            prog = insts[0].program
            where = (
                "pinit's stdout, prefixed with its name (passthrough)"
                if prog.stdout.passthrough
                else "pinit's own stdout/stderr (no capture)"
            )
            respond(proto.error(f"logs: {req.target} has no log file: its output goes to {where}"))
            return

        def read() -> None:
            reply: dict[str, object]
            try:
                reply = {"ok": True, "files": [_tail(path, req.lines) for path in files]}
            except Exception as exc:  # the client must get an answer whatever happened
                reply = proto.error(f"logs: {exc!r}")
            self._host.call_soon_threadsafe(lambda: respond(reply))

        import threading  # at the first `ctl logs`, not at PID 1's start (issue 7, speed)

        threading.Thread(target=read, name="pinit-ctl-logs", daemon=True).start()


def _uptime(inst: Instance, now: float) -> float | None:
    """Seconds since the current process was spawned; None while there is none."""
    if inst.pid is None or inst.started_at is None:
        return None
    return round(now - inst.started_at, 3)


def _log_files(inst: Instance) -> list[str]:
    prog = inst.program
    specs = [prog.stdout] if prog.stderr is None else [prog.stdout, prog.stderr]
    return list(dict.fromkeys(s.file for s in specs if s.file))


def _tail(path: str, lines: int) -> dict[str, object]:
    """The last `lines` lines of `path`, from at most TAIL_BYTES at its end."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - TAIL_BYTES)
            f.seek(start)
            data = f.read(TAIL_BYTES)
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc), "lines": []}
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    if start > 0 and parts:
        parts = parts[1:]  # the first one is cut
    return {
        "path": path,
        "lines": [p.decode("utf-8", "replace") for p in parts[-lines:]],
    }
