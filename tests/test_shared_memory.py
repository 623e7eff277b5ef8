"""The shared-memory chapter: its quick run, its demonstrations and each of its
data-dependent sentences (on the committed result ``tests/results/shared-memory.json``).

Structure and correctness only, never speed: every case is present with positive
finite samples; every demonstration gives the promised outcome under every start
method; failure demonstrations end within their limits; and nothing is left behind in
/dev/shm or as a child process.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import pickle

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.shared_memory import analysis, views
from parbook.chapters.shared_memory import experiment as experiment
from parbook.chapters.shared_memory import workload as work
from tests.conftest import ROOT
from tests.leftovers import left_behind

METHODS = multiprocessing.get_all_start_methods()
COMMITTED = ROOT / "tests" / "results" / "shared-memory.json"
# After the last test: no new block (or other entry) in /dev/shm, no child process.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def quick_result(quick_results):
    return quick_results["shared-memory"]


@pytest.fixture(scope="module")
def quick_found(quick_result):
    return analysis.findings(quick_result)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present_with_positive_finite_samples(quick_result):
    size = experiment.QUICK
    expected = {
        "counter_race": {(m, how) for m in METHODS for how in experiment.COUNTER_LABELS},
        "counter_contended": {(m, how) for m in METHODS for how in experiment.COUNTER_LABELS},
        "counter_cost": set(experiment.COST_LABELS),
        "manager_ops": set(experiment.OP_LABELS),
        "exchange": set(experiment.EXCHANGE_LABELS),
        "handoff": {(mib, how) for mib in size.handoff_mib for how in experiment.HANDOFF_LABELS},
        "first_touch": set(experiment.TOUCH_LABELS),
    }
    keys = {
        "counter_race": lambda p: (p["method"], p["how"]),
        "counter_contended": lambda p: (p["method"], p["how"]),
        "counter_cost": lambda p: p["how"],
        "manager_ops": lambda p: p["op"],
        "exchange": lambda p: p["how"],
        "handoff": lambda p: (p["mib"], p["how"]),
        "first_touch": lambda p: p["touch"],
    }
    for group, wanted in expected.items():
        assert {keys[group](c.params) for c in quick_result.group(group)} == wanted, group
    for case in quick_result.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_findings_are_positive_and_the_verdict_inputs_exist(quick_found):
    found = quick_found
    for name, value in {
        "cost value": found.counter_cost.value,
        "cost get_lock": found.counter_cost.value_get_lock,
        "cost raw": found.counter_cost.raw_value,
        "proxy_over_local": found.manager.proxy_over_local,
        "manager_over_queue_each": found.exchange.manager_over_queue_each,
        "best_shared_multiple": found.handoff.best_shared_multiple,
        "first_touch": found.handoff.first_touch,
    }.items():
        assert math.isfinite(value) and value > 0, name
    assert found.handoff.best_shared in experiment.SHARED_HANDOFFS
    lost = found.counter.lost.values()
    assert 0 <= min(lost) <= max(lost) < found.counter.expected


@pytest.mark.parametrize("method", METHODS)
def test_demos_under_every_start_method(quick_found, method):
    child = quick_found.demos.children[f"demos-{method}"]
    assert child["returncode"] == 0 and not child["killed"]
    assert child["errors"] == "", child["errors"]  # no tracker warning at exit
    demo = quick_found.demos.by_method[method]
    locked = demo["counter"]["get_lock"]
    assert locked["counted"] == locked["expected"]
    assert 0 < demo["counter"]["no_lock"]["counted"] <= demo["counter"]["no_lock"]["expected"]
    assert set(demo["exchange"]["received"].values()) == {demo["exchange"]["expected"]}
    assert all(demo["handoff"].values()), demo["handoff"]
    for key in ("owner", "shared_memory_manager"):
        assert demo[key]["total"] == demo["expected_total"]
        assert not demo[key]["exists_after"], key
    assert demo["owner"]["new_after"] == [] and demo["new_segments_at_end"] == []
    shared = demo["queue_share"]
    assert shared["all_doubled"] and shared["worker_pid"] != shared["owner_pid"]
    assert shared["message_bytes"] < 1000 < shared["array_bytes"]


def test_what_the_page_says_of_the_demonstrations_holds(quick_found):
    """The claims the page's prose makes of its demonstrations (asserts in its hidden
    cells before): quiet exits, nothing left, right sums, and the tracker's behaviour."""
    demos = quick_found.demos
    assert demos.demos_quiet, {m: demos.children[f"demos-{m}"]["errors"] for m in METHODS}
    assert demos.owner_clean and demos.manager_clean and demos.segments_left == 0
    assert demos.exchange_all_received and demos.handoff_all_correct
    assert demos.queue_share_ok and quick_found.counter.locked_exact
    assert demos.other_warned and demos.other_destroyed
    assert demos.untracked_survived and demos.untracked_quiet


def test_a_reader_with_its_own_tracker_destroys_the_block(quick_found):
    child = quick_found.demos.children["other-program"]
    assert child["returncode"] == 0 and not child["killed"]
    assert child["elapsed_s"] < child["time_limit_s"]
    assert quick_found.demos.other_destroyed and quick_found.demos.other_warned
    assert "attaching by name now fails: FileNotFoundError" in child["output"]
    assert "unlink() raised FileNotFoundError" in child["output"]


def test_an_untracked_reader_leaves_the_block_alone(quick_found):
    child = quick_found.demos.children["other-program-untracked"]
    assert child["returncode"] == 0 and not child["killed"]
    assert quick_found.demos.untracked_survived and quick_found.demos.untracked_quiet
    assert "owner: unlinked the block" in child["output"]


@pytest.mark.parametrize("method", METHODS)
def test_worker_started_first(quick_found, method):
    child = quick_found.demos.children[f"worker-first-{method}"]
    assert child["returncode"] == 0 and not child["killed"]
    assert "the worker read b'shared!!'" in child["output"]
    destroyed = quick_found.demos.worker_first_destroyed[method]
    # The block disappears exactly when a tracker of the worker's own cleaned it up.
    assert destroyed == quick_found.demos.worker_first_warned[method], child
    if method != "fork":  # spawn and forkserver children always share the parent's tracker
        assert not destroyed and child["errors"] == ""


@pytest.mark.parametrize("method", METHODS)
def test_workloads_in_this_process(method):
    context = multiprocessing.get_context(method)
    values = np.arange(10_000, dtype=np.float64)
    assert all(work.handoff_check(context, 10_000).values())
    total, name = work.owner_total(context, values, 2)
    assert total == values.sum() and not work.block_exists(name)
    total, name = work.manager_total(context, values, 1)
    assert total == values.sum() and not work.block_exists(name)
    shared = work.share_through_queue(context, 1_000)
    assert shared["all_doubled"]
    counted = work.count_in_processes(context, 2, 2_000, hold_lock=True)
    assert counted["counted"] == counted["expected"] == 4_000


def test_shared_array_pickles_as_a_name_and_only_the_owner_unlinks():
    with work.SharedArray((1000,), "float64") as owner:
        owner.array[:] = 7.0
        message = pickle.dumps(owner)
        assert len(message) < 200 < owner.array.nbytes
        with pickle.loads(message) as attached:  # attaches to the same block
            assert not attached.owner and attached.array.sum() == 7_000
            attached.array[0] = 1.0
        assert work.block_exists(owner.block.name)  # closing a copy did not unlink
        assert owner.array[0] == 1.0
        name = owner.block.name
    assert not work.block_exists(name)


def test_main_rejects_an_unknown_demo(capsys):
    assert work.main(["nonsense"]) == 2
    assert "usage" in capsys.readouterr().err


# --- each data-dependent sentence, every alternative ----------------------------------------

def _counter(found, lost_by_method, locked_counted=None):
    """The counter findings with ``lost_by_method`` updates lost without the lock."""
    by_method = {}
    for method, lost in lost_by_method.items():
        expected = 100
        locked = expected if locked_counted is None else locked_counted
        by_method[method] = {
            "no_lock": {"expected": expected, "counted": expected - lost, "seconds": [1.0]},
            "get_lock": {"expected": expected, "counted": locked, "seconds": [1.0]}}
    return dataclasses.replace(found.counter, by_method=by_method)


@pytest.mark.parametrize(("lost", "expected"), [
    ({"fork": 0, "spawn": 0}, "none of the updates, under any start method: the processes "
                              "never happened to interleave between a read and a write on "
                              "this machine in this run"),
    ({"fork": 12, "spawn": 12}, "12 of them under every start method"),
    ({"fork": 3, "spawn": 1_234}, "between 3 and 1,234 of them, depending on how often the "
                                  "processes' reads and writes happened to interleave"),
])
def test_lost_text(found, lost, expected):
    assert analysis.lost_text(_counter(found, lost)) == expected


def test_locked_verdict(found):
    exact = _counter(found, {"fork": 5})
    assert analysis.locked_verdict(exact) == "exactly right under every start method"
    wrong = _counter(found, {"fork": 5}, locked_counted=99)
    assert analysis.locked_verdict(wrong) == (
        "still wrong, which should not happen: see the table")


def _exchange(found, manager_each):
    return dataclasses.replace(found.exchange, times={**found.exchange.times,
                                                      "queue_each": 1.0,
                                                      "manager_each": manager_each})


def test_exchange_verdicts(found):
    queue_cheaper = _exchange(found, 2.5)
    assert analysis.exchange_each_verdict(queue_cheaper) == (
        "the queue was the cheaper of the two: the Manager dict took 2.5× as long")
    assert analysis.advice_verdict(queue_cheaper) == (
        "does not hold here for reporting results: a queue was cheaper")
    manager_cheaper = _exchange(found, 0.5)
    assert analysis.exchange_each_verdict(manager_cheaper) == (
        "the Manager dict was the cheaper of the two, at 0.50× the time of the queue")
    assert analysis.advice_verdict(manager_cheaper) == (
        "holds here even for reporting results one by one")


@pytest.mark.parametrize(("kept", "expected"), [
    (0.5, "less than copying the data once in the parent"),
    (1.5, "within twice the cost of copying the data once"),
    (3.0, "more than twice the cost of copying the data once, on this machine (see the "
          "spread table for how noisy the case was)"),
])
def test_best_verdict(found, kept, expected):
    handoff = found.handoff
    largest = handoff.largest
    times = {**handoff.times, (largest, "memcpy"): 1.0, (largest, "by_copy"): 10.0,
             (largest, "by_name"): 10.0, (largest, "kept"): kept}
    changed = dataclasses.replace(handoff, times=times)
    assert changed.best_shared == "kept"
    assert analysis.best_verdict(changed) == expected
    assert analysis.texts(dataclasses.replace(found, handoff=changed))["sm_best_label"] == "(d)"


def _demos_with_worker_first(found, gone):
    children = dict(found.demos.children)
    for method, destroyed in gone.items():
        state = "GONE" if destroyed else "still there"
        children[f"worker-first-{method}"] = {
            **children[f"worker-first-{method}"],
            "output": f"owner: 0.5 s after the worker exited, the block is {state}\n"}
    return dataclasses.replace(found.demos, methods=list(gone), children=children)


@pytest.mark.parametrize(("gone", "expected"), [
    ({"fork": True, "spawn": False, "forkserver": False},
     "under fork the block was gone within half a second of the worker's exit and the "
     "tracker warned; under spawn and forkserver it was still there and nothing was printed"),
    ({"fork": True, "spawn": True},
     "under every start method (fork and spawn) the block was gone within half a second of "
     "the worker's exit"),
    ({"fork": False, "spawn": False},
     "under every start method the block was still there after the worker exited: this "
     "Python shares the tracker with fork children too"),
])
def test_worker_first_text(found, gone, expected):
    assert analysis.worker_first_text(_demos_with_worker_first(found, gone)) == expected


def test_track_text(found):
    old = dataclasses.replace(found.setting, python="3.12.1", has_track_parameter=False)
    assert analysis.track_text(old) == (
        "This build runs Python 3.12.1, whose SharedMemory has no track parameter, so the "
        "reader took the other branch: it attached normally and then unregistered the block "
        "from its own tracker.")
    new = dataclasses.replace(found.setting, python="3.13.1", has_track_parameter=True)
    assert analysis.track_text(new) == (
        "This build runs Python 3.13.1, so the reader took the first branch and attached "
        "with track=False.")


def _demos_with_reader(found, key, survived):
    children = dict(found.demos.children)
    children[key] = {**children[key],
                     "output": f"owner: psm_x exists after the reader exited: {survived}\n"}
    return dataclasses.replace(found.demos, children=children)


def test_reader_sentences(found):
    destroyed = _demos_with_reader(found, "other-program", False)
    assert analysis.other_destroyed_text(destroyed) == "gone"
    assert analysis.other_program_rule_text(destroyed) == "unlinked it"
    spared = _demos_with_reader(found, "other-program", True)
    assert analysis.other_destroyed_text(spared) == "still there"
    assert analysis.other_program_rule_text(spared) == "left it alone"
    survived = _demos_with_reader(found, "other-program-untracked", True)
    assert analysis.untracked_survived_text(survived) == (
        "still there, and the owner unlinked it itself")
    lost = _demos_with_reader(found, "other-program-untracked", False)
    assert analysis.untracked_survived_text(lost) == "gone all the same"


def test_printouts_shorten_paths_and_name_missing_errors():
    child = {"output": "owner: done\n",
             "errors": '/usr/lib/python3.11/multiprocessing/resource_tracker.py:254: '
                       'UserWarning: leaked\n'}
    assert analysis.owner_and_reader_output(child) == (
        "owner: done\n--- owner's standard error:\nresource_tracker.py:254: UserWarning: leaked")
    quiet = {"output": "owner: done\n", "errors": ""}
    assert analysis.owner_and_reader_output(quiet) == (
        "owner: done\n--- owner's standard error:\n(nothing)")


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    for key, value in texts.items():
        assert isinstance(value, str) and value, key  # the rules page quotes them with :s
    assert texts["sm_rule_left"] == "0"
    assert texts["sm_methods"] == ", ".join(found.setting.methods)
    printed = analysis.outputs(found.demos)
    assert set(printed) == set(views.OUTPUTS)
    lifecycle = printed["shared-memory-lifecycle"]
    assert lifecycle.count("--- start method") == len(found.setting.methods)
    # The tracker's warnings are quoted whole, whatever their length.
    other = printed["shared-memory-other-program"]
    assert other.count(analysis.LEAK_WARNING) == (
        found.demos.children["other-program"]["output"].count(analysis.LEAK_WARNING)
        + found.demos.children["other-program"]["errors"].count(analysis.LEAK_WARNING))
    assert "/work/" not in other


def test_no_child_process_is_left_running(shm_before):
    children, _ = left_behind(shm_before)
    assert not children, children
