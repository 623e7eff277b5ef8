"""Summaries of raw samples: median with spread, and a flag for unstable cases."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

#: A case is flagged unstable when its interquartile range exceeds this fraction of
#: its median, or (with fewer than four samples, where quartiles mean little) when
#: its min-max range does.
UNSTABLE_RELATIVE_SPREAD = 0.25
#: The confidence asked of the interval around a median.
CI_LEVEL = 0.95


def median_interval(sorted_values: np.ndarray, level: float = CI_LEVEL
                    ) -> tuple[float, float, float]:
    """A distribution-free confidence interval of the median from order statistics.

    Returns ``(low, high, coverage)``: the narrowest interval ``[x_(j), x_(n+1-j)]`` whose
    coverage, ``P(j <= B <= n - j)`` for ``B ~ Binomial(n, 1/2)``, is at least ``level``.
    With too few samples for that (fewer than 6 for 95%), it is the whole range, and
    ``coverage`` says how much confidence that range carries (93.75% for 5 samples).
    """
    n = sorted_values.size
    if n == 1:
        value = float(sorted_values[0])
        return value, value, 0.0

    def coverage(j: int) -> float:
        # P(B < j) = P(B > n - j) by symmetry; the interval misses when either happens.
        return 1.0 - 2.0 * sum(math.comb(n, k) for k in range(j)) / 2.0**n

    j = 1
    while j + 1 <= n - j and coverage(j + 1) >= level:
        j += 1
    return float(sorted_values[j - 1]), float(sorted_values[n - j]), coverage(j)


@dataclass(frozen=True)
class Summary:
    """Median, quartiles and extremes of one case's samples."""

    n: int
    median: float
    q1: float
    q3: float
    min: float
    max: float
    #: A confidence interval of the median (see :func:`median_interval`) and its coverage.
    ci_low: float = math.nan
    ci_high: float = math.nan
    ci_coverage: float = 0.0

    @property
    def relative_iqr(self) -> float:
        """Interquartile range divided by the median (0 when the median is 0)."""
        return (self.q3 - self.q1) / self.median if self.median else 0.0

    @property
    def relative_range(self) -> float:
        """Max minus min divided by the median (0 when the median is 0)."""
        return (self.max - self.min) / self.median if self.median else 0.0

    @property
    def unstable(self) -> bool:
        """True when the spread is too large for the median to speak for the case."""
        spread = self.relative_iqr if self.n >= 4 else self.relative_range
        return spread > UNSTABLE_RELATIVE_SPREAD

    def as_dict(self) -> dict[str, float | int | bool]:
        """Plain-data form, with the derived spread fields, for tables and JSON."""
        data = asdict(self)
        data.update(
            relative_iqr=self.relative_iqr,
            relative_range=self.relative_range,
            unstable=self.unstable,
        )
        return data


def summarize(samples: list[float]) -> Summary:
    """Summarise samples with numpy's percentiles (linear interpolation)."""
    if len(samples) == 0:
        raise ValueError("cannot summarise an empty list of samples")
    values = np.asarray(samples, dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError("samples must be finite numbers")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    ci_low, ci_high, ci_coverage = median_interval(np.sort(values))
    return Summary(
        n=int(values.size),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        min=float(values.min()),
        max=float(values.max()),
        ci_low=ci_low,
        ci_high=ci_high,
        ci_coverage=ci_coverage,
    )


def break_even(points: list[tuple[float, float]]) -> float | None:
    """Task duration at which the speed-up first reaches 1, interpolated on log scales.

    Returns the shortest measured duration if the backend already wins there, and None
    if it never reaches 1 within the sweep.
    """
    if not points:
        return None
    if points[0][1] >= 1:
        return points[0][0]
    for (d0, s0), (d1, s1) in zip(points, points[1:], strict=False):
        if s0 < 1 <= s1:
            fraction = (0 - math.log(s0)) / (math.log(s1) - math.log(s0))
            return math.exp(math.log(d0) + fraction * (math.log(d1) - math.log(d0)))
    return None
