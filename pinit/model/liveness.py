"""Issue 8: the cells of the liveness verdicts (``LiveFailed``, ``LiveOk``) in RUNNING.

Kubernetes' livenessProbe, per program: ``live.failures`` failed attempts in a row and the
kubelet kills the container, then the pod's restartPolicy decides. pinit does the same to one
program: the failure that reaches the threshold stops the process group as an unasked death
would (CLEANUP: ``stop_signal``, SIGKILL after ``stop_timeout``), and the program's own
``restart`` policy decides where it goes once the group is gone:

* ``always`` / ``on-failure``: restarted through BACKOFF, as after a crash (flap counting and
  the backoff delay apply; a process that was RUNNING restarts with ``attempts`` at 0, so at
  ``backoff.initial``), counted under the reason ``"liveness"``. A liveness kill is a failure
  whatever code the stopped process exits with (Kubernetes' OnFailure restarts it too).
* ``never``: left EXITED, as Kubernetes leaves a container killed by its liveness probe under
  ``restartPolicy: Never``; a main or critical program then ends the container (``plan``).

This is deliberately not ``RestartRequested``: that is an operator's stop-then-start, which
sets ``stop_requested`` and skips the policy, the backoff and the flap count.

Verdicts outside RUNNING are IGNOREd (``state.py``): the runtime probes only a RUNNING instance,
and one queued in the same turn as the state change arrives late.
"""

from __future__ import annotations

from pinit.config.schema import Restart
from pinit.model.actions import Verdict
from pinit.model.events import Event
from pinit.model.step import Step
from pinit.model.transitions import stop_unasked

__all__ = ["live_failed", "live_ok"]

REASON = "liveness"


def live_failed(s: Step, _ev: Event) -> None:
    live = s.inst.program.live
    count = s.inst.live_failures + 1
    s.set(live_failures=count)
    if live is None:  # a verdict for a program a reload took `live` from: count, no action
        return
    s.actions.append(Verdict("live", False, f"failed {count} of {live.failures}"))
    if count < live.failures:
        s.emit("warn", f"liveness probe failed ({count} of {live.failures})")
        return
    restart = s.inst.program.restart is not Restart.NEVER
    then = "restarting" if restart else 'restart = "never": leaving it stopped'
    s.emit("error", f"liveness probe failed {count} times in a row: {then}")
    stop_unasked(s, REASON)


def live_ok(s: Step, _ev: Event) -> None:
    if s.inst.live_failures:  # an event only when it changes: not one per passing probe
        s.actions.append(Verdict("live", True, f"ok after {s.inst.live_failures} failure(s)"))
        s.emit("info", f"liveness probe ok again after {s.inst.live_failures} failure(s)")
        s.set(live_failures=0)
