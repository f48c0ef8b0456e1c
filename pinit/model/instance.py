"""The value one program instance is: its State and everything the transitions need to remember.

Split from ``state.py`` so that the handlers (``transitions.py``) and the table (``state.py``)
can both import it without a cycle.
"""

from __future__ import annotations

from pinit.config.schema import Program
from pinit.model.events import DOWN, State, TimerEvent
from pinit.model.status import exit_code
from pinit.records import dataclass

__all__ = ["DOWN", "Instance", "Key", "State"]

Key = tuple[str, int]
"""(program name, instance index): the one name of an instance, in the model and the runtime."""


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance (``index`` of ``program.numprocs``) of a program.

    ``pid`` is the main pid until its ``Exited`` arrives; ``pgid`` stays set until ``GroupGone``,
    so "is anything of it still alive" is ``pgid is not None``. ``timers`` is what the model has
    armed and not yet seen fire or disarmed, which lets it drop a stale timeout and disarm
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
    timers: frozenset[TimerEvent] = frozenset()
    probing: bool = False  # a StartProbe is outstanding
    restart_pending: bool = False  # `ctl restart`/`start` while STOPPING: start once STOPPED
    spawns: int = 0  # processes spawned for this instance (`ctl status` restarts = spawns - 1)
    restart_reason: str = ""  # why the next spawn is a restart ("exited", "operator", ...)
    restarts_by_reason: tuple[tuple[str, int], ...] = ()  # restarts done, counted per reason
    live_failures: int = 0  # issue 8: failed liveness attempts in a row (this process)
    # issue 9: what the process said on the notify socket (cleared at each spawn)
    status_text: str = ""  # the last STATUS=
    sub_state: str = ""  # "stopping" (STOPPING=1) | "reloading" (RELOADING=1, until READY=1)
    # issue 9, binds_to: set by the plan itself (not by an event, so that a GroupGone already
    # queued cannot slip past it) while programs bound to this one are still being stopped; an
    # automatic restart then waits in BACKOFF for ``Released``.
    held: bool = False
    # issue 8 (metrics): when the current/last process reached RUNNING and became ready
    running_at: float | None = None
    ready_at: float | None = None

    @property
    def key(self) -> Key:
        return (self.program.name, self.index)

    @property
    def name(self) -> str:
        """``web`` for a single instance, ``web-1``..``web-N`` for several: numbered from 1, as
        PINIT_PROCESS_NUM and the ``pinit-NAME-web-N`` titles are, for humans reading logs."""
        if self.program.numprocs == 1:
            return self.program.name
        return f"{self.program.name}-{self.index + 1}"

    @property
    def live_failing(self) -> bool:
        """Issue 8: its last liveness verdict failed (``/livez``; False without ``live``)."""
        return self.live_failures > 0

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
