import math

import numpy as np
import pytest

from parbook.bench.stats import UNSTABLE_RELATIVE_SPREAD, median_interval, summarize


def test_summary_of_known_samples():
    summary = summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert summary.n == 5
    assert summary.median == 3.0
    assert summary.q1 == 2.0 and summary.q3 == 4.0
    assert summary.min == 1.0 and summary.max == 100.0
    assert math.isclose(summary.relative_iqr, 2.0 / 3.0)


def test_stable_and_unstable_cases_are_told_apart():
    assert not summarize([1.00, 1.01, 0.99, 1.02, 1.00]).unstable
    assert summarize([1.0, 1.0, 2.0, 3.0, 3.0]).unstable


def test_few_samples_use_the_full_range():
    # With under four samples the IQR means little; min-max decides.
    spread = 1 + 2 * UNSTABLE_RELATIVE_SPREAD
    assert summarize([1.0, spread]).unstable
    assert not summarize([1.0, 1.01]).unstable


def test_single_sample_is_stable_and_its_own_median():
    summary = summarize([0.5])
    assert summary.median == 0.5 and summary.n == 1 and not summary.unstable


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_rejects_empty_or_non_finite_samples(bad):
    with pytest.raises(ValueError):
        summarize(bad)


@pytest.mark.parametrize(("n", "low_rank", "coverage"), [
    (5, 1, 1 - 2 / 32),        # too few for 95%: the whole range, 93.75%
    (6, 1, 1 - 2 / 64),        # the range is the first interval that reaches 95%
    (10, 2, 1 - 2 * 11 / 1024),
    (20, 6, None),
])
def test_median_interval_from_order_statistics(n, low_rank, coverage):
    values = np.arange(1.0, n + 1)
    low, high, covered = median_interval(values)
    assert low == low_rank and high == n + 1 - low_rank
    if coverage is not None:
        assert covered == pytest.approx(coverage)
    assert covered >= 0.95 or n < 6


def test_summary_carries_the_interval():
    summary = summarize([3.0, 1.0, 2.0, 5.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert (summary.ci_low, summary.ci_high) == (2.0, 9.0)
    assert summarize([0.5]).ci_coverage == 0.0
