"""The locks experiment in quick mode: exact locked counts, a real deadlock, working fixes."""

from __future__ import annotations

import math
import threading

import pytest

from parbook import sources
from parbook.chapters.races_and_locks import experiment as experiment
from parbook.chapters.races_and_locks import workload as work


@pytest.fixture(scope="module")
def locks_quick():
    return experiment.run(quick=True)


def test_race_runs_are_complete(locks_quick):
    size = experiment.QUICK
    for use_lock in (False, True):
        counts = experiment.counts(locks_quick, use_lock)
        assert len(counts) == size.race_runs
        assert all(1 <= count <= size.race_threads for count in counts)


def test_locked_count_is_exact_every_run(locks_quick):
    expected = locks_quick.parameters["race_threads"]
    assert experiment.counts(locks_quick, True) == [expected] * experiment.QUICK.race_runs
    assert experiment.findings(locks_quick)["locked_exact"]


def test_lock_cost_cases_are_positive_and_finite(locks_quick):
    cases = {c.params["case"]: c for c in locks_quick.group("lock_cost")}
    assert set(cases) == set(experiment.COST_LABELS)
    for case in cases.values():
        assert all(math.isfinite(s) and s > 0 for s in case.samples)
    found = experiment.findings(locks_quick)
    assert all(rate > 0 for rate in found["ops_per_s"].values())


def test_reentry_times_out_with_lock_and_passes_with_rlock(locks_quick):
    found = experiment.findings(locks_quick)
    assert found["reentry"]["Lock"].startswith("TimeoutError")
    assert found["reentry"]["RLock"].startswith("recorded")
    assert found["reentry_lock_s"] >= experiment.REENTRY_TIMEOUT_S


def test_deadlock_really_hung_and_was_killed_within_its_limit(locks_quick):
    stuck = locks_quick.values["deadlock"]["opposite_order"]
    limit = experiment.QUICK.deadlock_limit_s
    assert stuck["killed"] and stuck["returncode"] != 0
    assert stuck["output"].count("waiting for") == 2
    assert "finished" not in stuck["output"]
    assert limit <= stuck["elapsed_s"] < limit + 5


@pytest.mark.parametrize("strategy", ["global_order", "timeout_backoff"])
def test_fixed_versions_complete_with_balances_intact(locks_quick, strategy):
    child = locks_quick.values["deadlock"][strategy]
    assert not child["killed"] and child["returncode"] == 0 and child["errors"] == ""
    rounds = experiment.QUICK.transfer_rounds
    assert child["output"].count(f"finished {rounds} transfers") == 2
    assert "balances 100 + 100 = 200" in child["output"]


def test_the_article_figures_are_labelled_and_present():
    assert sources.RACE_TABLE.article.key == "001"
    assert sorted(row["value"] for row in sources.RACE_TABLE.rows) == [7, 69]


def test_locked_increments_are_exact_with_many_threads():
    assert work.count_with_threads(50, 0.0005, use_lock=True) == 50
    assert work.increments_contended(4, 10_001) == 10_001


def test_hold_gives_up_instead_of_waiting_forever():
    lock = threading.Lock()
    with work.hold(lock, 0.1), pytest.raises(TimeoutError), work.hold(lock, 0.05):
        pass
    assert not lock.locked()


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError):
        work.run_transfers("no_such", 1, 0.0, 1.0)
