"""The threads experiment in quick mode, and the chapter's demonstrations."""

from __future__ import annotations

import math
import threading

import pytest

from parbook.chapters.threads import experiment as experiment
from parbook.chapters.threads import workload as work
from parbook.shared.child import run_module, shorten_paths


@pytest.fixture(scope="module")
def threads_quick():
    return experiment.run(quick=True)


def test_every_case_is_present_with_positive_finite_samples(threads_quick):
    assert {c.params["how"] for c in threads_quick.group("dispatch")} == set(
        experiment.DISPATCH_LABELS)
    assert {c.params["how"] for c in threads_quick.group("overlap")} == set(
        experiment.OVERLAP_LABELS)
    assert {c.params["kind"] for c in threads_quick.group("interpreter_exit")} == set(
        experiment.EXIT_LABELS)
    for case in threads_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_daemon_threads_are_abandoned_and_non_daemon_threads_awaited(threads_quick):
    found = experiment.findings(threads_quick)
    children = found["children"]
    for kind in ("daemon", "non-daemon"):
        assert children[kind]["returncode"] == 0 and not children[kind]["killed"]
        assert children[kind]["errors"] == ""
        assert "reached the end of the program" in children[kind]["output"]
    assert found["daemon_finished_lines"] == 0
    assert found["non_daemon_finished_lines"] == len(experiment.EXIT_SLEEPS_S)
    # Not a speed claim: the interpreter waited for the longer sleep to end.
    assert found["exit_non_daemon"] >= max(experiment.EXIT_SLEEPS_S)


def test_bare_thread_error_is_printed_and_the_program_still_succeeds(threads_quick):
    child = experiment.findings(threads_quick)["children"]["bare-thread-error"]
    assert child["returncode"] == 0 and not child["killed"]
    assert "Exception in thread parser" in child["errors"]
    assert "ValueError" in child["errors"]
    assert 'File "threads.py"' in shorten_paths(child["errors"])


def test_findings_are_positive_ratios(threads_quick):
    found = experiment.findings(threads_quick)
    for key in ("direct", "new_thread", "running_pool", "pool_per_call", "thread_over_pool",
                "overlap_speedup"):
        assert math.isfinite(found[key]) and found[key] > 0, key


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
