"""The pitfalls experiment in quick mode, and each demo under every start method."""

from __future__ import annotations

import math
import multiprocessing

import pytest

from parbook.chapters.pitfalls import experiment as experiment
from parbook.chapters.pitfalls import workload as work

METHODS = multiprocessing.get_all_start_methods()
SOCKET_ERROR = "cannot pickle 'socket' object"
# After the last test: no child process of this one, no new /dev/shm entry.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def pitfalls_quick():
    return experiment.run(quick=True)


def test_every_case_is_present_with_positive_finite_samples(pitfalls_quick):
    groups = {
        "main_light": set(experiment.MAIN_LIGHT_LABELS),
        "idle": set(experiment.IDLE_LABELS),
    }
    cpus = pitfalls_quick.parameters["usable_cpus"]
    if cpus < 2:
        groups["main_light"].discard("busy_parent_fewer_workers")
    for group, expected in groups.items():
        assert {c.params["how"] for c in pitfalls_quick.group(group)} == expected, group
    assert {(c.params["method"], c.params["cell"])
            for c in pitfalls_quick.group("notebook_cell")} == {
        (m, cell) for m in METHODS for cell in work.NOTEBOOK_CELLS}
    for case in pitfalls_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_every_promise_of_the_page_holds(pitfalls_quick):
    assert experiment.check_outcomes(pitfalls_quick) == []
    found = experiment.findings(pitfalls_quick)
    assert found["checks"] == []
    assert found["socket_error"] == f"TypeError: {SOCKET_ERROR}"


@pytest.mark.parametrize("method", METHODS)
def test_socket_env_instance_shares_or_fails_and_factories_fix_it(pitfalls_quick, method):
    hand = pitfalls_quick.values["hand_over"][method]
    # multiprocessing's own pickler duplicates the socket: the worker runs on the
    # parent's connection under every start method.
    for how in ("instance_process", "instance_pool"):
        assert hand[how]["ran"] and hand[how]["same_connection"], hand[how]
    wrapped = hand["instance_library"]
    if method == "fork":  # Process arguments are not pickled under fork
        assert wrapped["ran"] and wrapped["same_connection"], wrapped
    else:
        assert not wrapped["ran"]
        assert (wrapped["error_type"], wrapped["error"]) == ("TypeError", SOCKET_ERROR)
    for how in ("factory_library", "factory_pool"):
        assert hand[how]["ran"] and not hand[how]["same_connection"], hand[how]
        assert hand[how]["connection"] != hand[how]["parent_connection"]


@pytest.mark.parametrize("method", METHODS)
def test_class_counter_counts_per_process_and_both_fixes_count_once(pitfalls_quick, method):
    counted = pitfalls_quick.values["counters"][method]
    total = 1 + experiment.COUNTER_WORKERS * experiment.ENVS_PER_WORKER
    assert counted["environments"] == total
    assert counted["parent_class_count"] == 1
    inherited = 1 if method == "fork" else 0  # fork copies the parent's count
    for report in counted["reports"]:
        assert report["class_count_seen"] == inherited + experiment.ENVS_PER_WORKER
    assert counted["distinct_ports"]["class_counter"] < total
    assert counted["distinct_ports"]["ranks"] == total
    assert counted["distinct_ports"]["shared_value"] == total
    assert counted["parent_shared_value"] == total


@pytest.mark.parametrize("method", METHODS)
def test_function_in_a_fileless_main_hangs_under_spawn_and_forkserver(pitfalls_quick, method):
    cells = pitfalls_quick.values["notebook"][method]
    limit = pitfalls_quick.parameters["notebook_limit_s"]
    assert cells["imported"]["finished"] and "[0, 1, 4, 9]" in cells["imported"]["output"]
    broken = cells["defined_in_main"]
    if method == "fork":
        assert broken["finished"] and broken["attribute_errors"] == 0
        assert "[0, 1, 4, 9]" in broken["output"]
    else:
        # Bounded: interrupted at its limit, then given at most WAIT_S to wind down.
        assert broken["killed"] and limit <= broken["elapsed_s"] < limit + work.WAIT_S
        assert "KeyboardInterrupt" in broken["errors"]
        assert broken["attribute_errors"] >= 1
        assert broken["first_error"].startswith(work.MISSING_IN_MAIN)
        assert "[0, 1, 4, 9]" not in broken["output"]
        assert "mapping work over a Pool" in broken["output"]


@pytest.mark.parametrize("method", METHODS)
def test_lambdas_and_local_functions_are_refused_and_partial_works(pitfalls_quick, method):
    tasks = pitfalls_quick.values["tasks"][method]
    for task in ("lambda_pool", "local_pool"):  # a Pool pickles its tasks under any method
        assert not tasks[task]["ran"]
        assert tasks[task]["error_type"] in ("PicklingError", "AttributeError")
        assert "pickle" in tasks[task]["error"].lower()
    assert tasks["lambda_process"]["ran"] == (method == "fork")
    assert tasks["partial_pool"]["values"] == [3, 6, 9]


def test_plain_pickle_refuses_sockets_lambdas_and_local_functions():
    assert work.plain_pickle_error() == {"error_type": "TypeError", "error": SOCKET_ERROR}
    errors = work.pickle_errors()
    assert set(errors) == {"lambda", "local_function"}
    assert all("pickle" in e["error"].lower() for e in errors.values())


@pytest.mark.parametrize("method", METHODS)
def test_demos_run_directly(method):
    wrapped = work.hand_over(method, "instance_library")
    assert wrapped["ran"] == (method == "fork")
    assert work.hand_over(method, "factory_pool")["same_connection"] is False
    counted = work.count_environments(method, workers=2, per_worker=1)
    assert counted["distinct_ports"]["shared_value"] == 3
    assert work.PortedEnv.created == 0  # the demo leaves the class as it found it
    assert work.try_task(method, "partial_pool")["values"] == [3, 6, 9]


def test_pool_runs_are_consistent(pitfalls_quick):
    for key in ("main_light_runs", "idle_runs"):
        for how, runs in pitfalls_quick.values[key].items():
            for run in runs:
                assert 0.0 <= run["idle_fraction"] <= 1.0, (how, run)
                assert run["elapsed_s"] > 0
    for run in pitfalls_quick.values["main_light_runs"]["busy_parent"]:
        assert run["parent_work_s"] > 0 and run["busy_s"] > 0


def test_findings_are_positive_and_rows_cover_every_method(pitfalls_quick):
    found = experiment.findings(pitfalls_quick)
    for key in ("busy_over_light", "parent_work_slowdown", "chunk_over_imap",
                "default_over_imap"):
        assert math.isfinite(found[key]) and found[key] > 0, key
    rows = experiment.outcome_rows(pitfalls_quick)
    assert len(rows) == (len(experiment.HAND_OVER_LABELS) + len(experiment.COUNTER_LABELS)
                         + len(experiment.NOTEBOOK_LABELS) + len(experiment.TASK_LABELS))
    assert all(set(METHODS) <= set(row) for row in rows)


def test_unknown_demo_names_are_rejected():
    with pytest.raises(ValueError):
        work.run_uneven(None, 1, [0.0], "no_such_way")
    assert work.try_task(METHODS[0], "no_such_task")["error_type"] == "ValueError"
