"""The start-methods experiment in quick mode, and the chapter's demonstrations.

The quick run executes every demonstration under every start method the platform
offers; the tests below check each method's outcome separately.
"""

from __future__ import annotations

import math
import multiprocessing

import pytest

from parbook.chapters.start_methods import experiment as experiment
from tests.leftovers import left_behind

METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def quick():
    return experiment.run(quick=True)


@pytest.fixture(scope="module")
def found(quick):
    return experiment.findings(quick)


def test_every_case_is_present_with_positive_finite_samples(quick):
    methods = set(experiment.available_methods())
    assert methods == set(METHODS) & set(experiment.METHOD_ORDER)
    sizes = experiment.QUICK
    for main in experiment.SCRIPTS:
        cases = [c for c in quick.group("startup") if c.params["main"] == main]
        assert {(c.params["method"], c.params["processes"]) for c in cases} == {
            (m, n) for m in methods for n in sizes.counts[main]}
        first = [c for c in quick.group("first_start") if c.params["main"] == main]
        assert {c.params["method"] for c in first} == methods
    assert len(quick.group("heavy_import")) == 1
    for case in quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_findings_and_tables_render(quick, found):
    for value in (*found["startup"].values(), *found["first"].values(), found["heavy_import"]):
        assert math.isfinite(value) and value > 0
    assert found["modules_loaded"]["heavy"] > found["modules_loaded"]["light"]
    assert found["article_verdict"]
    assert experiment.startup_table(quick).shape[0] == 2 * len(found["methods"])
    assert list(experiment.article_table(quick).index) == [1, 5, 10]
    assert list(experiment.config_table(quick).columns) == found["methods"]


@pytest.mark.parametrize("method", METHODS)
def test_settings_under_the_guard_reach_only_fork_children(found, method):
    run = found["config"]["guard"][method]
    assert run["returncode"] == 0 and not run["killed"], run["errors"]
    children = run["children"]
    assert len(children) == 2 and run["parent"]["main"] == "__main__"
    assert "env_name" in run["parent"]["settings"]
    if method == "fork":
        assert run["children_saw_settings"] == 2
        assert all(c["main"] == "__main__" for c in children)
        assert all(c["id"] == run["parent"]["id"] for c in children)
    else:
        assert run["children_saw_settings"] == 0
        assert all(c["main"] == "__mp_main__" for c in children)
        assert all(c["settings"] == {"root": "config"} for c in children)
    assert all(c["pid"] != run["parent"]["pid"] for c in children)
    assert run["setup_pids"] == [run["parent"]["pid"]]


@pytest.mark.parametrize("method", METHODS)
def test_module_level_setup_reaches_every_child_and_reruns_in_re_importers(found, method):
    run = found["config"]["module"][method]
    assert run["returncode"] == 0 and not run["killed"], run["errors"]
    assert run["children_saw_settings"] == len(run["children"]) == 2
    if method == "fork":
        assert run["setup_in_children"] == 0
    elif method == "spawn":
        assert run["setup_in_children"] == 2
    else:  # forkserver: in every child, or once in the server, depending on the Python
        assert len(run["setup_pids"]) >= 2


@pytest.mark.parametrize("method", METHODS)
def test_passing_the_settings_works_under_every_method(found, method):
    run = found["config"]["passed"][method]
    assert run["returncode"] == 0 and not run["killed"], run["errors"]
    assert run["children_saw_settings"] == len(run["children"]) == 2
    assert run["setup_pids"] == [run["parent"]["pid"]]


def test_config_pattern_matches_the_chapter(found):
    assert found["config_pattern_expected"]
    assert found["fork_shares_address"]
    assert found["main_names_expected"] and found["passed_setup_once"]
    assert found["guard_blind_children"] == found["guard_re_importer_children"] > 0


@pytest.mark.parametrize("method", METHODS)
def test_fork_while_a_thread_holds_a_lock_hangs_only_under_fork(found, quick, method):
    run = found["fork_lock"][method]
    patience = quick.parameters["patience_s"]
    assert run["returncode"] == 0 and not run["killed"], run["errors"]
    assert run["elapsed_s"] < experiment.DEMO_LIMIT_S
    assert run["parent_threads"] == 2 and run["child_threads"] == 1
    if method == "fork":
        assert run["child_saw_lock_held"] is True
        assert run["killed_after_patience"] and not run["child_finished"]
        assert run["child_exit_code"] == -9
        assert run["elapsed_s"] >= patience
    else:
        assert run["child_saw_lock_held"] is False
        assert run["child_finished"] and run["child_exit_code"] == 0
    assert found["fork_lock_expected"]


def test_nothing_is_left_behind(found, shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    # A leaked semaphore or shared-memory block makes the resource tracker complain on
    # the script's standard error, which every demo captured.
    runs = [*found["fork_lock"].values()]
    runs += [run for placement in found["config"].values() for run in placement.values()]
    assert all(run["errors"] == "" for run in runs), [run["errors"] for run in runs]
    assert not new_shm, sorted(new_shm)


def test_parsers_read_the_demo_lines():
    parsed = experiment.parse_config_output(
        "setup() ran in pid 10\n"
        "parent : pid=10 main module=__main__ id(config)=0x1 settings={'root': 'config', "
        "'env_name': 'x'}\n"
        "child 0: pid=11 main module=__mp_main__ id(config)=0x2 settings={'root': 'config'}\n")
    assert parsed["parent"]["pid"] == 10 and parsed["children_saw_settings"] == 0
    assert parsed["setup_pids"] == [10] and parsed["setup_in_children"] == 0
    lock = experiment.parse_lock_output(
        "parent pid=1: threads=2, lock held=True; starting a child with fork\n"
        "child  pid=2: threads=1, lock held=True; taking the lock...\n"
        "parent: the child is still alive after 1.0 s; killing it\n"
        "parent: child exit code -9\n")
    assert lock["killed_after_patience"] and lock["child_exit_code"] == -9
    assert lock["parent_threads"] == 2 and lock["child_saw_lock_held"] is True
    assert lock["warning"] is None
