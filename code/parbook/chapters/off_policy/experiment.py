"""Off-policy learning: one DQN agent on CartPole trained three ways, each at the same pace.

Groups of cases in the result (``phase`` says whether Ray was running: ``local`` cases
run before Ray starts, because the Ape-X way forks processes, and ``ray`` cases after;
each phase has its own one-process runs, timed seed by seed beside its other way, so that
every speed-up is a ratio of runs made side by side):

``learning``
    Seconds per 1,000 environment steps of a whole training run (sampling and learning),
    one sample per seed, for ``one_process`` and ``apex`` (phase ``local``) and
    ``one_process`` and ``ray`` (phase ``ray``).
``update_time``
    Seconds per learner update of the same runs.
``startup``
    Seconds from starting the Ape-X actor processes until all were ready (per run), and
    from creating the Ray actors until they answered (once).
``ray_init``
    Seconds to start the local Ray instance (or connect to a cluster).
``ring`` (phase ``local``)
    Seconds per operation on the shared-memory blocks of the Ape-X way, each under its
    lock: an actor's write of one chunk of transitions into the ring, the learner's draw
    of one minibatch, and a publication of the weights with their version.
``put`` (phase ``ray``)
    Seconds per ``ray.put`` of the learner's weights.
``ray_call`` (phase ``ray``)
    Seconds per round trip of a call to a Ray actor's empty method.
``evaluation`` (unit ``return``)
    Mean greedy return of each trained policy over seeded evaluation episodes (one sample
    per seed), and of a random policy (one sample per episode).

``values["runs"]`` holds every run's record, with ``curve``: one row per snapshot of the
weights (seconds since the first step, environment steps, updates, mean greedy return
over the snapshot episodes); ``values["random_returns"]`` the random policy's returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.off_policy import agent
from parbook.chapters.off_policy import workload as work
from parbook.shared import run_setup
from parbook.shared.raysession import describe, ray_session

NAME = "off-policy"

WAY_LABELS = {
    "one_process": "one process, batched vector env",
    "apex": "Ape-X: actor processes, shared-memory ring",
    "ray": "Ray actors, the learner pulls",
}
#: The ways as the subject of a sentence.
WAY_NAMES = {
    "one_process": "one process",
    "apex": "the Ape-X actor processes",
    "ray": "the Ray actors",
}
PHASE_LABELS = {"local": "before Ray started", "ray": "while Ray ran"}
LOCAL_WAYS = ("one_process", "apex")
RAY_WAYS = ("one_process", "ray")
RING_LABELS = {
    "write": "an actor writes a chunk into the ring",
    "sample": "the learner draws a minibatch",
    "publish": "the learner publishes its weights",
}
#: Environments every sampler steps at once (one batched vector environment each).
VECTOR_ENVS = 8
#: One learner update per this many environment steps, in every way.
STEPS_PER_UPDATE = 2
#: Environment steps before the first update (the buffer's first minibatches).
WARMUP_STEPS = 1000
#: How far samplers in other processes may run ahead of the updates made.
SLACK_STEPS = 512
#: Vector steps per Ape-X chunk: the actor reads new weights, steps this often, writes.
APEX_CHUNK = 8
#: Vector steps per Ray call: enough that a call's round trip is a small part of it.
RAY_CHUNK = 32
#: Updates the Ray learner makes between two looks for finished calls.
UPDATES_PER_POLL = 16
#: At most this many actors, whatever the CPUs.
MAX_ACTORS = 4
#: The greedy return whose first reaching is timed: four times a random policy's, and
#: reached by almost every run of this agent within a few thousand steps (its greedy
#: return peaks early, often above 150, and then settles between 100 and 150).
THRESHOLD_RETURN = 100.0
#: The weights are kept every this many environment steps, and evaluated after the run.
SNAPSHOT_STEPS = 1000
SNAPSHOT_EPISODES = 5
SNAPSHOT_SEED = 5_000
EVAL_SEED = 10_000
#: Environment steps of the discarded first run of each way (imports, first-use costs).
WARMUP_RUN_STEPS = WARMUP_STEPS + 2000


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    seeds: tuple[int, ...]
    budget_steps: int
    time_limit_s: float
    eval_episodes: int
    ring: Protocol


FULL = Sizes(seeds=(0, 1, 2), budget_steps=40_000, time_limit_s=60.0, eval_episodes=10,
             ring=Protocol(repeats=5, warmup=1))
QUICK = Sizes(seeds=(0,), budget_steps=20_000, time_limit_s=30.0, eval_episodes=10,
              ring=Protocol(repeats=3, warmup=1, short_min_repeats=0))


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def actors_for(cpus: int) -> int:
    """Actors beside the learner: one per usable CPU the learner leaves, at least one."""
    return max(1, min(cpus - 1, MAX_ACTORS))


def pace(parallel: bool) -> work.Pace:
    """The pace every way keeps; samplers in other processes get the slack."""
    return work.Pace(WARMUP_STEPS, STEPS_PER_UPDATE, SLACK_STEPS if parallel else 0)


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Train the agent every way, seed by seed; time the ring's operations; evaluate."""
    size = sizes(quick)
    setup = run_setup.setup(progress)
    say = setup.say
    actors = actors_for(setup.cpus)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus=setup.cpus, start_method=setup.start_method, actors=actors,
        vector_envs=VECTOR_ENVS, steps_per_update=STEPS_PER_UPDATE,
        warmup_steps=WARMUP_STEPS, slack_steps=SLACK_STEPS, apex_chunk=APEX_CHUNK,
        ray_chunk=RAY_CHUNK, updates_per_poll=UPDATES_PER_POLL, max_actors=MAX_ACTORS,
        budget_steps=size.budget_steps, time_limit_s=size.time_limit_s,
        seeds=list(size.seeds), eval_episodes=size.eval_episodes, eval_seed=EVAL_SEED,
        threshold_return=THRESHOLD_RETURN, snapshot_steps=SNAPSHOT_STEPS,
        snapshot_episodes=SNAPSHOT_EPISODES, minibatch=agent.MINIBATCH,
        hidden=agent.HIDDEN, parameters_count=agent.PARAMETERS, gamma=agent.GAMMA,
        learning_rate=agent.LEARNING_RATE, target_sync=agent.TARGET_SYNC,
        epsilon_end=agent.EPSILON_END, epsilon_decay_steps=agent.EPSILON_DECAY_STEPS,
        capacity=work.CAPACITY, transition_bytes=agent.TRANSITION.itemsize,
        max_episode_steps=max_episode_steps(),
    )
    runs: list[work.RunRecord] = []

    _learn(result, size, runs, say, phase="local",
           train=lambda way, seed, budget: _train_local(way, seed, budget, size, setup.context,
                                                        actors))
    _time_ring(result, size, setup.context, say)

    say("starting Ray")
    began = time.perf_counter()
    with ray_session(num_cpus=setup.cpus) as ray:
        result.add("ray_init", {}, [time.perf_counter() - began])
        where = describe(ray)
        result.parameters.update(where)
        ray_actors = (actors if where["ray_address"] == "local"
                      else actors_for(int(where["ray_cluster_cpus"])))
        result.parameters["ray_actors"] = ray_actors
        began = time.perf_counter()
        samplers = work.start_ray_actors(ray, ray_actors)
        try:
            result.add("startup", {"way": "ray"}, [time.perf_counter() - began])
            _learn(result, size, runs, say, phase="ray",
                   train=lambda way, seed, budget: _train_ray(way, seed, budget, size, ray,
                                                              samplers))
            _time_ray(result, size, ray, samplers[0], say)
        finally:
            for sampler in samplers:
                ray.kill(sampler)

    say("evaluating a random policy")
    random_returns = agent.evaluate(None, size.eval_episodes, EVAL_SEED)
    result.values["random_returns"] = random_returns
    result.add("evaluation", {"way": "random", "phase": "none"}, random_returns,
               unit="return")
    result.values["runs"] = [r.as_dict() for r in runs]
    return result


def max_episode_steps() -> int:
    """CartPole-v1's episode limit, which is also its highest possible return."""
    import gymnasium

    return int(gymnasium.spec(agent.ENV_ID).max_episode_steps)


Train = Callable[[str, int, int], work.RunRecord]


def _train_local(way: str, seed: int, budget: int, size: Sizes, context: Any,
                 actors: int) -> work.RunRecord:
    if way == "one_process":
        return work.one_process(seed, VECTOR_ENVS, pace(False), budget, size.time_limit_s,
                                SNAPSHOT_STEPS)
    return work.apex(context, actors, seed, VECTOR_ENVS, APEX_CHUNK, pace(True), budget,
                     size.time_limit_s, SNAPSHOT_STEPS)


def _train_ray(way: str, seed: int, budget: int, size: Sizes, ray: Any,
               samplers: list[Any]) -> work.RunRecord:
    if way == "one_process":
        return work.one_process(seed, VECTOR_ENVS, pace(False), budget, size.time_limit_s,
                                SNAPSHOT_STEPS)
    return work.ray_way(ray, samplers, seed, VECTOR_ENVS, RAY_CHUNK, pace(True), budget,
                        size.time_limit_s, SNAPSHOT_STEPS, UPDATES_PER_POLL)


def _learn(result: Result, size: Sizes, runs: list[work.RunRecord],
           say: Callable[[str], None], phase: str, train: Train) -> None:
    """Every way of ``phase``, seed after seed, after one discarded short run of each;
    each run is evaluated as soon as it ends (outside its timing)."""
    ways = LOCAL_WAYS if phase == "local" else RAY_WAYS
    for way in ways:
        train(way, 99, WARMUP_RUN_STEPS)
    done: dict[str, list[work.RunRecord]] = {way: [] for way in ways}
    for seed in size.seeds:
        for way in ways:
            say(f"learning: {way} ({PHASE_LABELS[phase]}), seed {seed}")
            record = train(way, seed, size.budget_steps)
            record.extra["phase"] = phase
            _evaluate(record, size)
            done[way].append(record)
    for way, records in done.items():
        params = {"way": way, "phase": phase}
        result.add("learning", params, [1000 * r.wall_s / r.env_steps for r in records])
        result.add("update_time", params, [r.wall_s / max(1, r.updates) for r in records])
        result.add("evaluation", params, [float(np.mean(r.extra["eval_returns"]))
                                          for r in records], unit="return")
        if way == "apex":
            result.add("startup", params, [max(r.startup_s, 1e-9) for r in records])
        runs.extend(records)


def _evaluate(record: work.RunRecord, size: Sizes) -> None:
    """The greedy return of every snapshot and of the final weights."""
    record.extra["curve"] = [
        [seconds, steps, updates,
         float(np.mean(agent.evaluate(weights, SNAPSHOT_EPISODES, SNAPSHOT_SEED)))]
        for seconds, steps, updates, weights in record.snapshots]
    assert record.weights is not None
    record.extra["eval_returns"] = agent.evaluate(record.weights, size.eval_episodes,
                                                  EVAL_SEED)


def _time_ring(result: Result, size: Sizes, context: Any,
               say: Callable[[str], None]) -> None:
    """Each operation on the Ape-X blocks, under its lock, in this process."""
    say("timing the shared ring's operations")
    rng = np.random.default_rng(0)
    chunk = np.zeros(APEX_CHUNK * VECTOR_ENVS, agent.TRANSITION)
    weights = agent.initial_weights(0)
    with work.apex_shared(context, actors=1) as shared:
        samples = _ring_samples(shared, chunk, weights, rng, size.ring)
    for operation, timed in samples.items():
        result.add("ring", {"operation": operation, "phase": "local"}, timed)


def _time_ray(result: Result, size: Sizes, ray: Any, actor: Any,
              say: Callable[[str], None]) -> None:
    """Seconds per ray.put of the learner's weights, and per round trip to an actor."""
    say("timing ray.put of the weights and a call's round trip")
    weights = agent.initial_weights(0)
    timed = measure_interleaved({
        "put": lambda _: work.put_weights(ray, weights, RAY_OPERATIONS),
        "ray_call": lambda _: work.call_round_trips(ray, actor, RAY_OPERATIONS),
    }, size.ring)
    for group, samples in timed.items():
        result.add(group, {"phase": "ray"}, [s / RAY_OPERATIONS for s in samples])


#: ray.put calls (or actor calls) per timed sample.
RAY_OPERATIONS = 100
#: Operations per timed sample of the ring, so that each sample lasts milliseconds.
RING_OPERATIONS = 2000


def _ring_samples(shared: work.ApexShared, chunk: np.ndarray, weights: np.ndarray,
                  rng: np.random.Generator, protocol: Protocol) -> dict[str, list[float]]:
    replay = shared.replay()
    replay.add(np.zeros(work.CAPACITY, agent.TRANSITION))  # every slot written once

    def repeat(operation: Callable[[], Any]) -> Callable[[Any], None]:
        def case(_: Any) -> None:
            for _ in range(RING_OPERATIONS):
                operation()
        return case

    timed = measure_interleaved({
        "write": repeat(lambda: replay.add(chunk)),
        "sample": repeat(lambda: replay.sample(agent.MINIBATCH, rng)),
        "publish": repeat(lambda: shared.publish(weights, 1)),
    }, protocol)
    return {op: [s / RING_OPERATIONS for s in samples] for op, samples in timed.items()}
