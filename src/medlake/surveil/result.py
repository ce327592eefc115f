"""One evaluated stretch of a series: what every detection algorithm returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    """Per evaluated period: its 0-based index in the series, the count, the expected count,
    the upper bound and the alarm. ``upperbound`` is NaN where the algorithm gives none (R's NA);
    ``alarm`` is then None, as R's NA."""

    index: np.ndarray
    count: np.ndarray
    expected: np.ndarray
    upperbound: np.ndarray
    alarm: list[bool | None]

    @classmethod
    def from_bounds(
        cls, index: np.ndarray, count: np.ndarray, expected: np.ndarray, upperbound: np.ndarray
    ) -> Detection:
        """Alarm when the count exceeds the bound (R: ``observed > upperbound``, NA where the bound is)."""
        alarm = [None if np.isnan(u) else bool(c > u) for c, u in zip(count, upperbound, strict=True)]
        return cls(index, count, expected, upperbound, alarm)
