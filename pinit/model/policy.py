"""Restart policy: whether to restart, how long to wait, when restarts are flapping.

Pure functions of the Program and the facts at hand; the clock and the RNG come in as arguments
(DESIGN §2d), so a replayed history gives the same delays every time.
"""

from __future__ import annotations

from pinit.config.schema import Backoff, Program, Restart
from pinit.model.status import exit_code

TYPE_CHECKING = False  # typing's, without importing typing at run time (issue 7, start)

__all__ = [
    "Rng",
    "backoff_delay",
    "exit_code",
    "is_expected",
    "is_flapping",
    "is_graceful",
    "prune_restarts",
    "should_restart",
]


def is_expected(program: Program, status: int) -> bool:
    """The exit code is one the program declared as success (supervisord's ``exitcodes``)."""
    return exit_code(status) in program.exit_codes


def should_restart(program: Program, status: int, stop_requested: bool) -> bool:
    """supervisord's ``autorestart`` (true / unexpected / false) with systemd's names.

    A death we asked for is never restarted: the operator or the shutdown wanted it gone. A
    signal death maps to 128+N, which is not in a sane ``exit_codes``, so ``on-failure``
    restarts a SIGKILLed program as systemd's ``Restart=on-failure`` does.
    """
    if stop_requested or program.restart is Restart.NEVER:
        return False
    if program.restart is Restart.ALWAYS:
        return True
    return not is_expected(program, status)


def is_graceful(program: Program, status: int, stop_requested: bool) -> bool:
    """A stop we asked for that ended cleanly: a graceful code, or death by the stop signal.

    Many programs never install a TERM handler and simply die of it (status 143 in shell terms);
    that is still a clean stop, which is why 143 is in the default ``graceful_exit_codes`` and why
    dying of the configured ``stop_signal`` counts too. Being SIGKILLed after the stop timeout
    (137) is not graceful. A death nobody asked for is never graceful.
    """
    if not stop_requested:
        return False
    code = exit_code(status)
    return code in program.graceful_exit_codes or code == 128 + int(program.stop_signal)


if TYPE_CHECKING:
    from typing import Protocol

    class Rng(Protocol):
        """What the model needs of a `random.Random`: the runtime passes one created at the first
        jitter, so PID 1's start does not import `random` (issue 7, speed)."""

        def uniform(self, a: float, b: float, /) -> float: ...


def backoff_delay(backoff: Backoff, attempt: int, rng: Rng) -> float:
    """``initial * factor**(attempt-1)``, capped at ``max``, with +-``jitter`` of itself.

    Attempt 0 means "no failed start yet" and gets no delay at all: a long-running program that
    crashes is restarted at once, as supervisord does (its backoff grows only with STARTING
    failures). Jitter spreads the restarts of many instances crashing together (a shared
    dependency went away) so they do not stampede it again in lockstep.
    """
    if attempt <= 0 or backoff.initial <= 0:
        return 0.0
    exponent = min(attempt - 1, 1024)  # factor**huge overflows to inf or raises; cap first
    try:
        base = backoff.initial * backoff.factor**exponent
    except OverflowError:
        base = backoff.max
    delay = min(base, backoff.max)
    if backoff.jitter > 0:
        delay += delay * rng.uniform(-backoff.jitter, backoff.jitter)
    return max(delay, 0.0)


def prune_restarts(restarts: tuple[float, ...], now: float, window: float) -> tuple[float, ...]:
    """Drop restart times that fell out of the flapping window (kept bounded by the window)."""
    return tuple(t for t in restarts if now - t < window)


def is_flapping(restarts: tuple[float, ...], now: float, window: float, max_restarts: int) -> bool:
    """More than ``max_restarts`` restarts inside ``window`` seconds before ``now``.

    systemd's ``StartLimitBurst``/``StartLimitIntervalSec``: each run may outlive
    ``start_seconds`` (so supervisord would never give up), yet a crash every few seconds for
    minutes is a broken program, not a transient failure.
    """
    return len(prune_restarts(restarts, now, window)) > max_restarts
