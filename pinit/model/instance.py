"""The value one program instance is: its State and everything the transitions need to remember.

Split from ``state.py`` only so that the handlers (``transitions.py``) and the table
(``state.py``) can both import it without a cycle; ``state.py`` re-exports both names.
"""

from __future__ import annotations

import enum

from pinit.config.schema import Program
from pinit.model.events import exit_code
from pinit.records import dataclass

__all__ = ["DOWN", "Instance", "State"]


class State(enum.Enum):
    """supervisord's process states, plus CLEANUP.

    READY is deliberately a flag (``Instance.ready``), not a state: readiness is orthogonal to
    "is it up" (a RUNNING program may still be warming up), and a separate state would double
    every row of the table for no new behaviour. An instance is ready only while RUNNING.

    CLEANUP is the systemd ``KillMode=control-group`` step that supervisord lacks: the main pid
    died (or failed its readiness), and the rest of its group is being stopped — stop signal,
    then KILL after ``stop_timeout`` — before the instance may go on to BACKOFF, a restart,
    EXITED or FATAL. ``Instance.after_cleanup`` holds where it goes next.
    """

    STOPPED = "stopped"  # not running, by request (or never started)
    STARTING = "starting"  # spawned (or spawning); must survive start_seconds / become ready
    RUNNING = "running"  # survived start_seconds or proved ready; `ready` tells which
    BACKOFF = "backoff"  # waiting out the backoff delay before the next start
    STOPPING = "stopping"  # stop signal sent on request; waiting for Exited + GroupGone
    CLEANUP = "cleanup"  # main pid died unasked; stopping the rest of its group
    EXITED = "exited"  # ended and the policy says not to restart it
    FATAL = "fatal"  # gave up: more than start_retries consecutive failed starts


DOWN = frozenset({State.STOPPED, State.EXITED, State.FATAL})
"""States with no process and no pending timer: nothing will happen without a StartRequested."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance (``index`` of ``program.numprocs``) of a program.

    ``pid`` is the main pid until its ``Exited`` arrives; ``pgid`` stays set until ``GroupGone``,
    so "is anything of it still alive" is ``pgid is not None``. ``timers`` is what the model has
    armed and not yet seen fire or disarmed, which lets it drop a stale ``TimerFired`` and disarm
    everything it owns when it leaves a state.
    """

    program: Program
    index: int = 0
    state: State = State.STOPPED
    pid: int | None = None
    pgid: int | None = None
    attempts: int = 0  # consecutive failed starts (supervisord: only STARTING failures count)
    started_at: float | None = None  # when the current/last process was spawned
    restarts: tuple[float, ...] = ()  # automatic restart times inside program.flap_window
    ready: bool = False
    last_status: int | None = None  # raw waitpid status; a SpawnFailed code is stored as code<<8
    stop_requested: bool = False  # a StopRequested since the last StartRequested
    exit_on_stop: bool = False  # the last process ended while we were stopping it on request
    after_cleanup: State | None = None  # CLEANUP only: where to go once the group is gone
    timers: frozenset[str] = frozenset()
    probing: bool = False  # a StartProbe is outstanding

    @property
    def key(self) -> tuple[str, int]:
        return (self.program.name, self.index)

    @property
    def name(self) -> str:
        """``web`` for a single instance, ``web-1``..``web-N`` for several: numbered from 1, as
        PINIT_PROCESS_NUM and the ``pinit-NAME-web-N`` titles are, for humans reading logs."""
        if self.program.numprocs == 1:
            return self.program.name
        return f"{self.program.name}-{self.index + 1}"

    @property
    def exit_code(self) -> int | None:
        """The last status as a shell reports it (128+N for a signal), or None if it never ran."""
        return None if self.last_status is None else exit_code(self.last_status)

    @property
    def down(self) -> bool:
        # Identity tests, not `in DOWN`: Enum.__hash__ is Python code, and the plan asks this
        # of every instance on every change (~900k times while 500 programs start and stop).
        state = self.state
        return state is State.STOPPED or state is State.EXITED or state is State.FATAL
