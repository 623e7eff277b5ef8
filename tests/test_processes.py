"""The processes experiment in quick mode, and the chapter's demos under every start method."""

from __future__ import annotations

import math
import multiprocessing
import signal
import sys

import pytest

from parbook.chapters.processes import experiment as experiment
from parbook.chapters.processes import workload as work
from parbook.shared.child import run_command, run_module

METHODS = multiprocessing.get_all_start_methods()
REIMPORTING = [method for method in METHODS if method in ("spawn", "forkserver")]
# After the last test: no child process of this one, no new /dev/shm entry.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def processes_quick():
    return experiment.run(quick=True)


@pytest.fixture(scope="module")
def found(processes_quick):
    return experiment.findings(processes_quick)


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


def test_exit_codes_and_tracebacks_under_every_method(found):
    assert found["exit_as_expected"], found["exit_codes_seen"]
    assert found["exit_codes_seen"]["terminate"] == [-signal.SIGTERM]
    assert found["exit_codes_seen"]["kill"] == [-signal.SIGKILL]
    # One traceback per child that raised, every round, on the child interpreter's stderr.
    assert found["tracebacks"] == {method: found["exit_rounds"] for method in METHODS}
    assert found["first_traceback"].startswith("Process ends-by-exception:")
    assert found["first_traceback"].endswith("ValueError: the child gave up")


def test_daemon_child_is_abandoned_non_daemon_awaited_and_orphan_survives(found):
    children = found["children"]
    assert found["finished_lines"] == {"daemon": 0, "non-daemon": 1, "parent-killed": 1}
    for kind in ("daemon", "non-daemon"):
        assert children[kind]["returncode"] == 0 and not children[kind]["killed"]
        assert children[kind]["errors"] == ""
        assert "reached the end of the program" in children[kind]["output"]
    assert children["parent-killed"]["returncode"] == -signal.SIGKILL
    # Not a speed claim: the program waited for the sleep, or the orphan outlived it.
    assert found["non_daemon_exit"] >= found["nap_s"]
    assert found["parent_killed_exit"] >= found["nap_s"]
    assert found["daemon_children_error"] == (
        "AssertionError: daemonic processes are not allowed to have children")


def test_unguarded_script_fails_only_where_main_is_reimported(found):
    assert found["bootstrap_failed"] == REIMPORTING
    for method in METHODS:
        unguarded = found["guard"]["unguarded"][method]
        guarded = found["guard"]["guarded"][method]
        assert not unguarded["killed"] and not guarded["killed"]
        assert found["child_exitcode"][("guarded", method)] == 0
        assert guarded["returncode"] == 0 and "hello" in guarded["output"]
        expected_runs = 2 if method in REIMPORTING else 1
        assert found["top_level_runs"][("guarded", method)] == expected_runs
        if method in REIMPORTING:
            assert found["child_exitcode"][("unguarded", method)] == 1
            assert "__mp_main__" in guarded["output"]
        else:
            assert found["child_exitcode"][("unguarded", method)] == 0
            assert found["unguarded_errors"][method] is None


def test_children_name_their_parent(found):
    for method in METHODS:
        family = found["family"][method]
        assert family["parent"]["name"] == "MainProcess"
        assert family["parent"]["parent_process"] == "None"
        named, unnamed = family["children"]
        assert named["name"] == "worker-1" and unnamed["name"] != "worker-1"
        assert named["parent_name"] == "MainProcess"
    assert all(found["parent_process_is_parent"].values())


def test_tables_cover_every_method(processes_quick):
    exits = experiment.exit_table(processes_quick)
    assert len(exits) == len(work.ENDINGS)
    assert {f"join wait, {method}" for method in METHODS} <= set(exits.columns)
    assert len(experiment.guard_table(processes_quick)) == 2 * len(METHODS)
    assert len(experiment.family_table(processes_quick)) == len(METHODS)


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
        finished[kind] = child.output.count(": finished at ")
    assert finished == {"daemon": 0, "non-daemon": 1, "parent-killed": 1}


@pytest.mark.parametrize("method", METHODS)
def test_guard_scripts_under(method):
    unguarded = run_command([sys.executable, "-u", str(work.UNGUARDED_SCRIPT), method],
                            time_limit_s=60)
    guarded = run_command([sys.executable, "-u", str(work.GUARDED_SCRIPT), method],
                          time_limit_s=60)
    assert not unguarded.killed and not guarded.killed
    assert guarded.returncode == 0 and "exitcode 0" in guarded.output
    if method in REIMPORTING:
        assert experiment.error_summary(unguarded.errors) == (
            f"RuntimeError: {experiment.BOOTSTRAP_ERROR}")
        assert "the child ended with exitcode 1" in unguarded.output
    else:
        assert unguarded.errors == "" and "exitcode 0" in unguarded.output


def test_exception_ending_prints_a_traceback_in_a_child_interpreter():
    method = METHODS[0]
    child = run_module(experiment.MODULE, "exit-codes", method, "1", "0", time_limit_s=60)
    assert child.returncode == 0 and not child.killed
    assert child.errors.count("Traceback (most recent call last)") == 1
    assert "ValueError: the child gave up" in child.errors
