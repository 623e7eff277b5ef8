"""The vector-envs chapter: its quick run (every case, the demonstrations behave as the page
says), the chapter's workloads, and each of its data-dependent sentences, on the committed
result ``tests/results/vector-envs.json``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.vector_envs import analysis, views
from parbook.chapters.vector_envs import experiment as experiment
from parbook.chapters.vector_envs import workload as work
from parbook.render.formatting import format_ratio
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "vector-envs.json"


@pytest.fixture(scope="module")
def vector_quick(quick_results):
    """The experiment in quick mode, run once per session as the page runs it."""
    return quick_results["vector-envs"]


@pytest.fixture(scope="module")
def quick_found(vector_quick):
    return analysis.findings(vector_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run -------------------------------------------------------------------------

def test_every_sweep_case_is_present_with_positive_finite_samples(vector_quick):
    sizes = experiment.QUICK
    keys = {(c.params["phase"], c.params["backend"], c.params["work_s"], c.params["envs"])
            for c in vector_quick.group("sweep")}
    expected = {("local", backend, w, n) for backend in ("loop", *work.BACKENDS)
                for w in sizes.work_s for n in sizes.env_counts}
    expected |= {("ray", backend, w, n) for backend in ("loop", "ray")
                 for w in sizes.work_s for n in sizes.env_counts}
    assert keys == expected
    for case in vector_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_every_backend_sampled_the_same_steps_at_each_point(vector_quick):
    steps: dict[tuple, set[int]] = {}
    for case in vector_quick.group("sweep"):
        key = (case.params["work_s"], case.params["envs"])
        steps.setdefault(key, set()).add(case.params["steps"])
    assert all(len(values) == 1 for values in steps.values()), steps


def test_creation_round_trips_and_where_ray_ran(vector_quick, quick_found):
    methods = {c.params["method"] for c in vector_quick.group("creation")}
    # The page compares fork with spawn.
    assert {"fork", "spawn"} <= methods
    assert {"fork", "spawn"} <= set(quick_found.start_methods.creation)
    assert methods == {c.params["method"] for c in vector_quick.group("method_steps")}
    channels = {c.params["channel"] for c in vector_quick.group("round_trip")}
    assert channels == set(experiment.ROUND_TRIP_LABELS)
    assert vector_quick.parameters["ray_address"] == "local"
    assert vector_quick.parameters["ray_cluster_cpus"] >= 1


def test_guard_demo_shows_the_bug_and_the_fix(vector_quick, quick_found):
    guard = quick_found.bugs.guard
    for method, demo in guard.items():
        assert demo.returncode == 0 and not demo.killed, (method, demo.errors)
    # What the page says happened: fork workers saw the guarded settings, the others not,
    # and passed settings reached every worker.
    assert quick_found.bugs.guard_as_expected, guard
    assert guard["spawn"].reading_global.main_modules == ("__mp_main__",)
    assert guard["fork"].reading_global.main_modules == ("__main__",)
    assert views.guard_table(vector_quick, quick_found).frame.shape == (len(guard), 2)
    printed = views.guard_demo(vector_quick, quick_found)
    assert [line.split(":")[0] for line in printed.splitlines() if line.startswith("---")] == [
        f"--- {method}" for method in guard]


def test_findings_tables_and_figure(vector_quick, quick_found):
    found = quick_found
    assert found.bugs.instance_mistake.startswith("TypeError: ")
    assert "not callable" in found.bugs.instance_mistake
    assert found.round_trips.pipe > 0 and found.round_trips.ray_actor > 0
    for backend in experiment.PARALLEL:
        speedups = [found.sweep.speedups[backend][w][found.sweep.most]
                    for w in found.sweep.work_levels]
        assert len(speedups) == len(experiment.QUICK.work_s)
        assert all(math.isfinite(s) and s > 0 for s in speedups)
        assert isinstance(analysis.crossover_text(found.crossovers[backend]), str)
    table = views.throughput_table(vector_quick, found).frame
    assert table.shape == (len(experiment.QUICK.work_s) * len(experiment.QUICK.env_counts),
                           len(experiment.BACKEND_LABELS))
    assert len(views.creation_table(vector_quick, found).frame) == len(
        found.start_methods.creation)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = views.crossover_figure(vector_quick, found)
    assert len(figure.axes[0].lines) >= len(experiment.BACKEND_LABELS)
    plt.close(figure)


# --- the chapter's code ----------------------------------------------------------------------

def test_sweep_point_sizes():
    point = experiment.sweep_point(5e-3, 100, 2e-5, 8, experiment.FULL)
    assert point.vector_steps >= experiment.FULL.min_vector_steps
    assert point.vector_steps == point.steps_per_call * point.calls
    light = experiment.sweep_point(0.0, 0, 2e-5, 1, experiment.FULL)
    assert light.steps <= experiment.FULL.max_steps + experiment.FULL.rollout_steps
    assert work.envs_per_actor(8, 3) == [3, 3, 2]


def test_every_vector_backend_steps_like_the_loop():
    rng = np.random.default_rng(0)
    env = work.make_env(10)
    try:
        env.reset(seed=0)
        single = work.sample_one_env(env, rng, 30)
    finally:
        env.close()
    assert single.shape == (30, 4)
    for backend in work.BACKENDS:
        envs = work.make_vector(backend, 2, 10, context="spawn")
        try:
            envs.set_attr("work_iterations", 5)
            assert envs.get_attr("work_iterations") == (5, 5)
            batch = work.sample_vector(envs, np.random.default_rng(0), 30)
        finally:
            work.close_vector(envs)
        assert batch.shape == (30, 2, 4) and np.isfinite(batch).all()


def test_env_runner_samples_a_stacked_batch_in_process():
    runner = work.EnvRunner(seed=1)
    try:
        assert runner.configure(3, 0) == 3
        runner.set_work(2)
        batch = runner.sample(7)
        assert batch.shape == (7, 3, 4)
        assert runner.ping("x") == "x"
    finally:
        runner.close()


def test_start_methods_keep_the_chapter_order():
    methods = work.start_methods()
    assert methods == [m for m in work.METHOD_ORDER if m in methods]
    assert "spawn" in methods


# --- each data-dependent sentence, every alternative ----------------------------------------

def with_light(sweep: analysis.Sweep, speedups: dict[str, float] | None = None,
               rates: dict[str, float] | None = None) -> analysis.Sweep:
    """``sweep`` with the given speed-ups and rates at no added work and the most envs."""
    def changed(table, new):
        table = {b: {w: dict(by_envs) for w, by_envs in by_work.items()}
                 for b, by_work in table.items()}
        for backend, value in (new or {}).items():
            table[backend][sweep.lightest][sweep.most] = value
        return table

    return dataclasses.replace(sweep, speedups=changed(sweep.speedups, speedups),
                               rates=changed(sweep.rates, rates))


@pytest.mark.parametrize(("speedups", "expected"), [
    ({"async_shm": 0.5, "async_pipe": 0.5, "ray": 0.5},
     "Every parallel backend was slower than the loop."),
    ({"async_shm": 0.5, "async_pipe": 2.0, "ray": 0.9},
     "Some parallel backends were slower than the loop (AsyncVectorEnv, shared memory and "
     "Ray actors)."),
    ({"async_shm": 1.5, "async_pipe": 2.0, "ray": 1.1},
     "Even here, every parallel backend beat the loop."),
])
def test_light_verdict(found, speedups, expected):
    assert analysis.light_verdict(with_light(found.sweep, speedups=speedups)) == expected


@pytest.mark.parametrize(("ray_rate", "start"), [(1e9, "because each Ray call carried"),
                                                 (1.0, "so here the cost of each Ray call")])
def test_ray_sentences_follow_which_backend_sampled_more(found, ray_rate, start):
    sweep = with_light(found.sweep, rates={"ray": ray_rate})
    assert analysis.ray_vs_async_light(sweep).startswith(start)
    design = analysis.ray_design_verdict(sweep, found.round_trips)
    assert design.startswith("it is what let" if ray_rate > 1 else "it did not make up")
    assert format_ratio(found.round_trips.ray_over_pipe) in design


@pytest.mark.parametrize(("full_envs", "expected_tail"), [
    (4, " (Ray actors)."),
    (1, "; with 4, "),
])
def test_heavy_text_names_the_most_envs_only_when_they_differ(found, full_envs,
                                                              expected_tail):
    sweep = dataclasses.replace(found.sweep, full_envs=full_envs)
    assert sweep.most == 4
    text = analysis.heavy_text(sweep)
    assert text.startswith(f"With {full_envs} environments (enough for every usable CPU)")
    assert expected_tail in text and text.endswith(".")
    assert ("; with" in text) == (full_envs != sweep.most)


@pytest.mark.parametrize(("speedups", "expected"), [
    ({"async_shm": 0.5, "async_pipe": 0.25, "ray": 0.1},
     "True while a step is cheap: with plain CartPole, no parallel backend came close to one "
     "process (the best, AsyncVectorEnv, shared memory, reached 0.50× of its rate)."),
    ({"async_shm": 0.5, "async_pipe": 0.25, "ray": 1.5},
     "Not on this machine: even with plain CartPole, Ray actors sampled 1.5× as fast as one "
     "process."),
])
def test_one_step_verdict(found, speedups, expected):
    assert analysis.one_step_verdict(with_light(found.sweep, speedups=speedups)) == expected


@pytest.mark.parametrize(("backend", "step_cost", "expected"), [
    ("async_shm", None, "at no step cost in this sweep (the dearest step measured cost 1.00 ms)"),
    ("ray", 2e-5, "already at the cheapest step measured"),
    ("async_pipe", 5e-4, "at a step cost of about 500 µs (10× one Pipe round trip)"),
    ("ray", 5e-4, "at a step cost of about 500 µs (5.0× one Ray actor call)"),
])
def test_crossover_text(backend, step_cost, expected):
    crossover = analysis.Crossover(backend=backend, step_cost=step_cost, cheapest_step=2e-5,
                                   dearest_step=1e-3,
                                   round_trip=1e-4 if backend == "ray" else 5e-5)
    assert analysis.crossover_text(crossover) == expected


@pytest.mark.parametrize(("method", "expected"), [
    ("forkserver", "This build's Python already defaults to forkserver, so here such code "
                   "pays the forkserver row"),
    ("fork", "This build's Python defaults to fork, so here such code pays the fork row"),
])
def test_default_method_sentence(found, method, expected):
    build = dataclasses.replace(found.build, start_method=method)
    assert analysis.default_method_sentence(build) == expected


@pytest.mark.parametrize(("method", "global_saw", "passed_saw", "expected"), [
    ("fork", 2, 2, True), ("spawn", 0, 2, True), ("spawn", 2, 2, False),
    ("fork", 0, 2, False), ("forkserver", 0, 1, False),
])
def test_guard_demo_is_judged_as_the_page_describes_it(found, method, global_saw, passed_saw,
                                                       expected):
    demo = found.bugs.guard["spawn"]
    demo = dataclasses.replace(
        demo, method=method,
        reading_global=dataclasses.replace(demo.reading_global, saw_port=global_saw),
        passed=dataclasses.replace(demo.passed, saw_port=passed_saw))
    assert demo.as_expected is expected


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["ve_light_verdict"] == analysis.light_verdict(found.sweep)
    assert texts["ve_guard_methods"] == "fork, forkserver and spawn"
    assert texts["ve_guard_blind_methods"] == "forkserver and spawn"
    assert texts["ve_instance_error"].startswith("TypeError")
    # Other pages quote these with :d and :s formats.
    assert isinstance(texts["ve_rollout_steps"], int)
    assert isinstance(texts["ve_base_step"], str)
    assert found.bugs.guard_as_expected
