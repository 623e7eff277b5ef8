"""The GIL experiment in quick mode: every case present, results correct, state restored."""

import math
import sys

import pytest

from parbook import sources
from parbook.bench import machine, report
from parbook.chapters.the_gil import experiment as gil
from parbook.chapters.the_gil import workload as work


@pytest.fixture(scope="module")
def gil_quick():
    return gil.run(quick=True)


def test_every_case_is_present(gil_quick):
    assert {c.params["backend"] for c in gil_quick.group("article")} == set(gil.ARTICLE_BACKENDS)
    release = {(c.params["workload"], c.params["backend"]) for c in gil_quick.group("release")}
    assert release == {(w, b) for w in gil.RELEASE_WORKLOADS for b in gil.RELEASE_BACKENDS}
    intervals = gil_quick.parameters["switch_intervals_s"]
    assert len(intervals) == len(gil.SWITCH_FACTORS)
    busy = {c.params["interval_s"] for c in gil_quick.group("wake_up") if c.params["busy"]}
    assert busy == set(intervals)
    assert {c.params["interval_s"] for c in gil_quick.group("switch_cost")} == set(intervals)


def test_every_sample_is_a_positive_finite_time(gil_quick):
    for case in gil_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_threads_compute_the_same_results(gil_quick):
    assert gil_quick.values["digests_match"] is True
    assert gil_quick.values["loop_results_match"] is True
    chunks = work.make_chunks(6, 2**16)
    assert work.map_on_threads(work.hash_chunk, chunks, 3) == [work.hash_chunk(c)
                                                              for c in chunks]
    assert work.loops_on_threads(3, 1000) == work.loops_one_after_another(3, 1000)


def test_switch_interval_is_restored(gil_quick):
    assert sys.getswitchinterval() == gil_quick.values["default_switch_interval_s"]
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), work.switch_interval(before * 2):
        assert sys.getswitchinterval() == before * 2
        raise RuntimeError("leave the block early")
    assert sys.getswitchinterval() == before


def test_gil_status_is_recorded(gil_quick):
    assert gil_quick.values["gil_enabled"] is machine.gil_enabled()
    assert isinstance(gil_quick.values["free_threaded_build"], bool)


def test_findings_are_positive_and_finite(gil_quick):
    found = gil.findings(gil_quick)
    for key in ("article_thread_speedup", "article_process_speedup", "sha_speedup",
                "python_speedup", "wake_floor"):
        assert math.isfinite(found[key]) and found[key] > 0, key
    assert all(v > 0 for v in found["wake_up"].values())


def test_article_table_shows_the_article_only_at_its_size(gil_quick):
    n = gil_quick.parameters["loop_iterations"]
    frame = report.comparison_table(gil_quick, "article", sources.GIL_TABLE,
                                    rows=("backend",), column="iterations")
    article = frame.xs("article 001", axis=1, level=1)
    assert article.shape == (3, 1)
    reported = sources.GIL_TABLE.lookup(backend="threads", iterations=n)
    assert (reported is not None) == (n == 1_000_000)
