"""The processes-and-threads chapter: its quick run (every case present, every backend
returned the serial answers) and each of its data-dependent sentences, on the committed
result ``tests/results/processes-and-threads.json``."""

import dataclasses
import math
import multiprocessing
import time

import pytest

from parbook.bench import machine
from parbook.bench.results import load
from parbook.chapters.processes_and_threads import analysis, views
from parbook.chapters.processes_and_threads import experiment as concurrency
from parbook.chapters.processes_and_threads import workload as work
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "processes-and-threads.json"
#: Glue keys book/rules.md quotes as processes-and-threads.md::KEY (all with ``:s``).
QUOTED_BY_RULES = ("pt_io_threads_most", "pt_io_processes_most", "pt_cpu_threads_best",
                   "pt_cpu_processes_best")


@pytest.fixture(scope="module")
def concurrency_quick(quick_results):
    return quick_results["processes-and-threads"]


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present(concurrency_quick):
    counts = concurrency.worker_counts(machine.usable_cpus())
    assert concurrency_quick.parameters["worker_counts"] == counts
    keys = {(c.params["kind"], c.params["backend"], c.params["workers"])
            for c in concurrency_quick.group("tasks")}
    expected = {(kind, "serial", 1) for kind in concurrency.KINDS}
    expected |= {(kind, backend, w) for kind in concurrency.KINDS
                 for backend in ("threads", "processes") for w in counts}
    assert keys == expected


def test_every_sample_is_a_positive_finite_time(concurrency_quick):
    for case in concurrency_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_every_backend_returned_the_serial_answers(concurrency_quick):
    assert concurrency_quick.values["io_results_correct"] is True
    checks = concurrency_quick.values["results_match_serial"]
    assert len(checks) == len(concurrency_quick.group("tasks"))
    assert all(checks.values())


def test_speedups_are_positive_and_finite(concurrency_quick):
    found = analysis.findings(concurrency_quick)
    curves = analysis.speedup_curves(found)
    assert set(curves) == {(k, b) for k in concurrency.KINDS for b in ("threads", "processes")}
    for points in curves.values():
        assert all(math.isfinite(s) and s > 0 for _, s in points)
    assert views.speedup_table(concurrency_quick, found).frame.shape == (4, len(points))
    assert found.batch.results_match is True


def test_io_task_waits_for_the_server_and_echoes_its_item():
    context = multiprocessing.get_context(machine.default_start_method())
    with work.delay_server(0.05, context) as address:
        assert address[0] == "127.0.0.1"
        start = time.perf_counter()
        assert work.fetch(address, 7) == 7
        assert time.perf_counter() - start >= 0.05  # the wait happened on the server side


def test_worker_counts_run_to_twice_the_cpus():
    assert concurrency.worker_counts(2) == [1, 2, 3, 4]
    many = concurrency.worker_counts(16)
    assert many[0] == 1 and many[-1] == 32 and 16 in many
    assert len(many) <= concurrency.MAX_WORKER_POINTS


def test_findings_of_the_committed_result(found):
    assert found.batch.most_workers == max(found.batch.worker_counts)
    assert found.setting.cpus in found.batch.worker_counts
    for kind in concurrency.KINDS:
        times = found.kind(kind)
        assert set(times.threads) == set(times.processes) == set(found.batch.worker_counts)
        workers, best = times.best("processes")
        assert best == max(s for _, s in times.curve("processes"))
        assert times.speedup("processes", workers) == best


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("gil_enabled", "best_thread_time", "expected"), [
    (True, 0.9, "no gain: the threads took turns on one interpreter"),
    (True, 0.25, "a gain a GIL build rarely shows; see the spread table"),
    (False, 0.9, "this interpreter runs without the GIL, so its threads can compute "
                 "in parallel"),
    (False, 0.25, "this interpreter runs without the GIL, so its threads can compute "
                  "in parallel"),
])
def test_cpu_threads_verdict(found, gil_enabled, best_thread_time, expected):
    setting = dataclasses.replace(found.setting, gil_enabled=gil_enabled)
    # One after another takes 1 s; the fastest thread pool takes best_thread_time.
    threads = dict.fromkeys(found.cpu.threads, 1.0) | {1: best_thread_time}
    cpu = dataclasses.replace(found.cpu, serial=1.0, threads=threads)
    assert analysis.cpu_threads_verdict(setting, cpu) == expected


@pytest.mark.parametrize(("matches", "expected"), [(True, "yes"), (False, "NO")])
def test_results_match_text(found, matches, expected):
    batch = dataclasses.replace(found.batch, results_match=matches)
    assert analysis.texts(dataclasses.replace(found, batch=batch))["pt_results_match"] == expected


def test_texts_of_the_committed_result_keep_the_keys_and_types_other_pages_quote(found):
    texts = analysis.texts(found)
    for key in QUOTED_BY_RULES:
        assert isinstance(texts[key], str) and texts[key].endswith("×"), key
    for key in ("pt_cpus", "pt_tasks", "pt_most_workers", "pt_cpu_processes_best_workers"):
        assert type(texts[key]) is int, key
    assert texts["pt_cpu_threads_verdict"] == analysis.cpu_threads_verdict(found.setting,
                                                                           found.cpu)
