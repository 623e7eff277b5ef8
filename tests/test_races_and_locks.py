"""The races-and-locks chapter: its quick run (exact locked counts, a real deadlock, working
fixes), its demonstrations, and each of its data-dependent sentences on the committed
result ``tests/results/races-and-locks.json``."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest

from parbook import sources
from parbook.bench.results import load
from parbook.chapters.races_and_locks import analysis
from parbook.chapters.races_and_locks import experiment as experiment
from parbook.chapters.races_and_locks import workload as work
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "races-and-locks.json"


@pytest.fixture(scope="module")
def locks_quick(quick_results):
    return quick_results["races-and-locks"]


@pytest.fixture(scope="module")
def quick_found(locks_quick):
    return analysis.findings(locks_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_race_runs_are_complete(locks_quick):
    size = experiment.QUICK
    for use_lock in (False, True):
        counts = analysis.race_counts(locks_quick, use_lock)
        assert len(counts) == size.race_runs
        assert all(1 <= count <= size.race_threads for count in counts)


def test_locked_count_is_exact_every_run(locks_quick, quick_found):
    expected = locks_quick.parameters["race_threads"]
    assert analysis.race_counts(locks_quick, True) == [expected] * experiment.QUICK.race_runs
    assert quick_found.race.locked_exact


def test_lock_cost_cases_are_positive_and_finite(locks_quick, quick_found):
    cases = {c.params["case"]: c for c in locks_quick.group("lock_cost")}
    assert set(cases) == set(experiment.COST_LABELS)
    for case in cases.values():
        assert all(math.isfinite(s) and s > 0 for s in case.samples)
    cost = quick_found.lock_cost
    assert all(cost.ops_per_s(case) > 0 for case in cost.seconds_per_op)


def test_reentry_times_out_with_lock_and_passes_with_rlock(quick_found):
    reentry = quick_found.reentry
    assert reentry.outcomes["Lock"].startswith("TimeoutError")
    assert reentry.outcomes["RLock"].startswith("recorded")
    assert reentry.seconds["Lock"] >= experiment.REENTRY_TIMEOUT_S


def test_deadlock_really_hung_and_was_killed_within_its_limit(locks_quick, quick_found):
    stuck = quick_found.deadlock.opposite_order
    limit = experiment.QUICK.deadlock_limit_s
    assert stuck.killed and stuck.returncode != 0
    # Both threads said which lock they held and which they waited for. Not a count of
    # lines: under load one thread may finish a first transfer before the other starts,
    # and announce itself twice before the two deadlock.
    assert analysis.waiting_threads(stuck) == {"A", "B"}
    assert "finished" not in stuck.output
    assert limit <= stuck.elapsed_s < limit + 5
    assert stuck.elapsed_s < stuck.time_limit_s + 5
    assert locks_quick.values["deadlock"]["opposite_order"]["killed"]


@pytest.mark.parametrize("strategy", ["global_order", "timeout_backoff"])
def test_fixed_versions_complete_with_balances_intact(quick_found, strategy):
    child = getattr(quick_found.deadlock, strategy)
    assert not child.killed and child.returncode == 0 and child.errors == ""
    rounds = experiment.QUICK.transfer_rounds
    assert child.output.count(f"finished {rounds} transfers") == 2
    assert "balances 100 + 100 = 200" in child.output
    assert analysis.balanced(child)


def test_the_article_figures_are_labelled_and_present():
    assert sources.RACE_TABLE.article.key == "001"
    assert sorted(row["value"] for row in sources.RACE_TABLE.rows) == [7, 69]
    assert analysis.article_texts() == {"locks_article_followed": "69",
                                        "locks_article_author": "7",
                                        "locks_article_threads": "1,000"}


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


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("unlocked", "expected"), [
    ((19, 1200, 18), "between 18 and 1,200"),
    ((1200, 1200, 1200), "1,200 every time"),
])
def test_unlocked_range(found, unlocked, expected):
    race = dataclasses.replace(found.race, unlocked_counts=unlocked)
    assert analysis.unlocked_range(race) == expected


@pytest.mark.parametrize(("unlocked", "expected"), [
    ((19, 20, 18), "every run without the lock lost updates"),
    ((19, 200, 18), "some runs without the lock lost updates"),
    ((200, 200, 200), "no run lost an update this time, which proves nothing"),
])
def test_race_verdict(found, unlocked, expected):
    race = dataclasses.replace(found.race, threads=200, unlocked_counts=unlocked)
    assert analysis.race_verdict(race) == expected


def test_lost_shares_and_their_texts(found):
    race = dataclasses.replace(found.race, threads=200, unlocked_counts=(50, 150, 100))
    assert race.lost_share_max == 0.75 and race.lost_share_min == 0.25
    texts = analysis.texts(dataclasses.replace(found, race=race))
    assert (texts["locks_lost_max"], texts["locks_lost_min"]) == ("75%", "25%")
    assert texts["locks_unlocked_min"] == "50" and texts["locks_threads"] == "200"


def test_backoff_retries_add_up_every_thread(found):
    run = dataclasses.replace(found.deadlock.timeout_backoff, output=(
        "[A] finished 10 transfers after 3 retries\n[B] finished 10 transfers after 4 "
        "retries\n[MainThread] all done in 0.2 s; balances 100 + 100 = 200\n"))
    assert analysis.retries(run) == 7
    texts = analysis.texts(dataclasses.replace(
        found, deadlock=dataclasses.replace(found.deadlock, timeout_backoff=run)))
    assert texts["locks_backoff_retries"] == "7"


@pytest.mark.parametrize(("killed", "ending"), [
    (True, "--- still running after 2 s: killed, exit code -9 (2.01 s)"),
    (False, "--- finished by itself, exit code -9 (2.01 s)"),
])
def test_transfers_transcript_says_how_the_child_ended(found, killed, ending):
    run = dataclasses.replace(found.deadlock.opposite_order, output="[A] holds one\n",
                              killed=killed, returncode=-9, elapsed_s=2.01, time_limit_s=2.0)
    deadlock = dataclasses.replace(found.deadlock, opposite_order=run)
    assert deadlock.transcript("opposite_order") == f"[A] holds one\n{ending}"


@pytest.mark.parametrize(("output", "waiting"), [
    ("[A] holds account-1, waiting for account-2[B] holds account-2, waiting for "
     "account-1\n\n", {"A", "B"}),
    ("[B] holds account-2, waiting for account-1\n[B] holds account-2, waiting for "
     "account-1\n[A] holds account-1, waiting for account-2\n", {"A", "B"}),
    ("[A] holds account-1, waiting for account-2\n", {"A"}),
])
def test_waiting_threads_are_read_by_name_from_interleaved_lines(found, output, waiting):
    run = dataclasses.replace(found.deadlock.opposite_order, output=output)
    assert analysis.waiting_threads(run) == waiting


def test_reentry_transcript_has_one_line_per_lock(found):
    lines = found.reentry.transcript().splitlines()
    assert lines[0].startswith(" Lock: TimeoutError") and lines[1].startswith("RLock: recorded")


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["locks_race_verdict"] == analysis.race_verdict(found.race)
    assert texts["locks_deadlock_returncode"] == str(found.deadlock.opposite_order.returncode)
    for case in experiment.COST_LABELS:
        assert texts[f"locks_cost_{case}"] and texts[f"locks_ops_{case}"]
    assert texts["locks_most_threads"] == str(max(experiment.CONTENDED_THREADS))
