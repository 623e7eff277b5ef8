"""Actors and a learner: one real learning agent (policy gradient on CartPole) run four ways.

Groups of cases in the result (``phase`` says whether Ray was running: ``local`` cases
run before Ray starts, because the asynchronous way forks processes, and ``ray`` cases
after; each phase has its own one-process baseline, run interleaved with its other
ways, so every speed-up is a ratio of runs made side by side):

``learning``
    Seconds per 1,000 environment steps of a whole training run (sampling and learning),
    one sample per seed, for each way: ``one_process``, ``vectorised_sync``,
    ``vectorised_native``, ``async`` (phase ``local``), ``one_process`` and ``lockstep``
    (phase ``ray``).
``update_time``
    Seconds per learner update of the same runs.
``startup``
    Seconds from creating a way's samplers to its first step (Ray actors: once).
``ray_init``
    Seconds to start the local Ray instance (or connect to a cluster).
``rounds``
    Seconds per 1,000 environment steps when every sampler takes only ``steps`` steps
    between two learner updates (an update of fixed cost, standing for a one-step
    algorithm's minibatch), for one process, the two vectorised environments and
    lock-step Ray actors.
``broadcast``
    Seconds to hand one set of weights of ``bytes`` bytes to every sampler: one
    ``ray.put`` and a reference per actor, the array passed by value to each actor, or
    a copy into (and out of) shared memory as the asynchronous way does.
``evaluation`` (unit ``return``)
    Mean return of each trained policy over seeded evaluation episodes (one sample per
    seed), and of a random policy (one sample per episode).

``values["runs"]`` holds every run's record (learning curve, staleness, sampling time,
final weights); ``values["random_returns"]`` the random policy's episode returns.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.actor_learner import workload as work
from parbook.chapters.actor_learner.agent import (
    ENV_ID,
    LEARNING_RATE,
    PARAMETERS,
    RHO_BAR,
    Learner,
    Sampler,
    VectorSampler,
    evaluate,
)
from parbook.shared import run_setup
from parbook.shared.raysession import describe, ray_session

NAME = "actor-learner"

WAY_LABELS = {
    "one_process": "one process",
    "lockstep": "lock-step Ray actors",
    "async": "asynchronous worker processes",
    "vectorised_sync": "vectorised, SyncVectorEnv",
    "vectorised_native": "vectorised, CartPole's batched env",
}
#: The ways as the subject of a sentence.
WAY_NAMES = {
    "one_process": "one process",
    "lockstep": "the lock-step Ray actors",
    "async": "the asynchronous workers",
    "vectorised_sync": "SyncVectorEnv",
    "vectorised_native": "CartPole's batched vector environment",
}
#: gymnasium's ``vectorization_mode`` for each vectorised way.
VECTOR_MODES = {"vectorised_sync": "sync", "vectorised_native": "vector_entry_point"}
LOCAL_WAYS = ("one_process", "vectorised_sync", "vectorised_native", "async")
RAY_WAYS = ("one_process", "lockstep")
PHASE_LABELS = {"local": "before Ray started", "ray": "while Ray ran"}
BROADCAST_LABELS = {
    "by_ref": "ray.put once, a reference to each actor",
    "by_value": "the array passed by value to each actor",
    "shared": "copied into shared memory and out once",
}
#: Steps in every learner update (split over the samplers of a way).
BATCH_STEPS = 1000
#: Environments in the vectorised ways.
VECTOR_ENVS = 16
#: At most this many parallel samplers, so that each one's share of a lock-step batch
#: stays at 100 steps or more on machines with many CPUs.
MAX_SAMPLERS = 8
#: The training return the curves are timed to: half of CartPole-v1's maximum.
TARGET_RETURN = 250.0
#: Training returns are averaged over the episodes that ended in the last this-many steps.
SMOOTHING_STEPS = 10_000
#: Weights of the fixed-cost update in the round-length sweep (a one-step algorithm's
#: minibatch).
MINIBATCH = 64
EVAL_SEED = 10_000


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    seeds: tuple[int, ...]
    budget_steps: int
    time_limit_s: float
    eval_episodes: int
    round_steps: tuple[int, ...]
    round_target_steps: int
    round_max_rounds: int
    rounds: Protocol
    broadcast_floats: tuple[int, ...]
    broadcast: Protocol


FULL = Sizes(seeds=(0, 1, 2), budget_steps=80_000, time_limit_s=25.0, eval_episodes=10,
             round_steps=(1, 10, 100, 1000), round_target_steps=8_000,
             round_max_rounds=60, rounds=Protocol(repeats=3, warmup=1),
             broadcast_floats=(PARAMETERS, 125_000, 2_000_000),
             broadcast=Protocol(repeats=5, warmup=1))
QUICK = Sizes(seeds=(0,), budget_steps=40_000, time_limit_s=8.0, eval_episodes=10,
              round_steps=(1, 100, 1000), round_target_steps=4_000,
              round_max_rounds=30, rounds=Protocol(repeats=1, warmup=0),
              broadcast_floats=(PARAMETERS, 2_000_000),
              broadcast=Protocol(repeats=3, warmup=1))


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Train the agent every way, sweep the round length, time weight broadcasts."""
    size = sizes(quick)
    setup = run_setup.setup(progress)
    say = setup.say
    samplers = max(1, min(setup.cpus, MAX_SAMPLERS))
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus=setup.cpus, start_method=setup.start_method, samplers=samplers,
        vector_envs=VECTOR_ENVS, batch_steps=BATCH_STEPS, budget_steps=size.budget_steps,
        time_limit_s=size.time_limit_s, seeds=list(size.seeds),
        eval_episodes=size.eval_episodes, eval_seed=EVAL_SEED, target_return=TARGET_RETURN,
        smoothing_steps=SMOOTHING_STEPS, learning_rate=LEARNING_RATE, minibatch=MINIBATCH,
        round_steps=list(size.round_steps), max_samplers=MAX_SAMPLERS, rho_bar=RHO_BAR,
        max_episode_steps=max_episode_steps(),
    )
    runs: list[work.RunRecord] = []
    update_on = work.minibatch(MINIBATCH)

    _learn_local(result, size, setup.context, samplers, runs, say)
    _rounds_local(result, size, update_on, say)
    _broadcast_shared(result, size, setup.context, say)

    say("starting Ray")
    began = _now()
    with ray_session(num_cpus=setup.cpus) as ray:
        result.add("ray_init", {}, [_now() - began])
        where = describe(ray)
        result.parameters.update(where)
        if where["ray_address"] != "local":
            samplers_ray = max(1, min(int(where["ray_cluster_cpus"]), MAX_SAMPLERS))
        else:
            samplers_ray = samplers
        result.parameters["samplers_ray"] = samplers_ray
        began = _now()
        actors = work.start_actors(ray, samplers_ray)
        try:
            result.add("startup", {"way": "lockstep"}, [_now() - began])
            _learn_ray(result, size, ray, actors, runs, say)
            _rounds_ray(result, size, ray, actors, update_on, say)
            _broadcast_ray(result, size, ray, actors, say)
        finally:
            for actor in actors:
                ray.kill(actor)

    _evaluate(result, size, runs, say)
    result.values["runs"] = [r.as_dict() for r in runs]
    return result


def max_episode_steps() -> int:
    """CartPole-v1's episode limit, which is also its highest possible return."""
    import gymnasium

    return int(gymnasium.spec(ENV_ID).max_episode_steps)


def _now() -> float:
    return time.perf_counter()


def _train(way: str, seed: int, size: Sizes, context: Any, samplers: int,
           budget: int | None = None, ray: Any = None, actors: Any = None
           ) -> work.RunRecord:
    steps = budget or size.budget_steps
    limit = size.time_limit_s
    if way == "one_process":
        return work.one_process(seed, BATCH_STEPS, steps, limit)
    if way in VECTOR_MODES:
        record = work.vectorised(seed, BATCH_STEPS, steps, limit, VECTOR_ENVS,
                                 VECTOR_MODES[way])
        record.way = way
        return record
    if way == "async":
        return work.asynchronous(context, samplers, seed, BATCH_STEPS, steps, limit)
    if way == "lockstep":
        return work.lockstep(ray, actors, seed, BATCH_STEPS, steps, limit)
    raise ValueError(f"unknown way {way!r}")


def _add_runs(result: Result, phase: str, records: dict[str, list[work.RunRecord]],
              runs: list[work.RunRecord]) -> None:
    for way, done in records.items():
        params = {"way": way, "phase": phase}
        result.add("learning", params, [1000 * r.wall_s / r.env_steps for r in done])
        result.add("update_time", params, [r.wall_s / max(1, r.updates) for r in done])
        if way != "lockstep":
            result.add("startup", {"way": way, "phase": phase},
                       [max(r.startup_s, 1e-9) for r in done])
        for record in done:
            record.extra["phase"] = phase
        runs.extend(done)


def _learn_local(result: Result, size: Sizes, context: Any, samplers: int,
                 runs: list[work.RunRecord], say: Callable[[str], None]) -> None:
    # A short discarded run of each way first pays for imports and first-use costs.
    for way in LOCAL_WAYS:
        _train(way, 99, size, context, samplers, budget=2 * BATCH_STEPS)
    records: dict[str, list[work.RunRecord]] = {way: [] for way in LOCAL_WAYS}
    for seed in size.seeds:
        for way in LOCAL_WAYS:
            say(f"learning: {way}, seed {seed}")
            records[way].append(_train(way, seed, size, context, samplers))
    _add_runs(result, "local", records, runs)


def _learn_ray(result: Result, size: Sizes, ray: Any, actors: list[Any],
               runs: list[work.RunRecord], say: Callable[[str], None]) -> None:
    for way in RAY_WAYS:
        _train(way, 99, size, None, len(actors), budget=2 * BATCH_STEPS, ray=ray,
               actors=actors)
    records: dict[str, list[work.RunRecord]] = {way: [] for way in RAY_WAYS}
    for seed in size.seeds:
        for way in RAY_WAYS:
            say(f"learning: {way}, seed {seed}")
            records[way].append(_train(way, seed, size, None, len(actors), ray=ray,
                                       actors=actors))
    _add_runs(result, "ray", records, runs)


def _round_count(size: Sizes, steps: int, samplers: int) -> int:
    wanted = size.round_target_steps // (steps * samplers)
    return max(1, min(size.round_max_rounds, wanted))


def _add_rounds(result: Result, phase: str, steps: int, taken: dict[str, int],
                samples: dict[str, list[float]]) -> None:
    for way, timed in samples.items():
        result.add("rounds", {"way": way, "steps": steps, "phase": phase},
                   [1000 * s / taken[way] for s in timed])


def _counting(taken: dict[str, int], way: str, rounds: Callable[[], int]
              ) -> Callable[[Any], None]:
    """A timed case that runs ``rounds`` and keeps the number of steps it took."""
    def case(_: Any) -> None:
        taken[way] = rounds()
    return case


def _rounds_local(result: Result, size: Sizes, update_on: Any,
                  say: Callable[[str], None]) -> None:
    learner = Learner()
    one = Sampler(7)
    vectors = {way: VectorSampler(VECTOR_ENVS, 7, mode) for way, mode in VECTOR_MODES.items()}
    try:
        for steps in size.round_steps:
            say(f"rounds of {steps} steps: one process and vectorised")
            taken: dict[str, int] = {}
            cases = {"one_process": _counting(taken, "one_process", functools.partial(
                work.rounds_one_process, one, learner, update_on, steps,
                _round_count(size, steps, 1)))}
            for way, vector in vectors.items():
                cases[way] = _counting(taken, way, functools.partial(
                    work.rounds_one_process, vector, learner, update_on, steps,
                    _round_count(size, steps, VECTOR_ENVS)))
            _add_rounds(result, "local", steps, taken, measure_interleaved(cases, size.rounds))
    finally:
        one.close()
        for vector in vectors.values():
            vector.close()


def _rounds_ray(result: Result, size: Sizes, ray: Any, actors: list[Any], update_on: Any,
                say: Callable[[str], None]) -> None:
    learner = Learner()
    one = Sampler(7)
    try:
        for steps in size.round_steps:
            say(f"rounds of {steps} steps: one process and lock-step actors")
            taken: dict[str, int] = {}
            cases = {
                "one_process": _counting(taken, "one_process", functools.partial(
                    work.rounds_one_process, one, learner, update_on, steps,
                    _round_count(size, steps, 1))),
                "lockstep": _counting(taken, "lockstep", functools.partial(
                    work.rounds_lockstep, ray, actors, learner, update_on, steps,
                    _round_count(size, steps, len(actors)))),
            }
            _add_rounds(result, "ray", steps, taken, measure_interleaved(cases, size.rounds))
    finally:
        one.close()


def _broadcast_shared(result: Result, size: Sizes, context: Any,
                      say: Callable[[str], None]) -> None:
    for floats in size.broadcast_floats:
        say(f"broadcast: {floats} floats through shared memory")
        weights = np.ones(floats)
        shared = context.Array("d", floats)
        samples = measure_interleaved(
            {"shared": lambda _, s=shared, w=weights: work.publish_to_shared(s, w)},
            size.broadcast)
        del shared
        result.add("broadcast", {"how": "shared", "bytes": int(weights.nbytes)},
                   samples["shared"])


def _broadcast_ray(result: Result, size: Sizes, ray: Any, actors: list[Any],
                   say: Callable[[str], None]) -> None:
    for floats in size.broadcast_floats:
        say(f"broadcast: {floats} floats to {len(actors)} actors")
        weights = np.ones(floats)
        samples = measure_interleaved({
            "by_ref": lambda _, w=weights: work.broadcast_by_ref(ray, actors, w),
            "by_value": lambda _, w=weights: work.broadcast_by_value(ray, actors, w),
        }, size.broadcast)
        for how, timed in samples.items():
            result.add("broadcast", {"how": how, "bytes": int(weights.nbytes)}, timed)


def _evaluate(result: Result, size: Sizes, runs: list[work.RunRecord],
              say: Callable[[str], None]) -> None:
    say("evaluating the trained policies and a random one")
    scores: dict[tuple[str, str], list[float]] = {}
    for record in runs:
        returns = evaluate(np.array(record.theta), size.eval_episodes, EVAL_SEED)
        record.extra["eval_returns"] = returns
        scores.setdefault((record.way, record.extra["phase"]), []).append(
            float(np.mean(returns)))
    for (way, phase), means in scores.items():
        result.add("evaluation", {"way": way, "phase": phase}, means, unit="return")
    random_returns = evaluate(None, size.eval_episodes, EVAL_SEED)
    result.values["random_returns"] = random_returns
    result.add("evaluation", {"way": "random", "phase": "none"}, random_returns,
               unit="return")
