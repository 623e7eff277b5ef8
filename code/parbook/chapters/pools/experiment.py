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
around pool creation (``values["blas_probe"]``) and the CPU counts.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parbook.bench.measure import Protocol, time_once
from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.pools import workload as work
from parbook.render import formatting, tables
from parbook.shared import cpu, run_setup
from parbook.shared.child import child_env, run_module
from parbook.sources import POOL_DEMO_ARTICLE

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
    result.values["cpu_counts"] = {
        "usable": machine_setup.cpus,
        "os_cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "process_cpu_count": (os.process_cpu_count() if hasattr(os, "process_cpu_count")
                              else None),
    }
    _demos(result, size, machine_setup)
    _sync_async(result, size, machine_setup)
    _chunksize(result, size, machine_setup)
    _executor_map(result, size, machine_setup)
    _initializer(result, size, machine_setup)
    _workers(result, size, machine_setup)
    _blas(result, size, machine_setup)
    return result


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
        work.one_answer_per_worker(pool, workers)
        return pool
    return setup


def _warm_executor(context: Any, workers: int) -> Callable[[], Any]:
    def setup() -> Any:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        list(pool.map(work.worker_pid, range(4 * workers), timeout=work.WAIT_S))
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


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def _rate(tasks: int, seconds: float) -> str:
    return f"{tasks / seconds:,.0f}"


def _threads_per_worker(answers: list[dict[str, Any]]) -> int:
    return max(answer["threads"] for answer in answers)


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    p = result.parameters
    cpus = p["cpus"]
    found: dict[str, Any] = {"cpus": cpus, "start_method": p["start_method"],
                             "start_methods": p["start_methods"],
                             "cpu_counts": result.values["cpu_counts"]}

    # The article's experiment, with what the arithmetic expects beside it.
    task_s, tasks, workers = p["sync_task_s"], p["sync_tasks"], p["sync_workers"]
    rounds = math.ceil(tasks / workers)
    found.update(
        sync_task_s=task_s, sync_tasks=tasks, sync_workers=workers, sync_rounds=rounds,
        sync_time=result.median("sync_async", how="sync"),
        async_time=result.median("sync_async", how="async"),
        map_time=result.median("sync_async", how="map"),
        sync_expected=tasks * task_s, async_expected=rounds * task_s,
    )
    found["sync_over_async"] = found["sync_time"] / found["async_time"]
    article = {row["what"]: row["value"] for row in POOL_DEMO_ARTICLE.rows}
    found["article_task_s"] = article["task_s"]
    found["article_sync_expected"] = article["tasks"] * article["task_s"]
    found["article_async_expected"] = (math.ceil(article["tasks"] / article["workers"])
                                       * article["task_s"])

    # chunksize
    chunk_tasks = p["chunk_tasks"]
    chunk = {case.params["chunksize"]: summarize(case.samples).median
             for case in result.group("chunksize")}
    pooled = {key: value for key, value in chunk.items() if key != "one_process"}
    best = min(pooled, key=pooled.get)
    found.update(
        chunk_tasks=chunk_tasks, chunk_default=p["chunk_default"], chunk_times=chunk,
        chunk_rate={key: chunk_tasks / value for key, value in chunk.items()},
        chunk_best=best, chunk_one_call=chunk["one_process"] / chunk_tasks,
        chunk_default_over_1=chunk["1"] / chunk["default"],
        chunk_pool_beats_one_process=pooled[best] < chunk["one_process"],
    )

    # executor map
    executor_tasks = p["executor_tasks"]
    executor = {case.params["how"]: summarize(case.samples).median
                for case in result.group("executor_map")}
    found.update(executor_tasks=executor_tasks, executor_chunksize=p["executor_chunksize"],
                 executor_rate={how: executor_tasks / value for how, value in executor.items()},
                 executor_chunked_over_default=executor["executor_default"]
                 / executor["executor_chunked"])

    # initializer
    setup_s = result.median("setup_alone")
    lookups = p["lookups"]
    found.update(
        init_setup=setup_s, init_lookups=lookups, init_workers=cpus,
        init_vocabulary=p["vocabulary"],
        init_per_task=result.median("initializer", how="per_task"),
        init_initializer=result.median("initializer", how="initializer"),
        init_per_task_expected=lookups * setup_s / cpus,
        init_correct=all(result.values["initializer_correct"].values()),
    )
    found["init_ratio"] = found["init_per_task"] / found["init_initializer"]

    # workers
    one = result.median("workers", how="one_process")
    speedups = {case.params["workers"]: one / summarize(case.samples).median
                for case in result.group("workers") if case.params["how"] == "pool"}
    best_workers = max(speedups, key=speedups.get)
    most = max(speedups)
    found.update(
        burn_task_s=p["burn_task_s"], burn_tasks=p["burn_tasks"], workers_one=one,
        speedups=speedups, workers_best=speedups[best_workers], workers_best_n=best_workers,
        workers_at_cpus=speedups.get(cpus, float("nan")), workers_most=most,
        workers_at_most=speedups[most],
    )

    # BLAS
    blas_default = result.median("blas", threads="default")
    blas_one = result.median("blas", threads="one")
    blas_workers = result.values["blas_workers"]
    probe = result.values["blas_probe"]
    probe_rows = {method: probe[method] for method in p["start_methods"] if method in probe}
    probe_rows["child_default"] = blas_workers["default"]
    probe_rows["child_one"] = blas_workers["one"]
    found.update(
        blas_default=blas_default, blas_one=blas_one, blas_ratio=blas_default / blas_one,
        blas_tasks=p["blas_tasks"], blas_size=p["blas_size"], blas_products=p["blas_products"],
        blas_default_threads=_threads_per_worker(blas_workers["default"]),
        blas_one_threads=_threads_per_worker(blas_workers["one"]),
        blas_parent_threads=probe["parent"]["threads"],
        blas_probe={key: {"limited": all(a["limited"] for a in answers),
                          "threads": _threads_per_worker(answers)}
                    for key, answers in probe_rows.items()},
    )
    found["blas_default_total_threads"] = found["blas_default_threads"] * cpus

    found["demos"] = result.values["demos"]
    found["demo_outcomes"] = demo_outcomes(result.values["demos"])
    return found


# ---------------------------------------------------------------------------------------
# Tables and a figure for the page, from a recorded result.


def demo_outcomes(demos: dict[str, Any]) -> pd.DataFrame:
    """One row per demonstrated behaviour, one column per start method."""
    rows: dict[str, dict[str, str]] = {}
    for method, seen in demos.items():
        naps = seen["map_naps"]
        apply = seen["apply"]
        arguments = seen["arguments"]
        same = arguments["tuple"] == arguments["starmap"] == arguments["partial"]
        early, closed, inside = seen["with_early"], seen["close_join"], seen["with_collect"]
        executor = seen["executor"]
        column = {
            "apply / apply_async + get": f"{apply['apply']} / {apply['get']}",
            "get(timeout) shorter than the task": apply.get("short_get", "returned"),
            "map and imap: input order": _yes(seen["map"]["map"] == seen["map"]["imap"] == naps),
            "imap_unordered: finishing order": _yes(seen["map"]["imap_unordered"]
                                                    == sorted(naps)),
            "tuple / starmap / partial agree": _yes(same) + f" {arguments['tuple']}",
            "map(lambda ...)": seen["lambda"].split(":", 1)[0],
            "with block left early: tasks finished": f"{early['finished']} of {early['tasks']}",
            "get(timeout) after that": early["late_get"],
            "close() + join(): tasks finished": f"{closed['finished']} of {closed['tasks']}",
            "get inside the with block: tasks finished":
                f"{inside['finished']} of {inside['tasks']}",
            "ProcessPoolExecutor: result() re-raised": executor["error"].split(":", 1)[0],
        }
        for label, cell in column.items():
            rows.setdefault(label, {})[method] = cell
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "what the demonstration showed"
    return frame


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def sync_async_table(result: Result) -> pd.DataFrame:
    """Measured medians beside what the arithmetic expects for sleeping tasks."""
    found = findings(result)
    rows = []
    for case in result.group("sync_async"):
        how = case.params["how"]
        measured = summarize(case.samples)
        expected = found["sync_expected"] if how == "sync" else found["async_expected"]
        rows.append({
            f"how the {found['sync_tasks']} tasks were sent": SYNC_LABELS[how],
            "measured (median)": tables.time_cell(measured),
            "expected": formatting.format_seconds(expected),
            "measured − expected": formatting.format_seconds(measured.median - expected),
        })
    return pd.DataFrame(rows)


def chunk_label(key: str, result: Result) -> str:
    if key == "one_process":
        return "one process, no pool"
    if key == "default":
        return f"default ({result.parameters['chunk_default']:,})"
    return f"{int(key):,}"


def chunksize_table(result: Result) -> pd.DataFrame:
    """Total time, tasks per second and speed relative to one process, per chunksize."""
    tasks = result.parameters["chunk_tasks"]
    one = result.median("chunksize", chunksize="one_process")
    rows = []
    for case in result.group("chunksize"):
        summary = summarize(case.samples)
        rows.append({
            "chunksize": chunk_label(case.params["chunksize"], result),
            "total time (median)": tables.time_cell(summary),
            "tasks per second": _rate(tasks, summary.median),
            "speed relative to one process": formatting.format_ratio(one / summary.median),
        })
    return pd.DataFrame(rows)


def executor_table(result: Result) -> pd.DataFrame:
    tasks = result.parameters["executor_tasks"]
    rows = []
    for case in result.group("executor_map"):
        summary = summarize(case.samples)
        label = EXECUTOR_LABELS[case.params["how"]]
        if case.params["how"] == "executor_chunked":
            label += f" ({result.parameters['executor_chunksize']:,})"
        rows.append({"how": label, "total time (median)": tables.time_cell(summary),
                     "tasks per second": _rate(tasks, summary.median)})
    return pd.DataFrame(rows)


def initializer_table(result: Result) -> pd.DataFrame:
    found = findings(result)
    rows = []
    for case in result.group("initializer"):
        how = case.params["how"]
        expected = (found["init_per_task_expected"] if how == "per_task"
                    else found["init_setup"])
        rows.append({
            "where the table is built": INITIALIZER_LABELS[how],
            "builds": found["init_lookups"] if how == "per_task" else found["init_workers"],
            "total time, pool start included (median)": tables.time_cell(
                summarize(case.samples)),
            "set-up time alone, spread over the workers": formatting.format_seconds(expected),
        })
    return pd.DataFrame(rows)


def workers_table(result: Result) -> pd.DataFrame:
    cpus = result.parameters["cpus"]
    one = result.median("workers", how="one_process")
    rows = []
    for case in result.group("workers"):
        summary = summarize(case.samples)
        pooled = case.params["how"] == "pool"
        workers = case.params["workers"]
        rows.append({
            "workers": f"{workers} worker{'s' if workers > 1 else ''}" if pooled
            else "one process, no pool",
            "time (median)": tables.time_cell(summary),
            "speed-up over one process": formatting.format_ratio(one / summary.median),
            "ideal": formatting.format_ratio(min(workers, cpus)) if pooled else "–",
        })
    return pd.DataFrame(rows)


def blas_probe_table(found: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for key, seen in found["blas_probe"].items():
        rows.append({"how the workers were started": BLAS_PROBE_LABELS.get(key, key),
                     "workers saw the variables = 1": _yes(seen["limited"]),
                     "threads per worker process": seen["threads"]})
    return pd.DataFrame(rows)


def blas_table(result: Result) -> pd.DataFrame:
    found = findings(result)
    cpus = found["cpus"]
    rows = []
    for case in result.group("blas"):
        threads = case.params["threads"]
        per_worker = (found["blas_default_threads"] if threads == "default"
                      else found["blas_one_threads"])
        summary = summarize(case.samples)
        rows.append({
            "BLAS threads": BLAS_LABELS[threads],
            "threads per worker": per_worker,
            "threads in all, on usable CPUs": f"{per_worker * cpus} on {cpus}",
            "time (median)": tables.time_cell(summary),
            "relative to one thread each":
                formatting.format_ratio(summary.median / found["blas_one"]),
        })
    return pd.DataFrame(rows)


def chunksize_figure(result: Result) -> Any:
    """Tasks per second against chunksize (log-log), with one process as a reference line."""
    import matplotlib.pyplot as plt

    found = findings(result)
    tasks = found["chunk_tasks"]
    rates = found["chunk_rate"]
    sizes_rates = sorted((int(key), rate) for key, rate in rates.items() if key.isdigit())
    figure, axes = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    axes.plot([c for c, _ in sizes_rates], [r for _, r in sizes_rates], marker="o",
              label=f"Pool.map on {found['cpus']} workers")
    axes.plot([found["chunk_default"]], [rates["default"]], marker="D", markersize=9,
              linestyle="none", markerfacecolor="none",
              label=f"chunksize map picks by default ({found['chunk_default']:,})")
    axes.axhline(rates["one_process"], color="0.4", linestyle="--", linewidth=1,
                 label="the same calls in one process")
    axes.set_xscale("log")
    axes.set_yscale("log")
    plain = lambda value, _pos: f"{value:,.0f}"  # noqa: E731 -- "1,000", not "10^3"
    axes.xaxis.set_major_formatter(plain)
    axes.yaxis.set_major_formatter(plain)
    axes.yaxis.set_minor_formatter(lambda value, _pos: f"{value:,.0f}"
                                   if f"{value:.0e}"[0] in "25" else "")
    axes.set_xlabel("chunksize (tasks per message)")
    axes.set_ylabel("tasks per second")
    axes.set_title(f"{tasks:,} tasks of a few microseconds each")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure
