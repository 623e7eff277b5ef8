"""Why is multiprocessing sometimes slower than one process? (source article 000)

Four measurements, each a group of cases in the result:

``article``
    The article's experiment: 1, 5, 10 workers x task body {return at once, sleep 0.1 ms,
    sleep 1 s} x {one process, one ``multiprocessing.Process`` per worker, one Ray actor
    per worker}, timed including start-up as the article did. The middle body sleeps
    0.1 ms, as the article's code does (its table's header says ``time.sleep(0.001)``,
    but its code and its one-process figures say 0.0001). Ray actors are killed after
    every repeat, so every repeat starts new worker processes.
``ray_first_use``
    The article's Ray case as a program meets it: the first actors created after
    ``ray.init``, which may run in the worker processes Ray starts in advance (one per
    CPU). One run each (1 and the most workers), each in a fresh Ray session.
``startup``
    Starting and joining 1, 5, 10 processes that do nothing, under each start method.
``round_trip``
    Seconds per round trip of a tiny message: raw ``os.pipe`` (the floor),
    ``multiprocessing`` Pipe and Queue, a Pool call, a Ray task and a Ray actor call.
``sweep``
    CPU-bound tasks of 10 us to 100 ms spread over live workers (a Pool, Ray tasks, Ray
    actors), against the same tasks run one after another, to find where each breaks even.
    Each parallel version is timed interleaved with its serial baseline.

Nothing is forked after Ray starts (forking a process that runs Ray's threads is
unsafe), so every non-Ray case runs first and all Ray cases share one Ray session.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from parbook.bench.measure import Protocol, measure, measure_interleaved, time_once
from parbook.bench.results import Result
from parbook.chapters.overhead import workload as work
from parbook.shared import roundtrip, run_setup
from parbook.shared.cpu import burn, calibrate, iterations_for
from parbook.shared.ray_actors import remote_versions
from parbook.shared.raysession import describe, ray_session

NAME = "overhead"

#: The article's task bodies: label -> seconds slept in ``run`` (0: return at once).
#: The middle body is the article's code, ``time.sleep(0.0001)``; its table's header says
#: ``time.sleep(0.001)``, which its own one-process figures rule out.
TASK_BODIES = {"return": 0.0, "sleep_100us": 0.0001, "sleep_1s": 1.0}
BODY_LABELS = {"return": "return at once", "sleep_100us": "sleep(0.0001)",
               "sleep_1s": "sleep(1)"}
BACKENDS = ("one_process", "processes", "ray_actors")
BACKEND_LABELS = {
    "one_process": "one process",
    "processes": "multiprocessing.Process",
    "ray_actors": "Ray actors",
}
PLACEMENT_LABELS = {
    "same_cpu": "both on one CPU",
    "different_cpus": "on two CPUs",
    "unpinned": "placed by the OS",
}
CHANNEL_LABELS = {
    "os_pipe": "raw os.pipe, 1 byte (floor)",
    "mp_pipe": "multiprocessing.Pipe",
    "mp_queue": "multiprocessing.Queue",
    "pool_apply": "Pool.apply",
    "ray_task": "Ray task",
    "ray_actor": "Ray actor call",
}
SWEEP_LABELS = {
    "serial": "one process",
    "pool_per_task": "Pool, one message per task",
    "pool_map": "Pool.map (tasks batched)",
    "ray_tasks": "Ray tasks",
    "ray_actors": "Ray actors",
}
#: Upper bound on any single wait, so a broken worker fails the run instead of hanging it.
WAIT_S = 600.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    worker_counts: tuple[int, ...]
    #: How often each backend's article cases run: backend -> protocol.
    article: dict[str, Protocol]
    startup_counts: tuple[int, ...]
    startup: Protocol
    round_trips: int
    ray_round_trips: int
    latency: Protocol
    sweep_durations_s: tuple[float, ...]
    sweep_work_s: float
    sweep_max_tasks: int
    sweep: Protocol


FULL = Sizes(
    worker_counts=(1, 5, 10),
    # No per-case warm-up: each backend is warmed up once before its grid (see
    # _article_local), so one-second cases are not run an extra, discarded time. Long
    # cases stop after a few runs once their budget is spent; the time goes to the short
    # cases instead, which get ten runs each (Protocol.short_min_repeats).
    article={
        # In one process the one-second tasks are sleeps one after another: five or ten
        # seconds that vary by a hundredth of a per cent between runs, so one run of
        # them is enough (the spread table shows N = 1) where a second would cost 15 s.
        "one_process": Protocol(repeats=5, warmup=0, min_repeats=1, budget_s=2.0),
        # One new process per task, sleeping a second: these vary by a few per cent at
        # most, so two runs are enough.
        "processes": Protocol(repeats=5, warmup=0, min_repeats=2, budget_s=2.0),
        # Starting Ray actors varies far more (tens of per cent between runs): two runs
        # at least, three once they fit in three seconds.
        "ray_actors": Protocol(repeats=5, warmup=0, min_repeats=2, budget_s=3.0),
    },
    startup_counts=(1, 5, 10),
    startup=Protocol(repeats=5, warmup=1),
    round_trips=2000,
    # A Ray call takes about a millisecond, and samples of 200 calls varied little (an
    # interquartile range of a tenth of the median at most, in every full run tried).
    ray_round_trips=200,
    latency=Protocol(repeats=5, warmup=1),
    sweep_durations_s=(1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
    sweep_work_s=0.4,
    sweep_max_tasks=400,
    # The Pool's sweep is warmed up before its first task length only, Ray's before
    # every one (see _sweep_points).
    sweep=Protocol(repeats=3, warmup=1),
)

QUICK = Sizes(
    worker_counts=(1, 5, 10),
    article=dict.fromkeys(BACKENDS, Protocol(repeats=1, warmup=0, min_repeats=1)),
    startup_counts=(1, 5, 10),
    startup=Protocol(repeats=2, warmup=1),
    round_trips=200,
    ray_round_trips=30,
    latency=Protocol(repeats=2, warmup=1),
    sweep_durations_s=(1e-4, 1e-3, 1e-2),
    sweep_work_s=0.05,
    sweep_max_tasks=60,
    sweep=Protocol(repeats=1, warmup=1),
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def sweep_task_count(duration_s: float, work_s: float, workers: int, max_tasks: int) -> int:
    """Tasks at one sweep point: about ``work_s`` of serial work, at least 4 per worker."""
    return int(min(max_tasks, max(4 * workers, round(work_s / duration_s))))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    cpus, start_method, context, say = (machine_setup.cpus, machine_setup.start_method,
                                        machine_setup.context, machine_setup.say)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=cpus,
        start_method=start_method,
        task_bodies_s=TASK_BODIES,
        worker_counts=list(size.worker_counts),
        round_trips=size.round_trips,
        ray_round_trips=size.ray_round_trips,
    )

    _article_local(result, size, context, say)
    _startup(result, size, say)
    _round_trips_local(result, size, context, say)
    rate = calibrate()
    result.values["burn_iterations_per_s"] = rate
    _sweep_local(result, size, context, cpus, rate, say)

    # Two fresh Ray sessions, each of whose first actors is timed once as a program
    # meets them: the first session's with one actor, the second's with the most.
    say("starting Ray")
    began = time.perf_counter()
    with ray_session(num_cpus=None):
        result.add("ray_init", {}, [time.perf_counter() - began])
        _ray_first_use(result, 1, say)
    with ray_session(num_cpus=None) as ray:
        result.parameters.update(describe(ray))
        prestarted = _prestarted_workers(result.parameters)
        result.parameters["ray_prestarted_workers"] = prestarted
        most = max(size.worker_counts)
        _ray_first_use(result, most, say)
        # Use up any worker started in advance that the first actors left idle, so that
        # every timed repeat below starts new processes, as each repeat after the first
        # does in a program that creates and kills actors.
        work.kill_actors(work.run_one_actor_each(max(1, (prestarted or 0) - most), 0.0))
        _article_ray(result, size, say)
        _round_trips_ray(result, size, say)
        _sweep_ray(result, size, cpus, rate, say)
    return result


def _article_local(result: Result, size: Sizes, context: Any, say: Callable) -> None:
    # One discarded run per backend pays for first-use costs (imports, page faults)
    # before any case is timed.
    work.run_in_one_process(1, 0.0)
    work.run_one_process_each(1, 0.0, context)
    for body, task_s in TASK_BODIES.items():
        for workers in size.worker_counts:
            say(f"article: {body}, {workers} workers, one process")
            samples = measure(lambda _, w=workers, t=task_s: work.run_in_one_process(w, t),
                              size.article["one_process"])
            result.add("article", _article_params(body, workers, "one_process"), samples)
            say(f"article: {body}, {workers} workers, one Process each")
            samples = measure(
                lambda _, w=workers, t=task_s: work.run_one_process_each(w, t, context),
                size.article["processes"],
            )
            result.add("article", _article_params(body, workers, "processes"), samples)


def _prestarted_workers(parameters: dict[str, Any]) -> int | None:
    """How many worker processes a fresh local Ray instance starts in advance: one per CPU
    it counts (``ray/_private/services.py`` starts the raylet with
    ``--num_prestart_python_workers`` set to ``num_cpus``). None on a cluster, whose
    workers' history this run does not know."""
    if parameters["ray_address"] != "local":
        return None
    return int(parameters["ray_cluster_cpus"])


def _ray_first_use(result: Result, workers: int, say: Callable) -> None:
    """Time, once, the first actors of a fresh Ray session (they cannot be first twice)."""
    say(f"article: return, {workers} workers, the first Ray actors after ray.init")
    sample = time_once(lambda actors: actors.extend(work.run_one_actor_each(workers, 0.0)),
                       setup=list, teardown=work.kill_actors)
    result.add("ray_first_use", {"body": "return", "workers": workers}, [sample])


def _article_ray(result: Result, size: Sizes, say: Callable) -> None:
    for body, task_s in TASK_BODIES.items():
        for workers in size.worker_counts:
            say(f"article: {body}, {workers} workers, one Ray actor each")
            samples = measure(
                lambda actors, w=workers, t=task_s: actors.extend(work.run_one_actor_each(w, t)),
                size.article["ray_actors"],
                setup=list,
                teardown=work.kill_actors,
            )
            result.add("article", _article_params(body, workers, "ray_actors"), samples)


def _article_params(body: str, workers: int, backend: str) -> dict[str, Any]:
    return {"body": body, "task_s": TASK_BODIES[body], "workers": workers, "backend": backend}


def _startup(result: Result, size: Sizes, say: Callable) -> None:
    for method in ("fork", "forkserver", "spawn"):
        if method not in multiprocessing.get_all_start_methods():
            continue
        context = multiprocessing.get_context(method)
        for count in size.startup_counts:
            say(f"start-up: {count} processes with {method}")
            samples = measure(lambda _, c=count, ctx=context: _start_and_join(ctx, c), size.startup)
            result.add("startup", {"method": method, "processes": count}, samples)


def _start_and_join(context: Any, count: int) -> None:
    processes = [context.Process(target=work.noop) for _ in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(WAIT_S)
    stuck = [process for process in processes if process.is_alive()]
    for process in stuck:  # a process that never ended fails the run, and is not left
        process.kill()
        process.join(WAIT_S)
    if stuck:
        raise TimeoutError(f"{len(stuck)} processes that do nothing ran over {WAIT_S} s")


def _round_trips_local(result: Result, size: Sizes, context: Any, say: Callable) -> None:
    n = size.round_trips
    for placement, (parent_cpu, child_cpu) in roundtrip.placements().items():
        with roundtrip.pinned(parent_cpu):
            say(f"round trip: os.pipe, {placement}")
            with roundtrip.os_pipe_echo(child_cpu) as (write_fd, read_fd):
                samples = _timed_calls(lambda: (os.write(write_fd, b"x"), os.read(read_fd, 1)),
                                       n, size.latency)
            result.add("round_trip", {"channel": "os_pipe", "placement": placement}, samples)

            say(f"round trip: multiprocessing.Pipe, {placement}")
            with roundtrip.mp_pipe_echo(context, child_cpu) as conn:
                samples = _timed_calls(lambda: (conn.send(0), conn.recv()), n, size.latency)
            result.add("round_trip", {"channel": "mp_pipe", "placement": placement}, samples)

            say(f"round trip: multiprocessing.Queue, {placement}")
            with roundtrip.mp_queue_echo(context, child_cpu) as (inbox, outbox):
                samples = _timed_calls(lambda: (inbox.put(0), outbox.get(timeout=WAIT_S)), n,
                                       size.latency)
            result.add("round_trip", {"channel": "mp_queue", "placement": placement}, samples)

            say(f"round trip: Pool.apply, {placement}")
            with context.Pool(1, initializer=roundtrip.pin_to, initargs=(child_cpu,)) as pool:
                samples = _timed_calls(lambda: pool.apply(roundtrip.echo, (0,)), n, size.latency)
            result.add("round_trip", {"channel": "pool_apply", "placement": placement}, samples)


def _round_trips_ray(result: Result, size: Sizes, say: Callable) -> None:
    import ray

    remote = remote_versions()
    n = size.ray_round_trips
    say("round trip: Ray task")
    samples = _timed_calls(lambda: ray.get(remote["echo"].remote(0), timeout=WAIT_S), n,
                           size.latency)
    result.add("round_trip", {"channel": "ray_task", "placement": "unpinned"}, samples)

    say("round trip: Ray actor call")
    actor = remote["Echo"].remote()
    try:
        samples = _timed_calls(lambda: ray.get(actor.ping.remote(0), timeout=WAIT_S), n,
                               size.latency)
    finally:
        ray.kill(actor)
    result.add("round_trip", {"channel": "ray_actor", "placement": "unpinned"}, samples)


def _timed_calls(call: Callable[[], Any], n: int, protocol: Protocol) -> list[float]:
    """Samples of seconds per call, each sample the mean over ``n`` back-to-back calls."""
    return _per_call(measure(lambda _: [call() for _ in range(n)], protocol), n)


def _per_call(samples: list[float], n: int) -> list[float]:
    return [sample / n for sample in samples]


def _sweep_points(size: Sizes, cpus: int, rate: float, warm_every_point: bool
                  ) -> Iterator[tuple[float, int, int, Protocol]]:
    """Per sweep point: task length, burn iterations, task count and the protocol.

    The first point is always warmed up: it pays for what runs once (the pool's first
    tasks, Ray leasing its workers). With a Pool nothing carries over from one point to
    the next, so later points skip the warm-up, seconds of work that would be thrown
    away. Ray's points keep theirs: without it, the first timed run of a point came out
    over 15 % slower than the others three times as often (in 27 % of cases against 8 %,
    over a dozen full runs), likely from work Ray still did after the previous point's
    burst of tasks."""
    for index, duration in enumerate(size.sweep_durations_s):
        warm = index == 0 or warm_every_point
        protocol = size.sweep if warm else replace(size.sweep, warmup=0)
        yield (duration, iterations_for(duration, rate),
               sweep_task_count(duration, size.sweep_work_s, cpus, size.sweep_max_tasks),
               protocol)


def _sweep_local(result: Result, size: Sizes, context: Any, cpus: int, rate: float,
                 say: Callable) -> None:
    with context.Pool(cpus) as pool:
        for duration, iterations, tasks, protocol in _sweep_points(size, cpus, rate,
                                                                   warm_every_point=False):
            say(f"sweep: {tasks} tasks of {duration:g} s, one process and a Pool")
            samples = measure_interleaved({
                "serial": lambda _, k=iterations, n=tasks: [burn(k) for _ in range(n)],
                "pool_per_task": lambda _, k=iterations, n=tasks: [
                    r.get(WAIT_S) for r in [pool.apply_async(burn, (k,)) for _ in range(n)]
                ],
                "pool_map": lambda _, k=iterations, n=tasks: pool.map(burn, [k] * n),
            }, protocol)
            _add_sweep(result, "local", duration, tasks, cpus, samples)


def _sweep_ray(result: Result, size: Sizes, cpus: int, rate: float, say: Callable) -> None:
    import ray

    remote = remote_versions()
    actors = [remote["Burner"].remote() for _ in range(cpus)]
    try:
        ray.get([actor.burn.remote(1) for actor in actors], timeout=WAIT_S)
        for duration, iterations, tasks, protocol in _sweep_points(size, cpus, rate,
                                                                   warm_every_point=True):
            say(f"sweep: {tasks} tasks of {duration:g} s, one process and Ray")
            samples = measure_interleaved({
                "serial": lambda _, k=iterations, n=tasks: [burn(k) for _ in range(n)],
                "ray_tasks": lambda _, k=iterations, n=tasks: ray.get(
                    [remote["burn"].remote(k) for _ in range(n)], timeout=WAIT_S),
                "ray_actors": lambda _, k=iterations, n=tasks: ray.get(
                    [actors[i % cpus].burn.remote(k) for i in range(n)], timeout=WAIT_S),
            }, protocol)
            _add_sweep(result, "ray", duration, tasks, cpus, samples)
    finally:
        for actor in actors:
            ray.kill(actor)


def _add_sweep(result: Result, phase: str, duration: float, tasks: int, cpus: int,
               samples: dict[str, list[float]]) -> None:
    # Each phase has its own serial baseline, measured interleaved with its parallel
    # versions, so every speed-up is a ratio of runs made side by side.
    for backend, backend_samples in samples.items():
        params = {"task_s": duration, "tasks": tasks, "workers": cpus, "phase": phase,
                  "backend": backend}
        result.add("sweep", params, backend_samples)
