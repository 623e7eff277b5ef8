"""The shared-memory experiment in quick mode, and the chapter's demonstrations.

Structure and correctness only, never speed: every case is present with positive
finite samples; every demonstration gives the promised outcome under every start
method; failure demonstrations end within their limits; and nothing is left behind in
/dev/shm or as a child process.
"""

from __future__ import annotations

import math
import multiprocessing
import pickle

import numpy as np
import pytest

from parbook.chapters.shared_memory import experiment as experiment
from parbook.chapters.shared_memory import workload as work
from tests.leftovers import left_behind

METHODS = multiprocessing.get_all_start_methods()
# After the last test: no new block (or other entry) in /dev/shm, no child process.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def quick_result():
    return experiment.run(quick=True)


@pytest.fixture(scope="module")
def found(quick_result):
    return experiment.findings(quick_result)


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


def test_findings_are_positive_and_the_verdict_inputs_exist(found):
    for key in ("cost_value", "cost_get_lock", "cost_raw", "proxy_over_local",
                "manager_over_queue_each", "best_shared_multiple", "first_touch"):
        assert math.isfinite(found[key]) and found[key] > 0, key
    assert found["best_shared"] in experiment.SHARED_HANDOFFS
    assert 0 <= found["lost_min"] <= found["lost_max"] < found["counter_expected"]


@pytest.mark.parametrize("method", METHODS)
def test_demos_under_every_start_method(found, method):
    child = found["children"][f"demos-{method}"]
    assert child["returncode"] == 0 and not child["killed"]
    assert child["errors"] == "", child["errors"]  # no tracker warning at exit
    demo = found["demos"][method]
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


def test_a_reader_with_its_own_tracker_destroys_the_block(found):
    child = found["children"]["other-program"]
    assert child["returncode"] == 0 and not child["killed"]
    assert child["elapsed_s"] < child["time_limit_s"]
    assert found["other_destroyed"] and found["other_warned"]
    assert "attaching by name now fails: FileNotFoundError" in child["output"]
    assert "unlink() raised FileNotFoundError" in child["output"]


def test_an_untracked_reader_leaves_the_block_alone(found):
    child = found["children"]["other-program-untracked"]
    assert child["returncode"] == 0 and not child["killed"]
    assert found["untracked_survived"] and found["untracked_quiet"]
    assert "owner: unlinked the block" in child["output"]


@pytest.mark.parametrize("method", METHODS)
def test_worker_started_first(found, method):
    child = found["children"][f"worker-first-{method}"]
    assert child["returncode"] == 0 and not child["killed"]
    assert "the worker read b'shared!!'" in child["output"]
    destroyed = found["worker_first_destroyed"][method]
    # The block disappears exactly when a tracker of the worker's own cleaned it up.
    assert destroyed == found["worker_first_warned"][method], child
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


def test_no_child_process_is_left_running(shm_before):
    children, _ = left_behind(shm_before)
    assert not children, children
