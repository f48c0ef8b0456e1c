"""Issue 9 review: ``binds_to`` a target with several instances. Any one instance going down
stopped every dependent (a rolling restart of redis bounced its clients once per instance),
and ``ctl scale redis 0`` restarted the client with no redis at all (``deps_ready`` held
vacuously over zero instances). The target is down only when none of its instances serve; a
target with no instances keeps its dependents stopped."""

from __future__ import annotations

from pinit.model import scale
from pinit.model.actions import Spawn
from pinit.model.instance import State
from tests.unit.modelcore import Core
from tests.unit.test_binds import prog

CLIENT = ("client", 0)


def sim2() -> Core:
    sim = Core(prog("redis", numprocs=2), prog("client", binds_to=("redis",)))
    sim.settle()
    assert sim.state("client") is State.RUNNING
    return sim


def test_one_instance_of_the_target_down_leaves_dependents_running() -> None:
    sim = sim2()
    sim.crash("redis", 1 << 8, index=1)
    sim.settle()
    assert len(sim.actions(("redis", 1), Spawn)) == 2  # restarted
    assert len(sim.actions(CLIENT, Spawn)) == 1  # redis 0 served all along: not bounced
    assert sim.state("client") is State.RUNNING


def test_scale_of_the_target_to_zero_keeps_dependents_stopped() -> None:
    sim = sim2()
    sim.change(lambda p: scale.scale(p, "redis", 0))
    sim.settle()
    assert not [k for k in sim.plan.instances if k[0] == "redis"]
    assert sim.state("client") is State.STOPPED
    assert len(sim.actions(CLIENT, Spawn)) == 1
    sim.change(lambda p: scale.scale(p, "redis", 1))
    sim.settle()
    assert sim.state("redis") is State.RUNNING
    assert sim.state("client") is State.RUNNING  # started again once redis serves
    assert len(sim.actions(CLIENT, Spawn)) == 2
