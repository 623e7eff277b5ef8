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
from parbook.claims import Verdict
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


def test_shared_array_of_records_keeps_its_fields_when_it_travels():
    # A structured dtype must reach a spawn or forkserver child with its fields, not as
    # raw records of the same size.
    record = np.dtype([("observation", np.float32, 4), ("action", np.int8)])
    with work.SharedArray((3,), record) as owner:
        owner.array["action"] = [1, 0, 1]
        with pickle.loads(pickle.dumps(owner)) as attached:
            assert attached.array.dtype == record
            assert attached.array["action"].tolist() == [1, 0, 1]


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


@pytest.mark.parametrize(("lost", "expected", "cell"), [
    ({"fork": 0, "spawn": 0}, "The bare v.value += 1 lost none of the 200 updates, under any "
                              "start method: the processes never happened to interleave "
                              "between a read and a write in this run.",
     "none, under every start method"),
    ({"fork": 12, "spawn": 12}, "The bare v.value += 1 lost 12 of the 200 updates under every "
                                "start method.", "12 of 200, under every start method"),
    ({"fork": 3, "spawn": 99}, "The bare v.value += 1 lost between 3 and 99 of the 200 "
                               "updates, depending on how often the processes' reads and "
                               "writes happened to interleave.",
     "3 to 99 of 200 (fewest and most over the start methods)"),
])
def test_lost_sentence_and_cell(found, lost, expected, cell):
    counter = dataclasses.replace(_counter(found, lost), workers=2, n=100)
    assert analysis.lost_sentence(counter) == expected
    assert analysis.lost_cell(counter) == cell


def test_locked_sentence(found):
    exact = _counter(found, {"fork": 5})
    assert analysis.locked_sentence(exact) == (
        "Holding get_lock() for the whole read-add-write made the count exactly right under "
        "every start method.")
    wrong = _counter(found, {"fork": 5}, locked_counted=99)
    assert analysis.locked_sentence(wrong) == (
        "Holding get_lock() for the whole read-add-write should make the count exact, yet in "
        "this run it did not under every start method: see the table.")
    assert dict(analysis.summary_rows(dataclasses.replace(found, counter=wrong)))[
        "the same, holding v.get_lock() around each update"] == "some, which should not happen"


def _exchange(found, manager_each, queue_batch=0.1, manager_batch=0.1):
    return dataclasses.replace(found.exchange, times={"queue_each": 1.0,
                                                      "manager_each": manager_each,
                                                      "queue_batch": queue_batch,
                                                      "manager_batch": manager_batch})


def test_exchange_sentences(found):
    queue_cheaper = _exchange(found, 2.5)
    assert analysis.exchange_each_sentence(queue_cheaper) == (
        "One result at a time, the queue was the cheaper of the two: the Manager dict took "
        "2.5× as long.")
    assert analysis.advice_sentence(queue_cheaper) == (
        "So the advice does not hold here for reporting results: a queue was cheaper.")
    manager_cheaper = _exchange(found, 0.5)
    assert analysis.exchange_each_sentence(manager_cheaper) == (
        "One result at a time, the Manager dict was the cheaper of the two, at 0.50× the time "
        "of the queue.")
    assert analysis.advice_sentence(manager_cheaper) == (
        "So the advice held here, even for results reported one by one.")


@pytest.mark.parametrize(("manager_each", "queue_batch", "manager_batch", "expected"), [
    (2.5, 0.1, 0.125, "Sending each worker's results as one batch changed far more than the "
                      "choice of channel: it made the queue 10× faster and the dict 20× "
                      "faster."),
    (2.5, 0.5, 1.0, "Sending each worker's results as one batch made the queue 2.0× faster "
                    "and the dict 2.5× faster."),
    (2.5, 2.0, 1.0, "Sending each worker's results as one batch did not make both faster "
                    "here: the queue took 2.0× and the dict 0.40× of their times one result "
                    "at a time."),
])
def test_batch_sentence(found, manager_each, queue_batch, manager_batch, expected):
    exchange = _exchange(found, manager_each, queue_batch, manager_batch)
    assert analysis.batch_sentence(exchange) == expected


@pytest.mark.parametrize(("kept", "expected"), [
    (0.5, "The best shared-memory hand-off, (d), came to 0.50× the memcpy floor: less than "
          "copying the data once in the parent."),
    (1.5, "The best shared-memory hand-off, (d), came to 1.5× the memcpy floor: within twice "
          "the cost of copying the data once."),
    (3.0, "The best shared-memory hand-off, (d), came to 3.0× the memcpy floor: more than "
          "twice the cost of copying the data once, on this machine (see the spread table "
          "for how noisy the case was)."),
])
def test_best_sentence(found, kept, expected):
    handoff = found.handoff
    largest = handoff.largest
    times = {**handoff.times, (largest, "memcpy"): 1.0, (largest, "by_copy"): 10.0,
             (largest, "by_name"): 10.0, (largest, "kept"): kept}
    changed = dataclasses.replace(handoff, times=times)
    assert changed.best_shared == "kept"
    assert analysis.best_sentence(changed) == expected


@pytest.mark.parametrize(("first", "second", "expected"), [
    (0.003, 0.001, "Its first sum took 3.00 ms and its second 1.00 ms: the difference, the "
                   "page faults, was about 50% of the time of hand-off (c)."),
    (0.001, 0.002, "Its first sum took 1.00 ms and its second 2.00 ms: here the page faults "
                   "did not show above the variation between runs."),
])
def test_touch_sentence(found, first, second, expected):
    handoff = found.handoff
    times = {**handoff.times, (handoff.largest, "by_name"): 0.004}
    changed = dataclasses.replace(handoff, times=times, first_touch=first, second_touch=second)
    assert analysis.touch_sentence(changed) == expected


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
     "In this build, under fork the block was gone within half a second of the worker's exit "
     "and the tracker warned; under spawn and forkserver it was still there and nothing was "
     "printed. A fork child of a parent without a running tracker starts its own when it "
     "first attaches a block, while spawn and forkserver children always get the parent's."),
    ({"fork": False, "spawn": True, "forkserver": False},
     "In this build, under spawn the block was gone within half a second of the worker's exit "
     "and the tracker warned; under fork and forkserver it was still there and nothing was "
     "printed."),
    ({"fork": True, "spawn": True},
     "In this build, under every start method (fork and spawn) the block was gone within half "
     "a second of the worker's exit."),
    ({"fork": False, "spawn": False},
     "In this build the block was still there after the worker exited, under every start "
     "method: this Python shares the tracker with fork children too."),
])
def test_worker_first_sentence(found, gone, expected):
    assert analysis.worker_first_sentence(_demos_with_worker_first(found, gone)) == expected


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


def _demos_with_reader(found, key, survived, errors=None):
    children = dict(found.demos.children)
    children[key] = {**children[key],
                     "output": f"owner: psm_x exists after the reader exited: {survived}\n",
                     **({} if errors is None else {"errors": errors})}
    return dataclasses.replace(found.demos, children=children)


def test_other_program_sentences(found):
    destroyed = _demos_with_reader(found, "other-program", False,
                                   errors="UserWarning: '/psm_x': No such file or directory")
    gone = ("The reader's tracker warned about a \"leak\" and cleaned it up: once the reader "
            "had exited, the block was gone, nobody could attach it by name any more, and the "
            "owner's own unlink() failed.")
    assert analysis.other_program_sentence(destroyed) == (
        gone + " The owner's tracker then warned as well, about a block it could no longer "
        "find.")
    assert analysis.other_program_rule_text(destroyed) == "unlinked it"
    assert analysis.other_program_cell(destroyed) == (
        "gone: that program's resource tracker had unlinked it")
    quiet_owner = _demos_with_reader(found, "other-program", False, errors="")
    assert analysis.other_program_sentence(quiet_owner) == gone
    spared = _demos_with_reader(found, "other-program", True)
    assert analysis.other_program_sentence(spared) == (
        "This time the block was still there once the reader had exited: its tracker left it "
        "alone (see the printout).")
    assert analysis.other_program_rule_text(spared) == "left it alone"
    assert analysis.other_program_cell(spared) == "still there"


@pytest.mark.parametrize(("survived", "errors", "expected"), [
    (True, "", "With it, the same demonstration ends cleanly: the block was still there after "
               "the reader exited, and the owner unlinked it itself."),
    (True, "UserWarning: resource_tracker: There appear to be 1 leaked shared_memory objects",
     "With it, the block was still there after the reader exited and the owner unlinked it "
     "itself, but a tracker warned all the same (see the printout)."),
    (False, "", "Even so, the block was gone after the reader exited (see the printout), "
                "which this workaround exists to prevent."),
])
def test_untracked_sentence(found, survived, errors, expected):
    demos = _demos_with_reader(found, "other-program-untracked", survived, errors=errors)
    assert analysis.untracked_sentence(demos) == expected


def _demos_with_lifecycle(found, errors="", left=(), total_right=True):
    by_method = {m: dict(demo) for m, demo in found.demos.by_method.items()}
    children = dict(found.demos.children)
    for method, demo in by_method.items():
        demo["new_segments_at_end"] = list(left)
        expected = demo["expected_total"]
        demo["owner"] = {**demo["owner"], "total": expected if total_right else expected + 1}
        children[f"demos-{method}"] = {**children[f"demos-{method}"], "errors": errors}
    return dataclasses.replace(found.demos, by_method=by_method, children=children)


def test_lifecycle_sentence(found):
    assert analysis.lifecycle_sentence(_demos_with_lifecycle(found)) == (
        "Under every start method the workers' total was right, nothing was left in /dev/shm, "
        "and at every exit nothing was printed: no warnings from the resource tracker, which "
        "the next section is about.")
    assert analysis.lifecycle_sentence(_demos_with_lifecycle(found, errors="warning")) == (
        "Under every start method the workers' total was right and nothing was left in "
        "/dev/shm, but something was printed at exit (see the printout); the next section is "
        "about the resource tracker, which prints such warnings.")
    for broken in (_demos_with_lifecycle(found, left=("psm_x",)),
                   _demos_with_lifecycle(found, total_right=False)):
        assert analysis.lifecycle_sentence(broken) == (
            "In this run the pattern did not hold under every start method: the printout "
            "shows what was left behind or summed wrong.")


def test_queue_share_sentence(found):
    method = found.setting.start_method
    assert analysis.queue_share_sentence(found.demos, method) == (
        "The message on the queue was 81 bytes for 8,000,000 bytes of data, and nothing was "
        "sent back: the owner's array had changed, under every start method.")
    by_method = {m: dict(demo) for m, demo in found.demos.by_method.items()}
    by_method[method]["queue_share"] = {**by_method[method]["queue_share"],
                                        "all_doubled": False}
    unchanged = dataclasses.replace(found.demos, by_method=by_method)
    assert analysis.queue_share_sentence(unchanged, method) == (
        "The message on the queue was 81 bytes for 8,000,000 bytes of data, but the owner's "
        "array had not changed under every start method (see the printout).")


def test_summary_rows(found):
    rows = analysis.summary_rows(found)
    assert len(rows) == 9 and all(cell for _what, cell in rows)
    assert dict(rows)["blocks left in /dev/shm by the owner-unlinks pattern, every start "
                      "method"] == "0"


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
    assert texts["sm_methods"] == "fork, spawn and forkserver"
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


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def _exchange_ratios(found, each, batch):
    """The exchange with the Manager dict at ``each`` and ``batch`` times the Queue's."""
    times = dict(found.exchange.times)
    times["manager_each"] = times["queue_each"] * each
    times["manager_batch"] = times["queue_batch"] * batch
    return dataclasses.replace(found.exchange, times=times)


@pytest.mark.parametrize(("each", "batch", "verdict", "says"), [
    (0.5, 0.5, Verdict.HOLDS, "the Manager was the cheaper channel"),
    (0.5, 2.0, Verdict.PARTLY, "cheaper only one result at a time"),
    (2.0, 0.5, Verdict.PARTLY, "cheaper only in batches"),
    (2.0, 2.0, Verdict.FAILS, "the Queue was the cheaper channel both ways"),
])
def test_manager_claim_every_verdict(found, each, batch, verdict, says):
    judged = analysis.manager_claim(_exchange_ratios(found, each, batch))
    assert judged.verdict is verdict and says in judged.reason
    assert f"took {analysis.format_ratio(each)} the time of a Queue" in judged.reason


def test_torch_claims_are_not_measured():
    for judged in (analysis.torch_no_copy_claim(), analysis.torch_advice_claim()):
        assert judged.verdict is Verdict.UNMEASURED and "PyTorch" in judged.reason


def _queue_share(found, all_doubled):
    by_method = {method: {**demo, "queue_share": {**demo["queue_share"],
                                                  "all_doubled": all_doubled}}
                 for method, demo in found.demos.by_method.items()}
    return dataclasses.replace(found.demos, by_method=by_method)


def test_shared_not_faster_claim_every_verdict(found):
    demos, method = _queue_share(found, True), found.setting.start_method

    def judged(each, shared=demos):
        return analysis.shared_not_faster_claim(shared, _exchange_ratios(found, each, 1.0),
                                                found.manager, method)

    slower = judged(2.0)
    assert slower.verdict is Verdict.PARTLY and "not automatically faster" in slower.reason
    assert "A Manager is not shared memory" in slower.reason
    faster = judged(0.5)
    assert faster.verdict is Verdict.PARTLY and "did not show sharing being slower" in faster.reason
    failed = judged(2.0, shared=_queue_share(found, False))
    assert failed.verdict is Verdict.FAILS and "did not show the copy avoided" in failed.reason


def _tracker(found, python, destroyed):
    """The tracker claim on ``python``, the separate program's block gone or not."""
    setting = dataclasses.replace(found.setting, python=python)
    children = dict(found.demos.children)
    outcome = "exited: False" if destroyed else "exited: True"
    children["other-program"] = {**children["other-program"],
                                 "output": f"owner: psm_x exists after the reader {outcome}\n"}
    return analysis.tracker_bug_claim(setting, dataclasses.replace(found.demos,
                                                                   children=children))


@pytest.mark.parametrize(("python", "destroyed", "verdict", "says"), [
    ("3.9.18", True, Verdict.HOLDS, "On this build's Python 3.9.18, a separate program"),
    ("3.10.0", False, Verdict.FAILS, "left it in place"),
    ("3.11.7", True, Verdict.PARTLY, "not confined to those versions"),
    ("3.13.12", False, Verdict.UNMEASURED, "not one of the versions the article names"),
])
def test_tracker_bug_claim_every_verdict(found, python, destroyed, verdict, says):
    judged = _tracker(found, python, destroyed)
    assert judged.verdict is verdict and says in judged.reason


def _handoff(found, kept_x=None, growth=None):
    """The hand-off with the largest array kept mapped at ``kept_x`` times its pickled
    time, and the pickled time grown ``growth`` times from the smallest array to it."""
    times = dict(found.handoff.times)
    smallest, largest = min(found.handoff.sizes_mib), found.handoff.largest
    if kept_x is not None:
        times[(largest, "kept")] = times[(largest, "by_value")] * kept_x
    if growth is not None:
        times[(smallest, "by_value")] = times[(largest, "by_value")] / growth
    return dataclasses.replace(found.handoff, times=times)


def _batching(found, speed_up):
    """The exchange with one batch per worker ``speed_up`` times faster on the Queue."""
    times = dict(found.exchange.times)
    times["queue_batch"] = times["queue_each"] / speed_up
    return dataclasses.replace(found.exchange, times=times)


@pytest.mark.parametrize(("kept_x", "speed_up", "verdict", "says"), [
    (0.1, 4.0, Verdict.HOLDS, "Shared memory and fewer messages both paid"),
    (0.1, 0.5, Verdict.PARTLY, "Communicating less did not"),
    (2.0, 4.0, Verdict.PARTLY, "Shared memory did not"),
    (2.0, 0.5, Verdict.FAILS, "Neither shared memory nor fewer messages paid"),
])
def test_use_shared_memory_claim_every_verdict(found, kept_x, speed_up, verdict, says):
    judged = analysis.use_shared_memory_claim(_handoff(found, kept_x=kept_x),
                                              _batching(found, speed_up))
    assert judged.verdict is verdict and says in judged.reason
    assert f"a {found.handoff.largest} MiB array" in judged.reason


def test_copy_per_receiver_claim_both_ways(found):
    sizes = found.handoff.largest / min(found.handoff.sizes_mib)
    grown = analysis.copy_per_receiver_claim(_handoff(found, growth=sizes))
    assert grown.verdict is Verdict.PARTLY and "copies the whole array" in grown.reason
    assert "judged in the next point" in grown.reason
    flat = analysis.copy_per_receiver_claim(
        _handoff(found, growth=0.9 * analysis.COPY_GROWTH_FROM * sizes))
    assert flat.verdict is Verdict.UNMEASURED and "did not show the copy" in flat.reason
    assert "judged in the next point" in flat.reason


def _manager_ops(found, proxy_over_value):
    ops = dict(found.manager.ops)
    ops["proxy_set"] = ops["value_set"] * proxy_over_value
    return dataclasses.replace(found.manager, ops=ops)


def test_manager_is_shared_memory_claim_both_ways(found):
    limit = analysis.MESSAGE_NOT_MEMORY_FROM
    message = analysis.manager_is_shared_memory_claim(_manager_ops(found, 2 * limit))
    assert message.verdict is Verdict.FAILS and "server process" in message.reason
    close = analysis.manager_is_shared_memory_claim(_manager_ops(found, limit / 2))
    assert close.verdict is Verdict.UNMEASURED and "too close" in close.reason


def test_shared_memory_version_claim_is_not_measured():
    judged = analysis.shared_memory_version_claim()
    assert judged.verdict is Verdict.UNMEASURED and "added in Python 3.8" in judged.reason


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a000_manager", "a000_use_shared_memory", "a001_torch",
                           "a003_copy_per_receiver", "a003_manager_is_shared_memory",
                           "a003_shared_memory_version", "a003_shared_not_faster",
                           "a003_tracker_bug", "a003_torch"}
    # The committed result ran on Python 3.11, after the versions the article names.
    assert found.setting.python.startswith("3.11.")
    assert judged["a003_tracker_bug"].verdict is Verdict.PARTLY
    assert found.setting.python in judged["a003_tracker_bug"].reason


def test_no_child_process_is_left_running(shm_before):
    children, _ = left_behind(shm_before)
    assert not children, children
