"""The processes-and-threads chapter: its quick run (every case present, every backend
returned the serial answers, each failure ended what the page says it ends) and each of its
data-dependent sentences, on the committed result
``tests/results/processes-and-threads.json``."""

import dataclasses
import math
import multiprocessing
import signal
import time

import pytest

from parbook.bench import machine
from parbook.bench.results import load
from parbook.chapters.processes_and_threads import analysis, views
from parbook.chapters.processes_and_threads import experiment as concurrency
from parbook.chapters.processes_and_threads import failures as failure_demo
from parbook.chapters.processes_and_threads import workload as work
from parbook.claims import Verdict
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "processes-and-threads.json"
pytestmark = pytest.mark.usefixtures("nothing_left_behind")
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


def test_failure_demos_did_what_the_page_says(concurrency_quick):
    """Each failure ended what the page says it ends, within its time limit, and the
    experiment recorded the exit codes and what the healthy threads got done."""
    failures = analysis.findings(concurrency_quick).failures
    assert set(failures.runs) == {(where, how) for where in concurrency.FAILURE_PLACES
                                  for how in concurrency.FAILURE_KINDS}
    for run in failures.runs.values():
        assert not run.killed and run.elapsed_s < concurrency.FAILURE_TIME_LIMIT_S
        assert run.workers == concurrency.FAILURE_WORKERS
        assert f"faulty {failure_demo.FAILURES[run.how]}" in run.output
    raised = failures.run("thread", "raise")
    assert raised.returncode == 0 and raised.finished == raised.workers and raised.reached_end
    assert "Exception in thread faulty" in raised.errors and "ValueError" in raised.errors
    exited = failures.run("thread", "exit")
    assert exited.returncode == failure_demo.EXIT_CODE
    assert exited.finished == 0 and not exited.reached_end
    crashed = failures.run("thread", "segfault")
    assert crashed.returncode == -signal.SIGSEGV
    assert crashed.finished == 0 and not crashed.reached_end
    assert "Fatal Python error" not in crashed.errors  # faulthandler stayed off
    expected_child_codes = {"raise": 1, "exit": failure_demo.EXIT_CODE,
                            "segfault": -signal.SIGSEGV}
    for how, code in expected_child_codes.items():
        run = failures.run("process", how)
        assert run.returncode == 0 and run.culprit_exitcode == code
        assert run.finished == run.workers and run.reached_end
    # The page's cells and sentences take their first alternative on this run.
    texts = analysis.texts(analysis.findings(concurrency_quick))
    assert texts["pt_crash_in_thread_cell"] == "ends the whole process, every thread in it"
    assert texts["pt_exception_in_thread_cell"] == (
        "ends that thread only; the other threads go on")


def test_failure_facts_are_read_from_the_demo_output():
    output = ("faulty raises ValueError\nworker-2 finished its work\nworker-1 finished its "
              "work\nMainThread reached its end; the faulty process's exitcode: -11\n")
    assert concurrency.failure_facts(output) == {
        "finished": 2, "reached_end": True, "culprit_exitcode": -11}
    assert concurrency.failure_facts("faulty calls os._exit(3)\n") == {
        "finished": 0, "reached_end": False, "culprit_exitcode": None}


def test_failure_table_and_transcript_of_the_committed_result(found):
    table = views.failure_table(None, found)
    assert len(table.frame) == len(found.failures.runs)
    segfault_row = table.frame.iloc[2]
    assert segfault_row["exit code of the process it ran in"] == "-11 (SIGSEGV)"
    assert segfault_row["healthy threads that finished"] == "0 of 2"
    transcript = found.failures.transcript()
    assert transcript.count("\n--- a faulty ") == len(found.failures.runs) - 1
    assert "was killed by SIGSEGV (exit code -11)" in transcript
    assert 'File "failures.py"' in transcript and "/chapters/" not in transcript


def test_summary_table_shows_each_way_at_its_best(found):
    committed = load(COMMITTED)
    frame = views.summary_table(committed, found).frame
    assert len(frame) == 6
    cpu_processes = frame.iloc[5]
    workers, speedup = found.cpu.best("processes")
    assert cpu_processes["workers"] == workers
    assert cpu_processes["speed-up"] == analysis.texts(found)["pt_cpu_processes_best"]


@pytest.mark.parametrize(("code", "killed", "expected"), [
    (0, False, "0"), (3, False, "3"), (-11, False, "-11 (SIGSEGV)"),
    (None, True, "stopped at its time limit"), (None, False, "unknown"),
])
def test_exit_code_cell(code, killed, expected):
    assert analysis.exit_code_cell(code, killed) == expected


# --- each data-dependent sentence, every alternative ----------------------------------------

def with_failure(found, where, how, **changes):
    """The committed findings with one failure demonstration's facts changed."""
    failures = found.failures
    runs = dict(failures.runs)
    runs[(where, how)] = dataclasses.replace(runs[(where, how)], **changes)
    return dataclasses.replace(found, failures=dataclasses.replace(failures, runs=runs))


def test_failure_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["pt_thread_raise_sentence"] == (
        "When the faulty thread raised ValueError, only that thread ended: Python printed its "
        "traceback, the healthy threads finished their work, the main thread reached its end, "
        "and the program exited with code 0.")
    assert texts["pt_thread_exit_sentence"] == (
        "When it called os._exit(3) instead, the whole program ended at once with exit code "
        "3: no healthy thread finished its work, and the main thread never reached its end.")
    assert texts["pt_thread_segfault_sentence"] == (
        "When it read address 0, the operating system killed the whole program with SIGSEGV, "
        "which Python reports as exit code -11 (a shell shows 139), and again no other thread "
        "finished.")
    assert texts["pt_processes_failure_sentence"] == (
        "In a child process the same three failures ended that process only: each time the "
        "parent's healthy threads finished and the parent exited with code 0, and "
        "Process.exitcode told it how the child had ended: 1 after the exception, 3 after "
        "os._exit(3), and -11 (SIGSEGV) after the segfault.")
    assert texts["pt_exception_in_process_cell"] == (
        "ends that process, with exit code 1; its parent goes on")
    assert texts["pt_crash_in_process_cell"] == "ends that process only; its parent goes on"
    assert texts["pt_failure_workers"] == 2 and texts["pt_failure_work_s"] == "100 ms"


@pytest.mark.parametrize("changes", [
    {"finished": 1}, {"returncode": 1}, {"reached_end": False}, {"killed": True},
])
def test_thread_exception_that_reached_beyond_its_thread(found, changes):
    texts = analysis.texts(with_failure(found, "thread", "raise", **changes))
    assert texts["pt_thread_raise_sentence"] == (
        "When the faulty thread raised ValueError, more than that thread was affected in "
        "this build; the table shows how the program ended.")
    assert texts["pt_exception_in_thread_cell"] == (
        "did not stay within that thread in this build (see below)")


@pytest.mark.parametrize("changes", [
    {"returncode": 0}, {"finished": 1}, {"reached_end": True}, {"killed": True},
])
def test_thread_exit_that_did_not_end_the_program(found, changes):
    texts = analysis.texts(with_failure(found, "thread", "exit", **changes))
    assert texts["pt_thread_exit_sentence"] == (
        "When it called os._exit(3) instead, the program did not simply end with that code in "
        "this build; the table shows how it ended.")
    assert texts["pt_crash_in_thread_cell"] == (
        "did not end the whole process in this build (see below)")


@pytest.mark.parametrize("changes", [
    {"returncode": 0}, {"finished": 2}, {"returncode": None, "killed": True},
])
def test_thread_segfault_that_did_not_end_the_program(found, changes):
    texts = analysis.texts(with_failure(found, "thread", "segfault", **changes))
    assert texts["pt_thread_segfault_sentence"] == (
        "When it read address 0, the program was not killed by a signal before its other "
        "threads finished in this build; the table shows how it ended.")
    assert texts["pt_crash_in_thread_cell"] == (
        "did not end the whole process in this build (see below)")


def test_thread_segfault_by_another_signal_is_named(found):
    texts = analysis.texts(with_failure(found, "thread", "segfault",
                                        returncode=-signal.SIGBUS))
    assert texts["pt_thread_segfault_sentence"] == (
        "When it read address 0, the operating system killed the whole program with SIGBUS, "
        f"which Python reports as exit code {-signal.SIGBUS} (a shell shows "
        f"{128 + signal.SIGBUS}), and again no other thread finished.")


@pytest.mark.parametrize(("how", "changes"), [
    ("raise", {"culprit_exitcode": 0}), ("raise", {"returncode": 1}),
    ("exit", {"finished": 1}), ("segfault", {"culprit_exitcode": 0}),
    ("segfault", {"reached_end": False}),
])
def test_process_failure_that_reached_its_parent(found, how, changes):
    texts = analysis.texts(with_failure(found, "process", how, **changes))
    assert texts["pt_processes_failure_sentence"] == (
        "In a child process the same failures did not all stay within that process in this "
        "build; the table shows how each program ended.")
    if how == "raise":
        assert texts["pt_exception_in_process_cell"] == (
            "did not end as usual in this build (see below)")
        assert texts["pt_crash_in_process_cell"] == (
            "ends that process only; its parent goes on")
    else:
        assert texts["pt_crash_in_process_cell"] == (
            "reached beyond that process in this build (see below)")
        assert texts["pt_exception_in_process_cell"] == (
            "ends that process, with exit code 1; its parent goes on")


def kind_with(times, serial, threads=None, processes=None):
    """``times`` with one after another taking ``serial`` and the given pool times (the
    others unchanged)."""
    return dataclasses.replace(times, serial=serial,
                               threads={**times.threads, **(threads or {})},
                               processes={**times.processes, **(processes or {})})


@pytest.mark.parametrize(("gil_enabled", "best_thread_time", "expected"), [
    (True, 0.9, "On threads the best speed-up was 1.1×: no gain, because under the GIL each "
                "task needs the lock for every step of its loop, so the threads only took "
                "turns on one interpreter."),
    (True, 0.25, "On threads the best speed-up was 4.0×, a gain a build with the GIL rarely "
                 "shows; the spread table shows whether other load on the machine slowed the "
                 "serial run."),
    (False, 0.9, "On threads the best speed-up was only 1.1×, although this interpreter runs "
                 "without the GIL: its threads did not compute in parallel to any useful "
                 "degree in this run; the spread table shows how steady the timings were."),
    (False, 0.25, "On threads the best speed-up was 4.0×: this interpreter runs without the "
                  "GIL, and its threads computed in parallel."),
])
def test_cpu_threads_sentence(found, gil_enabled, best_thread_time, expected):
    setting = dataclasses.replace(found.setting, gil_enabled=gil_enabled)
    # One after another takes 1 s; the fastest thread pool takes best_thread_time.
    cpu = kind_with(found.cpu, 1.0, threads=dict.fromkeys(found.cpu.threads, 1.0)
                    | {1: best_thread_time})
    assert analysis.cpu_threads_sentence(setting, cpu) == expected


@pytest.mark.parametrize(("process_time", "thread_time", "expected"), [
    (0.5, 1.0, "Processes won: with 2 workers they reached 2.0×, and with 4 workers, where the "
               "extra processes only take turns on the same CPUs and add start-up cost, 2.0×."),
    (2.0, 1.0, "Processes gained little here: with 2 workers they reached 0.50×, and with 4 "
               "workers 0.50×; on tasks this short, starting the processes and sending them "
               "the work can cost as much as computing in parallel saves."),
    (0.9, 2.0, "Processes gained little here: with 2 workers they reached 1.1×, and with 4 "
               "workers 1.1×; on tasks this short, starting the processes and sending them "
               "the work can cost as much as computing in parallel saves."),
    (0.5, 0.4, "Processes sped the tasks up, but threads did as well here: with 2 workers the "
               "processes reached 2.0×, and with 4 workers 2.0×."),
])
def test_cpu_processes_sentence(found, process_time, thread_time, expected):
    setting = dataclasses.replace(found.setting, cpus=2)
    cpu = kind_with(found.cpu, 1.0, threads=dict.fromkeys(found.cpu.threads, thread_time),
                    processes=dict.fromkeys(found.cpu.processes, process_time))
    assert analysis.cpu_processes_sentence(setting, cpu, 4) == expected


@pytest.mark.parametrize(("thread_time", "expected"), [
    (0.25, "That is more than 2 usable CPUs could give to work that needs them: concurrency "
           "without parallelism, where the speed-up follows the number of threads rather "
           "than the number of CPUs."),
    (0.5, "That is no more than 2 usable CPUs could give, so this run does not show the "
          "waits overlapping beyond the CPU count; the spread table shows how steady the "
          "timings were."),
])
def test_io_threads_sentence(found, thread_time, expected):
    setting = dataclasses.replace(found.setting, cpus=2)
    io = kind_with(found.io, 1.0, threads={4: thread_time})
    assert analysis.io_threads_sentence(setting, io, 4) == expected


@pytest.mark.parametrize(("process_time", "expected"), [
    (0.5, "Processes overlap the waiting too, but each one must be started, and each task and "
          "result is pickled and sent through a pipe: with 4 processes the batch took 500 ms, "
          "a speed-up of only 2.0×. For many waiting tasks, more threads (or asyncio) are the "
          "cheap answer."),
    (0.25, "Processes did as well here: with 4 processes the batch took 250 ms, a speed-up of "
           "4.0×, although each process had to be started and every task pickled."),
])
def test_io_processes_sentence(found, process_time, expected):
    io = kind_with(found.io, 1.0, threads={4: 0.25}, processes={4: process_time})
    assert analysis.io_processes_sentence(io, 4) == expected


@pytest.mark.parametrize(("matches", "expected"), [
    (True, "Every run returned the same results as the serial run (the experiment compares "
           "them)."),
    (False, "Some runs did NOT return the serial run's results; the result file lists which "
            "(values, results_match_serial)."),
])
def test_results_sentence(found, matches, expected):
    batch = dataclasses.replace(found.batch, results_match=matches)
    texts = analysis.texts(dataclasses.replace(found, batch=batch))
    assert texts["pt_results_sentence"] == expected


def test_texts_of_the_committed_result_keep_the_keys_and_types_other_pages_quote(found):
    texts = analysis.texts(found)
    for key in QUOTED_BY_RULES:
        assert isinstance(texts[key], str) and texts[key].endswith("×"), key
    for key in ("pt_cpus", "pt_tasks", "pt_most_workers", "pt_cpu_processes_best_workers"):
        assert type(texts[key]) is int, key
    assert texts["pt_cpu_threads_sentence"] == analysis.cpu_threads_sentence(found.setting,
                                                                             found.cpu)


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def kinds_for_claims(found, io_pool_time, cpu_thread_time, cpu_process_time):
    """IO-bound and CPU-bound times where one after another takes 1 s and every pool the
    given time (the IO-bound processes as fast as the threads)."""
    def every(times, seconds):
        return dict.fromkeys(times, seconds)

    io = kind_with(found.io, 1.0, threads=every(found.io.threads, io_pool_time),
                   processes=every(found.io.processes, io_pool_time))
    cpu = kind_with(found.cpu, 1.0, threads=every(found.cpu.threads, cpu_thread_time),
                    processes=every(found.cpu.processes, cpu_process_time))
    return io, cpu


@pytest.mark.parametrize(("gil_enabled", "io_time", "cpu_thread_time", "verdict", "says"), [
    (True, 0.25, 1.0, Verdict.HOLDS, "up to 4.0× as fast"),
    (False, 0.25, 0.25, Verdict.PARTLY, "runs without the GIL, CPU-bound tasks too"),
    (True, 0.25, 0.25, Verdict.PARTLY, "although this interpreter has the GIL"),
    (True, 1.0, 1.0, Verdict.PARTLY, "waiting tasks gained little either"),
    (True, 1.0, 0.25, Verdict.FAILS, "the opposite of the claim on both counts"),
])
def test_concepts_claim_every_verdict(found, gil_enabled, io_time, cpu_thread_time, verdict,
                                      says):
    setting = dataclasses.replace(found.setting, gil_enabled=gil_enabled)
    io, cpu = kinds_for_claims(found, io_time, cpu_thread_time, 0.5)
    judged = analysis.concepts_claim(setting, io, cpu)
    assert judged.verdict is verdict and says in judged.reason
    assert judged.reason.endswith(analysis.DEFINITIONS_UNMEASURED)


@pytest.mark.parametrize(("gil_enabled", "io_time", "cpu_thread_time", "cpu_process_time",
                          "verdict", "says"), [
    (True, 0.25, 1.0, 0.5, Verdict.HOLDS, "taking turns under the GIL"),
    (False, 0.25, 0.25, 0.5, Verdict.PARTLY, "Python did not need processes"),
    (False, 0.25, 1.0, 0.5, Verdict.PARTLY, "yet on CPU-bound tasks its threads reached only"),
    (True, 0.25, 0.25, 0.5, Verdict.PARTLY, "the GIL did not hold the threads back"),
    (True, 0.25, 1.0, 1.0, Verdict.PARTLY, "processes gained little too"),
    (True, 1.0, 1.0, 0.5, Verdict.PARTLY, "did not show waits overlapping"),
    (True, 1.0, 0.25, 0.5, Verdict.FAILS, "did not show waits overlapping"),
])
def test_threads_processes_claim_every_verdict(found, gil_enabled, io_time, cpu_thread_time,
                                               cpu_process_time, verdict, says):
    setting = dataclasses.replace(found.setting, cpus=2, gil_enabled=gil_enabled)
    io, cpu = kinds_for_claims(found, io_time, cpu_thread_time, cpu_process_time)
    judged = analysis.threads_processes_claim(setting, io, cpu, 4)
    assert judged.verdict is verdict and says in judged.reason


@pytest.mark.parametrize(("process_time", "says"), [
    (0.5, "tasks of about 20.0 ms each 2.0× as fast as one after another with 2 workers, one "
          "per usable CPU, and 2.0× with 4. The chapter records one task length"),
    (0.9, "tasks of about 20.0 ms each only 1.1× as fast as one after another with 2 workers, "
          "one per usable CPU, and 1.1× with 4: starting the processes"),
])
def test_design_matters_claim_every_verdict(found, process_time, says):
    setting = dataclasses.replace(found.setting, cpus=2)
    batch = dataclasses.replace(found.batch, task_s=0.02, worker_counts=(1, 2, 3, 4))
    _io, cpu = kinds_for_claims(found, 0.25, 1.0, process_time)
    judged = analysis.design_matters_claim(setting, batch, cpu)
    assert judged.verdict is Verdict.PARTLY and says in judged.reason
    assert judged.reason.endswith("is not measured here.")


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a001_concepts", "a003_threads_processes", "a003_design_matters"}
    assert judged["a003_design_matters"] == analysis.design_matters_claim(
        found.setting, found.batch, found.cpu)
    assert judged["a001_concepts"] == analysis.concepts_claim(found.setting, found.io,
                                                              found.cpu)


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def run_of(found, version, gil=True, thread_time=1.0, process_time=1.0):
    """An interpreter's run whose findings are the committed ones, with its GIL and the
    CPU-bound tasks taking 1 s one after another, ``thread_time`` on every thread pool and
    ``process_time`` on every process pool."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    cpu = kind_with(found.cpu, 1.0, threads=dict.fromkeys(found.cpu.threads, thread_time),
                    processes=dict.fromkeys(found.cpu.processes, process_time))
    changed = dataclasses.replace(
        found, cpu=cpu, setting=dataclasses.replace(found.setting, gil_enabled=gil))
    result = Result(experiment="processes-and-threads", quick=True, machine={
        "python_implementation": "CPython", "python_version": version,
        "free_threaded_build": not gil, "gil_enabled": gil})
    return InterpreterRun(None, result=result, found=changed)


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    assert rows["GIL while the experiment ran"] == "on"
    assert rows["start method of the process pools"] == found.setting.start_method
    workers, speedup = found.cpu.best("threads")
    assert rows["CPU-bound tasks, best speed-up on threads"] == (
        f"{analysis.format_ratio(speedup)} ({workers} worker{'s' if workers > 1 else ''})")
    assert analysis.best_cell(kind_with(found.cpu, 1.0, threads={1: 0.5, 2: 2.0, 3: 2.0,
                                                                 4: 2.0}), "threads") == (
        "2.0× (1 worker)")


def test_cpu_threads_across_interpreters_every_case(found):
    gil_only = [run_of(found, "3.12.1"), run_of(found, "3.13.0", thread_time=0.5)]
    assert analysis.cpu_threads_across_interpreters(gil_only) == (
        "On the CPU-bound tasks, the best speed-up on threads was 1.0× on CPython 3.12.1 and "
        "2.0× on CPython 3.13.0. With the GIL on (CPython 3.12.1 and CPython 3.13.0), "
        "threads only took turns at running Python; that they still came out ahead on "
        "CPython 3.13.0 is noise under the GIL (other load slowing the serial run, say), not "
        "parallel Python. No interpreter here ran with the GIL off, so threads computing in "
        "parallel are not measured in this build.")
    free = run_of(found, "3.14.0", gil=False, thread_time=0.5, process_time=0.8)
    text = analysis.cpu_threads_across_interpreters([gil_only[0], free])
    noisy = [run_of(found, "3.12.1", thread_time=0.5), run_of(found, "3.13.0", thread_time=0.5)]
    assert "came out ahead on each of them is noise" in (
        analysis.cpu_threads_across_interpreters(noisy))
    assert "came out ahead there is noise" in (
        analysis.cpu_threads_across_interpreters(noisy[:1]))
    assert text.endswith(
        "With the GIL on (CPython 3.12.1), threads only took turns at running Python. With "
        "the GIL off, threads computed in parallel (2.0× against processes' 1.2× on CPython "
        "3.14.0t): on a free-threaded build, CPU-bound Python needs no processes.")
    flat = run_of(found, "3.14.0", gil=False)
    assert analysis.cpu_threads_across_interpreters([flat]) == (
        "On the CPU-bound tasks, the best speed-up on threads was 1.0× on CPython 3.14.0t. "
        "Threads still gained nothing worth having in this run where the GIL was "
        "off (CPython 3.14.0t), although there they may compute in parallel.")


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "cpu", "backend": "serial", "workers": 1},
     "the CPU-bound (pure Python) tasks one after another"),
    ({"kind": "io", "backend": "threads", "workers": 1},
     "the IO-bound (waits for a server) tasks on a ThreadPoolExecutor of 1 worker"),
    ({"kind": "cpu", "backend": "processes", "workers": 4},
     "the CPU-bound (pure Python) tasks on a ProcessPoolExecutor of 4 workers"),
])
def test_describe_case_names_each_way(params, expected):
    assert analysis.describe_case("tasks", params) == expected
    assert analysis.describe_case("other", {}) == "other"
