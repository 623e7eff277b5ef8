"""The pools experiment in quick mode, and the chapter's demonstrations under every method."""

from __future__ import annotations

import math
import multiprocessing
import os

import pytest

from parbook.chapters.pools import experiment as experiment
from parbook.chapters.pools import workload as work
from parbook.shared.child import child_env, run_module
from tests.leftovers import left_behind, lingering_children

METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def pools_quick():
    return experiment.run(quick=True)


def test_every_case_is_present_with_positive_finite_samples(pools_quick):
    assert {c.params["how"] for c in pools_quick.group("sync_async")} == set(
        experiment.SYNC_LABELS)
    assert {c.params["chunksize"] for c in pools_quick.group("chunksize")} == {
        "one_process", "default", *(str(c) for c in experiment.CHUNKSIZES)}
    assert {c.params["how"] for c in pools_quick.group("executor_map")} == set(
        experiment.EXECUTOR_LABELS)
    assert {c.params["how"] for c in pools_quick.group("initializer")} == set(
        experiment.INITIALIZER_LABELS)
    assert len(pools_quick.group("setup_alone")) == 1
    cpus = pools_quick.parameters["cpus"]
    pooled = {c.params["workers"] for c in pools_quick.group("workers")
              if c.params["how"] == "pool"}
    assert pooled == set(experiment.worker_counts(cpus))
    assert {c.params["threads"] for c in pools_quick.group("blas")} == set(
        experiment.BLAS_LABELS)
    for case in pools_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_demonstrations_ran_under_every_start_method(pools_quick):
    demos = pools_quick.values["demos"]
    assert set(demos) == set(METHODS)
    outcomes = experiment.demo_outcomes(demos)
    assert list(outcomes.columns) == list(METHODS)
    for method in METHODS:
        column = outcomes[method]
        assert column["get(timeout) shorter than the task"] == "TimeoutError"
        early = demos[method]["with_early"]
        assert early["finished"] < early["tasks"] and early["late_get"] == "TimeoutError"
        assert column["ProcessPoolExecutor: result() re-raised"] == "ValueError"


def test_findings_and_tables(pools_quick):
    found = experiment.findings(pools_quick)
    for key in ("sync_time", "async_time", "map_time", "sync_over_async", "chunk_default_over_1",
                "executor_chunked_over_default", "init_setup", "init_ratio", "workers_best",
                "blas_default", "blas_one", "blas_ratio"):
        assert math.isfinite(found[key]) and found[key] > 0, key
    # Not speed claims: the sleeping tasks cannot finish sooner than the arithmetic allows.
    assert found["sync_time"] >= found["sync_expected"]
    assert found["async_time"] >= found["async_expected"]
    assert found["init_correct"]
    assert found["article_sync_expected"] > found["article_async_expected"]
    assert set(found["blas_probe"]) == {*METHODS, "child_default", "child_one"}
    # A child interpreter started with the variables always sees them.
    assert found["blas_probe"]["child_one"]["limited"]
    assert not found["blas_probe"]["child_default"]["limited"]
    assert found["blas_one_threads"] <= found["blas_default_threads"]
    for table in (experiment.sync_async_table(pools_quick),
                  experiment.chunksize_table(pools_quick),
                  experiment.executor_table(pools_quick),
                  experiment.initializer_table(pools_quick),
                  experiment.workers_table(pools_quick),
                  experiment.blas_table(pools_quick),
                  experiment.blas_probe_table(found)):
        assert len(table) >= 2


@pytest.mark.parametrize("method", METHODS)
def test_apply_map_and_arguments(method):
    context = multiprocessing.get_context(method)
    with context.Pool(processes=3) as pool:
        work.one_answer_per_worker(pool, 3)
        seen = work.apply_and_apply_async(pool, 0.02)
        naps = [0.04, 0.0, 0.02]
        mapped = work.map_family(pool, naps)
        arguments = work.several_arguments(pool, [1, 2], factor=3)
        error = work.map_a_lambda(pool, [1, 2], factor=3)
    assert (seen["apply"], seen["get"], seen["late_get"]) == (9, 16, 25)
    assert seen["ready_at_once"] is False and seen["short_get"] == "TimeoutError"
    assert mapped["map"] == mapped["imap"] == naps
    assert sorted(mapped["imap_unordered"]) == sorted(naps)
    assert mapped["starmap"] == [8, 9, 1]
    assert arguments == {"tuple": [3, 6], "starmap": [3, 6], "partial": [3, 6]}
    assert error.startswith(("AttributeError", "PicklingError")) and "lambda" in error
    assert len(work.describe_apply(seen)) == 5


@pytest.mark.parametrize("method", METHODS)
def test_shutdown_and_executor(method):
    context = multiprocessing.get_context(method)
    early = work.leave_with_block_early(context, 4, 0.05)
    assert early["finished"] < 4 and early["late_get"] == "TimeoutError"
    closed = work.close_and_join(context, 4, 0.01)
    assert closed["finished"] == 4 and closed["results"] == [0, 1, 4, 9]
    inside = work.collect_inside_with_block(context, 4, 0.01)
    assert inside["results"] == [0, 1, 4, 9]
    seen = work.executor_demo(context, [0.02, 0.0])
    assert sorted(seen["as_completed"]) == [0.0, 0.02] and seen["map"] == [4, 9, 16]
    assert seen["error"].startswith("ValueError")
    assert "in parse_setting" in seen["remote_traceback"]
    assert not lingering_children()


@pytest.mark.parametrize("method", METHODS)
def test_initializer_and_per_task_give_the_same_answers(method):
    context = multiprocessing.get_context(method)
    words = work.words_to_look_up(6, 1000)
    expected = [int(word[5:]) for word in words]
    assert work.look_up_building_per_task(context, 2, words, 1000) == expected
    assert work.look_up_with_initializer(context, 2, words, 1000) == expected


def test_default_chunksize_matches_the_standard_library_rule():
    assert work.default_chunksize(20_000, 2) == 2500
    assert work.default_chunksize(10, 3) == 1
    assert work.default_chunksize(13, 3) == 2
    assert experiment.worker_counts(2) == [1, 2, 3, 4]
    assert experiment.worker_counts(16) == [1, 2, 8, 15, 16, 17, 24, 32]


def test_one_blas_thread_restores_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with work.one_blas_thread():
        assert all(os.environ[name] == "1" for name in work.BLAS_VARIABLES)
    assert os.environ["OMP_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in os.environ
    assert not set(work.BLAS_VARIABLES) & set(work.without_blas_variables(
        {**os.environ, "OPENBLAS_NUM_THREADS": "1"}))


def test_blas_child_programs_report_their_threads():
    clean = work.without_blas_variables(child_env())
    limited = {**clean, **dict.fromkeys(work.BLAS_VARIABLES, "1")}
    child = run_module(experiment.MODULE, "blas-time", METHODS[0], "1", "2", "32", "1", "1",
                       time_limit_s=60, env=limited)
    assert child.returncode == 0 and not child.killed, child.errors
    assert '"limited": true' in child.output


def test_a_bad_demo_name_is_a_usage_error():
    child = run_module(experiment.MODULE, "no-such-demo", time_limit_s=30)
    assert child.returncode == 2 and "usage" in child.errors


def test_nothing_is_left_running(shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    assert not new_shm, sorted(new_shm)
