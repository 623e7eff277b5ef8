"""The start-methods chapter: its quick run (every demonstration under every start method
the platform offers, each method's outcome checked separately), the parsers that read the
demos' output, and each data-dependent sentence, on the committed result
``tests/results/start-methods.json``.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing

import pytest

from parbook.bench.results import load
from parbook.chapters.start_methods import analysis, views
from parbook.chapters.start_methods import experiment as experiment
from tests.conftest import ROOT
from tests.leftovers import left_behind

COMMITTED = ROOT / "tests" / "results" / "start-methods.json"
METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def quick(quick_results):
    return quick_results["start-methods"]


@pytest.fixture(scope="module")
def quick_found(quick):
    """Findings of this session's quick run: the demos' outcomes on this machine."""
    return analysis.findings(quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run: every case, and what every demo did under every method -------------------

def test_every_case_is_present_with_positive_finite_samples(quick):
    methods = set(experiment.available_methods())
    assert methods == set(METHODS) & set(experiment.METHOD_ORDER)
    sizes = experiment.QUICK
    for main in experiment.SCRIPTS:
        cases = [c for c in quick.group("startup") if c.params["main"] == main]
        assert {(c.params["method"], c.params["processes"]) for c in cases} == {
            (m, n) for m in methods for n in sizes.counts[main]}
        first = [c for c in quick.group("first_start") if c.params["main"] == main]
        assert {c.params["method"] for c in first} == methods
    assert len(quick.group("heavy_import")) == 1
    for case in quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_findings_and_tables_render(quick, quick_found):
    startup = quick_found.startup
    for value in (*startup.startup.values(), *startup.first.values(), startup.heavy_import):
        assert math.isfinite(value) and value > 0
    assert startup.modules_loaded["heavy"] > startup.modules_loaded["light"]
    assert analysis.article_verdict(quick_found.article)
    methods = list(quick_found.interpreter.methods)
    assert views.startup_table(quick, quick_found).frame.shape[0] == 2 * len(methods)
    assert list(views.article_table(quick, quick_found).frame.index) == [1, 5, 10]
    assert list(views.config_table(quick, quick_found).frame.columns) == methods


@pytest.mark.parametrize("method", METHODS)
def test_settings_under_the_guard_reach_only_fork_children(quick_found, method):
    run = quick_found.config.runs["guard"][method]
    assert run.returncode == 0 and not run.killed, run.errors
    children = run.children
    assert len(children) == 2 and run.parent.main == "__main__"
    assert "env_name" in run.parent.settings
    if method == "fork":
        assert run.children_saw_settings == 2
        assert all(c.main == "__main__" for c in children)
        assert all(c.id == run.parent.id for c in children)
    else:
        assert run.children_saw_settings == 0
        assert all(c.main == "__mp_main__" for c in children)
        assert all(c.settings == {"root": "config"} for c in children)
    assert all(c.pid != run.parent.pid for c in children)
    assert run.setup_pids == (run.parent.pid,)


@pytest.mark.parametrize("method", METHODS)
def test_module_level_setup_reaches_every_child_and_reruns_in_re_importers(quick_found, method):
    run = quick_found.config.runs["module"][method]
    assert run.returncode == 0 and not run.killed, run.errors
    assert run.children_saw_settings == len(run.children) == 2
    if method == "fork":
        assert run.setup_in_children == 0
    elif method == "spawn":
        assert run.setup_in_children == 2
    else:  # forkserver: in every child, or once in the server, depending on the Python
        assert len(run.setup_pids) >= 2


@pytest.mark.parametrize("method", METHODS)
def test_passing_the_settings_works_under_every_method(quick_found, method):
    run = quick_found.config.runs["passed"][method]
    assert run.returncode == 0 and not run.killed, run.errors
    assert run.children_saw_settings == len(run.children) == 2
    assert run.setup_pids == (run.parent.pid,)


def test_config_pattern_matches_the_chapter(quick_found):
    config = quick_found.config
    assert config.pattern_expected
    assert config.fork_shares_address
    assert config.main_names_expected and config.passed_setup_once
    assert config.guard_blind_children == config.guard_re_importer_children > 0
    if "spawn" in config.methods:
        assert config.runs["module"]["spawn"].setup_in_children == config.started(
            "module", "spawn")


@pytest.mark.parametrize("method", METHODS)
def test_fork_while_a_thread_holds_a_lock_hangs_only_under_fork(quick_found, method):
    lock = quick_found.fork_lock
    run = lock.runs[method]
    assert run.returncode == 0 and not run.killed, run.errors
    assert run.elapsed_s < experiment.DEMO_LIMIT_S
    assert run.parent_threads == 2 and run.child_threads == 1
    if method == "fork":
        assert run.child_saw_lock_held is True
        assert run.killed_after_patience and not run.child_finished
        assert run.child_exit_code == -9
        assert run.elapsed_s >= lock.patience_s
    else:
        assert run.child_saw_lock_held is False
        assert run.child_finished and run.child_exit_code == 0
    assert lock.as_expected


def test_nothing_is_left_behind(quick_found, shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    # A leaked semaphore or shared-memory block makes the resource tracker complain on
    # the script's standard error, which every demo captured.
    runs = [*quick_found.fork_lock.runs.values()]
    runs += [run for placement in quick_found.config.runs.values()
             for run in placement.values()]
    assert all(run.errors == "" for run in runs), [run.errors for run in runs]
    assert not new_shm, sorted(new_shm)


# --- the parsers that turn the demos' output into recorded facts -------------------------------

def test_parsers_read_the_demo_lines():
    parsed = experiment.parse_config_output(
        "setup() ran in pid 10\n"
        "parent : pid=10 main module=__main__ id(config)=0x1 settings={'root': 'config', "
        "'env_name': 'x'}\n"
        "child 0: pid=11 main module=__mp_main__ id(config)=0x2 settings={'root': 'config'}\n")
    assert parsed["parent"]["pid"] == 10 and parsed["children_saw_settings"] == 0
    assert parsed["setup_pids"] == [10] and parsed["setup_in_children"] == 0
    lock = experiment.parse_lock_output(
        "parent pid=1: threads=2, lock held=True; starting a child with fork\n"
        "child  pid=2: threads=1, lock held=True; taking the lock...\n"
        "parent: the child is still alive after 1.0 s; killing it\n"
        "parent: child exit code -9\n")
    assert lock["killed_after_patience"] and lock["child_exit_code"] == -9
    assert lock["parent_threads"] == 2 and lock["child_saw_lock_held"] is True
    assert lock["warning"] is None


WARNING = ("This process (pid=1) is multi-threaded, use of fork() may lead to deadlocks in "
           "the child.")


@pytest.mark.parametrize("middle", [
    # Each on its own line, as usual.
    f"parent: DeprecationWarning at start(): {WARNING}\n"
    "child  pid=2: threads=1, lock held=True; taking the lock...\n",
    # The parent's warning and the forked child's line written between each other's text
    # and newline: one line, whichever came first.
    f"parent: DeprecationWarning at start(): {WARNING}"
    "child  pid=2: threads=1, lock held=True; taking the lock...\n\n",
    "child  pid=2: threads=1, lock held=True; taking the lock..."
    f"parent: DeprecationWarning at start(): {WARNING}\n\n",
])
def test_lock_facts_are_read_however_the_two_processes_lines_fall(middle):
    lock = experiment.parse_lock_output(
        "parent pid=1: threads=2, lock held=True; starting a child with fork\n" + middle
        + "parent: the child is still alive after 1.0 s; killing it\n"
        "parent: child exit code -9\n")
    assert (lock["parent_threads"], lock["child_threads"]) == (2, 1)
    assert lock["child_saw_lock_held"] is True and not lock["child_finished"]
    assert lock["killed_after_patience"] and lock["child_exit_code"] == -9
    assert lock["warning"] == f"DeprecationWarning: {WARNING}"


# --- each data-dependent sentence, every alternative -------------------------------------------

def _heavy(startup, **one_child_s):
    """The committed start-up medians, with the heavy script's one-child times replaced."""
    times = dict(startup.startup)
    times.update({("heavy", method, 1): value for method, value in one_child_s.items()})
    return dataclasses.replace(startup, startup=times, heavy_import=1.0)


@pytest.mark.parametrize(("one_child_s", "expected"), [
    ({"spawn": 0.9, "forkserver": 0.8}, "both paid the imports again in every child"),
    ({"spawn": 0.9, "forkserver": 0.01}, "spawn paid the imports again in every child, while "
                                         "forkserver's children inherited them from its server"),
    ({"spawn": 0.01, "forkserver": 0.9}, "forkserver paid the imports again in every child"),
    ({"spawn": 0.01, "forkserver": 0.01}, "neither paid the imports in full again here"),
])
def test_heavy_verdict(found, one_child_s, expected):
    assert analysis.heavy_verdict(_heavy(found.startup, **one_child_s)) == expected


def _light(startup, methods=None, **per_extra_s):
    """Start-up medians of 1 and 5 processes from the light script, growing by
    ``per_extra_s`` per process for each method given."""
    times = {key: value for key, value in startup.startup.items() if key[0] != "light"}
    for method, extra in per_extra_s.items():
        times[("light", method, 1)] = 0.01
        times[("light", method, 5)] = 0.01 + 4 * extra
    return dataclasses.replace(startup, startup=times,
                               methods=tuple(methods or per_extra_s))


@pytest.mark.parametrize(("per_extra_s", "start"), [
    ({"forkserver": 0.01, "spawn": 0.05}, "after that, each child, a fork of that small server"),
    ({"forkserver": 0.045, "spawn": 0.05}, "after that, its children cost about as much"),
    ({"spawn": 0.05}, "this platform does not offer both forkserver and spawn"),
])
def test_forkserver_vs_spawn_sentence(found, per_extra_s, start):
    startup = _light(found.startup, **per_extra_s)
    assert analysis.forkserver_vs_spawn_sentence(startup).startswith(start)


def test_per_extra_is_the_slope_or_the_single_time(found):
    startup = _light(found.startup, fork=0.002)
    assert startup.per_extra("light", "fork") == pytest.approx(0.002)
    assert startup.per_extra("heavy", "fork") == startup.startup[("heavy", "fork", 1)]


@pytest.mark.parametrize(("light", "heavy", "start"), [
    (0.5, 0.9, "Yes: even a script with a light main module"),
    (0.05, 0.9, "Only with a heavy main module"),
    (0.05, 0.2, "Not on this machine: even the script with a heavy main module paid less"),
    (0.05, 5.0, "Not on this machine: a light script paid less and the heavy one more"),
])
def test_article_verdict(found, light, heavy, start):
    one = dataclasses.replace(found.article.one, article=1.0, light=light, heavy=heavy)
    article = dataclasses.replace(found.article, rows=(one, *found.article.rows[1:]))
    assert analysis.article_verdict(article).startswith(start)


def _module_forkserver(config, setup_pids):
    """The committed config runs, with forkserver's module-level run's setup PIDs replaced."""
    run = config.runs["module"]["forkserver"]
    runs = {**config.runs, "module": {**config.runs["module"], "forkserver": dataclasses.replace(
        run, setup_pids=setup_pids(run))}}
    return dataclasses.replace(config, runs=runs)


def test_forkserver_setup_sentence(found):
    config = found.config
    parent = config.runs["module"]["forkserver"].parent.pid
    children = tuple(child.pid for child in config.runs["module"]["forkserver"].children)
    every_child = _module_forkserver(config, lambda run: (parent, *children))
    in_the_server = _module_forkserver(config, lambda run: (parent, 99999))
    parent_only = _module_forkserver(config, lambda run: (parent,))
    assert analysis.forkserver_setup_sentence(every_child).startswith(
        "ran again in every child too")
    assert analysis.forkserver_setup_sentence(in_the_server).startswith(
        "ran once more, in the server")
    assert analysis.forkserver_setup_sentence(parent_only) == (
        "did not run again in the children")
    module = {m: run for m, run in config.runs["module"].items() if m != "forkserver"}
    without = dataclasses.replace(config, runs={**config.runs, "module": module})
    assert analysis.forkserver_setup_sentence(without) == "is not available on this platform"


@pytest.mark.parametrize(("python", "warning", "expected"), [
    ("3.12.1", "DeprecationWarning: multi-threaded",
     "This build's Python 3.12.1 did, in the demo above: DeprecationWarning: multi-threaded"),
    ("3.11.7", None,
     "This build's Python 3.11.7 predates that warning, so the demo recorded none."),
    ("3.13.0", None,
     "The demo above recorded no such warning under this build's Python 3.13.0."),
])
def test_fork_warning_sentence(found, python, warning, expected):
    interpreter = dataclasses.replace(found.interpreter, python=python)
    fork = dataclasses.replace(found.fork_lock.runs["fork"], warning=warning)
    lock = dataclasses.replace(found.fork_lock, runs={**found.fork_lock.runs, "fork": fork})
    assert analysis.fork_warning_sentence(interpreter, lock) == expected


@pytest.mark.parametrize(("counts", "expected"), [
    ((1,), "1 process"), ((1, 2), "1 and 2 processes"), ((1, 5, 10), "1, 5 and 10 processes"),
])
def test_counts_text(counts, expected):
    assert analysis.counts_text(counts) == expected


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["sm_start_methods"] == "fork, spawn, forkserver"
    assert texts["sm_guard_blind"] == texts["sm_guard_re_import_children"] == 4
    assert texts["sm_children_per_run"] == 2
    assert (texts["sm_lock_parent_threads"], texts["sm_lock_child_threads"]) == (2, 1)
    assert texts["sm_counts_light"] == "1 and 5 processes"
    assert texts["sm_heavy_verdict"] == analysis.heavy_verdict(found.startup)
    assert texts["sm_article_verdict"] == analysis.article_verdict(found.article)
    # The kernel's threads are those of the process that computed the findings.
    assert texts["sm_kernel_threads"] == len(found.reader.threads) >= 1
    assert "MainThread" in texts["sm_kernel_thread_names"].split(", ")
    # What the page shows as console output: every run, whole, with its header.
    printed = analysis.outputs(found)
    for method in found.config.methods:
        assert f"--- {method}: exit code 0\n" in printed["start-methods-config-guard"]
    lock = printed["start-methods-fork-lock"]
    assert lock.startswith("--- fork: the demo exited with code 0 after")
    assert lock.endswith(found.fork_lock.runs["spawn"].output)
