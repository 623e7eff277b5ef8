"""The threads chapter: its quick run (every case, the interpreter-exit and bare-thread
demos did what the page says), its demonstrations, and its texts and transcripts on the
committed result ``tests/results/threads.json``."""

from __future__ import annotations

import dataclasses
import math
import threading

import pytest

from parbook.bench.results import load
from parbook.chapters.threads import analysis, views
from parbook.chapters.threads import experiment as experiment
from parbook.chapters.threads import workload as work
from parbook.claims import Verdict
from parbook.shared.child import run_module
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "threads.json"
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


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
    texts = analysis.texts(quick_found)
    assert texts["threads_daemon_sentence"].startswith(
        "With daemon=True, the program ended as soon as its main thread did")
    assert texts["threads_non_daemon_sentence"].startswith(
        "With non-daemon threads, the interpreter waited for every worker")
    # Not a speed claim: the interpreter waited for the longer sleep to end.
    assert exit_.non_daemon >= max(experiment.EXIT_SLEEPS_S)
    assert exit_.non_daemon >= exit_.longest_sleep


def test_bare_thread_error_is_printed_and_the_program_still_succeeds(quick_found):
    run = quick_found.bare_thread_error.run
    assert run.returncode == 0 and not run.killed
    # The exit code the page glues is the one this run recorded.
    assert analysis.texts(quick_found)["threads_bare_error_exit_sentence"] == (
        "The program exited with code 0: whatever its threads raise, a program that ends this "
        "way reports success.")
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


def test_summary_table_of_the_committed_result(found):
    frame = views.summary_table(load(COMMITTED), found).frame
    assert list(frame.columns) == ["what", "time (median)"] and len(frame) == 6
    texts = analysis.texts(found)
    assert frame.iloc[0]["time (median)"].split(" ⚠")[0] == texts["threads_new_thread"]
    assert frame.iloc[1]["time (median)"].split(" ⚠")[0] == texts["threads_running_pool"]
    assert frame.iloc[2]["what"] == "8 waits of 20.0 ms, one after another"


# --- each data-dependent sentence, every alternative ----------------------------------------

def with_exit_run(found, which, **changes):
    """The committed findings with the daemon or non-daemon child run changed."""
    exit_ = found.interpreter_exit
    run = dataclasses.replace(getattr(exit_, which), **changes)
    return dataclasses.replace(exit_, **{which: run})


def test_exit_sentences_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["threads_daemon_sentence"] == (
        "With daemon=True, the program ended as soon as its main thread did, after 144 ms "
        "(start-up included), and no worker printed that it finished: each was stopped "
        "mid-sleep.")
    assert texts["threads_non_daemon_sentence"] == (
        "With non-daemon threads, the interpreter waited for every worker to finish and "
        "exited after 1.16 s, once the longest sleep had ended.")


@pytest.mark.parametrize("changes", [
    {"output": "worker-1 finished at 0.20 s\n"}, {"returncode": 1}, {"killed": True},
])
def test_daemon_sentence_when_the_run_was_not_as_described(found, changes):
    exit_ = with_exit_run(found, "daemon_run", **changes)
    assert analysis.daemon_sentence(exit_) == (
        "With daemon=True, the program ran for 144 ms, but not as described here: the "
        "transcript above shows what its workers printed.")


@pytest.mark.parametrize("changes", [
    {"output": "worker-1 finished at 0.20 s\n"}, {"returncode": -9}, {"killed": True},
])
def test_non_daemon_sentence_when_the_run_was_not_as_described(found, changes):
    exit_ = with_exit_run(found, "non_daemon_run", **changes)
    assert analysis.non_daemon_sentence(exit_) == (
        "With non-daemon threads, the program ran for 1.16 s, but not as described "
        "here: the transcript above shows what its workers printed.")


def test_non_daemon_sentence_when_it_exited_before_the_longest_sleep(found):
    exit_ = dataclasses.replace(found.interpreter_exit, non_daemon=0.5)
    assert analysis.non_daemon_sentence(exit_) == (
        "With non-daemon threads, the program ran for 500 ms, but not as described "
        "here: the transcript above shows what its workers printed.")


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "The program exited with code 0: whatever its threads raise, a program that ends "
         "this way reports success."),
    ({"returncode": 1}, "The program exited with code 1, not 0; its standard error above says "
                        "why."),
    ({"returncode": -9, "killed": True},
     "The program did not end within its limit of 10 s and was stopped, so this build did not "
     "see its exit code."),
])
def test_bare_error_exit_sentence(found, changes, expected):
    bare = analysis.BareThreadError(dataclasses.replace(found.bare_thread_error.run,
                                                        **changes))
    assert analysis.bare_error_exit_sentence(bare) == expected
    texts = analysis.texts(dataclasses.replace(found, bare_thread_error=bare))
    assert texts["threads_bare_error_exit_sentence"] == expected
    assert texts["threads_bare_error_exit_code"] == str(bare.run.returncode)


@pytest.mark.parametrize(("pool_per_call", "expected"), [
    (200e-6, "Creating a pool for every call, which pays for a new thread and for the queue, "
             "cost the most: 200 µs."),
    (100e-6, "Creating a pool for every call, which pays for a new thread and for the queue, "
             "cost 100 µs, no more than a bare new thread in this run: next to starting a "
             "thread, the queue costs little."),
])
def test_pool_per_call_sentence(found, pool_per_call, expected):
    dispatch = dataclasses.replace(found.dispatch, new_thread=150e-6,
                                   pool_per_call=pool_per_call)
    assert analysis.pool_per_call_sentence(dispatch) == expected
    texts = analysis.texts(dataclasses.replace(found, dispatch=dispatch))
    assert texts["threads_pool_per_call_sentence"] == expected


# --- the claims this chapter judges for the ledger in book/sources.md, each verdict -------

def test_daemon_claim_every_verdict(found):
    assert analysis.daemon_claim(found.interpreter_exit).verdict is Verdict.HOLDS
    daemon_finished = with_exit_run(found, "daemon_run", output="worker-1 finished at 0.20 s\n")
    judged = analysis.daemon_claim(daemon_finished)
    assert judged.verdict is Verdict.PARTLY and "did not end cleanly with its" in judged.reason
    non_daemon_killed = with_exit_run(found, "non_daemon_run", killed=True, returncode=-9)
    judged = analysis.daemon_claim(non_daemon_killed)
    assert judged.verdict is Verdict.PARTLY and "did not end cleanly after" in judged.reason
    neither = dataclasses.replace(daemon_finished, non_daemon=0.5)
    judged = analysis.daemon_claim(neither)
    assert judged.verdict is Verdict.FAILS and "Neither program" in judged.reason


@pytest.mark.parametrize(("output", "verdict", "says"), [
    ("MainThread carries on: join() returned normally, is_alive() = False\n", Verdict.PARTLY,
     "the thread it joined had ended (is_alive() was False)"),
    ("MainThread carries on: join() returned normally, is_alive() = True\n", Verdict.FAILS,
     "returned while the thread it joined was still alive"),
    ("", Verdict.UNMEASURED, "printed nothing after its join()"),
])
def test_join_claim_every_verdict(found, output, verdict, says):
    bare = analysis.BareThreadError(dataclasses.replace(found.bare_thread_error.run,
                                                        output=output))
    judged = analysis.join_claim(bare)
    assert judged.verdict is verdict and says in judged.reason


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert judged == {"a001_daemon": analysis.daemon_claim(found.interpreter_exit),
                      "a001_join": analysis.join_claim(found.bare_thread_error)}
    assert judged["a001_join"].verdict is Verdict.PARTLY
    assert "no worker finished" in judged["a001_daemon"].reason


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def threads_run_of(found, version, daemon_output=None, non_daemon_code=None, bare_code=None):
    """An interpreter's run whose findings are the committed ones, with what the daemon
    program printed, the non-daemon program's and the bare-thread program's exit codes
    changed as given."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    exit_, bare = found.interpreter_exit, found.bare_thread_error
    if daemon_output is not None:
        exit_ = dataclasses.replace(exit_, daemon_run=dataclasses.replace(
            exit_.daemon_run, output=daemon_output))
    if non_daemon_code is not None:
        exit_ = dataclasses.replace(exit_, non_daemon_run=dataclasses.replace(
            exit_.non_daemon_run, returncode=non_daemon_code))
    if bare_code is not None:
        bare = dataclasses.replace(bare, run=dataclasses.replace(bare.run,
                                                                 returncode=bare_code))
    changed = dataclasses.replace(found, interpreter_exit=exit_, bare_thread_error=bare)
    result = Result(experiment="threads", quick=True, machine={
        "python_implementation": "CPython", "python_version": version})
    return InterpreterRun(None, result=result, found=changed)


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    assert rows["exit code of a program whose bare thread raised"] == "0"
    waits = (f"{found.overlap.waits} waits of {analysis.format_seconds(found.overlap.wait_s)}"
             " on a pool, against one after another")
    assert rows[waits].endswith(" as fast")
    assert all(isinstance(cell, str) and cell for cell in rows.values())


def test_demos_across_interpreters_every_case(found):
    same = [threads_run_of(found, "3.12.1"), threads_run_of(found, "3.13.0")]
    assert analysis.demos_across_interpreters(same) == (
        "The demonstrations behaved the same under every interpreter here: daemon workers "
        "were cut off when the main thread ended, the program waited for its non-daemon "
        "workers, and the program whose bare thread raised still exited with code 0.")
    assert analysis.demos_across_interpreters(same[:1]).startswith(
        "The demonstrations behaved the same under this interpreter: ")
    odd = [threads_run_of(found, "3.14.0", daemon_output="w finished at 1.0\n",
                          non_daemon_code=1, bare_code=1), *same]
    assert analysis.demos_across_interpreters(odd) == (
        "Not every demonstration behaved as described: the program with daemon workers did "
        "not end cleanly with them cut off on CPython 3.14.0; the program with non-daemon "
        "workers did not end cleanly after all of them on CPython 3.14.0; the program whose "
        "bare thread raised exited with a code other than 0 on CPython 3.14.0.")


@pytest.mark.parametrize(("group", "params", "expected"), [
    ("dispatch", {"how": "new_thread"}, "one call, new Thread: start + join"),
    ("overlap", {"waits": 8, "wait_s": 0.02, "how": "pool"},
     "8 waits, ThreadPoolExecutor, one thread each"),
    ("interpreter_exit", {"kind": "daemon"}, "the program whose workers slept (daemon=True)"),
    ("other", {"x": 1}, "other (x 1)"),
])
def test_describe_case_names_each_group(group, params, expected):
    assert analysis.describe_case(group, params) == expected
