"""Issue 9 review: a reload that set ``max_lifetime = 0`` while an instance was being recycled
for its lifetime left ``Limits._recycling`` set (the supervisor only reports changes of
programs that still set max_lifetime), so once a later reload set it again no lifetime ever
ended again: every deadline queued behind a recycle that was never going to finish. A
reload's ``configure`` now forgets the lifetimes of programs that no longer set one.

Driven on a real loop with real (short) deadlines: the fix is in the runtime's bookkeeping."""

from __future__ import annotations

import time
from dataclasses import replace

from pinit.config.schema import Config
from pinit.model.events import Event, Recycle
from pinit.model.instance import Instance, Key, State
from pinit.runtime.limits import Limits
from pinit.runtime.loop import Loop
from tests.unit.test_state import prog

FIRST, SECOND = ("web", 0), ("web", 1)


def test_a_lifetime_set_again_after_a_reload_took_it_off_mid_recycle_still_ends() -> None:
    loop = Loop()
    web = prog(name="web", numprocs=2, max_lifetime=0.05, max_lifetime_jitter=0.0)
    posted: list[tuple[Key, Event]] = []
    insts: dict[Key, Instance] = {}

    def post(key: Key, ev: Event) -> None:
        posted.append((key, ev))
        loop.stop()

    limits = Limits(
        loop, instances=lambda: insts, post=post, clock=time.monotonic, say=lambda _m: None
    )
    limits.configure(Config(programs=(web,)))

    def run(key: Key, inst: Instance) -> None:
        insts[key] = inst
        limits.changed(key, inst)  # the supervisor reports only programs with max_lifetime
        loop.call_later(5.0, loop.stop)  # bound: a lifetime that never ends fails below
        loop.run()

    now = time.monotonic()
    run(FIRST, Instance(web, 0, state=State.RUNNING, pid=100, started_at=now, ready=True))
    assert posted == [(FIRST, Recycle("lifetime"))]  # being recycled now
    off = replace(web, max_lifetime=0.0)
    limits.configure(Config(programs=(off,)))  # a reload takes the lifetime off meanwhile:
    insts[FIRST] = Instance(off, 0, state=State.RUNNING, pid=101, started_at=now, ready=True)
    back = replace(web, max_lifetime=0.05)  # its restart is not reported (no max_lifetime)
    limits.configure(Config(programs=(back,)))  # and a later reload sets it again
    started = time.monotonic()
    run(SECOND, Instance(back, 1, state=State.RUNNING, pid=102, started_at=started, ready=True))
    assert posted[1:] == [(SECOND, Recycle("lifetime"))]  # not queued behind a stale recycle
    loop.close()
