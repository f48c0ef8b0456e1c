"""One pure core for the model's tests: the model plus a recorded-effects fake of the runtime.

``Core`` keeps the supervisor's side of the contract in ``model/events.py`` without any OS:
actions are recorded (``effects``) and answered the way the runtime answers them (a Spawn with
Spawned, a stop signal with the death of the process, a due timer with its event), events queue
up and are stepped once per turn (``drain``), as ``runtime/supervisor.py`` does in its
after-turn hook. It also checks the model's side of the contract at every step (no two live
pids, no timer armed twice, no signal to a group it believes gone, no ILLEGAL cell reached, ...),
so every test driven through it is also an invariant test. The operator (``runtime/operator.py``)
can be attached to it (``ask``), so `pinit ctl` requests go through the same core.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping

from pinit.config.schema import Backoff, Config, Program
from pinit.control.proto import Request
from pinit.model import plan as P  # noqa: N812 (short, reads like a namespace)
from pinit.model import reload as R  # noqa: N812
from pinit.model import shutdown as S  # noqa: N812
from pinit.model.actions import (
    Action,
    Arm,
    Disarm,
    Emit,
    Extend,
    KillGroup,
    SignalGroup,
    Spawn,
    StartProbe,
    StateChanged,
    StopProbe,
    TrackMain,
)
from pinit.model.events import (
    TIMER_EVENTS,
    Event,
    Exited,
    GroupGone,
    ReadyObserved,
    Spawned,
    SpawnFailed,
    StartRequested,
    StopRequested,
    TimerEvent,
)
from pinit.model.instance import Instance, Key, State
from pinit.model.state import step
from pinit.runtime.operator import Host, Operator
from pinit.runtime.usage import Usage

__all__ = ["Core", "NoSampler", "prog", "settled"]


def prog(name: str = "w", **kw: object) -> Program:
    """A program for the model's tests: 1 s to count as started, a 1 s backoff without jitter
    (histories replay exactly), 5 s to stop; `kw` overrides any field."""
    base: dict[str, object] = {
        "command": (name,),
        "start_seconds": 1.0,
        "backoff": Backoff(initial=1.0, jitter=0.0),
        "stop_timeout": 5.0,
    }
    base.update(kw)
    return Program(name, **base)  # type: ignore[arg-type]


def settled(*programs: Program, **kw: object) -> Core:
    """A core on `programs`, stepped until nothing more happens without time passing."""
    sim = Core(*programs, **kw)
    sim.settle()
    return sim


class NoSampler:
    """``usage.Sampler`` stand-in: unit tests never sample the host's processes."""

    def sample(self, groups: Mapping[str, tuple[int | None, int | None]]) -> dict[str, Usage]:
        return {}


class Core:
    """A plan, its instances, and a fake runtime that records what it was asked to do.

    A process dies of its stop signal unless its program is in ``stubborn`` (then only KILL
    does it); its group is gone at once when it dies. A program in ``unspawnable`` fails to
    spawn (127). Readiness probes succeed at once when ``probe_ok``.
    """

    def __init__(
        self,
        *programs: Program,
        probe_ok: bool = True,
        stubborn: frozenset[str] = frozenset(),
        unspawnable: frozenset[str] = frozenset(),
        boot: bool = True,
        seed: int = 1,
        **config: object,
    ) -> None:
        self.plan = P.initial(Config(programs=programs, **config))  # type: ignore[arg-type]
        self.now = 0.0
        self.rng = random.Random(seed)
        self.probe_ok = probe_ok
        self.stubborn = set(stubborn)
        self.unspawnable = set(unspawnable)
        self.queue: deque[tuple[Key, Event]] = deque()
        self.after_turn: list[Callable[[], None]] = []
        self.next_pid = 100
        # what the runtime knows
        self.alive: dict[Key, int] = {}  # main pid of each live process
        self.timers: dict[tuple[Key, TimerEvent], float] = {}
        # what the model was told (to check its side of the contract)
        self.pids: dict[Key, int] = {}  # Spawned delivered, Exited not yet
        self.groups: set[Key] = set()  # Spawned delivered, GroupGone not yet
        self.spawning: set[Key] = set()  # Spawn issued, not yet answered
        # records
        self.effects: list[tuple[Key, Action]] = []
        self.log: list[P.PlanAction] = []
        self.started: list[Key] = []
        self.stopped: list[Key] = []
        self.exit: int | None = None
        self.operator: Operator | None = None
        if boot:
            self.boot()

    # -- driving ---------------------------------------------------------------------------------
    def boot(self) -> None:
        self.plan, acts = P.boot(self.plan)
        self.plan_acts(acts)
        self.drain()

    def post(self, key: Key, event: Event) -> None:
        self.queue.append((key, event))

    def drain(self) -> None:
        """One turn's end: step every queued event, then run the after-turn callbacks."""
        while self.queue or self.after_turn:
            while self.queue:
                key, event = self.queue.popleft()
                if key in self.plan.instances:
                    self.deliver(key, event)
            callbacks = self.after_turn[:]
            self.after_turn.clear()  # in place: the operator's Host holds its append
            for callback in callbacks:
                callback()

    def tick(self) -> bool:
        """Fire the earliest timer (and what follows); False when none is pending."""
        self.drain()
        if not self.timers:
            return False
        (key, timer), deadline = min(self.timers.items(), key=lambda kv: kv[1])
        del self.timers[(key, timer)]
        self.now = max(self.now, deadline)
        self.post(key, timer)
        self.drain()
        return True

    def settle(self, limit: int = 200) -> None:
        for _ in range(limit):
            if not self.tick():
                return

    def crash(self, name: str, status: int, index: int = 0) -> None:
        self.die((name, index), status)
        self.drain()

    def die(self, key: Key, status: int) -> None:
        pid = self.alive.pop(key)
        self.post(key, Exited(pid, status))
        self.post(key, GroupGone())

    def shutdown(self, reason: str = "SIGTERM") -> None:
        self.plan, acts = S.begin_shutdown(self.plan, reason)
        self.plan_acts(acts)
        self.drain()

    def reload(self, *programs: Program, **config: object) -> None:
        new = Config(programs=programs, **config)  # type: ignore[arg-type]
        self.plan, acts = R.apply_reload(self.plan, new)
        self.plan_acts(acts)
        self.drain()

    def change(self, decide: Callable[[P.Plan], tuple[P.Plan, tuple[P.PlanAction, ...]]]) -> None:
        """A container-wide decision (issue 9: scale, roll), applied as the supervisor does."""
        self.plan, acts = decide(self.plan)
        self.plan_acts(acts)

    # -- reading ---------------------------------------------------------------------------------
    def inst(self, name: str, index: int = 0) -> Instance:
        return self.plan.instances[(name, index)]

    def state(self, name: str, index: int = 0) -> State:
        return self.inst(name, index).state

    def actions(self, key: Key, kind: type[Action]) -> list[Action]:
        return [a for k, a in self.effects if k == key and isinstance(a, kind)]

    # -- the operator ----------------------------------------------------------------------------
    def ask(self, cmd: str, target: str = "", **kw: object) -> dict[str, object]:
        """A `pinit ctl` request through runtime/operator.py, answered after the turn."""
        if self.operator is None:
            host = Host(
                lambda: self.plan,
                self.post,
                self.after_turn.append,
                lambda: [],
                lambda cb: cb(),
                self.change,
            )
            self.operator = Operator(host, lambda _msg: None, NoSampler())
        got: list[dict[str, object]] = []
        self.operator.handle(Request(cmd, target, **kw), got.append)  # type: ignore[arg-type]
        self.drain()
        assert len(got) == 1
        return got[0]

    # -- the fake runtime --------------------------------------------------------------------------
    def plan_acts(self, acts: tuple[P.PlanAction, ...]) -> None:
        for a in acts:
            self.log.append(a)
            if isinstance(a, P.StartInstance):
                self.started.append(a.key)
                self.post(a.key, StartRequested())
            elif isinstance(a, P.StopInstance):
                self.stopped.append(a.key)
                self.post(a.key, StopRequested())
            elif isinstance(a, P.Deliver):
                self.post(a.key, a.event)
            elif isinstance(a, P.ExitContainer):
                assert self.exit is None, "ExitContainer twice"
                self.exit = a.code
            elif isinstance(a, P.KillInstances):  # after their StopInstance, as the runtime
                for key in a.keys:
                    if key in self.alive:
                        self.die(key, 9)

    def deliver(self, key: Key, ev: Event) -> None:
        """Step one event now, execute its actions, hand a changed instance to the plan."""
        inst = self.plan.instances[key]
        new, acts = step(inst, ev, self.now, self.rng)
        self._saw(key, ev)
        for a in acts:
            self.effects.append((key, a))
            self._check(key, new, a)
            self._execute(key, new, a)
        self._check_after(key, inst, new, acts)
        if new != inst:
            self.plan, pacts = P.on_instance_change(self.plan, key, new)
            self.plan_acts(pacts)

    def _saw(self, key: Key, ev: Event) -> None:
        if isinstance(ev, TIMER_EVENTS):
            self.timers.pop((key, ev), None)  # delivered: the runtime forgets it (fire())
        elif isinstance(ev, Spawned):
            self.spawning.discard(key)
            self.groups.add(key)
            self.pids[key] = ev.pid
        elif isinstance(ev, Exited) and self.pids.get(key) == ev.pid:
            del self.pids[key]
        elif isinstance(ev, SpawnFailed):
            self.spawning.discard(key)
        elif isinstance(ev, GroupGone):
            self.groups.discard(key)

    def _execute(self, key: Key, inst: Instance, a: Action) -> None:
        if isinstance(a, Spawn):
            self.spawning.add(key)
            if inst.program.name in self.unspawnable:
                self.post(key, SpawnFailed("not found", 127))
            else:
                self.next_pid += 1
                self.alive[key] = self.next_pid
                self.post(key, Spawned(self.next_pid, self.next_pid))
        elif isinstance(a, SignalGroup):
            if a.stop and key in self.alive and inst.program.name not in self.stubborn:
                self.die(key, int(a.sig))
        elif isinstance(a, KillGroup):
            if key in self.alive:
                self.die(key, 9)
        elif isinstance(a, Arm):
            self.timers[(key, a.timer)] = a.deadline
        elif isinstance(a, Disarm):
            del self.timers[(key, a.timer)]
        elif isinstance(a, StartProbe) and self.probe_ok:
            self.post(key, ReadyObserved())
        elif isinstance(a, Extend):  # issue 9: later, never earlier
            if (key, a.timer) in self.timers:
                self.timers[(key, a.timer)] = max(self.timers[(key, a.timer)], a.deadline)
        elif isinstance(a, TrackMain):  # issue 9: MAINPID=
            self.alive[key] = self.pids[key] = a.new

    # -- the model's side of the contract ----------------------------------------------------------
    def _check(self, key: Key, inst: Instance, a: Action) -> None:
        if isinstance(a, Spawn):
            assert key not in self.pids, "two live pids for one instance"
            assert key not in self.groups, "spawned before the old group was gone"
            assert key not in self.spawning, "a second Spawn before the first was answered"
            assert inst.state is State.STARTING and not inst.stop_requested
        elif isinstance(a, Arm):
            assert (key, a.timer) not in self.timers, f"{a.timer} armed twice"
            assert a.deadline >= self.now
        elif isinstance(a, Disarm):
            assert (key, a.timer) in self.timers, f"{a.timer} disarmed but not armed"
        elif isinstance(a, SignalGroup | KillGroup):
            assert key in self.groups, "signal to a group the model was told is gone"
        elif isinstance(a, Emit):
            assert "unexpected" not in a.message, a.message  # an ILLEGAL cell was reached
        elif isinstance(a, StartProbe | StopProbe):
            assert key in self.groups

    def _check_after(
        self, key: Key, before: Instance, inst: Instance, acts: tuple[Action, ...]
    ) -> None:
        armed = {t for (k, t) in self.timers if k == key}
        assert armed == set(inst.timers)
        if inst.state in (State.STOPPING, State.CLEANUP):
            assert not any(isinstance(a, Spawn) for a in acts)
        if inst.down:
            assert not armed
            assert (inst.pid, inst.pgid) == (None, None)
        if inst.state is not before.state:
            assert acts[-1] == StateChanged(before.state, inst.state)
        if inst.ready:
            assert inst.state is State.RUNNING
        if inst.state is State.RUNNING:
            assert inst.pid is not None and inst.pid == self.pids.get(key)
        if inst.state is State.STARTING:
            assert (inst.pid is None) == (key in self.spawning)
