"""The off-policy chapter: its quick run (every case, every way learned, the pace kept,
consistent records), the agent's and the ways' parts (the Ape-X way under every start
method), and each of its data-dependent sentences and claim verdicts, on the committed
result ``tests/results/off-policy.json``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.off_policy import agent, analysis, experiment
from parbook.chapters.off_policy import workload as work
from parbook.claims import Verdict
from parbook.render.formatting import counted, format_ratio
from tests.conftest import ROOT
from tests.leftovers import shm_entries

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "off-policy.json"


@pytest.fixture(scope="module")
def quick(quick_results):
    """The experiment in quick mode, run once per session as the page runs it: in a child
    process, so Ray and the actor processes never live in the test process."""
    return quick_results["off-policy"]


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
    assert {c.params["operation"] for c in quick.group("ring")} == set(experiment.RING_LABELS)
    for group in ("ray_init", "put", "ray_call"):
        assert len(quick.group(group)) == 1, group
    assert {c.params["way"] for c in quick.group("startup")} == {"apex", "ray"}
    for case in quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case
    assert "ray_address" in quick.parameters and "ray_cluster_cpus" in quick.parameters


def test_every_trained_policy_beats_a_random_one(quick):
    # Learning is real: every run's greedy policy, one process, Ape-X and Ray alike, scores
    # at least twice a random policy's mean return and 30 more, on the same seeded episodes.
    random = float(np.mean(quick.values["random_returns"]))
    assert random > 0
    scores = {(r["way"], r["extra"]["phase"], r["seed"]): float(np.mean(r["extra"]["eval_returns"]))
              for r in quick.values["runs"]}
    assert len(scores) == len(quick.parameters["seeds"]) * 4
    assert all(score >= 2 * random and score >= random + 30 for score in scores.values()), (
        random, scores)


def test_runs_keep_the_pace_and_their_records_are_consistent(quick):
    p = quick.parameters
    pace = experiment.pace(parallel=True)
    budget, chunk = p["budget_steps"], p["ray_chunk"] * p["vector_envs"]
    for run in quick.values["runs"]:
        label = (run["way"], run["extra"]["phase"])
        if run["capped"]:  # a time limit bound (a very busy machine): the record says so
            assert run["updates"] < pace.updates_for(budget), label
        else:
            assert run["updates"] == pace.updates_for(budget), label
            assert run["env_steps"] >= budget - p["vector_envs"], label
        # The learner never ran ahead of the steps; the samplers at most slack + a chunk.
        lead = pace.lead(run["env_steps"], run["updates"])
        assert 0 <= lead <= p["slack_steps"] + chunk, (label, lead)
        curve = np.asarray(run["extra"]["curve"])
        assert len(curve) >= 2 and np.all(np.diff(curve[:, 0]) >= 0), label
        assert np.all(np.diff(curve[:, 1]) >= 0) and curve[-1, 2] == run["updates"], label
        assert run["wall_s"] > 0 and run["sample_s"] > 0, label
        if run["way"] == "one_process":
            assert run["staleness_mean"] == 0 and run["staleness_max"] == 0, label
        else:
            assert 0 <= run["staleness_mean"] <= run["staleness_max"], label
        if run["way"] == "apex":  # the ring's count is exactly what the actors wrote
            assert sum(run["extra"]["actor_env_steps"]) == run["env_steps"]
        if run["way"] == "ray":
            assert 1 <= run["weight_puts"] < run["updates"]


def test_quick_findings_are_sensible(quick_found):
    learning = quick_found.learning
    assert 0 < learning.one.sampling_share < 1
    assert analysis.ceiling(learning) > 1
    for way in learning.ways.values():
        assert way.updates_per_s > 0 and way.steps_per_s > way.updates_per_s
    assert quick_found.setup.actors >= 1 and quick_found.setup.ray_actors >= 1


# --- the agent and the ways' parts ----------------------------------------------------------

def test_the_pace():
    pace = work.Pace(warmup_steps=100, steps_per_update=2, slack_steps=10)
    assert not pace.may_update(100, 0) and pace.may_update(102, 0)
    assert pace.may_update(120, 9) and not pace.may_update(120, 10)
    assert pace.may_sample(109, 0) and not pace.may_sample(110, 0)
    assert pace.updates_for(1100) == 500 and pace.updates_for(50) == 0


def test_the_replay_ring_wraps_and_draws_only_written_slots():
    replay = agent.local_replay(10)
    chunk = np.zeros(4, agent.TRANSITION)
    chunk["reward"] = [1, 2, 3, 4]
    assert replay.add(chunk) == 4
    rng = np.random.default_rng(0)
    assert set(replay.sample(200, rng)["reward"]) == {1, 2, 3, 4}
    for _ in range(3):
        chunk["reward"] += 4
        replay.add(chunk)
    # 16 written into 10 slots: slots 0-5 hold 11-16, slots 6-9 hold 7-10.
    assert replay.ring["reward"].tolist() == [11, 12, 13, 14, 15, 16, 7, 8, 9, 10]
    assert set(replay.sample(500, rng)["reward"]) == set(range(7, 17))


def test_the_sampler_skips_autoreset_steps_and_stamps_versions():
    sampler = agent.Sampler(envs=4, seed=1)
    try:
        network = agent.QNetwork(agent.initial_weights(0))
        transitions, ended = sampler.sample(network, version=7, explore=1.0, steps=100)
    finally:
        sampler.close()
    # Every ended episode leaves one autoreset step that is no transition.
    assert len(transitions) == 400 - len(ended) + int(sampler.resetting.sum())
    assert set(transitions["version"]) == {7}
    assert ended and all(r > 0 for r in ended)
    assert transitions["terminated"].sum() <= len(ended)


def test_the_learner_fits_a_fixed_minibatch():
    rng = np.random.default_rng(0)
    batch = np.zeros(agent.MINIBATCH, agent.TRANSITION)
    batch["obs"] = rng.normal(size=(agent.MINIBATCH, agent.OBS_SIZE))
    batch["action"] = rng.integers(agent.ACTIONS, size=agent.MINIBATCH)
    batch["reward"] = rng.normal(size=agent.MINIBATCH)
    batch["terminated"] = True  # targets are the rewards: a plain regression

    def error(learner: agent.Learner) -> float:
        q = learner.online(batch["obs"])[np.arange(agent.MINIBATCH), batch["action"]]
        return float(np.mean((q - batch["reward"]) ** 2))

    learner = agent.Learner(seed=0)
    before = error(learner)
    for _ in range(300):
        learner.update(batch)
    assert learner.version == 300
    assert error(learner) < 0.5 * before


def test_epsilon_decays_then_stays():
    assert agent.epsilon(0) == agent.EPSILON_START
    assert agent.epsilon(agent.EPSILON_DECAY_STEPS) == pytest.approx(agent.EPSILON_END)
    assert agent.epsilon(10 * agent.EPSILON_DECAY_STEPS) == pytest.approx(agent.EPSILON_END)


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_apex_runs_and_cleans_up_under_every_start_method(method):
    before = shm_entries()
    pace = experiment.pace(parallel=True)
    record = work.apex(multiprocessing.get_context(method), actors=1, seed=3, envs=4,
                       chunk_steps=4, pace=pace, budget_steps=pace.warmup_steps + 400,
                       time_limit_s=60, snapshot_steps=200)
    assert not record.capped and record.updates == pace.updates_for(pace.warmup_steps + 400)
    assert record.env_steps == sum(record.extra["actor_env_steps"])
    assert record.startup_s > 0 and record.snapshots
    assert not {n for n in shm_entries() - before if n.startswith("psm_")}


def test_the_shared_blocks_are_unlinked_when_the_run_fails():
    before = shm_entries()
    with pytest.raises(RuntimeError, match="on purpose"), \
            work.apex_shared(multiprocessing.get_context("spawn"), actors=2) as shared:
        shared.publish(agent.initial_weights(0), 5)
        into = np.empty(agent.PARAMETERS, np.float32)
        assert shared.read_weights(into) == 5
        raise RuntimeError("on purpose")
    assert not {n for n in shm_entries() - before if n.startswith("psm_")}


# --- each sentence chosen by the data, on the committed result -------------------------------

def with_ways(found: analysis.Findings, **changes: dict) -> analysis.Findings:
    """``found`` with some ways' fields replaced (``one_ray`` for the control runs)."""
    learning = found.learning
    ways = dict(learning.ways)
    one_ray = learning.one_process_ray
    for name, fields in changes.items():
        if name == "one_ray":
            one_ray = dataclasses.replace(one_ray, **fields)
        else:
            ways[name] = dataclasses.replace(ways[name], **fields)
    return dataclasses.replace(found, learning=dataclasses.replace(
        learning, ways=ways, one_process_ray=one_ray))


def speed(speedup: float) -> dict:
    """Way fields giving ``speedup`` over one process."""
    return {"steps_per_s": speedup * 1000.0, "one_process_steps_per_s": 1000.0}


def reaching(seconds: float | None, runs: int = 3, reached: int = 3) -> dict:
    return {"seconds_to_threshold": seconds, "runs": runs,
            "reached": reached if seconds is not None else 0,
            "steps_to_threshold": None if seconds is None else 5000.0}


@pytest.mark.parametrize(("apex", "ray", "expected"), [
    (0.9, 0.8, "Neither parallel way beat one process by more than 5%: the Ape-X actors ran "
               "at 0.90× and the Ray actors at 0.80× the speed of the one process timed "
               "beside each."),
    (1.5, 0.8, "The Ape-X actor processes took the most environment steps per second: 1.5× "
               "the one process timed beside them (the Ray actors: 0.80×)."),
    (1.1, 1.3, "The Ray actors took the most environment steps per second: 1.3× the one "
               "process timed beside them (the Ape-X actor processes: 1.1×)."),
])
def test_rate_verdict(found, apex, ray, expected):
    changed = with_ways(found, apex=speed(apex), ray=speed(ray))
    assert analysis.rate_verdict(changed.learning) == expected


@pytest.mark.parametrize(("held", "ending"), [
    (0.8, " The Ape-X actors were held back by the pace for 80% of their time, waiting for "
          "the learner to catch up: the learner set the speed, not the sampling."),
    (0.1, " The Ape-X actors were held back for only 10% of their time: sampling, not the "
          "learner, set the speed of that run."),
])
def test_bound_sentence(found, held, ending):
    changed = with_ways(found, one_process={"sampling_share": 0.2}, apex={"held_share": held})
    assert analysis.bound_sentence(changed.learning) == (
        "In one process, stepping the environments took 20% of the run; the rest was the "
        "learner's updates and the replay buffer. Samplers in other processes can take only "
        "that share off the learner's process, so no design of this kind could run more "
        "than 1.2× as fast here." + ending)


def test_threshold_verdict_every_branch(found):
    nobody = with_ways(found, **{w: reaching(None) for w in found.learning.ways})
    assert analysis.threshold_verdict(nobody.learning) == (
        "No way reached a greedy return of 100 within the budget in this run; the curves "
        "show how far each got.")
    all_reached = with_ways(found, one_process=reaching(0.5), apex=reaching(0.4),
                            ray=reaching(0.6))
    assert analysis.threshold_verdict(all_reached.learning) == (
        "The Ape-X actor processes first reached a greedy return of 100, after 400 ms (the "
        "median over the runs that reached it).")
    three_close = with_ways(found, one_process=reaching(0.41), apex=reaching(0.37),
                            ray=reaching(0.43))
    assert analysis.threshold_verdict(three_close.learning) == (
        "One process, the Ape-X actor processes and the Ray actors reached a greedy return "
        "of 100 within 20% of each other's time (370 ms to 430 ms, medians over the runs "
        "that reached it): too close to name one of them first.")
    two_close = with_ways(found, one_process=reaching(0.9), apex=reaching(0.4),
                          ray=reaching(0.45))
    assert analysis.threshold_verdict(two_close.learning) == (
        "The Ape-X actor processes and the Ray actors reached a greedy return of 100 first "
        "within 20% of each other's time (400 ms to 450 ms, medians over the runs that "
        "reached it): too close to name one of them first.")
    some_missed = with_ways(found, one_process=reaching(0.5), apex=reaching(None),
                            ray=reaching(None))
    assert analysis.threshold_verdict(some_missed.learning) == (
        "One process first reached a greedy return of 100, after 500 ms (the median over "
        "the runs that reached it). The Ape-X actor processes and the Ray actors did not "
        "reach it in the budget, in any run.")


@pytest.mark.parametrize(("fields", "cell"), [
    (reaching(None), "not reached"),
    (reaching(1.5), "1.50 s"),
    (reaching(1.5, runs=3, reached=2), "1.50 s (2 of 3 runs)"),
])
def test_threshold_cell(found, fields, cell):
    assert analysis.threshold_cell(dataclasses.replace(found.learning.one, **fields)) == cell


def test_learned_sentence_both_ways(found):
    good = with_ways(found, one_process={"eval_return": 120.0}, apex={"eval_return": 110.0},
                     ray={"eval_return": 130.0})
    good = dataclasses.replace(good, learning=dataclasses.replace(good.learning,
                                                                  random_return=20.0))
    assert analysis.learned_sentence(good.learning) == (
        "Every way learned: the trained greedy policies scored 120 (one process), 110 (the "
        "Ape-X actor processes) and 130 (the Ray actors), against 20 for a random policy on "
        "the same episodes.")
    # 45 is more than twice 20, but not 30 more: both conditions count.
    bad = with_ways(good, ray={"eval_return": 45.0})
    assert analysis.learned_sentence(bad.learning) == (
        "Not every way learned in this run: the greedy policy of the Ray actors did not beat "
        "the random policy's 20 by the margin the tests ask for (2.0× and 30 more).")


@pytest.mark.parametrize(("ray_mean", "ending"), [
    (40.0, " A Ray call brings back 256 transitions chosen with the weights it started "
           "with, and they reach the buffer only when the learner next looks; an Ape-X actor "
           "reads new weights every 64."),
    (1.0, " Here the Ray actors' larger calls cost no extra staleness: the learner collected "
          "each call's transitions as soon as it finished."),
])
def test_staleness_sentence(found, ray_mean, ending):
    changed = with_ways(found, apex={"staleness_mean": 2.0, "staleness_max": 30.0},
                        ray={"staleness_mean": ray_mean, "staleness_max": 120.0})
    assert analysis.staleness_sentence(changed) == (
        f"The Ape-X actors' transitions were 2.0 updates old on average when they reached "
        f"the ring (at most 30), the Ray actors' {ray_mean:.1f} (at most 120); one "
        "process's are never stale." + ending)


def test_puts_sentence(found):
    changed = with_ways(found, ray={"weight_puts": 80.0, "updates": 9600.0})
    assert analysis.puts_sentence(changed.learning) == (
        "In a run of 9,600 updates, the Ray learner made 80 ray.put calls of its weights, "
        "one per call it handed out: about one put per 120 updates.")


@pytest.mark.parametrize(("sampler_rate", "expected"), [
    (40_000.0, "Sampling flat out, the Ape-X actors stepped 40,000 environment steps per "
               "second; the learner used 10,000. Unpaced, they would have written 4.0× as "
               "many steps for every update, so within the same step budget the learner "
               "would have made 25% of its updates: a different replay ratio, and so a "
               "different algorithm, whose speed could not be compared with the others'."),
    (12_000.0, "Sampling flat out, the Ape-X actors stepped 12,000 environment steps per "
               "second, not much more than the 10,000 the learner used: on this machine the "
               "pace seldom had to hold them back."),
])
def test_unpaced_sentence(found, sampler_rate, expected):
    changed = with_ways(found, apex={"sampler_rate": sampler_rate, "steps_per_s": 10_000.0})
    assert analysis.unpaced_sentence(changed.learning) == expected


@pytest.mark.parametrize(("put_s", "ending"), [
    (1e-3, "100 ms, 50% of the Ray run's 200 ms, for weights no actor reads before its next "
           "call."),
    (1e-5, "1.00 ms, against the Ray run's 200 ms: little here, because this network is "
           "small, but it grows with the weights, and every put is for weights no actor "
           "reads before its next call."),
])
def test_put_sentence(found, put_s, ending):
    changed = with_ways(found, ray={"updates": 100.0, "wall_s": 0.2})
    learning = dataclasses.replace(changed.learning, put_s=put_s)
    took = "1.00 ms" if put_s == 1e-3 else "10.0 µs"
    assert analysis.put_sentence(learning, 18_440) == (
        f"One ray.put of the 18,440 bytes of weights took {took}; one after each of a run's "
        f"100 updates would have cost {ending}")



@pytest.mark.parametrize(("call_s", "ending"), [
    (1e-3, ": a replay actor would make every update 6.0× as slow."),
    (1e-4, ": a replay actor would add a round trip to every update, 50% more."),
])
def test_replay_actor_sentence(found, call_s, ending):
    changed = with_ways(found, ray={"updates_per_s": 5000.0})
    learning = dataclasses.replace(changed.learning, ray_call_s=call_s)
    call = "1.00 ms" if call_s == 1e-3 else "100 µs"
    assert analysis.replay_actor_sentence(learning) == (
        f"A call to a Ray actor took {call} there and back in this build, and the Ray "
        f"learner's time per update was 200 µs{ending}")


@pytest.mark.parametrize(("sample_s", "ending"), [
    (2e-5, " The draw is 10% of the Ape-X learner's time per update: the locks are not "
           "what limits it."),
    (1e-4, " The draw is 50% of the Ape-X learner's time per update: on this machine the "
           "locked ring is a real part of the learner's cost."),
])
def test_ring_sentence(found, sample_s, ending):
    changed = with_ways(found, apex={"updates_per_s": 5000.0})
    changed = dataclasses.replace(changed, ring=analysis.Ring(
        times={"write": 1e-5, "sample": sample_s, "publish": 1e-6}))
    draw = "20.0 µs" if sample_s == 2e-5 else "100 µs"
    assert analysis.ring_sentence(changed) == (
        "Under its lock, an actor's write of a chunk of 64 transitions took 10.0 µs, the "
        f"learner's draw of a minibatch {draw} and a publication of the weights 1.00 µs."
        + ending)


@pytest.mark.parametrize(("count", "expected"), [(1, "1 process"), (3, "3 processes")])
def test_actor_counts_read_with_their_plural(count, expected):
    assert counted(count, "process", "processes") == expected


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["op_threshold"] == "100"
    assert texts["op_lesson"] == analysis.dqn_lesson_claim(found).reason
    # The rules page quotes these with the :s format.
    for key in ("op_one_process_share", "op_ceiling", "op_apex_speedup", "op_ray_speedup",
                "op_apex_sampler_rate", "op_apex_rate", "op_unpaced_ratio", "op_ring_sentence",
                "op_apex_staleness", "op_put_sentence", "op_puts_sentence"):
        assert isinstance(texts[key], str), key
    random = found.learning.random_return
    assert all(analysis.learned(way, random) for way in found.learning.ways.values())


# --- the claim this chapter judges for the ledger in book/sources.md, every verdict ---------

def lesson(found, apex, ray, times):
    """``found`` with these speed-ups over one process and times to the threshold:
    ``times`` = (one process, Ape-X, one process beside Ray, Ray), None for not reached."""
    one, apex_t, one_ray, ray_t = times
    return with_ways(found, one_process=reaching(one), one_ray=reaching(one_ray),
                     apex={**speed(apex), **reaching(apex_t), "held_share": 0.8},
                     ray={**speed(ray), **reaching(ray_t)})


def test_the_committed_results_claim(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a000_dqn_single_process"}
    assert judged["a000_dqn_single_process"].verdict in set(Verdict) - {Verdict.UNMEASURED}


@pytest.mark.parametrize(("changes", "verdict", "says"), [
    ((0.9, 0.8, (0.4, 0.5, 0.4, 0.6)), Verdict.HOLDS,
     "one process with a batched vector environment was not beaten: the Ape-X actors ran at "
     "0.90× and the Ray actors at 0.80× the steps per second of one process timed beside "
     "them, and neither reached a greedy return of 100 sooner than its one process."),
    ((1.5, 0.8, (0.6, 0.4, 0.6, 0.7)), Verdict.FAILS,
     "a parallel design beat one process: the Ape-X actors ran at 1.5× and the Ray actors "
     "at 0.80× the steps per second of one process timed beside them, and the Ape-X actor "
     "processes reached a greedy return of 100 sooner than their one process."),
    ((1.5, 0.8, (0.4, 0.5, 0.4, 0.6)), Verdict.PARTLY,
     "so a parallel design took more steps per second, but none reached a greedy return of "
     "100 sooner than its one process."),
    ((0.9, 0.8, (0.6, 0.4, 0.6, 0.7)), Verdict.PARTLY,
     "so one process was not beaten on steps per second, but a parallel way reached a "
     "greedy return of 100 sooner than its one process."),
    ((0.9, 0.8, (None, 0.4, 0.6, 0.7)), Verdict.PARTLY, "but a parallel way reached"),
    ((0.9, 0.8, (None, None, None, None)), Verdict.PARTLY,
     "; no run reached a greedy return of 100, so the time to learn is not compared."),
])
def test_dqn_lesson_claim_every_verdict(found, changes, verdict, says):
    changed = lesson(found, *changes)
    changed = dataclasses.replace(changed, setup=dataclasses.replace(changed.setup, cpus=2))
    changed = with_ways(changed, one_process={"sampling_share": 0.2})
    judged = analysis.dqn_lesson_claim(changed)
    assert judged.verdict is verdict and says in judged.reason, judged.reason
    assert judged.reason.startswith("On CartPole with 2 CPUs, ")
    assert judged.reason.endswith("Sampling was 20% of one process's time, so moving it to "
                                  "other processes could gain at most 1.2×; the learner's "
                                  "updates set the speed.")


def test_dqn_lesson_why_when_sampling_set_the_speed(found):
    changed = with_ways(found, apex={"held_share": 0.1}, one_process={"sampling_share": 0.5})
    assert analysis.dqn_lesson_claim(changed).reason.endswith(
        "Sampling was 50% of one process's time, so moving it to other processes could gain "
        "at most 2.0×, and the Ape-X run was limited by its sampling, not by the learner.")


@pytest.mark.parametrize(("apex", "ray", "cell"), [
    (1.3, 1.1, "The Ape-X actor processes, at 1.3× the steps per second of one process (at "
               "the same pace)"),
    (1.0, 1.4, "The Ray actors, at 1.4× the steps per second of one process (at the same "
               "pace)"),
    (1.04, 0.9, "One process: no parallel way ran more than 5% faster at the same pace"),
])
def test_decision_off_policy(found, apex, ray, cell):
    changed = with_ways(found, apex=speed(apex), ray=speed(ray),
                        one_process={"sampling_share": 0.2})
    assert analysis.decision_off_policy(changed.learning) == cell
    assert analysis.decision_off_policy_why(changed.learning) == (
        f"Stepping the environments was 20% of one process's time, so moving it out of the "
        f"learner's process could gain at most 1.2×; the Ape-X actors ran at "
        f"{format_ratio(apex)} and the Ray actors at {format_ratio(ray)} the steps per second "
        "of one process timed beside them.")
    texts = analysis.texts(changed)
    assert texts["decision_off_policy"] == cell
