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


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def smoothed_curve(run: dict[str, Any], window_steps: int = SMOOTHING_STEPS
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds, env steps, mean training return of the episodes that ended in the
    last ``window_steps`` steps) at every update of one run."""
    rows = np.asarray(run["curve"], dtype=float).reshape(-1, 4)
    seconds, steps, episodes, total = rows.T
    smoothed = np.empty(len(rows))
    first = 0
    for i in range(len(rows)):
        while steps[first] <= steps[i] - window_steps:
            first += 1
        smoothed[i] = total[first:i + 1].sum() / max(1.0, episodes[first:i + 1].sum())
    return seconds, steps, smoothed


def time_to_target(run: dict[str, Any], target: float) -> tuple[float, float] | None:
    """(seconds, env steps) when the smoothed training return first reached ``target``."""
    seconds, steps, smoothed = smoothed_curve(run)
    reached = np.flatnonzero(smoothed >= target)
    if len(reached) == 0:
        return None
    return float(seconds[reached[0]]), float(steps[reached[0]])


def sampling_share(run: dict[str, Any]) -> float:
    """The share of a run's wall time its sampling processes spent sampling (a
    vectorised environment is one process, however many environments it steps)."""
    processes = run["samplers"] if run["way"] in ("lockstep", "async") else 1
    return run["sample_s"] / (processes * run["wall_s"])


def _runs(result: Result, way: str, phase: str) -> list[dict[str, Any]]:
    return [r for r in result.values["runs"]
            if r["way"] == way and r["extra"]["phase"] == phase]


def _way_summary(result: Result, way: str, phase: str) -> dict[str, Any]:
    runs = _runs(result, way, phase)
    target = result.parameters["target_return"]
    reached = [t for t in (time_to_target(r, target) for r in runs) if t is not None]
    per_step = result.median("learning", way=way, phase=phase) / 1000
    final = [smoothed_curve(r)[2][-1] for r in runs]
    return {
        "steps_per_s": 1 / per_step,
        "updates_per_s": 1 / result.median("update_time", way=way, phase=phase),
        "eval_return": result.median("evaluation", way=way, phase=phase),
        "final_return": float(np.median(final)),
        "staleness": float(np.median([r["staleness"] for r in runs])),
        "sampling_share": float(np.median([sampling_share(r) for r in runs])),
        "reached": len(reached),
        "runs": len(runs),
        "seconds_to_target": float(np.median([t[0] for t in reached])) if reached else None,
        "steps_to_target": float(np.median([t[1] for t in reached])) if reached else None,
        "startup_s": result.median("startup", way=way) if way == "lockstep"
        else result.median("startup", way=way, phase=phase),
        "capped": sum(bool(r["capped"]) for r in runs),
        "samplers": runs[0]["samplers"],
    }


def rounds_rate(result: Result, way: str, steps: int, phase: str) -> float:
    """Environment steps per second in the round-length sweep."""
    return 1000 / result.median("rounds", way=way, steps=steps, phase=phase)


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    p = result.parameters
    ways: dict[str, dict[str, Any]] = {}
    for way in LOCAL_WAYS:
        ways[way] = _way_summary(result, way, "local")
    ways["lockstep"] = _way_summary(result, "lockstep", "ray")
    one_ray = _way_summary(result, "one_process", "ray")
    # Each way's speed-up is over the one-process runs of its own phase.
    for way, summary in ways.items():
        base = one_ray if way == "lockstep" else ways["one_process"]
        summary["speedup"] = summary["steps_per_s"] / base["steps_per_s"]
    random_returns = result.values["random_returns"]
    steps_list = sorted(p["round_steps"])
    shortest, longest = steps_list[0], steps_list[-1]
    rounds = {
        (way, k, phase): rounds_rate(result, way, k, phase)
        for case in result.group("rounds")
        for way, k, phase in [(case.params["way"], case.params["steps"], case.params["phase"])]
    }
    lock_short = rounds[("lockstep", shortest, "ray")]
    lock_long = rounds[("lockstep", longest, "ray")]
    one_short_ray = rounds[("one_process", shortest, "ray")]
    one_long_ray = rounds[("one_process", longest, "ray")]
    broadcast = {(c.params["how"], c.params["bytes"]): c.summary.median
                 for c in result.group("broadcast")}
    sizes_bytes = sorted({b for _, b in broadcast})
    found: dict[str, Any] = {
        "cpus": p["cpus"],
        "samplers": p["samplers"],
        "samplers_ray": p.get("samplers_ray", p["samplers"]),
        "vector_envs": p["vector_envs"],
        "batch_steps": p["batch_steps"],
        "budget_steps": p["budget_steps"],
        "seeds": len(p["seeds"]),
        "eval_episodes": p["eval_episodes"],
        "target_return": p["target_return"],
        "ways": ways,
        "one_process_ray": one_ray,
        "random_return": float(np.mean(random_returns)),
        "ray_init": result.median("ray_init"),
        "rounds": rounds,
        "round_shortest": shortest,
        "round_longest": longest,
        "lock_short": lock_short,
        "lock_long": lock_long,
        "one_short_ray": one_short_ray,
        "one_long_ray": one_long_ray,
        "native_short": rounds[("vectorised_native", shortest, "local")],
        "sync_short": rounds[("vectorised_sync", shortest, "local")],
        "one_short_local": rounds[("one_process", shortest, "local")],
        "lock_break_even": _break_even(rounds, steps_list),
        "broadcast": broadcast,
        "broadcast_sizes": sizes_bytes,
        "broadcast_small": sizes_bytes[0],
        "broadcast_large": sizes_bytes[-1],
    }
    found.update(_verdicts(found))
    return found


def _break_even(rounds: dict[tuple[str, int, str], float], steps_list: list[int]
                ) -> int | None:
    """The shortest round (steps per actor) at which lock-step actors sampled faster
    than one process; None if they never did."""
    for k in steps_list:
        if rounds[("lockstep", k, "ray")] > rounds[("one_process", k, "ray")]:
            return k
    return None


def _verdicts(found: dict[str, Any]) -> dict[str, Any]:
    """Booleans for the article's three lessons, as measured in this result."""
    ways = found["ways"]
    lock, asyn = ways["lockstep"], ways["async"]
    native_short = found["native_short"]
    return {
        # Lesson 1: a learner that waits for its samplers needs long (on-policy) rounds.
        "lesson1_long_rounds_pay": found["lock_long"] > 3 * found["lock_short"],
        "lesson1_lockstep_beats_one": lock["speedup"] > 1.05,
        # Lesson 2: one-step rounds belong in one process with a vectorised env.
        "lesson2_holds": native_short > max(found["lock_short"], found["one_short_local"]),
        "lesson2_sync_beats_lock": found["sync_short"] > found["lock_short"],
        # Lesson 3: asynchronous samplers keep up with (or beat) one process.
        "lesson3_async_beats_lock": asyn["speedup"] > lock["speedup"],
        "lesson3_async_beats_one": asyn["speedup"] > 1.05,
        "lesson3_async_not_weaker": asyn["speedup"] > 0.8,
        "broadcast_ref_wins_large": (
            found["broadcast"][("by_ref", found["broadcast_large"])]
            < found["broadcast"][("by_value", found["broadcast_large"])]),
        "broadcast_ref_wins_small": (
            found["broadcast"][("by_ref", found["broadcast_small"])]
            < found["broadcast"][("by_value", found["broadcast_small"])]),
    }


def learned(found: dict[str, Any], margin: float = 2.0) -> dict[str, bool]:
    """For every way: did its trained policy beat the random one ``margin`` times over?"""
    return {way: summary["eval_return"] > margin * found["random_return"]
            for way, summary in found["ways"].items()}


# ---------------------------------------------------------------------------------------
# What the page says about the article's lessons, and its figures.


def _percent(share: float) -> str:
    return f"{100 * share:.0f}%"


def _rate(steps_per_s: float) -> str:
    return f"{steps_per_s:,.0f}"


def steps_to_target_text(summary: dict[str, Any]) -> str:
    """How many steps a way needed to reach the target: a number, or why there is none."""
    if summary["steps_to_target"] is None:
        return "not reached within the budget"
    text = f"{summary['steps_to_target']:,.0f}"
    if summary["reached"] < summary["runs"]:
        text += f" ({summary['reached']} of {summary['runs']} runs reached it)"
    return text


def lesson_texts(found: dict[str, Any]) -> dict[str, str]:
    """One verdict paragraph per lesson of article 000, worded from this result."""
    from parbook.render.formatting import format_ratio as ratio

    ways = found["ways"]
    lock, asyn, one = ways["lockstep"], ways["async"], ways["one_process"]
    actors, cpus = found["samplers_ray"], found["cpus"]
    longest = found["round_longest"]
    gain = found["lock_long"] / found["lock_short"]
    if not found["lesson1_long_rounds_pay"]:
        first = (f"It does not hold here: rounds of {longest:,} steps per actor gave lock-step "
                 f"actors only {ratio(gain)} the steps per second of one-step rounds.")
    elif found["lesson1_lockstep_beats_one"]:
        first = (f"It holds here. Lock-step actors took {ratio(gain)} as many steps per "
                 f"second with rounds of {longest:,} steps per actor as with rounds of one "
                 f"step, and in the learning runs, with each update's batch split between "
                 f"{actors} actors, they ran {ratio(lock['speedup'])} as fast as one process.")
    else:
        first = (f"It holds in part. Long rounds are what make lock-step sampling workable "
                 f"at all (rounds of {longest:,} steps per actor took {ratio(gain)} as many "
                 f"steps per second as rounds of one step), but even with each update's batch "
                 f"split between {actors} actors, lock-step sampling on {cpus} CPUs ran at "
                 f"only {ratio(lock['speedup'])} the speed of one process.")
    first += (f" Each actor spent {_percent(lock['sampling_share'])} of a learning run "
              f"sampling; the rest of the time it waited for the learner's update, for the "
              f"slower actor, and for Ray to deliver the weights and the batches.")

    native, sync = found["native_short"], found["sync_short"]
    lock_short, one_short = found["lock_short"], found["one_short_local"]
    if found["lesson2_holds"]:
        second = (f"It holds. With one step per environment between two updates, CartPole's "
                  f"batched environment took {_rate(native)} steps per second: "
                  f"{ratio(native / one_short)} one process with one environment and "
                  f"{ratio(native / lock_short)} the lock-step actors. One policy evaluation "
                  f"and one update serve {found['vector_envs']} environments, and no step "
                  f"crosses a process boundary.")
        if found["lesson2_sync_beats_lock"]:
            second += (f" Even SyncVectorEnv, which steps its environments one after "
                       f"another in Python, took {ratio(sync / lock_short)} as many steps per "
                       f"second as the lock-step actors.")
    else:
        second = (f"It does not hold here: with one step per environment between two "
                  f"updates, the batched environment took {_rate(native)} steps per second, "
                  f"against {_rate(one_short)} for one process and {_rate(lock_short)} for "
                  f"the lock-step actors.")

    if found["lesson3_async_beats_lock"] and found["lesson3_async_not_weaker"]:
        third = (f"It holds for throughput. The asynchronous workers spent "
                 f"{_percent(asyn['sampling_share'])} of their time sampling, against "
                 f"{_percent(lock['sampling_share'])} for the lock-step actors, and ran "
                 f"{ratio(asyn['speedup'])} as fast as one process (lock-step: "
                 f"{ratio(lock['speedup'])}; each against one process timed beside it): ")
        third += ("faster than one process, even with a simulator this cheap."
                  if found["lesson3_async_beats_one"] else
                  "not much weaker than one process, as the article says, but no faster with "
                  "a simulator this cheap.")
    elif found["lesson3_async_beats_lock"]:
        third = (f"It holds only against lock-step sampling: the asynchronous workers ran "
                 f"{ratio(asyn['speedup'])} as fast as one process, better than the "
                 f"lock-step actors' {ratio(lock['speedup'])}, but {found['samplers']} "
                 f"samplers and a learner on {cpus} CPUs still lost to one process.")
    else:
        third = (f"It does not hold here: the asynchronous workers ran "
                 f"{ratio(asyn['speedup'])} as fast as one process, and the lock-step "
                 f"actors {ratio(lock['speedup'])} (each against one process timed beside "
                 f"it).")
    third += (f" Their price is staleness: the steps the asynchronous learner used were "
              f"{asyn['staleness']:.2f} updates old on average (lock-step "
              f"{lock['staleness']:.2f}, one process {one['staleness']:.2f}). Steps needed to "
              f"reach a training return of {found['target_return']:.0f}: "
              f"{steps_to_target_text(asyn)} for the asynchronous workers, "
              f"{steps_to_target_text(one)} for one process.")
    return {"lesson1": first, "lesson2": second, "lesson3": third}


#: Which runs stand for each way in the figures and the main table.
SHOWN = (("one_process", "local"), ("vectorised_sync", "local"),
         ("vectorised_native", "local"), ("async", "local"), ("lockstep", "ray"))


def median_curve(runs: list[dict[str, Any]], axis: str, grid: np.ndarray) -> np.ndarray:
    """Median over runs of the smoothed training return at each point of ``grid``
    (``axis``: "seconds" or "steps"); NaN before a run's first update. A run that has
    ended keeps its last value."""
    values = []
    for run in runs:
        seconds, steps, smoothed = smoothed_curve(run)
        x = seconds if axis == "seconds" else steps
        index = np.searchsorted(x, grid, side="right") - 1
        values.append(np.where(index >= 0, smoothed[np.maximum(index, 0)], np.nan))
    stacked = np.array(values)
    out = np.full(len(grid), np.nan)
    for j in range(len(grid)):
        column = stacked[:, j]
        if np.isfinite(column).all():
            out[j] = np.median(column)
    return out


def curves_figure(result: Result) -> Any:
    """Mean training return against seconds and against environment steps, one line
    per way (median over seeds), with the random policy and the target marked."""
    import matplotlib.pyplot as plt

    found_random = float(np.mean(result.values["random_returns"]))
    target = result.parameters["target_return"]
    figure, (by_time, by_steps) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained",
                                               sharey=True)
    for way, phase in SHOWN:
        runs = _runs(result, way, phase)
        # Lines end where the median run ended.
        end_s = float(np.median([r["wall_s"] for r in runs]))
        end_steps = float(np.median([r["env_steps"] for r in runs]))
        grid_s = np.linspace(0, end_s, 300)
        grid_steps = np.linspace(0, end_steps, 300)
        (line,) = by_time.plot(grid_s, median_curve(runs, "seconds", grid_s),
                               label=WAY_LABELS[way])
        by_steps.plot(grid_steps, median_curve(runs, "steps", grid_steps),
                      color=line.get_color())
    for axes in (by_time, by_steps):
        axes.axhline(found_random, color="0.4", linestyle="--", linewidth=1,
                     label="random policy")
        axes.axhline(target, color="0.6", linestyle=":", linewidth=1, label="target")
        axes.grid(True, alpha=0.3)
    by_time.set_xlabel("seconds since the first step")
    by_steps.set_xlabel("environment steps")
    by_time.set_ylabel("mean training return (last 10,000 steps)")
    handles, labels = by_time.get_legend_handles_labels()
    figure.legend(handles, labels, fontsize="small", loc="outside lower center", ncols=4)
    by_time.set_title("Return against wall-clock time")
    by_steps.set_title("Return against environment steps")
    return figure


def rounds_figure(result: Result) -> Any:
    """Environment steps per second against the steps each sampler takes per round."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    shown = (("one_process", "local", "-"), ("vectorised_sync", "local", "-"),
             ("vectorised_native", "local", "-"), ("lockstep", "ray", "-"),
             ("one_process", "ray", ":"))
    for way, phase, style in shown:
        cases = sorted((c for c in result.group("rounds")
                        if c.params["way"] == way and c.params["phase"] == phase),
                       key=lambda c: c.params["steps"])
        steps = [c.params["steps"] for c in cases]
        rates = [rounds_rate(result, way, k, phase) for k in steps]
        label = WAY_LABELS[way] + (f" ({PHASE_LABELS[phase]})" if way == "one_process" else "")
        axes.plot(steps, rates, marker="o", linestyle=style, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("steps each sampler takes between two updates")
    axes.set_ylabel("environment steps per second")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure


def summary_rows(result: Result, found: dict[str, Any]) -> list[dict[str, str]]:
    """The rows of the chapter's main table: one per way, then the reference runs."""
    from parbook.bench.stats import summarize
    from parbook.render.formatting import format_ratio, format_seconds

    target = f"{found['target_return']:.0f}"
    rows = []
    shown = [(way, phase, found["ways"][way]) for way, phase in SHOWN]
    shown.append(("one_process", "ray", found["one_process_ray"]))
    for way, phase, summary in shown:
        samples = result.case("learning", way=way, phase=phase).samples
        rate = _rate(summary["steps_per_s"])
        if summarize(samples).unstable:
            rate += " ⚠"
        label = WAY_LABELS[way]
        if way == "one_process":
            label += f" ({PHASE_LABELS[phase]})"
        reached = summary["seconds_to_target"]
        rows.append({
            "way": label,
            "samplers": str(summary["samplers"]),
            "env steps/s": rate,
            "speed-up": format_ratio(summary["steps_per_s"]
                                     / (found["one_process_ray"] if phase == "ray"
                                        else found["ways"]["one_process"])["steps_per_s"]),
            "updates/s": f"{summary['updates_per_s']:.1f}",
            "time sampling": _percent(summary["sampling_share"]),
            "staleness (updates)": f"{summary['staleness']:.2f}",
            f"time to {target}": "not reached" if reached is None else format_seconds(reached),
            f"steps to {target}": ("not reached" if reached is None
                                   else f"{summary['steps_to_target']:,.0f}"),
            "greedy return": f"{summary['eval_return']:.0f}",
        })
    rows.append({"way": "random policy", "samplers": "–", "env steps/s": "–",
                 "speed-up": "–", "updates/s": "–", "time sampling": "–",
                 "staleness (updates)": "–", f"time to {target}": "–",
                 f"steps to {target}": "–",
                 "greedy return": f"{found['random_return']:.0f}"})
    return rows
