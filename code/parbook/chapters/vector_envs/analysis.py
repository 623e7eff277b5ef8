"""What the vector-envs chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook import sources
from parbook.bench.results import Case, Result
from parbook.bench.stats import Summary, break_even, summarize
from parbook.chapters.vector_envs.experiment import (
    BACKEND_LABELS,
    COMPARED,
    ENVPOOL_ASYNC,
    ENVPOOL_SYNC,
    PARALLEL,
)
from parbook.chapters.vector_envs.workload import envs_per_actor
from parbook.render.formatting import (
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    sentence_start,
    spoken_list,
)

#: A speed-up over the plain loop below this means the backend sampled slower than the loop.
LOOP_PARITY = 1.0
#: The start method under which workers inherit what the parent's main guard set up.
INHERITING_METHOD = "fork"
#: The two factories of the main-guard demonstration, by the prefix of their output lines.
GUARD_VARIANTS = ("global", "passed")
#: A start method's step counts as slower than another's when it took more than this
#: fraction longer in at least three rounds out of four.
GAP_TOLERANCE = 0.10
#: The backends as prose names them.
PROSE_NAMES = {"sync": "SyncVectorEnv", "async_shm": "AsyncVectorEnv with shared memory",
               "async_pipe": "AsyncVectorEnv without shared memory", "ray": "Ray actors"}
#: The backends that hand the observations back after every step of every environment.
PER_STEP = ("async_shm", "async_pipe")
#: EnvPool's modes, by their backend names in the result.
POOL_SYNC, POOL_ASYNC = ENVPOOL_SYNC, ENVPOOL_ASYNC
#: One backend's steps per second over another's above this counts as faster.
RATE_PARITY = 1.0
#: EnvPool's two modes, and EnvPool with added work against AsyncVectorEnv, count as
#: different only when one sampled more than this fraction faster than the other.
MODE_TOLERANCE = 0.10
#: What a figure EnvPool could not give reads as, where the rules quote it.
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Build:
    """The machine and versions that ran the chapter."""

    cpus: int
    start_method: str
    python: str
    gymnasium: str


@dataclass(frozen=True)
class RoundTrips:
    """Seconds per round trip of a tiny message, measured in the same run."""

    pipe: float       # a multiprocessing.Pipe to a running process
    ray_actor: float  # a call to a running Ray actor

    @property
    def ray_over_pipe(self) -> float:
        return self.ray_actor / self.pipe


@dataclass(frozen=True)
class Sweep:
    """Steps per second of every backend, by work added per step and number of envs."""

    env_counts: tuple[int, ...]
    work_levels: tuple[float, ...]
    #: The fewest environments with which parallel backends can use every usable CPU.
    full_envs: int
    #: Work per step -> seconds one plain-loop step took (CartPole plus the added work).
    step_cost: dict[float, float]
    #: Backend -> work per step -> envs -> environment steps per second (median).
    rates: dict[str, dict[float, dict[int, float]]]
    #: Backend (sync and the parallel ones) -> work -> envs -> steps per second over the
    #: plain loop timed beside it.
    speedups: dict[str, dict[float, dict[int, float]]]

    @property
    def most(self) -> int:
        return max(self.env_counts)

    @property
    def fewest(self) -> int:
        return min(self.env_counts)

    @property
    def lightest(self) -> float:
        return min(self.work_levels)

    @property
    def heaviest(self) -> float:
        return max(self.work_levels)

    @property
    def base_step(self) -> float:
        """Seconds per plain-loop step of CartPole with no added work."""
        return self.step_cost[self.lightest]

    @property
    def async_step_one_env(self) -> float:
        """Seconds per step of an AsyncVectorEnv (shared memory) with the fewest envs."""
        return 1.0 / self.rates["async_shm"][self.lightest][self.fewest]

    def light_speedup(self, backend: str) -> float:
        """``backend`` over the loop with no added work and the most environments."""
        return self.speedups[backend][self.lightest][self.most]

    def heavy_speedup(self, backend: str, envs: int) -> float:
        """``backend`` over the loop with the heaviest step and ``envs`` environments."""
        return self.speedups[backend][self.heaviest][envs]

    def light_rate(self, backend: str) -> float:
        """Steps per second of ``backend`` with no added work and the most environments."""
        return self.rates[backend][self.lightest][self.most]

    def shm_over_pipe(self, work_s: float) -> float:
        """AsyncVectorEnv's steps per second with shared memory over without, most envs."""
        return self.rates["async_shm"][work_s][self.most] / self.rates["async_pipe"][work_s][
            self.most]

    @property
    def ray_ahead_light(self) -> bool:
        """Whether Ray actors out-sampled AsyncVectorEnv with no added work."""
        return self.light_rate("ray") > self.light_rate("async_shm")


@dataclass(frozen=True)
class Crossover:
    """Where one parallel backend overtook the plain loop, with the most environments."""

    backend: str
    #: Interpolated cost of one step at which the backend first matched the loop; None
    #: when it never did within the sweep.
    step_cost: float | None
    cheapest_step: float
    dearest_step: float
    #: The message the backend pays: a Pipe round trip, or a Ray actor call.
    round_trip: float

    @property
    def channel(self) -> str:
        return "Ray actor call" if self.backend == "ray" else "Pipe round trip"

    @property
    def over_round_trip(self) -> float | None:
        return None if self.step_cost is None else self.step_cost / self.round_trip


@dataclass(frozen=True)
class RayActors:
    """How the Ray actors shared the environments."""

    actors: int
    envs: int
    rollout_steps: int

    @property
    def envs_per_actor(self) -> int:
        return max(envs_per_actor(self.envs, self.actors))

    @property
    def steps_per_call(self) -> int:
        return self.envs_per_actor * self.rollout_steps


@dataclass(frozen=True)
class EnvPoolSweep:
    """EnvPool's own C++ CartPole in the sweep (phase ``envpool``), beside its plain loop."""

    version: str
    #: Envs -> threads in the pool (the same in both modes).
    num_threads: dict[int, int]
    #: Envs -> the asynchronous mode's batch size (no entry where it was not measured).
    async_batch: dict[int, int]
    #: The share of the synchronous pool's steps that were resets (see workload).
    reset_share: float
    #: Seconds per step of a one-environment pool handed to its thread and back, without
    #: EnvPool's Python wrapper.
    hand_off: float
    #: Backend -> work per step -> envs -> steps per second (median), measured points only.
    rates: dict[str, dict[float, dict[int, float]]]
    #: The same over the plain loop timed interleaved with it.
    speedups: dict[str, dict[float, dict[int, float]]]

    def rate(self, backend: str, work_s: float, envs: int) -> float | None:
        """Steps per second of ``backend`` at one point; None where it was not measured."""
        return self.rates.get(backend, {}).get(work_s, {}).get(envs)

    def call_s(self, envs: int) -> float:
        """Seconds per call of the synchronous pool of ``envs`` environments, no added work."""
        lightest = min(self.rates[POOL_SYNC])
        return envs / self.rates[POOL_SYNC][lightest][envs]


@dataclass(frozen=True)
class StepControl:
    """One run of the start-method step control: an AsyncVectorEnv per start method,
    stepped in turn, one step of each after another, in one child interpreter."""

    #: Method -> mean seconds per step of every environment in each round, in order.
    rounds: dict[str, tuple[float, ...]]
    #: Method -> how many of its workers ran the interpreter at the parent's addresses.
    same_addresses: dict[str, int]
    workers: int

    @property
    def step(self) -> dict[str, Summary]:
        """Method -> summary of its rounds."""
        return {method: summarize(list(values)) for method, values in self.rounds.items()}

    def median(self, method: str) -> float:
        return self.step[method].median

    @property
    def fastest(self) -> str:
        return min(self.rounds, key=self.median)

    @property
    def slowest(self) -> str:
        return max(self.rounds, key=self.median)

    @property
    def gap(self) -> bool:
        """Whether the slowest method was more than :data:`GAP_TOLERANCE` slower than the
        fastest in at least three rounds out of four (every round steps all methods within
        the same milliseconds, so the comparison is made round by round)."""
        if self.fastest == self.slowest:
            return False
        ratios = [slow / fast for slow, fast in zip(self.rounds[self.slowest],
                                                    self.rounds[self.fastest], strict=True)]
        return summarize(ratios).q1 > 1 + GAP_TOLERANCE


@dataclass(frozen=True)
class StartMethods:
    """An AsyncVectorEnv created and closed under each start method, and stepped in the
    step control's runs."""

    envs: int
    creation: dict[str, float]  # method -> create + reset + close
    #: The step control's rounds, and the consecutive steps of each method per round.
    control_rounds: int
    control_steps: int
    #: The workers where the scheduler put them, address randomisation as Linux has it.
    scheduled: StepControl
    #: The parent and its workers on one CPU; None where they could not be pinned.
    one_cpu: StepControl | None
    #: On one CPU with address randomisation off; None where that was not possible.
    fixed: StepControl | None
    #: Why a run did not measure ("" when it did), for the one-CPU and the fixed run.
    one_cpu_unavailable: str
    fixed_unavailable: str

    @property
    def step(self) -> dict[str, float]:
        """Method -> median seconds per step, the workers where the scheduler put them."""
        return {method: self.scheduled.median(method) for method in self.scheduled.rounds}


@dataclass(frozen=True)
class FactoryVariant:
    """What the environments built by one factory saw in the main-guard demonstration."""

    envs: int
    saw_port: int
    main_modules: tuple[str, ...]


@dataclass(frozen=True)
class GuardDemo:
    """The main-guard demonstration under one start method (a child interpreter)."""

    method: str
    returncode: int | None
    killed: bool
    errors: str
    reading_global: FactoryVariant  # the factory reads the module-level settings
    passed: FactoryVariant          # the settings are passed to the factory

    @property
    def as_expected(self) -> bool:
        """True when passed settings reached every worker, and the module-level ones
        reached them under fork only: what the page says happens."""
        if self.passed.envs == 0 or self.passed.saw_port != self.passed.envs:
            return False
        inherited = self.reading_global.envs if self.method == INHERITING_METHOD else 0
        return self.reading_global.saw_port == inherited


@dataclass(frozen=True)
class Bugs:
    """Article 004's bugs rerun with AsyncVectorEnv."""

    instance_mistake: str  # what AsyncVectorEnv raised when handed instances
    guard: dict[str, GuardDemo]  # start method -> the main-guard demonstration

    @property
    def guard_as_expected(self) -> bool:
        return all(demo.as_expected for demo in self.guard.values())


@dataclass(frozen=True)
class Findings:
    """Everything the page says about one result, section by section."""

    build: Build
    round_trips: RoundTrips
    sweep: Sweep
    crossovers: dict[str, Crossover]  # parallel backend -> its crossover
    ray_actors: RayActors
    start_methods: StartMethods
    bugs: Bugs
    #: EnvPool's runs; None where it could not be imported, and then why.
    envpool: EnvPoolSweep | None
    envpool_unavailable: str

    @property
    def ray_call_in_steps(self) -> float:
        """How many plain CartPole steps one Ray actor call lasts."""
        return self.round_trips.ray_actor / self.sweep.base_step

    @property
    def async_step_over_pipe(self) -> float:
        """One AsyncVectorEnv step of one environment over a bare Pipe round trip."""
        return self.sweep.async_step_one_env / self.round_trips.pipe


def sweep_case(result: Result, backend: str, work_s: float, envs: int) -> Case:
    """The sweep case of ``backend`` at one point; the plain loop's is the one timed beside
    the local backends."""
    phase = "ray" if backend == "ray" else "local"
    return result.case("sweep", phase=phase, backend=backend, work_s=work_s, envs=envs)


def _steps_per_s(result: Result, backend: str, work_s: float, envs: int) -> float:
    case = sweep_case(result, backend, work_s, envs)
    return case.params["steps"] / case.summary.median


def _speedup(result: Result, backend: str, work_s: float, envs: int) -> float:
    """Steps per second of ``backend`` over the plain loop timed interleaved with it."""
    phase = "ray" if backend == "ray" else "local"
    loop = result.case("sweep", phase=phase, backend="loop", work_s=work_s, envs=envs)
    return loop.summary.median / sweep_case(result, backend, work_s, envs).summary.median


def _step_cost(result: Result, work_s: float) -> float:
    """Seconds one step took in the plain loop: the median over every loop sample at that
    work level, whatever the env count or phase."""
    per_step = [sample / case.params["steps"] for case in result.group("sweep")
                if case.params["backend"] == "loop" and case.params["work_s"] == work_s
                for sample in case.samples]
    return float(np.median(per_step))


def _sweep(result: Result) -> Sweep:
    counts = tuple(result.parameters["env_counts"])
    levels = tuple(result.parameters["work_s"])
    cpus = result.parameters["usable_cpus"]
    return Sweep(
        env_counts=counts,
        work_levels=levels,
        full_envs=min((n for n in counts if n >= cpus), default=max(counts)),
        step_cost={w: _step_cost(result, w) for w in levels},
        rates={backend: {w: {n: _steps_per_s(result, backend, w, n) for n in counts}
                         for w in levels} for backend in BACKEND_LABELS},
        speedups={backend: {w: {n: _speedup(result, backend, w, n) for n in counts}
                            for w in levels} for backend in COMPARED},
    )


def _crossover(sweep: Sweep, round_trips: RoundTrips, backend: str) -> Crossover:
    costs = [sweep.step_cost[w] for w in sweep.work_levels]
    curve = [(sweep.step_cost[w], sweep.speedups[backend][w][sweep.most])
             for w in sweep.work_levels]
    return Crossover(
        backend=backend, step_cost=break_even(curve), cheapest_step=min(costs),
        dearest_step=max(costs),
        round_trip=round_trips.ray_actor if backend == "ray" else round_trips.pipe,
    )


def _factory_variant(output: str, variant: str) -> FactoryVariant:
    """Count, in one demonstration's output, the envs of ``variant`` that saw the port."""
    lines = [line for line in output.splitlines() if line.startswith(f"{variant} env ")]
    return FactoryVariant(
        envs=len(lines),
        saw_port=sum("simulator_port" in line for line in lines),
        main_modules=tuple(sorted(set(re.findall(r"main module (\S+),", "\n".join(lines))))),
    )


def _guard_demo(method: str, child: dict[str, Any]) -> GuardDemo:
    return GuardDemo(
        method=method, returncode=child["returncode"], killed=child["killed"],
        errors=child["errors"], reading_global=_factory_variant(child["output"], "global"),
        passed=_factory_variant(child["output"], "passed"),
    )


def _step_control(result: Result, report: dict[str, Any]) -> StepControl | None:
    """One run of the step control, if it measured."""
    if not report["available"]:
        return None
    cases = [c for c in result.group("method_steps")
             if c.params["placement"] == report["placement"]
             and c.params["randomisation"] == report["randomisation"]]
    return StepControl(rounds={c.params["method"]: tuple(c.samples) for c in cases},
                       same_addresses=dict(report["same_addresses"]),
                       workers=report["workers"])


def _start_methods(result: Result) -> StartMethods:
    reports = {(r["placement"], r["randomisation"]): r for r in result.values["layout"]}
    one_cpu, fixed = reports[("one CPU", "on")], reports[("one CPU", "off")]
    return StartMethods(
        envs=result.parameters["creation_envs"],
        creation={c.params["method"]: c.summary.median for c in result.group("creation")},
        control_rounds=result.parameters["layout_rounds"],
        control_steps=result.parameters["layout_steps"],
        scheduled=_step_control(result, reports[("scheduled", "on")]),
        one_cpu=_step_control(result, one_cpu),
        fixed=_step_control(result, fixed),
        one_cpu_unavailable="" if one_cpu["available"] else one_cpu["reason"],
        fixed_unavailable="" if fixed["available"] else fixed["reason"],
    )


def _envpool(result: Result) -> EnvPoolSweep | None:
    """EnvPool's runs, if it could be imported."""
    report = result.values["envpool"]
    if not report["available"]:
        return None
    rates: dict[str, dict[float, dict[int, float]]] = {}
    speedups: dict[str, dict[float, dict[int, float]]] = {}
    for case in result.group("sweep"):
        params = case.params
        if params["phase"] != "envpool" or params["backend"] == "loop":
            continue
        backend, w, n = params["backend"], params["work_s"], params["envs"]
        loop = result.case("sweep", phase="envpool", backend="loop", work_s=w, envs=n)
        rate = params["steps"] / case.summary.median
        rates.setdefault(backend, {}).setdefault(w, {})[n] = rate
        speedups.setdefault(backend, {}).setdefault(w, {})[n] = rate / (
            loop.params["steps"] / loop.summary.median)
    return EnvPoolSweep(
        version=report["version"],
        num_threads={int(n): t for n, t in report["num_threads"].items()},
        async_batch={int(n): b for n, b in report["async_batch"].items() if b is not None},
        reset_share=report["reset_share"],
        hand_off=result.median("round_trip", channel="envpool_hand_off"),
        rates=rates, speedups=speedups)


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, values = result.parameters, result.values
    round_trips = RoundTrips(pipe=result.median("round_trip", channel="mp_pipe"),
                             ray_actor=result.median("round_trip", channel="ray_actor"))
    sweep = _sweep(result)
    return Findings(
        build=Build(cpus=parameters["usable_cpus"], start_method=parameters["start_method"],
                    python=parameters["python"], gymnasium=parameters["gymnasium"]),
        round_trips=round_trips,
        sweep=sweep,
        crossovers={backend: _crossover(sweep, round_trips, backend) for backend in PARALLEL},
        ray_actors=RayActors(
            actors=max(c.params.get("actors", 0) for c in result.group("sweep")),
            envs=sweep.most, rollout_steps=parameters["rollout_steps"]),
        start_methods=_start_methods(result),
        bugs=Bugs(instance_mistake=values["instance_mistake"],
                  guard={method: _guard_demo(method, child)
                         for method, child in values["guard"].items()}),
        envpool=_envpool(result),
        envpool_unavailable=values["envpool"].get("reason") or "",
    )


def work_label(work_s: float) -> str:
    """``"none"`` for no added work, else the duration: ``"1 ms"``."""
    return "none" if work_s == 0 else format_seconds(work_s, digits=1)


# ---------------------------------------------------------------------------------------
# Sentences whose wording depends on what this run measured.


def light_verdict(sweep: Sweep) -> str:
    """How the multi-process backends fared against the loop with no added work."""
    slower = [PROSE_NAMES[b] for b in PARALLEL if sweep.light_speedup(b) < LOOP_PARITY]
    if len(slower) == len(PARALLEL):
        return "Every multi-process backend was slower than the loop."
    if slower:
        return f"Some multi-process backends were slower than the loop ({spoken_list(slower)})."
    return "Even here, every multi-process backend beat the loop."


def ray_vs_async_sentence(sweep: Sweep) -> str:
    """Ray actors against AsyncVectorEnv with no added work, and why one sampled more."""
    rates = (f"With no added work, Ray actors took {format_count(sweep.light_rate('ray'))} "
             f"steps per second, {format_ratio(sweep.light_speedup('ray'))} the loop's rate, "
             f"against AsyncVectorEnv's {format_count(sweep.light_rate('async_shm'))}")
    if sweep.ray_ahead_light:
        return (f"{rates}: each Ray call carried many steps, where the vector env paid a "
                "round trip per step.")
    return f"{rates}: here the cost of each Ray call outweighed the steps it carried."


def ray_design_verdict(sweep: Sweep, round_trips: RoundTrips) -> str:
    """What carrying many steps per message did for the Ray actors on this machine."""
    cost = format_ratio(round_trips.ray_over_pipe)
    if sweep.ray_ahead_light:
        return (f"It is what let Ray actors, whose round trip cost {cost} a pipe's, sample "
                "cheap environments faster than AsyncVectorEnv did.")
    return (f"On this machine it did not make up for a Ray round trip that cost {cost} a "
            "pipe's: with cheap environments, AsyncVectorEnv sampled faster than the Ray "
            "actors.")


def heavy_text(sweep: Sweep) -> str:
    """The speed-ups with the heaviest step, with enough environments for every CPU (and
    with the most environments, where that is more)."""
    full, most = sweep.full_envs, sweep.most
    text = (f"With {full} environments (enough for every usable CPU), the speed-ups over "
            f"the loop were {format_ratio(sweep.heavy_speedup('async_shm', full))} "
            f"(AsyncVectorEnv) and {format_ratio(sweep.heavy_speedup('ray', full))} "
            "(Ray actors)")
    if full != most:
        text += (f"; with {most}, {format_ratio(sweep.heavy_speedup('async_shm', most))} and "
                 f"{format_ratio(sweep.heavy_speedup('ray', most))}")
    return text + "."


def one_step_verdict(sweep: Sweep) -> str:
    """Whether article 000's advice, one process for one-step algorithms, held here: a
    one-step algorithm needs the observations back after every step, as the AsyncVectorEnv
    backends hand them back."""
    best = max(PER_STEP, key=sweep.light_speedup)
    name, speedup = PROSE_NAMES[best], format_ratio(sweep.light_speedup(best))
    if sweep.light_speedup(best) < LOOP_PARITY:
        return ("True while a step is cheap: with plain CartPole, no backend that hands the "
                "observations back after every step kept up with one process (the best, "
                f"{name}, reached {speedup} its rate).")
    return (f"Not on this machine: even with plain CartPole, {name}, which hands the "
            f"observations back after every step, sampled {speedup} as fast as one process.")


def crossover_text(crossover: Crossover) -> str:
    """Where the backend overtook the plain loop, in words, with the round trip it pays."""
    if crossover.step_cost is None:
        return ("at none of the step costs in this sweep (the dearest step measured cost "
                f"{format_seconds(crossover.dearest_step)})")
    if crossover.step_cost <= crossover.cheapest_step:
        return "already at the cheapest step measured"
    return (f"at a step cost of about {format_seconds(crossover.step_cost)} "
            f"({format_ratio(crossover.over_round_trip)} one {crossover.channel})")


def layout_explains_gap(methods: StartMethods) -> bool:
    """Whether the step control pins a gap between start methods on where the workers'
    code was loaded: a gap on one CPU, with the fastest method's workers at the parent's
    addresses and the slowest's elsewhere, and no gap once every worker ran at the
    parent's addresses."""
    on, off = methods.one_cpu, methods.fixed
    if on is None or off is None or off.gap or not on.gap:
        return False
    return (on.same_addresses[on.fastest] == on.workers
            and on.same_addresses[on.slowest] < on.workers
            and all(count == off.workers for count in off.same_addresses.values()))


def _gap_text(run: StepControl) -> str:
    """``"200 µs under fork but 340 µs under spawn"``."""
    return (f"{format_seconds(run.median(run.fastest))} under {run.fastest} but "
            f"{format_seconds(run.median(run.slowest))} under {run.slowest}")


def _range_text(run: StepControl) -> str:
    """``"between 200 µs and 210 µs under fork, forkserver and spawn"``."""
    return (f"between {format_seconds(run.median(run.fastest))} and "
            f"{format_seconds(run.median(run.slowest))} under {spoken_list(run.rounds)}")


def scheduled_step_sentence(methods: StartMethods) -> str:
    """Whether one step cost the same under every start method with the workers where the
    scheduler put them, as in a user's program."""
    run, tolerance = methods.scheduled, format_percent(GAP_TOLERANCE)
    if run.gap:
        return (f"With the workers where the scheduler put them, one step of every "
                f"environment cost {_gap_text(run)}, and {run.slowest} was more than "
                f"{tolerance} slower in at least three rounds out of four.")
    return (f"With the workers where the scheduler put them, one step of every environment "
            f"cost {_range_text(run)}, and no method was more than {tolerance} slower than "
            "another in three rounds out of four.")


def method_step_verdict(methods: StartMethods) -> str:
    """What the runs on one CPU, with address randomisation on and off, say about a
    difference between start methods."""
    on, off = methods.one_cpu, methods.fixed
    if on is None:
        return (f"Where the workers ran was not varied here ({methods.one_cpu_unavailable}), "
                "so what could make a step dearer under one start method is not measured.")
    if not on.gap:
        return (f"With the parent and its workers on one CPU, a step cost {_range_text(on)}, "
                f"no method more than {format_percent(GAP_TOLERANCE)} slower than another in "
                "three rounds out of four: in this run, the start method made no difference "
                "to a step beyond the noise of the rounds.")
    fast, slow = on.fastest, on.slowest
    gap = f"With the parent and its workers on one CPU, a step cost {_gap_text(on)}"
    if off is None:
        return (f"{gap}. Whether the gap comes from where the workers' code was loaded is not "
                f"measured here: {methods.fixed_unavailable}.")
    closed = (f"{format_seconds(off.median(fast))} under {fast}, "
              f"{format_seconds(off.median(slow))} under {slow}")
    if layout_explains_gap(methods):
        return (f"{gap}, and switching address randomisation off closed the gap ({closed}): "
                "what sets the start methods apart is where the workers' code was loaded, "
                "not the pipes. Why that matters is not measured here; a likely reason is "
                "that a CPU keeps state about recently run code by its address (in its branch "
                "predictors, for one), which a parent and a worker taking turns on one CPU "
                "share only when their addresses agree.")
    if off.gap:
        return (f"{gap}, and switching address randomisation off did not close the gap "
                f"({_gap_text(off)}): this run leaves it unexplained.")
    return (f"{gap}. Switching address randomisation off closed the gap ({closed}), but the "
            "addresses the workers reported do not fit the control (see the table), so this "
            "run leaves the gap unexplained.")


def crossover_sentence(crossover: Crossover) -> str:
    """Where the backend overtook the plain loop, as a sentence of its own."""
    subject = PROSE_NAMES[crossover.backend]
    if crossover.step_cost is None:
        return (f"{subject} did not beat the loop at any step cost in this sweep; the "
                f"dearest step measured cost {format_seconds(crossover.dearest_step)}.")
    if crossover.step_cost <= crossover.cheapest_step:
        return f"{subject} beat the loop already at the cheapest step measured."
    return (f"{subject} beat the loop from a step cost of about "
            f"{format_seconds(crossover.step_cost)}, "
            f"{format_ratio(crossover.over_round_trip)} one {crossover.channel}.")


def default_method_sentence(build: Build) -> str:
    """What this build's default start method means for an AsyncVectorEnv left at
    ``context=None``."""
    method = build.start_method
    if method == "forkserver":
        return ("This build's Python already defaults to forkserver, so here such code pays "
                "the forkserver row.")
    return (f"This build's Python defaults to {method}, so here such code pays the {method} "
            "row.")


# --- EnvPool: every sentence has an alternative for a build without it. ----------------

def _faster(ratio: float) -> bool:
    return ratio > RATE_PARITY


def envpool_status(found: Findings) -> str:
    """Whether this build measured EnvPool, and why not."""
    if found.envpool is None:
        return (f"EnvPool was not measured in this build: {found.envpool_unavailable}. The "
                "tables and figures of this chapter have no EnvPool rows or lines.")
    return f"This build measured EnvPool {found.envpool.version}."


#: EnvPool's modes as a sentence names them.
POOL_MODE_NAMES = {POOL_SYNC: "synchronous", POOL_ASYNC: "asynchronous"}


def envpool_best_over_loop(found: Findings) -> tuple[str, int, float]:
    """The pool's best speed-up over the plain loop with no added work, over both modes
    and every number of environments: (mode, environments, speed-up)."""
    pool, light = found.envpool, found.sweep.lightest
    return max(((mode, envs, speedup) for mode in POOL_MODE_NAMES
                for envs, speedup in pool.speedups.get(mode, {}).get(light, {}).items()),
               key=lambda point: point[2])


def envpool_answer(found: Findings) -> str:
    """EnvPool in the short answer: threads in the process that needs the observations."""
    subject = ("EnvPool, whose C++ environments step on threads inside the process that "
               "needs their observations,")
    if found.envpool is None:
        return f"{subject} was not measured in this build."
    mode, envs, best = envpool_best_over_loop(found)
    where = f"its {POOL_MODE_NAMES[mode]} mode with {envs} environments"
    if _faster(best):
        return (f"{subject} sampled up to {format_ratio(best)} as many steps per second as "
                f"one environment in a loop ({where}); it steps only its own environments.")
    return (f"{subject} did not beat one environment in a loop here in either mode, with any "
            f"number of environments measured (at best {format_ratio(best)} its steps per "
            f"second, {where}).")


#: Every sampler the chapter times, as the choosing page's table names them.
SAMPLER_CELLS = {"loop": "the plain loop (one environment)", **PROSE_NAMES,
                 POOL_SYNC: "EnvPool's synchronous mode", POOL_ASYNC: "EnvPool's asynchronous mode"}
#: Two samplers within this factor of each other are called level in the choosing table
#: (the factor the other chapters' decisions use).
DECISION_LEVEL = 1.1


def sampler_scores(found: Findings, work_s: float) -> dict[str, float]:
    """Each sampler's steps per second over the plain loop timed beside it, with ``work_s``
    added to every step and the most environments (EnvPool's modes where measured)."""
    sweep = found.sweep
    scores = {"loop": 1.0, **{b: sweep.speedups[b][work_s][sweep.most] for b in COMPARED}}
    if found.envpool is not None:
        for mode in POOL_MODE_NAMES:
            value = found.envpool.speedups.get(mode, {}).get(work_s, {}).get(sweep.most)
            if value is not None:
                scores[mode] = value
    return scores


def decision_sampling(found: Findings, work_s: float) -> str:
    """Choosing-table cell: the sampler with the most steps per second, and its lead."""
    scores = sampler_scores(found, work_s)
    best, runner_up = sorted(scores, key=scores.__getitem__, reverse=True)[:2]
    if scores[best] <= scores[runner_up] * DECISION_LEVEL:
        cell = (f"{SAMPLER_CELLS[best]} and {SAMPLER_CELLS[runner_up]}, level (within "
                f"{format_percent(DECISION_LEVEL - 1)})")
    else:
        cell = (f"{SAMPLER_CELLS[best]}, at {format_ratio(scores[best] / scores[runner_up])} "
                f"the steps per second of {SAMPLER_CELLS[runner_up]}")
    return sentence_start(cell)


def decision_sampling_why(found: Findings, work_s: float) -> str:
    """The reason for a sampling decision: the three fastest, as multiples of the loop."""
    scores = sampler_scores(found, work_s)
    fastest = sorted(scores, key=scores.__getitem__, reverse=True)[:3]
    listed = spoken_list(f"{SAMPLER_CELLS[b]} at {format_ratio(scores[b])}" for b in fastest)
    work = ("no work added to CartPole's step" if work_s == 0
            else f"{format_seconds(work_s, digits=1)} of CPU work added to every step")
    return (f"With {found.sweep.most} environments and {work}, the fastest samplers took "
            f"these multiples of the plain loop's steps per second, each against a loop timed "
            f"beside it: {listed}.")


def envpool_call_sentence(found: Findings) -> str:
    """One call of a one-environment pool, and the pool's own hand-off without its Python
    wrapper, against an AsyncVectorEnv step of one environment and a Pipe round trip."""
    if found.envpool is None:
        return "This build did not measure EnvPool, so it cannot set these costs side by side."
    sweep, pipe, pool = found.sweep, found.round_trips.pipe, found.envpool
    start = (f"In the sampling loops here, one step of a one-environment pool cost "
             f"{format_seconds(pool.call_s(sweep.fewest))}, against "
             f"{format_seconds(sweep.async_step_one_env)} for a one-environment "
             "AsyncVectorEnv. Of that, the pool's own hand-off to its thread and back, timed "
             f"without EnvPool's Python wrapper, cost {format_seconds(pool.hand_off)}")
    if pool.hand_off < pipe:
        return (f"{start}, less than a bare Pipe round trip ({format_seconds(pipe)}); the "
                "rest is spent in Python, in the wrapper around those two calls and in the "
                "loop's own work of drawing actions and storing observations.")
    return (f"{start}, no less than a bare Pipe round trip ({format_seconds(pipe)}): on this "
            "machine a thread woke no faster than a process, so what the pool saves is the "
            "pickling and the worker's Python loop, not the wake-up.")


def envpool_vs_sync_sentence(found: Findings) -> str:
    """Both of EnvPool's modes against SyncVectorEnv, no added work, the most environments."""
    if found.envpool is None:
        return f"EnvPool was not measured in this build: {found.envpool_unavailable}."
    sweep, pool = found.sweep, found.envpool
    sync_rate = sweep.light_rate("sync")
    ratios = {mode: pool.rate(mode, sweep.lightest, sweep.most) / sync_rate
              for mode in (POOL_SYNC, POOL_ASYNC)}
    start = (f"With {sweep.most} environments and no added work, EnvPool's synchronous mode "
             f"sampled {format_ratio(ratios[POOL_SYNC])} as many steps per second as "
             f"SyncVectorEnv, and its asynchronous mode {format_ratio(ratios[POOL_ASYNC])}")
    sync_won, async_won = _faster(ratios[POOL_SYNC]), _faster(ratios[POOL_ASYNC])
    if sync_won and async_won:
        return f"{start}: both modes beat Gymnasium's own one-process vector env."
    if sync_won:
        return (f"{start}: the synchronous mode beat Gymnasium's own one-process vector env, "
                "the asynchronous one did not.")
    if async_won:
        return (f"{start}: the asynchronous mode beat Gymnasium's own one-process vector env, "
                "the synchronous one did not.")
    return f"{start}: on this machine neither mode beat Gymnasium's own one-process vector env."


def envpool_modes_sentence(found: Findings) -> str:
    """Whether the asynchronous mode beat the synchronous one, no added work, most envs."""
    if found.envpool is None:
        return "Neither mode was measured here."
    sweep, pool = found.sweep, found.envpool
    ratio = (pool.rate(POOL_ASYNC, sweep.lightest, sweep.most)
             / pool.rate(POOL_SYNC, sweep.lightest, sweep.most))
    figure = f"with {sweep.most} environments it sampled {format_ratio(ratio)} as many steps"
    if ratio > 1 + MODE_TOLERANCE:
        return (f"The asynchronous mode beat the synchronous one here: {figure} per second, "
                "the calling thread choosing actions for one half of the environments while "
                "the pool's threads stepped the other.")
    if ratio < 1 - MODE_TOLERANCE:
        return (f"The asynchronous mode lost to the synchronous one here: {figure} per "
                "second. Each call returned only half the environments, so the calling thread "
                "made more calls for the same steps, and a CartPole step in C++ is too short "
                "for the overlap to pay for them.")
    return (f"The two modes sampled at about the same rate here ({figure} per second in the "
            f"asynchronous mode, within {format_percent(MODE_TOLERANCE)} of the synchronous): "
            "with CartPole, overlapping the calling thread's work with the pool's steps gained "
            "nothing measurable.")


def envpool_heavy_sentence(found: Findings) -> str:
    """The synchronous pool with the heaviest work, run in Python after each batch, against
    AsyncVectorEnv, whose workers run it in parallel; the most environments."""
    if found.envpool is None:
        return "EnvPool with added work was not measured here."
    sweep, pool = found.sweep, found.envpool
    serial = pool.speedups[POOL_SYNC][sweep.heaviest][sweep.most]
    parallel = sweep.heavy_speedup("async_shm", sweep.most)
    start = (f"With {work_label(sweep.heaviest)} of work per step, run in Python after each "
             f"batch, EnvPool's synchronous mode sampled {format_ratio(serial)} the plain loop's "
             f"rate with {sweep.most} environments, against {format_ratio(parallel)} for "
             "AsyncVectorEnv")
    if parallel > serial * (1 + MODE_TOLERANCE):
        return (f"{start}: the work ran serially in the calling thread, where the worker "
                "processes ran it in parallel. For a simulator written in Python, the pool's "
                "threads have nothing to step.")
    return (f"{start}: the work ran serially in the calling thread, and on this machine the "
            "worker processes did no better with it.")


def envpool_design_sentence(found: Findings) -> str:
    """EnvPool against article 000's advice of one process with a vector env."""
    subject = "EnvPool, one process whose C++ environments step on threads,"
    if found.envpool is None:
        return f"{subject} was not measured in this build."
    sweep = found.sweep
    speedup = found.envpool.speedups[POOL_SYNC][sweep.lightest][sweep.most]
    if _faster(speedup):
        return (f"{subject} takes the advice further: with {sweep.most} plain CartPoles its "
                f"synchronous mode, which hands back every step's observations, sampled "
                f"{format_ratio(speedup)} as fast as the plain loop.")
    return (f"{subject} keeps to the advice, but with {sweep.most} plain CartPoles its "
            f"synchronous mode sampled only {format_ratio(speedup)} as fast as the plain loop "
            "on this machine.")


def envpool_resets_sentence(found: Findings) -> str:
    """How many of EnvPool's counted steps were resets."""
    rule = ("EnvPool resets a finished environment on its next call and discards that "
            "call's action")
    if found.envpool is None:
        return f"{rule}; how many of its steps were such resets was not measured here."
    return (f"{rule}; {format_percent(found.envpool.reset_share)} of its steps counted here "
            "were such resets (the Gymnasium backends reset within the step, so every one of "
            "their steps is a real step).")


def envpool_figures(found: Findings) -> dict[str, str]:
    """The EnvPool figures the rules quote; "not measured" in a build without EnvPool."""
    keys = ("ve_envpool_hand_off", "ve_envpool_one_env_step", "ve_envpool_most_env_step",
            "ve_envpool_sync_over_loop", "ve_envpool_sync_over_vector",
            "ve_envpool_heavy_over_loop")
    if found.envpool is None:
        return dict.fromkeys(keys, NOT_MEASURED)
    sweep, pool = found.sweep, found.envpool
    most_rate = pool.rate(POOL_SYNC, sweep.lightest, sweep.most)
    return dict(zip(keys, (
        format_seconds(pool.hand_off),
        format_seconds(pool.call_s(sweep.fewest) / sweep.fewest),
        format_seconds(1 / most_rate),
        format_ratio(pool.speedups[POOL_SYNC][sweep.lightest][sweep.most]),
        format_ratio(most_rate / sweep.light_rate("sync")),
        format_ratio(pool.speedups[POOL_SYNC][sweep.heaviest][sweep.most]),
    ), strict=True))


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    build, trips, sweep = found.build, found.round_trips, found.sweep
    actors, methods, bugs = found.ray_actors, found.start_methods, found.bugs
    guard_methods = list(bugs.guard)
    glued: dict[str, Any] = {
        "ve_cpus": build.cpus,
        "ve_start_method": build.start_method,
        "ve_python": build.python,
        "ve_gymnasium": build.gymnasium,
        "ve_most": sweep.most,
        "ve_counts": spoken_list(sweep.env_counts),
        "ve_levels": spoken_list(work_label(w) for w in sweep.work_levels),
        "ve_heaviest": work_label(sweep.heaviest),
        "ve_heaviest_cost": seconds(sweep.step_cost[sweep.heaviest]),
        "ve_base_step": seconds(sweep.base_step),
        "ve_base_rate": format_count(1 / sweep.base_step),
        # Round trips, measured in this run.
        "ve_pipe_rt": seconds(trips.pipe),
        "ve_ray_rt": seconds(trips.ray_actor),
        "ve_ray_over_pipe": ratio(trips.ray_over_pipe),
        "ve_ray_rt_in_steps": format_count(found.ray_call_in_steps),
        "ve_ray_claim": seconds(sources.RAY_ROUND_TRIP_CLAIM_S.rows[0]["value"]),
        "ve_async_step_one": seconds(sweep.async_step_one_env),
        "ve_async_step_over_pipe": ratio(found.async_step_over_pipe),
        "ve_async_step_over_loop": ratio(sweep.async_step_one_env / sweep.base_step),
        # The sweep.
        "ve_sync_light": ratio(sweep.light_speedup("sync")),
        "ve_sync_heavy": ratio(sweep.heavy_speedup("sync", sweep.most)),
        "ve_async_light": ratio(sweep.light_speedup("async_shm")),
        "ve_async_pipe_light": ratio(sweep.light_speedup("async_pipe")),
        "ve_ray_light": ratio(sweep.light_speedup("ray")),
        "ve_async_heavy": ratio(sweep.heavy_speedup("async_shm", sweep.most)),
        "ve_shm_over_pipe_light": ratio(sweep.shm_over_pipe(sweep.lightest)),
        "ve_shm_over_pipe_heavy": ratio(sweep.shm_over_pipe(sweep.heaviest)),
        "ve_async_light_rate": format_count(sweep.light_rate("async_shm")),
        "ve_ray_light_rate": format_count(sweep.light_rate("ray")),
        "ve_loop_light_rate": format_count(sweep.light_rate("loop")),
        "ve_ray_over_async_light": ratio(sweep.light_rate("ray") / sweep.light_rate("async_shm")),
        "ve_light_verdict": light_verdict(sweep),
        "ve_ray_vs_async_sentence": ray_vs_async_sentence(sweep),
        "ve_ray_design_verdict": ray_design_verdict(sweep, trips),
        "ve_heavy_text": heavy_text(sweep),
        "ve_one_step_verdict": one_step_verdict(sweep),
        # Ray actors: how many, with how many environments each, for how many steps per call.
        "ve_ray_actors": actors.actors,
        "ve_envs_per_actor": actors.envs_per_actor,
        "ve_rollout_steps": actors.rollout_steps,
        "ve_steps_per_call": actors.steps_per_call,
        # Start methods.
        "ve_creation_envs": methods.envs,
        "ve_method_step_verdict": method_step_verdict(methods),
        "ve_method_step_scheduled": scheduled_step_sentence(methods),
        "ve_control_rounds": methods.control_rounds,
        "ve_control_steps": methods.control_steps,
        "ve_gap_tolerance": format_percent(GAP_TOLERANCE),
        "ve_default_sentence": default_method_sentence(build),
        # Article 004's bugs.
        "ve_instance_error": bugs.instance_mistake,
        "ve_guard_methods": spoken_list(guard_methods),
        "ve_guard_blind_methods": spoken_list(m for m in guard_methods
                                              if m != INHERITING_METHOD),
        # EnvPool.
        "ve_envpool_status": envpool_status(found),
        "ve_envpool_answer": envpool_answer(found),
        "decision_cheap_envs": decision_sampling(found, found.sweep.lightest),
        "decision_cheap_envs_why": decision_sampling_why(found, found.sweep.lightest),
        "decision_heavy_envs": decision_sampling(found, found.sweep.heaviest),
        "decision_heavy_envs_why": decision_sampling_why(found, found.sweep.heaviest),
        "ve_envpool_call_sentence": envpool_call_sentence(found),
        "ve_envpool_vs_sync": envpool_vs_sync_sentence(found),
        "ve_envpool_modes": envpool_modes_sentence(found),
        "ve_envpool_heavy_sentence": envpool_heavy_sentence(found),
        "ve_envpool_design": envpool_design_sentence(found),
        "ve_envpool_resets": envpool_resets_sentence(found),
        **envpool_figures(found),
    }
    for backend, crossover in found.crossovers.items():
        glued[f"ve_cross_{backend}"] = crossover_text(crossover)
        glued[f"ve_cross_{backend}_sentence"] = crossover_sentence(crossover)
    for method, value in methods.creation.items():
        glued[f"ve_creation_{method}"] = seconds(value)
    for method, value in methods.step.items():
        glued[f"ve_method_step_{method}"] = seconds(value)
    return glued
