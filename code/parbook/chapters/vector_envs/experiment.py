"""Parallel environment sampling: vector environments, measured.

Groups of cases in the result (every sample is the seconds one batch of environment
steps took; ``params["steps"]`` says how many steps, so steps per second is
``steps / seconds``):

``sweep``
    CartPole wrapped in :class:`~parbook.chapters.vector_envs.workload.HeavyStep`, with 0 to 5 ms
    of real CPU work added to every step, sampled by 1 to 8 environments
    (``envs``) with each backend. Phase ``local``: one environment in a plain loop,
    Gymnasium's ``SyncVectorEnv``, and ``AsyncVectorEnv`` with and without shared-memory
    observations, timed interleaved. Phase ``ray``: Ray actors that each own some of the
    environments and sample several steps per call, interleaved with the plain loop.
    Phase ``envpool`` (in a child interpreter, :mod:`~parbook.chapters.vector_envs.pool_sweep`):
    EnvPool's C++ CartPole in its synchronous mode (``batch_size == envs``; the added work,
    which cannot run in EnvPool's threads, done in the calling thread after each batch,
    with the most environments only) and, with no added work and at least two
    environments, its asynchronous mode (``batch_size = envs // 2``), interleaved with the
    plain loop; ``num_threads`` and ``batch_size`` are in the params.
``creation``
    Creating, resetting and closing an ``AsyncVectorEnv`` of two environments under each
    start method.
``method_steps``
    Seconds per step of an ``AsyncVectorEnv`` of two environments under each start
    method, one sample per round, the methods' environments open at once and stepped
    round by round, in a child interpreter (:mod:`~parbook.chapters.vector_envs.layout`);
    ``placement`` says whether the workers ran where the scheduler put them or, with
    their parent, on one CPU, and ``randomisation`` whether the child loaded new programs
    at random addresses (``"on"``, as Linux does) or at its own (``"off"``).
``round_trip``
    Seconds per round trip of a tiny message: a ``multiprocessing.Pipe`` to a running
    process (what an ``AsyncVectorEnv`` worker pays per step), and a call to a running
    Ray actor; where EnvPool is installed, also one step of a one-environment pool handed
    to its thread and back through its C++ methods, without its Python wrapper.

Demonstrations, kept in ``values``: what ``AsyncVectorEnv`` says when handed environment
instances instead of factories, and which settings its workers see when the main program
fills them in under ``if __name__ == "__main__":`` (a child interpreter per start method,
with a time limit); and, in ``values["layout"]``, how many workers of each start method ran
the interpreter at the parent's addresses in each run of the step control, or why a run
could not pin its processes or switch address randomisation off; and, in
``values["envpool"]``, whether EnvPool could be imported (and why not), its version, its
threads and batch sizes per number of environments, and the share of its steps that were
resets.

Nothing is forked while Ray runs: every non-Ray case comes first, then one Ray session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import gymnasium
import numpy as np

from parbook.bench.measure import Protocol, measure, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.vector_envs import layout
from parbook.chapters.vector_envs import workload as work
from parbook.shared import roundtrip, run_setup
from parbook.shared.child import run_module
from parbook.shared.cpu import calibrate, iterations_for
from parbook.shared.raysession import describe, ray_session

NAME = "vector-envs"

BACKEND_LABELS = {
    "loop": "one env, plain loop",
    "sync": "SyncVectorEnv",
    "async_shm": "AsyncVectorEnv, shared memory",
    "async_pipe": "AsyncVectorEnv, no shared memory",
    "ray": "Ray actors",
}
#: Backends that step environments in other processes.
PARALLEL = ("async_shm", "async_pipe", "ray")
#: Backends compared with the plain loop.
COMPARED = ("sync", *PARALLEL)
ROUND_TRIP_LABELS = {"mp_pipe": "multiprocessing.Pipe", "ray_actor": "Ray actor call"}
#: The round trip measured where EnvPool is installed.
ENVPOOL_ROUND_TRIP = {"envpool_hand_off": "EnvPool: a step handed to its thread and back, "
                                          "without its Python wrapper"}
#: EnvPool's backends (phase ``envpool``); the synchronous one with any added work run in
#: the calling thread after each batch, since EnvPool's threads run C++ only.
ENVPOOL_SYNC, ENVPOOL_ASYNC = "envpool_sync", "envpool_async"
ENVPOOL_LABELS = {
    ENVPOOL_SYNC: "EnvPool, sync (added work: serial, in Python)",
    ENVPOOL_ASYNC: "EnvPool, async (half the envs per batch)",
}
#: Time limit of the EnvPool phase (a child interpreter).
POOL_LIMIT_S = 300.0
#: Upper bound on any other single wait.
WAIT_S = 120.0
#: Time limit of one run of the start-method step control (a child interpreter).
LAYOUT_LIMIT_S = 180.0
#: The step control's runs: (where the workers run, address randomisation) -> the
#: program's options. Workers where the scheduler puts them, as a user's run has them;
#: the parent and its workers on one CPU; and on one CPU with randomisation off.
CONTROL_RUNS = {
    ("scheduled", "on"): (),
    ("one CPU", "on"): (layout.ONE_CPU,),
    ("one CPU", "off"): (layout.ONE_CPU, layout.RANDOMISATION_OFF),
}


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    env_counts: tuple[int, ...]
    work_s: tuple[float, ...]
    #: Steps per sample: about this much serial work, within the bounds below.
    sample_work_s: float
    max_steps: int
    min_vector_steps: int
    #: Steps each Ray actor samples per call (fewer where a sample has fewer steps).
    rollout_steps: int
    sweep: Protocol
    creation_envs: int
    creation: Protocol
    #: The start-method step control: rounds, and steps of every environment per round.
    layout_rounds: int
    layout_steps: int
    round_trips: int
    ray_round_trips: int
    latency: Protocol


FULL = Sizes(
    env_counts=(1, 2, 4, 8),
    work_s=(0.0, 1e-4, 1e-3, 5e-3),
    sample_work_s=0.05,
    max_steps=256,
    min_vector_steps=4,
    rollout_steps=20,
    # Every sweep sample is short (about sample_work_s), so each case gets
    # short_min_repeats runs. Seven, not the default ten: drawing seven of a full build's
    # ten samples moved a case's median by under 5 % in nine draws out of ten and flagged
    # no more cases unstable, and the sweep is most of the chapter's time. Warmed up at
    # the first work level of each environment count only (warm_first).
    sweep=Protocol(repeats=3, warmup=1, short_min_repeats=7),
    creation_envs=2,
    creation=Protocol(repeats=2, warmup=1),
    layout_rounds=40,
    layout_steps=25,
    round_trips=1000,
    ray_round_trips=200,
    latency=Protocol(repeats=3, warmup=1),
)

QUICK = Sizes(
    env_counts=(1, 4),
    work_s=(0.0, 1e-3),
    sample_work_s=0.03,
    max_steps=160,
    min_vector_steps=4,
    rollout_steps=20,
    sweep=Protocol(repeats=1, warmup=1),
    creation_envs=2,
    creation=Protocol(repeats=1, warmup=0),
    layout_rounds=12,
    layout_steps=10,
    round_trips=200,
    ray_round_trips=30,
    latency=Protocol(repeats=1, warmup=1),
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


@dataclass(frozen=True)
class Point:
    """How much sampling one sweep sample does: ``envs`` x ``vector_steps`` steps."""

    work_s: float
    work_iterations: int
    envs: int
    vector_steps: int
    steps_per_call: int
    calls: int

    @property
    def steps(self) -> int:
        return self.envs * self.vector_steps

    def params(self, phase: str, backend: str) -> dict[str, Any]:
        return {"work_s": self.work_s, "work_iterations": self.work_iterations,
                "envs": self.envs, "steps": self.steps, "steps_per_call": self.steps_per_call,
                "phase": phase, "backend": backend}


def sweep_point(work_s: float, iterations: int, base_step_s: float, envs: int,
                size: Sizes) -> Point:
    """The steps one sample takes at a sweep point: about ``size.sample_work_s`` of
    serial work, at most ``size.max_steps`` steps, at least ``size.min_vector_steps``
    steps of every environment, and a whole number of Ray calls."""
    serial_steps = min(size.max_steps, size.sample_work_s / (work_s + base_step_s))
    vector_steps = max(size.min_vector_steps, round(serial_steps / envs))
    per_call = min(vector_steps, size.rollout_steps)
    calls = math.ceil(vector_steps / per_call)
    return Point(work_s, iterations, envs, calls * per_call, per_call, calls)


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    cpus, method, say = machine_setup.cpus, machine_setup.start_method, machine_setup.say
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=cpus, start_method=method, python=platform.python_version(),
        gymnasium=gymnasium.__version__, env_id=work.ENV_ID,
        env_counts=list(size.env_counts), work_s=list(size.work_s),
        rollout_steps=size.rollout_steps, creation_envs=size.creation_envs,
        layout_rounds=size.layout_rounds, layout_steps=size.layout_steps,
        round_trips=size.round_trips, ray_round_trips=size.ray_round_trips,
    )
    say("calibrating the per-step work")
    rate = calibrate()
    iterations = {w: (iterations_for(w, rate) if w > 0 else 0) for w in size.work_s}
    base_step_s = _base_step_s()
    result.values.update(burn_iterations_per_s=rate, base_step_s_estimate=base_step_s)
    points = {(w, n): sweep_point(w, iterations[w], base_step_s, n, size)
              for w in size.work_s for n in size.env_counts}
    result.values["instance_mistake"] = work.instance_mistake()

    for envs in size.env_counts:
        _sweep_local(result, size, method, [points[(w, envs)] for w in size.work_s], say)
    _envpool_phase(result, size, envpool_points(points, size), cpus, say)
    _creation(result, size, say)
    _step_control(result, size, say)
    _pipe_round_trip(result, size, machine_setup.context, say)
    _guard_demo(result, say)

    say("starting Ray")
    with ray_session(num_cpus=cpus) as ray:
        where = describe(ray)
        result.parameters.update(where)
        ray_cpus = cpus if where["ray_address"] == "local" else int(where["ray_cluster_cpus"])
        _ray_phase(result, size, points, max(1, ray_cpus), say)
    return result


def _base_step_s(steps: int = 2000) -> float:
    """Seconds per step of the plain loop with no added work (sizes the samples only)."""
    env = work.make_env(0)
    try:
        env.reset(seed=work.SEED)
        rng = np.random.default_rng(work.SEED)
        work.sample_one_env(env, rng, steps // 4)  # warm-up
        began = time.perf_counter()
        work.sample_one_env(env, rng, steps)
        return (time.perf_counter() - began) / steps
    finally:
        env.close()


@contextlib.contextmanager
def plain_loop() -> Iterator[Any]:
    """One environment for the plain-loop cases; its work is set per sweep point."""
    env = work.make_env(0)
    try:
        env.reset(seed=work.SEED)
        yield env
    finally:
        env.close()


def loop_case(env: Any, point: Point) -> Callable[[Any], Any]:
    """Set the loop's environment to ``point``'s work; return the timed case."""
    env.work_iterations = point.work_iterations
    rng = np.random.default_rng(work.SEED)
    return lambda _: work.sample_one_env(env, rng, point.steps)


def _vector_case(envs: Any, point: Point) -> Callable[[Any], Any]:
    rng = np.random.default_rng(work.SEED)
    return lambda _: work.sample_vector(envs, rng, point.vector_steps)


def warm_first(protocol: Protocol, index: int) -> Protocol:
    """``protocol`` for the first work level of an environment count; the same without
    its warm-up for the later ones, whose environments, workers and actors have already
    run (only the added work per step changes between levels)."""
    return protocol if index == 0 else replace(protocol, warmup=0)


def _sweep_local(result: Result, size: Sizes, method: str, points: list[Point],
                 say: Callable[[str], None]) -> None:
    envs_count = points[0].envs
    vectors: dict[str, Any] = {}
    try:
        for backend in work.BACKENDS:
            say(f"sweep: creating {backend} with {envs_count} envs ({method})")
            vectors[backend] = work.make_vector(backend, envs_count, 0, context=method)
        with plain_loop() as loop_env:
            for index, point in enumerate(points):
                cases: dict[str, Callable[[Any], Any]] = {"loop": loop_case(loop_env, point)}
                for name, envs in vectors.items():
                    envs.set_attr("work_iterations", point.work_iterations)
                    cases[name] = _vector_case(envs, point)
                say(f"sweep: {point.steps} steps, {point.work_s:g} s of work each, "
                    f"{envs_count} envs, loop / sync / async")
                samples = measure_interleaved(cases, warm_first(size.sweep, index))
                for backend, backend_samples in samples.items():
                    result.add("sweep", point.params("local", backend), backend_samples)
    finally:
        for envs in vectors.values():
            work.close_vector(envs)


def envpool_points(points: dict[tuple[float, int], Point], size: Sizes) -> list[Point]:
    """The sweep points EnvPool runs at: every number of environments with no added work,
    and every amount of added work with the most environments only. Its added work runs
    serially in the calling thread, one batch after another, so each of those points costs
    as long as the loop's; the most environments, which the crossover figure shows, are
    enough to show where it stands."""
    lightest, most = min(size.work_s), max(size.env_counts)
    return [point for (w, n), point in points.items() if w == lightest or n == most]


def pool_plan(points: list[Point], size: Sizes, cpus: int) -> str:
    """The EnvPool phase's argument (JSON): the sweep's points and protocol, the CPUs, and
    the round trips and protocol of its hand-off timing."""
    return json.dumps({"points": [dataclasses.asdict(p) for p in points],
                       "protocol": dataclasses.asdict(size.sweep), "cpus": cpus,
                       "round_trips": size.round_trips,
                       "latency": dataclasses.asdict(size.latency)})


def _envpool_phase(result: Result, size: Sizes, points: list[Point], cpus: int,
                   say: Callable[[str], None]) -> None:
    """EnvPool at every sweep point, in a child interpreter with a time limit (see
    :mod:`~parbook.chapters.vector_envs.pool_sweep`); its absence is recorded, not raised."""
    say("sweep: EnvPool, sync and async, interleaved with the loop (child interpreter)")
    child = run_module(work.POOL_MODULE, pool_plan(points, size, cpus),
                       time_limit_s=POOL_LIMIT_S)
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{' '.join(child.command[:4])} failed:\n{child.errors[-4000:]}")
    report = json.loads(child.output.strip().splitlines()[-1])
    for case in report.pop("cases", []):
        result.add("sweep", case["params"], case["samples"])
    if report["available"]:
        result.add("round_trip", {"channel": "envpool_hand_off"}, report.pop("hand_off_s"))
    result.values["envpool"] = report


def _creation(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    """Per start method: create, reset and close an AsyncVectorEnv.

    The first ``size.creation.warmup`` runs are discarded (the first forkserver run starts
    the server).
    """
    n = size.creation_envs
    for method in work.start_methods():
        say(f"creation: AsyncVectorEnv of {n} envs with {method}")
        created = []
        for run_index in range(size.creation.warmup + size.creation.repeats):
            began = time.perf_counter()
            envs = work.make_vector("async_shm", n, 0, context=method)
            work.close_vector(envs)
            if run_index >= size.creation.warmup:
                created.append(time.perf_counter() - began)
        result.add("creation", {"method": method, "envs": n}, created)


def _step_control(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    """One step of an AsyncVectorEnv under each start method, the methods stepped round by
    round in a child interpreter: where the scheduler puts the workers, on one CPU, and on
    one CPU with address randomisation off (see :mod:`parbook.chapters.vector_envs.layout`).
    """
    reports = []
    for (placement, randomisation), options in CONTROL_RUNS.items():
        say(f"step per start method: {placement}, address randomisation {randomisation}")
        child = run_module(layout.MODULE, str(size.layout_rounds), str(size.layout_steps),
                           *options, time_limit_s=LAYOUT_LIMIT_S)
        if child.killed or child.returncode != 0:
            raise RuntimeError(f"{' '.join(child.command)} failed:\n{child.errors[-4000:]}")
        report = json.loads(child.output.strip().splitlines()[-1])
        for method, samples in report.pop("per_step_s", {}).items():
            result.add("method_steps", {"method": method, "envs": report["workers"],
                                        "placement": placement,
                                        "randomisation": randomisation}, samples)
        reports.append({"placement": placement, "randomisation": randomisation, **report})
    result.values["layout"] = reports


def _pipe_round_trip(result: Result, size: Sizes, context: Any,
                     say: Callable[[str], None]) -> None:
    n = size.round_trips
    say(f"round trip: {n} through a multiprocessing.Pipe")
    with roundtrip.mp_pipe_echo(context) as conn:
        samples = measure(lambda _: [(conn.send(0), conn.recv()) for _ in range(n)],
                          size.latency)
    result.add("round_trip", {"channel": "mp_pipe"}, [s / n for s in samples])


def _guard_demo(result: Result, say: Callable[[str], None]) -> None:
    children = {}
    for method in work.start_methods():
        say(f"main-guard demo under {method}")
        children[method] = work.run_guard_demo(method).as_dict()
    result.values["guard"] = children


def _ray_phase(result: Result, size: Sizes, points: dict[tuple[float, int], Point],
               ray_cpus: int, say: Callable[[str], None]) -> None:
    import ray

    runner = work.remote_runner()
    most = min(max(size.env_counts), ray_cpus)
    say(f"creating {most} Ray actors")
    actors = [runner.remote(work.SEED + 1000 * i) for i in range(most)]
    try:
        ray.get([actor.ping.remote(0) for actor in actors], timeout=WAIT_S)
        n = size.ray_round_trips
        say(f"round trip: {n} Ray actor calls")
        samples = measure(
            lambda _: [ray.get(actors[0].ping.remote(0), timeout=WAIT_S) for _ in range(n)],
            size.latency)
        result.add("round_trip", {"channel": "ray_actor"}, [s / n for s in samples])
        for envs_count in size.env_counts:
            used = actors[:min(envs_count, most)]
            shares = work.envs_per_actor(envs_count, len(used))
            ray.get([actor.configure.remote(k, 0) for actor, k in zip(used, shares, strict=True)],
                    timeout=WAIT_S)
            with plain_loop() as loop_env:
                for index, w in enumerate(size.work_s):
                    point = points[(w, envs_count)]
                    ray.get([actor.set_work.remote(point.work_iterations) for actor in used],
                            timeout=WAIT_S)
                    say(f"sweep: {point.steps} steps, {w:g} s of work each, "
                        f"{envs_count} envs on {len(used)} Ray actors")
                    samples = measure_interleaved({
                        "loop": loop_case(loop_env, point),
                        "ray": lambda _, p=point, a=used: work.sample_with_actors(
                            a, p.steps_per_call, p.calls),
                    }, warm_first(size.sweep, index))
                    for backend, backend_samples in samples.items():
                        params = point.params("ray", backend)
                        params["actors"] = len(used)
                        result.add("sweep", params, backend_samples)
    finally:
        for actor in actors:
            ray.kill(actor)
