"""The HTTP endpoint's routes (issue 8): what each read-only GET answers, from pinit's own state.

``/healthz``  200 while the loop turns (an answer at all is the proof);
``/livez``    503 when a critical or main program is FATAL, or an instance fails its liveness
              probe (``live_failing``), else 200 — what Kubernetes restarts the pod for;
``/readyz``   200 iff every autostart program's instances are ready (a one-shot that exited
              with an expected code counts, as for ``after``), else 503 naming who and why;
              both take ``?program=NAME`` (404 for a name pinit does not know);
``/status``   the JSON of ``pinit ctl status --json`` (the operator builds both);
``/metrics``  Prometheus text 0.0.4, or OpenMetrics 1.0.0 when ``Accept`` asks for it; the
              process trees are sampled here, never on a timer, and a sample serves the
              scrapes of the next second (``USAGE_MAX_AGE``) while no pid changed;
``/events``   the event ring as newline-delimited JSON, kept open.

The probes' bodies are plain text, one line per instance, for a human reading ``kubectl
describe``; the status codes are what a machine reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from pinit.model import plan as planner
from pinit.model import policy
from pinit.model.instance import Instance, State
from pinit.runtime import metrics, proctree
from pinit.runtime.eventring import EventRing
from pinit.runtime.httpreply import Reply, Request, Stream
from pinit.runtime.httpserve import HttpServer
from pinit.runtime.loop import Loop
from pinit.runtime.metrics import Family, Histogram

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.httpreply import Subscription

__all__ = ["TURN_BUCKETS", "HttpApp", "Sources", "open_server"]

TEXT = "text/plain; charset=utf-8"
TURN_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
STREAM_BOUND = 1024  # events a stream may lag behind before the oldest are skipped (and told)
ROUTES = ("/healthz", "/livez", "/readyz", "/status", "/metrics", "/events")


class Sources:
    """What the routes read, as callbacks into the supervisor (nothing here writes to it)."""

    __slots__ = ("counters", "events", "plan", "status")

    def __init__(
        self,
        plan: Callable[[], planner.Plan],
        status: Callable[[], dict[str, object]],
        counters: Callable[[], tuple[int, int]],  # orphans reaped, signals forwarded
        events: EventRing,
    ) -> None:
        self.plan = plan
        self.status = status
        self.counters = counters
        self.events = events


def _text(status: int, body: str) -> Reply:
    return Reply(status, TEXT, body.encode("utf-8", "replace"))


def _why_not_ready(inst: Instance) -> str:
    if inst.state is State.RUNNING:
        return "running, not ready yet"
    if inst.state is State.EXITED and inst.last_status is not None:
        return f"exited with code {inst.exit_code}"
    return str(inst.state.value)


def open_server(
    loop: Loop, address: str, sources: Sources, say: Callable[[str], None]
) -> HttpServer | None:
    """Bind and serve, and time the loop's turns from now on; failing is a warning, said once:
    PID 1 supervises on without its endpoint."""
    turns = Histogram(TURN_BUCKETS)
    app = HttpApp(sources, turns)
    try:
        server = app.server = HttpServer(loop, address, app.handle, say)
    except OSError as exc:
        say(f"warning: no HTTP endpoint ({address}: {exc.strerror or exc})")
        return None

    def turned(seconds: float) -> None:
        turns.observe(seconds)
        server.share.new_turn()

    loop.time_turns(turned)
    say(f"http endpoint {address}")
    return server


USAGE_MAX_AGE = 1.0  # seconds a /proc sample serves later scrapes (``HttpApp._usage``)
_AGE = " (sampled at most once a second: up to 1 s old)"
FAMILIES = (  # the per-instance families, in the order written
    ("pinit_program_state", "gauge", "1 for the state the instance is in"),
    ("pinit_program_up", "gauge", "1 while the instance is running"),
    ("pinit_program_ready", "gauge", "1 while the instance is running and ready"),
    ("pinit_program_restarts_total", "counter", "Restarts, by reason"),
    ("pinit_program_last_exit_code", "gauge", "Exit code of the last process"),
    (
        "pinit_program_start_duration_seconds",
        "gauge",
        "From spawn to running, for the current or last process",
    ),
    (
        "pinit_program_ready_duration_seconds",
        "gauge",
        "From spawn to ready, for the current or last process",
    ),
    (
        "pinit_program_cpu_seconds_total",
        "counter",
        "User and system CPU time of the instance's live processes" + _AGE,
    ),
    (
        "pinit_program_resident_memory_bytes",
        "gauge",
        "Resident memory of the instance's live processes" + _AGE,
    ),
    ("pinit_program_processes", "gauge", "Live processes of the instance" + _AGE),
)
_STATES = [(state, f',state="{state.value}"') for state in State]
Usage = dict[str, tuple[float, int, int]]
Lines = tuple[str, ...]


def _instance_lines(inst: Instance, use: tuple[float, int, int] | None) -> Lines:
    """One instance's sample lines, one string per family of FAMILIES ("" when it has none)."""
    line = metrics.line
    who = metrics.labels(("program", inst.program.name), ("instance", inst.name))
    state = inst.state
    running = state is State.RUNNING
    restarts = "".join(
        line("pinit_program_restarts_total", n, f"{who},{metrics.labels(('reason', reason))}")
        for reason, n in inst.restarts_by_reason
    )
    code = inst.exit_code
    began, at_run, at_ready = inst.started_at, inst.running_at, inst.ready_at
    start = ready = ""
    if began is not None and at_run is not None and at_run >= began:
        start = line("pinit_program_start_duration_seconds", at_run - began, who)
    if began is not None and at_ready is not None and at_ready >= began:
        ready = line("pinit_program_ready_duration_seconds", at_ready - began, who)
    return (
        "".join(
            line("pinit_program_state", 1 if state is s else 0, who + lab) for s, lab in _STATES
        ),
        line("pinit_program_up", 1 if running else 0, who),
        line("pinit_program_ready", 1 if inst.ready and running else 0, who),
        restarts,
        "" if code is None else line("pinit_program_last_exit_code", code, who),
        start,
        ready,
        "" if use is None else line("pinit_program_cpu_seconds_total", use[0], who),
        "" if use is None else line("pinit_program_resident_memory_bytes", use[1], who),
        line("pinit_program_processes", use[2] if use is not None else 0, who),
    )


def _done(inst: Instance) -> bool:
    status = inst.last_status
    if inst.state is not State.EXITED or status is None:
        return False
    return policy.is_expected(inst.program, status)


class HttpApp:
    def __init__(self, sources: Sources, turns: Histogram) -> None:
        self._src = sources
        self._turns = turns
        self.server: HttpServer | None = None
        self._sampled: tuple[float, dict[str, tuple[int | None, int | None]], Usage] | None = None
        self._kept: dict[str, tuple[Instance, tuple[float, int, int] | None, Lines]] = {}

    def handle(self, req: Request) -> Reply | Stream:
        path = req.path
        if path == "/healthz":
            return _text(200, "ok\n")
        if path in ("/livez", "/readyz"):
            picked = self._pick(req.query)
            if isinstance(picked, Reply):
                return picked
            if path == "/livez":
                return self._livez(picked, named=bool(req.query))
            return self._readyz(picked)
        if path == "/metrics":
            om = metrics.wants_openmetrics(req.accept)
            body = metrics.render(self._families(), openmetrics=om)
            return Reply(200, metrics.OPENMETRICS if om else metrics.PROMETHEUS, body)
        if path == "/status":
            import json

            body = json.dumps(self._src.status(), separators=(",", ":")).encode() + b"\n"
            return Reply(200, "application/json", body)
        if path == "/events":
            return Stream(self._subscribe)
        if path == "/":
            return _text(200, "pinit: " + " ".join(ROUTES) + "\n")
        return _text(404, f"not found: {path[:200]} (try {', '.join(ROUTES)})\n")

    def _subscribe(self, wake: Callable[[], None]) -> Subscription:
        return self._src.events.subscribe(wake, bound=STREAM_BOUND)

    # -- probes ------------------------------------------------------------------------------
    def _pick(self, query: str) -> list[Instance] | Reply:
        insts = [inst for _, inst in sorted(self._src.plan().instances.items())]
        if not query:
            return insts
        names = parse_qs(query).get("program")
        if not names:
            return _text(400, "the only parameter is ?program=NAME\n")
        name = names[0]
        chosen = [i for i in insts if name in (i.program.name, i.name)]
        if not chosen:
            return _text(404, f"no program or instance {name[:200]!r}\n")
        return chosen

    def _livez(self, insts: list[Instance], *, named: bool) -> Reply:
        """Only what ends the container matters (a critical or main program, or the one asked
        for by name): a sidecar that is FATAL, or whose liveness probe failed once, is pinit's
        to restart, not a reason for the kubelet to kill everything."""
        main = self._src.plan().config.main
        bad = []
        for inst in insts:
            if not (named or inst.program.critical or inst.program.name == main):
                continue
            if inst.state is State.FATAL:
                bad.append(f"{inst.name}: fatal")
            elif inst.live_failing:
                bad.append(f"{inst.name}: failing its liveness probe")
        if bad:
            return _text(503, "not live: " + "; ".join(bad) + "\n")
        return _text(200, "live\n")

    def _readyz(self, insts: list[Instance]) -> Reply:
        plan = self._src.plan()
        if plan.phase in (planner.Phase.SHUTTING_DOWN, planner.Phase.DONE):
            return _text(503, f"not ready: shutting down ({plan.reason})\n")
        bad = []
        for inst in insts:
            if not inst.program.autostart and len(insts) > 1:
                continue  # asked about one program by name: its answer, autostart or not
            if inst.state is State.RUNNING and inst.ready:
                continue
            if _done(inst):
                continue  # a one-shot that did its job
            bad.append(f"{inst.name}: {_why_not_ready(inst)}")
        if bad:
            return _text(503, "not ready: " + "; ".join(bad) + "\n")
        return _text(200, "ready\n")

    # -- metrics -----------------------------------------------------------------------------
    def _usage(self, insts: list[Instance]) -> dict[str, tuple[float, int, int]]:
        """One /proc pass, reused by the scrapes of the next USAGE_MAX_AGE seconds while no
        instance changed its pid or group (twenty scrapers, or Prometheus' HA pair, cost one
        pass, not twenty): the per-instance CPU, memory and process figures may be up to that
        old, as the HELP text says. A restart (a new pid) samples afresh."""
        groups = {i.name: (i.pid, i.pgid) for i in insts}
        now = time.monotonic()
        last = self._sampled
        if last is None or now - last[0] >= USAGE_MAX_AGE or last[1] != groups:
            last = self._sampled = (now, groups, proctree.sample(groups))
        return last[2]

    def _families(self) -> Iterable[Family]:
        """The per-instance lines are written once per instance and kept while the scrape finds
        the same Instance object (the model replaces, never mutates, one) with the same usage:
        a 500-program scrape mostly joins kept strings (issue 8, pinit's CPU per scrape)."""
        plan = self._src.plan()
        insts = [inst for _, inst in sorted(plan.instances.items())]
        usage = self._usage(insts)
        chunks: list[list[str]] = [[] for _ in FAMILIES]
        kept, fresh = self._kept, {}
        for inst in insts:
            use = usage.get(inst.name)
            hit = kept.get(inst.name)
            if hit is None or hit[0] is not inst or hit[1] != use:
                hit = (inst, use, _instance_lines(inst, use))
            fresh[inst.name] = hit
            for chunk, text in zip(chunks, hit[2], strict=True):
                if text:
                    chunk.append(text)
        self._kept = fresh  # instances gone are forgotten
        fams = []
        for (name, kind, help_text), chunk in zip(FAMILIES, chunks, strict=True):
            fam = Family(name, kind, help_text)
            fam.lines = chunk
            fams.append(fam)
        return [*fams, *self._own(plan)]

    def _own(self, plan: planner.Plan) -> list[Family]:
        orphans, forwarded = self._src.counters()
        out = []
        phase = Family("pinit_phase", "gauge", "1 for pinit's phase")
        for p in planner.Phase:
            phase.add(1 if plan.phase is p else 0, f'phase="{p.value}"')
        out.append(phase)
        for name, help_text, value in (
            ("pinit_orphans_reaped_total", "Orphaned processes pinit reaped", orphans),
            ("pinit_signals_forwarded_total", "Signals pinit forwarded to programs", forwarded),
        ):
            fam = Family(name, "counter", help_text)
            fam.add(value)
            out.append(fam)
        if self.server is not None:
            clients = Family("pinit_http_clients", "gauge", "Connections to the HTTP endpoint")
            clients.add(self.server.clients)
            dropped = Family(
                "pinit_http_dropped_clients_total",
                "counter",
                "HTTP clients dropped for not reading their replies",
            )
            dropped.add(self.server.dropped)
            held = Family(
                "pinit_http_held_total",
                "counter",
                "Times the HTTP endpoint paused for exceeding its CPU share (half of one CPU)",
            )
            held.add(self.server.share.held)
            out += [clients, dropped, held]
        out.append(self._turns.family("pinit_loop_turn_seconds", "Busy time of a loop turn"))
        out.extend(self._process())
        return out

    def _process(self) -> list[Family]:
        """pinit's own figures, named as every Prometheus client names its process metrics."""
        mine = proctree.own()
        out = []
        for key, name, kind, help_text in (
            ("cpu", "process_cpu_seconds_total", "counter", "User and system CPU time"),
            ("rss", "process_resident_memory_bytes", "gauge", "Resident memory size"),
            ("vms", "process_virtual_memory_bytes", "gauge", "Virtual memory size"),
            ("start", "process_start_time_seconds", "gauge", "Start time since the Unix epoch"),
            ("fds", "process_open_fds", "gauge", "Open file descriptors"),
            ("max_fds", "process_max_fds", "gauge", "Limit of open file descriptors"),
        ):
            if key in mine and mine[key] >= 0:
                fam = Family(name, kind, help_text)
                fam.add(mine[key])
                out.append(fam)
        return out
