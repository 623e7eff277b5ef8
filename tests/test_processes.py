"""The processes chapter: its quick run (every case, every demo's outcome under every start
method), the demos themselves run here under every method, and each of its data-dependent
sentences, on the committed result ``tests/results/processes.json``.

Checks read facts the demos recorded (exit codes, PIDs, counts of lines in complete
output), never the shortened text the page displays.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import signal
import sys

import pytest

from parbook.bench.results import load
from parbook.chapters.processes import analysis, views
from parbook.chapters.processes import experiment as experiment
from parbook.chapters.processes import workload as work
from parbook.shared.child import run_command, run_module
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "processes.json"
METHODS = multiprocessing.get_all_start_methods()
REIMPORTING = [method for method in METHODS if method in ("spawn", "forkserver")]
# After the last test: no child process of this one, no new /dev/shm entry.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def processes_quick(quick_results):
    return quick_results["processes"]


@pytest.fixture(scope="module")
def quick_found(processes_quick):
    """Findings of this session's quick run: the demos' outcomes on this machine."""
    return analysis.findings(processes_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run: every case, and what every demo did under every method -------------------

def test_every_case_is_present_with_positive_finite_samples(processes_quick):
    exits = {(c.params["ending"], c.params["method"]) for c in processes_quick.group("exit")}
    assert exits == {(ending, method) for ending in work.ENDINGS for method in METHODS}
    assert {c.params["kind"] for c in processes_quick.group("daemon_exit")} == set(
        experiment.DAEMON_LABELS)
    guards = {(c.params["script"], c.params["method"]) for c in processes_quick.group("guard")}
    assert guards == {(script, method) for script in experiment.SCRIPTS for method in METHODS}
    for case in processes_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)
    for case in processes_quick.group("exit"):
        assert len(case.samples) == experiment.QUICK.exit_repeats


def test_exit_codes_and_tracebacks_under_every_method(quick_found):
    endings = quick_found.endings
    assert endings.as_expected, endings.codes
    assert endings.seen("terminate") == [-signal.SIGTERM]
    assert endings.seen("kill") == [-signal.SIGKILL]
    # One traceback per child that raised, every round, on the child interpreter's stderr.
    assert endings.tracebacks == {method: endings.rounds for method in METHODS}
    assert endings.first_traceback.startswith("Process ends-by-exception:")
    assert endings.first_traceback.endswith("ValueError: the child gave up")


def test_daemon_child_is_abandoned_non_daemon_awaited_and_orphan_survives(quick_found):
    daemon, runs = quick_found.daemon, quick_found.daemon.runs
    assert daemon.finished == {"daemon": 0, "non-daemon": 1, "parent-killed": 1}
    for kind in ("daemon", "non-daemon"):
        assert runs[kind]["returncode"] == 0 and not runs[kind]["killed"]
        assert runs[kind]["errors"] == ""
        assert "reached the end of the program" in runs[kind]["output"]
    assert runs["parent-killed"]["returncode"] == -signal.SIGKILL
    # Not a speed claim: the program waited for the sleep, or the orphan outlived it.
    assert daemon.non_daemon_s >= daemon.nap_s
    assert daemon.parent_killed_s >= daemon.nap_s
    assert quick_found.demos.daemon_children == (
        "AssertionError: daemonic processes are not allowed to have children")


def test_unguarded_script_fails_only_where_main_is_reimported(quick_found):
    guard = quick_found.guard
    assert guard.failed == REIMPORTING
    for method in METHODS:
        unguarded, guarded = guard.runs[("unguarded", method)], guard.runs[("guarded", method)]
        assert not unguarded.killed and not guarded.killed
        assert guarded.child_exitcode == 0
        assert guarded.returncode == 0 and "hello" in guarded.output
        expected_runs = 2 if method in REIMPORTING else 1
        assert guarded.top_level_runs == expected_runs
        if method in REIMPORTING:
            assert unguarded.child_exitcode == 1
            assert "__mp_main__" in guarded.output
        else:
            assert unguarded.child_exitcode == 0
            assert unguarded.error is None and not unguarded.bootstrap_failed


def test_children_name_their_parent(quick_found):
    for method in METHODS:
        family = quick_found.families[method]
        assert family.parent_name == "MainProcess"
        assert family.parent_process == "None"
        assert family.named.name == "worker-1" and family.unnamed.name != "worker-1"
        assert family.named.parent_name == "MainProcess"
    assert all(family.parent_process_is_parent for family in quick_found.families.values())


def test_tables_cover_every_method(processes_quick, quick_found):
    exits = views.exit_table(processes_quick, quick_found).frame
    assert len(exits) == len(work.ENDINGS)
    assert {f"join wait, {method}" for method in METHODS} <= set(exits.columns)
    assert len(views.guard_table(processes_quick, quick_found).frame) == 2 * len(METHODS)
    assert len(views.names_table(processes_quick, quick_found).frame) == len(METHODS)


# --- the demos, run here under every start method --------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_in_process_demos_under(method):
    context = multiprocessing.get_context(method)
    lines = work.start_with_a_function(context, [2, 3])
    assert sorted(lines)[0].startswith("square-2 (pid ") and "is 4" in sorted(lines)[0]
    child_sees, parent_sees = work.memory_is_not_shared(context)
    assert "'from the child'" in child_sees and "CALLS = 1" in child_sees
    assert "'from the child'" not in parent_sees and "CALLS = 0" in parent_sees
    first, second = work.join_with_timeout(context, work_s=0.2, patience_s=0.02)
    assert first.endswith("is_alive() = True, exitcode = None")
    assert second.endswith("is_alive() = False, exitcode = 0")
    assert work.finish_three(context, patience_s=0.5) == (
        "ChildProcessError: processes that did not exit cleanly: "
        f"{{'fails': 3, 'overstays': {-signal.SIGKILL}}}")
    assert work.daemon_with_a_child(context).startswith("AssertionError: daemonic processes")
    # The exception ending prints a traceback: it runs in a child interpreter below.
    for ending in (e for e in work.ENDINGS if e != "exception"):
        code, waited = work.end_child(context, ending)
        assert code == experiment.EXPECTED_EXIT_CODES[ending] and waited > 0


@pytest.mark.parametrize("method", METHODS)
def test_subclass_and_daemon_programs_under(method):
    child = run_module(experiment.MODULE, "subclass", method, time_limit_s=60)
    assert child.returncode == 0 and not child.killed, child.errors
    assert "sums-first (pid " in child.output and "SumOfSquares-" in child.output
    assert child.output.rstrip().endswith("exit codes: [0, 0, 0]")
    finished = {}
    for kind in experiment.DAEMON_LABELS:
        child = run_module(experiment.MODULE, "daemon-exit", method, kind, "0.3",
                           time_limit_s=60)
        assert not child.killed and child.errors == "", child.errors
        finished[kind] = child.output.count(analysis.FINISHED_LINE)
    assert finished == {"daemon": 0, "non-daemon": 1, "parent-killed": 1}


@pytest.mark.parametrize("method", METHODS)
def test_guard_scripts_under(method):
    unguarded = run_command([sys.executable, "-u", str(work.UNGUARDED_SCRIPT), method],
                            time_limit_s=60)
    guarded = run_command([sys.executable, "-u", str(work.GUARDED_SCRIPT), method],
                          time_limit_s=60)
    assert not unguarded.killed and not guarded.killed
    assert guarded.returncode == 0 and analysis.reported_exitcode(guarded.output) == 0
    if method in REIMPORTING:
        # Wherever the error falls in the child's stderr, and however it is wrapped.
        assert analysis.met_bootstrap_error(unguarded.errors), unguarded.errors
        assert analysis.reported_exitcode(unguarded.output) == 1
    else:
        assert unguarded.errors == "" and analysis.reported_exitcode(unguarded.output) == 0


def test_exception_ending_prints_a_traceback_in_a_child_interpreter():
    method = METHODS[0]
    child = run_module(experiment.MODULE, "exit-codes", method, "1", "0", time_limit_s=60)
    assert child.returncode == 0 and not child.killed
    assert child.errors.count("Traceback (most recent call last)") == 1
    assert "ValueError: the child gave up" in child.errors


# --- reading what a child printed --------------------------------------------------------------

BOOTSTRAP_STDERR = """Traceback (most recent call last):
  File "unguarded.py", line 24, in <module>
    child.start()
RuntimeError:
        An attempt has been made to start a new process before the
        current process has finished its bootstrapping phase.

        This probably means that you are not using fork to start your
        child processes and you have forgotten to use the proper idiom
"""


def test_error_summary_names_the_last_error_on_one_line():
    assert analysis.error_summary(BOOTSTRAP_STDERR) == (
        f"RuntimeError: {analysis.BOOTSTRAP_ERROR}")
    assert analysis.error_summary("ValueError: the child gave up\n") == (
        "ValueError: the child gave up")
    assert analysis.error_summary("KeyboardInterrupt\n") is None
    assert analysis.error_summary("") is None


def test_bootstrap_error_is_found_wherever_it_falls():
    assert analysis.met_bootstrap_error(BOOTSTRAP_STDERR)
    assert analysis.met_bootstrap_error(BOOTSTRAP_STDERR + "Exception ignored in: <x>\n")
    assert analysis.met_bootstrap_error("warning first\n" + BOOTSTRAP_STDERR)
    assert not analysis.met_bootstrap_error("ValueError: the child gave up\n")


def test_first_traceback_runs_from_the_process_line_to_its_error():
    stderr = ('noise\nProcess ends-by-exception:\nTraceback (most recent call last):\n'
              '  File "/deep/path/workload.py", line 1, in end_as\n'
              'ValueError: the child gave up\nProcess ends-by-exception:\nmore\n')
    assert analysis.first_traceback(stderr) == (
        'Process ends-by-exception:\nTraceback (most recent call last):\n'
        '  File "workload.py", line 1, in end_as\nValueError: the child gave up')
    assert analysis.first_traceback("no child failed\n") == ""


@pytest.mark.parametrize(("codes", "expected"), [
    ([0], "0"), ([3], "3"), ([-signal.SIGTERM], f"{-signal.SIGTERM} (-SIGTERM)"),
    ([-signal.SIGKILL, 1], f"{-signal.SIGKILL} (-SIGKILL) / 1"), ([-1000], "-1000"),
])
def test_exit_code_text(codes, expected):
    assert analysis.exit_code_text(codes) == expected


# --- each data-dependent sentence, every alternative -------------------------------------------

def _return_joins(endings, **seconds):
    """The committed join waits, with the "return" ending's wait per method replaced."""
    join = dict(endings.join)
    join.update({("return", method): value for method, value in seconds.items()})
    return dataclasses.replace(endings, methods=tuple(seconds), join=join)


@pytest.mark.parametrize(("seconds", "start"), [
    ({"fork": 0.001, "spawn": 0.01, "forkserver": 0.001}, "A child started by spawn"),
    ({"fork": 0.001, "spawn": 0.0015, "forkserver": 0.001}, "The methods differed less"),
    ({"fork": 0.01, "spawn": 0.005, "forkserver": 0.001}, "The methods differed less"),
])
def test_return_verdict(found, seconds, start):
    endings = _return_joins(found.endings, **seconds)
    assert analysis.return_verdict(endings).startswith(start)


@pytest.mark.parametrize(("exception_s", "expected"), [
    (1.0, "the longest wait of the three endings the child chose itself, under every start "
          "method"),
    (0.0, "not always the longest wait of the endings the child chose itself in this run"),
])
def test_exception_verdict(found, exception_s, expected):
    join = dict(found.endings.join)
    join.update({("exception", method): exception_s for method in found.endings.methods})
    endings = dataclasses.replace(found.endings, join=join)
    assert analysis.exception_verdict(endings) == expected


@pytest.mark.parametrize(("methods", "start"), [
    (("fork", "spawn"), "Under fork the same script ran without complaint"),
    (("spawn",), "This platform offers no fork start method"),
])
def test_guard_fork_verdict(found, methods, start):
    guard = dataclasses.replace(found.guard, methods=methods)
    assert analysis.guard_fork_verdict(guard).startswith(start)


def test_ppid_verdict(found):
    families = found.families
    fork = families["fork"]
    by_server = dataclasses.replace(fork, named=dataclasses.replace(fork.named, getppid=1))
    assert analysis.ppid_verdict({"fork": fork, "forkserver": by_server}).startswith(
        "Under forkserver, os.getppid() in the child was not the PID")
    assert analysis.ppid_verdict({"fork": fork}).startswith(
        "Under every method here, os.getppid() in the child was the PID")


def test_texts_without_a_failing_method_say_not_applicable(found):
    runs = {key: dataclasses.replace(run, errors="") for key, run in found.guard.runs.items()}
    texts = analysis.texts(dataclasses.replace(
        found, guard=dataclasses.replace(found.guard, runs=runs)))
    assert texts["processes_guard_failed"] == "none"
    assert texts["processes_guard_child_exitcode"] == "n/a"
    assert texts["processes_guarded_top_level_runs"] == "n/a"


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["processes_methods"] == "fork, spawn and forkserver"
    assert texts["processes_guard_failed"] == "spawn and forkserver"
    assert texts["processes_guard_child_exitcode"] == "1"
    assert texts["processes_guarded_top_level_runs"] == "2×"
    assert texts["processes_exit_terminate_code"] == f"{-signal.SIGTERM} (-SIGTERM)"
    assert texts["processes_exit_rounds"] == str(found.endings.rounds)
    assert texts["processes_return_verdict"] == analysis.return_verdict(found.endings)
    assert texts["processes_ppid_verdict"].startswith("Under forkserver")
    # What the page shows as console output: the demos' lines, whole.
    printed = analysis.outputs(found)
    assert printed["processes-function"].splitlines() == list(found.demos.function)
    assert printed["processes-guard"].startswith(
        "--- without the guard, fork: the script exited with code 0\n")
    assert "(on stderr, from the child) RuntimeError: An attempt" in printed["processes-guard"]
    assert printed["processes-orphan"].startswith(
        "--- daemon=True, then the program killed itself (SIGKILL): the program ended with "
        f"code {-signal.SIGKILL}")
