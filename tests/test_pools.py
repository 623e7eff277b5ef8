"""The pools chapter: its quick run (every case, every demonstration under every start
method), the workloads themselves, and each of its data-dependent sentences, on the
committed result ``tests/results/pools.json``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os

import pytest

from parbook.bench import machine
from parbook.bench.results import load
from parbook.chapters.pools import analysis, views
from parbook.chapters.pools import experiment as experiment
from parbook.chapters.pools import workload as work
from parbook.claims import Verdict
from parbook.shared.child import child_env, run_module
from tests.conftest import ROOT
from tests.leftovers import left_behind, lingering_children

METHODS = multiprocessing.get_all_start_methods()
COMMITTED = ROOT / "tests" / "results" / "pools.json"


@pytest.fixture(scope="module")
def pools_quick(quick_results):
    return quick_results["pools"]


@pytest.fixture(scope="module")
def quick_found(pools_quick):
    return analysis.findings(pools_quick)


@pytest.fixture(scope="module")
def committed():
    return load(COMMITTED)


@pytest.fixture(scope="module")
def found(committed):
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(committed)


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


def test_demonstrations_ran_under_every_start_method(pools_quick, quick_found):
    demos = pools_quick.values["demos"]
    assert set(demos) == set(METHODS)
    outcomes = views.methods_table(pools_quick, quick_found).frame
    assert list(outcomes.columns) == list(METHODS)
    for method in METHODS:
        column = outcomes[method]
        assert column["get(timeout) shorter than the task"] == "TimeoutError"
        early = demos[method]["with_early"]
        assert early["finished"] < early["tasks"] and early["late_get"] == "TimeoutError"
        assert column["ProcessPoolExecutor: result() re-raised"] == "ValueError"


@pytest.mark.parametrize("method", METHODS)
def test_every_demonstration_showed_what_the_page_says(pools_quick, quick_found, method):
    """What the page's prose says each demonstration shows, under every start method
    (these were asserts in the page's hidden cells)."""
    seen = quick_found.demos.by_method[method]
    assert seen["apply"]["ready_at_once"] is False
    assert seen["apply"].get("short_get") == "TimeoutError"
    assert seen["with_early"]["late_get"] == "TimeoutError"
    assert seen["with_early"]["finished"] < seen["with_early"]["tasks"]
    assert seen["close_join"]["finished"] == seen["close_join"]["tasks"]
    assert seen["with_collect"]["finished"] == seen["with_collect"]["tasks"]
    assert seen["lambda"] != "no error"
    assert seen["executor"]["error"].startswith("ValueError")
    assert quick_found.initializer.correct


def test_findings_and_tables(pools_quick, quick_found):
    found = quick_found
    sync, blas = found.sync_async, found.blas
    for name, value in {
        "synchronous": sync.synchronous, "asynchronous": sync.asynchronous,
        "one_map": sync.one_map, "sync_over_async": sync.sync_over_async,
        "chunk default_over_1": found.chunksize.default_over_1,
        "executor chunked_over_default": found.executor.chunked_over_default,
        "initializer setup": found.initializer.setup, "initializer ratio": found.initializer.ratio,
        "workers best": found.workers.best, "blas default": blas.default, "blas one": blas.one,
        "blas ratio": blas.ratio,
    }.items():
        assert math.isfinite(value) and value > 0, name
    # Not speed claims: the sleeping tasks cannot finish sooner than the arithmetic allows.
    assert sync.synchronous >= sync.sync_expected
    assert sync.asynchronous >= sync.async_expected
    assert found.initializer.correct
    assert sync.article_sync_expected > sync.article_async_expected
    assert set(blas.probe) == {*METHODS, "child_default", "child_one"}
    # A child interpreter started with the variables always sees them.
    assert blas.probe["child_one"].limited
    assert not blas.probe["child_default"].limited
    assert blas.one_threads <= blas.default_threads
    for table_id in ("pools-sync-async-table", "pools-chunksize-table", "pools-executor-table",
                     "pools-initializer-table", "pools-workers-table", "pools-blas-table",
                     "pools-blas-threads-table"):
        assert len(views.TABLES[table_id](pools_quick, found).frame) >= 2, table_id


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


# --- each data-dependent sentence, every alternative ----------------------------------------

def _chunks(found, best_s, loop_s=1.0):
    """The chunksize findings with chunksize 10 the fastest pool, at ``best_s`` seconds."""
    times = {key: 10.0 for key in found.chunksize.times}
    return dataclasses.replace(found.chunksize, times={**times, "10": best_s,
                                                       "one_process": loop_s})


@pytest.mark.parametrize(("best_s", "expected"), [
    (0.5, "the fastest pool (chunksize 10) ran 2.0× as many tasks per second as the loop"),
    (1.05, "the fastest pool (chunksize 10) only about matched the loop (0.95×): with tasks "
           "this short, even batched messages cost most of what the extra CPUs give"),
    (2.0, "even the fastest pool (chunksize 10) was slower than the loop (0.50×): tasks this "
          "short are not worth sending to another process, however they are batched"),
])
def test_chunk_verdict(found, best_s, expected):
    assert analysis.chunk_verdict(_chunks(found, best_s)) == expected


def test_chunk_verdict_names_the_default_chunksize(found):
    chunks = dataclasses.replace(_chunks(found, 5.0), default=250)
    chunks = dataclasses.replace(chunks, times={**chunks.times, "default": 0.5})
    assert analysis.chunk_verdict(chunks).startswith(
        "the fastest pool (the default chunksize (250)) ran 2.0×")


def _workers(found, speedups):
    return dataclasses.replace(found.workers, cpus=2, speedups=speedups)


def test_workers_peak(found):
    at_cpus = _workers(found, {1: 1.0, 2: 1.9, 3: 1.8})
    assert analysis.workers_peak(at_cpus) == (
        "The speed-up peaked at 1.9× with one worker per usable CPU (2)")
    elsewhere = _workers(found, {1: 1.0, 2: 1.5, 3: 1.6})
    assert analysis.workers_peak(elsewhere) == (
        "The speed-up peaked at 1.6× with 3 workers; with one worker per usable CPU (2) it "
        "was 1.5×")


@pytest.mark.parametrize(("speedups", "start"), [
    ({1: 1.0, 2: 1.9}, "no pool larger than the usable CPUs was measured"),
    ({1: 1.0, 2: 1.9, 3: 2.0, 4: 1.8}, "more workers than CPUs gained nothing worth having: "
                                       "the best of the larger pools reached 2.0×, against "
                                       "1.9× with 2"),
    ({1: 1.0, 2: 1.5, 3: 1.6, 4: 2.0}, "a larger pool did better here (2.0× with 4 workers, "
                                       "against 1.5× with 2); on a machine shared"),
])
def test_workers_verdict(found, speedups, start):
    assert analysis.workers_verdict(_workers(found, speedups)).startswith(start)


@pytest.mark.parametrize(("threads", "default", "expected"), [
    (1, 3.0, "the BLAS library started no extra threads on this machine, so there was nothing "
             "to oversubscribe and the two cases did the same work the same way"),
    (2, 3.0, "the default was 3.0× slower: 4 BLAS threads took turns on 2 CPUs"),
    (2, 1.2, "the default was somewhat slower (1.2×): 4 BLAS threads shared 2 CPUs"),
    (2, 1.0, "the difference was small here (1.0×), even with 4 BLAS threads on 2 CPUs"),
])
def test_blas_verdict(found, threads, default, expected):
    blas = dataclasses.replace(found.blas, cpus=2, default_threads=threads, default=default,
                               one=1.0)
    assert analysis.blas_verdict(blas) == expected


def test_probe_phrase(found):
    blas = dataclasses.replace(found.blas, probe={
        "fork": analysis.Probe(limited=False, threads=2),
        "spawn": analysis.Probe(limited=True, threads=1)})
    assert analysis.probe_phrase(blas, "fork") == (
        "here the workers did not see the variables and ran 2 threads each")
    assert analysis.probe_phrase(blas, "spawn") == (
        "here the workers saw the variables and ran 1 thread each")
    assert analysis.probe_phrase(blas, "forkserver") == "this platform does not offer it"


def test_methods_verdict(found):
    agreeing = dataclasses.replace(found.demos, outcomes={"a": {"fork": "x", "spawn": "x"}})
    assert analysis.methods_verdict(agreeing) == (
        "every demonstration showed the same outcome under each of them")
    differing = dataclasses.replace(found.demos, outcomes={"a": {"fork": "x", "spawn": "y"}})
    assert analysis.methods_verdict(differing) == (
        "some outcomes differed between methods; the table shows which")


def test_chunk_label():
    assert analysis.chunk_label("one_process", 250) == "one process, no pool"
    assert analysis.chunk_label("default", 2500) == "default (2,500)"
    assert analysis.chunk_label("1000", 250) == "1,000"


def _counts(found, **changes):
    """The committed CPU counts, all 4, changed as given."""
    counts = dataclasses.replace(
        found.machine.counts, usable=4, os_cpu_count=4, process_cpu_count=None, affinity=4,
        quota_cpus=None, quota_version="v2", quota_file="cpu.max", quota_text="max 100000",
        python_cpu_count=None, x_cpu_count=None, default_pool_count="os.cpu_count()",
        python_version="3.11.7", override=5, override_env_seen=4, override_x_seen=4)
    return dataclasses.replace(counts, **changes)


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "On this machine every count this interpreter offers says 4, so Pool() with no "
         "size starts one worker per usable CPU."),
    ({"os_cpu_count": 8, "process_cpu_count": 4, "default_pool_count": "os.process_cpu_count()"},
     "The counts differ on this machine, but the one Pool() uses when given no size, "
     "os.process_cpu_count(), says 4, the number of usable CPUs."),
    ({"os_cpu_count": 8, "quota_cpus": 2.0, "usable": 2},
     "The counts differ on this machine: Pool() with no size would start 8 workers "
     "(os.cpu_count()) for the 2 CPUs this process can use, so pass processes= "
     "yourself."),
    ({"os_cpu_count": 1, "python_cpu_count": "1"},
     "The counts differ on this machine: Pool() with no size would start only 1 worker "
     "(os.cpu_count()) for the 4 CPUs this process can use, because this build ran with "
     "the override set."),
    ({"os_cpu_count": None},
     "The counts differ on this machine: Pool() with no size would start only 1 worker "
     "(os.cpu_count()) for the 4 CPUs this process can use."),
])
def test_counts_sentence(found, changes, expected):
    assert analysis.counts_sentence(_counts(found, **changes)) == expected


@pytest.mark.parametrize(("seen", "version", "expected"), [
    (4, "3.11.7", "A child interpreter started with PYTHON_CPU_COUNT=5, one more than the "
                  "machine's count, still reported 4: Python 3.11.7 predates the variable, "
                  "which came in 3.13, and ignores it."),
    (5, "3.13.0", "A child interpreter started with PYTHON_CPU_COUNT=5, one more than the "
                  "machine's count, reported os.cpu_count() as 5: Python 3.13.0 takes the "
                  "override, which sizes every default pool of a program without a change "
                  "to its code."),
    (None, "3.13.0", "A child interpreter started with PYTHON_CPU_COUNT=5, one more than "
                     "the machine's count, failed before it reported a count, so whether "
                     "Python 3.13.0 takes the override is not measured here."),
])
def test_override_sentence(found, seen, version, expected):
    counts = _counts(found, override_env_seen=seen, python_version=version)
    assert analysis.override_sentence(counts) == expected


def test_cpu_count_rows_say_what_is_missing(found):
    rows = analysis.cpu_count_rows(_counts(found, affinity=None, override_x_seen=None))
    cells = {row["count"]: row["this build"] for row in rows}
    assert cells["os.process_cpu_count()"] == (
        "not available on this interpreter (Python 3.11.7)")
    assert cells["len(os.sched_getaffinity(0))"] == "not available on this platform"
    assert cells["cgroup CPU quota"] == "no quota (cgroup v2, cpu.max = max 100000)"
    assert cells["PYTHON_CPU_COUNT, -X cpu_count"] == "not set"
    assert cells["os.cpu_count() in a child started with -X cpu_count=5"] == "the child failed"
    assert cells["Pool() and ProcessPoolExecutor() with no size"] == "os.cpu_count(): 4"
    limited = analysis.cpu_count_rows(_counts(
        found, quota_cpus=1.5, quota_text="150000 100000", process_cpu_count=4,
        python_cpu_count="2", quota_version=None))
    cells = {row["count"]: row["this build"] for row in limited}
    assert cells["cgroup CPU quota"] == "no cgroup CPU controller found"
    assert cells["os.process_cpu_count()"] == "4"
    assert cells["PYTHON_CPU_COUNT, -X cpu_count"] == "PYTHON_CPU_COUNT=2"
    quota = analysis.cpu_count_rows(_counts(found, quota_cpus=1.5, quota_text="150000 100000"))
    assert {row["count"]: row["this build"] for row in quota}["cgroup CPU quota"] == (
        "1.5 CPUs (cgroup v2, cpu.max = 150000 100000)")


def _cgroup(tmp_path, membership, files):
    (tmp_path / "self").write_text(membership)
    for name, text in files.items():
        path = tmp_path / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return machine.cgroup_cpu_limit(tmp_path / "fs", tmp_path / "self")


def test_cgroup_quota_takes_the_tightest_on_the_way_to_the_root(tmp_path):
    seen = _cgroup(tmp_path, "0::/job/step\n", {"job/cpu.max": "150000 100000\n",
                                                 "job/step/cpu.max": "max 100000\n"})
    assert seen == {"version": "v2", "cpus": 1.5, "file": "cpu.max", "text": "150000 100000"}


def test_cgroup_quota_reads_v1_and_says_when_there_is_none(tmp_path):
    v1 = _cgroup(tmp_path, "3:cpu,cpuacct:/\n0::/\n", {
        "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    assert v1 == {"version": "v1", "cpus": None, "file": "cpu.cfs_quota_us", "text": "-1"}
    assert machine.cgroup_cpu_limit(tmp_path / "none", tmp_path / "none" / "self") == {
        "version": None, "cpus": None, "file": None, "text": None}


def test_the_override_reaches_child_interpreters_only_from_3_13():
    """The demonstration behind the override sentence, bounded by its time limit."""
    import sys

    seen = work.counts_under_override(7, time_limit_s=60)
    expected = 7 if sys.version_info >= (3, 13) else os.cpu_count()
    assert seen["override"] == 7
    assert seen["env"] == expected and seen["x_option"] == expected
    assert seen["env_error"] is None and seen["x_option_error"] is None
    assert not lingering_children()


def test_counts_and_default_pool_of_this_interpreter(quick_found):
    counts = quick_found.machine.counts
    assert counts.os_cpu_count == os.cpu_count()
    assert counts.default_pool_count == work.default_pool_count()
    assert (counts.process_cpu_count is None) == (not hasattr(os, "process_cpu_count"))
    assert counts.usable == quick_found.machine.cpus
    table = views.TABLES["pools-cpu-counts-table"](None, quick_found).frame
    assert list(table.columns) == ["count", "what it reports", "this build"]
    assert len(table) == 9


@pytest.mark.parametrize(("synchronous", "expected"), [
    (2.6, "2.6× faster, close to the 2.5× the arithmetic expects"),
    (1.5, "1.5× faster, short of the 2.5× the arithmetic expects"),
    (4.0, "4.0× faster, more than the 2.5× the arithmetic expects"),
    (0.8, "no faster (0.80×), although the arithmetic expects 2.5×; the spread table shows "
          "how much other load on the machine disturbed the runs"),
])
def test_sync_verdict(found, synchronous, expected):
    sync = dataclasses.replace(found.sync_async, tasks=10, workers=3, task_s=0.02,
                               synchronous=synchronous, asynchronous=1.0)
    assert analysis.sync_verdict(sync) == expected


def test_summary_table(pools_quick, quick_found):
    summary = views.TABLES["pools-summary"](pools_quick, quick_found).frame
    assert list(summary.columns) == ["what", "this build"]
    assert len(summary) == len(analysis.summary_rows(quick_found)) == 8


def test_printouts_of_the_committed_result(found):
    texts = analysis.outputs(found.demos)
    assert set(texts) == set(views.OUTPUTS)
    shutdown = texts["pools-shutdown"].splitlines()
    assert [line[:28].rstrip() for line in shutdown] == list(analysis.SHUTDOWN_LABELS.values())
    assert "a later get(timeout=...) raised TimeoutError" in shutdown[0]
    executor = texts["pools-executor"]
    assert "result() raised ValueError" in executor
    # The worker's traceback names files, not this machine's paths.
    assert 'File "workload.py"' in executor and "/work/" not in executor
    assert texts["pools-arguments"].splitlines()[0].startswith("tuple    -> ")
    assert texts["pools-lambda"] == found.demos.shown["lambda"]


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    # Other pages quote these with :d, which needs an int.
    for key in ("pools_cpus", "pools_sync_tasks", "pools_sync_workers"):
        assert isinstance(texts[key], int), key
    assert texts["pools_methods"] == "fork, spawn and forkserver"
    assert texts["pools_chunk_verdict"] == analysis.chunk_verdict(found.chunksize)
    assert texts["pools_blas_verdict"] == analysis.blas_verdict(found.blas)
    assert texts["pools_counts_sentence"] == analysis.counts_sentence(found.machine.counts)
    assert texts["pools_override_sentence"] == analysis.override_sentence(found.machine.counts)
    assert texts["pools_sync_verdict"] == analysis.sync_verdict(found.sync_async)


def test_nothing_is_left_running(shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    assert not new_shm, sorted(new_shm)


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def test_apply_claim_every_verdict(found):
    sync = found.sync_async
    serial, ideal = sync.sync_expected, sync.async_expected
    holds = dataclasses.replace(sync, synchronous=serial * 1.1, asynchronous=ideal * 1.1)
    judged = analysis.apply_claim(holds)
    assert judged.verdict is Verdict.HOLDS and "one at a time" in judged.reason
    slow_async = dataclasses.replace(holds, asynchronous=serial * 0.9)
    judged = analysis.apply_claim(slow_async)
    assert judged.verdict is Verdict.PARTLY and "did not clearly run" in judged.reason
    overlapping_apply = dataclasses.replace(holds, synchronous=serial * 0.9)
    judged = analysis.apply_claim(overlapping_apply)
    assert judged.verdict is Verdict.PARTLY and "in part, did apply" in judged.reason
    neither = dataclasses.replace(slow_async, synchronous=serial * 0.9)
    assert analysis.apply_claim(neither).verdict is Verdict.FAILS


def _demos_with_arguments(demos, **arguments):
    """The committed demos with, under every start method, these ways' results changed."""
    by_method = {method: {**seen, "arguments": {**seen["arguments"], **arguments}}
                 for method, seen in demos.by_method.items()}
    return dataclasses.replace(demos, by_method=by_method)


def test_map_args_claim_every_verdict(found):
    demos = found.demos
    judged = analysis.map_args_claim(demos)
    assert judged.verdict is Verdict.PARTLY and "no run measures" in judged.reason
    judged = analysis.map_args_claim(_demos_with_arguments(demos, partial=[0]))
    assert judged.verdict is Verdict.PARTLY
    assert "a tuple unpacked in the task passed" in judged.reason
    assert "functools.partial did not under" in judged.reason
    neither = _demos_with_arguments(demos, partial=[0], tuple=[1])
    assert analysis.map_args_claim(neither).verdict is Verdict.FAILS


def test_imap_unordered_row_accepts_any_order_of_every_result(found):
    """With 4 tasks on 3 workers, the 10 ms task may come back after the 20 ms one (the
    committed spawn run did): only a missing or repeated result is a different outcome."""
    label = "imap_unordered: every result came back, once"
    assert set(found.demos.outcomes[label].values()) == {"yes"}
    seen = found.demos.by_method["fork"]
    naps = seen["map_naps"]

    def row(returned):
        changed = {**seen, "map": {**seen["map"], "imap_unordered": returned}}
        return analysis.outcome_rows({"fork": changed})[label]["fork"]

    assert row([naps[1], naps[2], naps[3], naps[0]]) == "yes"
    assert row([naps[1], naps[3], naps[2], naps[0]]) == "yes"
    assert row([naps[1], naps[3], naps[0]]) == "no"
    assert row([naps[1], naps[1], naps[3], naps[0]]) == "no"


def _workers_with(found, speedups):
    return dataclasses.replace(found.workers, cpus=2, speedups=speedups)


def test_pool_size_claim_every_verdict(found):
    judged = analysis.pool_size_claim(found.workers)
    assert judged.verdict is Verdict.PARTLY and "no pool beat one process" in judged.reason
    holds = _workers_with(found, {1: 1.0, 2: 1.9, 3: 1.7, 4: 1.6})
    judged = analysis.pool_size_claim(holds)
    assert judged.verdict is Verdict.HOLDS
    assert judged.reason == (
        "On CPU-bound tasks, the speed-up over one process peaked at 1.9× with one worker per "
        "usable CPU (2), and the best larger pool (3 workers) reached 1.7×: more workers than "
        "CPUs lowered it.")
    level = _workers_with(found, {1: 1.0, 2: 1.9, 3: 1.95, 4: 1.6})
    judged = analysis.pool_size_claim(level)
    assert judged.verdict is Verdict.PARTLY and "did not lower the efficiency" in judged.reason
    assert "peaked at 1.9× with 3 workers, against 1.9× with one per usable CPU" in (
        judged.reason)
    unmeasured = _workers_with(found, {1: 1.0, 2: 1.9})
    judged = analysis.pool_size_claim(unmeasured)
    assert judged.verdict is Verdict.PARTLY and "no pool larger" in judged.reason
    larger_wins = _workers_with(found, {1: 1.0, 2: 1.5, 3: 1.6, 4: 2.5})
    judged = analysis.pool_size_claim(larger_wins)
    assert judged.verdict is Verdict.FAILS and "with 4 workers" in judged.reason


def test_pool_default_size_claim_every_verdict(found):
    counts = found.machine.counts
    judged = analysis.pool_default_size_claim(counts)
    assert judged.verdict is Verdict.HOLDS
    assert judged.reason == (
        f"On Python {counts.python_version}, the interpreter of this build, Pool() with no "
        f"size starts os.cpu_count() workers, {counts.os_cpu_count} here.")
    newer = _counts(found, python_version="3.13.0", process_cpu_count=4,
                    default_pool_count="os.process_cpu_count()")
    judged = analysis.pool_default_size_claim(newer)
    assert judged.verdict is Verdict.PARTLY and "only the call changed" in judged.reason
    pinned = dataclasses.replace(newer, process_cpu_count=2, affinity=2, usable=2)
    judged = analysis.pool_default_size_claim(pinned)
    assert judged.verdict is Verdict.FAILS
    assert "os.process_cpu_count() workers (2 here)" in judged.reason
    assert "not os.cpu_count() (4)" in judged.reason


def test_pool_lifecycle_claim_is_not_measured():
    judged = analysis.pool_lifecycle_claim()
    assert judged.verdict is Verdict.UNMEASURED and "when it is created" in judged.reason


def test_pool_join_claim_every_verdict(found):
    demos = found.demos
    judged = analysis.pool_join_claim(demos)
    assert judged.verdict is Verdict.PARTLY
    assert "returned only when all 6 queued tasks had finished" in judged.reason
    assert "Pool is still running" in judged.reason
    last = list(demos.by_method)[-1]
    seen = demos.by_method[last]
    early = {**seen, "close_join": {**seen["close_join"], "finished": 4}}
    judged = analysis.pool_join_claim(
        dataclasses.replace(demos, by_method={**demos.by_method, last: early}))
    assert judged.verdict is Verdict.FAILS and judged.reason.startswith(f"Under {last},")


def test_claims_of_the_committed_result(found):
    assert set(analysis.claims(found)) == {
        "a001_apply", "a001_pool_size_cores", "a001_pool_default_size",
        "a001_pool_lifecycle", "a001_pool_join_after_close", "a003_map_args"}


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def pools_run_of(found, version, method="fork", count="os.cpu_count()"):
    """An interpreter's run whose findings are the committed ones, with its default start
    method and the call a default pool is sized by."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    machine_found = dataclasses.replace(
        found.machine, start_method=method,
        counts=dataclasses.replace(found.machine.counts, default_pool_count=count))
    result = Result(experiment="pools", quick=True, machine={
        "python_implementation": "CPython", "python_version": version})
    return InterpreterRun(None, result=result,
                          found=dataclasses.replace(found, machine=machine_found))


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    counts = found.machine.counts
    assert rows["default start method (every pool here uses it)"] == found.machine.start_method
    assert rows["Pool() with no size starts"] == (
        f"{counts.default_pool_size} workers ({counts.default_pool_count})")
    chunks = found.chunksize
    assert rows["Pool.map of tiny tasks, chunksize 1: per task"] == (
        analysis.format_seconds(chunks.times["1"] / chunks.tasks))


@pytest.mark.parametrize(("seen", "expected"), [
    (None, "the child failed"), ("given", "taken"), (2, "ignored")])
def test_override_cell(found, seen, expected):
    counts = found.machine.counts
    seen = counts.override if seen == "given" else seen
    assert analysis.override_cell(dataclasses.replace(counts, override_env_seen=seen)) == (
        expected)


def test_defaults_across_interpreters_every_case(found):
    assert analysis.defaults_across_interpreters([pools_run_of(found, "3.12.1")]) == (
        "On CPython 3.12.1, a Pool() given no arguments makes its workers by fork, as many as "
        "os.cpu_count() says.")
    same = [pools_run_of(found, "3.11.7"), pools_run_of(found, "3.12.1")]
    assert analysis.defaults_across_interpreters(same) == (
        "A Pool() given no arguments made its workers the same way under every interpreter "
        "here: by fork, as many as os.cpu_count() says.")
    newer = [pools_run_of(found, "3.13.0", count="os.process_cpu_count()"),
             pools_run_of(found, "3.14.0", "forkserver", "os.process_cpu_count()")]
    assert analysis.defaults_across_interpreters([*same, *newer]) == (
        "A Pool() given no arguments makes its workers differently: on CPython 3.11.7 and "
        "CPython 3.12.1, by fork, as many as os.cpu_count() says; on CPython 3.13.0, by fork, "
        "as many as os.process_cpu_count() says; on CPython 3.14.0, by forkserver, as many as "
        "os.process_cpu_count() says. Name the start method and the pool's size, and the "
        "program no longer depends on which Python runs it.")


@pytest.mark.parametrize(("group", "params", "expected"), [
    ("sync_async", {"how": "async", "tasks": 10}, "10 sleeping tasks, apply_async, then get "
                                                  "(asynchronous)"),
    ("chunksize", {"chunksize": "one_process", "tasks": 2000},
     "2,000 tiny tasks in one process, no pool"),
    ("chunksize", {"chunksize": "default", "tasks": 2000},
     "2,000 tiny tasks on Pool.map (map's default chunksize)"),
    ("chunksize", {"chunksize": "10", "tasks": 2000},
     "2,000 tiny tasks on Pool.map (chunksize 10)"),
    ("executor_map", {"how": "executor_default", "tasks": 500},
     "500 tiny tasks, ProcessPoolExecutor.map, default chunksize (1)"),
    ("setup_alone", {"vocabulary": 50000}, "building a 50,000-word table in a worker"),
    ("initializer", {"how": "per_task", "lookups": 6},
     "6 lookups, every task builds the table"),
    ("workers", {"how": "one_process", "workers": 1, "tasks": 12},
     "12 CPU-bound tasks in one process"),
    ("workers", {"how": "pool", "workers": 3, "tasks": 12}, "12 CPU-bound tasks on a pool of 3"),
    ("blas", {"threads": "one", "workers": 2},
     "matrix products on 2 workers, one BLAS thread per worker"),
    ("other", {}, "other"),
])
def test_describe_case_names_each_group(group, params, expected):
    assert analysis.describe_case(group, params) == expected
