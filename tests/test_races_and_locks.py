"""The races-and-locks chapter: its quick run (exact locked counts, a real deadlock, working
fixes), its demonstrations, and each of its data-dependent sentences on the committed
result ``tests/results/races-and-locks.json``."""

from __future__ import annotations

import dataclasses
import math
import sys
import threading

import pytest

from parbook import sources
from parbook.bench import machine
from parbook.bench.results import load
from parbook.chapters.races_and_locks import analysis
from parbook.chapters.races_and_locks import experiment as experiment
from parbook.chapters.races_and_locks import workload as work
from parbook.claims import Verdict
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


def test_no_pause_runs_are_complete(locks_quick, quick_found):
    size = experiment.QUICK
    cases = {c.params["body"]: c for c in locks_quick.group("no_pause")}
    assert set(cases) == set(work.NO_PAUSE_BODIES) == set(experiment.NO_PAUSE_LABELS)
    total = size.no_pause_threads * size.no_pause_increments
    for case in cases.values():
        assert case.unit == "count" and len(case.samples) == size.no_pause_runs
        assert all(0 <= lost <= total for lost in case.samples)
    assert quick_found.no_pause.total == total
    assert locks_quick.values["gil_enabled"] is machine.gil_enabled()
    assert locks_quick.values["switch_interval_s"] == sys.getswitchinterval()


def test_bare_increment_loses_nothing_under_the_gil(locks_quick):
    """What the page explains: with the GIL (3.10+), no check point lies between the read
    and the write of ``counter.value += 1``, so the quick run lost nothing there."""
    if not machine.gil_enabled():
        pytest.skip("free-threaded: the threads run at once, so nothing is predicted")
    assert analysis.race_counts(locks_quick, False)  # the run happened at all
    lost = {c.params["body"]: c.samples for c in locks_quick.group("no_pause")}
    assert lost["in_place"] == [0] * experiment.QUICK.no_pause_runs


def test_a_call_between_read_and_write_lets_updates_get_lost():
    """The demonstration's contrast, made certain: at a 1 µs switch interval the threads
    switch at every check point they reach; the bare loop still loses nothing (with the
    GIL), and the loop with a call between its read and write loses updates. Bounded by
    the threads' join timeout; the interval is restored."""
    before, threads_before = sys.getswitchinterval(), threading.active_count()
    sys.setswitchinterval(1e-6)
    try:
        with_call = [work.lost_updates(work.increments_with_a_call, 4, 50_000)
                     for _ in range(3)]
        bare = [work.lost_updates(work.increments_without_lock, 4, 50_000) for _ in range(3)]
    finally:
        sys.setswitchinterval(before)
    assert sys.getswitchinterval() == before
    assert sum(with_call) > 0, with_call
    if machine.gil_enabled():
        assert bare == [0, 0, 0]
    assert threading.active_count() == threads_before  # every thread was joined


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
    texts = analysis.article_texts()
    assert texts == {"locks_article_followed": "69", "locks_article_author": "7",
                     "locks_article_threads": "1,000", "locks_article_pause": "1.00 ms",
                     "locks_article_machine": sources.RACE_TABLE.machine}
    assert "i9-10900K" in texts["locks_article_machine"]


def test_the_page_types_no_article_figure():
    """Article 001's figures reach the page only through glue (labelled as the article's)."""
    page = (ROOT / "book" / "races-and-locks.md").read_text(encoding="utf-8")
    prose = "\n".join(line for line in page.splitlines() if not line.startswith(("```", ":")))
    for figure in ("1000", "1,000", " 69", " 7 "):
        assert figure not in prose, figure
    for key in ("locks_article_threads", "locks_article_pause", "locks_article_followed",
                "locks_article_author", "locks_article_machine"):
        assert f"{{glue:text}}`{key}`" in page, key


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
    ((19, 20, 18), "Without the lock, every run lost updates: the final count was between 18 "
                   "and 20 instead of 200, so up to 91% of the increments vanished."),
    ((19, 19, 19), "Without the lock, every run lost updates: the final count was 19 each "
                   "time instead of 200."),
    ((19, 200, 18), "Without the lock, 2 of the 3 runs lost updates; the lowest final count "
                    "was 18 instead of 200."),
    ((200, 200, 200), "Without the lock, no run lost an update this time; with a pause "
                      "between the read and the write, that is luck, not safety."),
])
def test_race_verdict(found, unlocked, expected):
    race = dataclasses.replace(found.race, threads=200, runs=3, unlocked_counts=unlocked)
    assert analysis.race_verdict(race) == expected


def no_pause(found, in_place=(0, 0, 0), call_between=(0, 0, 0), gil=True):
    """The committed no-pause findings with the given losses per run (3 runs of 4 x 1000)."""
    return dataclasses.replace(found.no_pause, threads=4, increments=1000, runs=3,
                               gil_enabled=gil, lost={"in_place": in_place,
                                                      "call_between": call_between})


@pytest.mark.parametrize(("lost", "expected"), [
    ((0, 0, 0), "With the bare loop, none of the 3 runs lost an update: each counted all "
                "4,000 increments."),
    ((0, 0, 70), "With the bare loop, one of the 3 runs lost updates: 70 of its 4,000 "
                 "increments."),
    ((5, 0, 700), "With the bare loop, 2 of the 3 runs lost updates, up to 700 of 4,000 "
                  "increments in one run."),
    ((5, 1, 1200), "With the bare loop, all 3 runs lost updates, up to 1,200 of 4,000 "
                   "increments in one run."),
])
def test_in_place_verdict(found, lost, expected):
    assert analysis.in_place_verdict(no_pause(found, in_place=lost)) == expected


@pytest.mark.parametrize(("lost", "expected"), [
    ((0, 0, 0), "With an empty call between the read and the write, none of the 3 runs lost "
                "an update."),
    ((0, 0, 1500), "With an empty call between the read and the write, one of the 3 runs "
                   "lost updates: 1,500 of its 4,000 increments."),
    ((0, 2, 1500), "With an empty call between the read and the write, 2 of the 3 runs lost "
                   "updates, up to 1,500 of 4,000 in one run."),
    ((3, 9, 1500), "With an empty call between the read and the write, all 3 runs lost "
                   "updates, up to 1,500 of 4,000 in one run."),
])
def test_call_between_verdict(found, lost, expected):
    assert analysis.call_between_verdict(no_pause(found, call_between=lost)) == expected


@pytest.mark.parametrize(("in_place", "call_between", "gil", "start"), [
    ((0, 0, 0), (0, 9, 0), True, "That is what the check points predict"),
    ((0, 0, 0), (0, 0, 0), True, "Neither loop lost an update in these runs"),
    ((0, 4, 0), (0, 9, 0), True, "So this build switched threads even between"),
    ((0, 4, 0), (0, 9, 0), False, "This build ran with the GIL off"),
    ((0, 0, 0), (0, 0, 0), False, "This build ran with the GIL off"),
])
def test_no_pause_reading(found, in_place, call_between, gil, start):
    reading = analysis.no_pause_reading(no_pause(found, in_place, call_between, gil))
    assert reading.startswith(start) and reading.endswith(".")


@pytest.mark.parametrize(("gil", "expected"), [
    (True, "how often the bare loop loses updates there is not measured by this build's "
            "own interpreter."),
    (False, "How the bare loop behaves with the GIL on is not measured by this build's own "
             "interpreter."),
])
def test_free_threaded_note_says_what_was_not_measured(found, gil, expected):
    assert analysis.free_threaded_note(no_pause(found, gil=gil)).endswith(expected)


@pytest.mark.parametrize(("lost", "expected"), [
    ((0, 0, 0), "no update lost in 3 runs"),
    ((0, 7, 70), "updates lost in 2 of 3 runs (up to 70 of 4,000)"),
])
def test_summary_lost_cell(found, lost, expected):
    assert analysis.lost_cell(no_pause(found, in_place=lost), "in_place") == expected


@pytest.mark.parametrize(("locked", "killed", "expected_locked", "expected_opposite"), [
    ((200, 200, 200), True, "final count 200 in every run", "stuck until killed after"),
    ((200, 199, 200), False, "final count between 199 and 200", "finished by itself in"),
])
def test_summary_rows(found, locked, killed, expected_locked, expected_opposite):
    race = dataclasses.replace(found.race, threads=200, locked_counts=locked)
    stuck = dataclasses.replace(found.deadlock.opposite_order, killed=killed)
    rows = dict(analysis.summary_rows(dataclasses.replace(
        found, race=race, deadlock=dataclasses.replace(found.deadlock, opposite_order=stuck))))
    assert rows["the same 200 threads with a Lock"] == expected_locked
    assert rows["two threads taking two locks in opposite orders"].startswith(
        expected_opposite)
    assert len(rows) == 7 and all(rows.values())


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


@pytest.mark.parametrize(("output", "killed", "returncode", "expected"), [
    ("[A] holds account-1, waiting for account-2\n[B] holds account-2, waiting for "
     "account-1\n", True, -9,
     "Both threads said which lock they held and which one they were waiting for, and the "
     "process was still stuck when it was killed after 2.01 s (exit code -9: a negative code "
     "is the signal that ended it)."),
    ("[A] holds account-1, waiting for account-2\n", True, -9,
     "The process was killed after 2.01 s (exit code -9), but not both threads said they "
     "held one lock and waited for the other, so this run did not show the deadlock as "
     "described; the transcript above shows what they printed."),
    ("[A] finished 10 transfers after 0 retries\n", False, 0,
     "This time the process ended by itself after 2.01 s, with exit code 0: the two threads "
     "did not deadlock in this run, and the transcript above shows what they printed."),
])
def test_deadlock_sentence(found, output, killed, returncode, expected):
    run = dataclasses.replace(found.deadlock.opposite_order, output=output, killed=killed,
                              returncode=returncode, elapsed_s=2.01)
    deadlock = dataclasses.replace(found.deadlock, opposite_order=run)
    assert analysis.deadlock_sentence(deadlock) == expected
    assert analysis.texts(dataclasses.replace(found, deadlock=deadlock))[
        "locks_deadlock_sentence"] == expected


@pytest.mark.parametrize(("output", "killed", "shown"), [
    ("[A] holds account-1, waiting for account-2\n[B] holds account-2, waiting for account-1\n",
     True, True),
    ("[A] finished 10 transfers after 0 retries\n", False, False),
])
def test_rule_deadlock_sentence_says_what_this_build_saw(found, output, killed, shown):
    run = dataclasses.replace(found.deadlock.opposite_order, output=output, killed=killed)
    deadlock = dataclasses.replace(found.deadlock, opposite_order=run)
    sentence = analysis.texts(dataclasses.replace(found, deadlock=deadlock))[
        "locks_par010_deadlock"]
    assert analysis.deadlock_shown(deadlock) is shown
    assert sentence.endswith(".") and ("were still deadlocked" in sentence) is shown
    assert ("did not deadlock in this build's run" in sentence) is not shown


def test_reentry_transcript_has_one_line_per_lock(found):
    lines = found.reentry.transcript().splitlines()
    assert lines[0].startswith(" Lock: TimeoutError") and lines[1].startswith("RLock: recorded")


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["locks_race_verdict"] == analysis.race_verdict(found.race)
    for key in ("locks_in_place_verdict", "locks_call_between_verdict",
                "locks_no_pause_reading", "locks_free_threaded_note"):
        assert texts[key][0].isupper() and texts[key].endswith("."), key
        assert "`" not in texts[key], key  # glue:text shows backticks as they are
    assert texts["locks_deadlock_returncode"] == str(found.deadlock.opposite_order.returncode)
    for case in experiment.COST_LABELS:
        assert texts[f"locks_cost_{case}"] and texts[f"locks_ops_{case}"]
    assert texts["locks_most_threads"] == str(max(experiment.CONTENDED_THREADS))


# --- the claims this chapter judges for the ledger in book/sources.md, each verdict -------

@pytest.mark.parametrize(("unlocked", "locked", "verdict", "says"), [
    ((19, 23, 20), (200, 200, 200), Verdict.HOLDS, "between 19 and 23 instead of 200"),
    ((19, 150, 20), (200, 200, 200), Verdict.PARTLY, "kept more than half of its updates"),
    ((200, 200, 200), (200, 200, 200), Verdict.PARTLY, "no update was lost in 3 runs"),
    ((19, 23, 20), (199, 199, 200), Verdict.PARTLY, "with a Lock it was between 199 and 200"),
    ((200, 200, 200), (199, 199, 199), Verdict.FAILS, "with a Lock it was 199 every time"),
])
def test_race_lock_claim_every_verdict(found, unlocked, locked, verdict, says):
    race = dataclasses.replace(found.race, threads=200, runs=3, unlocked_counts=unlocked,
                               locked_counts=locked)
    judged = analysis.race_lock_claim(race)
    assert judged.verdict is verdict and says in judged.reason


def test_deadlock_rlock_claim_every_verdict(found):
    deadlock, reentry = found.deadlock, found.reentry
    not_stuck = dataclasses.replace(deadlock, opposite_order=dataclasses.replace(
        deadlock.opposite_order, killed=False, returncode=0))
    one_waiting = dataclasses.replace(deadlock, opposite_order=dataclasses.replace(
        deadlock.opposite_order, output="[A] holds account-1, waiting for account-2\n"))
    timed_out = dataclasses.replace(reentry, outcomes={
        **reentry.outcomes, "RLock": "TimeoutError: gave up waiting for the lock after 0.3 s"})
    both = analysis.deadlock_rlock_claim(deadlock, reentry)
    assert both.verdict is Verdict.HOLDS and "killed after" in both.reason
    for no_deadlock in (not_stuck, one_waiting):
        judged = analysis.deadlock_rlock_claim(no_deadlock, reentry)
        assert judged.verdict is Verdict.PARTLY and "did not show a deadlock" in judged.reason
    judged = analysis.deadlock_rlock_claim(deadlock, timed_out)
    assert judged.verdict is Verdict.PARTLY and "could not take it again" in judged.reason
    assert analysis.deadlock_rlock_claim(not_stuck, timed_out).verdict is Verdict.FAILS


@pytest.mark.parametrize(("unlocked", "counts"), [
    ((19, 23, 20), "was between 19 and 23)"),
    ((21, 21, 21), "was 21 in every run)"),
])
def test_race_faster_cpu_claim_every_verdict(found, unlocked, counts):
    race = dataclasses.replace(found.race, threads=200, pause_s=0.001, unlocked_counts=unlocked)
    judged = analysis.race_faster_cpu_claim(race)
    assert judged.verdict is Verdict.UNMEASURED
    assert judged.reason.startswith("Two machines cannot be compared within one build.")
    assert f"the count of 200 threads each pausing 1.00 ms {counts}" in judged.reason


def test_claims_of_the_committed_result(found):
    assert analysis.claims(found) == {
        "a001_race_lock": analysis.race_lock_claim(found.race),
        "a001_deadlock_rlock": analysis.deadlock_rlock_claim(found.deadlock, found.reentry),
        "a001_race_faster_cpu": analysis.race_faster_cpu_claim(found.race),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def run_of(found, version, gil=True, in_place=(0, 0, 0)):
    """An interpreter's run whose findings are the committed ones, with its GIL and the
    bare loop's losses per run (3 runs of 4 x 1000) as given."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    changed = dataclasses.replace(found, no_pause=no_pause(found, in_place=in_place, gil=gil))
    result = Result(experiment="races-and-locks", quick=True, machine={
        "python_implementation": "CPython", "python_version": version,
        "free_threaded_build": not gil, "gil_enabled": gil})
    return InterpreterRun(None, result=result, found=changed)


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    assert rows["GIL while the experiment ran"] in ("on", "off")
    threads = f"{found.race.threads:,}"
    assert rows[f"{threads} threads: read, pause, write, no lock: final count (of {threads})"] == (
        analysis.unlocked_range(found.race))
    assert rows["one increment, uncontended Lock (against no lock)"].endswith(
        f"({analysis.format_ratio(found.lock_cost.lock_over_none)})")
    assert all(isinstance(cell, str) and cell for cell in rows.values())


@pytest.mark.parametrize(("lost", "expected"), [
    ((0, 0, 0), "0 of 3"), ((0, 7, 1700), "2 of 3 (up to 1,700)")])
def test_lost_runs_cell(found, lost, expected):
    assert analysis.lost_runs_cell(no_pause(found, in_place=lost), "in_place") == expected


def test_lost_updates_across_interpreters_every_case(found):
    clean = [run_of(found, "3.12.1"), run_of(found, "3.13.0")]
    text = analysis.lost_updates_across_interpreters(clean)
    assert text == (
        "With the GIL on, the bare counter.value += 1 loop lost no update on CPython 3.12.1 "
        "and CPython 3.13.0: no check point lies between its read and its write. No "
        "interpreter here ran with the GIL off, so what a free-threaded build loses is not "
        "measured in this build.")
    losing = run_of(found, "3.11.7", in_place=(0, 5, 0))
    free = run_of(found, "3.14.0", gil=False, in_place=(900, 1200, 40))
    text = analysis.lost_updates_across_interpreters([losing, *clean, free])
    assert text.startswith("With the GIL on, the bare counter.value += 1 loop lost no "
                           "update on CPython 3.12.1 and CPython 3.13.0")
    assert ("With the GIL on, the bare loop still lost updates (up to 5 of 4,000 on "
            "CPython 3.11.7), so switches landed") in text
    assert ("With the GIL off, the bare loop lost updates (up to 1,200 of 4,000 on CPython "
            "3.14.0t): the threads ran it at the same instant") in text
    assert "No interpreter here ran with the GIL off" not in text
    lucky = run_of(found, "3.14.0", gil=False)
    text = analysis.lost_updates_across_interpreters([lucky])
    assert text == ("The bare loop lost no update in these runs on CPython 3.14.0t: "
                    "luck, not safety, since with the GIL off nothing stops two threads "
                    "from reading the same value.")


@pytest.mark.parametrize(("group", "params", "expected"), [
    ("lock_cost", {"case": "contended_8", "threads": 8},
     "one increment (one Lock shared by 8 threads)"),
    ("race_time", {"lock": True, "threads": 200},
     "a run of 200 threads, read, pause, write, with a lock"),
    ("reentry", {"lock": "RLock"}, "a method re-taking its RLock"),
    ("deadlock", {"strategy": "global_order"},
     "the transfers program (fix 1: one global lock order)"),
    ("race", {"lock": False, "threads": 200}, "race (lock False, threads 200)"),
])
def test_describe_case_names_each_group(group, params, expected):
    assert analysis.describe_case(group, params) == expected


def test_interpreter_texts_of_one_run(found):
    texts = analysis.interpreter_texts([run_of(found, "3.11.7")])
    assert set(texts) == {"locks_interpreters_lost"}


def test_the_changed_sentence_compares_times_not_counts(found):
    """A final count or a number of lost updates that halved did not 'take 0.5x the
    time': the sentence on what changed between interpreters must not name them."""
    import copy

    from parbook import interpreters

    own = load(COMMITTED)
    other = copy.deepcopy(own)
    for case in other.cases:
        if case.unit == "count":
            case.samples[:] = [value // 2 + 1 for value in case.samples]
    other.machine = {**other.machine, "python_version": "3.13.0"}
    runs = [interpreters.InterpreterRun(None, result=result, found=analysis.findings(result))
            for result in (own, other)]
    _compared, changed = interpreters.changes(runs, analysis.describe_case)
    assert not [change.case for change in changed
                if change.case.startswith(("race (", "no pause ("))]
