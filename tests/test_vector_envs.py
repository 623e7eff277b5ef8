"""The vector-envs experiment in quick mode, and the chapter's workloads."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.vector_envs import experiment as experiment
from parbook.chapters.vector_envs import workload as work
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")


@pytest.fixture(scope="module")
def vector_quick(tmp_path_factory: pytest.TempPathFactory):
    """The experiment in quick mode, run as the page runs it: ``python -m parbook run``."""
    out = tmp_path_factory.mktemp("vector-envs") / "vector-envs.json"
    completed = run_cli("run", experiment.NAME, "--quick", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    return load(out)


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


def test_creation_round_trips_and_where_ray_ran(vector_quick):
    methods = {c.params["method"] for c in vector_quick.group("creation")}
    assert {"fork", "spawn"} <= methods
    assert methods == {c.params["method"] for c in vector_quick.group("method_steps")}
    channels = {c.params["channel"] for c in vector_quick.group("round_trip")}
    assert channels == set(experiment.ROUND_TRIP_LABELS)
    assert vector_quick.parameters["ray_address"] == "local"
    assert vector_quick.parameters["ray_cluster_cpus"] >= 1


def test_guard_demo_shows_the_bug_and_the_fix(vector_quick):
    found = experiment.findings(vector_quick)
    for method, child in found["guard_children"].items():
        assert child["returncode"] == 0 and not child["killed"], (method, child["errors"])
    assert experiment.guard_as_expected(found), found["guard"]
    assert found["guard"]["spawn"]["global"]["main_modules"] == ["__mp_main__"]
    assert found["guard"]["fork"]["global"]["main_modules"] == ["__main__"]
    assert experiment.guard_table(found).shape == (len(found["guard"]), 2)


def test_findings_tables_and_figure(vector_quick):
    found = experiment.findings(vector_quick)
    assert found["instance_mistake"].startswith("TypeError: ")
    assert "not callable" in found["instance_mistake"]
    assert found["pipe_round_trip"] > 0 and found["ray_round_trip"] > 0
    for backend in experiment.PARALLEL:
        points = found["speedups"][backend]
        assert len(points) == len(experiment.QUICK.work_s)
        assert all(math.isfinite(s) and s > 0 for _, s in points)
        assert isinstance(experiment.crossover_text(found, backend), str)
    table = experiment.throughput_table(vector_quick)
    assert table.shape == (len(experiment.QUICK.work_s) * len(experiment.QUICK.env_counts),
                           len(experiment.BACKEND_LABELS))
    assert len(experiment.creation_table(vector_quick)) == len(found["creation"])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = experiment.crossover_figure(found)
    assert len(figure.axes[0].lines) >= len(experiment.BACKEND_LABELS)
    plt.close(figure)


def test_crossover_text_cases():
    found = {"work_levels": [0.0, 1e-3], "step_cost": {0.0: 2e-5, 1e-3: 1e-3},
             "crossover_s": {"async_shm": None, "ray": 2e-5, "async_pipe": 5e-4},
             "crossover_over_round_trip": {"async_pipe": 10.0}}
    assert experiment.crossover_text(found, "async_shm").startswith("at no step cost")
    assert experiment.crossover_text(found, "ray") == "already at the cheapest step measured"
    assert "10× one Pipe round trip" in experiment.crossover_text(found, "async_pipe")


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
