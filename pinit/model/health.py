"""Issue 8: is the container healthy? The verdict behind `pinit ctl health` (exec probes).

Pure, like the rest of the model: a plan in, the problems out (one short phrase each, for the
one line a Kubernetes probe shows in `kubectl describe pod`). No problem means healthy.

Who is looked at: the named programs or instances, else every critical one (``[pinit].main``
and ``critical = true``: their end is the container's), else, when none is critical, every
``autostart`` program. Healthy means RUNNING (and ready, when readiness is asked), or a
one-shot that finished with a success code (an exited migration job is done, not down: the
rule ``after`` uses, ``plan._satisfies_after``). While pinit shuts down nothing is healthy.

A failing liveness probe is not a problem here until it has pinit restart the program: pinit
acts on it itself, and a Kubernetes probe counting the same failures would kill the whole
container for what pinit repairs in one program.
"""

from __future__ import annotations

from collections.abc import Sequence

from pinit.config.schema import Restart
from pinit.model import policy
from pinit.model.instance import Instance, State
from pinit.model.plan import Phase, Plan
from pinit.model.status import exit_code, signal_name

__all__ = ["problems", "watched"]


def watched(plan: Plan, names: Sequence[str]) -> list[Instance] | str:
    """The instances a health check looks at, in key order; an error message for an unknown
    name."""
    insts = [plan.instances[k] for k in sorted(plan.instances)]
    if names:
        unknown = [n for n in names if not any(n in (i.program.name, i.name) for i in insts)]
        if unknown:
            known = ", ".join(sorted({i.program.name for i in insts})) or "none"
            return f"no program or instance {', '.join(map(repr, unknown))} (known: {known})"
        return [i for i in insts if i.program.name in names or i.name in names]
    main = plan.config.main
    critical = [i for i in insts if i.program.critical or i.program.name == main]
    return critical or [i for i in insts if i.program.autostart]


def problems(plan: Plan, insts: Sequence[Instance], ready: bool) -> list[str]:
    """What is wrong with these instances, one phrase each; [] when healthy."""
    if plan.phase in (Phase.SHUTTING_DOWN, Phase.DONE):
        return [
            f"pinit is shutting down ({plan.reason})" if plan.reason else "pinit is shutting down"
        ]
    return [p for p in (_problem(i, ready) for i in insts) if p]


def _problem(inst: Instance, ready: bool) -> str:
    state, name = inst.state, inst.name
    if state is State.RUNNING:
        return f"{name}: RUNNING, not ready" if ready and not inst.ready else ""
    last = _last(inst)
    if state is State.EXITED and _done(inst):
        return ""
    label = f"{name}: {state.name}"
    if state is State.BACKOFF:
        return f"{label} ({last}), restarting"
    if state is State.FATAL:
        return f"{label} (gave up after {inst.attempts} failed starts; {last})"
    if state is State.EXITED:
        return f"{label} ({last}), not restarted"
    if state is State.CLEANUP:
        return f"{label} ({last}), stopping the rest of its group"
    if state is State.STOPPED and inst.stop_requested:
        return f"{label} (by request)"
    return label


def _done(inst: Instance) -> bool:
    """A one-shot that finished with a success code, which nothing will restart (and not one
    its liveness probe stopped, whatever code it then exited with)."""
    status = inst.last_status
    return (
        status is not None
        and not inst.live_failing
        and inst.program.restart is not Restart.ALWAYS
        and policy.is_expected(inst.program, status)
    )


def _last(inst: Instance) -> str:
    status = inst.last_status
    if status is None:
        return "never ran"
    if status & 0x7F == 0:
        return f"exited {exit_code(status)}"
    return f"killed by {signal_name(status & 0x7F)}"
