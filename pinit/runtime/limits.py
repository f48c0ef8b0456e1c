"""Issue 9: restarts triggered by resources: ``max_memory`` and ``max_lifetime``.

Imported only when a program sets one of them (nothing on PID 1's start path otherwise), and
costs only what is configured: the memory timer exists only while some program sets
``max_memory``, and each tick takes one pass over /proc for all of them (``usage.Sampler``:
the instance's main pid, its process group and the main pid's descendants, as ``ctl status``
counts them); a lifetime is one loop deadline per instance that sets it.

Both end in ``Recycle(reason)``: the instance, if STARTING or RUNNING (ignored in any other
state, so a verdict never turns an operator's stop into a restart), is stopped gracefully (stop
signal, stop timeout) as an unasked death: its ``restart`` policy, the backoff and the flap
count decide what follows (``model.transitions.stop_unasked``).

Lifetimes roll: at most one instance of a program is being restarted for its lifetime at a
time; one whose lifetime ends meanwhile waits until that one is RUNNING and ready again (or
down), then goes, as a stop-first rolling restart (model/roll.py) would replace them. Each
instance's lifetime is ``max_lifetime * (1 + jitter * U[0, 1))``, drawn at its spawn,
so instances started together spread out on their own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

from pinit.config.schema import Config
from pinit.model.events import Event, Recycle, State
from pinit.model.instance import Instance, Key
from pinit.runtime.loop import Loop, Timer
from pinit.runtime.usage import Sampler

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

if TYPE_CHECKING:
    from pinit.runtime.usage import UsageSampler

__all__ = ["Limits"]


class Limits:
    def __init__(
        self,
        loop: Loop,
        *,
        instances: Callable[[], Mapping[Key, Instance]],
        post: Callable[[Key, Event], None],
        clock: Callable[[], float],
        say: Callable[[str], None],
        sampler: UsageSampler | None = None,
    ) -> None:
        self._loop = loop
        self._instances = instances
        self._post = post
        self._clock = clock
        self._say = say
        self._sampler: UsageSampler = sampler if sampler is not None else Sampler()
        self._rng = random.Random()
        self._interval = 0.0
        self._tick: Timer | None = None
        self._over_since: dict[Key, float] = {}  # instances above max_memory, since when
        self._ends: dict[Key, Timer] = {}  # lifetime deadlines
        self._spawned: dict[Key, float] = {}  # the started_at each deadline was drawn for
        self._recycling: dict[str, tuple[Key, float | None]] = {}  # program -> (instance
        # restarting for its lifetime, the started_at of the process it replaces)
        self._waiting: dict[str, list[Key]] = {}  # program -> lifetimes over, waiting a turn

    # -- configuration -------------------------------------------------------------------------
    def configure(self, config: Config) -> None:
        """At start and at each reload: the memory timer runs only while a program needs it,
        and the lifetimes of programs that no longer set one are forgotten (the supervisor
        reports only instances whose program sets max_lifetime: a recycle under way when a
        reload took it off would never be seen to end, and would hold every later one)."""
        lifetimes = {p.name for p in config.programs if p.max_lifetime > 0}
        for name in [n for n in self._recycling if n not in lifetimes]:
            del self._recycling[name]
            self._waiting.pop(name, None)
        for key in [k for k in self._ends if k[0] not in lifetimes]:
            self._forget(key)
        wanted = any(p.max_memory > 0 for p in config.programs)
        interval = config.memory_interval if wanted else 0.0
        if interval != self._interval:
            if self._tick is not None:
                self._tick.cancel()
                self._tick = None
            self._interval = interval
            if interval > 0:
                self._tick = self._loop.call_later(interval, self._sample)

    # -- memory --------------------------------------------------------------------------------
    def _sample(self) -> None:
        self._tick = self._loop.call_later(self._interval, self._sample)
        watched = {
            key: inst
            for key, inst in self._instances().items()
            if inst.program.max_memory > 0 and inst.state is State.RUNNING
        }
        for key in [k for k in self._over_since if k not in watched]:
            del self._over_since[key]
        if not watched:
            return
        usage = self._sampler.sample(
            {inst.name: (inst.pid, inst.pgid) for inst in watched.values()}
        )
        now = self._clock()
        for key, inst in watched.items():
            use = usage.get(inst.name)
            limit = inst.program.max_memory
            if use is None or use.rss <= limit:
                self._over_since.pop(key, None)
                continue
            since = self._over_since.setdefault(key, now)
            # 0 (the default) is one interval: two samples in a row, so one spike is not
            # enough; half an interval of slack absorbs the timer's own lateness.
            hold = inst.program.max_memory_for or self._interval
            if now - since >= hold - self._interval / 2:
                del self._over_since[key]
                over = f"{_mib(use.rss)} > max_memory {_mib(limit)}"
                self._say(f"{inst.name}: resident memory {over} for {now - since:.3g}s")
                self._post(key, Recycle("memory"))

    # -- lifetime ------------------------------------------------------------------------------
    def changed(self, key: Key, inst: Instance) -> None:
        """Every change of an instance of a program with max_lifetime (the supervisor's hook)."""
        prog = inst.program
        if prog.max_lifetime <= 0:
            self._forget(key)
            return
        if inst.pid is not None and inst.started_at is not None:
            if self._spawned.get(key) != inst.started_at:
                self._spawned[key] = inst.started_at
                self._arm(key, inst.started_at, prog.max_lifetime, prog.max_lifetime_jitter)
        elif key in self._ends and inst.pid is None:
            self._ends.pop(key).cancel()
            self._spawned.pop(key, None)
        recycling = self._recycling.get(prog.name)
        if (
            recycling is not None
            and recycling[0] == key
            and (inst.down or (_serving(inst) and inst.started_at != recycling[1]))
        ):
            self._next(prog.name)

    def _arm(self, key: Key, started: float, lifetime: float, jitter: float) -> None:
        old = self._ends.pop(key, None)
        if old is not None:
            old.cancel()
        deadline = started + lifetime * (1.0 + jitter * self._rng.random())
        self._ends[key] = self._loop.call_at(deadline, lambda: self._over(key))

    def _over(self, key: Key) -> None:
        self._ends.pop(key, None)
        inst = self._instances().get(key)
        if inst is None or inst.program.max_lifetime <= 0:  # a reload took it off
            return
        name = inst.program.name
        if name in self._recycling:
            self._waiting.setdefault(name, []).append(key)
            return
        self._recycle(name, key)

    def _recycle(self, name: str, key: Key) -> None:
        inst = self._instances()[key]
        self._recycling[name] = (key, inst.started_at)
        self._say(f"{inst.name}: max_lifetime reached ({inst.program.max_lifetime:g}s + jitter)")
        self._post(key, Recycle("lifetime"))

    def _next(self, name: str) -> None:
        """The instance restarted for its lifetime is back (or down): the next one may go."""
        del self._recycling[name]
        queue = self._waiting.get(name, [])
        while queue:
            key = queue.pop(0)
            inst = self._instances().get(key)
            if inst is not None and inst.state is State.RUNNING:
                self._recycle(name, key)
                return
        self._waiting.pop(name, None)

    def _forget(self, key: Key) -> None:
        timer = self._ends.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._spawned.pop(key, None)


def _serving(inst: Instance) -> bool:
    """Back in service: the next instance may go (a rolling restart waits for ready too)."""
    return inst.state is State.RUNNING and inst.ready


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f}MiB"
