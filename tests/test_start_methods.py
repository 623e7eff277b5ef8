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

from parbook import interpreters
from parbook.bench.results import load
from parbook.chapters.start_methods import analysis, views
from parbook.chapters.start_methods import experiment as experiment
from parbook.claims import Verdict
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
    summary = views.summary_table(quick, quick_found).frame
    assert list(summary.columns) == methods and len(summary) == 5
    assert "each extra process" in views.startup_table(quick, quick_found).frame.columns


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
        main = quick_found.forkserver_main
        assert len(run.setup_pids) == (3 if main.children_reimported else 2)
        assert run.setup_in_children == (2 if main.children_reimported else 0)


@pytest.mark.skipif("forkserver" not in METHODS, reason="no forkserver on this platform")
def test_forkserver_main_import_is_recorded_as_the_python_version_says(quick, quick_found):
    """The recorded fact: each forkserver child imported the main script itself, or the
    server did once, as CPython's changelog says this build's version does."""
    main = quick_found.forkserver_main
    assert quick.values["forkserver_main"]["children"] == 2
    if quick_found.interpreter.preloads_main:
        assert main.server_preloaded and not main.children_reimported
    else:
        assert main.children_reimported and not main.server_preloaded
    sentence = analysis.forkserver_main_sentence(quick_found.interpreter, main)
    assert sentence.startswith(f"On this build's Python {quick_found.interpreter.python}, ")
    assert "although" not in sentence  # the measurement agrees with the changelog


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

#: What config_at_module.py printed under forkserver with a fork server that preloads
#: __main__ (CPython 3.13.0 with the gh-126631 and gh-143706 fixes applied to its
#: multiprocessing package by hand, as 3.13.12 and 3.14.3 ship them): setup() ran in the
#: parent and once in the server, never in the children.
PRELOADED_MODULE_RUN = (
    "setup() ran in pid 14046\n"
    "parent : pid=14046 main module=__main__ id(config)=0x7f2799d56ba0 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n"
    "setup() ran in pid 14048\n"
    "child 0: pid=14049 main module=__mp_main__ id(config)=0x7f6a98d80ec0 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n"
    "child 1: pid=14050 main module=__mp_main__ id(config)=0x7f6a98d80ec0 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n")
#: The same script under forkserver on this book's CPython 3.11 (and 3.12.1, 3.13.0):
#: setup() ran in the parent and again in every child.
REIMPORTED_MODULE_RUN = (
    "setup() ran in pid 25386\n"
    "parent : pid=25386 main module=__main__ id(config)=0x7f6bfb7ef650 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n"
    "setup() ran in pid 25389\n"
    "child 0: pid=25389 main module=__mp_main__ id(config)=0x7f8dc834aa10 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n"
    "setup() ran in pid 25390\n"
    "child 1: pid=25390 main module=__mp_main__ id(config)=0x7f8dc834a850 settings={'root': "
    "'config', 'env_name': 'CartPole-v1', 'server_port': 4100}\n")


@pytest.mark.parametrize(("output", "expected"), [
    (PRELOADED_MODULE_RUN, {"children": 2, "children_imported": 0,
                            "children_reimported": False, "server_preloaded": True}),
    (REIMPORTED_MODULE_RUN, {"children": 2, "children_imported": 2,
                             "children_reimported": True, "server_preloaded": False}),
])
def test_forkserver_main_fact_reads_who_ran_the_top_level(output, expected):
    fact = experiment.forkserver_main_fact(experiment.parse_config_output(output))
    assert fact == expected
    assert experiment.forkserver_main_fact(None) is None


@pytest.mark.parametrize(("python", "preloads"), [
    ("3.11.7", False), ("3.12.12", False), ("3.13.0", False), ("3.13.7", False),
    ("3.13.8", True), ("3.13.12", True), ("3.14.0", False), ("3.14.0rc3", False),
    ("3.14.1", True), ("3.14.3", True), ("3.15.0a1", True),
])
def test_which_pythons_preload_the_main_script(found, python, preloads):
    assert dataclasses.replace(found.interpreter, python=python).preloads_main is preloads


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
    ({"spawn": 0.9, "forkserver": 0.8},
     "So spawn and forkserver both paid the imports again for every child."),
    ({"spawn": 0.9, "forkserver": 0.01},
     "So spawn paid the imports again for every child, while forkserver's children "
     "inherited them from its server."),
    ({"spawn": 0.01, "forkserver": 0.9},
     "So only forkserver paid the imports again for every child here."),
    ({"spawn": 0.01, "forkserver": 0.01},
     "So neither spawn nor forkserver paid the imports in full again here."),
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
    ({"forkserver": 0.01, "spawn": 0.05}, "After that, each child, a fork of that small server"),
    ({"forkserver": 0.045, "spawn": 0.05}, "After that, its children cost about as much"),
    ({"spawn": 0.05}, "This platform does not offer both forkserver and spawn"),
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


def _main(children_reimported, server_preloaded):
    """Who imported the main script under forkserver, as the module-level run could show."""
    return analysis.ForkserverMain(children=2, children_imported=2 * children_reimported,
                                   children_reimported=children_reimported,
                                   server_preloaded=server_preloaded)


REIMPORTED, PRELOADED = _main(True, False), _main(False, True)
BOTH, NEITHER = _main(True, True), _main(False, False)


@pytest.mark.parametrize(("main", "expected"), [
    (REIMPORTED, "Under forkserver it ran again in every child too: each child imported the "
                 "script after the server forked it."),
    (PRELOADED, "Under forkserver it ran once more, in the fork server, and the children "
                "inherited its result."),
    (BOTH, "Under forkserver it ran in the fork server and again in every child."),
    (NEITHER, "Under forkserver it did not run again at all."),
    (None, "This platform offers no forkserver to compare."),
])
def test_forkserver_setup_sentence(main, expected):
    assert analysis.forkserver_setup_sentence(main) == expected


@pytest.mark.parametrize(("python", "main", "expected"), [
    ("3.11.7", REIMPORTED,
     "On this build's Python 3.11.7, each forkserver child imported the main script itself "
     "after the server forked it, just as a spawned child does: on this version the "
     "server's preload of __main__ never happens."),
    ("3.14.3", PRELOADED,
     "On this build's Python 3.14.3, the fork server imported the main script once, before "
     "forking, and every child inherited that import instead of repeating it."),
    ("3.12.4", PRELOADED,
     "On this build's Python 3.12.4, the fork server imported the main script once, before "
     "forking, and every child inherited it, although CPython 3.12.4 as released does not "
     "do that; this interpreter must carry the fix as a patch of its own."),
    ("3.13.12", REIMPORTED,
     "On this build's Python 3.13.12, each forkserver child imported the main script "
     "itself, although CPython 3.13.12 as released has the server import it once; "
     "something in this interpreter kept the preload from happening."),
    ("3.14.1", BOTH,
     "On this build's Python 3.14.1, the fork server imported the main script and every "
     "child imported it again as well."),
    ("3.14.1", NEITHER,
     "On this build's Python 3.14.1, neither the fork server nor its children imported the "
     "main script again, as far as the script's output shows."),
    ("3.14.1", None,
     "This platform offers no forkserver start method, so this build could not see what "
     "its server imports."),
])
def test_forkserver_main_sentence(found, python, main, expected):
    interpreter = dataclasses.replace(found.interpreter, python=python)
    assert analysis.forkserver_main_sentence(interpreter, main) == expected


@pytest.mark.parametrize(("main", "expected"), [
    (REIMPORTED, "each child"), (PRELOADED, "the fork server, once; children inherit it"),
    (BOTH, "the fork server, and each child again"), (NEITHER, "no process"),
])
def test_importers_cell_for_forkserver(found, main, expected):
    assert analysis.importers_cell("forkserver", found.config, main) == expected


@pytest.mark.parametrize(("method", "in_children", "expected"), [
    ("spawn", 2, "each child"), ("fork", 0, "no process: the child is a copy"),
    ("spawn", 0, "no process"), ("spawn", 1, "1 of 2 children"),
])
def test_importers_cell_for_the_others(found, method, in_children, expected):
    run = dataclasses.replace(found.config.runs["module"][method], setup_in_children=in_children)
    runs = {**found.config.runs, "module": {**found.config.runs["module"], method: run}}
    config = dataclasses.replace(found.config, runs=runs)
    assert analysis.importers_cell(method, config, None) == expected


@pytest.mark.parametrize(("change", "expected"), [
    ({}, "took a free lock and finished"),
    ({"killed_after_patience": True, "child_finished": False, "child_saw_lock_held": True},
     "stuck on the lock; killed after 1.00 s"),
    ({"child_finished": False, "child_exit_code": 1}, "ended otherwise (exit code 1)"),
])
def test_lock_cell(found, change, expected):
    lock = found.fork_lock
    run = dataclasses.replace(lock.runs["spawn"], **change)
    lock = dataclasses.replace(lock, patience_s=1.0, runs={**lock.runs, "spawn": run})
    assert analysis.lock_cell(lock, "spawn") == expected


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
    # Recorded on CPython 3.11.7: each forkserver child imported the main script itself.
    assert found.forkserver_main == REIMPORTED
    assert texts["sm_forkserver_main"] == analysis.forkserver_main_sentence(
        found.interpreter, REIMPORTED)
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


def test_texts_and_tables_read_right_on_a_python_whose_fork_server_preloads(found):
    """The chapter on a build whose fork server imports the main script once (3.13.8+,
    3.14.1+): the forkserver module-level run replaced by the simulated one above."""
    parsed = experiment.parse_config_output(PRELOADED_MODULE_RUN)
    run = dataclasses.replace(
        found.config.runs["module"]["forkserver"], output=PRELOADED_MODULE_RUN,
        parent=analysis.Report(**parsed["parent"]),
        children=tuple(analysis.Report(**child) for child in parsed["children"]),
        setup_pids=tuple(parsed["setup_pids"]), setup_in_children=parsed["setup_in_children"])
    runs = {**found.config.runs, "module": {**found.config.runs["module"], "forkserver": run}}
    preloading = dataclasses.replace(
        found, interpreter=dataclasses.replace(found.interpreter, python="3.13.12"),
        config=dataclasses.replace(found.config, runs=runs),
        forkserver_main=analysis.ForkserverMain(
            **experiment.forkserver_main_fact(parsed)))
    texts = analysis.texts(preloading)
    assert texts["sm_forkserver_main"] == (
        "On this build's Python 3.13.12, the fork server imported the main script once, "
        "before forking, and every child inherited that import instead of repeating it.")
    assert texts["sm_forkserver_setup"].startswith("Under forkserver it ran once more")
    summary = views.summary_table(None, preloading).frame
    assert summary.loc["who imported the main script again", "forkserver"] == (
        "the fork server, once; children inherit it")
    assert summary.loc["who imported the main script again", "spawn"] == "each child"


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def _claim_data(found, fork_s=None, fork_stuck=True):
    """The start-up timings with fork's one child at ``fork_s`` (unchanged if None), and the
    lock demo with fork's child stuck or not."""
    startup = dict(found.startup.startup)
    if fork_s is not None:
        startup[("light", "fork", 1)] = fork_s
    runs = dict(found.fork_lock.runs)
    runs["fork"] = dataclasses.replace(runs["fork"], killed_after_patience=fork_stuck)
    return (dataclasses.replace(found.startup, startup=startup),
            dataclasses.replace(found.fork_lock, runs=runs))


@pytest.mark.parametrize(("fork_s", "stuck", "verdict", "says"), [
    (0.001, True, Verdict.PARTLY, "hung under fork and finished under spawn"),
    (0.001, False, Verdict.PARTLY, "did not show fork hanging"),
    (10.0, True, Verdict.PARTLY, "no less than spawn's"),
    (10.0, False, Verdict.FAILS, "no less than spawn's"),
])
def test_fork_spawn_claim_every_verdict(found, fork_s, stuck, verdict, says):
    judged = analysis.fork_spawn_claim(*_claim_data(found, fork_s, stuck))
    assert judged.verdict is verdict and says in judged.reason
    assert "Memory use" in judged.reason and "not measured" in judged.reason


def _guard_run(found, method, **changes):
    """The config findings with the guarded script's run under ``method`` changed."""
    runs = dict(found.config.runs)
    runs["guard"] = {**runs["guard"],
                     method: dataclasses.replace(runs["guard"][method], **changes)}
    return dataclasses.replace(found.config, runs=runs)


def test_main_settings_claim_every_verdict(found):
    judged = analysis.main_settings_claim(found.config)
    assert judged.verdict is Verdict.HOLDS and "__mp_main__" in judged.reason
    spawned = found.config.runs["guard"]["spawn"]
    renamed = tuple(dataclasses.replace(child, main="__main__") for child in spawned.children)
    judged = analysis.main_settings_claim(_guard_run(found, "spawn", children=renamed))
    assert judged.verdict is Verdict.PARTLY and "but not every child" in judged.reason
    blind_fork = _guard_run(found, "fork", children_saw_settings=0)
    judged = analysis.main_settings_claim(blind_fork)
    assert judged.verdict is Verdict.FAILS and "not the split" in judged.reason
    seeing_spawn = _guard_run(found, "spawn", children_saw_settings=len(spawned.children))
    assert analysis.main_settings_claim(seeing_spawn).verdict is Verdict.FAILS


def test_module_level_claim_both_ways(found):
    judged = analysis.module_level_claim(found.config)
    assert judged.verdict is Verdict.HOLDS and "more times" in judged.reason
    runs = dict(found.config.runs)
    runs["module"] = {**runs["module"], "spawn": dataclasses.replace(
        runs["module"]["spawn"], children_saw_settings=0)}
    judged = analysis.module_level_claim(dataclasses.replace(found.config, runs=runs))
    assert judged.verdict is Verdict.FAILS and "only" in judged.reason


@pytest.mark.parametrize(("fork_s", "stuck", "verdict", "says"), [
    (0.001, True, Verdict.HOLDS, "finished under forkserver and spawn"),
    (0.001, False, Verdict.PARTLY, "did not show fork hanging"),
    (10.0, True, Verdict.PARTLY, "fork was not the cheapest"),
    (10.0, False, Verdict.FAILS, "fork was not the cheapest"),
])
def test_thread_safe_start_claim_every_verdict(found, fork_s, stuck, verdict, says):
    judged = analysis.thread_safe_start_claim(*_claim_data(found, fork_s, stuck))
    assert judged.verdict is verdict and says in judged.reason


@pytest.mark.parametrize(("platform", "python", "default", "verdict", "says"), [
    ("Linux-6.1.0-x86_64-with-glibc2.36", "3.11.7", "fork", Verdict.PARTLY, "as the article"),
    ("Linux-6.1.0-x86_64-with-glibc2.36", "3.14.0", "forkserver", Verdict.FAILS,
     "not the fork the article gives"),
    ("macOS-14.0-arm64-arm-64bit", "3.12.1", "spawn", Verdict.PARTLY, "(macOS, Python 3.12.1)"),
    ("Windows-10-10.0.19041-SP0", "3.12.1", "spawn", Verdict.PARTLY, "as the article"),
    ("macOS-14.0-arm64-arm-64bit", "3.12.1", "fork", Verdict.FAILS, "not the spawn"),
])
def test_default_methods_claim_every_verdict(found, platform, python, default, verdict, says):
    interpreter = dataclasses.replace(found.interpreter, platform=platform, python=python,
                                      default_method=default)
    judged = analysis.default_methods_claim(interpreter)
    assert judged.verdict is verdict and says in judged.reason
    assert "forkserver from 3.14" in judged.reason


def _spawn_over_fork(found, light, heavy):
    """The start-up timings with one spawned child ``light`` and ``heavy`` times a forked
    one's, from the light and the heavy script."""
    startup = dict(found.startup.startup)
    for main, ratio in (("light", light), ("heavy", heavy)):
        startup[(main, "spawn", 1)] = startup[(main, "fork", 1)] * ratio
    return dataclasses.replace(found.startup, startup=startup)


@pytest.mark.parametrize(("light", "heavy", "verdict", "says"), [
    (1.2, 1.3, Verdict.HOLDS, "from both"),
    (1.2, 30.0, Verdict.PARTLY, "only from the light script"),
    (30.0, 1.2, Verdict.PARTLY, "only from the heavy one"),
    (30.0, 30.0, Verdict.FAILS, "much slower, not slightly"),
])
def test_spawn_slightly_slower_claim_every_verdict(found, light, heavy, verdict, says):
    judged = analysis.spawn_slightly_slower_claim(_spawn_over_fork(found, light, heavy))
    assert judged.verdict is verdict and says in judged.reason
    assert f"took {analysis.format_ratio(light)} as long" in judged.reason


def _lock_seen(found, method, held):
    runs = dict(found.fork_lock.runs)
    runs[method] = dataclasses.replace(runs[method], child_saw_lock_held=held)
    return dataclasses.replace(found.fork_lock, runs=runs)


def test_fork_inherits_claim_every_verdict(found):
    judged = analysis.fork_inherits_claim(found.fork_lock)
    assert judged.verdict is Verdict.PARTLY and "new and free" in judged.reason
    assert "not recorded" in judged.reason
    judged = analysis.fork_inherits_claim(_lock_seen(found, "spawn", True))
    assert judged.verdict is Verdict.PARTLY and "under spawn the child's lock was held too" in (
        judged.reason)
    judged = analysis.fork_inherits_claim(_lock_seen(found, "fork", False))
    assert judged.verdict is Verdict.FAILS and "did not inherit" in judged.reason


def _config_run(config, placement, method, **changes):
    """``config`` with one script's run under ``method`` changed."""
    runs = dict(config.runs)
    runs[placement] = {**runs[placement],
                       method: dataclasses.replace(runs[placement][method], **changes)}
    return dataclasses.replace(config, runs=runs)


def test_spawn_no_globals_claim_every_verdict(found):
    judged = analysis.spawn_no_globals_claim(found.config)
    assert judged.verdict is Verdict.PARTLY and "re-created" in judged.reason
    judged = analysis.spawn_no_globals_claim(
        _config_run(found.config, "module", "spawn", children_saw_settings=0))
    assert judged.verdict is Verdict.HOLDS and "saw neither" in judged.reason
    spawned = len(found.config.runs["guard"]["spawn"].children)
    judged = analysis.spawn_no_globals_claim(
        _config_run(found.config, "guard", "spawn", children_saw_settings=spawned))
    assert judged.verdict is Verdict.FAILS and "did get the parent's state" in judged.reason


def _ids(run, ids):
    """``run`` with its children reporting ``ids`` for config, in order."""
    return tuple(dataclasses.replace(child, id=id_)
                 for child, id_ in zip(run.children, ids, strict=False))


def test_fork_same_address_claim_every_verdict(found):
    judged = analysis.fork_same_address_claim(found.config)
    assert judged.verdict is Verdict.HOLDS and "printed their parent's id(config)" in (
        judged.reason)
    forked = found.config.runs["guard"]["fork"]
    moved = _ids(forked, ["0x1"] * len(forked.children))
    judged = analysis.fork_same_address_claim(
        _config_run(found.config, "guard", "fork", children=moved))
    assert judged.verdict is Verdict.FAILS and "only" in judged.reason
    no_fork = dataclasses.replace(found.config, runs={
        placement: {m: run for m, run in runs.items() if m != "fork"}
        for placement, runs in found.config.runs.items()})
    assert analysis.fork_same_address_claim(no_fork).verdict is Verdict.UNMEASURED


def test_forkserver_same_address_claim_every_verdict(found):
    judged = analysis.forkserver_same_address_claim(found.config)
    assert judged.verdict is Verdict.FAILS and "did not happen here" in judged.reason
    config = found.config
    for placement in config.runs:  # the same address twice, one script after another
        served = config.runs[placement]["forkserver"]
        config = _config_run(config, placement, "forkserver",
                             children=_ids(served, ["0x1"] * len(served.children)))
        if placement == "guard":
            partly = analysis.forkserver_same_address_claim(config)
            assert partly.verdict is Verdict.PARTLY and "only some of the time" in partly.reason
    judged = analysis.forkserver_same_address_claim(config)
    assert judged.verdict is Verdict.HOLDS and "In each of the" in judged.reason
    no_server = dataclasses.replace(found.config, runs={
        placement: {m: run for m, run in runs.items() if m != "forkserver"}
        for placement, runs in found.config.runs.items()})
    judged = analysis.forkserver_same_address_claim(no_server)
    assert judged.verdict is Verdict.UNMEASURED


def test_claims_of_the_committed_result(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a003_default_methods", "a003_fork_inherits_handles",
                           "a003_fork_spawn", "a003_spawn_slightly_slower",
                           "a004_fork_same_address", "a004_forkserver_same_address",
                           "a004_main_settings", "a004_module_level", "a004_spawn_no_globals",
                           "a004_thread_safe_start"}
    assert judged["a003_fork_spawn"].verdict is Verdict.PARTLY
    # The committed result ran on Linux with Python 3.11, whose default is fork.
    assert found.interpreter.system == "Linux" and found.interpreter.default_method == "fork"
    assert judged["a003_default_methods"].verdict is Verdict.PARTLY


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def run_of(found, python, default="fork", reimported=True, preloaded=False, forkserver=True):
    """An interpreter's run whose findings are the committed ones, with its version, its
    default start method and who imported the main script under forkserver (``forkserver``
    False: the platform offers none)."""
    from parbook.bench.results import Result
    from parbook.interpreters import InterpreterRun

    main = (dataclasses.replace(found.forkserver_main, children_reimported=reimported,
                                server_preloaded=preloaded) if forkserver else None)
    changed = dataclasses.replace(
        found, forkserver_main=main,
        interpreter=dataclasses.replace(found.interpreter, python=python,
                                        default_method=default))
    result = Result(experiment="start-methods", quick=True, machine={
        "python_implementation": "CPython", "python_version": python})
    return InterpreterRun(None, result=result, found=changed)


def test_interpreter_rows_name_every_headline(found):
    rows = analysis.interpreter_rows(found)
    assert len(rows) == 8
    assert rows["default start method"] == found.interpreter.default_method
    assert rows["who imports the main script, forkserver"] == "each child"
    assert rows["warning on fork with a second thread running"] == "none"
    lock = found.fork_lock
    warned = dataclasses.replace(lock, runs={**lock.runs, "fork": dataclasses.replace(
        lock.runs["fork"], warning="DeprecationWarning: This process is multi-threaded")})
    spawn_only = dataclasses.replace(
        found, forkserver_main=None, fork_lock=dataclasses.replace(lock, runs={}),
        interpreter=dataclasses.replace(found.interpreter, methods=("spawn",)),
        startup=dataclasses.replace(found.startup, startup={
            key: value for key, value in found.startup.startup.items() if key[1] == "spawn"}))
    assert analysis.interpreter_rows(dataclasses.replace(found, fork_lock=warned))[
        "warning on fork with a second thread running"] == "DeprecationWarning"
    rows = analysis.interpreter_rows(spawn_only)
    assert [label for label, cell in rows.items() if cell == analysis.NOT_OFFERED] == [
        "start and join one process, light script, fork",
        "start and join one process, light script, forkserver",
        "forkserver: starting its server, once",
        "who imports the main script, forkserver",
        "warning on fork with a second thread running"]


def test_default_method_across_interpreters_every_case(found):
    alone = [run_of(found, "3.12.1")]
    assert analysis.default_method_across_interpreters(alone) == (
        "The default start method on CPython 3.12.1 was fork.")
    same = [*alone, run_of(found, "3.13.0")]
    assert analysis.default_method_across_interpreters(same) == (
        "The default start method was fork under every interpreter here: a program that "
        "names no method started its processes the same way on each.")
    changed = [*same, run_of(found, "3.14.0", default="forkserver")]
    assert analysis.default_method_across_interpreters(changed) == (
        "The default start method differed: fork on CPython 3.12.1 and CPython 3.13.0; "
        "forkserver on CPython 3.14.0. A program that names no method starts its processes "
        "differently depending on which of them runs it, so name one.")


def test_forkserver_main_across_interpreters_every_case(found):
    old = [run_of(found, "3.12.1"), run_of(found, "3.13.0")]
    assert analysis.forkserver_main_across_interpreters(old) == (
        "Under forkserver, every child imported the main script itself on CPython 3.12.1 and "
        "CPython 3.13.0. That is what each version's changelog says.")
    fixed = run_of(found, "3.14.1", default="forkserver", reimported=False, preloaded=True)
    assert analysis.forkserver_main_across_interpreters([*old, fixed]) == (
        "Under forkserver, every child imported the main script itself on CPython 3.12.1 and "
        "CPython 3.13.0; the fork server imported the main script once and its children "
        "inherited it on CPython 3.14.1. Each is what its version's changelog says: the fix "
        "of gh-126631 is what separates them.")
    patched = run_of(found, "3.12.1", reimported=True, preloaded=True)
    assert analysis.forkserver_main_across_interpreters([patched]) == (
        "Under forkserver, the fork server imported the main script and every child imported "
        "it again on CPython 3.12.1. On CPython 3.12.1 that is not what CPython of that "
        "version, as released, is documented to do (the changelog table above).")
    neither = run_of(found, "3.13.0", reimported=False)
    assert analysis.forkserver_main_across_interpreters(old[:1]).endswith(
        "That is what its version's changelog says.")
    assert analysis.forkserver_main_across_interpreters([neither]) == (
        "Under forkserver, no process imported the main script again on CPython 3.13.0. On "
        "CPython 3.13.0 that is not what CPython of that version, as released, is documented "
        "to do (the changelog table above).")
    assert analysis.forkserver_main_across_interpreters(
        [run_of(found, "3.13.0", forkserver=False)]) == (
        "No interpreter here offered forkserver, so what its server imports is not shown.")


@pytest.mark.parametrize(("group", "params", "expected"), [
    ("startup", {"main": "light", "method": "spawn", "processes": 1},
     "starting and joining 1 process under spawn (light main module)"),
    ("startup", {"main": "heavy", "method": "fork", "processes": 5},
     "starting and joining 5 processes under fork (main module imports numpy + "
     "matplotlib.pyplot)"),
    ("first_start", {"main": "light", "method": "forkserver"},
     "the first process under forkserver (light main module)"),
    ("heavy_import", {"main": "heavy"},
     "the heavy script's own imports of numpy and matplotlib.pyplot"),
    ("other", {"x": 1}, "other (x 1)"),
])
def test_describe_case_names_each_group(group, params, expected):
    assert analysis.describe_case(group, params) == expected


def test_grouped_keeps_first_appearance_order(found):
    runs = [run_of(found, "3.12.1", default="spawn"), run_of(found, "3.13.0"),
            run_of(found, "3.13.1", default="spawn")]
    assert interpreters.grouped(runs, lambda found: found.interpreter.default_method) == [
        ("spawn", ["CPython 3.12.1", "CPython 3.13.1"]), ("fork", ["CPython 3.13.0"])]
