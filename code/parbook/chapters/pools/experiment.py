"""Pools: apply vs apply_async, chunksize, initializers, worker counts and BLAS threads.

Groups of cases in the result (every pool is created through an explicit context for the
platform's default start method, except in the demonstrations, which run under each):

``sync_async``
    Article 001's experiment: a pool of 3 workers runs 10 sleeping tasks with ``apply``
    in a loop, with ``apply_async`` then ``get``, and with one ``map``.
``chunksize``
    Many tasks of a few microseconds through ``Pool.map`` at several chunksizes and at
    the one ``map`` picks by default, beside the same calls in one process.
``executor_map``
    The same small tasks through ``ProcessPoolExecutor.map`` (default chunksize 1, and
    the chunksize ``Pool.map`` would pick) beside ``Pool.map``.
``setup_alone`` and ``initializer``
    The cost of an expensive set-up (building a lookup table), timed inside a worker
    process, and a pool job whose tasks need it: built in every task, or once per worker
    by an ``initializer``.
``workers``
    CPU-bound pure-Python tasks in one process and on pools of 1 to 2x the usable CPUs.
``blas``
    Numpy matrix products in as many worker processes as usable CPUs, with the BLAS
    thread pool at its default size and limited to one thread, each run in a child
    interpreter started with (or without) the variables set.

``values`` holds what the demonstrations returned under each start method
(``values["demos"]``), which threads the workers had when the variables were set
around pool creation (``values["blas_probe"]``) and every CPU count
(``values["cpu_counts"]``: ``os.cpu_count()``, ``os.process_cpu_count()``, the affinity
mask, the cgroup quota, the override variable and option, the count ``Pool()`` uses by
default, and what child interpreters started with the override reported).
"""

from __future__ import annotations

import json
import multiprocessing
import platform
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, time_once
from parbook.bench.results import Result
from parbook.chapters.pools import workload as work
from parbook.shared import cpu, run_setup
from parbook.shared.child import child_env, run_module

NAME = "pools"
MODULE = "parbook.chapters.pools.workload"

SYNC_LABELS = {
    "sync": "apply in a loop (synchronous)",
    "async": "apply_async, then get (asynchronous)",
    "map": "one map call",
}
#: Article 001's demonstration: a pool of 3 workers and 10 tasks.
SYNC_WORKERS = 3
SYNC_TASKS = 10
CHUNKSIZES = (1, 10, 100, 1000)
EXECUTOR_LABELS = {
    "pool_map": "Pool.map, default chunksize",
    "executor_default": "ProcessPoolExecutor.map, default chunksize (1)",
    "executor_chunked": "ProcessPoolExecutor.map, chunksize as Pool.map picks",
}
INITIALIZER_LABELS = {
    "per_task": "every task builds the table",
    "initializer": "initializer builds it once per worker",
}
BLAS_LABELS = {
    "default": "BLAS threads at their default",
    "one": "one BLAS thread per worker",
}
BLAS_PROBE_LABELS = {
    "fork": "fork pool, variables set around its creation",
    "spawn": "spawn pool, variables set around its creation",
    "forkserver": "forkserver pool (server already running), variables set around it",
    "child_default": "child interpreter started without the variables",
    "child_one": "child interpreter started with the variables = 1",
}
DEMO_TIME_LIMIT_S = 120.0
BLAS_TIME_LIMIT_S = 240.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    demo_nap_s: float
    sync_task_s: float
    sync: Protocol
    chunk_tasks: int
    chunk: Protocol
    executor_tasks: int
    executor: Protocol
    vocabulary: int
    lookups_per_worker: int
    initializer: Protocol
    burn_task_s: float
    burn_tasks_per_cpu: int
    burn_total_s: float
    workers: Protocol
    blas_size: int
    blas_products: int
    blas_tasks_per_worker: int
    blas_children: int
    blas_repeats: int


FULL = Sizes(demo_nap_s=0.05, sync_task_s=0.04, sync=Protocol(repeats=5, warmup=0),
             chunk_tasks=10_000, chunk=Protocol(repeats=3, warmup=0),
             executor_tasks=2000, executor=Protocol(repeats=3, warmup=0),
             vocabulary=100_000, lookups_per_worker=4, initializer=Protocol(repeats=5, warmup=1),
             burn_task_s=0.01, burn_tasks_per_cpu=12, burn_total_s=1.0,
             workers=Protocol(repeats=4, warmup=0),
             blas_size=200, blas_products=4, blas_tasks_per_worker=2, blas_children=2,
             blas_repeats=3)
QUICK = Sizes(demo_nap_s=0.02, sync_task_s=0.02, sync=Protocol(repeats=2, warmup=0),
              chunk_tasks=2000, chunk=Protocol(repeats=2, warmup=0),
              executor_tasks=500, executor=Protocol(repeats=2, warmup=0),
              vocabulary=50_000, lookups_per_worker=3, initializer=Protocol(repeats=2, warmup=0),
              burn_task_s=0.004, burn_tasks_per_cpu=6, burn_total_s=0.2,
              workers=Protocol(repeats=2, warmup=0),
              blas_size=160, blas_products=3, blas_tasks_per_worker=2, blas_children=1,
              blas_repeats=2)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def worker_counts(cpus: int) -> list[int]:
    """Pool sizes from 1 to twice the usable CPUs: every one on small machines, a spread on big."""
    if cpus <= 4:
        return list(range(1, 2 * cpus + 1))
    return sorted({1, 2, cpus // 2, cpus - 1, cpus, cpus + 1, (3 * cpus) // 2, 2 * cpus})


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus=machine_setup.cpus, start_method=machine_setup.start_method,
        start_methods=multiprocessing.get_all_start_methods(),
        sync_workers=SYNC_WORKERS, sync_tasks=SYNC_TASKS, sync_task_s=size.sync_task_s,
        chunk_tasks=size.chunk_tasks, chunk_workers=machine_setup.cpus,
        chunk_default=work.default_chunksize(size.chunk_tasks, machine_setup.cpus),
        executor_tasks=size.executor_tasks,
        executor_chunksize=work.default_chunksize(size.executor_tasks, machine_setup.cpus),
        vocabulary=size.vocabulary, lookups=size.lookups_per_worker * machine_setup.cpus,
        burn_task_s=size.burn_task_s, burn_tasks=size.burn_tasks_per_cpu * machine_setup.cpus,
        blas_size=size.blas_size, blas_products=size.blas_products,
        blas_tasks=size.blas_tasks_per_worker * machine_setup.cpus,
        demo_nap_s=size.demo_nap_s,
    )
    _cpu_counts(result, machine_setup)
    _demos(result, size, machine_setup)
    _sync_async(result, size, machine_setup)
    _chunksize(result, size, machine_setup)
    _executor_map(result, size, machine_setup)
    _initializer(result, size, machine_setup)
    _workers(result, size, machine_setup)
    _blas(result, size, machine_setup)
    return result


def _cpu_counts(result: Result, machine_setup: run_setup.RunSetup) -> None:
    """Every CPU count, the one Pool() uses by default, and whether the override reaches a
    child interpreter: the override is one more than the machine's count, so the child's
    answer shows which count it gave."""
    machine_setup.say("CPU counts, and PYTHON_CPU_COUNT in a child interpreter")
    counts = work.cpu_counts()
    result.values["cpu_counts"] = {
        **counts,
        "usable": machine_setup.cpus,
        "python_version": platform.python_version(),
        "default_pool_count": work.default_pool_count(),
        "override": work.counts_under_override((counts["os_cpu_count"] or 1) + 1),
    }


def _interleaved(cases: dict[str, tuple[Callable[[Any], Any], Callable[[], Any] | None,
                                        Callable[[Any], None] | None]],
                 protocol: Protocol) -> dict[str, list[float]]:
    """Like :func:`measure_interleaved`, with an untimed set-up and tear-down per sample.

    Each sample gets a fresh pool from its set-up, so no two pools ever exist at once
    (forking while another pool's helper threads run is what the start-methods chapter
    warns against).
    """
    for _ in range(protocol.warmup):
        for case, setup, teardown in cases.values():
            time_once(case, setup, teardown)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(protocol.repeats):
        for name, (case, setup, teardown) in cases.items():
            samples[name].append(time_once(case, setup, teardown))
    return samples


def _warm_pool(context: Any, workers: int) -> Callable[[], Any]:
    """A set-up that creates a pool and waits until every worker has started."""
    def setup() -> Any:
        pool = context.Pool(processes=workers)
        try:
            work.one_answer_per_worker(pool, workers)
        except BaseException:  # the measurement never gets the pool to close: close it here
            pool.terminate()
            raise
        return pool
    return setup


def _warm_executor(context: Any, workers: int) -> Callable[[], Any]:
    def setup() -> Any:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            list(pool.map(work.worker_pid, range(4 * workers), timeout=work.WAIT_S))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        return pool
    return setup


def _close(pool: Any) -> None:
    if isinstance(pool, ProcessPoolExecutor):
        pool.shutdown(wait=True, cancel_futures=True)
    else:
        pool.terminate()
        pool.join()


def _demos(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    demos: dict[str, Any] = {}
    for method in multiprocessing.get_all_start_methods():
        machine_setup.say(f"demonstrations under {method}")
        child = run_module(MODULE, "demos", method, str(size.demo_nap_s),
                           time_limit_s=DEMO_TIME_LIMIT_S)
        demos[method] = _parse_child(child, f"demos under {method}")
    result.values["demos"] = demos


def _parse_child(child: Any, what: str) -> Any:
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode}, killed={child.killed}):\n"
                           f"{child.errors[-3000:]}")
    return json.loads(child.output.strip().splitlines()[-1])


def _sync_async(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    tasks, seconds = SYNC_TASKS, size.sync_task_s
    machine_setup.say(f"sync vs async: {tasks} tasks of {seconds} s on {SYNC_WORKERS} workers")
    setup = _warm_pool(machine_setup.context, SYNC_WORKERS)
    runners = {"sync": work.run_synchronously, "async": work.run_asynchronously,
               "map": work.run_with_map}
    cases = {how: ((lambda pool, runner=runner: runner(pool, tasks, seconds)), setup, _close)
             for how, runner in runners.items()}
    for how, samples in _interleaved(cases, size.sync).items():
        result.add("sync_async", {"how": how, "tasks": tasks, "workers": SYNC_WORKERS,
                                  "task_s": seconds}, samples)


def _chunksize(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    tasks, workers = size.chunk_tasks, machine_setup.cpus
    machine_setup.say(f"chunksize: {tasks} small tasks on {workers} workers")
    setup = _warm_pool(machine_setup.context, workers)
    cases: dict[str, Any] = {
        "one_process": ((lambda _: work.small_tasks_in_one_process(tasks)), None, None)}
    for chunksize in (*CHUNKSIZES, None):
        cases[str(chunksize or "default")] = (
            (lambda pool, c=chunksize: work.map_small_tasks(pool, tasks, c)), setup, _close)
    for key, samples in _interleaved(cases, size.chunk).items():
        result.add("chunksize", {"chunksize": key, "tasks": tasks, "workers": workers}, samples)


def _executor_map(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    tasks, workers = size.executor_tasks, machine_setup.cpus
    chunked = work.default_chunksize(tasks, workers)
    machine_setup.say(f"executor map: {tasks} small tasks on {workers} workers")
    pool_setup = _warm_pool(machine_setup.context, workers)
    executor_setup = _warm_executor(machine_setup.context, workers)
    cases = {
        "pool_map": ((lambda pool: work.map_small_tasks(pool, tasks, None)), pool_setup, _close),
        "executor_default": ((lambda pool: work.map_small_tasks(pool, tasks, 1)),
                             executor_setup, _close),
        "executor_chunked": ((lambda pool: work.map_small_tasks(pool, tasks, chunked)),
                             executor_setup, _close),
    }
    for how, samples in _interleaved(cases, size.executor).items():
        result.add("executor_map", {"how": how, "tasks": tasks, "workers": workers}, samples)


def _initializer(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    workers, vocabulary = machine_setup.cpus, size.vocabulary
    lookups = size.lookups_per_worker * workers
    words = work.words_to_look_up(lookups, vocabulary)
    machine_setup.say(f"set-up alone: a table of {vocabulary} words, timed in a worker")
    with machine_setup.context.Pool(processes=1) as pool:
        work.one_answer_per_worker(pool, 1)
        samples = [pool.apply(work.time_vocabulary_build, (vocabulary,))
                   for _ in range(size.initializer.warmup + size.initializer.repeats)]
    result.add("setup_alone", {"vocabulary": vocabulary},
               samples[size.initializer.warmup:])
    machine_setup.say(f"initializer: {lookups} lookups on {workers} workers")
    context = machine_setup.context
    expected = [int(word[5:]) for word in words]
    checks: dict[str, bool] = {}

    def per_task(_: Any) -> None:
        checks["per_task"] = work.look_up_building_per_task(
            context, workers, words, vocabulary) == expected

    def with_initializer(_: Any) -> None:
        checks["initializer"] = work.look_up_with_initializer(
            context, workers, words, vocabulary) == expected

    cases = {"per_task": (per_task, None, None), "initializer": (with_initializer, None, None)}
    for how, samples in _interleaved(cases, size.initializer).items():
        result.add("initializer", {"how": how, "lookups": lookups, "workers": workers,
                                   "vocabulary": vocabulary}, samples)
    result.values["initializer_correct"] = checks


def _workers(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    cpus = machine_setup.cpus
    tasks = size.burn_tasks_per_cpu * cpus
    # Shorter tasks on big machines, so the one-process reference stays short too.
    task_s = min(size.burn_task_s, size.burn_total_s / tasks)
    iterations = cpu.iterations_for(task_s, cpu.calibrate())
    result.parameters.update(burn_task_s=task_s, burn_iterations=iterations)
    machine_setup.say(f"workers: {tasks} CPU-bound tasks on 1..{2 * cpus} workers")
    cases: dict[str, Any] = {
        "one_process": ((lambda _: work.burn_in_one_process(iterations, tasks)), None, None)}
    for count in worker_counts(cpus):
        cases[str(count)] = ((lambda pool: work.burn_on_pool(pool, iterations, tasks)),
                             _warm_pool(machine_setup.context, count), _close)
    for key, samples in _interleaved(cases, size.workers).items():
        if key == "one_process":
            result.add("workers", {"how": "one_process", "workers": 1, "tasks": tasks}, samples)
        else:
            result.add("workers", {"how": "pool", "workers": int(key), "tasks": tasks},
                       samples)


def _blas(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    workers = machine_setup.cpus
    machine_setup.say("BLAS: which workers see variables set around pool creation")
    clean = work.without_blas_variables(child_env())
    probe = run_module(MODULE, "blas-probe", "1", time_limit_s=BLAS_TIME_LIMIT_S,
                       env=clean)
    result.values["blas_probe"] = _parse_child(probe, "blas-probe")
    environments = {"default": clean, "one": {**clean, **dict.fromkeys(work.BLAS_VARIABLES, "1")}}
    tasks = size.blas_tasks_per_worker * workers
    args = [machine_setup.start_method, str(workers), str(tasks), str(size.blas_size),
            str(size.blas_products), str(size.blas_repeats)]
    samples: dict[str, list[float]] = {threads: [] for threads in environments}
    answers: dict[str, list[dict[str, Any]]] = {}
    for round_number in range(size.blas_children):
        for threads, env in environments.items():  # interleaved, one child at a time
            machine_setup.say(f"BLAS: {tasks} matrix-product tasks, {threads} threads "
                              f"(round {round_number + 1})")
            child = run_module(MODULE, "blas-time", *args, time_limit_s=BLAS_TIME_LIMIT_S,
                               env=env)
            timed = _parse_child(child, f"blas-time ({threads})")
            samples[threads].extend(timed["samples"])
            answers.setdefault(threads, timed["workers"])
    for threads, values in samples.items():
        result.add("blas", {"threads": threads, "workers": workers, "tasks": tasks}, values)
    result.values["blas_workers"] = answers
