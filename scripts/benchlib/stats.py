"""Median [min-max] summaries: the median resists the odd slow sample a busy 2-core box makes."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Summary | None:
        kept = [v for v in values if v is not None]
        if not kept:
            return None
        return cls(statistics.median(kept), min(kept), max(kept), len(kept))

    def text(self, digits: int = 2) -> str:
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


def cell(summary: Summary | None, digits: int = 2) -> str:
    return "-" if summary is None else summary.text(digits)


def ratio(mine: Summary | None, theirs: Summary | None) -> str:
    """pinit's median over the peer's; x1.00 is parity, above is worse for every metric here."""
    if mine is None or theirs is None or theirs.median == 0:
        return "-"
    return f"{mine.median / theirs.median:.2f}x"
