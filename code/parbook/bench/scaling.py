"""Speed-up against the number of workers, and Amdahl's law fitted to it.

Data only, like the rest of :mod:`parbook.bench`: which worker counts a sweep measures,
speed-ups from median times, the fitted serial fraction and the curve it implies. Any
chapter that sweeps a worker count can use it; ``book/scaling.md`` explains it.

Amdahl's law says that a job whose share ``f`` cannot run in parallel takes
``T(n) = T(1) * (f + (1 - f) / n)`` on ``n`` workers, so its speed-up
``S(n) = T(1) / T(n)`` satisfies ``1 / S(n) = f + (1 - f) / n`` and can never exceed
``1 / f``. That relation is linear in ``f``: with ``a = 1 / S - 1 / n`` and
``b = 1 - 1 / n`` it reads ``a = f * b``, and the least-squares ``f`` over the measured
points is ``sum(a * b) / sum(b * b)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: How far past the usable CPUs a sweep goes: its last point has this many workers per
#: CPU, to show what oversubscription does.
OVERSUBSCRIPTION_FACTOR = 2


# [start:worker-counts]
def worker_counts(usable_cpus: int) -> list[int]:
    """The worker counts of a sweep: 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, ... (each power
    of two, and half-way between two of them) up to the usable CPUs, the usable count
    itself, and twice the usable count (oversubscribed)."""
    counts, power = [1], 2
    while power <= usable_cpus:
        counts += [step for step in (power, power * 3 // 2) if step <= usable_cpus]
        power *= 2
    counts = sorted({*counts, usable_cpus})
    return [*counts, OVERSUBSCRIPTION_FACTOR * usable_cpus]
# [end:worker-counts]


def speedups(times: Mapping[int, float]) -> dict[int, float]:
    """``S(n) = T(1) / T(n)`` for every worker count ``n`` of ``times`` (worker count ->
    median seconds); empty when ``times`` has no point at one worker."""
    if 1 not in times:
        return {}
    return {n: times[1] / seconds for n, seconds in sorted(times.items())}


@dataclass(frozen=True)
class AmdahlFit:
    """Amdahl's serial fraction fitted to a sweep's speed-ups."""

    serial_fraction: float
    #: The worker counts the fit used (above one, at most the usable CPUs).
    fitted_counts: tuple[int, ...]

    @property
    def ceiling(self) -> float:
        """The largest speed-up the fit allows on any number of workers, ``1 / f``
        (infinite when ``f`` is 0)."""
        return math.inf if self.serial_fraction == 0 else 1 / self.serial_fraction

    def speedup(self, workers: float) -> float:
        """The speed-up the fitted law predicts on ``workers`` workers."""
        f = self.serial_fraction
        return 1 / (f + (1 - f) / workers)


# [start:amdahl-fit]
def fit_amdahl(speedup: Mapping[int, float], usable_cpus: int) -> AmdahlFit | None:
    """Least-squares fit of ``1 / S(n) = f + (1 - f) / n`` over ``1 < n <= usable_cpus``,
    ``f`` clipped to [0, 1]. Oversubscribed points (more workers than CPUs) are left out:
    they measure contention, not the serial part of the job. None without a point to fit.
    """
    points = [(n, s) for n, s in sorted(speedup.items()) if 1 < n <= usable_cpus and s > 0]
    if not points:
        return None
    a = [1 / s - 1 / n for n, s in points]
    b = [1 - 1 / n for n, _ in points]
    f = sum(x * y for x, y in zip(a, b, strict=True)) / sum(y * y for y in b)
    # Rounded so that a perfect line's float noise (1e-17) does not read as a serial part.
    return AmdahlFit(round(min(1.0, max(0.0, f)), 12), tuple(n for n, _ in points))
# [end:amdahl-fit]


def best_speedup(speedup: Mapping[int, float]) -> tuple[int, float] | None:
    """``(workers, speed-up)`` of the highest speed-up in a sweep, None if it is empty."""
    if not speedup:
        return None
    workers = max(speedup, key=lambda n: (speedup[n], -n))
    return workers, speedup[workers]


def oversubscribed(counts: Sequence[int], usable_cpus: int) -> list[int]:
    """The worker counts of ``counts`` above the usable CPUs."""
    return [n for n in counts if n > usable_cpus]
