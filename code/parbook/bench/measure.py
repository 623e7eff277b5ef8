"""Run a case repeatedly and keep the raw samples; no statistics happen here.

A *case* is a callable timed with :func:`time.perf_counter`. Set-up and tear-down that
must not count (creating a pool before timing calls on it, killing Ray actors after a
run) go in ``setup`` and ``teardown``; only ``case`` is inside the timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Protocol:
    """How often to run a case.

    ``warmup`` runs are made first and discarded (they pay for imports, caches and
    lazily started helpers). Then the case is repeated ``repeats`` times, except that
    once ``budget_s`` seconds of timed runs have been spent, it stops after
    ``min_repeats``: long cases (a one-second sleep ten times over) get fewer samples,
    and the rendered table shows how many each case got. Warm-up is skipped for cases
    whose first warm-up run alone exceeds ``skip_warmup_above_s``, where first-run
    effects of a few milliseconds are noise.

    Short cases are cheap to repeat and noisy, so a case whose first timed run is under
    ``short_below_s`` is repeated at least ``short_min_repeats`` times, whatever
    ``repeats`` says: enough samples for a 95% confidence interval of its median. A quick
    (test) protocol sets ``short_min_repeats`` to 0 to keep its smaller counts.
    """

    repeats: int = 5
    warmup: int = 1
    min_repeats: int = 3
    budget_s: float | None = None
    skip_warmup_above_s: float = 1.0
    short_below_s: float = 0.1
    short_min_repeats: int = 10

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"repeats must be at least 1, got {self.repeats}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be 0 or more, got {self.warmup}")
        if not self.min_repeats >= 1:
            raise ValueError(f"min_repeats must be at least 1, got {self.min_repeats}")


def time_once(
    case: Callable[[Any], Any],
    setup: Callable[[], Any] | None = None,
    teardown: Callable[[Any], None] | None = None,
) -> float:
    """Time one call of ``case(state)``; ``state`` comes from ``setup()`` (untimed)."""
    state = setup() if setup is not None else None
    try:
        start = time.perf_counter()
        case(state)
        return time.perf_counter() - start
    finally:
        if teardown is not None:
            teardown(state)


def measure(
    case: Callable[[Any], Any],
    protocol: Protocol,
    setup: Callable[[], Any] | None = None,
    teardown: Callable[[Any], None] | None = None,
) -> list[float]:
    """Return the raw timed samples, in seconds, of ``case`` run under ``protocol``."""
    for index in range(protocol.warmup):
        warm = time_once(case, setup, teardown)
        if index == 0 and warm > protocol.skip_warmup_above_s:
            break
    samples: list[float] = []
    spent = 0.0
    repeats = protocol.repeats
    while len(samples) < repeats:
        sample = time_once(case, setup, teardown)
        samples.append(sample)
        spent += sample
        if len(samples) == 1 and sample < protocol.short_below_s:
            repeats = max(repeats, protocol.short_min_repeats)
        over_budget = protocol.budget_s is not None and spent >= protocol.budget_s
        if over_budget and len(samples) >= min(protocol.min_repeats, protocol.repeats):
            break
    return samples


def measure_interleaved(
    cases: dict[Any, Callable[[Any], Any]], protocol: Protocol
) -> dict[Any, list[float]]:
    """Measure several cases round-robin and return each one's raw samples.

    Every repeat runs each case once, in turn. Cases that will be compared as a ratio
    (a parallel version against the serial one) then see the same machine: on shared or
    virtual machines, CPU speed drifts over seconds (frequency scaling, other tenants),
    and timing all repeats of one case before the next would fold that drift into the
    ratio. ``budget_s`` is not used: every case gets ``protocol.repeats`` samples, or
    ``short_min_repeats`` when every case's first timed run was short.
    """
    for _ in range(protocol.warmup):
        for case in cases.values():
            time_once(case)
    samples: dict[Any, list[float]] = {name: [] for name in cases}
    repeats = protocol.repeats
    done = 0
    while done < repeats:
        for name, case in cases.items():
            samples[name].append(time_once(case))
        done += 1
        if done == 1 and all(s[0] < protocol.short_below_s for s in samples.values()):
            repeats = max(repeats, protocol.short_min_repeats)
    return samples
