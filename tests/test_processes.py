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
import re
import signal
import sys

import pytest

from parbook.bench.results import load
from parbook.chapters.processes import analysis, views
from parbook.chapters.processes import experiment as experiment
from parbook.chapters.processes import workload as work
from parbook.claims import Verdict
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


def server_preloads(python: str) -> bool:
    """Whether CPython ``python``'s fork server imports a main script run by path once for
    its children (gh-126631: from 3.13.8 and 3.14.1 on)."""
    major, minor, micro = (int(re.match(r"\d*", part).group() or 0)
                           for part in (python.split(".") + ["0"])[:3])
    fixed_in = {(3, 13): 8, (3, 14): 1}.get((major, minor))
    return (major, minor) >= (3, 15) or (fixed_in is not None and micro >= fixed_in)


def test_unguarded_script_fails_only_where_main_is_reimported(quick_found):
    guard = quick_found.guard
    preloaded = server_preloads(quick_found.setup.python)
    children_fail = [m for m in REIMPORTING if not (m == "forkserver" and preloaded)]
    assert guard.failed == children_fail
    assert guard.script_failed == (["forkserver"] if preloaded and "forkserver" in METHODS
                                   else [])
    for method in METHODS:
        unguarded, guarded = guard.runs[("unguarded", method)], guard.runs[("guarded", method)]
        assert not unguarded.killed and not guarded.killed
        assert guarded.child_exitcode == 0
        assert guarded.returncode == 0 and "hello" in guarded.output
        expected_runs = 2 if method in REIMPORTING else 1
        assert guarded.top_level_runs == expected_runs
        if method in children_fail:
            assert unguarded.child_exitcode == 1 and unguarded.returncode == 0
            assert "__mp_main__" in guarded.output
        elif method in REIMPORTING:  # the fork server imported the script and died there
            assert unguarded.child_exitcode is None and unguarded.returncode != 0
            assert unguarded.bootstrap_failed
        else:
            assert unguarded.child_exitcode == 0
            assert unguarded.error is None and not unguarded.bootstrap_failed


@pytest.mark.skipif("forkserver" not in METHODS, reason="no forkserver on this platform")
def test_forkserver_import_is_recorded_as_the_python_version_says(processes_quick,
                                                                  quick_found):
    main = quick_found.forkserver_main
    fact = processes_quick.values["forkserver_main"]
    assert fact["child_pid"] is not None and len(fact["import_pids"]) == 1
    preloaded = server_preloads(quick_found.setup.python)
    assert (main.server_imported, main.child_imported) == (preloaded, not preloaded)


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
    if method == "forkserver" and server_preloads(sys.version.split()[0]):
        # The fork server imports the script, meets the error and dies; no child exists.
        assert analysis.met_bootstrap_error(unguarded.errors), unguarded.errors
        assert analysis.reported_exitcode(unguarded.output) is None
        assert unguarded.returncode != 0
    elif method in REIMPORTING:
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


#: What the two guard scripts printed under forkserver with a fork server that preloads
#: __main__: CPython 3.13.0 with the gh-126631 and gh-143706 fixes applied to its
#: multiprocessing package by hand, as 3.13.12 and 3.14.3 ship them (tracebacks cut to
#: their first and last lines). The server (pid 27832) imported the unguarded script and
#: died at child.start(); the script's own start() then read EOF from it.
PRELOAD_UNGUARDED = analysis.ScriptRun(
    output=("top level of the script runs as __main__ (pid 27816)\n"
            "top level of the script runs as __mp_main__ (pid 27832)\n"),
    errors=("Traceback (most recent call last):\n"
            '  File "<string>", line 1, in <module>\n'
            '  File "/work/main/code/parbook/chapters/processes/scripts/unguarded.py", '
            "line 24, in <module>\n    child.start()\n"
            "RuntimeError: \n        An attempt has been made to start a new process "
            "before the\n        current process has finished its bootstrapping phase.\n"
            "\n        This probably means that you are not using fork to start your\n"
            "Traceback (most recent call last):\n"
            '  File "/work/main/code/parbook/chapters/processes/scripts/unguarded.py", '
            "line 24, in <module>\n    child.start()\n"
            "EOFError: unexpected EOF\n"),
    returncode=1, killed=False, wall_s=0.5)
#: The same on 3.13.8 to 3.13.11 and 3.14.1 to 3.14.2, whose server imports the script
#: with an empty sys.argv (simulated the same way, without the gh-143706 fix).
PRELOAD_NO_ARGV_ERRORS = (
    "Traceback (most recent call last):\n"
    '  File "/work/main/code/parbook/chapters/processes/scripts/unguarded.py", line 22, in '
    "<module>\n    context = multiprocessing.get_context(sys.argv[1])\n"
    "IndexError: list index out of range\n"
    "Traceback (most recent call last):\n"
    '  File "/tmp/fs_noargv/multiprocessing/forkserver.py", line 336, in read_signed\n'
    "EOFError: unexpected EOF\n")
PRELOAD_GUARDED_OUTPUT = (
    "top level of the script runs as __main__ (pid 27848)\n"
    "top level of the script runs as __mp_main__ (pid 27850)\n"
    "child (pid 27851): hello; this script is loaded as __mp_main__\n"
    "__main__: the child ended with exitcode 0\n")
REIMPORT_GUARDED_OUTPUT = (
    "top level of the script runs as __main__ (pid 16511)\n"
    "top level of the script runs as __mp_main__ (pid 16529)\n"
    "child (pid 16529): hello; this script is loaded as __mp_main__\n"
    "__main__: the child ended with exitcode 0\n")


def test_a_preloading_fork_server_fails_the_script_itself():
    run = PRELOAD_UNGUARDED
    assert run.outcome == "script failed" and run.child_exitcode is None
    assert run.bootstrap_failed
    assert run.errors_seen == [f"RuntimeError: {analysis.BOOTSTRAP_ERROR}",
                               "EOFError: unexpected EOF"]
    assert analysis.errors_seen(PRELOAD_NO_ARGV_ERRORS) == [
        "IndexError: list index out of range", "EOFError: unexpected EOF"]


@pytest.mark.parametrize(("output", "expected"), [
    (PRELOAD_GUARDED_OUTPUT, {"child_pid": 27851, "import_pids": [27850],
                              "child_imported": False, "server_imported": True}),
    (REIMPORT_GUARDED_OUTPUT, {"child_pid": 16529, "import_pids": [16529],
                               "child_imported": True, "server_imported": False}),
])
def test_forkserver_main_fact_reads_the_pids(output, expected):
    assert experiment.forkserver_main_fact(output) == expected


@pytest.mark.parametrize(("python", "preloads"), [
    ("3.11.7", False), ("3.12.12", False), ("3.13.7", False), ("3.13.8", True),
    ("3.14.0", False), ("3.14.0rc3", False), ("3.14.1", True), ("3.15.0a1", True),
])
def test_server_preloads(python, preloads):
    assert server_preloads(python) is preloads


def test_error_summary_names_the_last_error_on_one_line():
    assert analysis.error_summary(BOOTSTRAP_STDERR) == (
        f"RuntimeError: {analysis.BOOTSTRAP_ERROR}")
    assert analysis.error_summary("ValueError: the child gave up\n") == (
        "ValueError: the child gave up")
    assert analysis.error_summary("KeyboardInterrupt\n") is None
    assert analysis.error_summary("") is None


def test_errors_seen_lists_each_traceback_s_error_in_order():
    stderr = (BOOTSTRAP_STDERR + "Traceback (most recent call last):\n  File \"x.py\"\n"
              "multiprocessing.context.AuthenticationError: digest received was wrong\n"
              "Traceback (most recent call last):\n  File \"y.py\"\n"
              "ConnectionRefusedError: [Errno 111] Connection refused\n")
    seen = analysis.errors_seen(stderr)
    assert seen == [f"RuntimeError: {analysis.BOOTSTRAP_ERROR}",
                    "multiprocessing.context.AuthenticationError: digest received was wrong",
                    "ConnectionRefusedError: [Errno 111] Connection refused"]
    assert [analysis.error_name(error) for error in seen] == [
        "RuntimeError", "AuthenticationError", "ConnectionRefusedError"]
    assert analysis.errors_seen("") == []


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
    (1.0, "It was the longest wait of the three endings the child chose itself, under every "
          "start method: the child formats and prints the traceback before it exits."),
    (0.0, "It was not always the longest wait of the three endings the child chose itself "
          "in this run, although the child formats and prints a traceback before it exits."),
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


def _guard_with_forkserver(guard, run):
    """The committed guard runs, with the unguarded script's forkserver run replaced."""
    return dataclasses.replace(guard, runs={**guard.runs, ("unguarded", "forkserver"): run})


SCRIPT_FAILED_ALONE = dataclasses.replace(PRELOAD_UNGUARDED, errors="")
STOPPED = dataclasses.replace(PRELOAD_UNGUARDED, killed=True)


@pytest.mark.parametrize(("run", "expected"), [
    (None, "Under forkserver it was the child that failed, as under spawn: each forkserver "
           "child imported the script itself."),
    (PRELOAD_UNGUARDED,
     "Under forkserver the script itself failed, with exit code 1: the fork server imported "
     "the script to preload it and died of a RuntimeError at its top level before forking "
     "any child, and the script's own start() then failed with an EOFError."),
    (dataclasses.replace(PRELOAD_UNGUARDED, errors=PRELOAD_NO_ARGV_ERRORS),
     "Under forkserver the script itself failed, with exit code 1: the fork server imported "
     "the script to preload it and died of an IndexError at its top level before forking "
     "any child, and the script's own start() then failed with an EOFError."),
    (SCRIPT_FAILED_ALONE, "Under forkserver the script itself failed, with exit code 1, "
                          "before any child could report an exitcode."),
    (STOPPED, "Under forkserver the script did not finish within its time limit and was "
              "stopped."),
    ("ran", "Under forkserver the script ran to its end here, child and all."),
])
def test_guard_server_verdict(found, run, expected):
    if run == "ran":
        run = found.guard.runs[("unguarded", "fork")]
    guard = found.guard if run is None else _guard_with_forkserver(found.guard, run)
    assert analysis.guard_server_verdict(guard) == expected


def test_guard_server_verdict_without_forkserver(found):
    guard = dataclasses.replace(found.guard, methods=("fork", "spawn"))
    assert analysis.guard_server_verdict(guard) == (
        "This platform offers no forkserver start method to try it with.")


@pytest.mark.parametrize(("main", "expected"), [
    (analysis.ForkserverImport(child_imported=True, server_imported=False),
     "In this build, on Python 3.11.7, the forkserver child imported the script itself: the "
     "line that says __mp_main__ carries the child's PID."),
    (analysis.ForkserverImport(child_imported=False, server_imported=True),
     "In this build, on Python 3.11.7, the fork server imported the script once, before "
     "forking the child: the line that says __mp_main__ carries a PID that is neither the "
     "script's nor the child's."),
    (analysis.ForkserverImport(child_imported=True, server_imported=True),
     "In this build, on Python 3.11.7, the fork server imported the script and the "
     "forkserver child imported it again."),
    (analysis.ForkserverImport(child_imported=False, server_imported=False),
     "In this build, on Python 3.11.7, the forkserver run showed no second import of the "
     "script."),
    (None, "This platform offers no forkserver start method to show it."),
])
def test_forkserver_import_sentence(found, main, expected):
    setup = dataclasses.replace(found.setup, python="3.11.7")
    assert analysis.forkserver_import_sentence(setup, main) == expected


@pytest.mark.parametrize(("method", "run", "expected"), [
    ("fork", None, "ran without complaint; exit code 0"),
    ("spawn", None, "the child died of a RuntimeError (exitcode 1); the script went on and "
                    "exited with code 0"),
    ("forkserver", PRELOAD_UNGUARDED, "the fork server died of a RuntimeError importing the "
                                      "script; the script failed with exit code 1"),
    ("forkserver", SCRIPT_FAILED_ALONE, "the script failed with exit code 1"),
    ("forkserver", STOPPED, "stopped at its time limit"),
])
def test_guard_outcome_cell(found, method, run, expected):
    guard = found.guard if run is None else _guard_with_forkserver(found.guard, run)
    assert analysis.guard_outcome_cell(guard, method) == expected


@pytest.mark.parametrize(("kind", "finished", "expected"), [
    ("daemon", 0, "exited after 100 ms; the child was stopped mid-sleep"),
    ("daemon", 1, "exited after 100 ms; the child finished its sleep anyway"),
    ("non-daemon", 1, "exited after 500 ms, once the child had finished its sleep"),
    ("non-daemon", 0, "exited after 500 ms; the child never said it finished"),
])
def test_daemon_cell(found, kind, finished, expected):
    runs = {name: dict(run) for name, run in found.daemon.runs.items()}
    runs[kind]["output"] = analysis.FINISHED_LINE * finished
    daemon = dataclasses.replace(found.daemon, daemon_s=0.1, non_daemon_s=0.5, runs=runs)
    assert analysis.daemon_cell(daemon, kind) == expected


@pytest.mark.parametrize("name", ["EOFError", "IndexError", "OSError", "RuntimeError",
                                  "ValueError"])
def test_an(name):
    assert analysis.an(name) == ("an " if name[0] in "EIO" else "a ") + name


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
    assert texts["processes_guard_script_returncode"] == "n/a"
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
    assert "(on stderr) RuntimeError: An attempt" in printed["processes-guard"]
    # Recorded on CPython 3.11.7: the forkserver child imported the script itself.
    assert texts["processes_forkserver_import"].startswith(
        "In this build, on Python 3.11.7, the forkserver child imported the script itself")
    assert texts["processes_guard_server_verdict"].startswith(
        "Under forkserver it was the child that failed")
    assert texts["processes_guard_script_returncode"] == "0"
    assert printed["processes-orphan"].startswith(
        "--- daemon=True, then the program killed itself (SIGKILL): the program ended with "
        f"code {-signal.SIGKILL}")


def test_texts_and_tables_read_right_on_a_python_whose_fork_server_preloads(found):
    """The whole chapter on a build whose fork server imports the script itself (3.13.8+,
    3.14.1+): the forkserver runs replaced by the simulated ones above."""
    guarded = dataclasses.replace(found.guard.runs[("guarded", "forkserver")],
                                  output=PRELOAD_GUARDED_OUTPUT)
    runs = {**found.guard.runs, ("unguarded", "forkserver"): PRELOAD_UNGUARDED,
            ("guarded", "forkserver"): guarded}
    fact = experiment.forkserver_main_fact(PRELOAD_GUARDED_OUTPUT)
    preloading = dataclasses.replace(
        found, setup=dataclasses.replace(found.setup, python="3.14.3"),
        guard=dataclasses.replace(found.guard, runs=runs),
        forkserver_main=analysis.ForkserverImport(child_imported=fact["child_imported"],
                                                  server_imported=fact["server_imported"]))
    texts = analysis.texts(preloading)
    assert texts["processes_guard_failed"] == "spawn"
    assert texts["processes_guard_child_exitcode"] == "1"
    assert texts["processes_guard_script_returncode"] == "0"
    assert texts["processes_guarded_top_level_runs"] == "2×"
    assert texts["processes_guard_server_verdict"].startswith(
        "Under forkserver the script itself failed, with exit code 1: the fork server")
    assert texts["processes_forkserver_import"].startswith(
        "In this build, on Python 3.14.3, the fork server imported the script once")
    summary = views.summary_table(None, preloading).frame["what this build saw"]
    assert summary["a script without the main guard, under forkserver"] == (
        "the fork server died of a RuntimeError importing the script; the script failed "
        "with exit code 1")
    printed = analysis.outputs(preloading)["processes-guard"]
    assert ("--- without the guard, forkserver: the script exited with code 1\n"
            "top level of the script runs as __main__ (pid 27816)\n"
            "top level of the script runs as __mp_main__ (pid 27832)\n"
            f"(on stderr) RuntimeError: {analysis.BOOTSTRAP_ERROR}\n"
            "(on stderr) EOFError: unexpected EOF\n") in printed + "\n"


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def test_process_api_claim_every_verdict(found):
    demos, daemon, method = found.demos, found.daemon, found.setup.start_method
    judged = analysis.process_api_claim(demos, daemon, method)
    assert judged.verdict is Verdict.HOLDS and "AssertionError" in judged.reason
    daemon_finished = {**daemon.runs, "daemon": {**daemon.runs["daemon"],
                                                 "output": "napper: finished at 0.40 s"}}
    lived = dataclasses.replace(daemon, runs=daemon_finished)
    judged = analysis.process_api_claim(demos, lived, method)
    assert judged.verdict is Verdict.PARTLY
    assert "a daemon child stopped when its program exited" in judged.reason
    broken = dataclasses.replace(
        demos, function=("square-2 (pid 1): square of 2 is 5",),
        subclass=("exit codes: [1]",), join=("is_alive() = True, exitcode = None",),
        daemon_children="started a child of its own")
    assert analysis.process_api_claim(broken, lived, method).verdict is Verdict.FAILS


def test_process_api_claim_reads_each_demo(found):
    demos = found.demos
    assert demos.function_ran and demos.subclass_ran and demos.join_waited
    assert demos.daemon_refused_child
    assert not dataclasses.replace(demos, function=()).function_ran
    assert not dataclasses.replace(demos, subclass=("x (pid 1): y", "exit codes: [0, 1]")
                                   ).subclass_ran
    assert not dataclasses.replace(demos, subclass=("exit codes: [0, 0]",)).subclass_ran


def _guard_with(guard, **outputs):
    """The guard demo with the runs named ``script_method`` reporting these outputs."""
    runs = dict(guard.runs)
    for name, output in outputs.items():
        script, method = name.split("_")
        runs[(script, method)] = dataclasses.replace(runs[(script, method)], output=output,
                                                     killed=False)
    return dataclasses.replace(guard, runs=runs)


def test_main_guard_claim_every_verdict(found):
    guard = found.guard
    ran, failed = "x: the child ended with exitcode 0", "x: the child ended with exitcode 1"
    by_method = dataclasses.replace(guard, methods=("fork", "spawn"))
    mixed = _guard_with(by_method, unguarded_fork=ran, unguarded_spawn=failed,
                        guarded_fork=ran, guarded_spawn=ran)
    judged = analysis.main_guard_claim(mixed)
    assert judged.verdict is Verdict.PARTLY
    assert "did not work under spawn and ran under fork" in judged.reason
    everywhere = _guard_with(mixed, unguarded_fork=failed)
    judged = analysis.main_guard_claim(everywhere)
    assert judged.verdict is Verdict.PARTLY and "not even the small example" in judged.reason
    nowhere = _guard_with(mixed, unguarded_spawn=ran)
    judged = analysis.main_guard_claim(nowhere)
    assert judged.verdict is Verdict.PARTLY and "nothing on this build" in judged.reason
    useless = _guard_with(mixed, guarded_spawn=failed)
    judged = analysis.main_guard_claim(useless)
    assert judged.verdict is Verdict.FAILS and "under spawn" in judged.reason


def test_guard_required_claim_every_verdict(found):
    guard = found.guard
    judged = analysis.guard_required_claim(guard)
    assert judged.verdict is Verdict.HOLDS
    assert "raising a RuntimeError" in judged.reason and "Under fork" in judged.reason
    no_fork = dataclasses.replace(guard, methods=("spawn", "forkserver"))
    judged = analysis.guard_required_claim(no_fork)
    assert judged.verdict is Verdict.HOLDS and "fork it ran" not in judged.reason
    no_server = dataclasses.replace(guard, methods=("fork", "spawn"))
    judged = analysis.guard_required_claim(no_server)
    assert judged.verdict is Verdict.PARTLY
    assert judged.reason.endswith("as the warning says; this platform offers no forkserver "
                                  "start method.")
    ran, failed = "x: the child ended with exitcode 0", "x: the child ended with exitcode 1"
    spared = _guard_with(guard, unguarded_forkserver=ran)
    judged = analysis.guard_required_claim(spared)
    assert judged.verdict is Verdict.PARTLY
    assert "under forkserver the script ran without the guard too" in judged.reason
    judged = analysis.guard_required_claim(_guard_with(spared, guarded_spawn=failed))
    assert judged.verdict is Verdict.FAILS
    assert judged.reason == (
        "Neither spawn nor forkserver bore out the warning here: under spawn the script "
        "failed even with the guard and under forkserver the script ran without the guard "
        "too.")


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a001_process_api", "a003_main_guard", "a004_guard_required"}


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def run_of(found, version, unguarded_output=None, killed=False, forkserver=True):
    """An interpreter's run whose findings are the committed ones, with what the script
    without the guard printed under forkserver (``forkserver`` False: none offered)."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    guard = found.guard
    runs = dict(guard.runs)
    key = ("unguarded", "forkserver")
    runs[key] = dataclasses.replace(runs[key], killed=killed,
                                    output=runs[key].output if unguarded_output is None
                                    else unguarded_output)
    methods = guard.methods if forkserver else tuple(m for m in guard.methods
                                                     if m != "forkserver")
    changed = dataclasses.replace(found, guard=dataclasses.replace(guard, runs=runs,
                                                                   methods=methods))
    result = Result(experiment="processes", quick=True, machine={
        "python_implementation": "CPython", "python_version": version})
    return InterpreterRun(None, result=result, found=changed)


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    assert rows["default start method"] == found.setup.start_method
    assert rows["who imported the guarded script under forkserver"] == "the child"
    assert rows["the script without the main guard, under forkserver"] == (
        "the child died (RuntimeError); the script went on")
    spawn_only = dataclasses.replace(found, guard=dataclasses.replace(
        found.guard, methods=("spawn",)), forkserver_main=None)
    rows = analysis.interpreter_rows(spawn_only)
    assert [label for label, cell in rows.items() if cell == analysis.NOT_OFFERED] == [
        "a script that starts one child under fork (wall time)",
        "a script that starts one child under forkserver (wall time)",
        "the script without the main guard, under forkserver",
        "who imported the guarded script under forkserver"]


@pytest.mark.parametrize(("child", "server", "expected"), [
    (True, False, "the child"),
    (False, True, "the fork server, once, before forking"),
    (True, True, "the fork server, and the child again"),
    (False, False, "no second import seen"),
])
def test_forkserver_import_cell(child, server, expected):
    main = analysis.ForkserverImport(child_imported=child, server_imported=server)
    assert analysis.forkserver_import_cell(main) == expected
    assert analysis.forkserver_import_cell(None) == analysis.NOT_OFFERED


def test_guard_across_interpreters_every_case(found):
    old = [run_of(found, "3.12.1"), run_of(found, "3.13.0")]
    assert analysis.guard_across_interpreters(old) == (
        "Without the main guard, under forkserver: on CPython 3.12.1 and CPython 3.13.0, the "
        "child died importing the script itself, as under spawn.")
    server = run_of(found, "3.14.1", unguarded_output="top level of the script runs\n")
    text = analysis.guard_across_interpreters([*old, server])
    assert text == (
        "Without the main guard, under forkserver: on CPython 3.12.1 and CPython 3.13.0, the "
        "child died importing the script itself, as under spawn; on CPython 3.14.1, the "
        "script itself failed, before any child could report back. What separates them is "
        "who imports the script, the child or the fork server (the table's row above): "
        "where the server does, the script's unguarded top level runs in the server.")
    ran = run_of(found, "3.13.0", unguarded_output="the child ended with exitcode 0\n")
    assert analysis.guard_across_interpreters([ran]).endswith(
        "on CPython 3.13.0, the script ran to its end, child and all.")
    stopped = run_of(found, "3.13.0", killed=True)
    assert analysis.guard_across_interpreters([stopped]).endswith(
        "the script was stopped at its time limit.")
    assert analysis.guard_across_interpreters([run_of(found, "3.13.0", forkserver=False)]) == (
        "No interpreter here offered forkserver, so the unguarded script was not run under "
        "it.")


@pytest.mark.parametrize(("group", "params", "expected"), [
    ("exit", {"ending": "exit3", "method": "spawn"}, "join() after sys.exit(3) (spawn)"),
    ("daemon_exit", {"kind": "daemon"}, "the program whose child slept (daemon=True)"),
    ("guard", {"script": "guarded", "method": "fork"}, "the script with the guard (fork)"),
    ("other", {}, "other"),
])
def test_describe_case_names_each_group(group, params, expected):
    assert analysis.describe_case(group, params) == expected


@pytest.mark.parametrize(("output", "errors", "killed", "expected"), [
    ("the child ended with exitcode 0\n", "", False, "ran, child and all"),
    ("", "", True, "stopped at its time limit"),
    ("", "", False, "the script failed"),
    ("", "Traceback (most recent call last):\nRuntimeError: boom\n"
         "Traceback (most recent call last):\nEOFError: gone\n", False,
     "the fork server died (RuntimeError); the script failed"),
    ("the child ended with exitcode 1\n", "", False, "the child died (an error); the script "
                                                      "went on"),
])
def test_unguarded_forkserver_cell(found, output, errors, killed, expected):
    key = ("unguarded", "forkserver")
    runs = {**found.guard.runs, key: dataclasses.replace(
        found.guard.runs[key], output=output, errors=errors, killed=killed)}
    guard = dataclasses.replace(found.guard, runs=runs)
    assert analysis.unguarded_forkserver_cell(guard) == expected
