"""The actor-learner experiment in quick mode, and the agent and the four ways' parts."""

from __future__ import annotations

import math
import multiprocessing

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.actor_learner import agent as agent
from parbook.chapters.actor_learner import experiment as experiment
from parbook.chapters.actor_learner import workload as work
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

#: Steps the one-process learner gets in its own test: enough to learn, on any machine.
LEARN_STEPS = 40_000


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory):
    """The experiment in quick mode, run as the page runs it: in a child process, so Ray
    and the forked workers never live in the test process."""
    out = tmp_path_factory.mktemp("actor-learner") / "actor-learner.json"
    completed = run_cli("run", experiment.NAME, "--quick", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    return load(out)


@pytest.fixture(scope="module")
def found(quick):
    return experiment.findings(quick)


def test_every_case_is_present_with_positive_finite_samples(quick):
    learning = {(c.params["way"], c.params["phase"]) for c in quick.group("learning")}
    assert learning == {(w, "local") for w in experiment.LOCAL_WAYS} | {
        (w, "ray") for w in experiment.RAY_WAYS}
    steps = set(experiment.QUICK.round_steps)
    rounds = {(c.params["way"], c.params["steps"]) for c in quick.group("rounds")}
    assert rounds == {(w, k) for w in ("one_process", "vectorised_sync", "vectorised_native",
                                       "lockstep") for k in steps}
    assert {c.params["how"] for c in quick.group("broadcast")} == set(
        experiment.BROADCAST_LABELS)
    assert len(quick.group("ray_init")) == 1
    for case in quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case
    assert "ray_address" in quick.parameters and "ray_cluster_cpus" in quick.parameters


def test_every_trained_policy_beats_a_random_one(found):
    # Learning is real: each way's greedy policy scores more than twice a random policy's
    # mean return over the same seeded evaluation episodes.
    assert found["random_return"] > 0
    assert experiment.learned(found, margin=2.0) == dict.fromkeys(found["ways"], True), {
        way: s["eval_return"] for way, s in found["ways"].items()}


def test_runs_are_bounded_and_their_records_consistent(quick, found):
    budget = quick.parameters["budget_steps"]
    for run in quick.values["runs"]:
        assert run["env_steps"] >= budget or run["capped"], run["way"]
        assert run["updates"] > 0 and len(run["curve"]) == run["updates"]
        curve = np.asarray(run["curve"])
        assert np.all(np.diff(curve[:, 0]) >= 0) and np.all(np.diff(curve[:, 1]) > 0)
        assert 0 < experiment.sampling_share(run) <= 1.05, run["way"]
        assert len(run["theta"]) == agent.PARAMETERS
        assert len(run["extra"]["eval_returns"]) == quick.parameters["eval_episodes"]
    ways = found["ways"]
    # Staleness is measured, not assumed: asynchronous samples lag behind.
    assert ways["async"]["staleness"] > ways["one_process"]["staleness"] >= 0
    assert ways["lockstep"]["samplers"] == found["samplers_ray"]


def test_findings_and_verdicts_are_worded_from_the_result(found):
    texts = experiment.lesson_texts(found)
    assert set(texts) == {"lesson1", "lesson2", "lesson3"}
    for text in texts.values():
        assert text.startswith("It ") and "{" not in text
    for way, summary in found["ways"].items():
        for key in ("steps_per_s", "updates_per_s", "speedup", "sampling_share"):
            assert math.isfinite(summary[key]) and summary[key] > 0, (way, key)


def test_summary_table_has_a_row_per_way_and_the_random_policy(quick, found):
    rows = experiment.summary_rows(quick, found)
    labels = [row["way"] for row in rows]
    assert len(rows) == len(experiment.SHOWN) + 2
    assert labels[-1] == "random policy"


def test_one_process_learner_learns_within_a_small_budget():
    record = work.one_process(seed=3, batch_steps=1000, budget_steps=LEARN_STEPS,
                              time_limit_s=120)
    trained = np.mean(agent.evaluate(np.array(record.theta), 10, 123))
    random = np.mean(agent.evaluate(None, 10, 123))
    assert trained > 2 * random, (trained, random)


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_asynchronous_way_works_and_cleans_up_under_every_start_method(method):
    context = multiprocessing.get_context(method)
    record = work.asynchronous(context, workers=2, seed=0, batch_steps=400,
                               budget_steps=2_000, time_limit_s=60)
    assert record.env_steps >= 2_000 and record.updates >= 1
    assert set(record.extra) == {"queue_wait_s"}
    assert record.startup_s > 0 and record.wall_s > 0


def test_returns_to_go_and_episode_streams():
    np.testing.assert_allclose(agent.returns_to_go(np.ones(3, np.float32), gamma=0.5),
                               [1.75, 1.5, 1.0])
    stream = agent.EpisodeStream()
    column = np.arange(5)
    ended = stream.add(column, column, column, column, column,
                       np.array([0, 1, 0, 0, 0], bool))
    assert [list(e[0]) for e in ended] == [[0, 1]]
    ended = stream.add(column + 5, column, column, column, column,
                       np.array([0, 0, 1, 0, 0], bool))
    # The running episode was carried over and completed across the two calls.
    assert [list(e[0]) for e in ended] == [[2, 3, 4, 5, 6, 7]]


def test_sampler_accounts_for_every_step_and_version():
    sampler = agent.Sampler(seed=0)
    try:
        batch = sampler.sample(np.zeros(agent.PARAMETERS), 300, version=7)
    finally:
        sampler.close()
    assert batch.env_steps == 300 and 0 < batch.size <= 300
    assert batch.obs.shape == (batch.size, agent.OBS_SIZE)
    assert set(np.unique(batch.versions)) == {7}
    assert np.all((batch.behaviour_probs > 0) & (batch.behaviour_probs <= 1))
    assert sum(batch.episode_returns) == pytest.approx(batch.size)  # reward 1 per step


@pytest.mark.parametrize("mode", sorted(experiment.VECTOR_MODES.values()))
def test_vector_sampler_skips_autoreset_steps(mode):
    sampler = agent.VectorSampler(envs=4, seed=0, mode=mode)
    try:
        batch = sampler.sample(np.zeros(agent.PARAMETERS), 100, version=0)
    finally:
        sampler.close()
    # Every handed-over step is a real transition: reward 1 each, episodes >= 8 steps.
    assert batch.size > 0 and batch.env_steps <= 400
    assert sum(batch.episode_returns) == pytest.approx(batch.size)
    assert min(batch.episode_returns) >= 8


def test_learner_update_moves_towards_rewarded_actions():
    learner = agent.Learner(learning_rate=0.1)
    obs = np.tile(np.array([[0.0, 0.0, 0.1, 0.0]], np.float32), (4, 1))
    batch = agent.Batch(obs=obs, actions=np.array([1, 1, 0, 0], np.int8),
                        behaviour_probs=np.full(4, 0.5, np.float32),
                        returns=np.array([10, 10, 1, 1], np.float32),
                        versions=np.zeros(4, np.int32), episode_returns=[], env_steps=4,
                        sample_s=0.0)
    staleness = learner.update(batch)
    assert staleness == 0 and learner.version == 1
    x = np.array([0.0, 0.0, 0.1, 0.0, 1.0])
    assert x @ learner.theta > 0  # pushing right became more likely
