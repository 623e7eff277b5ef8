"""The threads chapter: its quick run (every case, the interpreter-exit and bare-thread
demos did what the page says), its demonstrations, and its texts and transcripts on the
committed result ``tests/results/threads.json``."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest

from parbook.bench.results import load
from parbook.chapters.threads import analysis
from parbook.chapters.threads import experiment as experiment
from parbook.chapters.threads import workload as work
from parbook.shared.child import run_module
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "threads.json"


@pytest.fixture(scope="module")
def threads_quick(quick_results):
    return quick_results["threads"]


@pytest.fixture(scope="module")
def quick_found(threads_quick):
    return analysis.findings(threads_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present_with_positive_finite_samples(threads_quick):
    assert {c.params["how"] for c in threads_quick.group("dispatch")} == set(
        experiment.DISPATCH_LABELS)
    assert {c.params["how"] for c in threads_quick.group("overlap")} == set(
        experiment.OVERLAP_LABELS)
    assert {c.params["kind"] for c in threads_quick.group("interpreter_exit")} == set(
        experiment.EXIT_LABELS)
    for case in threads_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_daemon_threads_are_abandoned_and_non_daemon_threads_awaited(quick_found):
    exit_ = quick_found.interpreter_exit
    for run in (exit_.daemon_run, exit_.non_daemon_run):
        assert run.returncode == 0 and not run.killed
        assert run.errors == ""
        assert "reached the end of the program" in run.output
    # What the page says after the transcript: no daemon worker finished, both others did.
    assert analysis.finished_workers(exit_.daemon_run) == 0
    assert analysis.finished_workers(exit_.non_daemon_run) == len(experiment.EXIT_SLEEPS_S)
    # Not a speed claim: the interpreter waited for the longer sleep to end.
    assert exit_.non_daemon >= max(experiment.EXIT_SLEEPS_S)
    assert exit_.non_daemon >= exit_.longest_sleep


def test_bare_thread_error_is_printed_and_the_program_still_succeeds(quick_found):
    run = quick_found.bare_thread_error.run
    assert run.returncode == 0 and not run.killed
    assert "Exception in thread parser" in run.errors
    assert "ValueError" in run.errors
    transcript = quick_found.bare_thread_error.transcript()
    assert 'File "workload.py"' in transcript and "/chapters/" not in transcript


def test_findings_are_positive_ratios(quick_found):
    dispatch, overlap = quick_found.dispatch, quick_found.overlap
    for name, value in (("direct", dispatch.direct), ("new_thread", dispatch.new_thread),
                        ("running_pool", dispatch.running_pool),
                        ("pool_per_call", dispatch.pool_per_call),
                        ("thread_over_pool", dispatch.thread_over_pool),
                        ("overlap_speedup", overlap.speedup)):
        assert math.isfinite(value) and value > 0, name


def test_function_and_subclass_threads_return_their_results():
    results = work.start_with_a_function({"a": 0.01, "b": 0.0})
    assert set(results) == {"a", "b"} and "fetch-a" in results["a"]
    assert all("fetched by fetcher-" in line for line in work.start_subclasses({"x": 0.0}))


def test_join_with_timeout_reports_alive_then_finished():
    first, second = work.join_with_timeout(work_s=0.2, patience_s=0.02)
    assert first.endswith("is_alive() = True")
    assert second.endswith("is_alive() = False")


def test_futures_reraise_and_excepthook_collects_and_is_restored():
    lines = work.parse_all(["1", "x"])
    assert lines[0] == "'1' -> 1" and "raised ValueError" in lines[1]
    before = threading.excepthook
    errors = work.errors_through_excepthook(["x", "2"])
    assert threading.excepthook is before
    assert len(errors) == 1 and errors[0].startswith("parse-x: ValueError")
    fetched = work.fetch_all(["a", "b", "c"], delay_s=0.0, workers=2)
    assert sorted(fetched) == ["a", "b", "c"]


def test_run_module_kills_a_child_that_outlives_its_limit():
    child = run_module(experiment.MODULE, "non-daemon", "5", time_limit_s=0.5)
    assert child.killed and child.returncode != 0
    assert child.elapsed_s < 0.5 + 5


# --- texts and transcripts of the committed result --------------------------------------

def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["threads_calls"] == f"{found.dispatch.calls:,}"
    assert texts["threads_waits"] == str(found.overlap.waits)
    assert texts["threads_exit_short"] == "200 ms" and texts["threads_exit_long"] == "1.00 s"
    assert all(isinstance(value, str) for value in texts.values())


def test_exit_transcript_heads_each_child_with_how_it_ended(found):
    exit_ = found.interpreter_exit
    lines = exit_.transcript().splitlines()
    headers = [line for line in lines if line.startswith("--- ")]
    assert headers == [
        f"--- worker threads with daemon=True: the process exited with code 0 after "
        f"{exit_.daemon_run.elapsed_s:.2f} s",
        f"--- worker threads with daemon=False (the default): the process exited with code 0 "
        f"after {exit_.non_daemon_run.elapsed_s:.2f} s",
    ]
    assert len(lines) == 2 + len(exit_.daemon_run.output.splitlines()) + len(
        exit_.non_daemon_run.output.splitlines())


def test_bare_thread_transcript_shows_both_streams_with_short_paths(found):
    run = dataclasses.replace(found.bare_thread_error.run, output="out\n",
                              errors='  File "/a/b/workload.py", line 1\nValueError: x\n')
    transcript = analysis.BareThreadError(run).transcript()
    assert transcript == ("exit code: 0\n--- standard output:\nout\n"
                          "--- standard error (file paths shortened):\n"
                          '  File "workload.py", line 1\nValueError: x')
