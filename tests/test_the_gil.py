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
from parbook.claims import Verdict
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
    backends = set(gil.ARTICLE_BACKENDS)
    if gil_quick.values["interpreter_pool"] != gil.POOL_MEASURED:
        backends.discard("interpreters")
    assert {c.params["backend"] for c in gil_quick.group("article")} == backends
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
    (0.9, "The threads brought no gain here either (a speed-up of 1.1×)."),
    (0.25, "The threads ran 4.0× as fast as the loops one after another, so more than one "
           "of them ran Python at a time."),
])
def test_thread_verdict(found, threads, expected):
    article = dataclasses.replace(found.article, sequential=1.0, threads=threads)
    assert analysis.thread_verdict(article) == expected


@pytest.mark.parametrize(("threads", "sha_threads", "expected"), [
    (0.9, 0.5, "On this build, 10 threads each running a pure-Python loop finished no sooner "
               "than the same loops run one after another, while threads hashing large "
               "buffers ran 2.0× as fast as one thread."),
    (0.9, 0.95, "On this build, 10 threads each running a pure-Python loop finished no "
                "sooner than the same loops run one after another, and threads hashing large "
                "buffers ran only 1.1× as fast as one thread; the sections below say why."),
    (0.25, 0.5, "On this build, 10 threads each running a pure-Python loop ran 4.0× as fast "
                "as the same loops one after another, and threads hashing large buffers ran "
                "2.0× as fast as one thread."),
    (0.25, 0.95, "On this build, 10 threads each running a pure-Python loop ran 4.0× as fast "
                 "as the same loops one after another, but threads hashing large buffers "
                 "ran only 1.1× as fast as one thread."),
])
def test_short_answer(found, threads, sha_threads, expected):
    article = dataclasses.replace(found.article, loops=10, sequential=1.0, threads=threads)
    release = dataclasses.replace(found.release, sha_serial=1.0, sha_threads=sha_threads)
    assert analysis.short_answer(article, release) == expected


@pytest.mark.parametrize(("threads", "expected"), [
    (0.5, "Hashing on one thread per CPU ran 2.0× as fast as on one thread, because hashlib "
          "releases the GIL while it hashes."),
    (0.95, "Hashing on one thread per CPU ran only 1.1× as fast as on one thread, although "
           "hashlib releases the GIL while it hashes; the spread table shows whether other "
           "load on the machine got in the way."),
])
def test_sha_verdict(found, threads, expected):
    release = dataclasses.replace(found.release, sha_serial=1.0, sha_threads=threads)
    assert analysis.sha_verdict(release) == expected


@pytest.mark.parametrize(("woken", "start"), [
    (0.0012, "So the sleeper hardly waited"),
    (0.006, "So the sleeper waited about one switch interval"),
    (0.02, "So the sleeper waited more than two switch intervals"),
])
def test_wake_verdict(found, woken, start):
    switch = dataclasses.replace(
        found.switch, wake_floor=0.001,
        intervals={"shortest": 0.0005, "default": 0.005, "longest": 0.02},
        wake_up={"shortest": woken, "default": woken, "longest": woken})
    assert analysis.wake_verdict(switch).startswith(start)


@pytest.mark.parametrize(("shortest", "expected"), [
    (1.2, "That is 1.2× the default's time: switching more often "
          "cost time, which is why the default is not shorter."),
    (0.8, "That is 0.80× the default's time, so switching more "
          "often cost nothing measurable here; its cost is small next to the work, and "
          "varies between machines and runs."),
    (1.01, "That is 1.0× the default's time, within a few per "
           "cent of it."),
])
def test_cost_verdict(found, shortest, expected):
    switch = dataclasses.replace(found.switch, switch_cost={"shortest": shortest,
                                                            "default": 1.0, "longest": 1.0})
    assert analysis.cost_verdict(switch) == expected


@pytest.mark.parametrize("match", [True, False])
def test_sums_and_digests_sentences(found, match):
    article = dataclasses.replace(found.article, sums_match=match)
    release = dataclasses.replace(found.release, digests_match=match)
    sums, digests = analysis.sums_sentence(article), analysis.digests_sentence(release)
    if match:
        assert sums.startswith("All three ways computed the same sums")
        assert digests.startswith("The threads' digests equal the serial ones")
    else:
        assert "should not be trusted" in sums and "should not be trusted" in digests


def test_summary_rows(found):
    rows = dict(analysis.summary_rows(found))
    assert rows["interpreter"] == analysis.status_text(found.interpreter)
    assert rows["usable CPUs"] == str(found.interpreter.cpus)
    assert len(rows) == 7 and all(rows.values())


def test_texts_of_the_committed_result_read_as_sentences(found):
    texts = analysis.texts(found)
    assert texts["gil_thread_verdict"] == analysis.thread_verdict(found.article)
    assert texts["gil_sums_sentence"].startswith("All three ways")
    assert texts["gil_digests_sentence"].startswith("The threads' digests equal")
    assert texts["gil_status"].startswith(("Python", "a free-threaded"))
    for key in ("gil_short_answer", "gil_thread_verdict", "gil_sha_verdict",
                "gil_wake_verdict", "gil_cost_verdict", "gil_sums_sentence",
                "gil_digests_sentence"):
        assert texts[key][0].isupper() and texts[key].endswith("."), key


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

@pytest.mark.parametrize(("gil_enabled", "threads", "verdict", "says"), [
    (True, 1.0, Verdict.HOLDS, "a speed-up of 1.0× (the article's: 1.00× on an Intel"),
    (True, 0.25, Verdict.FAILS, "more than one of them ran Python at a time"),
    (False, 1.0, Verdict.PARTLY, "but not because of the GIL"),
    (False, 0.25, Verdict.FAILS, "belongs to builds with the GIL"),
])
def test_gil_threads_claim_every_verdict(found, gil_enabled, threads, verdict, says):
    interpreter = dataclasses.replace(found.interpreter, gil_enabled=gil_enabled)
    article = dataclasses.replace(found.article, loops=10, sequential=1.0, threads=threads)
    judged = analysis.gil_threads_claim(interpreter, article)
    assert judged.verdict is verdict and says in judged.reason
    assert "10 threads" in judged.reason


@pytest.mark.parametrize(("gil_enabled", "threads", "verdict", "says"), [
    (True, 1.25, Verdict.HOLDS, "a speed-up of 0.80×: slower than one thread"),
    (True, 1.0, Verdict.PARTLY, "no clear gain, as the article says, but not measurably"),
    (True, 0.5, Verdict.FAILS, "faster than one thread, not slower"),
    (False, 1.25, Verdict.UNMEASURED, "runs without the GIL"),
])
def test_threads_slower_claim_every_verdict(found, gil_enabled, threads, verdict, says):
    interpreter = dataclasses.replace(found.interpreter, gil_enabled=gil_enabled)
    article = dataclasses.replace(found.article, loops=10, sequential=1.0, threads=threads)
    judged = analysis.threads_slower_claim(interpreter, article)
    assert judged.verdict is verdict and says in judged.reason
    assert "10 threads" in judged.reason and "1.00 s one after another" in judged.reason


@pytest.mark.parametrize(("gil_enabled", "processes", "threads", "verdict", "says"), [
    (True, 0.5, 1.0, Verdict.HOLDS, "ran 2.0× as fast as one after another on a pool of 4"),
    (True, 0.5, 0.4, Verdict.FAILS, "the threads did as well"),
    (True, 0.9, 1.0, Verdict.FAILS, "ran only 1.1× as fast"),
    (False, 0.5, 0.4, Verdict.PARTLY, "there was no GIL to avoid"),
])
def test_use_processes_claim_every_verdict(found, gil_enabled, processes, threads, verdict,
                                           says):
    interpreter = dataclasses.replace(found.interpreter, gil_enabled=gil_enabled, cpus=4)
    article = dataclasses.replace(found.article, loops=10, sequential=1.0, threads=threads,
                                  processes=processes)
    judged = analysis.use_processes_claim(interpreter, article)
    assert judged.verdict is verdict and says in judged.reason
    assert "10 pure-Python loops" in judged.reason


@pytest.mark.parametrize(("shortest", "verdict", "says"), [
    (1.2, Verdict.PARTLY, "Switching more often cost time: two CPU-bound threads took 1.20 s"),
    (1.01, Verdict.FAILS, "cost no more than the few per cent repeated timings vary by"),
    (0.8, Verdict.FAILS, "0.80× as long"),
])
def test_switch_overhead_claim_every_verdict(found, shortest, verdict, says):
    switch = dataclasses.replace(
        found.switch, intervals={"shortest": 0.0005, "default": 0.005, "longest": 0.02},
        switch_cost={"shortest": shortest, "default": 1.0, "longest": 1.0})
    judged = analysis.switch_overhead_claim(switch)
    assert judged.verdict is verdict and says in judged.reason
    assert "every 500 µs" in judged.reason and "default 5.00 ms" in judged.reason
    assert judged.reason.endswith("The number of threads is not varied here.")


def test_documentation_claims_are_not_measured():
    for judged in (analysis.gil_os_threads_claim(), analysis.gil_history_claim()):
        assert judged.verdict is Verdict.UNMEASURED
    assert "reference counts" in analysis.gil_os_threads_claim().reason
    history = analysis.gil_history_claim().reason
    assert "Python 2.6 and 3.0 (PEP 371)" in history and "new in Python 3.8" in history


def test_claims_of_the_committed_result(found):
    interpreter, article = found.interpreter, found.article
    assert analysis.claims(found) == {
        "a001_gil_threads": analysis.gil_threads_claim(interpreter, article),
        "a001_threads_slower": analysis.threads_slower_claim(interpreter, article),
        "a001_gil_use_processes": analysis.use_processes_claim(interpreter, article),
        "a001_thread_switch_overhead": analysis.switch_overhead_claim(found.switch),
        "a003_gil_os_threads": analysis.gil_os_threads_claim(),
        "a003_gil_history": analysis.gil_history_claim(),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def test_the_interpreter_pool_is_a_stated_absence_where_python_lacks_it(gil_quick):
    """Before 3.14 the run records the absence and measures no interpreter pool; where the
    executor exists, one trial run decides (its failure is recorded, not raised)."""
    status = gil_quick.values["interpreter_pool"]
    if machine.interpreter_pool_executor():
        assert status == gil.POOL_MEASURED or status.startswith("failed (")
    else:
        assert status == gil.POOL_ABSENT
        assert gil.interpreter_pool_status(2, 1000, 2, [0]) == gil.POOL_ABSENT
        assert analysis.findings(gil_quick).article.interpreter_speedup is None
        with pytest.raises(ImportError):
            work.loops_on_interpreters(2, 1000, 2)


def run_of(found, label_version, gil_enabled=True, free_threaded=False, **article):
    """An interpreter's run whose findings are the committed ones, changed as given."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    changed = dataclasses.replace(
        found, interpreter=dataclasses.replace(found.interpreter, gil_enabled=gil_enabled),
        article=dataclasses.replace(found.article, **article))
    result = Result(experiment="the-gil", quick=True, machine={
        "python_implementation": "CPython", "python_version": label_version,
        "free_threaded_build": free_threaded, "gil_enabled": gil_enabled})
    return InterpreterRun(None, result=result, found=changed)


def test_threads_across_interpreters_every_case(found):
    slow = dict(sequential=1.0, threads=1.0)
    gil_only = [run_of(found, "3.12.1", **slow), run_of(found, "3.13.0", **slow)]
    assert "Every one of these interpreters had a GIL on" in (
        analysis.threads_across_interpreters(gil_only))
    alone = analysis.threads_across_interpreters(gil_only[:1])
    assert "This interpreter had its GIL on" in alone and "1.0× on CPython 3.12.1" in alone
    free = run_of(found, "3.14.0", gil_enabled=False, free_threaded=True,
                  sequential=2.0, threads=1.0)
    text = analysis.threads_across_interpreters([*gil_only, free])
    assert "With the GIL off, CPython 3.14.0t ran the threads on several CPUs" in text
    flat = run_of(found, "3.14.0", gil_enabled=False, free_threaded=True, **slow)
    assert "still gained nothing here" in analysis.threads_across_interpreters([flat])


def test_interpreter_pool_across_interpreters_every_case(found):
    absent = run_of(found, "3.13.0", interpreters=None, interpreter_pool="absent")
    assert analysis.interpreter_pool_across_interpreters([absent]) == (
        "CPython 3.13.0 has no InterpreterPoolExecutor (Python 3.14 added it), so no "
        "interpreter pool was measured.")
    ran = run_of(found, "3.14.0", sequential=2.0, processes=1.0, interpreters=1.0,
                 interpreter_pool="measured")
    failed = run_of(found, "3.14.1", interpreters=None,
                    interpreter_pool="failed (TypeError: boom)")
    text = analysis.interpreter_pool_across_interpreters([absent, ran, failed])
    assert text.startswith("The interpreter pool ran the loops 2.0× as fast as one after "
                           "another on CPython 3.14.0 (its process pool: 2.0×).")
    assert "CPython 3.13.0 has no InterpreterPoolExecutor (Python 3.14 added it)." in text
    assert text.endswith("failed: on CPython 3.14.1 it failed (TypeError: boom).")


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert rows["GIL while the experiment ran"] in ("on", "off")
    assert rows["on an interpreter pool"] == "not available"
    assert len(rows) == 7
