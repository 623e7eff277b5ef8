"""What the off-policy chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.results import Result
from parbook.chapters.off_policy.experiment import LOCAL_WAYS, WAY_NAMES
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    counted,
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    sentence_start,
    spoken_list,
)

#: A way "beats" another in steps per second when it is faster by more than this factor.
WIN_MARGIN = 1.05
#: A way reaches the threshold "sooner" than another only when it takes less than the
#: other's time divided by this: the weights are evaluated every SNAPSHOT_STEPS steps,
#: a fifth or so of the time to the threshold, so smaller differences are the grid's.
TIME_MARGIN = 1.2
#: A trained greedy policy has learned when its mean return is at least this many times
#: a random policy's ...
LEARNED_RATIO = 2.0
#: ... and at least this much above it.
LEARNED_MARGIN = 30.0
#: The Ape-X learner set the pace (the run was "learner-bound") when its actors spent at
#: least this share of their time held back, waiting for it.
LEARNER_BOUND_HELD = 0.25
#: The ways that sample in other processes, each timed beside one process in its phase.
PARALLEL = ("apex", "ray")


@dataclass(frozen=True)
class Setup:
    """The machine, the samplers and the agent's settings."""

    cpus: int
    start_method: str
    actors: int
    ray_actors: int
    vector_envs: int
    steps_per_update: int
    minibatch: int
    warmup_steps: int
    slack_steps: int
    apex_chunk: int
    ray_chunk: int
    updates_per_poll: int
    seeds: int
    eval_episodes: int
    snapshot_steps: int
    snapshot_episodes: int
    hidden: int
    parameters: int
    gamma: float
    learning_rate: float
    target_sync: int
    epsilon_end: float
    epsilon_decay_steps: int
    capacity: int
    transition_bytes: int
    max_episode_steps: int

    @property
    def apex_chunk_transitions(self) -> int:
        """Transitions an Ape-X actor writes at once (and samples with one set of weights)."""
        return self.apex_chunk * self.vector_envs

    @property
    def ray_chunk_transitions(self) -> int:
        """Transitions one Ray call brings back (all sampled with one set of weights)."""
        return self.ray_chunk * self.vector_envs


@dataclass(frozen=True)
class Way:
    """One way's training runs in one phase: medians over the seeds."""

    way: str
    phase: str
    samplers: int
    runs: int
    capped: int
    steps_per_s: float
    updates_per_s: float
    #: Steps per second of the one-process runs of the same phase, timed beside it.
    one_process_steps_per_s: float
    staleness_mean: float
    staleness_max: float
    #: The share of the samplers' time spent stepping environments (one process: the
    #: share of its own time).
    sampling_share: float
    #: The share of the Ape-X actors' time the pace held them back (0 for other ways).
    held_share: float
    #: The share of the learner's time spent waiting for transitions.
    learner_wait_share: float
    eval_return: float
    weight_puts: float
    updates: float
    #: Environment steps per second of all its samplers together while they sampled:
    #: what they could write if nothing held them back.
    sampler_rate: float
    wall_s: float
    #: How many runs reached the threshold, and the median time and steps of those that did.
    reached: int
    seconds_to_threshold: float | None
    steps_to_threshold: float | None

    @property
    def speedup(self) -> float:
        """Steps per second over one process in the same phase."""
        return self.steps_per_s / self.one_process_steps_per_s


@dataclass(frozen=True)
class Learning:
    """The three ways' training runs, the control run beside Ray, the random policy."""

    budget_steps: int
    threshold: float
    #: one_process and apex (before Ray), ray (while Ray ran).
    ways: dict[str, Way]
    #: The one-process runs timed beside the Ray actors.
    one_process_ray: Way
    random_return: float
    ray_init_s: float
    ray_startup_s: float
    apex_startup_s: float
    #: Seconds per ray.put of the weights, and per round trip of a call to an actor.
    put_s: float
    ray_call_s: float

    @property
    def one(self) -> Way:
        return self.ways["one_process"]

    @property
    def apex(self) -> Way:
        return self.ways["apex"]

    @property
    def ray(self) -> Way:
        return self.ways["ray"]

    def baseline(self, way: Way) -> Way:
        """The one-process runs timed in the same phase as ``way``."""
        return self.one_process_ray if way.phase == "ray" else self.one


@dataclass(frozen=True)
class Ring:
    """Seconds per operation on the Ape-X blocks, each under its lock."""

    times: dict[str, float]  # write, sample, publish


@dataclass(frozen=True)
class Findings:
    """Everything the page says about one result, section by section."""

    setup: Setup
    learning: Learning
    ring: Ring


# ---------------------------------------------------------------------------------------
# Reading the runs' records.


def runs_of(result: Result, way: str, phase: str) -> list[dict[str, Any]]:
    """The records of ``way``'s training runs in ``phase``."""
    return [r for r in result.values["runs"]
            if r["way"] == way and r["extra"]["phase"] == phase]


def curve_of(run: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds, env steps, greedy return) at every snapshot of one run."""
    rows = np.asarray(run["extra"]["curve"], dtype=float).reshape(-1, 4)
    return rows[:, 0], rows[:, 1], rows[:, 3]


def reached_threshold(run: dict[str, Any], threshold: float) -> tuple[float, float] | None:
    """(seconds, env steps) of the first snapshot whose greedy return reached
    ``threshold``; None if none did."""
    seconds, steps, returns = curve_of(run)
    hits = np.flatnonzero(returns >= threshold)
    if len(hits) == 0:
        return None
    return float(seconds[hits[0]]), float(steps[hits[0]])


def sampling_share(run: dict[str, Any]) -> float:
    """The share of the samplers' time spent stepping environments."""
    return run["sample_s"] / (run["samplers"] * run["wall_s"])


def _median(values: list[float]) -> float:
    return float(np.median(values))


def _steps_per_s(result: Result, way: str, phase: str) -> float:
    return 1000 / result.median("learning", way=way, phase=phase)


def _way(result: Result, way: str, phase: str) -> Way:
    runs = runs_of(result, way, phase)
    threshold = result.parameters["threshold_return"]
    reached = [t for t in (reached_threshold(r, threshold) for r in runs) if t is not None]
    return Way(
        way=way, phase=phase, samplers=runs[0]["samplers"], runs=len(runs),
        capped=sum(bool(r["capped"]) for r in runs),
        steps_per_s=_steps_per_s(result, way, phase),
        updates_per_s=1 / result.median("update_time", way=way, phase=phase),
        one_process_steps_per_s=_steps_per_s(result, "one_process", phase),
        staleness_mean=_median([r["staleness_mean"] for r in runs]),
        staleness_max=max(r["staleness_max"] for r in runs),
        sampling_share=_median([sampling_share(r) for r in runs]),
        held_share=_median([r["held_s"] / (r["samplers"] * r["wall_s"]) for r in runs]),
        learner_wait_share=_median([r["learner_wait_s"] / r["wall_s"] for r in runs]),
        eval_return=result.median("evaluation", way=way, phase=phase),
        weight_puts=_median([r["weight_puts"] for r in runs]),
        updates=_median([r["updates"] for r in runs]),
        sampler_rate=_median([r["samplers"] * r["env_steps"] / r["sample_s"] for r in runs]),
        wall_s=_median([r["wall_s"] for r in runs]),
        reached=len(reached),
        seconds_to_threshold=_median([t[0] for t in reached]) if reached else None,
        steps_to_threshold=_median([t[1] for t in reached]) if reached else None,
    )


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    p = result.parameters
    ways = {way: _way(result, way, "local") for way in LOCAL_WAYS}
    ways["ray"] = _way(result, "ray", "ray")
    return Findings(
        setup=Setup(
            cpus=p["cpus"], start_method=p["start_method"], actors=p["actors"],
            ray_actors=p["ray_actors"], vector_envs=p["vector_envs"],
            steps_per_update=p["steps_per_update"], minibatch=p["minibatch"],
            warmup_steps=p["warmup_steps"], slack_steps=p["slack_steps"],
            apex_chunk=p["apex_chunk"], ray_chunk=p["ray_chunk"],
            updates_per_poll=p["updates_per_poll"], seeds=len(p["seeds"]),
            eval_episodes=p["eval_episodes"], snapshot_steps=p["snapshot_steps"],
            snapshot_episodes=p["snapshot_episodes"], hidden=p["hidden"],
            parameters=p["parameters_count"], gamma=p["gamma"],
            learning_rate=p["learning_rate"], target_sync=p["target_sync"],
            epsilon_end=p["epsilon_end"], epsilon_decay_steps=p["epsilon_decay_steps"],
            capacity=p["capacity"], transition_bytes=p["transition_bytes"],
            max_episode_steps=p["max_episode_steps"],
        ),
        learning=Learning(
            budget_steps=p["budget_steps"], threshold=p["threshold_return"], ways=ways,
            one_process_ray=_way(result, "one_process", "ray"),
            random_return=float(np.mean(result.values["random_returns"])),
            ray_init_s=result.median("ray_init"),
            ray_startup_s=result.median("startup", way="ray"),
            apex_startup_s=result.median("startup", way="apex", phase="local"),
            put_s=result.median("put", phase="ray"),
            ray_call_s=result.median("ray_call", phase="ray"),
        ),
        ring=Ring(times={c.params["operation"]: c.summary.median
                         for c in result.group("ring")}),
    )


def learned(way: Way, random_return: float) -> bool:
    """Whether ``way``'s trained greedy policy beat a random one by the chapter's margin."""
    return (way.eval_return >= LEARNED_RATIO * random_return
            and way.eval_return >= random_return + LEARNED_MARGIN)


# ---------------------------------------------------------------------------------------
# How the page writes the chapter's own quantities.


def return_text(value: float) -> str:
    """A return (of an episode, a policy, or the threshold) as a whole number: ``"150"``."""
    return f"{value:.0f}"


def staleness_text(updates: float) -> str:
    """Staleness in updates, to one decimal: ``"4.2"``."""
    return f"{updates:.1f}"


def threshold_cell(way: Way) -> str:
    """A way's time to the threshold for a table: ``"1.20 s"``, with how many runs reached
    it when not all did, or ``"not reached"``."""
    if way.seconds_to_threshold is None:
        return "not reached"
    text = format_seconds(way.seconds_to_threshold)
    if way.reached < way.runs:
        text += f" ({way.reached} of {way.runs} runs)"
    return text


# ---------------------------------------------------------------------------------------
# Sentences whose wording depends on what this run measured.


def best_parallel(learning: Learning) -> Way:
    """The parallel way with the highest speed-up over one process in its phase."""
    return max((learning.ways[w] for w in PARALLEL), key=lambda way: way.speedup)


def rate_verdict(learning: Learning) -> str:
    """Which way took the most environment steps per second, against one process."""
    apex, ray = format_ratio(learning.apex.speedup), format_ratio(learning.ray.speedup)
    best = best_parallel(learning)
    if best.speedup > WIN_MARGIN:
        other = learning.ways["ray" if best.way == "apex" else "apex"]
        return (f"{sentence_start(WAY_NAMES[best.way])} took the most environment steps "
                f"per second: {format_ratio(best.speedup)} the one process timed beside "
                f"them ({WAY_NAMES[other.way]}: {format_ratio(other.speedup)}).")
    return (f"Neither parallel way beat one process by more than "
            f"{format_percent(WIN_MARGIN - 1)}: the Ape-X actors ran at {apex} and the Ray "
            f"actors at {ray} the speed of the one process timed beside each.")


def decision_off_policy(learning: Learning) -> str:
    """Choosing-table cell: the way with the most environment steps per second, or one
    process when no parallel way beat it by more than :data:`WIN_MARGIN`."""
    best = best_parallel(learning)
    if best.speedup > WIN_MARGIN:
        return (f"{sentence_start(WAY_NAMES[best.way])}, at {format_ratio(best.speedup)} "
                "the steps per second of one process (at the same pace)")
    return (f"One process: no parallel way ran more than {format_percent(WIN_MARGIN - 1)} "
            "faster at the same pace")


def decision_off_policy_why(learning: Learning) -> str:
    """The reason for the off-policy decision: the sampling share and its ceiling."""
    return (f"Stepping the environments was {format_percent(learning.one.sampling_share)} of "
            f"one process's time, so moving it out of the learner's process could gain at "
            f"most {format_ratio(ceiling(learning))}; the Ape-X actors ran at "
            f"{format_ratio(learning.apex.speedup)} and the Ray actors at "
            f"{format_ratio(learning.ray.speedup)} the steps per second of one process timed "
            "beside them.")


def ceiling(learning: Learning) -> float:
    """The most any design that moves sampling out of the learner's process could gain:
    one process's time over its time without the sampling (Amdahl's law)."""
    return 1 / (1 - learning.one.sampling_share)


def bound_sentence(learning: Learning) -> str:
    """Why: how much of one process's time was sampling, and whether the learner set the
    pace of the Ape-X run."""
    one, apex = learning.one, learning.apex
    share = format_percent(one.sampling_share)
    text = (f"In one process, stepping the environments took {share} of the run; the rest "
            "was the learner's updates and the replay buffer. Samplers in other processes "
            f"can take only that share off the learner's process, so no design of this kind "
            f"could run more than {format_ratio(ceiling(learning))} as fast here.")
    held = format_percent(apex.held_share)
    if apex.held_share >= LEARNER_BOUND_HELD:
        return text + (f" The Ape-X actors were held back by the pace for {held} of their "
                       "time, waiting for the learner to catch up: the learner set the "
                       "speed, not the sampling.")
    return text + (f" The Ape-X actors were held back for only {held} of their time: "
                   "sampling, not the learner, set the speed of that run.")


def threshold_verdict(learning: Learning) -> str:
    """Which way first reached the threshold, in wall-clock time, and which did not."""
    threshold = return_text(learning.threshold)
    ways = learning.ways
    timed = {w: s.seconds_to_threshold for w, s in ways.items()
             if s.seconds_to_threshold is not None}
    missed = [WAY_NAMES[w] for w in ways if w not in timed]
    if not timed:
        return (f"No way reached a greedy return of {threshold} within the budget in this "
                "run; the curves show how far each got.")
    fastest = min(timed, key=timed.__getitem__)
    # Ways within TIME_MARGIN of the fastest tie with it, as in the lesson's judgement:
    # with the return checked once per snapshot, a smaller lead is not a lead.
    close = [w for w in timed if timed[w] <= timed[fastest] * TIME_MARGIN]
    if len(close) > 1:
        first = "" if len(close) == len(timed) else " first"
        text = (f"{sentence_start(spoken_list(WAY_NAMES[w] for w in close))} reached a "
                f"greedy return of {threshold}{first} within "
                f"{format_percent(TIME_MARGIN - 1)} of each other's time "
                f"({format_seconds(timed[fastest])} to "
                f"{format_seconds(max(timed[w] for w in close))}, medians over the runs that "
                "reached it): too close to name one of them first.")
    else:
        text = (f"{sentence_start(WAY_NAMES[fastest])} first reached a greedy return of "
                f"{threshold}, after {format_seconds(timed[fastest])} (the median over the "
                "runs that reached it).")
    if missed:
        text += (f" {sentence_start(spoken_list(missed))} did not reach it in the budget, in "
                 "any run.")
    return text


def learned_sentence(learning: Learning) -> str:
    """Whether every way's trained greedy policy beat the random policy."""
    random = return_text(learning.random_return)
    failed = [w for w, way in learning.ways.items() if not learned(way, learning.random_return)]
    if not failed:
        scores = spoken_list(f"{return_text(way.eval_return)} ({WAY_NAMES[w]})"
                             for w, way in learning.ways.items())
        return (f"Every way learned: the trained greedy policies scored {scores}, against "
                f"{random} for a random policy on the same episodes.")
    names = spoken_list(WAY_NAMES[w] for w in failed)
    return (f"Not every way learned in this run: the greedy policy of {names} did not beat "
            f"the random policy's {random} by the margin the tests ask for "
            f"({format_ratio(LEARNED_RATIO)} and {return_text(LEARNED_MARGIN)} more).")


def staleness_sentence(found: Findings) -> str:
    """How stale each parallel way's transitions were, and why Ray's differ."""
    apex, ray = found.learning.apex, found.learning.ray
    setup = found.setup
    text = (f"The Ape-X actors' transitions were {staleness_text(apex.staleness_mean)} "
            f"updates old on average when they reached the ring (at most "
            f"{format_count(apex.staleness_max)}), the Ray actors' "
            f"{staleness_text(ray.staleness_mean)} (at most {format_count(ray.staleness_max)}); "
            "one process's are never stale.")
    if ray.staleness_mean > apex.staleness_mean:
        return text + (f" A Ray call brings back {format_count(setup.ray_chunk_transitions)} "
                       "transitions chosen with the weights it started with, and they reach "
                       "the buffer only when the learner next looks; an Ape-X actor reads new "
                       f"weights every {format_count(setup.apex_chunk_transitions)}.")
    return text + (" Here the Ray actors' larger calls cost no extra staleness: the learner "
                   "collected each call's transitions as soon as it finished.")


def puts_sentence(learning: Learning) -> str:
    """How many times the Ray learner put its weights in the object store in a run."""
    ray = learning.ray
    puts, updates = format_count(ray.weight_puts), format_count(ray.updates)
    per = format_count(ray.updates / max(1.0, ray.weight_puts))
    return (f"In a run of {updates} updates, the Ray learner made {puts} ray.put calls of "
            f"its weights, one per call it handed out: about one put per {per} updates.")


#: Unpaced samplers would "change the algorithm" when they could write more than this many
#: times the steps the learner used.
UNPACED_OVERRUN = 1.5
#: Putting the weights after every update is "a real cost" above this share of a run.
PUT_COST_SHARE = 0.05


def unpaced_ratio(learning: Learning) -> float:
    """How many times the steps the Ape-X learner used its actors could have written."""
    apex = learning.apex
    return apex.sampler_rate / apex.steps_per_s


def unpaced_sentence(learning: Learning) -> str:
    """What the Ape-X actors would have done without the pace."""
    apex, ratio = learning.apex, unpaced_ratio(learning)
    could, used = format_count(apex.sampler_rate), format_count(apex.steps_per_s)
    if ratio > UNPACED_OVERRUN:
        return (f"Sampling flat out, the Ape-X actors stepped {could} environment steps per "
                f"second; the learner used {used}. Unpaced, they would have written "
                f"{format_ratio(ratio)} as many steps for every update, so within the same "
                f"step budget the learner would have made {format_percent(1 / ratio)} of its "
                "updates: a different replay ratio, and so a different algorithm, whose "
                "speed could not be compared with the others'.")
    return (f"Sampling flat out, the Ape-X actors stepped {could} environment steps per "
            f"second, not much more than the {used} the learner used: on this machine the "
            "pace seldom had to hold them back.")


def put_sentence(learning: Learning, weights_bytes: int) -> str:
    """What putting the weights after every update would have cost the Ray learner."""
    ray = learning.ray
    cost = learning.put_s * ray.updates
    share = cost / ray.wall_s
    text = (f"One ray.put of the {format_count(weights_bytes)} bytes of weights took "
            f"{format_seconds(learning.put_s)}; one after each of a run's "
            f"{format_count(ray.updates)} updates would have cost {format_seconds(cost)}")
    wall = format_seconds(ray.wall_s)
    if share > PUT_COST_SHARE:
        return text + (f", {format_percent(share)} of the Ray run's {wall}, for weights no "
                       "actor reads before its next call.")
    return text + (f", against the Ray run's {wall}: little here, because this network is "
                   "small, but it grows with the weights, and every put is for weights no "
                   "actor reads before its next call.")


def replay_actor_sentence(learning: Learning) -> str:
    """What a replay actor would cost the learner: a round trip per minibatch."""
    call, update = learning.ray_call_s, 1 / learning.ray.updates_per_s
    text = (f"A call to a Ray actor took {format_seconds(call)} there and back in this build, "
            f"and the Ray learner's time per update was {format_seconds(update)}")
    if call > update:
        return text + (f": a replay actor would make every update "
                       f"{format_ratio(1 + call / update)} as slow.")
    return text + (": a replay actor would add a round trip to every update, "
                   f"{format_percent(call / update)} more.")


def ring_sentence(found: Findings) -> str:
    """What the locks of the shared blocks cost, against an update."""
    times, apex = found.ring.times, found.learning.apex
    update_s = 1 / apex.updates_per_s
    share = times["sample"] / update_s
    text = (f"Under its lock, an actor's write of a chunk of "
            f"{format_count(found.setup.apex_chunk_transitions)} transitions took "
            f"{format_seconds(times['write'])}, the learner's draw of a minibatch "
            f"{format_seconds(times['sample'])} and a publication of the weights "
            f"{format_seconds(times['publish'])}.")
    if share < 0.25:
        return text + (f" The draw is {format_percent(share)} of the Ape-X learner's time per "
                       "update: the locks are not what limits it.")
    return text + (f" The draw is {format_percent(share)} of the Ape-X learner's time per "
                   "update: on this machine the locked ring is a real part of the "
                   "learner's cost.")


# ---------------------------------------------------------------------------------------
# Article 000's DQN lesson.


def _time_outcome(learning: Learning) -> bool | None:
    """Whether one process reached the threshold no later than each parallel way (each
    against the one process timed beside it); None when no such pair can be compared
    (neither reached it)."""
    compared = False
    for name in PARALLEL:
        way = learning.ways[name]
        parallel, one = way.seconds_to_threshold, learning.baseline(way).seconds_to_threshold
        if parallel is None and one is None:
            continue
        compared = True
        if one is None or (parallel is not None and parallel * TIME_MARGIN < one):
            return False
    return True if compared else None


def dqn_lesson_outcome(learning: Learning) -> Verdict:
    """``HOLDS`` if one process was neither out-sampled (by more than :data:`WIN_MARGIN`)
    nor out-learned (by more than :data:`TIME_MARGIN`) by a parallel way, ``FAILS`` if a
    parallel way beat it at both, and ``PARTLY`` otherwise (one of the two, or no run
    reached the threshold)."""
    rate_wins = best_parallel(learning).speedup <= WIN_MARGIN
    time_wins = _time_outcome(learning)
    if rate_wins and time_wins:
        return Verdict.HOLDS
    if not rate_wins and time_wins is False:
        return Verdict.FAILS
    return Verdict.PARTLY


def _why(learning: Learning) -> str:
    """Why one process is hard to beat here, or why it is not."""
    share, cap = format_percent(learning.one.sampling_share), format_ratio(ceiling(learning))
    text = (f" Sampling was {share} of one process's time, so moving it to other processes "
            f"could gain at most {cap}")
    if learning.apex.held_share >= LEARNER_BOUND_HELD:
        return text + "; the learner's updates set the speed."
    return text + ", and the Ape-X run was limited by its sampling, not by the learner."


def dqn_lesson_claim(found: Findings) -> Judgement:
    """Article 000's second lesson, measured with a one-step learner: a single process
    with a vectorised environment suits DQN."""
    learning = found.learning
    apex, ray = format_ratio(learning.apex.speedup), format_ratio(learning.ray.speedup)
    rates = (f"the Ape-X actors ran at {apex} and the Ray actors at {ray} the steps per "
             "second of one process timed beside them")
    threshold = f"a greedy return of {return_text(learning.threshold)}"
    start = f"On CartPole with {found.setup.cpus} CPUs, "
    outcome, time_wins = dqn_lesson_outcome(learning), _time_outcome(learning)
    if outcome is Verdict.HOLDS:
        return Judgement(outcome, (
            f"{start}one process with a batched vector environment was not beaten: {rates}, "
            f"and neither reached {threshold} sooner than its one process." + _why(learning)))
    best = WAY_NAMES[best_parallel(learning).way]
    if outcome is Verdict.FAILS:
        return Judgement(outcome, (
            f"{start}a parallel design beat one process: {rates}, and {best} reached "
            f"{threshold} sooner than their one process." + _why(learning)))
    if time_wins is None:
        middle = f"; no run reached {threshold}, so the time to learn is not compared."
    elif time_wins:
        middle = (f", so a parallel design took more steps per second, but none reached "
                  f"{threshold} sooner than its one process.")
    else:
        middle = (f", so one process was not beaten on steps per second, but a parallel way "
                  f"reached {threshold} sooner than its one process.")
    return Judgement(outcome, start + rates + middle + _why(learning))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {"a000_dqn_single_process": dqn_lesson_claim(found)}


# ---------------------------------------------------------------------------------------
# Every glued text.


def _way_texts(name: str, way: Way) -> dict[str, str]:
    return {
        f"op_{name}_rate": format_count(way.steps_per_s),
        f"op_{name}_updates": format_count(way.updates_per_s),
        f"op_{name}_speedup": format_ratio(way.speedup),
        f"op_{name}_share": format_percent(way.sampling_share),
        f"op_{name}_staleness": staleness_text(way.staleness_mean),
        f"op_{name}_staleness_max": format_count(way.staleness_max),
        f"op_{name}_eval": return_text(way.eval_return),
        f"op_{name}_to_threshold": threshold_cell(way),
    }


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    setup, learning = found.setup, found.learning
    glued: dict[str, Any] = {
        "op_cpus": setup.cpus,
        "op_start_method": setup.start_method,
        "op_actors": setup.actors,
        "op_ray_actors": setup.ray_actors,
        "op_envs": setup.vector_envs,
        "op_steps_per_update": setup.steps_per_update,
        "op_minibatch": setup.minibatch,
        "op_warmup": format_count(setup.warmup_steps),
        "op_slack": format_count(setup.slack_steps),
        "op_apex_chunk": format_count(setup.apex_chunk_transitions),
        "op_ray_chunk": format_count(setup.ray_chunk_transitions),
        "op_updates_per_poll": setup.updates_per_poll,
        "op_runs": counted(setup.seeds, "seeded run"),
        "op_eval_episodes": setup.eval_episodes,
        "op_snapshot_steps": format_count(setup.snapshot_steps),
        "op_snapshot_episodes": setup.snapshot_episodes,
        "op_hidden": setup.hidden,
        "op_parameters": format_count(setup.parameters),
        "op_weights_bytes": format_count(4 * setup.parameters),
        "op_gamma": f"{setup.gamma:g}",
        "op_lr": f"{setup.learning_rate:g}",
        "op_target_sync": setup.target_sync,
        "op_epsilon_end": f"{setup.epsilon_end:g}",
        "op_epsilon_decay": format_count(setup.epsilon_decay_steps),
        "op_capacity": format_count(setup.capacity),
        "op_transition_bytes": setup.transition_bytes,
        "op_max_return": setup.max_episode_steps,
        "op_budget": format_count(learning.budget_steps),
        "op_threshold": return_text(learning.threshold),
        "op_random": return_text(learning.random_return),
        "op_ray_init": format_seconds(learning.ray_init_s),
        "op_ray_startup": format_seconds(learning.ray_startup_s),
        "op_apex_startup": format_seconds(learning.apex_startup_s),
        "op_ceiling": format_ratio(ceiling(learning)),
        "op_apex_held": format_percent(learning.apex.held_share),
        "op_rate_verdict": rate_verdict(learning),
        "op_bound_sentence": bound_sentence(learning),
        "op_threshold_verdict": threshold_verdict(learning),
        "op_learned_sentence": learned_sentence(learning),
        "op_staleness_sentence": staleness_sentence(found),
        "op_puts_sentence": puts_sentence(learning),
        "op_ring_sentence": ring_sentence(found),
        "op_lesson": dqn_lesson_claim(found).reason,
        "decision_off_policy": decision_off_policy(found.learning),
        "decision_off_policy_why": decision_off_policy_why(found.learning),
        "op_unpaced_sentence": unpaced_sentence(learning),
        "op_put_sentence": put_sentence(learning, 4 * setup.parameters),
        "op_put": format_seconds(learning.put_s),
        "op_replay_actor_sentence": replay_actor_sentence(learning),
        "op_apex_actors_text": counted(setup.actors, "process", "processes"),
        "op_ray_actors_text": counted(setup.ray_actors, "actor"),
        "op_apex_sampler_rate": format_count(learning.apex.sampler_rate),
        "op_unpaced_ratio": format_ratio(unpaced_ratio(learning)),
    }
    for name, way in learning.ways.items():
        glued.update(_way_texts(name, way))
    glued.update(_way_texts("one_ray", learning.one_process_ray))
    return glued
