"""The ``after`` dependency graph: start layers, reverse stop layers, cycles, dependents.

Pure: names in, names out, every result sorted so that the same config always yields the same
plan (a set-ordered plan would make ``pinit check --explain`` output and the shutdown sequence
differ between runs, which is exactly what a reviewer cannot diff).

``after`` entries naming programs that do not exist are ignored here; ``config.load`` reports
them with their key path before a Config is ever built.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinit.config.schema import Program

__all__ = ["dependents", "find_cycle", "start_layers", "stop_layers"]


def _edges(programs: Sequence[Program]) -> dict[str, list[str]]:
    """name -> the known names it must start after, sorted (``binds_to`` implies ``after``)."""
    names = {p.name for p in programs}
    return {p.name: sorted({a for a in (*p.after, *p.binds_to) if a in names}) for p in programs}


def find_cycle(programs: Sequence[Program]) -> list[str] | None:
    """One cycle as ``[a, b, a]`` (first name repeated at the end), or None.

    Depth-first with the classic white/grey/black colouring; roots are visited in sorted order
    so the reported cycle is stable. A self-dependency is the cycle ``[a, a]``.
    """
    edges = _edges(programs)
    state: dict[str, int] = {}  # absent: unvisited, 1: on the current path, 2: done
    for root in sorted(edges):
        if root in state:
            continue
        path: list[str] = [root]
        iters = [iter(edges[root])]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(edges[nxt]))
    return None


def start_layers(programs: Sequence[Program]) -> list[list[str]]:
    """Kahn's algorithm by layer: layer k depends only on layers < k; names sorted in a layer.

    Raises ValueError on a cycle, which a loaded Config never has (load rejects it).
    """
    edges = _edges(programs)
    waiting = {name: set(deps) for name, deps in edges.items()}
    layers: list[list[str]] = []
    while waiting:
        ready = sorted(name for name, deps in waiting.items() if not deps)
        if not ready:
            cycle = find_cycle(programs) or sorted(waiting)
            raise ValueError("dependency cycle: " + " -> ".join(cycle))
        layers.append(ready)
        for name in ready:
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return layers


def stop_layers(programs: Sequence[Program]) -> list[list[str]]:
    """Start layers reversed: a program stops before anything it was started after."""
    return start_layers(programs)[::-1]


def dependents(programs: Sequence[Program], name: str) -> set[str]:
    """Everything that is (transitively) ``after`` ``name``; ``name`` itself excluded."""
    reverse: dict[str, set[str]] = {}
    for prog, deps in _edges(programs).items():
        for dep in deps:
            reverse.setdefault(dep, set()).add(prog)
    found: set[str] = set()
    todo = [name]
    while todo:
        for child in reverse.get(todo.pop(), ()):
            if child not in found and child != name:
                found.add(child)
                todo.append(child)
    return found
