"""The end of a run: SIGKILL for a stop that cannot wait, and the shutdown's last records.

Imported at the first forced kill or when the loop ends, never on PID 1's start path
(issue 7, speed). The supervisor keeps the decisions that need its state (whether pinit
exits now, its exit code); this module does the work it hands over, with what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pinit.model.instance import Instance, Key
from pinit.runtime.eventring import Recorder
from pinit.runtime.groups import Groups
from pinit.runtime.report import ShutdownReport

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = ["kill", "wind_up"]


def kill(
    keys: tuple[Key, ...],
    reason: str,
    instances: Mapping[Key, Instance],
    record: Recorder,
    groups: Groups,
    *,
    say: Callable[[str], None],
) -> list[str]:
    """SIGKILL now to each instance's group (their StopRequested is queued: they count as
    stopped, not crashed). Returns the names of those not down with no process to kill (a
    spawn that was never answered): no death will ever end their stop (issue 11.3)."""
    stuck, killed = [], []
    for key in keys:
        inst = instances.get(key)
        if inst is None or inst.down:
            continue
        if inst.pgid is not None:
            record.of(key, inst, inst.name, "kill", signal="SIGKILL", reason=reason)
            groups.kill(key, inst.pgid)
            killed.append(inst.name)
        else:
            stuck.append(inst.name)
    if killed:
        say(f"{reason}: SIGKILL to {', '.join(killed)}")
    return stuck


if TYPE_CHECKING:
    from typing import Protocol

    class _Closing(Protocol):
        def close(self) -> None: ...


def wind_up(  # noqa: PLR0917 - the run's last steps, in order
    code: int,
    report: ShutdownReport,
    strays: list[tuple[int, str, str]],
    record: Recorder,
    say: Callable[[str], None],
    endpoints: tuple[_Closing | None, _Closing | None, _Closing],  # http, operator, logs
    notify: _Closing | None,
) -> None:
    """The shutdown's last steps, in this order: the HTTP endpoint closes; the event ring
    gets each stray the final sweep met, then the exit code (issue 8), before the control
    socket closes (`ctl events` followers get them); the logs close, then the shutdown
    report is printed (nothing a program writes comes after it), then the notify socket."""
    http, operator, logs = endpoints
    if http is not None:
        http.close()
    report.strays = strays
    for pid, command, tag in strays:
        record.add("stray", None, tag or None, pid, command=command)
    record.add("done", None, None, None, code=code)
    if operator is not None:
        operator.close()
    logs.close()
    report.print(say)
    if notify is not None:
        notify.close()
