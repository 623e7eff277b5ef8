"""The synchronization chapter: its quick run (every demonstration under every start method,
every claim of the page held, nothing left behind), the workload's helpers, and each of its
data-dependent sentences on the committed result ``tests/results/synchronization.json``."""

from __future__ import annotations

import copy
import dataclasses
import math
import multiprocessing
import multiprocessing.synchronize
import threading

import pytest

from parbook.bench.results import load
from parbook.chapters.synchronization import analysis, experiment, views
from parbook.chapters.synchronization import workload as work
from parbook.claims import Verdict
from tests.conftest import ROOT
from tests.leftovers import left_behind, shm_entries

START_METHODS = multiprocessing.get_all_start_methods()
COMMITTED = ROOT / "tests" / "results" / "synchronization.json"


@pytest.fixture(scope="module")
def sync_quick(quick_results):
    return quick_results["synchronization"]


@pytest.fixture(scope="module")
def found(sync_quick):
    return analysis.findings(sync_quick)


@pytest.fixture(scope="module")
def committed():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present_with_positive_finite_samples(sync_quick):
    assert {c.params["case"] for c in sync_quick.group("lock_cost")} == set(
        experiment.COST_LABELS)
    assert {c.params["hold_for"] for c in sync_quick.group("shared_file")} == set(
        experiment.HOLD_LABELS)
    for case in sync_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_the_experiment_covered_every_start_method(found):
    assert set(found.start_methods) == set(START_METHODS)


@pytest.mark.parametrize("method", START_METHODS)
def test_every_claim_holds_under_each_start_method(found, method):
    verdict = found.start_methods[method]
    assert verdict.torn_with_lock == 0 and verdict.lost_lines == 0, verdict
    assert 1 <= verdict.most_inside <= verdict.places, verdict
    assert verdict.cars_on_red == 0, verdict
    assert verdict.barrier_passed >= 2, verdict
    assert verdict.barrier_skew_s < verdict.barrier_spread_s, verdict
    # The failure demonstrations ended by themselves, with the promised outcome.
    assert verdict.broken_barrier == verdict.broken_started >= 1, verdict
    assert verdict.dead_holder_timed_out == verdict.dead_holder_attempts == 2, verdict
    assert verdict.all_exited_cleanly, verdict
    assert verdict.holds
    assert experiment.verdicts_hold(dataclasses.asdict(verdict))


def test_the_claims_the_page_makes_held_in_the_run(sync_quick, found):
    """What the page asserted while it was built (the run itself now refuses otherwise)."""
    assert experiment.failed_claims(sync_quick.values) == []
    files = found.shared_file.runs
    for hold in ("write", "work_and_write"):
        assert files[hold].torn_per_run[-1] == 0, files[hold]
    for run in files.values():
        assert run.lines == run.expected_lines and run.malformed_lines == 0, run
    alive, dead = found.dead_holder.attempts
    assert not alive.acquired and alive.holder_alive, alive
    assert not dead.acquired and not dead.holder_alive, dead
    assert found.semaphore.limited.most_inside <= found.semaphore.places
    traffic = found.traffic
    assert traffic.passed_on_red == 0 and traffic.gave_up_on_green == 0, traffic
    assert traffic.ended_by_itself, traffic
    complete, missing = found.barriers.complete, found.barriers.missing_party
    assert complete.outcomes == ["passed"] * complete.parties, complete
    assert missing.outcomes == ["BrokenBarrierError"] * missing.started, missing
    assert found.all_hold, found.start_methods


def test_failed_claims_names_what_did_not_hold():
    values = copy.deepcopy(load(COMMITTED).values)
    assert experiment.failed_claims(values) == []
    values["shared_file"]["write"]["torn"] = 1
    first_method = next(iter(values["start_methods"]))
    values["start_methods"][first_method]["cars_on_red"] = 1
    failed = experiment.failed_claims(values)
    assert "a lock around the write kept every record whole" in failed
    assert any(claim.startswith("every claim held under") for claim in failed)


def test_without_a_lock_records_are_torn_and_with_it_none_are(sync_quick, found):
    files = found.shared_file.runs
    assert files["nothing"].torn_per_run[-1] > 0  # writers in lock-step: interleaving is certain
    for hold in ("write", "work_and_write"):
        assert files[hold].torn_per_run[-1] == 0
    for run in files.values():
        assert run.lines == run.expected_lines and run.malformed_lines == 0
    for info in sync_quick.values["shared_file"].values():
        assert info["exitcodes"] == [0] * len(info["exitcodes"]) and info["killed"] == 0


def test_semaphore_bounds_the_number_inside(found):
    semaphore = found.semaphore
    assert semaphore.limited.most_inside <= semaphore.places
    assert semaphore.unguarded.most_inside > semaphore.places
    assert semaphore.limited.visits == semaphore.unguarded.visits


def test_traffic_light_no_car_on_red_and_everything_ends(found):
    traffic = found.traffic
    assert traffic.passed_on_red == 0 and traffic.gave_up_on_green == 0
    assert traffic.passed >= 1 and traffic.gave_up >= 1
    assert traffic.ended_by_itself
    assert len(traffic.trips) == sum(len(trips) for trips in work.CAR_TRIPS.values())
    assert all(0 <= latency < 1.0 for latency in traffic.waited_for_green)


def test_failure_demos_end_within_their_bounds(found, sync_quick):
    params = sync_quick.parameters
    broken = found.barriers.missing_party
    assert broken.outcomes == ["BrokenBarrierError"] * broken.started
    # Broken after the timeout of the first to arrive, not after the general bound.
    ended = broken.ended_after
    assert params["broken_timeout_s"] * 0.9 <= ended < params["broken_timeout_s"] + 2.0
    for attempt in found.dead_holder.attempts:
        assert not attempt.acquired
        assert params["patience_s"] * 0.9 <= attempt.waited_s < params["patience_s"] + 2.0
    assert found.dead_holder.attempts[1].holder_exitcode == -9
    assert sync_quick.values["pickled_lock"].startswith("RuntimeError")


def test_findings_are_positive_and_the_lock_scope_costs_time(found):
    for case, value in found.lock_cost.cost.items():
        assert math.isfinite(value) and value > 0, case
    # Not a speed claim: serialising sleeps must take longer than overlapping them.
    assert found.shared_file.work_lock_slowdown > 1
    assert found.all_hold


def test_the_quick_run_left_nothing_behind(sync_quick, shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    assert not new_shm, sorted(new_shm)


def test_named_semaphores_are_unlinked_even_when_their_holder_is_killed(shm_before):
    # In this process, not through the command line: the patch below records the name of
    # every named semaphore created here (spawn and forkserver use named ones), to show
    # that the /dev/shm check has something to look for. The demos that create most of
    # them, one with a process killed while it holds a lock, are enough for that.
    created: list[str] = []
    original = multiprocessing.synchronize.SemLock.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self._semlock.name:
            created.append(self._semlock.name.lstrip("/"))

    method = "spawn" if "spawn" in START_METHODS else START_METHODS[0]
    context = multiprocessing.get_context(method)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multiprocessing.synchronize.SemLock, "__init__", recording_init)
        attempts = work.lock_with_a_dead_holder(context, patience_s=0.05)
        visits = work.semaphore_demo(context, workers=2, visits=1, inside_s=0.01, places=1)
    assert [attempt["acquired"] for attempt in attempts] == [False, False]
    assert visits["most_inside"] == 1
    children, _ = left_behind(shm_before)  # semaphores go with their last reference
    assert not children, children
    if method == "spawn":   # named semaphores exist only outside fork
        assert created
    # The names recorded here, not every new /dev/shm entry: other processes on the machine
    # may be creating semaphores of their own meanwhile.
    assert not set(created) & shm_entries(), sorted(set(created) & shm_entries())


def test_check_records_counts_torn_records():
    plan = work.RecordPlan(records=2, lines=2, work_s=0.0, line_pause_s=0.0)
    whole = "".join(f"writer {w} record {r:02d} line {k}/2\n"
                    for w in range(2) for r in range(2) for k in (1, 2))
    assert work.check_records(whole, 2, plan)["torn"] == 0
    lines = whole.splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]   # two records interleaved
    counted = work.check_records("".join(lines), 2, plan)
    assert counted["torn"] == 2 and counted["lines"] == counted["expected_lines"] == 8


def test_most_inside_and_green_spans():
    stays = [(0, 0.0, 1.0), (0, 0.5, 1.5), (0, 1.0, 2.0)]   # leave at 1.0 before enter
    assert work.most_inside(stays) == 2
    changes = [("green", 1.0), ("red", 2.0), ("green", 3.0), ("red", 4.0)]
    assert work.green_spans(changes) == [(1.0, 2.0), (3.0, 4.0)]
    assert work.light_at(changes, 1.5) == "green" and work.light_at(changes, 2.5) == "red"


def test_acquired_gives_up_with_a_timeout():
    lock = threading.Lock()
    with (work.acquired(lock, timeout_s=1.0), pytest.raises(TimeoutError),
          work.acquired(lock, timeout_s=0.01)):
        pass
    assert not lock.locked()


# --- what the page prints from the recorded run ----------------------------------------------

def test_printed_output_of_the_committed_run(committed):
    first_lines = committed.shared_file.first_lines().splitlines()
    assert first_lines[0] == "--- no lock: the first lines of the file"
    assert "--- lock around the write only: the first lines of the file" in first_lines
    for hold in analysis.EXCERPT_HOLDS:
        assert set(committed.shared_file.runs[hold].excerpt) <= set(first_lines)
    report = committed.dead_holder.report().splitlines()
    assert len(report) == len(committed.dead_holder.attempts)
    light = committed.traffic.light_report()
    assert light.startswith("the light (red from the start): green at ")
    assert light.endswith("; then its process ended")


def test_start_methods_table_marks_the_runs_above(committed):
    frame = views.start_methods_table(load(COMMITTED), committed).frame
    assert f"{committed.setup.start_method} (the runs above)" in frame.index
    assert set(frame["every process exited by itself"]) == {"yes"}


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("torn", "expected", "cell"), [
    ((0, 0), "Without the lock, no record was torn this time, which proves nothing: the gap "
             "between two writes is always there, and another run may hit it.",
     "none of 24, in 2 runs"),
    ((3, 0), "Without the lock, 3 of the 24 records were torn in the worst run and none in "
             "another, which shows how much luck decides.", "0 to 3 of 24 per run, in 2 runs"),
    ((24,), "Without the lock, every one of the 24 records was torn.", "24 of 24"),
    ((24, 24), "Without the lock, every one of the 24 records was torn, in every run.",
     "24 of 24, in 2 runs"),
    ((5,), "Without the lock, 5 of the 24 records were torn.", "5 of 24"),
    ((4, 4), "Without the lock, 4 of the 24 records were torn in every run.",
     "4 of 24, in 2 runs"),
    ((2, 5), "Without the lock, 2 to 5 of the 24 records were torn in each run.",
     "2 to 5 of 24 per run, in 2 runs"),
])
def test_torn_sentence_and_cell(committed, torn, expected, cell):
    runs = committed.shared_file.runs
    unlocked = dataclasses.replace(runs["nothing"], torn_per_run=torn, records=24)
    shared_file = dataclasses.replace(committed.shared_file, runs={**runs, "nothing": unlocked})
    assert analysis.torn_sentence(shared_file) == expected
    assert analysis.torn_cell(shared_file, "nothing") == cell


@pytest.mark.parametrize(("most", "expected"), [
    (6, "Without the semaphore, 6 processes were inside at once, which shows that the time "
        "line sees overlap when there is some."),
    (2, "Without the semaphore, no more than 2 processes happened to be inside at once, so "
        "this run cannot show that the time line would see too many."),
])
def test_semaphore_none_sentence(committed, most, expected):
    semaphore = committed.semaphore
    unguarded = dataclasses.replace(semaphore.unguarded, most_inside=most)
    changed = dataclasses.replace(semaphore, places=2, unguarded=unguarded)
    assert analysis.semaphore_none_sentence(changed) == expected


def test_trips_sentence(committed):
    traffic = committed.traffic
    passed = dataclasses.replace(traffic.trips[0], outcome="passed")
    gave_up = dataclasses.replace(traffic.trips[0], outcome="gave up")
    changed = dataclasses.replace(traffic, trips=(passed, gave_up, gave_up))
    assert analysis.trips_sentence(changed) == (
        "1 of the 3 trips passed and 2 gave up, and no car passed while the light was red.")


@pytest.mark.parametrize(("waited", "expected"), [
    ((), "No trip happened to arrive at red and wait for green in this run."),
    ((0.002,), "The one trip that arrived at red and waited was woken by the light's set() "
               "and moved off 2.00 ms after it turned green."),
    ((0.001, 0.003), "The 2 trips that arrived at red and waited were woken by the light's "
                     "set() and moved off at most 3.00 ms after it turned green."),
])
def test_waited_sentence(committed, waited, expected):
    traffic = dataclasses.replace(committed.traffic, waited_for_green=waited)
    assert analysis.waited_sentence(traffic) == expected


@pytest.mark.parametrize(("alive", "exitcode", "expected"), [
    (True, None, "while (holder alive): acquire returned False after 0.150 s"),
    (False, -9, "while (holder dead, exit code -9): acquire returned False after 0.150 s"),
])
def test_attempt_line(alive, exitcode, expected):
    attempt = analysis.LockAttempt(when="while", acquired=False, waited_s=0.15,
                                   holder_alive=alive, holder_exitcode=exitcode)
    assert analysis.attempt_line(attempt) == expected


@pytest.mark.parametrize(("outcome", "expected"), [
    ("gave up", "The light stopped at 2.00 s, and the last trip ended at 9.00 s, when car C "
                "gave up, its patience spent."),
    ("passed", "The light stopped at 2.00 s, and the last trip ended at 9.00 s, when car C "
               "passed."),
])
def test_light_end_sentence(committed, outcome, expected):
    last = dataclasses.replace(committed.traffic.trips[0], car="car C", at=9.0,
                               outcome=outcome)
    traffic = dataclasses.replace(committed.traffic, trips=(*committed.traffic.trips, last),
                                  light_ended=2.0)
    assert analysis.light_end_sentence(traffic) == expected


@pytest.mark.parametrize(("process_lock", "expected"), [
    (1.2, "As long as nobody waits for it, a lock between processes is no dearer than one "
          "between threads."),
    (3.0, "As long as nobody waits for it, a lock between processes is dearer than one "
          "between threads, but of the same order."),
    (12.0, "Even when nobody waits for it, a lock between processes was many times dearer "
           "than one between threads here."),
])
def test_uncontended_sentence(committed, process_lock, expected):
    cost = {**committed.lock_cost.cost, "thread_lock": 1.0, "process_lock": process_lock}
    assert analysis.uncontended_sentence(analysis.LockCost(cost=cost)) == expected


@pytest.mark.parametrize(("shared", "start"), [
    (1.0, "That is far less than a hand-off costs (below): a loop that holds the lock"),
    (5.0, "That is close to what a hand-off costs (below): the two loops often found"),
])
def test_shared_sentence(committed, shared, start):
    cost = {**committed.lock_cost.cost, "processes_share": shared, "handoff": 10.0}
    assert analysis.shared_sentence(analysis.LockCost(cost=cost)).startswith(start)


def test_summary_rows(committed):
    rows = dict(analysis.summary_rows(committed))
    assert len(rows) == 10 and all(rows.values())
    assert rows["the same, with a multiprocessing.Lock around each record's write"] == (
        "none of 24")
    assert rows["cars that passed the Event traffic light on red"] == "0"


def test_texts_of_the_committed_result(committed):
    texts = analysis.texts(committed)
    # book/rules.md quotes these with :s, so they must be strings.
    for key in ("sync_dead_waited_dead", "sync_broken_after", "sync_work_lock_slowdown",
                "sync_cost_handoff", "sync_cost_process_lock"):
        assert isinstance(texts[key], str), key
    assert texts["sync_torn_sentence"] == analysis.torn_sentence(committed.shared_file)
    assert texts["sync_uncontended_sentence"] == analysis.uncontended_sentence(
        committed.lock_cost)
    assert texts["sync_light_end_sentence"] == analysis.light_end_sentence(committed.traffic)
    assert texts["sync_cpus"] == str(committed.setup.cpus)
    assert texts["sync_methods"] == "fork, spawn and forkserver"


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def test_sync_primitives_claim_every_verdict(committed):
    setup, by_method = committed.setup, committed.start_methods
    judged = analysis.sync_primitives_claim(setup, by_method)
    assert judged.verdict is Verdict.HOLDS and "traffic light" in judged.reason
    last = list(by_method)[-1]

    def spoiled(**changes):
        return {**by_method, last: dataclasses.replace(by_method[last], **changes)}

    judged = analysis.sync_primitives_claim(setup, spoiled(torn_with_lock=2))
    assert judged.verdict is Verdict.PARTLY
    assert "the Semaphore and the Event did their job" in judged.reason
    assert f"the Lock under {last} did not" in judged.reason
    everything = spoiled(lost_lines=1, most_inside=by_method[last].places + 1, cars_on_red=1)
    judged = analysis.sync_primitives_claim(setup, everything)
    assert judged.verdict is Verdict.FAILS and f"the Event under {last}" in judged.reason


def _file_with(shared_file, **runs):
    """The committed shared-file runs with ``hold=fields`` changed."""
    changed = {hold: dataclasses.replace(run, **runs.get(hold, {}))
               for hold, run in shared_file.runs.items()}
    return dataclasses.replace(shared_file, runs=changed)


def test_lock_serialises_claim_every_verdict(committed):
    files = committed.shared_file
    assert files.one_after_another_s == pytest.approx(
        files.writers * files.records_each
        * (files.work_s + files.lines_per_record * files.line_pause_s))
    judged = analysis.lock_serialises_claim(files)
    assert judged.verdict is Verdict.HOLDS
    assert "only what the lock covers is serialised" in judged.reason
    overlapped = {"elapsed": files.one_after_another_s * analysis.SERIAL_FROM * 0.9}
    torn = {"torn_per_run": (0, 3)}
    judged = analysis.lock_serialises_claim(_file_with(files, work_and_write=overlapped))
    assert judged.verdict is Verdict.PARTLY and "did not clearly take turns" in judged.reason
    judged = analysis.lock_serialises_claim(_file_with(files, work_and_write=torn))
    assert judged.verdict is Verdict.PARTLY and "(3 in the worst run)" in judged.reason
    calm = _file_with(files, nothing={"torn_per_run": (0,)})
    judged = analysis.lock_serialises_claim(calm)
    assert judged.verdict is Verdict.PARTLY and "not the race it avoids" in judged.reason
    neither = _file_with(files, work_and_write={**overlapped, **torn})
    judged = analysis.lock_serialises_claim(neither)
    assert judged.verdict is Verdict.FAILS and "neither serialised" in judged.reason


def test_claims_of_the_committed_result(committed):
    assert set(analysis.claims(committed)) == {"a001_sync_primitives", "a001_lock_serialises"}
