"""What the actor-learner chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.results import Result
from parbook.chapters.actor_learner.experiment import (
    BROADCAST_LABELS,
    LOCAL_WAYS,
    SMOOTHING_STEPS,
    WAY_NAMES,
)
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    counted,
    format_count,
    format_decimal_size,
    format_percent,
    format_ratio,
    format_seconds,
    sentence_start,
)

#: A way "beats one process" when it takes more than this many times its steps per second.
BEATS_ONE_PROCESS = 1.05
#: Asynchronous samplers are "not much weaker" than one process above this speed-up.
NOT_MUCH_WEAKER = 0.8
#: Long rounds "pay" when lock-step actors take more than this many times the steps per
#: second with the longest rounds as with the shortest.
LONG_ROUNDS_GAIN = 3.0
#: A trained policy has learned when its greedy return beats a random policy's this many
#: times over.
LEARNED_MARGIN = 2.0


@dataclass(frozen=True)
class Setup:
    """The machine, the samplers and the agent's settings."""

    cpus: int
    samplers: int
    samplers_ray: int
    vector_envs: int
    batch_steps: int
    seeds: int
    eval_episodes: int
    smoothing_steps: int
    learning_rate: float
    rho_bar: float
    max_episode_steps: int
    minibatch: int
    max_samplers: int

    @property
    def share_per_actor(self) -> int:
        """Steps each lock-step actor samples per round."""
        return self.batch_steps // self.samplers_ray


@dataclass(frozen=True)
class Way:
    """One way's training runs in one phase: medians over the seeds."""

    way: str
    phase: str
    samplers: int
    steps_per_s: float
    #: Steps per second of the one-process runs of the same phase, timed beside it.
    one_process_steps_per_s: float
    updates_per_s: float
    eval_return: float
    final_return: float
    staleness: float
    sampling_share: float
    startup_s: float
    runs: int
    capped: int
    #: How many runs reached the target, and the median time and steps of those that did.
    reached: int
    seconds_to_target: float | None
    steps_to_target: float | None

    @property
    def speedup(self) -> float:
        """Steps per second over one process in the same phase."""
        return self.steps_per_s / self.one_process_steps_per_s


@dataclass(frozen=True)
class Learning:
    """The four ways' training runs, the random policy and Ray's start-up."""

    budget_steps: int
    target_return: float
    #: one_process, vectorised_sync, vectorised_native, async (before Ray), lockstep (with Ray).
    ways: dict[str, Way]
    #: The one-process runs timed beside the lock-step actors.
    one_process_ray: Way
    random_return: float
    ray_init_s: float

    @property
    def one(self) -> Way:
        return self.ways["one_process"]

    @property
    def lockstep(self) -> Way:
        return self.ways["lockstep"]

    @property
    def asynchronous(self) -> Way:
        return self.ways["async"]


@dataclass(frozen=True)
class Rounds:
    """Steps per second when every sampler takes a fixed number of steps per update."""

    steps: tuple[int, ...]  # round lengths, shortest first
    #: (way, steps per round, phase) -> environment steps per second.
    rates: dict[tuple[str, int, str], float]
    samplers_ray: int

    @property
    def shortest(self) -> int:
        return self.steps[0]

    @property
    def longest(self) -> int:
        return self.steps[-1]

    @property
    def lock_short(self) -> float:
        return self.rates[("lockstep", self.shortest, "ray")]

    @property
    def lock_long(self) -> float:
        return self.rates[("lockstep", self.longest, "ray")]

    @property
    def one_long_ray(self) -> float:
        return self.rates[("one_process", self.longest, "ray")]

    @property
    def one_short_local(self) -> float:
        return self.rates[("one_process", self.shortest, "local")]

    @property
    def native_short(self) -> float:
        return self.rates[("vectorised_native", self.shortest, "local")]

    @property
    def sync_short(self) -> float:
        return self.rates[("vectorised_sync", self.shortest, "local")]

    @property
    def long_round_gain(self) -> float:
        """Lock-step steps per second with the longest rounds over the shortest."""
        return self.lock_long / self.lock_short

    @property
    def long_rounds_pay(self) -> bool:
        return self.lock_long > LONG_ROUNDS_GAIN * self.lock_short

    @property
    def lock_round_s(self) -> float:
        """Seconds one lock-step round of the shortest length took."""
        return self.samplers_ray / self.lock_short

    @property
    def lock_round_in_steps(self) -> float:
        """One shortest lock-step round, in one-process CartPole steps."""
        return self.one_long_ray * self.samplers_ray / self.lock_short

    @property
    def lock_break_even(self) -> int | None:
        """The shortest round (steps per actor) at which lock-step actors sampled faster
        than one process; None if they never did."""
        for k in self.steps:
            if self.rates[("lockstep", k, "ray")] > self.rates[("one_process", k, "ray")]:
                return k
        return None


@dataclass(frozen=True)
class Broadcast:
    """Seconds to hand one set of weights to every sampler, by how and by size."""

    times: dict[tuple[str, int], float]  # (how, bytes) -> median seconds

    @property
    def sizes(self) -> list[int]:
        return sorted({size for _how, size in self.times})

    @property
    def small(self) -> int:
        return self.sizes[0]

    @property
    def large(self) -> int:
        return self.sizes[-1]

    def ref_wins(self, size: int) -> bool:
        """Whether one ray.put and a reference beat passing the array by value."""
        return self.times[("by_ref", size)] < self.times[("by_value", size)]

    @property
    def large_value_over_ref(self) -> float:
        return self.times[("by_value", self.large)] / self.times[("by_ref", self.large)]

    @property
    def small_ref_over_shared(self) -> float:
        return self.times[("by_ref", self.small)] / self.times[("shared", self.small)]


@dataclass(frozen=True)
class Findings:
    """Everything the page says about one result, section by section."""

    setup: Setup
    learning: Learning
    rounds: Rounds
    broadcast: Broadcast


# ---------------------------------------------------------------------------------------
# Reading the runs' records.


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


def runs_of(result: Result, way: str, phase: str) -> list[dict[str, Any]]:
    """The records of ``way``'s training runs in ``phase``."""
    return [r for r in result.values["runs"]
            if r["way"] == way and r["extra"]["phase"] == phase]


def rounds_rate(result: Result, way: str, steps: int, phase: str) -> float:
    """Environment steps per second in the round-length sweep."""
    return 1000 / result.median("rounds", way=way, steps=steps, phase=phase)


def _steps_per_s(result: Result, way: str, phase: str) -> float:
    seconds_per_step = result.median("learning", way=way, phase=phase) / 1000
    return 1 / seconds_per_step


def _way(result: Result, way: str, phase: str) -> Way:
    runs = runs_of(result, way, phase)
    reached = [t for t in (time_to_target(r, result.parameters["target_return"])
                           for r in runs) if t is not None]
    # The lock-step actors start once, outside any phase's runs.
    startup = (result.median("startup", way=way) if way == "lockstep"
               else result.median("startup", way=way, phase=phase))
    return Way(
        way=way, phase=phase, samplers=runs[0]["samplers"],
        steps_per_s=_steps_per_s(result, way, phase),
        one_process_steps_per_s=_steps_per_s(result, "one_process", phase),
        updates_per_s=1 / result.median("update_time", way=way, phase=phase),
        eval_return=result.median("evaluation", way=way, phase=phase),
        final_return=float(np.median([smoothed_curve(r)[2][-1] for r in runs])),
        staleness=float(np.median([r["staleness"] for r in runs])),
        sampling_share=float(np.median([sampling_share(r) for r in runs])),
        startup_s=startup, runs=len(runs), capped=sum(bool(r["capped"]) for r in runs),
        reached=len(reached),
        seconds_to_target=float(np.median([t[0] for t in reached])) if reached else None,
        steps_to_target=float(np.median([t[1] for t in reached])) if reached else None,
    )


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    p = result.parameters
    samplers_ray = p.get("samplers_ray", p["samplers"])
    ways = {way: _way(result, way, "local") for way in LOCAL_WAYS}
    ways["lockstep"] = _way(result, "lockstep", "ray")
    return Findings(
        setup=Setup(
            cpus=p["cpus"], samplers=p["samplers"], samplers_ray=samplers_ray,
            vector_envs=p["vector_envs"], batch_steps=p["batch_steps"], seeds=len(p["seeds"]),
            eval_episodes=p["eval_episodes"], smoothing_steps=p["smoothing_steps"],
            learning_rate=p["learning_rate"], rho_bar=p["rho_bar"],
            max_episode_steps=p["max_episode_steps"], minibatch=p["minibatch"],
            max_samplers=p["max_samplers"],
        ),
        learning=Learning(
            budget_steps=p["budget_steps"], target_return=p["target_return"], ways=ways,
            one_process_ray=_way(result, "one_process", "ray"),
            random_return=float(np.mean(result.values["random_returns"])),
            ray_init_s=result.median("ray_init"),
        ),
        rounds=Rounds(
            steps=tuple(sorted(p["round_steps"])),
            rates={(c.params["way"], c.params["steps"], c.params["phase"]): rounds_rate(
                result, c.params["way"], c.params["steps"], c.params["phase"])
                for c in result.group("rounds")},
            samplers_ray=samplers_ray,
        ),
        broadcast=Broadcast(times={(c.params["how"], c.params["bytes"]): c.summary.median
                                   for c in result.group("broadcast")}),
    )


def learned(learning: Learning, margin: float = LEARNED_MARGIN) -> dict[str, bool]:
    """For every way: did its trained policy beat the random one ``margin`` times over?"""
    return {way: summary.eval_return > margin * learning.random_return
            for way, summary in learning.ways.items()}


# ---------------------------------------------------------------------------------------
# How the page writes the chapter's own quantities.


def return_text(value: float) -> str:
    """A return (of an episode, a policy, or the target) as a whole number: ``"250"``."""
    return f"{value:.0f}"


def staleness_text(updates: float) -> str:
    """Staleness in updates, to two decimals: ``"0.13"``."""
    return f"{updates:.2f}"


def updates_text(updates_per_s: float) -> str:
    """Learner updates per second, to one decimal: ``"76.8"``."""
    return f"{updates_per_s:.1f}"


# ---------------------------------------------------------------------------------------
# Sentences whose wording depends on what this run measured.


def runs_text(setup: Setup) -> str:
    """How many seeded runs each way trained: ``"1 seeded run"``, ``"3 seeded runs"``."""
    return counted(setup.seeds, "seeded run")


def target_text(way: Way, target_return: float) -> str:
    """"reached a training return of R after T", or that it did not."""
    target = return_text(target_return)
    if way.seconds_to_target is None:
        return f"did not reach a training return of {target} within its budget"
    return f"reached a training return of {target} after {format_seconds(way.seconds_to_target)}"


def steps_to_target_text(way: Way) -> str:
    """How many steps a way needed to reach the target: a number, or why there is none."""
    if way.steps_to_target is None:
        return "not reached within the budget"
    text = format_count(way.steps_to_target)
    if way.reached < way.runs:
        text += f" ({way.reached} of {way.runs} runs reached it)"
    return text


def fastest_verdict(learning: Learning) -> str:
    """Which way reached the target first in wall-clock time, and whether it was the way
    that took the most steps per second."""
    ways, target = learning.ways, return_text(learning.target_return)
    timed = {w: s.seconds_to_target for w, s in ways.items() if s.seconds_to_target is not None}
    if not timed:
        return (f"No way reached a training return of {target} within its budget in this "
                "run; the curves below show how far each got.")
    fastest = min(timed, key=timed.__getitem__)
    most_steps = max(ways, key=lambda w: ways[w].steps_per_s)
    first = sentence_start(WAY_NAMES[fastest])
    if fastest == most_steps:
        return (f"{first} took the most steps per second and reached a training return of "
                f"{target} first, after {format_seconds(timed[fastest])}.")
    return (f"{first} reached a training return of {target} first, after "
            f"{format_seconds(timed[fastest])}, though {WAY_NAMES[most_steps]} took the most "
            f"steps per second ({format_count(ways[most_steps].steps_per_s)}): a faster "
            "sampler is not always a faster learner.")


def curves_verdict(learning: Learning) -> str:
    """Whether the asynchronous workers needed more steps than one process to learn."""
    a_steps = learning.asynchronous.steps_to_target
    o_steps = learning.one.steps_to_target
    if a_steps is None or o_steps is None:
        return (f"Not every way reached the target within this run's budget of "
                f"{format_count(learning.budget_steps)} steps; the right-hand panel shows how "
                "far each got for the steps it took.")
    needed = (f"The asynchronous workers needed {format_count(a_steps)} steps to reach the "
              f"target, against {format_count(o_steps)} for one process: ")
    if a_steps > o_steps:
        return needed + ("more steps per second, bought with samples chosen by older weights, "
                         "which teach the learner less.")
    return needed + "here their staleness cost no steps."


def break_even_sentence(rounds: Rounds) -> str:
    """The shortest round at which lock-step actors beat one process, if any."""
    if rounds.lock_break_even:
        return (f"They first beat one process at rounds of "
                f"{format_count(rounds.lock_break_even)} steps per actor.")
    return "They did not beat one process at any round length measured."


def large_broadcast_sentence(broadcast: Broadcast) -> str:
    """Passing large weights by value against one ray.put and a reference."""
    large = format_decimal_size(broadcast.large)
    by_value = format_seconds(broadcast.times[("by_value", broadcast.large)])
    by_ref = format_seconds(broadcast.times[("by_ref", broadcast.large)])
    if broadcast.large_value_over_ref > 1:
        return (f"For {large} of weights, passing the array to each actor took {by_value}, "
                f"{format_ratio(broadcast.large_value_over_ref)} as long as one ray.put and a "
                f"reference ({by_ref}): by value, Ray stores a copy per call.")
    return (f"For {large} of weights, passing the array to each actor took {by_value} and one "
            f"ray.put with a reference {by_ref}: on this machine the copy Ray stores per call "
            "by value cost no more than the put.")


def small_broadcast_verdict(broadcast: Broadcast) -> str:
    """Whether a ray.put paid off for the agent's own (small) weights."""
    small = format_decimal_size(broadcast.small)
    by_value = format_seconds(broadcast.times[("by_value", broadcast.small)])
    by_ref = format_seconds(broadcast.times[("by_ref", broadcast.small)])
    if broadcast.ref_wins(broadcast.small):
        return (f"For this agent's {small}, one ray.put and a reference were cheaper too "
                f"({by_ref}, against {by_value} by value).")
    return (f"For this agent's {small}, passing the array by value was cheaper ({by_value}, "
            f"against {by_ref} with a ray.put): below Ray's inline limit an argument travels "
            "inside the call's own message, while a put adds a trip to the object store.")


def shared_broadcast_sentence(broadcast: Broadcast) -> str:
    """Whether publishing the small weights through shared memory beat the ray.put route."""
    shared = format_seconds(broadcast.times[("shared", broadcast.small)])
    by_ref = format_seconds(broadcast.times[("by_ref", broadcast.small)])
    if broadcast.small_ref_over_shared > 1:
        return (f"Publishing the small weights through shared memory cost {shared}, "
                f"{format_ratio(broadcast.small_ref_over_shared)} faster than the ray.put "
                "route; that is why the asynchronous workers can afford to look for new "
                "weights before every batch.")
    return (f"Publishing the small weights through shared memory cost {shared}, no faster "
            f"than the ray.put route ({by_ref}) on this machine.")


def lesson1_outcome(found: Findings) -> Verdict:
    """Article 000's first lesson: ``FAILS`` if long rounds did not pay, ``HOLDS`` if they
    did and lock-step actors then beat one process, ``PARTLY`` if they paid but did not."""
    if not found.rounds.long_rounds_pay:
        return Verdict.FAILS
    if found.learning.lockstep.speedup > BEATS_ONE_PROCESS:
        return Verdict.HOLDS
    return Verdict.PARTLY


def lesson2_outcome(rounds: Rounds) -> Verdict:
    """Article 000's second lesson, its sampling side: with one-step rounds, whether the
    batched environment in one process beat both one process and the lock-step actors."""
    if rounds.native_short > max(rounds.lock_short, rounds.one_short_local):
        return Verdict.HOLDS
    return Verdict.FAILS


def lesson3_outcome(learning: Learning) -> Verdict:
    """Article 000's third lesson: ``HOLDS`` if asynchronous samplers beat lock-step ones
    and were not much weaker than one process, ``PARTLY`` if they only beat lock-step ones."""
    asyn = learning.asynchronous
    if asyn.speedup <= learning.lockstep.speedup:
        return Verdict.FAILS
    return Verdict.HOLDS if asyn.speedup > NOT_MUCH_WEAKER else Verdict.PARTLY


def lesson1_verdict(found: Findings) -> str:
    """Article 000's first lesson: a learner that waits for its samplers needs long
    (on-policy) rounds."""
    rounds, lock = found.rounds, found.learning.lockstep
    longest, gain = format_count(rounds.longest), format_ratio(rounds.long_round_gain)
    outcome = lesson1_outcome(found)
    if outcome is Verdict.FAILS:
        verdict = (f"It does not hold here: rounds of {longest} steps per actor gave lock-step "
                   f"actors only {gain} the steps per second of one-step rounds.")
    elif outcome is Verdict.HOLDS:
        verdict = (f"It holds here. Lock-step actors took {gain} as many steps per second "
                   f"with rounds of {longest} steps per actor as with rounds of one step, and "
                   "in the learning runs, with each update's batch split between the actors, "
                   f"they ran {format_ratio(lock.speedup)} as fast as one process.")
    else:
        verdict = (f"It holds in part. Long rounds are what make lock-step sampling workable "
                   f"at all: rounds of {longest} steps per actor took {gain} as many steps "
                   "per second as rounds of one step. But even with each update's batch "
                   "split between the actors, lock-step sampling ran at only "
                   f"{format_ratio(lock.speedup)} the speed of one process.")
    return verdict + (
        f" Each actor spent {format_percent(lock.sampling_share)} of a learning run sampling; "
        "the rest of the time it waited for the learner's update, for the slowest actor, and "
        "for Ray to deliver the weights and the batches.")


def lesson2_verdict(found: Findings) -> str:
    """Article 000's second lesson: one-step rounds belong in one process with a
    vectorised environment. Only its sampling side is measured: no one-step learner such
    as DQN is trained here."""
    rounds = found.rounds
    native, sync = rounds.native_short, rounds.sync_short
    lock_short, one_short = rounds.lock_short, rounds.one_short_local
    if lesson2_outcome(rounds) is Verdict.FAILS:
        return (f"It does not hold here even for sampling: with one step per environment "
                f"between two updates, the batched environment took {format_count(native)} "
                f"steps per second, against {format_count(one_short)} for one process and "
                f"{format_count(lock_short)} for the lock-step actors. No one-step learner "
                "such as DQN is trained here.")
    verdict = (f"It holds for sampling. With one step per environment between two updates, "
               f"CartPole's batched environment took {format_count(native)} steps per second: "
               f"{format_ratio(native / one_short)} one process with one environment and "
               f"{format_ratio(native / lock_short)} the lock-step actors. One policy "
               "evaluation and one update serve all its environments, and no step crosses a "
               "process boundary.")
    if sync > lock_short:
        verdict += (f" Even SyncVectorEnv, which steps its environments one after another in "
                    f"Python, took {format_ratio(sync / lock_short)} as many steps per second "
                    "as the lock-step actors.")
    return verdict + (" No one-step learner such as DQN is trained here, so whether one "
                      "learns better in one process is not measured.")


def lesson3_verdict(found: Findings) -> str:
    """Article 000's third lesson: asynchronous samplers keep up with (or beat) one
    process."""
    learning = found.learning
    asyn, lock, one = learning.asynchronous, learning.lockstep, learning.one
    async_speedup, lock_speedup = format_ratio(asyn.speedup), format_ratio(lock.speedup)
    outcome = lesson3_outcome(learning)
    if outcome is Verdict.HOLDS and asyn.speedup > BEATS_ONE_PROCESS:
        verdict = (f"It holds for throughput. The asynchronous workers ran {async_speedup} as "
                   f"fast as one process, the lock-step actors {lock_speedup} (each against "
                   "one process timed beside it): faster than one process, even with a "
                   "simulator this cheap.")
    elif outcome is Verdict.HOLDS:
        verdict = (f"It holds for throughput. The asynchronous workers ran {async_speedup} as "
                   f"fast as one process, the lock-step actors {lock_speedup} (each against "
                   "one process timed beside it): not much weaker than one process, as the "
                   "article says, but no faster with a simulator this cheap.")
    elif outcome is Verdict.PARTLY:
        verdict = (f"It holds only against lock-step sampling: the asynchronous workers ran "
                   f"{async_speedup} as fast as one process, better than the lock-step "
                   f"actors' {lock_speedup}, but samplers and a learner sharing this machine's "
                   "CPUs still lost to one process.")
    else:
        verdict = (f"It does not hold here: the asynchronous workers ran {async_speedup} as "
                   f"fast as one process, and the lock-step actors {lock_speedup} (each "
                   "against one process timed beside it).")
    return verdict + (
        f" Their price is staleness: the steps the asynchronous learner used were "
        f"{staleness_text(asyn.staleness)} updates old on average, against "
        f"{staleness_text(one.staleness)} in one process.")


def _way_texts(name: str, way: Way, target_return: float) -> dict[str, str]:
    return {
        f"al_{name}_rate": format_count(way.steps_per_s),
        f"al_{name}_updates": updates_text(way.updates_per_s),
        f"al_{name}_eval": return_text(way.eval_return),
        f"al_{name}_share": format_percent(way.sampling_share),
        f"al_{name}_staleness": staleness_text(way.staleness),
        f"al_{name}_to_target": target_text(way, target_return),
        f"al_{name}_steps_needed": steps_to_target_text(way),
    }


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    setup, learning, rounds, broadcast = (found.setup, found.learning, found.rounds,
                                          found.broadcast)
    glued: dict[str, Any] = {
        "al_cpus": setup.cpus,
        "al_cpus_ratio": ratio(setup.cpus),
        "al_samplers": setup.samplers,
        "al_samplers_ray": setup.samplers_ray,
        "al_envs": setup.vector_envs,
        "al_batch": format_count(setup.batch_steps),
        "al_budget": format_count(learning.budget_steps),
        "al_runs": runs_text(setup),
        "al_eval_episodes": setup.eval_episodes,
        "al_target": return_text(learning.target_return),
        "al_smoothing": format_count(setup.smoothing_steps),
        "al_random": return_text(learning.random_return),
        "al_lr": f"{setup.learning_rate:g}",
        "al_rho_bar": f"{setup.rho_bar:g}",
        "al_max_return": setup.max_episode_steps,
        "al_minibatch": setup.minibatch,
        "al_max_samplers": setup.max_samplers,
        "al_share_per_actor": format_count(setup.share_per_actor),
        "al_steps_per_env": format_count(setup.batch_steps // setup.vector_envs),
    }
    for name, way in learning.ways.items():
        glued.update(_way_texts(name, way, learning.target_return))
        glued[f"al_{name}_speedup"] = ratio(way.speedup)
    glued.update(_way_texts("one_ray", learning.one_process_ray, learning.target_return))
    glued.update({
        "al_step_cost": seconds(1 / learning.one_process_ray.steps_per_s),
        "al_ray_init": seconds(learning.ray_init_s),
        "al_actor_startup": seconds(learning.lockstep.startup_s),
        "al_async_startup": seconds(learning.asynchronous.startup_s),
        "al_async_idle": format_percent(1 - learning.asynchronous.sampling_share),
        "al_lockstep_idle": format_percent(1 - learning.lockstep.sampling_share),
        "al_fastest_verdict": fastest_verdict(learning),
        "al_curves_verdict": curves_verdict(learning),
        # Round length.
        "al_round_shortest": rounds.shortest,
        "al_round_longest": format_count(rounds.longest),
        "al_lock_short": format_count(rounds.lock_short),
        "al_lock_long": format_count(rounds.lock_long),
        "al_one_short_local": format_count(rounds.one_short_local),
        "al_one_long": format_count(rounds.one_long_ray),
        "al_native_short": format_count(rounds.native_short),
        "al_sync_short": format_count(rounds.sync_short),
        "al_lock_round_s": seconds(rounds.lock_round_s),
        "al_lock_round_in_steps": format_count(rounds.lock_round_in_steps),
        "al_break_even_sentence": break_even_sentence(rounds),
        # Weights.
        "al_bc_small": format_decimal_size(broadcast.small),
        "al_bc_large": format_decimal_size(broadcast.large),
        "al_bc_large_ratio": ratio(broadcast.large_value_over_ref),
        "al_bc_small_verdict": small_broadcast_verdict(broadcast),
        "al_bc_large_sentence": large_broadcast_sentence(broadcast),
        "al_bc_shared_sentence": shared_broadcast_sentence(broadcast),
        # Article 000's lessons.
        "al_lesson1": lesson1_verdict(found),
        "al_lesson2": lesson2_verdict(found),
        "al_lesson3": lesson3_verdict(found),
    })
    for how in BROADCAST_LABELS:
        glued[f"al_bc_{how}_small"] = seconds(broadcast.times[(how, broadcast.small)])
        glued[f"al_bc_{how}_large"] = seconds(broadcast.times[(how, broadcast.large)])
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

def rl_lessons_claim(found: Findings) -> Judgement:
    """Article 000's three lessons for RL frameworks, each judged as the page's lessons
    section judges it. The second is about one-step algorithms such as DQN, which this
    chapter does not train: only its sampling side is measured, so the claim holds at
    most in part."""
    rounds, learning = found.rounds, found.learning
    outcomes = (lesson1_outcome(found), lesson2_outcome(rounds), lesson3_outcome(learning))
    gain = format_ratio(rounds.long_round_gain)
    first = {
        Verdict.HOLDS: f"lesson 1 held (long on-policy rounds gave lock-step actors {gain} the "
                       "steps per second of one-step rounds, and they beat one process)",
        Verdict.PARTLY: f"lesson 1 held in part (long on-policy rounds gave lock-step actors "
                        f"{gain} the steps per second of one-step rounds, yet they did not "
                        "beat one process)",
        Verdict.FAILS: f"lesson 1 did not hold (long on-policy rounds gave lock-step actors "
                       f"only {gain} the steps per second of one-step rounds)",
    }[outcomes[0]]
    native = format_ratio(rounds.native_short / rounds.lock_short)
    second = {
        Verdict.HOLDS: "lesson 2 held for sampling (with one-step rounds, a vectorised "
                       f"environment in one process took {native} the lock-step actors' steps "
                       "per second), though no DQN is trained here",
        Verdict.FAILS: "lesson 2 did not hold even for sampling (with one-step rounds, a "
                       "vectorised environment in one process did not beat both one process "
                       "and the lock-step actors), and no DQN is trained here",
    }[outcomes[1]]
    asyn = format_ratio(learning.asynchronous.speedup)
    lock = format_ratio(learning.lockstep.speedup)
    third = {
        Verdict.HOLDS: f"lesson 3 held (asynchronous samplers ran {asyn} as fast as one "
                       f"process, lock-step actors {lock})",
        Verdict.PARTLY: f"lesson 3 held only against lock-step sampling (asynchronous samplers "
                        f"ran {asyn} as fast as one process, lock-step actors {lock})",
        Verdict.FAILS: f"lesson 3 did not hold (asynchronous samplers ran {asyn} as fast as "
                       f"one process, lock-step actors {lock})",
    }[outcomes[2]]
    verdict = (Verdict.FAILS if all(v is Verdict.FAILS for v in outcomes)
               else Verdict.PARTLY)
    return Judgement(verdict, (
        f"On CartPole with {found.setup.cpus} CPUs, {first}; {second}; {third}."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {"a000_rl_lessons": rl_lessons_claim(found)}
