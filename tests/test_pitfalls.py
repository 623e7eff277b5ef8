"""The pitfalls chapter: its quick run (each demo under every start method did what the page
says), its demos run directly, and each of its data-dependent sentences and transcripts on
the committed result ``tests/results/pitfalls.json``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import signal

import pytest

from parbook.bench.results import load
from parbook.chapters.pitfalls import analysis, views
from parbook.chapters.pitfalls import experiment as experiment
from parbook.chapters.pitfalls import workload as work
from parbook.claims import Verdict
from parbook.shared.child import ChildRun
from tests.conftest import ROOT

METHODS = multiprocessing.get_all_start_methods()
SOCKET_ERROR = "cannot pickle 'socket' object"
COMMITTED = ROOT / "tests" / "results" / "pitfalls.json"
# After the last test: no child process of this one, no new /dev/shm entry.
pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def pitfalls_quick(quick_results):
    return quick_results["pitfalls"]


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_every_case_is_present_with_positive_finite_samples(pitfalls_quick):
    groups = {
        "main_light": set(experiment.MAIN_LIGHT_LABELS),
        "idle": set(experiment.IDLE_LABELS),
    }
    cpus = pitfalls_quick.parameters["usable_cpus"]
    if cpus < 2:
        groups["main_light"].discard("busy_parent_fewer_workers")
    for group, expected in groups.items():
        assert {c.params["how"] for c in pitfalls_quick.group(group)} == expected, group
    assert {(c.params["method"], c.params["cell"])
            for c in pitfalls_quick.group("notebook_cell")} == {
        (m, cell) for m in METHODS for cell in work.NOTEBOOK_CELLS}
    for case in pitfalls_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_every_promise_of_the_page_holds(pitfalls_quick):
    assert analysis.broken_promises(pitfalls_quick) == []
    quick_found = analysis.findings(pitfalls_quick)
    assert quick_found.problems == ()
    assert quick_found.hand_over.socket_error == f"TypeError: {SOCKET_ERROR}"


@pytest.mark.parametrize("method", METHODS)
def test_socket_env_instance_shares_or_fails_and_factories_fix_it(pitfalls_quick, method):
    hand = pitfalls_quick.values["hand_over"][method]
    # multiprocessing's own pickler duplicates the socket: the worker runs on the
    # parent's connection under every start method.
    for how in ("instance_process", "instance_pool"):
        assert hand[how]["ran"] and hand[how]["same_connection"], hand[how]
    wrapped = hand["instance_library"]
    if method == "fork":  # Process arguments are not pickled under fork
        assert wrapped["ran"] and wrapped["same_connection"], wrapped
    else:
        assert not wrapped["ran"]
        assert (wrapped["error_type"], wrapped["error"]) == ("TypeError", SOCKET_ERROR)
    for how in ("factory_library", "factory_pool"):
        assert hand[how]["ran"] and not hand[how]["same_connection"], hand[how]
        assert hand[how]["connection"] != hand[how]["parent_connection"]


@pytest.mark.parametrize("method", METHODS)
def test_class_counter_counts_per_process_and_both_fixes_count_once(pitfalls_quick, method):
    counted = pitfalls_quick.values["counters"][method]
    total = 1 + experiment.COUNTER_WORKERS * experiment.ENVS_PER_WORKER
    assert counted["environments"] == total
    assert counted["parent_class_count"] == 1
    inherited = 1 if method == "fork" else 0  # fork copies the parent's count
    for report in counted["reports"]:
        assert report["class_count_seen"] == inherited + experiment.ENVS_PER_WORKER
    assert counted["distinct_ports"]["class_counter"] < total
    assert counted["distinct_ports"]["ranks"] == total
    assert counted["distinct_ports"]["shared_value"] == total
    assert counted["parent_shared_value"] == total


@pytest.mark.parametrize("method", METHODS)
def test_function_in_a_fileless_main_hangs_under_spawn_and_forkserver(pitfalls_quick, method):
    cells = pitfalls_quick.values["notebook"][method]
    limit = pitfalls_quick.parameters["notebook_limit_s"]
    assert cells["imported"]["finished"] and "[0, 1, 4, 9]" in cells["imported"]["output"]
    assert cells["imported"]["printed_result"] == "[0, 1, 4, 9]"
    broken = cells["defined_in_main"]
    if method == "fork":
        assert broken["finished"] and broken["attribute_errors"] == 0
        assert "[0, 1, 4, 9]" in broken["output"]
        assert not broken["interrupted"]
    else:
        # Bounded: interrupted at its limit, then given at most WAIT_S to wind down.
        assert broken["killed"] and limit <= broken["elapsed_s"] < limit + work.WAIT_S
        # Recorded when the cell ended, from its exit status: it was interrupted at its
        # limit and ended on the KeyboardInterrupt (not a search of its long stderr).
        assert broken["interrupted"], broken["returncode"]
        assert broken["attribute_errors"] >= 1
        assert broken["first_error"].startswith(work.MISSING_IN_MAIN)
        assert broken["printed_result"] is None
        assert "[0, 1, 4, 9]" not in broken["output"]
        assert "mapping work over a Pool" in broken["output"]


@pytest.mark.parametrize("method", METHODS)
def test_lambdas_and_local_functions_are_refused_and_partial_works(pitfalls_quick, method):
    tasks = pitfalls_quick.values["tasks"][method]
    for task in ("lambda_pool", "local_pool"):  # a Pool pickles its tasks under any method
        assert not tasks[task]["ran"]
        assert tasks[task]["error_type"] in ("PicklingError", "AttributeError")
        assert "pickle" in tasks[task]["error"].lower()
    assert tasks["lambda_process"]["ran"] == (method == "fork")
    assert tasks["partial_pool"]["values"] == [3, 6, 9]


def test_plain_pickle_refuses_sockets_lambdas_and_local_functions():
    assert work.plain_pickle_error() == {"error_type": "TypeError", "error": SOCKET_ERROR}
    errors = work.pickle_errors()
    assert set(errors) == {"lambda", "local_function"}
    assert all("pickle" in e["error"].lower() for e in errors.values())


@pytest.mark.parametrize("method", METHODS)
def test_demos_run_directly(method):
    wrapped = work.hand_over(method, "instance_library")
    assert wrapped["ran"] == (method == "fork")
    assert work.hand_over(method, "factory_pool")["same_connection"] is False
    counted = work.count_environments(method, workers=2, per_worker=1)
    assert counted["distinct_ports"]["shared_value"] == 3
    assert work.PortedEnv.created == 0  # the demo leaves the class as it found it
    assert work.try_task(method, "partial_pool")["values"] == [3, 6, 9]


def test_pool_runs_are_consistent(pitfalls_quick):
    for key in ("main_light_runs", "idle_runs"):
        for how, runs in pitfalls_quick.values[key].items():
            for run in runs:
                assert 0.0 <= run["idle_fraction"] <= 1.0, (how, run)
                assert run["elapsed_s"] > 0
    for run in pitfalls_quick.values["main_light_runs"]["busy_parent"]:
        assert run["parent_work_s"] > 0 and run["busy_s"] > 0


def test_findings_are_positive_and_rows_cover_every_method(pitfalls_quick):
    quick_found = analysis.findings(pitfalls_quick)
    light, idle = quick_found.main_light, quick_found.idle
    for name, value in (("busy_over_light", light.busy_over_light),
                        ("parent_work_slowdown", light.parent_work_slowdown),
                        ("chunk_over_imap", idle.chunk_over_imap),
                        ("default_over_imap", idle.default_over_imap)):
        assert math.isfinite(value) and value > 0, name
    rows = views.outcome_rows(pitfalls_quick)
    assert len(rows) == (len(experiment.HAND_OVER_LABELS) + len(experiment.COUNTER_LABELS)
                         + len(experiment.NOTEBOOK_LABELS) + len(experiment.TASK_LABELS))
    assert all(set(METHODS) <= set(row) for row in rows)


def test_unknown_demo_names_are_rejected():
    with pytest.raises(ValueError):
        work.run_uneven(None, 1, [0.0], "no_such_way")
    assert work.try_task(METHODS[0], "no_such_task")["error_type"] == "ValueError"


# --- the notebook cell's interrupt, recorded as data ----------------------------------------

def _child(returncode: int, killed: bool, output: str = "", errors: str = "") -> ChildRun:
    return ChildRun(command=["python"], output=output, errors=errors, returncode=returncode,
                    elapsed_s=4.1, time_limit_s=4.0, killed=killed)


@pytest.mark.parametrize(("returncode", "killed", "interrupted"), [
    (-signal.SIGINT, True, True),    # the interrupt raised KeyboardInterrupt, which ended it
    (-signal.SIGKILL, True, False),  # it ignored the interrupt and was killed
    (0, False, False),               # it finished by itself
])
def test_notebook_outcome_records_whether_the_interrupt_ended_the_cell(returncode, killed,
                                                                       interrupted):
    outcome = work.notebook_outcome(_child(returncode, killed))
    assert outcome["interrupted"] is interrupted


def test_notebook_outcome_reads_the_whole_output():
    long_errors = "".join(f"{work.MISSING_IN_MAIN} (built-in)>\n" for _ in range(500))
    outcome = work.notebook_outcome(_child(
        0, False, output="mapping work over a Pool started with spawn\n[0, 1, 4, 9]\ndone\n",
        errors=long_errors + "KeyboardInterrupt\n"))
    assert outcome["attribute_errors"] == 500 and outcome["finished"]
    assert outcome["printed_result"] == "[0, 1, 4, 9]"


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("busy", "expected"), [
    (1.5, "With a parent that computed between dispatches, they took 1.5× as long."),
    (1.02, "With a parent that computed between dispatches, they took about as long (1.0×)."),
])
def test_busy_sentence(found, busy, expected):
    times = {**found.main_light.times, "dispatch_only": 1.0, "busy_parent": busy}
    light = dataclasses.replace(found.main_light, times=times)
    assert analysis.busy_sentence(light) == expected


@pytest.mark.parametrize(("busy", "expected"), [
    (0.8, "The parent's own work took 800 ms beside its pool instead of 500 ms alone, 1.6× "
          "as long."),
    (0.52, "The parent's own work took about as long beside its pool as alone (520 ms against "
           "500 ms)."),
    (0.3, "The parent's own work took 300 ms beside its pool and 500 ms alone: less, not "
          "more, which says more about how much this machine's speed varied between runs "
          "than about the parent (see the spread table)."),
])
def test_parent_sentence(found, busy, expected):
    work_times = {**found.main_light.parent_work, "busy_parent": busy, "parent_alone": 0.5}
    light = dataclasses.replace(found.main_light, parent_work=work_times)
    assert analysis.parent_sentence(light) == expected


def test_fewer_workers_text(found):
    light = dataclasses.replace(
        found.main_light,
        times={"dispatch_only": 1.0, "busy_parent": 1.5, "busy_parent_fewer_workers": 1.2,
               "parent_alone": 0.5},
        parent_work={"busy_parent": 0.9, "busy_parent_fewer_workers": 0.6,
                     "parent_alone": 0.5})
    assert analysis.fewer_workers_text(light) == (
        "With one worker fewer, the parent's work took 1.2× its time alone and the tasks 1.2× "
        "the dispatch-only time: one CPU more for the parent, one fewer for the pool.")
    single = dataclasses.replace(light, times={key: value for key, value in light.times.items()
                                               if key != "busy_parent_fewer_workers"})
    assert analysis.fewer_workers_text(single) == (
        "With a single usable CPU there is no worker to spare for the parent: its work and "
        "the pool's can only take turns.")


@pytest.mark.parametrize(("one_chunk", "expected"), [
    (2.0, "Altogether, one chunk per worker took 2.0× as long as one task at a time."),
    (1.06, "Altogether, one chunk per worker took about as long (1.1×) as one task at a time "
           "on this machine's few workers; the more workers, the more of them wait for the "
           "chunk that holds the long tasks."),
])
def test_idle_sentence(found, one_chunk, expected):
    idle = dataclasses.replace(found.idle, times={**found.idle.times, "imap_unordered": 1.0,
                                                  "map_one_chunk_each": one_chunk})
    assert analysis.idle_sentence(idle) == expected


@pytest.mark.parametrize(("in_chunk", "expected"), [(2, "every long task"),
                                                    (1, "1 of the long tasks")])
def test_longs_text(found, in_chunk, expected):
    idle = dataclasses.replace(found.idle, long_tasks=2)
    assert analysis.longs_text(idle, in_chunk) == expected


def test_summary_rows(found):
    rows = dict(analysis.summary_rows(found))
    assert len(rows) == 8 and all(rows.values())
    assert rows["pickle.dumps of an environment that holds a socket"] == (
        f"TypeError: {SOCKET_ERROR}")
    assert rows["a worker function defined in a notebook-like __main__, under spawn and "
                "forkserver"].startswith("workers died (4 under spawn and 4 under forkserver)")


def test_broken_promises_name_workers_whose_class_counters_differ():
    """What :func:`experiment.run` raises on: here, one worker numbering differently."""
    committed = load(COMMITTED)
    assert experiment.broken_promises(committed) == []
    reports = committed.values["counters"]["fork"]["reports"]
    reports[0]["class_counter"] = [1, 2]
    assert experiment.broken_promises(committed) == [
        f"fork workers' class counters differed: {reports}"]


@pytest.mark.parametrize(("workers", "long_tasks", "short_tasks", "expected"), [
    (2, 2, 20, "every long task"),      # chunks of 11: the first holds both long tasks
    (8, 8, 32, "5 of the long tasks"),  # chunks of 5: the first holds 5 of the 8
])
def test_one_chunk_longs(found, workers, long_tasks, short_tasks, expected):
    idle = dataclasses.replace(found.idle, workers=workers, long_tasks=long_tasks,
                               short_tasks=short_tasks)
    assert analysis.one_chunk_longs(idle) == expected


def test_chunk_sizes_follow_pool_map(found):
    idle = dataclasses.replace(found.idle, workers=2, long_tasks=2, short_tasks=20)
    assert (idle.one_chunk_size, idle.default_chunksize, idle.first_chunk_longs) == (11, 3, 2)


def test_texts_keep_the_types_other_pages_quote(found):
    texts = analysis.texts(found)
    for key in ("pitfalls_cpus", "pitfalls_counter_envs", "pitfalls_counter_parent",
                "pitfalls_counter_distinct", "pitfalls_counter_workers",
                "pitfalls_counter_per_worker", "pitfalls_ml_tasks", "pitfalls_idle_long_tasks",
                "pitfalls_idle_short_tasks", "pitfalls_idle_one_chunk",
                "pitfalls_idle_default_chunk", "pitfalls_idle_first_chunk_longs"):
        assert type(texts[key]) is int, key
    for method in found.machine.methods:
        assert type(texts[f"pitfalls_counter_distinct_{method}"]) is int
    assert texts["pitfalls_methods"] == "fork, spawn and forkserver"
    assert texts["pitfalls_pickling_methods"] == "spawn and forkserver"
    assert texts["pitfalls_socket_error"] == f"TypeError: {SOCKET_ERROR}"
    assert texts["pitfalls_notebook_deaths"].endswith("under forkserver")
    assert found.problems == ()


# --- transcripts of the committed result ----------------------------------------------------

def test_hand_over_transcript(found):
    lines = found.hand_over.transcript().splitlines()
    assert lines[0] == f"pickle.dumps(SimulatorEnv()) raised TypeError: {SOCKET_ERROR}"
    assert [line for line in lines if line.startswith("--- ")] == [
        f"--- start method {method}" for method in found.machine.methods]
    assert sum("the parent's own socket" in line for line in lines) >= 2 * len(METHODS)


def test_counters_transcript(found):
    transcript = found.counters.transcript()
    assert transcript.count("environments in all") == len(found.machine.methods)
    assert "fix 2: shared Value with its lock" in transcript


def test_notebook_transcripts(found):
    transcript = found.notebook.transcript()
    assert "--- start method fork: finished (exit code 0" in transcript
    assert "--- start method spawn: still waiting at 4 s, interrupted (exit code -2" in transcript
    assert found.notebook.stderr_tail().splitlines()[-1] == "KeyboardInterrupt"
    assert len(found.notebook.stderr_tail().splitlines()) == analysis.STDERR_TAIL_LINES
    assert found.notebook.imported_transcript().splitlines()[0].endswith(
        "printed [0, 1, 4, 9]")


def test_tasks_transcript(found):
    lines = found.tasks.transcript().splitlines()
    assert lines.count("lambda as a Pool task:") == len(found.machine.methods)
    assert "    ran" in lines


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

@pytest.mark.parametrize(("busy", "chunked", "verdict", "says"), [
    (2.0, 2.0, Verdict.PARTLY, "2.0× as long beside a parent"),
    (2.0, 1.0, Verdict.PARTLY, "took about as long (1.0×) as tasks handed out"),
    (1.0, 2.0, Verdict.PARTLY, "took about as long (1.0×) beside a parent"),
    (1.0, 1.0, Verdict.FAILS, "took about as long (1.0×) beside a parent"),
])
def test_design_rules_claim_every_verdict(found, busy, chunked, verdict, says):
    light, idle = found.main_light, found.idle
    light = dataclasses.replace(light, times={
        **light.times, "busy_parent": light.times["dispatch_only"] * busy})
    idle = dataclasses.replace(idle, times={
        **idle.times, "map_one_chunk_each": idle.times["imap_unordered"] * chunked})
    judged = analysis.design_rules_claim(light, idle)
    assert judged.verdict is verdict and says in judged.reason
    assert "not judged by this chapter's data" in judged.reason


def test_class_counter_claim_both_ways(found):
    counters = found.counters
    judged = analysis.class_counter_claim(counters)
    assert judged.verdict is Verdict.HOLDS and "its own copy of the class" in judged.reason
    spawn = counters.by_method["spawn"]
    distinct = {**spawn["distinct_ports"], "class_counter": spawn["environments"]}
    working = dataclasses.replace(counters, by_method={
        **counters.by_method, "spawn": {**spawn, "distinct_ports": distinct}})
    judged = analysis.class_counter_claim(working)
    assert judged.verdict is Verdict.FAILS and "a port each under spawn" in judged.reason


def _wrapped(found, method, outcome):
    """The hand-over findings with the wrapped instance's outcome under ``method``."""
    by_method = found.hand_over.by_method
    return dataclasses.replace(found.hand_over, by_method={
        **by_method, method: {**by_method[method], "instance_library": outcome}})


def test_pickle_socket_claim_every_verdict(found):
    judged = analysis.pickle_socket_claim(found.hand_over, found.machine)
    assert judged.verdict is Verdict.HOLDS
    assert "TypeError: cannot pickle 'socket' object" in judged.reason
    assert "Under fork the wrapper was never pickled" in judged.reason
    ran = {"ran": True, "same_connection": True}
    one_ran = _wrapped(found, "spawn", ran)
    judged = analysis.pickle_socket_claim(one_ran, found.machine)
    assert judged.verdict is Verdict.PARTLY and "but not under spawn" in judged.reason
    none_failed = _wrapped(dataclasses.replace(found, hand_over=one_ran), "forkserver", ran)
    judged = analysis.pickle_socket_claim(none_failed, found.machine)
    assert judged.verdict is Verdict.FAILS and "raised no TypeError" in judged.reason
    fork_failed = _wrapped(found, "fork", {"ran": False, "error_type": "TypeError",
                                           "error": experiment.SOCKET_ERROR})
    judged = analysis.pickle_socket_claim(fork_failed, found.machine)
    assert judged.verdict is Verdict.HOLDS and "Under fork" not in judged.reason


def _counted(counters, method, **changes):
    """``counters`` with what was counted under ``method`` changed."""
    return dataclasses.replace(counters, by_method={
        **counters.by_method, method: {**counters.by_method[method], **changes}})


def test_fork_copies_claim_every_verdict(found):
    counters = found.counters
    judged = analysis.fork_copies_claim(counters)
    assert judged.verdict is Verdict.HOLDS and "each worker changed its own copy" in (
        judged.reason)
    fork = counters.by_method["fork"]
    from_zero = [{**report, "class_count_seen": counters.per_worker}
                 for report in fork["reports"]]
    judged = analysis.fork_copies_claim(_counted(counters, "fork", reports=from_zero))
    assert judged.verdict is Verdict.PARTLY and "did not carry on from the parent's" in (
        judged.reason)
    judged = analysis.fork_copies_claim(
        _counted(counters, "fork", parent_class_count=fork["environments"]))
    assert judged.verdict is Verdict.FAILS and "the workers' changes reached it" in judged.reason
    no_fork = dataclasses.replace(counters, by_method={
        method: counted for method, counted in counters.by_method.items() if method != "fork"})
    assert analysis.fork_copies_claim(no_fork).verdict is Verdict.UNMEASURED


def _handed(hand_over, method, how, outcome):
    """``hand_over`` with one way's outcome under ``method`` replaced."""
    return dataclasses.replace(hand_over, by_method={
        **hand_over.by_method, method: {**hand_over.by_method[method], how: outcome}})


def test_pickle_cause_claim_every_verdict(found):
    hand_over = found.hand_over
    judged = analysis.pickle_cause_claim(hand_over)
    assert judged.verdict is Verdict.FAILS and "came only from a wrapper" in judged.reason
    ran = {"ran": True, "same_connection": True}
    unwrapped = hand_over
    for method in hand_over.by_method:
        unwrapped = _handed(unwrapped, method, "instance_library", ran)
    judged = analysis.pickle_cause_claim(unwrapped)
    assert judged.verdict is Verdict.FAILS and "No way of handing it over" in judged.reason
    failed = {"ran": False, "error_type": "TypeError", "error": experiment.SOCKET_ERROR}
    spawn_failed = _handed(hand_over, "spawn", "instance_process", failed)
    judged = analysis.pickle_cause_claim(spawn_failed)
    assert judged.verdict is Verdict.PARTLY and "Under spawn, multiprocessing itself failed" in (
        judged.reason)
    all_failed = hand_over
    for method in hand_over.by_method:
        all_failed = _handed(all_failed, method, "instance_pool", failed)
    judged = analysis.pickle_cause_claim(all_failed)
    assert judged.verdict is Verdict.HOLDS and "itself failed" in judged.reason


def test_no_shared_data_claim_every_verdict(found):
    counters = found.counters
    judged = analysis.no_shared_data_claim(counters)
    assert judged.verdict is Verdict.HOLDS and "through a Queue" in judged.reason
    spawn = counters.by_method["spawn"]
    repeated = {**spawn["distinct_ports"], "shared_value": 1}
    judged = analysis.no_shared_data_claim(
        _counted(counters, "spawn", distinct_ports=repeated))
    assert judged.verdict is Verdict.PARTLY and "under spawn a count kept in a shared Value" in (
        judged.reason)
    joined = {**spawn["distinct_ports"], "class_counter": spawn["environments"]}
    judged = analysis.no_shared_data_claim(_counted(counters, "spawn", distinct_ports=joined))
    assert judged.verdict is Verdict.FAILS and "Under spawn" in judged.reason
    judged = analysis.no_shared_data_claim(
        _counted(counters, "fork", parent_class_count=spawn["environments"]))
    assert judged.verdict is Verdict.FAILS and "Under fork" in judged.reason


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a001_processes_no_shared_data", "a003_design_rules",
                           "a004_class_counter", "a004_fork_copies", "a004_pickle_cause",
                           "a004_pickle_socket"}
    assert judged["a003_design_rules"].verdict in (Verdict.PARTLY, Verdict.FAILS)
