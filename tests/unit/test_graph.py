"""config.graph: layers, cycles, dependents; deterministic whatever the input order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinit.config.graph import dependents, find_cycle, start_layers, stop_layers
from pinit.config.schema import Program


def progs(**after: str) -> list[Program]:
    """progs(a="", b="a", c="a b") -> programs a, b after a, c after a and b."""
    return [Program(name=n, command=("x",), after=tuple(deps.split())) for n, deps in after.items()]


def test_independent_programs_share_one_sorted_layer() -> None:
    assert start_layers(progs(c="", a="", b="")) == [["a", "b", "c"]]


def test_diamond() -> None:
    ps = progs(top="left right", left="base", right="base", base="")
    assert start_layers(ps) == [["base"], ["left", "right"], ["top"]]
    assert stop_layers(ps) == [["top"], ["left", "right"], ["base"]]
    assert dependents(ps, "base") == {"left", "right", "top"}
    assert dependents(ps, "left") == {"top"}
    assert dependents(ps, "top") == set()
    assert find_cycle(ps) is None


def test_layer_depends_only_on_earlier_layers() -> None:
    ps = progs(a="", b="a", c="b", d="a", e="c d")
    layers = start_layers(ps)
    assert layers == [["a"], ["b", "d"], ["c"], ["e"]]
    seen: set[str] = set()
    by_name = {p.name: p for p in ps}
    for layer in layers:
        for name in layer:
            assert set(by_name[name].after) <= seen
        seen.update(layer)


def test_result_does_not_depend_on_input_order() -> None:
    ps = progs(a="", b="a", c="a", d="b c", e="")
    expected = start_layers(ps)
    for perm in itertools.permutations(ps):
        assert start_layers(list(perm)) == expected


def test_cycle_is_reported_with_first_name_repeated() -> None:
    assert find_cycle(progs(a="b", b="c", c="a")) == ["a", "b", "c", "a"]
    assert find_cycle(progs(x="", a="b", b="a")) == ["a", "b", "a"]


def test_self_dependency_is_a_cycle() -> None:
    assert find_cycle(progs(a="a")) == ["a", "a"]


def test_cycle_reachable_only_from_a_tail() -> None:
    assert find_cycle(progs(a="b", b="c", c="b")) == ["b", "c", "b"]


def test_start_layers_refuse_a_cycle() -> None:
    with pytest.raises(ValueError, match="dependency cycle: a -> b -> a"):
        start_layers(progs(a="b", b="a", c=""))


def test_unknown_dependencies_are_ignored() -> None:
    ps = progs(a="ghost", b="a")
    assert start_layers(ps) == [["a"], ["b"]]
    assert dependents(ps, "ghost") == set()


def test_dependents_survive_shared_paths() -> None:
    ps = progs(a="", b="a", c="a b", d="c")
    assert dependents(ps, "a") == {"b", "c", "d"}


@given(st.lists(st.lists(st.integers(0, 7), max_size=3), min_size=1, max_size=8))
def test_random_graphs_layer_or_cycle(edges: list[list[int]]) -> None:
    ps = [
        Program(name=f"p{i}", command=("x",), after=tuple(f"p{j}" for j in deps if j < len(edges)))
        for i, deps in enumerate(edges)
    ]
    cycle = find_cycle(ps)
    if cycle is None:
        layers = start_layers(ps)
        assert sorted(itertools.chain(*layers)) == sorted(p.name for p in ps)
        index = {n: k for k, layer in enumerate(layers) for n in layer}
        for p in ps:
            assert all(index[d] < index[p.name] for d in p.after)
    else:
        assert cycle[0] == cycle[-1]
        by_name = {p.name: p for p in ps}
        for x, y in itertools.pairwise(cycle):
            assert y in by_name[x].after
        with pytest.raises(ValueError):
            start_layers(ps)
