import math

import pytest

from parbook.bench.stats import UNSTABLE_RELATIVE_SPREAD, summarize


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
