"""joblib and Dask beside multiprocessing and Ray: the tools readers pick instead, measured.

Groups of cases in the result:

``reuse``
    Seconds for one call of ``cpus x 2`` short tasks: on a ``Pool`` made for the call
    (``new_pool``), on joblib right after its workers were shut down (``joblib_first``:
    the call starts them) and again at once (``joblib_second``). ``values["reuse"]``
    holds the PIDs each call's tasks ran in, the PIDs of joblib's workers after each of
    its calls, and its workers before and after the initialisation workload gave joblib
    an initializer (``settings_changed``).
``handoff``
    Seconds to hand one large float64 array to ``cpus`` tasks that each sum a slice of
    it: pickled into every task of a ``Pool``, memory-mapped by joblib, or copied once
    into a shared-memory block the pool's workers attached. ``values["handoff"]`` holds
    the type the array arrived as in the workers, and whether the sums equal the serial
    ones.
``results``
    joblib tasks with large results, returned as a list or as a generator: seconds until
    the first result is in hand (``first``) and until all are (``all``).
    ``values["results"]`` holds the peak memory allocated in this process while the
    results came in (``tracemalloc``), one traced run each.
``round_trip``
    Seconds per round trip of a task that returns at once: a raw ``os.pipe`` (the floor),
    ``Pool.apply``, a one-task ``joblib.Parallel`` call, a Dask future, a Ray task.
``sweep``
    Equal CPU-bound tasks of 100 us to 10 ms on ``cpus`` workers: one process, Pool.map,
    joblib with ``batch_size="auto"`` and with 1, Dask futures and Ray tasks, timed in
    turn at each task length.
``runs``
    Seconds for a whole job of article 002's three workloads (``numerical``,
    ``stateful``, ``initialisation``), six versions each (``serial``, ``pool``: the
    article's multiprocessing code, ``fair_mp``, ``joblib``, ``dask``, ``ray``), timed
    round-robin after one discarded warm-up run each. ``values["agree"]`` says whether
    each version's results equal the serial version's.
``startup``
    One sample each: starting the Dask cluster and starting Ray.

``values["dask"]`` records the cluster (its scheduler's address, its workers' PIDs, and
whether they, and every listening port of this process, were gone after it closed),
``values["purity"]`` what submitting an impure call as a pure task did, and
``values["connect"]`` what a child program that connected to the cluster through
``DASK_SCHEDULER_ADDRESS`` saw. Every multiprocessing worker
is started by a forkserver (spawn where there is none) that was started first, so nothing
is forked from this process once Dask's and Ray's threads run.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import os
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from parbook.bench.measure import Protocol, measure, measure_interleaved, time_once
from parbook.bench.results import Result
from parbook.chapters.joblib_and_dask import workload as work
from parbook.shared import article002, roundtrip, run_setup
from parbook.shared.article002 import Version, time_versions
from parbook.shared.child import child_env, run_module
from parbook.shared.cpu import burn, calibrate, iterations_for, one_blas_thread
from parbook.shared.raysession import cluster_address, describe, ray_session
from parbook.shared.shm import SharedArray


class _DaskVersions:
    """The chapter's Dask code (:mod:`.dask_versions`), imported on first use, when Dask
    runs. Importing ``distributed`` installs tblib's pickling of exceptions for the whole
    process (``tblib.pickling_support.install()`` in ``distributed.utils``): every
    exception then pickles with its traceback, and one that cannot be rebuilt from its
    ``args`` unpickles after all. A process that merely imports this chapter (a test run,
    a command that lists the chapters) must not change what another chapter's failure
    demonstrations show."""

    def __getattr__(self, name: str) -> Any:
        from parbook.chapters.joblib_and_dask import dask_versions

        return getattr(dask_versions, name)


on_dask = _DaskVersions()

NAME = "joblib-and-dask"

REUSE_LABELS = {
    "new_pool": "a new Pool for the call",
    "joblib_first": "joblib, first call (starts its workers)",
    "joblib_second": "joblib, the next call",
}
HANDOFF_LABELS = {
    "pool_pickled": "Pool, the array pickled into every task",
    "joblib_memmap": "joblib, the array memory-mapped",
    "shared_memory": "Pool, the array in shared memory (fair version)",
}
RESULT_LABELS = {"list": 'return_as="list" (the default)', "generator": 'return_as="generator"'}
CHANNEL_LABELS = {
    "os_pipe": "raw os.pipe, 1 byte (floor)",
    "pool_apply": "Pool.apply",
    "joblib_call": "joblib.Parallel, a call of one task",
    "dask": "Dask future",
    "ray": "Ray task",
}
SWEEP_LABELS = {
    "serial": "one process",
    "pool_map": "Pool.map (chunks)",
    "joblib_auto": 'joblib, batch_size="auto"',
    "joblib_one": "joblib, batch_size=1",
    "dask": "Dask futures",
    "ray": "Ray tasks",
}
WORKLOAD_LABELS = {
    "numerical": "numerical data (an image, one filter per worker)",
    "stateful": "stateful counters (popular prefixes)",
    "initialisation": "expensive initialisation (a model)",
}
VERSION_LABELS = {
    "serial": "serial",
    "pool": "Pool, the article's code",
    "fair_mp": "multiprocessing, done fairly",
    "joblib": "joblib",
    "dask": "Dask",
    "ray": "Ray",
}
STARTUP_LABELS = {
    "dask_cluster": "Dask: a LocalCluster and its client",
    "ray_init": "Ray: a local instance",
}
#: The pause in each task of the reuse calls: long enough that every worker gets a task.
REUSE_PAUSE_S = 0.01
#: Time limit of the child that connects to the cluster through DASK_SCHEDULER_ADDRESS.
CONNECT_LIMIT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    reuse_repeats: int
    handoff_bytes: int
    handoff: Protocol
    result_tasks: int
    result_bytes: int
    result_task_s: float
    result_repeats: int
    round_trips: int
    slow_round_trips: int
    latency: Protocol
    sweep_durations_s: tuple[float, ...]
    sweep_work_s: float
    sweep_max_tasks: int
    sweep: Protocol
    image_side: int
    numerical_rounds: int
    words: int
    stateful_rounds: int
    hidden: tuple[int, ...]
    batch: int
    model_rounds: int
    workload_repeats: int


FULL = Sizes(
    reuse_repeats=3,
    handoff_bytes=48 * 2**20,
    handoff=Protocol(repeats=3, warmup=1, short_min_repeats=0),
    result_tasks=16,
    result_bytes=4 * 2**20,
    result_task_s=0.01,
    result_repeats=2,
    round_trips=200,
    slow_round_trips=20,
    latency=Protocol(repeats=3, warmup=1, short_min_repeats=0),
    sweep_durations_s=(1e-4, 1e-3, 1e-2),
    sweep_work_s=0.06,
    sweep_max_tasks=200,
    sweep=Protocol(repeats=2, warmup=1, short_min_repeats=0),
    image_side=2000,
    numerical_rounds=1,
    words=4000,
    stateful_rounds=2,
    hidden=(1536, 1536),
    batch=256,
    model_rounds=2,
    workload_repeats=3,
)

QUICK = Sizes(
    reuse_repeats=1,
    handoff_bytes=16 * 2**20,
    handoff=Protocol(repeats=2, warmup=1, min_repeats=1, short_min_repeats=0),
    result_tasks=16,
    result_bytes=1 * 2**20,
    result_task_s=0.005,
    result_repeats=1,
    round_trips=50,
    slow_round_trips=10,
    latency=Protocol(repeats=1, warmup=1, min_repeats=1, short_min_repeats=0),
    sweep_durations_s=(1e-4, 1e-2),
    sweep_work_s=0.04,
    sweep_max_tasks=100,
    sweep=Protocol(repeats=1, warmup=1, min_repeats=1, short_min_repeats=0),
    image_side=500,
    numerical_rounds=1,
    words=400,
    stateful_rounds=2,
    hidden=(256, 256),
    batch=32,
    model_rounds=1,
    workload_repeats=1,
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def sweep_task_count(duration_s: float, work_s: float, workers: int, max_tasks: int) -> int:
    """Tasks at one sweep point: about ``work_s`` of serial work, at least 4 per worker."""
    return int(min(max_tasks, max(4 * workers, round(work_s / duration_s))))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    import dask
    import distributed
    import joblib

    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say, workers = machine_setup.say, machine_setup.cpus
    context = multiprocessing.get_context(article002.worker_method())
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus, workers=workers,
        default_start_method=machine_setup.start_method,
        worker_start_method=context.get_start_method(),
        reuse_tasks=2 * workers, handoff_bytes=size.handoff_bytes,
        result_tasks=size.result_tasks, result_bytes=size.result_bytes,
        result_task_s=size.result_task_s, image_side=size.image_side,
        numerical_rounds=size.numerical_rounds, words=size.words,
        word_bytes=article002.WORD_BYTES, stateful_rounds=size.stateful_rounds,
        hidden=list(size.hidden), batch=size.batch, model_rounds=size.model_rounds,
        workload_repeats=size.workload_repeats,
    )
    result.values["process"] = os.getpid()  # names joblib's and loky's /dev/shm entries
    result.values["versions"] = {"joblib": joblib.__version__, "dask": dask.__version__,
                                 "distributed": distributed.__version__}
    say(f"starting the {context.get_start_method()} server")
    work.start_worker_server(context)  # it imports its modules while this process calibrates
    rate = calibrate()
    result.values["burn_iterations_per_s"] = rate
    model_dir = Path(tempfile.mkdtemp(prefix="parbook-model-"))
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(_stop_joblib, result)
            _reuse(result, size, context, workers, say)
            _handoff(result, size, context, workers, say)
            _large_results(result, size, workers, rate, say)
            plain_pool = stack.enter_context(work.ready_pool(context, workers))
            _os_pipe_floor(result, size, say)
            client = stack.enter_context(_dask(result, size, workers, say))
            # The child that finds the cluster by its address runs while Ray starts.
            runner = stack.enter_context(ThreadPoolExecutor(max_workers=1))
            connecting = runner.submit(_connect_child, result, size,
                                       result.values["dask"]["scheduler"], rate, say)
            say("starting Ray")
            began = time.perf_counter()
            with one_blas_thread():
                ray = stack.enter_context(
                    ray_session(num_cpus=None if cluster_address() else workers))
            result.add("startup", {"what": "ray_init"}, [time.perf_counter() - began])
            connecting.result(timeout=CONNECT_LIMIT_S + 60)
            result.parameters.update(describe(ray))
            _round_trips(result, size, workers, plain_pool, client, ray, say)
            _sweep(result, size, workers, rate, plain_pool, client, ray, say)
            result.values["agree"] = {}
            _numerical(result, size, workers, context, plain_pool, client, ray, say)
            _stateful(result, size, workers, context, plain_pool, client, ray, say)
            _initialisation(result, size, workers, context, plain_pool, client, ray,
                            model_dir, say)
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    return result


def _stop_joblib(result: Result) -> None:
    work.stop_joblib_workers()
    result.values["loky_workers_left"] = len(work.loky_worker_pids())


# ---------------------------------------------------------------------------------------
# Before Dask and Ray: joblib's own features, against a Pool.


def _reuse(result: Result, size: Sizes, context: Any, workers: int,
           say: Callable[[str], None]) -> None:
    tasks = 2 * workers
    calls: dict[str, Callable[[], list[int]]] = {
        "new_pool": lambda: work.pids_from_new_pool(context, tasks, workers, REUSE_PAUSE_S),
        "joblib_first": lambda: work.pids_from_joblib(tasks, workers, REUSE_PAUSE_S),
        "joblib_second": lambda: work.pids_from_joblib(tasks, workers, REUSE_PAUSE_S),
    }
    samples: dict[str, list[float]] = {way: [] for way in calls}
    pids: dict[str, list[list[int]]] = {way: [] for way in calls}
    # The workers of joblib's executor after each of its calls: a task may not reach
    # every worker, the executor's list of processes does.
    executor: dict[str, list[list[int]]] = {way: [] for way in ("joblib_first",
                                                                "joblib_second")}
    for repeat in range(size.reuse_repeats):
        work.stop_joblib_workers()  # so that the first call below starts the workers
        for way, call in calls.items():
            say(f"reuse: {way}, {tasks} tasks (round {repeat + 1})")
            began = time.perf_counter()
            pids[way].append(sorted(set(call())))
            samples[way].append(time.perf_counter() - began)
            if way in executor:
                executor[way].append(sorted(work.loky_worker_pids()))
    for way, way_samples in samples.items():
        result.add("reuse", {"way": way, "tasks": tasks, "workers": workers}, way_samples)
    result.values["reuse"] = {"pids": pids, "executor_pids": executor}


def _handoff(result: Result, size: Sizes, context: Any, workers: int,
             say: Callable[[str], None]) -> None:
    array = np.random.default_rng(5).random(size.handoff_bytes // 8)
    expected = [float(array[start:stop].sum())
                for start, stop in work.slices(len(array), workers)]
    outputs: dict[str, list[tuple[str, float]]] = {}
    say(f"hand-off: a {size.handoff_bytes / 2**20:.0f} MiB array to {workers} tasks")
    with SharedArray(array.shape, array.dtype) as shared, \
            work.ready_pool(context, workers, work.attach, (shared,)) as pool:
        work.wait_for_workers(lambda n: work.pids_from_joblib(n, workers, REUSE_PAUSE_S),
                              workers)

        def case(way: str, call: Callable[[], list[tuple[str, float]]]) -> Callable:
            return lambda _: outputs.__setitem__(way, call())

        samples = measure_interleaved({
            "pool_pickled": case("pool_pickled",
                                 lambda: work.sums_with_pool(pool, array, workers)),
            "joblib_memmap": case("joblib_memmap",
                                  lambda: work.sums_with_joblib(array, workers)),
            "shared_memory": case("shared_memory",
                                  lambda: work.sums_with_shared_memory(pool, shared, array,
                                                                       workers)),
        }, size.handoff)
    for way, way_samples in samples.items():
        result.add("handoff", {"way": way, "bytes": array.nbytes, "tasks": workers},
                   way_samples)
    result.values["handoff"] = {
        "types": {way: sorted({kind for kind, _ in out}) for way, out in outputs.items()},
        "sums_match": all(
            all(math.isclose(total, want, rel_tol=1e-12)
                for (_, total), want in zip(out, expected, strict=True))
            for out in outputs.values()),
    }


def _large_results(result: Result, size: Sizes, workers: int, rate: float,
                   say: Callable[[str], None]) -> None:
    values = size.result_bytes // 8
    iterations = iterations_for(size.result_task_s, rate)
    expected = float(sum(range(size.result_tasks)))

    def consume(mode: str) -> tuple[float, float, float]:
        began = time.perf_counter()
        first, total = math.nan, 0.0
        for item in work.large_results(size.result_tasks, values, iterations, workers, mode):
            if math.isnan(first):
                first = time.perf_counter() - began
            total += float(item[0])
        return first, time.perf_counter() - began, total

    peaks, totals = {}, {}
    for mode in RESULT_LABELS:  # one traced run each, before the timed ones
        say(f"large results as a {mode}: memory")
        tracemalloc.start()
        try:
            _first, _all, totals[mode] = consume(mode)
            peaks[mode] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    timings: dict[str, dict[str, list[float]]] = {
        mode: {"first": [], "all": []} for mode in RESULT_LABELS}
    for repeat in range(size.result_repeats):
        for mode in RESULT_LABELS:
            say(f"large results as a {mode}: time (round {repeat + 1})")
            first, done, totals[mode] = consume(mode)
            timings[mode]["first"].append(first)
            timings[mode]["all"].append(done)
    for mode, measured in timings.items():
        for until, samples in measured.items():
            result.add("results", {"mode": mode, "until": until, "tasks": size.result_tasks},
                       samples)
    result.values["results"] = {
        "peak_bytes": peaks,
        "all_results_bytes": size.result_tasks * values * 8,
        "match": all(total == expected for total in totals.values()),
    }


def _os_pipe_floor(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    say("round trip: os.pipe (the floor)")
    with roundtrip.os_pipe_echo() as (write_fd, read_fd):
        samples = _timed_calls(lambda: (os.write(write_fd, b"x"), os.read(read_fd, 1)),
                               size.round_trips, size.latency)
    result.add("round_trip", {"channel": "os_pipe"}, samples)


def _timed_calls(call: Callable[[], Any], n: int, protocol: Protocol) -> list[float]:
    """Samples of seconds per call, each sample the mean over ``n`` back-to-back calls."""
    return [sample / n for sample in measure(lambda _: [call() for _ in range(n)], protocol)]


# ---------------------------------------------------------------------------------------
# Dask: the cluster, and a child program that finds it through DASK_SCHEDULER_ADDRESS.


@contextlib.contextmanager
def _dask(result: Result, size: Sizes, workers: int, say: Callable[[str], None]) -> Any:
    import logging

    for name in ("distributed", "tornado"):  # keep the build's log free of their chatter
        logging.getLogger(name).setLevel(logging.ERROR)
    say(f"starting a Dask LocalCluster of {workers} workers")
    began = time.perf_counter()
    record: dict[str, Any] = {}
    result.values["dask"] = record
    try:
        with on_dask.local_cluster(workers) as cluster, \
                on_dask.connected(cluster.scheduler_address) as client:
            client.wait_for_workers(workers, timeout=on_dask.CLOSE_S)
            result.add("startup", {"what": "dask_cluster"}, [time.perf_counter() - began])
            record.update(scheduler=cluster.scheduler_address,
                          worker_pids=on_dask.worker_pids(client),
                          threads=sorted(info["nthreads"] for info in client.scheduler_info(
                              n_workers=-1)["workers"].values()))
            _purity(result, client, say)
            yield client
    finally:
        record["workers_left"] = sum(1 for pid in record.get("worker_pids", [])
                                     if _alive(pid))
        # The scheduler ran in this process: nothing of it may still listen.
        record["listening_after"] = sorted(
            connection.laddr.port
            for connection in psutil.Process().net_connections(kind="inet")
            if connection.status == psutil.CONN_LISTEN)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


#: How many times the purity check submits the same impure call.
PURITY_CALLS = 4


def _purity(result: Result, client: Any, say: Callable[[str], None]) -> None:
    say(f"Dask: {PURITY_CALLS} calls of an impure function, as pure and as impure tasks")
    checked = {}
    for label, pure in (("pure", True), ("impure", False)):
        keys, values = on_dask.draws(client, PURITY_CALLS, pure)
        checked[label] = {"keys": len(set(keys)), "values": len(set(values))}
    result.values["purity"] = {"calls": PURITY_CALLS, **checked}


def _connect_child(result: Result, size: Sizes, address: str, rate: float,
                   say: Callable[[str], None]) -> None:
    iterations = iterations_for(size.sweep_durations_s[-1], rate)
    tasks = 4 * result.parameters["workers"]
    say(f"a child program finds the cluster through {on_dask.ADDRESS_VARIABLE}")
    child = run_module(on_dask.MODULE, "connect", str(iterations), str(tasks),
                       time_limit_s=CONNECT_LIMIT_S,
                       env=child_env({on_dask.ADDRESS_VARIABLE: address}))
    record: dict[str, Any] = {"returncode": child.returncode, "killed": child.killed,
                              "elapsed_s": child.elapsed_s, "tasks": tasks,
                              "task_s": size.sweep_durations_s[-1]}
    lines = child.output.strip().splitlines()
    if child.returncode == 0 and lines:
        record.update(json.loads(lines[-1]))
    else:
        record["errors"] = child.errors[-2000:]
    result.values["connect"] = record


# ---------------------------------------------------------------------------------------
# Everything running: per-task costs, the tiny-task sweep and article 002's workloads.


def _round_trips(result: Result, size: Sizes, workers: int, pool: Any, client: Any, ray: Any,
                 say: Callable[[str], None]) -> None:
    noop = work.remote_functions()["noop"]
    calls: dict[str, tuple[Callable[[], Any], int]] = {
        "pool_apply": (lambda: pool.apply_async(work.noop, (0,)).get(work.WAIT_S),
                       size.round_trips),
        "joblib_call": (lambda: work.Parallel(n_jobs=workers, timeout=work.WAIT_S)(
            [work.delayed(work.noop)(0)]), size.slow_round_trips),
        "dask": (lambda: on_dask.round_trip(client), size.slow_round_trips),
        "ray": (lambda: ray.get(noop.remote(0), timeout=work.WAIT_S), size.slow_round_trips),
    }
    for channel, (call, n) in calls.items():
        say(f"round trip: {channel}")
        result.add("round_trip", {"channel": channel}, _timed_calls(call, n, size.latency))


def _sweep(result: Result, size: Sizes, workers: int, rate: float, pool: Any, client: Any,
           ray: Any, say: Callable[[str], None]) -> None:
    matches = True
    for duration in size.sweep_durations_s:
        k = iterations_for(duration, rate)
        n = sweep_task_count(duration, size.sweep_work_s, workers, size.sweep_max_tasks)
        expected = [burn(k)] * n
        say(f"sweep: {n} tasks of {duration:g} s on every tool")
        outputs: dict[str, list[int]] = {}
        samples = measure_interleaved(
            {backend: (lambda _, b=backend, c=call, out=outputs: out.__setitem__(b, c()))
             for backend, call in _sweep_calls(k, n, workers, pool, client, ray).items()},
            size.sweep)
        matches = matches and all(out == expected for out in outputs.values())
        for backend, backend_samples in samples.items():
            result.add("sweep", {"task_s": duration, "tasks": n, "workers": workers,
                                 "backend": backend}, backend_samples)
    result.values["sweep_results_match"] = matches


def _sweep_calls(k: int, n: int, workers: int, pool: Any, client: Any,
                 ray: Any) -> dict[str, Callable[[], list[int]]]:
    """Every tool's way of running ``n`` tasks of ``burn(k)``."""
    remote_burn = work.remote_functions()["burn"]
    return {
        "serial": lambda: [burn(k) for _ in range(n)],
        "pool_map": lambda: work.burn_with_pool(pool, k, n),
        "joblib_auto": lambda: work.burn_with_joblib(k, n, workers, "auto"),
        "joblib_one": lambda: work.burn_with_joblib(k, n, workers, 1),
        "dask": lambda: on_dask.burn_with_dask(client, k, n),
        "ray": lambda: ray.get([remote_burn.remote(k) for _ in range(n)],
                               timeout=work.WAIT_S),
    }


def _numerical(result: Result, size: Sizes, workers: int, context: Any, pool: Any,
               client: Any, ray: Any, say: Callable[[str], None]) -> None:
    image = article002.make_image(size.image_side)
    filters = article002.make_filters(workers)
    rounds = size.numerical_rounds
    say(f"numerical: a {size.image_side}x{size.image_side} image, {workers} filters, "
        f"{rounds} rounds")
    with SharedArray(image.shape, image.dtype) as shared, \
            work.ready_pool(context, workers, work.attach, (shared,)) as fair_pool:
        versions = {
            "serial": Version(lambda r: work.numerical_serial(image, filters, r)),
            "pool": Version(lambda r: work.numerical_pool(pool, image, filters, r)),
            "fair_mp": Version(
                lambda r: work.numerical_shared(fair_pool, shared, image, filters, r)),
            "joblib": Version(lambda r: work.numerical_joblib(image, filters, workers, r)),
            "dask": Version(lambda r: on_dask.numerical_dask(client, image, filters, r)),
            "ray": Version(lambda r: work.numerical_ray(ray, image, filters, r)),
        }
        samples, outputs = time_versions(versions, rounds, size.workload_repeats)
        sums = {name: article002.checksum(arrays) for name, arrays in outputs.items()}
        del outputs  # Ray's results are views of its object store: let them go
    article002.add_runs(result, "numerical", workers, rounds, samples)
    result.values["agree"]["numerical"] = article002.sums_agree(sums)
    result.values["image_bytes"] = image.nbytes


def _stateful(result: Result, size: Sizes, workers: int, context: Any, pool: Any,
              client: Any, ray: Any, say: Callable[[str], None]) -> None:
    rounds = size.stateful_rounds
    documents = article002.make_documents(workers * rounds, size.words)
    say(f"stateful: {len(documents)} documents of {size.words} words on {workers} counters")

    def first(r: int) -> list[list[bytes]]:
        return documents[:r * workers]

    counters: list[work.PrefixCounter] = []
    ray_actors: list[Any] = []
    dask_actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        # Ray's actors start in the background while the other workers start here.
        stack.callback(work.kill_actors, ray, ray_actors)
        ray_actors += work.counting_actors(ray, workers)
        executors = stack.enter_context(work.counting_executors(context, workers))
        # Dropping the handles lets the workers drop the actors.
        stack.callback(dask_actors.clear)
        dask_actors += on_dask.counting_actors(client, workers)
        work.wait_until_ready(ray, ray_actors)

        def fresh_counters() -> None:
            counters[:] = [work.PrefixCounter() for _ in range(workers)]

        versions = {
            "serial": Version(lambda r: work.stateful_serial(counters, first(r)),
                              prepare=fresh_counters),
            "pool": Version(lambda r: work.stateful_carried(work.pool_round(pool), workers,
                                                            first(r))),
            "fair_mp": Version(lambda r: work.stateful_executors(executors, first(r)),
                               prepare=lambda: work.reset_executors(executors)),
            "joblib": Version(lambda r: work.stateful_carried(work.joblib_round(workers),
                                                              workers, first(r))),
            "dask": Version(lambda r: on_dask.stateful_dask(dask_actors, first(r)),
                            prepare=lambda: on_dask.reset_actors(dask_actors)),
            "ray": Version(lambda r: work.stateful_ray(ray, ray_actors, first(r)),
                           prepare=lambda: ray.get([actor.reset.remote()
                                                    for actor in ray_actors],
                                                   timeout=work.WAIT_S)),
        }
        samples, outputs = time_versions(versions, rounds, size.workload_repeats)
    article002.add_runs(result, "stateful", workers, rounds, samples)
    result.values["agree"]["stateful"] = all(out == outputs["serial"]
                                             for out in outputs.values())
    result.values["popular_prefixes"] = len(outputs["serial"])


def _initialisation(result: Result, size: Sizes, workers: int, context: Any, pool: Any,
                    client: Any, ray: Any, model_dir: Path,
                    say: Callable[[str], None]) -> None:
    path = str(model_dir / "model.npz")
    parameters = article002.save_model(Path(path), size.hidden)
    load_s = time_once(lambda _: work.load_model(path))
    result.values["model"] = {"parameters": parameters, "file_bytes": os.path.getsize(path),
                              "load_s": load_s}
    rounds = size.model_rounds
    batches = article002.make_batches(workers * rounds, size.batch)
    say(f"initialisation: {len(batches)} batches of {size.batch}, {rounds} rounds")

    def first(r: int) -> list[np.ndarray]:
        return batches[:r * workers]

    model = work.load_model(path)
    actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        # Ray's actors start in the background while the other workers start here.
        stack.callback(work.kill_actors, ray, actors)
        actors += work.classifier_actors(ray, workers, path)
        model_pool = stack.enter_context(
            work.ready_pool(context, workers, work.load_into_worker, (path,)))
        stack.enter_context(on_dask.model_plugin(client, path))
        # joblib's executor restarts with the initializer's settings: wait for it here,
        # and record that its workers are new processes.
        work.pids_from_joblib(2 * workers, workers, REUSE_PAUSE_S)
        before = work.loky_worker_pids()
        work.wait_for_workers(lambda n: work.pids_from_joblib(
            n, workers, REUSE_PAUSE_S, initializer=work.load_into_worker, initargs=(path,)),
            workers)
        result.values["reuse"]["settings_changed"] = {
            "before": sorted(before), "after": sorted(work.loky_worker_pids())}
        work.wait_until_ready(ray, actors)
        versions = {
            "serial": Version(lambda r: work.model_serial(model, first(r))),
            "pool": Version(lambda r: work.model_pool(pool, path, first(r), workers)),
            "fair_mp": Version(lambda r: work.model_initialized_pool(model_pool, first(r),
                                                                     workers)),
            "joblib": Version(lambda r: work.model_joblib(path, first(r), workers)),
            "dask": Version(lambda r: on_dask.model_dask(client, first(r), workers)),
            "ray": Version(lambda r: work.model_ray(ray, actors, first(r))),
        }
        samples, outputs = time_versions(versions, rounds, size.workload_repeats)
    article002.add_runs(result, "initialisation", workers, rounds, samples)
    result.values["agree"]["initialisation"] = min(
        article002.agreement(labels, outputs["serial"]) for labels in outputs.values())
