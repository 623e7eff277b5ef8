"""The diagnostics chapter: its quick run (timelines with a row per task and no overlap, the
hung pool stopped by its limit with stack dumps naming the stuck function, BLAS threads
reported by every worker, Ray's trace holding every task), the helpers that read stack
dumps and traces, and each data-dependent sentence on the committed result
``tests/results/diagnostics.json``."""

from __future__ import annotations

import dataclasses
import time

import pytest

from parbook.bench.results import load
from parbook.chapters.diagnostics import analysis, views
from parbook.chapters.diagnostics import experiment as diag
from parbook.chapters.diagnostics import workload as work
from parbook.claims import Verdict
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "diagnostics.json"
#: Rounding to whole microseconds may make a task start a microsecond before the
#: previous one on its worker ended.
ROUNDING_S = 2e-6


@pytest.fixture(scope="module")
def diag_quick(quick_results):
    return quick_results["diagnostics"]


@pytest.fixture(scope="module")
def quick_found(diag_quick):
    return analysis.findings(diag_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each sentence test changes to flip it."""
    return analysis.findings(load(COMMITTED))


@pytest.fixture(scope="module", params=["quick", "committed"])
def any_found(request, quick_found, found):
    """The findings of this session's quick run, then of the committed result."""
    return quick_found if request.param == "quick" else found


# --- the live run ------------------------------------------------------------------------

def test_every_run_is_recorded(diag_quick):
    assert set(diag_quick.values["timelines"]) == set(diag.RUN_LABELS)
    assert {c.params["run"] for c in diag_quick.group("timeline")} == (
        set(diag.RUN_LABELS) - {"ray"})
    for group in ("blas_wall", "blas_switches", "blas_cpu"):
        assert {c.params["threads"] for c in diag_quick.group(group)} == set(diag.BLAS_LABELS)


def test_each_timeline_has_a_row_per_task_that_starts_before_it_ends(any_found):
    timelines = any_found.timelines
    for run, timeline in timelines.runs.items():
        assert timeline.tasks == timelines.tasks[run], run
        for _worker, start, end in timeline.rows:
            assert -ROUNDING_S <= start < end <= timeline.span + ROUNDING_S, run


def test_a_workers_tasks_never_overlap(any_found):
    for run, timeline in any_found.timelines.runs.items():
        assert 1 <= len(timeline.by_worker()) <= timeline.workers, run
        for spans in timeline.by_worker().values():
            for earlier, later in zip(spans, spans[1:], strict=False):
                assert later[0] >= earlier[1] - ROUNDING_S, run


def test_the_four_parts_of_worker_time_add_up(any_found):
    for run, timeline in any_found.timelines.runs.items():
        parts = timeline.parts()
        assert all(share >= -1e-6 for share in parts.values()), run
        assert sum(parts.values()) == pytest.approx(1.0, abs=1e-4), run


def test_a_straggler_leaves_the_other_workers_idle(diag_quick, quick_found):
    """Structural: the long task is a worker's whole share of the short ones, so the other
    workers idle for about its length at the end; equal tasks leave at most one task's.
    (A sleep never ends early, so the long task lasts at least its length; on a busy
    machine a short sleep may overrun by as much, so the two are not compared.)"""
    runs = quick_found.timelines.runs
    straggler, even = runs["straggler_last"].parts(), runs["even"].parts()
    assert straggler["after"] > even["after"] + analysis.SHARE_MARGIN
    assert runs["straggler_last"].longest_task >= diag_quick.parameters["long_task_s"]


def test_ray_trace_holds_every_task_submitted(diag_quick, quick_found):
    ray = diag_quick.values["ray"]
    assert ray["found"] == ray["submitted"] == diag_quick.parameters["even_tasks"]
    assert quick_found.timelines.runs["ray"].tasks == ray["submitted"]


def test_hung_pool_was_stopped_by_its_limit_and_dumped_its_stack(quick_found):
    hang = quick_found.hang
    assert hang.killed and hang.elapsed_s >= hang.limit_s
    assert hang.dump_names_stuck, hang.faulthandler_dump
    assert "add_to_totals" in hang.faulthandler_dump


def test_py_spy_read_the_stuck_worker_or_said_why_not(quick_found):
    py_spy = quick_found.hang.py_spy
    if py_spy.outcome == "dumped":
        assert len(py_spy.stuck_pids) == 1 and len(py_spy.dumps) == diag.HANG_WORKERS
    elif py_spy.outcome == "refused":
        assert py_spy.error_line and py_spy.error_line in analysis.py_spy_sentence(py_spy)
    else:
        assert py_spy.outcome == "missing" and work.py_spy_binary() is None


def test_every_worker_reported_its_blas_threads(diag_quick, quick_found):
    blas = quick_found.blas
    assert blas.workers == diag_quick.parameters["cpus"]
    if blas.library:
        for threads in diag.BLAS_LABELS:
            assert blas.reported[threads] == blas.workers
        assert blas.threads["one"] == 1 and blas.total_threads["one"] == blas.workers
        assert blas.threads["default"] >= 1


def test_outputs_show_the_stuck_function(quick_found):
    assert analysis.STUCK_FUNCTION in views.faulthandler_output(None, quick_found)
    if quick_found.hang.py_spy.outcome == "dumped":
        printed = views.py_spy_output(None, quick_found)
        assert analysis.STUCK_FUNCTION in printed and printed.count("$ py-spy dump") == 2


# --- the helpers, on real runs where they can be -----------------------------------------

def test_watchdog_dumps_a_slow_call_and_stays_quiet_for_a_fast_one(capfd):
    @work.dump_stack_if_slower_than(0.1)
    def slow_call_under_watch(seconds: float) -> float:
        time.sleep(seconds)
        return seconds

    assert slow_call_under_watch(0.0) == 0.0
    time.sleep(0.2)  # a timer left armed would fire now
    assert "Timeout" not in capfd.readouterr().err
    assert slow_call_under_watch(0.4) == 0.4
    dump = analysis.faulthandler_dump(capfd.readouterr().err)
    assert dump.startswith("Timeout (") and "slow_call_under_watch" in dump


def test_faulthandler_dump_is_cut_from_stderr():
    errors = ("noise before\nTimeout (0:00:01)!\nThread 0x00007f (most recent call first):\n"
              '  File "/a/b/workload.py", line 5 in wait_for_a_lock_nobody_releases\n'
              '  File "/a/b/pool.py", line 48 in mapstar\n'
              "/x/resource_tracker.py:254: UserWarning: leaked\n")
    dump = analysis.faulthandler_dump(errors)
    assert dump.splitlines()[0] == "Timeout (0:00:01)!"
    assert 'File "workload.py", line 5' in dump and "UserWarning" not in dump
    assert analysis.faulthandler_dump("no dump here") == ""


def test_start_up_frames_are_left_out():
    stack = ("Thread 1:\n    run (process.py:108)\n    BaseProcess._bootstrap (process.py:314)\n"
             "    _launch (popen_fork.py:71)\n    Pool (context.py:119)\nThread 2:\n"
             "    get (queues.py:365)\n")
    shown = views.below_bootstrap(stack, "    ")
    assert "_launch" not in shown and "[2 more frames below" in shown
    assert shown.splitlines()[-2:] == ["Thread 2:", "    get (queues.py:365)"]


def test_paths_and_refusals_are_read():
    assert analysis.shorten_command_paths(
        "Process 7: /venv/bin/python -m x /tmp/dir/pids (/usr/lib/python3.11)") == (
        "Process 7: python -m x pids (python3.11)")
    assert analysis.shorten_command_paths("    mapstar (multiprocessing/pool.py:48)") == (
        "    mapstar (pool.py:48)")
    assert analysis.refusal_line("\nError: Permission Denied (os error 13)\nhint\n") == (
        "Error: Permission Denied (os error 13)")
    assert analysis.refusal_line("something\nlast words\n") == "last words"


def test_ray_rows_keep_one_functions_task_events():
    trace = [
        {"cat": "task::sleep_for", "ph": "X", "tid": "worker:a", "ts": 1_000_000.0,
         "dur": 500.0},
        {"cat": "task:execute", "ph": "X", "tid": "worker:a", "ts": 1_000_010.0, "dur": 400.0},
        {"cat": "submit_task", "ph": "X", "tid": "driver:0", "ts": 999_000.0, "dur": 10.0},
        {"cat": "task::other", "ph": "X", "tid": "worker:b", "ts": 1_000_000.0, "dur": 5.0},
    ]
    assert work.ray_task_rows(trace, "sleep_for") == [("worker:a", 1.0, 1.0005)]


def test_compact_timeline_numbers_workers_by_first_task():
    timeline = work.Timeline(began=10.0, ended=10.5, workers=2, chunksize=1, startup=0.25,
                             rows=[(222, 10.2, 10.3), (111, 10.1, 10.2), (222, 10.3, 10.4)])
    assert timeline.compact() == {"workers": 2, "chunksize": 1, "startup_us": 250_000,
                                  "span_us": 500_000,
                                  "rows": [[1, 200_000, 300_000], [0, 100_000, 200_000],
                                           [1, 300_000, 400_000]]}
    parsed = analysis.Timeline.from_record("even", timeline.compact())
    assert parsed.startup == 0.25
    assert parsed.parts() == pytest.approx({"before": 0.3, "running": 0.3, "between": 0.0,
                                            "after": 0.4})


def test_default_chunksize_is_pools():
    assert work.default_chunksize(120, 2) == 15
    assert work.default_chunksize(121, 2) == 16
    assert work.default_chunksize(3, 2) == 1


# --- every data-dependent sentence, each alternative --------------------------------------

def _timeline(shares: dict[str, float], workers: int = 2, chunksize: int = 1,
              gap: float = 0.001) -> analysis.Timeline:
    """A timeline of one second per worker with the given shares of before/running/between/
    after, made of two tasks per worker."""
    rows = []
    for worker in range(workers):
        start = shares["before"]
        half = shares["running"] / 2
        rows.append((worker, start, start + half))
        second = start + half + shares["between"]
        rows.append((worker, second, second + half))
    return analysis.Timeline(run="x", workers=workers, chunksize=chunksize, span=1.0,
                             rows=tuple(rows))


BUSY = {"before": 0.1, "running": 0.8, "between": 0.05, "after": 0.05}
GAPPY = {"before": 0.1, "running": 0.4, "between": 0.45, "after": 0.05}
IDLE_END = {"before": 0.1, "running": 0.5, "between": 0.05, "after": 0.35}


def test_chunk_sentence_every_way():
    chunked = _timeline(BUSY, chunksize=15)
    assert analysis.chunk_sentence(_timeline(GAPPY), chunked).startswith(
        "The timeline shows where the time went: with chunksize=1 the workers spent 40% of "
        "their time running tasks and 45% between them; with chunks of 15, 80% and 5%.")
    assert analysis.chunk_sentence(_timeline(BUSY), chunked).startswith(
        "Here the two runs lost about the same share of the workers' time between tasks")
    assert analysis.chunk_sentence(_timeline(BUSY), _timeline(GAPPY, chunksize=15)).startswith(
        "In this run the chunks lost more time between tasks than the single tasks did")


def test_straggler_and_longest_first_sentences_both_ways():
    even, straggler, balanced = _timeline(BUSY), _timeline(IDLE_END), _timeline(BUSY)
    assert analysis.straggler_sentence(even, straggler) == (
        "With the long task sent last, 35% of the workers' time went idle after their last "
        "task, against 5% with equal tasks: the other workers had nothing left to do while "
        "it ran, which is the ragged right edge of its timeline.")
    assert "did not hold the others up" in analysis.straggler_sentence(even, balanced)
    assert analysis.longest_first_sentence(straggler, balanced).endswith(
        "fell from 35% to 5% of the workers' time.")
    assert analysis.longest_first_sentence(straggler, straggler) == (
        "Sending the long task first did not cut the idle time at the end here (35% against "
        "35% sent last).")


@pytest.mark.parametrize(("ray_gap", "start"), [
    (0.02, "The gaps between tasks are wider on Ray: a median of 20.0 ms"),
    (0.006, "The gaps between tasks were about as narrow on Ray as in the pool"),
])
def test_ray_sentence(ray_gap, start):
    pool = _timeline({"before": 0.1, "running": 0.8, "between": 0.005, "after": 0.095})
    ray = _timeline({**BUSY, "between": ray_gap})
    assert analysis.ray_sentence(pool, ray).startswith(start)


def test_ray_where():
    local = analysis.RaySetting(address="local", nodes=1, cpus=2.0)
    assert analysis.ray_where(local) == "a local instance given 2 CPUs"
    cluster = analysis.RaySetting(address="10.0.0.1:6379", nodes=3, cpus=24.0)
    assert analysis.ray_where(cluster) == "the cluster at RAY_ADDRESS (3 nodes, 24 CPUs)"


@pytest.mark.parametrize(("killed", "start"), [
    (True, "The program was still waiting when its time limit of 5.00 s ran out"),
    (False, "The program ended by itself after 1.00 s, before its limit of 5.00 s (exit "
            "code 0)"),
])
def test_hang_sentence(found, killed, start):
    hang = dataclasses.replace(found.hang, killed=killed, limit_s=5.0, elapsed_s=1.0,
                               returncode=0)
    assert analysis.hang_sentence(hang).startswith(start)


@pytest.mark.parametrize(("dump", "start"), [
    ('  File "workload.py", line 1 in wait_for_a_lock_nobody_releases',
     "When the stuck task had run for 1.00 s, its worker wrote its stack"),
    ('  File "pool.py", line 1 in worker', "The worker wrote a stack dump, but it does not"),
    ("", "No worker wrote a stack dump before the time limit"),
])
def test_faulthandler_sentence(found, dump, start):
    hang = dataclasses.replace(found.hang, faulthandler_dump=dump, watchdog_s=1.0)
    assert analysis.faulthandler_sentence(hang).startswith(start)


STUCK_DUMP = "Thread 1:\n    wait_for_a_lock_nobody_releases (workload.py:1)\n"
IDLE_DUMP = "Thread 2:\n    SimpleQueue.get (queues.py:365)\n"
REFUSAL = "Error: Operation not permitted (os error 1)"


@pytest.mark.parametrize(("outcome", "dumps", "scope", "root", "says"), [
    ("dumped", ((11, STUCK_DUMP), (12, IDLE_DUMP)), None, True,
     "worker 11 is in wait_for_a_lock_nobody_releases, and worker 12 is idle in "
     "SimpleQueue.get, waiting for a task that will never come."),
    ("dumped", ((11, STUCK_DUMP),), None, True,
     "from outside, without any change to the program: worker 11 is in "
     "wait_for_a_lock_nobody_releases."),
    ("dumped", ((12, IDLE_DUMP),), None, True, "the stuck task had not begun when it looked"),
    ("refused", ((11, REFUSAL),), 1, False,
     "the kernel's Yama setting ptrace_scope is 1 and this build does not run as root"),
    ("refused", ((11, REFUSAL),), None, True, "for the reason in its message. It said: "
                                              f"“{REFUSAL}”."),
    ("missing", (), 1, False, "py-spy is not installed beside this interpreter"),
])
def test_py_spy_sentence_every_branch(found, outcome, dumps, scope, root, says):
    error = REFUSAL if outcome == "refused" else ""
    py_spy = dataclasses.replace(found.hang.py_spy, outcome=outcome, dumps=dumps,
                                 error_line=error, ptrace_scope=scope, root=root)
    sentence = analysis.py_spy_sentence(py_spy)
    assert says in sentence and sentence[0].islower() and sentence.endswith(".")
    hang = dataclasses.replace(found.hang, py_spy=py_spy)
    rows = dict(views.hang_table(None, dataclasses.replace(found, hang=hang)).frame.values)
    assert rows["ptrace here: root / Yama ptrace_scope"].startswith("yes" if root else "no")


@pytest.mark.parametrize(("named", "outcome", "dumps", "ends"), [
    (True, "dumped", ((11, STUCK_DUMP),), "and py-spy read the same frame from outside the "
                                          "process."),
    (True, "dumped", ((12, IDLE_DUMP),), "; py-spy's dumps did not name it either."),
    (False, "refused", ((11, REFUSAL),), f"; py-spy was not allowed to attach here "
                                         f"(“{REFUSAL}”)."),
    (False, "missing", (), "; py-spy was not installed to read it from outside."),
])
def test_hang_rule_why(found, named, outcome, dumps, ends):
    py_spy = dataclasses.replace(found.hang.py_spy, outcome=outcome, dumps=dumps,
                                 error_line=REFUSAL if outcome == "refused" else "")
    dump = STUCK_DUMP if named else ""
    hang = dataclasses.replace(found.hang, faulthandler_dump=dump, py_spy=py_spy)
    why = analysis.hang_rule_why(hang)
    assert why.startswith("In this build,") and why.endswith(ends)
    assert ("was found by the stuck worker itself" in why) is named


@pytest.mark.parametrize(("outcome", "dumps", "cell"), [
    ("dumped", ((11, STUCK_DUMP),), "yes"),
    ("dumped", ((12, IDLE_DUMP),), "no"),
    ("refused", ((11, REFUSAL),), "not allowed here"),
    ("missing", (), "not installed"),
])
def test_py_spy_cell(found, outcome, dumps, cell):
    py_spy = dataclasses.replace(found.hang.py_spy, outcome=outcome, dumps=dumps)
    assert analysis.py_spy_cell(py_spy) == cell


def _blas(found, default_threads: int, default_s: float, library: str = "openblas 0.3"):
    return dataclasses.replace(
        found.blas, cpus=2, workers=2, library=library,
        threads={"default": default_threads, "one": 1},
        total_threads={"default": 2 * default_threads, "one": 2},
        wall={"default": default_s, "one": 1.0}, switches={"default": 300.0, "one": 40.0},
        cpu={"default": 3.0, "one": 2.0})


@pytest.mark.parametrize(("threads", "library", "start"), [
    (2, "openblas 0.3", "The workers' own reports give the diagnosis: each worker's openblas "
                        "0.3 ran 2 threads by default, 4 in all on 2 usable CPUs"),
    (1, "openblas 0.3", "The workers' reports show no oversubscription here: each worker's "
                        "openblas 0.3 ran 1 thread by default, 2 in all"),
    (2, "", "threadpoolctl found no BLAS library in the workers"),
])
def test_blas_threads_sentence(found, threads, library, start):
    assert analysis.blas_threads_sentence(_blas(found, threads, 2.0, library)).startswith(start)


@pytest.mark.parametrize(("threads", "default_s", "start"), [
    (2, 2.0, "Limited to one BLAS thread each, the workers finished the tasks in 1.00 s "
             "instead of 2.00 s (the default took 2.0× as long), with 40 involuntary context "
             "switches instead of 300"),
    (2, 1.05, "Limiting them changed the time little on this machine: the tasks took 1.00 s "
              "instead of 1.05 s"),
    (1, 1.05, "With no more threads than CPUs to begin with, the limit had nothing to "
              "remove: the tasks took 1.00 s with it and 1.05 s without."),
])
def test_blas_verdict(found, threads, default_s, start):
    assert analysis.blas_verdict(_blas(found, threads, default_s)).startswith(start)


@pytest.mark.parametrize(("limited", "library", "expected"), [
    ({"fork": 1, "spawn": 1, "forkserver": 1}, "openblas 0.3",
     "This build checked it under fork, forkserver and spawn: a worker whose initializer "
     "called limit_blas_threads(1) reported one BLAS thread under each, while the parent ran "
     "2 BLAS threads."),
    ({"fork": 2, "spawn": 1, "forkserver": 1}, "openblas 0.3",
     "This build checked it under fork, forkserver and spawn, and the limit did not hold "
     "under fork: a worker there reported 2 BLAS threads after limit_blas_threads(1), while "
     "the parent ran 2 BLAS threads."),
    ({"fork": 0, "spawn": 0}, "",
     "With no BLAS library found, whether the initializer's limit holds under each start "
     "method could not be checked here."),
])
def test_blas_limit_sentence(found, limited, library, expected):
    blas = dataclasses.replace(_blas(found, 2, 2.0, library), limited_under=limited,
                               parent_threads=2)
    assert analysis.blas_limit_sentence(blas) == expected


def test_the_initializer_limit_was_checked_under_every_start_method(quick_found):
    import multiprocessing

    blas = quick_found.blas
    assert set(blas.limited_under) == set(multiprocessing.get_all_start_methods())
    if blas.library:
        assert all(threads == 1 for threads in blas.limited_under.values())


@pytest.mark.parametrize(("threads", "default_s", "library", "verdict", "says"), [
    (2, 2.0, "openblas 0.3", Verdict.FAILS, "cut the tasks' time from 2.00 s to 1.00 s"),
    (2, 1.05, "openblas 0.3", Verdict.PARTLY, "removing it changed the tasks' time little"),
    (1, 2.0, "openblas 0.3", Verdict.UNMEASURED, "did not outnumber the 2 usable CPUs"),
    (2, 2.0, "", Verdict.UNMEASURED, "no shortage of the program's own making"),
])
def test_cpu_shortage_claim_every_verdict(found, threads, default_s, library, verdict, says):
    judged = analysis.cpu_shortage_claim(_blas(found, threads, default_s, library))
    assert judged.verdict is verdict and says in judged.reason


def test_claims_of_the_committed_result(found):
    assert analysis.claims(found) == {
        "a000_cpu_shortage": analysis.cpu_shortage_claim(found.blas)}


def test_texts_read_as_sentences(any_found):
    texts = analysis.texts(any_found)
    for key, value in texts.items():
        if key.endswith(("_sentence", "_verdict", "_answer", "_why")):
            assert value[0].isupper() or value.startswith("py-spy"), key
            assert value.endswith("."), key
    assert dict(analysis.summary_rows(any_found))


def test_figures_draw_a_bar_per_task(found):
    import matplotlib.pyplot as plt

    for figure_id, make in views.FIGURES.items():
        figure = make(None, found)
        try:
            bars = sum(len(collection.get_paths()) for axes in figure.axes
                       for collection in axes.collections)
            runs = {"diagnostics-chunksize-timeline": diag.CHUNK_RUNS,
                    "diagnostics-straggler-timeline": diag.STRAGGLER_RUNS,
                    "diagnostics-ray-timeline": ("even", "ray")}[figure_id]
            assert bars == sum(found.timelines.runs[run].tasks for run in runs), figure_id
        finally:
            plt.close(figure)


def test_a_gap_below_the_stored_resolution_is_not_called_zero():
    assert views.gap_cell(0.0) == "under 1 µs"
    assert views.gap_cell(1.5e-5) == "15.0 µs"
