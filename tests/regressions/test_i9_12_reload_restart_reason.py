"""Issue 9 review: a reload that changed a running program restarted it (``ctl status``
restarts 1) but counted no reason (``restarts_by_reason`` {}), so pinit_program_restarts_total
never saw reload restarts. They count as "reload" now, and a rolling replacement as "rolling";
the counts from before the reload are kept, as ``spawns`` is."""

from __future__ import annotations

from dataclasses import replace

from pinit.config.schema import Rolling
from pinit.model import roll
from pinit.model.instance import State
from tests.unit.modelcore import Core
from tests.unit.test_state import prog


def test_a_reload_restart_counts_as_reload() -> None:
    web = prog(name="web", start_seconds=0.0)
    sim = Core(web)
    sim.settle()
    sim.crash("web", 1 << 8)
    sim.settle()
    assert sim.inst("web").restarts_by_reason == (("exited", 1),)
    sim.reload(replace(web, command=("web", "--v2")))
    sim.settle()
    inst = sim.inst("web")
    assert inst.state is State.RUNNING and inst.spawns == 3
    assert inst.restarts_by_reason == (("exited", 1), ("reload", 1))


def test_a_rolling_replacement_counts_as_rolling() -> None:
    web = prog(name="web", start_seconds=0.0, numprocs=2, rolling=Rolling.STOP_FIRST)
    sim = Core(web)
    sim.settle()
    sim.change(lambda p: roll.begin(p, "web"))
    sim.settle()
    for i in range(2):
        assert sim.inst("web", i).restarts_by_reason == (("rolling", 1),)
    sim.reload(replace(web, command=("web", "--v2")))  # rolling set: a reload rolls too
    sim.settle()
    for i in range(2):
        assert sim.inst("web", i).restarts_by_reason == (("rolling", 2),)
