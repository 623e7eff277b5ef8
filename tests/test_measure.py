import time

import pytest

from parbook.bench.measure import Protocol, measure, measure_interleaved, time_once


def test_warmup_runs_are_discarded():
    calls = []
    samples = measure(lambda _: calls.append(1),
                      Protocol(repeats=4, warmup=2, short_min_repeats=0))
    assert len(calls) == 6
    assert len(samples) == 4


def test_setup_and_teardown_are_outside_the_timer():
    def slow_setup():
        time.sleep(0.05)
        return "state"

    seen = []
    sample = time_once(lambda state: seen.append(state), slow_setup,
                       lambda state: time.sleep(0.05))
    assert seen == ["state"]
    assert sample < 0.04


def test_teardown_runs_when_the_case_fails():
    torn_down = []
    with pytest.raises(RuntimeError):
        time_once(lambda _: (_ for _ in ()).throw(RuntimeError("boom")),
                  setup=lambda: "s", teardown=torn_down.append)
    assert torn_down == ["s"]


def test_budget_stops_long_cases_after_min_repeats():
    samples = measure(lambda _: time.sleep(0.02),
                      Protocol(repeats=10, warmup=0, min_repeats=3, budget_s=0.01))
    assert len(samples) == 3


def test_long_first_warmup_skips_the_rest():
    calls = []

    def case(_):
        calls.append(1)
        time.sleep(0.03)

    measure(case, Protocol(repeats=1, warmup=3, skip_warmup_above_s=0.01,
                           short_min_repeats=0))
    assert len(calls) == 2  # one warm-up, one timed


def test_samples_are_real_times():
    samples = measure(lambda _: time.sleep(0.01), Protocol(repeats=3, warmup=0))
    assert all(0.009 < s < 1.0 for s in samples)


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"warmup": -1}, {"min_repeats": 0}])
def test_protocol_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        Protocol(**kwargs)


def test_interleaved_cases_take_turns():
    order = []
    samples = measure_interleaved(
        {"a": lambda _: order.append("a"), "b": lambda _: order.append("b")},
        Protocol(repeats=3, warmup=1, short_min_repeats=0),
    )
    assert order == ["a", "b"] * 4
    assert {name: len(values) for name, values in samples.items()} == {"a": 3, "b": 3}


def test_short_cases_get_at_least_the_minimum_samples():
    assert len(measure(lambda _: None, Protocol(repeats=3, warmup=0))) == 10
    assert len(measure(lambda _: None, Protocol(repeats=12, warmup=0))) == 12
    # A case longer than the threshold keeps its own count.
    slow = Protocol(repeats=2, warmup=0, short_below_s=0.001)
    assert len(measure(lambda _: time.sleep(0.005), slow)) == 2


def test_interleaved_short_cases_get_the_minimum_unless_one_is_long():
    short = measure_interleaved({"a": lambda _: None, "b": lambda _: None},
                                Protocol(repeats=3, warmup=0))
    assert [len(v) for v in short.values()] == [10, 10]
    mixed = measure_interleaved({"a": lambda _: None, "b": lambda _: time.sleep(0.005)},
                                Protocol(repeats=3, warmup=0, short_below_s=0.001))
    assert [len(v) for v in mixed.values()] == [3, 3]
