"""The concurrency experiment in quick mode: every case present, every figure sane."""

import math

import pytest

from parbook.bench import machine
from parbook.chapters.processes_and_threads import experiment as concurrency
from parbook.chapters.processes_and_threads import workload as work


@pytest.fixture(scope="module")
def concurrency_quick():
    return concurrency.run(quick=True)


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
    curves = concurrency.speedups(concurrency_quick)
    assert set(curves) == {(k, b) for k in concurrency.KINDS for b in ("threads", "processes")}
    for points in curves.values():
        assert all(math.isfinite(s) and s > 0 for _, s in points)
    assert concurrency.speedup_table(concurrency_quick).shape == (4, len(points))
    found = concurrency.findings(concurrency_quick)
    assert found["results_match_serial"] is True


def test_io_task_waits_for_the_server_and_echoes_its_item():
    import multiprocessing
    import time

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
