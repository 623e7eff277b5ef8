"""joblib and Dask beside multiprocessing and Ray: its quick run (every tool and workload
present, every result equal to the serial one, joblib's memory map seen in the worker,
loky's workers reused, the Dask cluster closed, nothing left running or listening), the
reader's demo in a child interpreter, and each data-dependent sentence and decision cell,
flipped on the committed result ``tests/results/joblib-and-dask.json``."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
from pathlib import Path

import numpy as np
import psutil
import pytest

from parbook.bench.results import load
from parbook.chapters.joblib_and_dask import analysis, views
from parbook.chapters.joblib_and_dask import experiment as jd
from parbook.chapters.joblib_and_dask import workload as work
from parbook.shared import article002
from parbook.shared.child import run_command
from parbook.shared.shm import SharedArray
from tests.conftest import ROOT
from tests.leftovers import this_runs_processes

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

NAME = "joblib-and-dask"
COMMITTED = ROOT / "tests" / "results" / f"{NAME}.json"
SHM = Path("/dev/shm")


@pytest.fixture(scope="module")
def quick_run(quick_results):
    return quick_results[NAME]


@pytest.fixture(scope="module")
def quick_found(quick_run):
    return analysis.findings(quick_run)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each sentence test changes to flip it."""
    return analysis.findings(load(COMMITTED))


@pytest.fixture(scope="module", params=["quick", "committed"])
def any_found(request, quick_found, found):
    return quick_found if request.param == "quick" else found


# --- the quick run ----------------------------------------------------------------------

def params_of(result, group: str, key: str) -> set:
    return {case.params[key] for case in result.group(group)}


def test_every_tool_and_workload_is_measured(quick_run):
    assert params_of(quick_run, "reuse", "way") == set(jd.REUSE_LABELS)
    assert params_of(quick_run, "handoff", "way") == set(jd.HANDOFF_LABELS)
    assert {(c.params["mode"], c.params["until"]) for c in quick_run.group("results")} == {
        (mode, until) for mode in jd.RESULT_LABELS for until in ("first", "all")}
    assert params_of(quick_run, "round_trip", "channel") == set(jd.CHANNEL_LABELS)
    assert params_of(quick_run, "startup", "what") == set(jd.STARTUP_LABELS)
    durations = params_of(quick_run, "sweep", "task_s")
    assert durations == set(jd.QUICK.sweep_durations_s)
    assert {(c.params["task_s"], c.params["backend"]) for c in quick_run.group("sweep")} == {
        (d, b) for d in durations for b in jd.SWEEP_LABELS}
    assert {(c.params["workload"], c.params["version"]) for c in quick_run.group("runs")} == {
        (w, v) for w in jd.WORKLOAD_LABELS for v in jd.VERSION_LABELS}


def test_every_result_equals_the_serial_one(quick_run, quick_found):
    assert all(workload.agree for workload in quick_found.workloads.values())
    assert quick_run.values["sweep_results_match"]
    assert quick_run.values["handoff"]["sums_match"]
    assert quick_run.values["results"]["match"]


def test_joblib_hands_a_memmap_and_the_pool_an_ndarray(quick_found):
    types = quick_found.handoff.types
    assert types["joblib_memmap"] == ("memmap",)
    assert types["pool_pickled"] == ("ndarray",) and types["shared_memory"] == ("ndarray",)


def test_loky_reuses_its_workers_until_the_settings_change(quick_run):
    reuse = quick_run.values["reuse"]
    workers = quick_run.parameters["workers"]
    executor = reuse["executor_pids"]
    for first, second, ran_in in zip(executor["joblib_first"], executor["joblib_second"],
                                     reuse["pids"]["joblib_second"], strict=True):
        assert len(first) == workers and second == first
        assert set(ran_in) <= set(first)
    assert analysis.second_reused(reuse)
    changed = reuse["settings_changed"]
    assert changed["before"] and changed["after"]
    assert not set(changed["before"]) & set(changed["after"])
    assert quick_run.values["loky_workers_left"] == 0


def test_the_generator_holds_less_than_the_list(quick_found):
    """Directions with wide margins: the list holds every result at once; the generator,
    with batch_size=1, a few."""
    results = quick_found.results
    assert results.peak["list"] >= results.all_bytes
    assert results.peak["generator"] < 0.6 * results.peak["list"]
    assert results.first["generator"] <= results.done["generator"]


def test_the_dask_cluster_was_local_and_closed(quick_found, quick_run):
    dask = quick_found.dask
    assert dask.local_only and dask.workers == quick_run.parameters["workers"]
    assert set(dask.threads) == {1}
    assert dask.workers_left == 0 and dask.listening_after == ()
    for pid in quick_run.values["dask"]["worker_pids"]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


def test_the_child_found_the_cluster_through_the_variable(quick_found):
    dask = quick_found.dask
    assert dask.connect_ok and dask.connect_match
    assert dask.connect_scheduler == dask.scheduler and dask.connect_workers == dask.workers


def test_pure_tasks_share_a_key_and_impure_ones_do_not(quick_found):
    purity = quick_found.dask.purity
    assert purity.pure_keys == purity.pure_values == 1
    assert purity.impure_keys == purity.impure_values == purity.calls


def test_nothing_of_the_run_listens_or_stays_in_dev_shm(quick_run):
    listening = [connection for connection in psutil.net_connections(kind="inet")
                 if connection.status == psutil.CONN_LISTEN
                 and connection.pid in {p.pid for p in this_runs_processes()}]
    assert not listening, listening
    pid = quick_run.values["process"]
    if SHM.is_dir():
        left = [entry.name for entry in SHM.iterdir()
                if entry.name.startswith((f"joblib_memmapping_folder_{pid}_",
                                          f"sem.loky-{pid}-"))]
        assert not left, left


def test_the_readers_demo_reuses_workers_and_sees_a_memmap():
    """Run in a child interpreter: loky's resource tracker lives as long as the process
    that used joblib, which must not be this test process."""
    child = run_command([sys.executable, "-c",
                         "from parbook.chapters.joblib_and_dask.workload import "
                         "reuse_and_memmap_demo\n"
                         "for line in reuse_and_memmap_demo(2): print(line)"],
                        time_limit_s=120)
    assert child.returncode == 0 and not child.killed, child.errors
    lines = child.output.splitlines()
    assert len(lines) == 3
    assert "(all from the first call: True)" in lines[1]
    assert lines[2].endswith("memmap")


# --- the workloads' code, checked here --------------------------------------------------

def test_convolve_is_scipys_full_convolution():
    import scipy.signal

    image, image_filter = article002.make_image(37), article002.make_filters(1)[0]
    expected = scipy.signal.convolve2d(image, image_filter)[::5, ::5]
    np.testing.assert_allclose(work.convolve(image, image_filter), expected, rtol=1e-12,
                               atol=1e-12)


def test_slices_cover_the_array_once():
    assert work.slices(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert work.slices(4, 1) == [(0, 4)]


def test_carried_state_counts_as_the_serial_counters():
    documents = article002.make_documents(6, 50)
    counters = [work.PrefixCounter() for _ in range(2)]
    serial = work.stateful_serial(counters, documents)
    carried = work.stateful_carried(
        lambda tasks: [work.count_carried(*task) for task in tasks], 2, documents)
    assert carried == serial


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_multiprocessing_versions_under_every_start_method(method):
    """The Pool and fair versions give the serial results whichever way their workers
    start: every function they run lives in an importable module."""
    context = multiprocessing.get_context(method)
    array = np.arange(10_000, dtype=float)
    expected = [float(array[start:stop].sum()) for start, stop in work.slices(len(array), 2)]
    documents = article002.make_documents(4, 30)
    serial = work.stateful_serial([work.PrefixCounter() for _ in range(2)], documents)
    with SharedArray(array.shape, array.dtype) as shared, \
            work.ready_pool(context, 2, work.attach, (shared,)) as pool:
        assert [total for _, total in work.sums_with_pool(pool, array, 2)] == expected
        assert [total for _, total in work.sums_with_shared_memory(pool, shared, array, 2)] == (
            expected)
        assert work.stateful_carried(work.pool_round(pool), 2, documents) == serial
    with work.counting_executors(context, 2) as executors:
        assert work.stateful_executors(executors, documents) == serial


def test_sweep_task_count():
    assert jd.sweep_task_count(1e-4, 0.06, 2, 200) == 200
    assert jd.sweep_task_count(1e-2, 0.06, 2, 200) == 8


# --- every data-dependent sentence, each alternative ------------------------------------

def test_second_reused_needs_the_same_workers():
    same = {"executor_pids": {"joblib_first": [[1, 2]], "joblib_second": [[1, 2]]},
            "pids": {"joblib_second": [[2]]}}
    assert analysis.second_reused(same)
    restarted = {**same, "executor_pids": {"joblib_first": [[1, 2]],
                                           "joblib_second": [[3, 4]]}}
    assert not analysis.second_reused(restarted)
    stray = {**same, "pids": {"joblib_second": [[5]]}}
    assert not analysis.second_reused(stray)


def test_times_as_fast():
    assert analysis.times_as_fast(1.0, 3.0) == "3.0× as fast as"
    assert analysis.times_as_fast(1.0, 1.05) == "about as fast as"


@pytest.mark.parametrize(("second", "reused", "start", "end"), [
    (0.01, True, "The next call took 10.0 ms, in the processes the first call had started",
     "took 100 ms every time."),
    (0.01, False, "The next call took 10.0 ms, though not only in the processes",
     "took 100 ms every time."),
    (0.2, True, "The next call took 200 ms,", "cost no more than a joblib call."),
])
def test_reuse_sentence(found, second, reused, start, end):
    reuse = dataclasses.replace(found.reuse, joblib_second=second, new_pool=0.1,
                                second_reused=reused)
    sentence = analysis.reuse_sentence(reuse)
    assert sentence.startswith(start) and sentence.endswith(end)


@pytest.mark.parametrize(("restarted", "says"), [(True, "ran in new processes"),
                                                 (False, "still ran in a process")])
def test_settings_sentence(found, restarted, says):
    reuse = dataclasses.replace(found.reuse, changed_restarted=restarted)
    assert says in analysis.settings_sentence(reuse)


@pytest.mark.parametrize(("kinds", "start"), [
    (("memmap",), "Each worker was handed a numpy.memmap by joblib"),
    (("ndarray",), "Here joblib's workers were handed a numpy.ndarray, not a memory map"),
])
def test_memmap_sentence(found, kinds, start):
    handoff = dataclasses.replace(found.handoff, types={**found.handoff.types,
                                                        "joblib_memmap": kinds})
    assert analysis.memmap_sentence(handoff).startswith(start)


@pytest.mark.parametrize(("joblib_s", "shared_s", "start", "cost"), [
    (0.1, 0.02, "Through joblib the array reached the workers 4.0× as fast as through the "
                "Pool", "has a price"),
    (0.4, 0.39, "Through joblib the array reached the workers about as fast as through the "
                "Pool here", "came close"),
    (0.8, 0.1, "Through joblib the array took longer to reach the workers than through the "
               "Pool here (800 ms against 400 ms)", "has a price"),
])
def test_handoff_sentences(found, joblib_s, shared_s, start, cost):
    handoff = dataclasses.replace(found.handoff, times={
        "pool_pickled": 0.4, "joblib_memmap": joblib_s, "shared_memory": shared_s})
    assert analysis.handoff_sentence(handoff).startswith(start)
    assert cost in analysis.handoff_cost_sentence(handoff)


@pytest.mark.parametrize(("generator_peak", "start"), [
    (5 * 2**20, "With a list, this process held up to 40.0 MiB at once"),
    (30 * 2**20, "With a generator, this process still held up to 30.0 MiB"),
])
def test_results_sentence(found, generator_peak, start):
    results = dataclasses.replace(found.results, all_bytes=32 * 2**20,
                                  peak={"list": 40 * 2**20, "generator": generator_peak})
    assert analysis.results_sentence(results).startswith(start)


@pytest.mark.parametrize(("dask", "ray", "says"), [
    (0.01, 0.002, ", and a Ray task 2.00 ms."),
    (0.002, 0.01, ", and a Ray task longer, 10.0 ms."),
    (0.002, 0.0021, ", and a Ray task about as long, 2.10 ms."),
])
def test_round_trip_sentence(dask, ray, says):
    trips = analysis.RoundTrips(times={"os_pipe": 5e-5, "dask": dask, "ray": ray,
                                       "pool_apply": 3e-4, "joblib_call": 0.01})
    sentence = analysis.round_trip_sentence(trips)
    assert sentence.startswith(f"A Dask future took {analysis.format_seconds(dask)}")
    assert says in sentence


@pytest.mark.parametrize(("call", "start"), [
    (0.011, "A joblib call of one task cost more than one message: 11.0 ms, against 300 µs"),
    (0.0003, "A joblib call of one task cost no more than one message here"),
])
def test_joblib_call_sentence(call, start):
    trips = analysis.RoundTrips(times={"os_pipe": 5e-5, "dask": 0.01, "ray": 0.002,
                                       "pool_apply": 3e-4, "joblib_call": call})
    assert analysis.joblib_call_sentence(trips).startswith(start)


def _sweep(points: dict[str, list[tuple[float, float]]]) -> analysis.Sweep:
    return analysis.Sweep(workers=2, tasks={1e-4: 200, 1e-3: 60, 1e-2: 8}, speedups=points,
                          results_match=True)


def test_break_even_sentence_every_way():
    sweep = _sweep({"pool_map": [(1e-4, 1.2), (1e-3, 1.6), (1e-2, 1.8)],
                    "dask": [(1e-4, 0.1), (1e-3, 0.5), (1e-2, 1.9)],
                    "ray": [(1e-4, 0.1), (1e-3, 0.3), (1e-2, 0.8)]})
    assert analysis.break_even_sentence(sweep, "pool_map") == (
        "With Pool.map, even tasks of 100 µs beat one process (best speed-up: 1.8×).")
    assert analysis.break_even_sentence(sweep, "dask") == (
        "With Dask, the tasks broke even at about 3.31 ms each (best speed-up: 1.9×).")
    assert analysis.break_even_sentence(sweep, "ray") == (
        "With Ray, no task length in the sweep beat one process (best speed-up: 0.80×).")


@pytest.mark.parametrize(("auto", "says"), [(1.0, "it timed its first batches"),
                                            (0.3, "gained nothing")])
def test_batching_sentence(auto, says):
    sweep = _sweep({"joblib_auto": [(1e-4, auto)], "joblib_one": [(1e-4, 0.3)]})
    assert says in analysis.batching_sentence(sweep)


def test_agreement_sentence_both_ways(found):
    assert analysis.agreement_sentence(found).startswith("Every version's results")
    bad = dataclasses.replace(found.workloads["stateful"], agree=False)
    broken = dataclasses.replace(found, workloads={**found.workloads, "stateful": bad},
                                 sweep=dataclasses.replace(found.sweep, results_match=False))
    sentence = analysis.agreement_sentence(broken)
    assert "stateful counters" in sentence and "the tiny-task sweep" in sentence


def _workload(**times: float) -> analysis.Workload:
    base = {"serial": 1.0, "pool": 2.0, "fair_mp": 0.6, "joblib": 0.9, "dask": 1.5,
            "ray": 0.7}
    return analysis.Workload(name="numerical", times={**base, **times}, agree=True)


def test_workload_sentence_both_ways():
    assert analysis.workload_sentence(_workload()) == (
        "The fastest version was multiprocessing done fairly, at 600 ms, 1.2× as fast as "
        "Ray; the slowest was a Pool that pickles (the article's code), at 2.00 s.")
    assert analysis.workload_sentence(_workload(ray=0.62)).startswith(
        "The two fastest versions, multiprocessing done fairly and Ray, were level (600 ms "
        "and 620 ms)")


@pytest.mark.parametrize(("scheduler", "left", "listening", "says"), [
    ("tcp://127.0.0.1:40000", 0, (), "listening on 127.0.0.1 only"),
    ("tcp://127.0.0.1:40000", 0, (), "none of its processes was left, and no port listened"),
    ("tcp://127.0.0.1:40000", 0, (40000,), "but this process still listened on 1 port."),
    ("tcp://10.0.0.5:40000", 2, (), "2 of its worker processes were still running"),
])
def test_dask_sentence(found, scheduler, left, listening, says):
    dask = dataclasses.replace(found.dask, scheduler=scheduler, workers_left=left,
                               listening_after=listening)
    assert says in analysis.dask_sentence(dask)


@pytest.mark.parametrize(("ok", "match", "start"), [
    (True, True, "The child connected to the scheduler at"),
    (True, False, "The child ran, but did not report"),
    (False, False, "The child program failed to connect"),
])
def test_connect_sentence(found, ok, match, start):
    dask = dataclasses.replace(found.dask, connect_ok=ok, connect_match=match)
    assert analysis.connect_sentence(dask).startswith(start)


def test_purity_sentence_both_ways():
    deduplicated = analysis.Purity(calls=4, pure_keys=1, pure_values=1, impure_keys=4,
                                   impure_values=4)
    assert analysis.purity_sentence(deduplicated) == (
        "Here 4 submissions of a function that draws a random number got 1 key and 1 "
        "distinct result as pure tasks, the same number 4 times, and 4 keys and 4 distinct "
        "results with pure=False.")
    other = dataclasses.replace(deduplicated, pure_keys=4, pure_values=4)
    assert analysis.purity_sentence(other).endswith(
        "got 4 keys and 4 distinct results as pure tasks and 4 keys and 4 distinct results "
        "with pure=False.")


@pytest.mark.parametrize(("second", "pickled", "start"), [
    (0.01, 0.4, "Here a joblib call reusing its workers took 10.0 ms against 100 ms"),
    (0.01, 0.1, "Here a joblib call reusing its workers took 10.0 ms against 100 ms for a "
                "new Pool, but its memory-mapping"),
    (0.2, 0.4, "Here, though, a joblib call took 200 ms"),
])
def test_short_answer_every_way(found, second, pickled, start):
    changed = dataclasses.replace(
        found, reuse=dataclasses.replace(found.reuse, joblib_second=second, new_pool=0.1),
        handoff=dataclasses.replace(found.handoff, times={
            **found.handoff.times, "pool_pickled": pickled, "joblib_memmap": 0.1}))
    assert analysis.short_answer(changed).startswith(start)


# --- the decision table's cells ---------------------------------------------------------

def test_decision_tiny_tasks_names_the_best_or_a_level_pair():
    sweep = _sweep({backend: [(1e-4, speedup)] for backend, speedup in (
        ("pool_map", 1.3), ("joblib_auto", 1.6), ("joblib_one", 0.4), ("dask", 0.1),
        ("ray", 0.2))})
    assert analysis.decision_tiny_tasks(sweep) == (
        'joblib (batch_size="auto"): 1.2× the speed of Pool.map on 200 tasks of 100 µs')
    level = _sweep({**sweep.speedups, "pool_map": [(1e-4, 1.55)]})
    assert analysis.decision_tiny_tasks(level).startswith(
        'joblib (batch_size="auto") and Pool.map, level (within 10%)')
    slow = _sweep({backend: [(1e-4, 0.5)] for backend in sweep.speedups})
    assert analysis.decision_tiny_tasks(slow).startswith("one process: 2.0× the speed of")
    why = analysis.decision_tiny_tasks_why(sweep)
    assert why.startswith("On 200 tasks of 100 µs on 2 workers") and why.endswith(".")


def test_decision_workload_cells():
    assert analysis.decision_workload(_workload(), "on an image") == (
        "multiprocessing (fair): 1.2× the speed of Ray on an image")
    assert analysis.decision_workload(_workload(ray=0.62), "on an image").startswith(
        "multiprocessing (fair) and Ray, level")
    assert analysis.decision_workload(_workload(serial=0.3), "on x").startswith(
        "serial code: 2.0× the speed of multiprocessing (fair)")
    assert analysis.decision_workload_why(_workload(), "an image").endswith("in one build.")
    for why in (analysis.decision_workload_why(_workload(), "an image"),
                analysis.decision_workload_why(_workload(serial=0.001), "an image")):
        assert why.count("serial code") == 1, why


@pytest.mark.parametrize(("dask", "ray", "start"), [
    (0.01, 0.002, "Ray or Dask (the same code on a cluster); a Ray task's round trip 5.0× "
                  "shorter here"),
    (0.002, 0.01, "Dask or Ray (the same code on a cluster); a Dask task's round trip 5.0×"),
    (0.002, 0.0021, "Dask or Ray (the same code on a cluster); their task round trips level"),
])
def test_decision_cluster(dask, ray, start):
    trips = analysis.RoundTrips(times={"os_pipe": 5e-5, "dask": dask, "ray": ray})
    assert analysis.decision_cluster(trips).startswith(start)
    assert analysis.decision_cluster_why(trips).endswith("for a raw pipe.")


def test_every_decision_key_and_its_reason(any_found):
    texts = analysis.texts(any_found)
    for kind in ("tiny_tasks", "large_numpy", "stateful", "cluster"):
        cell, why = texts[f"decision_{kind}"], texts[f"decision_{kind}_why"]
        assert cell and not cell.endswith(".")
        assert why[0].isupper() and why.endswith(".")


def test_texts_read_as_sentences(any_found):
    for key, value in analysis.texts(any_found).items():
        if key.endswith(("_sentence", "_answer", "_agreement")):
            assert value[0].isupper() and value.endswith("."), key
    assert dict(analysis.summary_rows(any_found))


def test_no_claims_are_judged(found):
    assert analysis.claims(found) == {}


def test_tables_show_every_case(found):
    result = load(COMMITTED)
    workloads = views.workloads_table(result, found).frame
    assert list(workloads.index) == list(jd.VERSION_LABELS.values())
    assert list(workloads.columns) == [views.WORKLOAD_COLUMNS[w] for w in jd.WORKLOAD_LABELS]
    sweep = views.sweep_table(result, found).frame
    assert list(sweep.index) == list(jd.SWEEP_LABELS.values())


def test_importing_the_chapters_leaves_exception_pickling_alone():
    """Importing distributed installs tblib's pickling of every exception, process-wide, which
    would change what the failures chapter shows about unpicklable exceptions in any process
    that merely imports this chapter; Dask is imported only when it runs."""
    import subprocess
    import sys

    from parbook.shared.child import child_env

    probe = ("import sys\nfrom parbook import chapters\n"
             "for name in chapters.names():\n"
             "    chapter = chapters.get(name)\n"
             "    chapter.experiment, chapter.analysis, chapter.views\n"
             "print('distributed' in sys.modules)\n")
    seen = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=child_env(), timeout=300, check=True)
    assert seen.stdout.split()[-1] == "False"
