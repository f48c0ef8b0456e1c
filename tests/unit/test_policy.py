"""Restart policy: pure functions, checked by example and by property."""

from __future__ import annotations

import random
import signal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinit.config.schema import Backoff, Program, Restart
from pinit.model.policy import (
    backoff_delay,
    exit_code,
    is_flapping,
    is_graceful,
    prune_restarts,
    should_restart,
)


def prog(**kw: object) -> Program:
    return Program("p", ("p",), **kw)  # type: ignore[arg-type]


EXIT0, EXIT1, EXIT143, SIGTERM_DEATH, SIGKILL_DEATH, SIGINT_DEATH = 0, 256, 143 << 8, 15, 9, 2


@pytest.mark.parametrize(
    ("restart", "status", "stop_requested", "expected"),
    [
        (Restart.ALWAYS, EXIT0, False, True),
        (Restart.ALWAYS, EXIT1, True, False),
        (Restart.ON_FAILURE, EXIT0, False, False),
        (Restart.ON_FAILURE, EXIT1, False, True),
        (Restart.ON_FAILURE, SIGKILL_DEATH, False, True),
        (Restart.ON_FAILURE, SIGKILL_DEATH, True, False),
        (Restart.NEVER, EXIT1, False, False),
    ],
)
def test_should_restart(
    restart: Restart, status: int, stop_requested: bool, expected: bool
) -> None:
    assert should_restart(prog(restart=restart), status, stop_requested) is expected


def test_should_restart_honours_exit_codes() -> None:
    p = prog(restart=Restart.ON_FAILURE, exit_codes=frozenset({0, 2}))
    assert not should_restart(p, 2 << 8, False)
    assert should_restart(p, 3 << 8, False)


@pytest.mark.parametrize(
    ("status", "stop_requested", "expected"),
    [
        (EXIT0, True, True),
        (EXIT143, True, True),
        (SIGTERM_DEATH, True, True),
        (SIGKILL_DEATH, True, False),
        (EXIT1, True, False),
        (EXIT0, False, False),
    ],
)
def test_is_graceful(status: int, stop_requested: bool, expected: bool) -> None:
    assert is_graceful(prog(), status, stop_requested) is expected


def test_death_by_configured_stop_signal_is_graceful() -> None:
    p = prog(stop_signal=signal.SIGINT)
    assert is_graceful(p, SIGINT_DEATH, True)
    assert not is_graceful(prog(), SIGINT_DEATH, True)


def test_exit_code() -> None:
    assert exit_code(EXIT1) == 1
    assert exit_code(SIGKILL_DEATH) == 137


def test_backoff_sequence_without_jitter() -> None:
    b = Backoff(initial=0.5, max=5.0, factor=2.0, jitter=0.0)
    rng = random.Random(0)
    assert [backoff_delay(b, n, rng) for n in range(7)] == [0.0, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_zero_initial_is_no_delay() -> None:
    assert backoff_delay(Backoff(initial=0.0), 5, random.Random(0)) == 0.0


def test_backoff_huge_attempt_does_not_overflow() -> None:
    b = Backoff(initial=1.0, max=30.0, factor=10.0, jitter=0.0)
    assert backoff_delay(b, 10**9, random.Random(0)) == 30.0


@given(
    st.floats(0, 100),
    st.floats(0, 1000),
    st.floats(1, 10),
    st.floats(0, 2),
    st.integers(-1, 10_000),
    st.integers(0, 2**32),
)
def test_backoff_bounds(
    initial: float, cap: float, factor: float, jitter: float, attempt: int, seed: int
) -> None:
    b = Backoff(initial=initial, max=cap, factor=factor, jitter=jitter)
    d = backoff_delay(b, attempt, random.Random(seed))
    assert d >= 0.0
    if attempt <= 0:
        assert d == 0.0
    assert d <= cap * (1 + jitter) + 1e-9
    assert d == backoff_delay(b, attempt, random.Random(seed))


def test_flapping_window() -> None:
    assert not is_flapping((1.0, 2.0, 3.0), 3.0, 10.0, 3)
    assert is_flapping((1.0, 2.0, 3.0, 4.0), 4.0, 10.0, 3)
    assert not is_flapping((1.0, 2.0, 3.0, 4.0), 11.5, 10.0, 3)  # 1.0 fell out
    assert prune_restarts((1.0, 5.0, 9.0), 12.0, 10.0) == (5.0, 9.0)
