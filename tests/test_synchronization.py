"""The sync experiment in quick mode, and every demonstration under every start method."""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.synchronize
import threading

import pytest

from parbook.chapters.synchronization import experiment as experiment
from parbook.chapters.synchronization import workload as work
from tests.leftovers import left_behind

START_METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def sync_quick():
    # Record the name of every named semaphore this process creates (spawn and forkserver
    # use named ones), to show that the /dev/shm check below has something to look for.
    created: list[str] = []
    original = multiprocessing.synchronize.SemLock.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self._semlock.name:
            created.append(self._semlock.name.lstrip("/"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multiprocessing.synchronize.SemLock, "__init__", recording_init)
        result = experiment.run(quick=True)
    return {"result": result, "created_semaphores": created}


@pytest.fixture(scope="module")
def found(sync_quick):
    return experiment.findings(sync_quick["result"])


def test_every_case_is_present_with_positive_finite_samples(sync_quick):
    result = sync_quick["result"]
    assert {c.params["case"] for c in result.group("lock_cost")} == set(experiment.COST_LABELS)
    assert {c.params["hold_for"] for c in result.group("shared_file")} == set(
        experiment.HOLD_LABELS)
    for case in result.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_the_experiment_covered_every_start_method(found):
    assert set(found["start_methods"]) == set(START_METHODS)


@pytest.mark.parametrize("method", START_METHODS)
def test_every_claim_holds_under_each_start_method(found, method):
    verdict = found["start_methods"][method]
    assert verdict["torn_with_lock"] == 0 and verdict["lost_lines"] == 0, verdict
    assert 1 <= verdict["most_inside"] <= verdict["places"], verdict
    assert verdict["cars_on_red"] == 0, verdict
    assert verdict["barrier_passed"] >= 2, verdict
    assert verdict["barrier_skew_s"] < verdict["barrier_spread_s"], verdict
    # The failure demonstrations ended by themselves, with the promised outcome.
    assert verdict["broken_barrier"] == verdict["broken_started"] >= 1, verdict
    assert verdict["dead_holder_timed_out"] == verdict["dead_holder_attempts"] == 2, verdict
    assert verdict["all_exited_cleanly"], verdict
    assert experiment.verdicts_hold(verdict)


def test_without_a_lock_records_are_torn_and_with_it_none_are(found):
    files = found["shared_file"]
    assert files["nothing"]["torn"] > 0  # writers in lock-step: interleaving is certain
    for hold in ("write", "work_and_write"):
        assert files[hold]["torn"] == 0
    for info in files.values():
        assert info["lines"] == info["expected_lines"] and info["malformed_lines"] == 0
        assert info["exitcodes"] == [0] * len(info["exitcodes"]) and info["killed"] == 0


def test_semaphore_bounds_the_number_inside(found):
    semaphore = found["semaphore"]
    assert semaphore["limited"]["most_inside"] <= semaphore["limited"]["places"]
    assert semaphore["none"]["most_inside"] > semaphore["limited"]["places"]
    assert semaphore["limited"]["visits"] == semaphore["none"]["visits"]


def test_traffic_light_no_car_on_red_and_everything_ends(found):
    traffic = found["traffic"]
    assert traffic["passed_on_red"] == 0 and traffic["gave_up_on_green"] == 0
    assert traffic["passed"] >= 1 and traffic["gave_up"] >= 1
    assert traffic["ended_by_itself"]
    assert len(traffic["rows"]) == sum(len(trips) for trips in work.CAR_TRIPS.values())
    assert all(0 <= latency < 1.0 for latency in traffic["waited_for_green"])


def test_failure_demos_end_within_their_bounds(found, sync_quick):
    params = sync_quick["result"].parameters
    broken = found["broken_barrier"]
    assert broken["outcomes"] == ["BrokenBarrierError"] * broken["started"]
    # Broken after the timeout of the first to arrive, not after the general bound.
    ended = found["broken_last_left"] - found["broken_first_arrival"]
    assert params["broken_timeout_s"] * 0.9 <= ended < params["broken_timeout_s"] + 2.0
    for attempt in found["dead_holder"]:
        assert not attempt["acquired"]
        assert params["patience_s"] * 0.9 <= attempt["waited_s"] < params["patience_s"] + 2.0
    assert found["dead_holder"][1]["holder_exitcode"] == -9
    assert found["pickled_lock"].startswith("RuntimeError")


def test_findings_are_positive_and_the_lock_scope_costs_time(found):
    for case, value in found["cost"].items():
        assert math.isfinite(value) and value > 0, case
    # Not a speed claim: serialising sleeps must take longer than overlapping them.
    assert found["work_lock_slowdown"] > 1
    assert found["all_hold"]


def test_nothing_is_left_behind(sync_quick, shm_before):
    children, new_shm = left_behind(shm_before)  # semaphores go with their last reference
    assert not children, children
    if "spawn" in START_METHODS:   # named semaphores exist only outside fork
        assert sync_quick["created_semaphores"]
    assert not new_shm, sorted(new_shm)


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
