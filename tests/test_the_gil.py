"""The GIL chapter: its quick run (every case, correct results, state restored) and each of
its data-dependent sentences, on the committed result ``tests/results/the-gil.json``."""

import dataclasses
import sys

import pytest

from parbook import sources
from parbook.bench import machine
from parbook.bench.results import load
from parbook.chapters.the_gil import analysis
from parbook.chapters.the_gil import experiment as gil
from parbook.chapters.the_gil import workload as work
from parbook.render.tables import comparison_table
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "the-gil.json"


@pytest.fixture(scope="module")
def gil_quick(quick_results):
    return quick_results["the-gil"]


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present(gil_quick):
    assert {c.params["backend"] for c in gil_quick.group("article")} == set(gil.ARTICLE_BACKENDS)
    release = {(c.params["workload"], c.params["backend"]) for c in gil_quick.group("release")}
    assert release == {(w, b) for w in gil.RELEASE_WORKLOADS for b in gil.RELEASE_BACKENDS}
    intervals = gil_quick.parameters["switch_intervals_s"]
    assert len(intervals) == len(gil.SWITCH_FACTORS)
    busy = {c.params["interval_s"] for c in gil_quick.group("wake_up") if c.params["busy"]}
    assert busy == set(intervals)
    assert {c.params["interval_s"] for c in gil_quick.group("switch_cost")} == set(intervals)


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


def test_article_table_shows_the_article_only_at_its_size(gil_quick):
    n = gil_quick.parameters["loop_iterations"]
    frame = comparison_table(gil_quick, "article", sources.GIL_TABLE,
                             rows=("backend",), column="iterations")
    article = frame.xs("article 001", axis=1, level=1)
    assert article.shape == (3, 1)
    reported = sources.GIL_TABLE.lookup(backend="threads", iterations=n)
    assert (reported is not None) == (n == 1_000_000)


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("enabled", "free_threaded", "expected"), [
    (True, False, "Python 3.11.7 with the GIL enabled"),
    (True, True, "Python 3.11.7 with the GIL enabled (a free-threaded build running with the "
                 "GIL switched back on)"),
    (False, True, "a free-threaded Python 3.11.7, with the GIL disabled"),
])
def test_status_sentence(found, enabled, free_threaded, expected):
    interpreter = dataclasses.replace(found.interpreter, python_version="3.11.7",
                                      gil_enabled=enabled, free_threaded_build=free_threaded)
    assert analysis.status_text(interpreter) == expected


@pytest.mark.parametrize(("threads", "expected"), [
    (0.9, "no faster than running them one after another"),
    (0.25, "4.0× faster than one after another"),
])
def test_thread_verdict(found, threads, expected):
    article = dataclasses.replace(found.article, sequential=1.0, threads=threads)
    assert analysis.thread_verdict(article) == expected


@pytest.mark.parametrize(("threads", "start"), [(0.5, "faster, because"),
                                                (0.95, "hardly faster here")])
def test_sha_verdict(found, threads, start):
    release = dataclasses.replace(found.release, sha_serial=1.0, sha_threads=threads)
    assert analysis.sha_verdict(release).startswith(start)


@pytest.mark.parametrize(("shortest", "start"), [(1.2, "switching more often cost time"),
                                                 (0.8, "here the shortest interval was not"),
                                                 (1.01, "here the difference was within")])
def test_cost_verdict(found, shortest, start):
    switch = dataclasses.replace(found.switch, switch_cost={"shortest": shortest,
                                                            "default": 1.0, "longest": 1.0})
    assert analysis.cost_verdict(switch).startswith(start)


def test_texts_of_the_committed_result_read_as_sentences(found):
    texts = analysis.texts(found)
    assert texts["gil_thread_verdict"] in (analysis.thread_verdict(found.article),)
    assert texts["gil_results_match"] == "yes"
    assert texts["gil_status"].startswith(("Python", "a free-threaded"))
