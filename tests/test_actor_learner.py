"""The actor-learner chapter: its quick run (every case, policies that learned, consistent
records), the agent and the four ways' parts, and each of its data-dependent sentences,
on the committed result ``tests/results/actor-learner.json``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.actor_learner import agent as agent
from parbook.chapters.actor_learner import analysis, views
from parbook.chapters.actor_learner import experiment as experiment
from parbook.chapters.actor_learner import workload as work
from parbook.claims import Verdict
from parbook.render import formatting
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "actor-learner.json"
#: Steps the one-process learner gets in its own test: enough to learn, on any machine.
LEARN_STEPS = 40_000


@pytest.fixture(scope="module")
def quick(quick_results):
    """The experiment in quick mode, run once per session as the page runs it: in a child
    process, so Ray and the forked workers never live in the test process."""
    return quick_results["actor-learner"]


@pytest.fixture(scope="module")
def quick_found(quick):
    return analysis.findings(quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run -------------------------------------------------------------------------

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


def test_every_trained_policy_beats_a_random_one(quick_found):
    # Learning is real: each way's greedy policy scores more than twice a random policy's
    # mean return over the same seeded evaluation episodes.
    learning = quick_found.learning
    assert learning.random_return > 0
    assert analysis.learned(learning, margin=2.0) == dict.fromkeys(learning.ways, True), {
        way: s.eval_return for way, s in learning.ways.items()}


def test_runs_are_bounded_and_their_records_consistent(quick, quick_found):
    budget = quick.parameters["budget_steps"]
    for run in quick.values["runs"]:
        assert run["env_steps"] >= budget or run["capped"], run["way"]
        assert run["updates"] > 0 and len(run["curve"]) == run["updates"]
        curve = np.asarray(run["curve"])
        assert np.all(np.diff(curve[:, 0]) >= 0) and np.all(np.diff(curve[:, 1]) > 0)
        assert 0 < analysis.sampling_share(run) <= 1.05, run["way"]
        assert len(run["theta"]) == agent.PARAMETERS
        assert len(run["extra"]["eval_returns"]) == quick.parameters["eval_episodes"]
    ways = quick_found.learning.ways
    # Staleness is measured, not assumed: asynchronous samples lag behind.
    assert ways["async"].staleness > ways["one_process"].staleness >= 0
    assert ways["lockstep"].samplers == quick_found.setup.samplers_ray


def test_findings_and_verdicts_are_worded_from_the_result(quick_found):
    texts = analysis.texts(quick_found)
    for lesson in ("al_lesson1", "al_lesson2", "al_lesson3"):
        assert texts[lesson].startswith("It ") and "{" not in texts[lesson]
    for way, summary in quick_found.learning.ways.items():
        for key in ("steps_per_s", "updates_per_s", "speedup", "sampling_share"):
            value = getattr(summary, key)
            assert math.isfinite(value) and value > 0, (way, key)


def test_results_table_has_a_row_per_way_and_the_random_policy(quick, quick_found):
    frame = views.results_table(quick, quick_found).frame
    labels = list(frame["way"])
    assert len(frame) == len(views.SHOWN) + 2
    assert labels[-1] == "random policy"


def test_summary_table_shows_the_four_ways_and_the_random_policy(quick, quick_found):
    frame = views.summary_table(quick, quick_found).frame
    assert list(frame.index) == [experiment.WAY_LABELS[w] for w in views.SUMMARY_WAYS] + [
        "random policy"]
    assert frame.loc["random policy", "greedy return"] == analysis.return_text(
        quick_found.learning.random_return)
    assert (frame.drop(index="random policy") != views.NOT_APPLICABLE).all().all()


# --- the agent and the ways ------------------------------------------------------------------

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


# --- each data-dependent sentence, every alternative ----------------------------------------

def with_ways(found: analysis.Findings, **changes: dict) -> analysis.Findings:
    """``found`` with some ways' fields changed: ``with_ways(found, async={...})``."""
    ways = dict(found.learning.ways)
    for name, fields in changes.items():
        ways[name] = dataclasses.replace(ways[name], **fields)
    return dataclasses.replace(found, learning=dataclasses.replace(found.learning, ways=ways))


def with_rounds(found: analysis.Findings, rates: dict[tuple[str, str], float]
                ) -> analysis.Findings:
    """``found`` with the round-sweep rates of (way, "short" | "long") replaced."""
    rounds = found.rounds
    changed = dict(rounds.rates)
    for (way, length), rate in rates.items():
        steps = rounds.shortest if length == "short" else rounds.longest
        phase = "ray" if way == "lockstep" or length == "long" else "local"
        changed[(way, steps, phase)] = rate
    return dataclasses.replace(found, rounds=dataclasses.replace(rounds, rates=changed))


def reaching(seconds: float | None, steps: float | None = None, reached: int = 1,
             runs: int = 1) -> dict:
    """Way fields for runs that reached the target after ``seconds`` (None: never)."""
    return {"seconds_to_target": seconds, "steps_to_target": steps,
            "reached": reached if seconds is not None else 0, "runs": runs}


def speed(speedup: float) -> dict:
    """Way fields giving ``speedup`` over one process."""
    return {"steps_per_s": speedup * 1000.0, "one_process_steps_per_s": 1000.0}


@pytest.mark.parametrize(("seeds", "expected"), [(1, "1 seeded run"), (3, "3 seeded runs")])
def test_runs_text(found, seeds, expected):
    assert analysis.runs_text(dataclasses.replace(found.setup, seeds=seeds)) == expected


@pytest.mark.parametrize(("fields", "to_target", "steps_needed"), [
    (reaching(None), "did not reach a training return of 250 within its budget",
     "not reached within the budget"),
    (reaching(1.5, 36_000, reached=3, runs=3),
     "reached a training return of 250 after 1.50 s", "36,000"),
    (reaching(1.5, 36_000, reached=2, runs=3),
     "reached a training return of 250 after 1.50 s", "36,000 (2 of 3 runs reached it)"),
])
def test_target_and_steps_needed(found, fields, to_target, steps_needed):
    way = dataclasses.replace(found.learning.one, **fields)
    assert analysis.target_text(way, 250.0) == to_target
    assert analysis.steps_to_target_text(way) == steps_needed


def test_fastest_verdict_when_no_way_reached_the_target(found):
    nobody = with_ways(found, **{w: reaching(None) for w in found.learning.ways})
    assert analysis.fastest_verdict(nobody.learning) == (
        "No way reached a training return of 250 within its budget in this run; the curves "
        "below show how far each got.")


def test_fastest_verdict_names_the_fastest_learner(found):
    nobody = {w: reaching(None) for w in found.learning.ways}
    fastest_also_most_steps = with_ways(found, **{
        **nobody,
        "vectorised_native": {**reaching(None), "steps_per_s": 1.0},
        "vectorised_sync": {**reaching(None), "steps_per_s": 1.0},
        "async": {**reaching(0.5), "steps_per_s": 9e9},
        "lockstep": reaching(0.9),
    })
    assert analysis.fastest_verdict(fastest_also_most_steps.learning) == (
        "The asynchronous workers took the most steps per second and reached a training "
        "return of 250 first, after 500 ms.")
    slower_sampler_first = with_ways(found, **{
        **nobody,
        "vectorised_native": {**reaching(None), "steps_per_s": 2e5},
        "vectorised_sync": {**reaching(None), "steps_per_s": 1.0},
        "async": {**reaching(0.9), "steps_per_s": 1e5},
        "lockstep": {**reaching(0.5), "steps_per_s": 1e5},
    })
    assert analysis.fastest_verdict(slower_sampler_first.learning) == (
        "The lock-step Ray actors reached a training return of 250 first, after 500 ms, "
        "though CartPole's batched vector environment took the most steps per second "
        "(200,000): a faster sampler is not always a faster learner.")


@pytest.mark.parametrize(("async_steps", "one_steps", "expected"), [
    (None, 30_000.0, "Not every way reached the target within this run's budget of 40,000 "
                     "steps; the right-hand panel shows how far each got for the steps it "
                     "took."),
    (36_000.0, 30_000.0, "The asynchronous workers needed 36,000 steps to reach the target, "
                         "against 30,000 for one process: more steps per second, bought with "
                         "samples chosen by older weights, which teach the learner less."),
    (30_000.0, 30_000.0, "The asynchronous workers needed 30,000 steps to reach the target, "
                         "against 30,000 for one process: here their staleness cost no "
                         "steps."),
])
def test_curves_verdict(found, async_steps, one_steps, expected):
    changed = with_ways(found, one_process=reaching(1.0, one_steps),
                        **{"async": reaching(None if async_steps is None else 1.0,
                                             async_steps)})
    assert analysis.curves_verdict(changed.learning) == expected


@pytest.mark.parametrize(("lock_long", "expected"), [
    (1e9, "They first beat one process at rounds of 1,000 steps per actor."),
    (1.0, "They did not beat one process at any round length measured."),
])
def test_break_even_sentence(found, lock_long, expected):
    changed = with_rounds(found, {("lockstep", "short"): 1.0, ("lockstep", "long"): lock_long})
    assert analysis.break_even_sentence(changed.rounds) == expected


def with_broadcast(found: analysis.Findings, **times: float) -> analysis.Broadcast:
    """The committed broadcast times with some replaced: ``by_ref_small=1e-3``, ..."""
    broadcast = found.broadcast
    changed = dict(broadcast.times)
    for key, value in times.items():
        how, size = key.rsplit("_", 1)
        changed[(how, broadcast.small if size == "small" else broadcast.large)] = value
    return dataclasses.replace(broadcast, times=changed)


@pytest.mark.parametrize(("by_ref", "expected"), [
    (1e-4, "For this agent's 40 bytes, one ray.put and a reference were cheaper too "
           "(100 µs, against 1.00 ms by value)."),
    (1e-2, "For this agent's 40 bytes, passing the array by value was cheaper (1.00 ms, "
           "against 10.0 ms with a ray.put): below Ray's inline limit an argument travels "
           "inside the call's own message, while a put adds a trip to the object store."),
])
def test_small_broadcast_verdict(found, by_ref, expected):
    changed = with_broadcast(found, by_ref_small=by_ref, by_value_small=1e-3)
    assert analysis.small_broadcast_verdict(changed) == expected


@pytest.mark.parametrize(("by_value", "expected"), [
    (0.1, "For 16 MB of weights, passing the array to each actor took 100 ms, 10× as long as "
          "one ray.put and a reference (10.0 ms): by value, Ray stores a copy per call."),
    (0.005, "For 16 MB of weights, passing the array to each actor took 5.00 ms and one "
            "ray.put with a reference 10.0 ms: on this machine the copy Ray stores per call "
            "by value cost no more than the put."),
])
def test_large_broadcast_sentence(found, by_value, expected):
    changed = with_broadcast(found, by_ref_large=0.01, by_value_large=by_value)
    assert analysis.large_broadcast_sentence(changed) == expected


@pytest.mark.parametrize(("shared", "expected"), [
    (1e-5, "Publishing the small weights through shared memory cost 10.0 µs, 10× faster than "
           "the ray.put route; that is why the asynchronous workers can afford to look for "
           "new weights before every batch."),
    (1e-3, "Publishing the small weights through shared memory cost 1.00 ms, no faster than "
           "the ray.put route (100 µs) on this machine."),
])
def test_shared_broadcast_sentence(found, shared, expected):
    changed = with_broadcast(found, by_ref_small=1e-4, shared_small=shared)
    assert analysis.shared_broadcast_sentence(changed) == expected


@pytest.mark.parametrize(("lock_long", "lock_speedup", "verdict"), [
    (2.0, 0.5, "It does not hold here: rounds of 1,000 steps per actor gave lock-step actors "
               "only 2.0× the steps per second of one-step rounds."),
    (10.0, 1.5, "It holds here. Lock-step actors took 10× as many steps per second with "
                "rounds of 1,000 steps per actor as with rounds of one step, and in the "
                "learning runs, with each update's batch split between the actors, they ran "
                "1.5× as fast as one process."),
    (10.0, 0.9, "It holds in part. Long rounds are what make lock-step sampling workable at "
                "all: rounds of 1,000 steps per actor took 10× as many steps per second as "
                "rounds of one step. But even with each update's batch split between the "
                "actors, lock-step sampling ran at only 0.90× the speed of one process."),
])
def test_lesson1_verdict(found, lock_long, lock_speedup, verdict):
    changed = with_rounds(found, {("lockstep", "short"): 1.0, ("lockstep", "long"): lock_long})
    changed = with_ways(changed, lockstep={**speed(lock_speedup), "sampling_share": 0.4})
    assert analysis.lesson1_verdict(changed) == verdict + (
        " Each actor spent 40% of a learning run sampling; the rest of the time it waited "
        "for the learner's update, for the slowest actor, and for Ray to deliver the weights "
        "and the batches.")


LESSON2_HOLDS = (
    "It holds for sampling. With one step per environment between two updates, CartPole's "
    "batched environment took 300 steps per second: 3.0× one process with one environment "
    "and 30× the lock-step actors. One policy evaluation and one update serve all its "
    "environments, and no step crosses a process boundary.")
LESSON2_NO_DQN = (" No one-step learner such as DQN is trained here, so whether one learns "
                  "better in one process is not measured.")


@pytest.mark.parametrize(("native", "sync", "expected"), [
    (50.0, 20.0, "It does not hold here even for sampling: with one step per environment "
                 "between two updates, the batched environment took 50 steps per second, "
                 "against 100 for one process and 10 for the lock-step actors. No one-step "
                 "learner such as DQN is trained here."),
    (300.0, 20.0, LESSON2_HOLDS + " Even SyncVectorEnv, which steps its environments one "
                                  "after another in Python, took 2.0× as many steps per "
                                  "second as the lock-step actors." + LESSON2_NO_DQN),
    (300.0, 5.0, LESSON2_HOLDS + LESSON2_NO_DQN),
])
def test_lesson2_verdict(found, native, sync, expected):
    changed = with_rounds(found, {("vectorised_native", "short"): native,
                                  ("vectorised_sync", "short"): sync,
                                  ("lockstep", "short"): 10.0,
                                  ("one_process", "short"): 100.0})
    assert analysis.lesson2_verdict(changed) == expected


@pytest.mark.parametrize(("async_speedup", "lock_speedup", "verdict"), [
    (1.5, 0.9, "It holds for throughput. The asynchronous workers ran 1.5× as fast as one "
               "process, the lock-step actors 0.90× (each against one process timed beside "
               "it): faster than one process, even with a simulator this cheap."),
    (0.9, 0.5, "It holds for throughput. The asynchronous workers ran 0.90× as fast as one "
               "process, the lock-step actors 0.50× (each against one process timed beside "
               "it): not much weaker than one process, as the article says, but no faster "
               "with a simulator this cheap."),
    (0.5, 0.3, "It holds only against lock-step sampling: the asynchronous workers ran 0.50× "
               "as fast as one process, better than the lock-step actors' 0.30×, but "
               "samplers and a learner sharing this machine's CPUs still lost to one "
               "process."),
    (0.5, 0.9, "It does not hold here: the asynchronous workers ran 0.50× as fast as one "
               "process, and the lock-step actors 0.90× (each against one process timed "
               "beside it)."),
])
def test_lesson3_verdict(found, async_speedup, lock_speedup, verdict):
    changed = with_ways(found, lockstep=speed(lock_speedup), one_process={"staleness": 0.05},
                        **{"async": {**speed(async_speedup), "staleness": 0.85}})
    assert analysis.lesson3_verdict(changed) == verdict + (
        " Their price is staleness: the steps the asynchronous learner used were 0.85 updates "
        "old on average, against 0.05 in one process.")


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["al_lesson1"] == analysis.lesson1_verdict(found)
    assert texts["al_target"] == "250"
    assert texts["al_bc_small"] == "40 bytes" and texts["al_bc_large"] == "16 MB"
    # Other pages quote these with the :s format.
    for key in ("al_lockstep_share", "al_async_speedup", "al_fastest_verdict",
                "al_async_steps_needed"):
        assert isinstance(texts[key], str), key
    assert all(analysis.learned(found.learning).values())


@pytest.mark.parametrize(("n_bytes", "expected"), [(40, "40 bytes"), (1_000, "1 kB"),
                                                   (16_000_000, "16 MB"), (1_500, "1.5 kB")])
def test_format_decimal_size(n_bytes, expected):
    assert formatting.format_decimal_size(n_bytes) == expected


# --- the claims this chapter judges for the ledger in book/sources.md, each verdict reached --

def lessons(found, lock_long, lock_speedup, native, async_speedup):
    """``found`` with lock-step rounds of one step at 1 step/s and the longest at
    ``lock_long``, one process at 100 steps/s with one-step rounds, the batched environment
    at ``native``, and these learning-run speed-ups over one process."""
    changed = with_rounds(found, {("lockstep", "short"): 1.0, ("lockstep", "long"): lock_long,
                                  ("one_process", "short"): 100.0,
                                  ("vectorised_native", "short"): native})
    return with_ways(changed, lockstep=speed(lock_speedup),
                     **{"async": speed(async_speedup)})


def test_the_committed_results_claims(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a000_rl_lessons"}
    assert judged["a000_rl_lessons"].verdict is Verdict.PARTLY


@pytest.mark.parametrize(("changes", "verdict", "says"), [
    ((10.0, 1.5, 300.0, 1.6), Verdict.PARTLY,
     "On CartPole with 2 CPUs, lesson 1 held (long on-policy rounds gave lock-step actors 10× "
     "the steps per second of one-step rounds, and they beat one process); lesson 2 held for "
     "sampling (with one-step rounds, a vectorised environment in one process took 300× the "
     "lock-step actors' steps per second), though no DQN is trained here; lesson 3 held "
     "(asynchronous samplers ran 1.6× as fast as one process, lock-step actors 1.5×)."),
    ((10.0, 0.3, 300.0, 0.5), Verdict.PARTLY, "lesson 1 held in part"),
    ((10.0, 0.3, 300.0, 0.5), Verdict.PARTLY, "lesson 3 held only against lock-step sampling"),
    ((2.0, 0.9, 50.0, 0.5), Verdict.FAILS,
     "On CartPole with 2 CPUs, lesson 1 did not hold (long on-policy rounds gave lock-step "
     "actors only 2.0× the steps per second of one-step rounds); lesson 2 did not hold even "
     "for sampling (with one-step rounds, a vectorised environment in one process did not "
     "beat both one process and the lock-step actors), and no DQN is trained here; lesson 3 "
     "did not hold (asynchronous samplers ran 0.50× as fast as one process, lock-step actors "
     "0.90×)."),
])
def test_rl_lessons_claim_every_verdict(found, changes, verdict, says):
    changed = lessons(found, *changes)
    changed = dataclasses.replace(changed, setup=dataclasses.replace(changed.setup, cpus=2))
    judged = analysis.rl_lessons_claim(changed)
    assert judged.verdict is verdict and says in judged.reason
