"""Issue 9 review: ``ctl scale`` during a rolling restart was refused by the operator, while
``model.scale`` is written to call the roll off (the count it rolls over changes under it).
One rule now: a scale calls the roll off and scales."""

from __future__ import annotations

from tests.unit.test_scale_roll import prog, settled


def test_scale_during_a_roll_calls_the_roll_off_and_scales() -> None:
    sim = settled(prog(numprocs=2))
    assert sim.ask("restart", "w", rolling=True)["ok"]
    assert sim.plan.rolls  # under way
    reply = sim.ask("scale", "w", count=4)
    assert reply["ok"], reply
    assert not sim.plan.rolls
    sim.settle()
    assert sorted(k[1] for k in sim.plan.instances if k[0] == "w") == [0, 1, 2, 3]
