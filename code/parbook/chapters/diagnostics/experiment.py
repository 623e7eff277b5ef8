"""Diagnostics: timelines of real runs, a hung pool diagnosed, and BLAS oversubscription.

Groups of cases in the result:

``timeline``
    Seconds from calling ``map`` on a pool whose workers have all started to having every
    result, for each run whose timeline the page draws: many tiny CPU-bound tasks with
    ``chunksize=1`` and with the chunksize ``map`` picks (``chunk_1``, ``chunk_default``);
    equal sleeping tasks (``even``); the same sleep with one long task sent last
    (``straggler_last``) and first (``longest_first``). The runs take turns.
    ``values["timelines"][RUN]`` holds the rows of the run whose time was the median:
    ``[worker, start, end]`` in microseconds since the run began (workers numbered in the
    order they started), with the run's span, its chunksize, and the pool's start-up (from
    creating it until every worker had run its initializer), which the rows leave out.
``ray_init`` and ``ray_timeline``
    Seconds to start Ray, and from submitting the equal tasks as Ray tasks to having every
    result; ``values["timelines"]["ray"]`` holds their rows, read from ``ray.timeline()``,
    and ``values["ray"]`` how many tasks were submitted and found in the trace.
``hang``
    Seconds the hung program ran before its time limit stopped it. ``values["hang"]``
    holds what it wrote to stderr (the faulthandler dump), the workers' pids, what
    ``py-spy dump`` said about each worker, and what decides ptrace permission here.
``blas_wall``, ``blas_switches`` and ``blas_cpu``
    Matrix-product tasks on one worker per usable CPU, with the BLAS library's default
    threads and limited to one by ``threadpoolctl`` in the pool's initializer, each run in
    a child interpreter started without the BLAS variables, the two taking turns: wall
    time, the workers' involuntary context switches (all threads) and their CPU time.
    ``values["blas"][THREADS]`` holds every worker's report (BLAS library and threads).
"""

from __future__ import annotations

import json
import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.diagnostics import workload as work
from parbook.shared import run_setup
from parbook.shared.child import ChildRun, child_env, run_module
from parbook.shared.cpu import BLAS_VARIABLES, burn, calibrate, iterations_for
from parbook.shared.raysession import describe, ray_session

NAME = "diagnostics"

RUN_LABELS = {
    "chunk_1": "chunksize=1",
    "chunk_default": "chunksize map picks",
    "even": "equal tasks",
    "straggler_last": "one long task, sent last",
    "longest_first": "the same tasks, longest first",
    "ray": "equal tasks on Ray",
}
CHUNK_RUNS = ("chunk_1", "chunk_default")
STRAGGLER_RUNS = ("even", "straggler_last", "longest_first")
BLAS_LABELS = {
    "default": "library's default",
    "one": "threadpool_limits(1)",
}
#: Workers of the timeline runs: the usable CPUs, but at least two (one worker has no
#: one to leave idle) and at most four (more rows would not stay readable).
TIMELINE_WORKERS = (2, 4)
#: The hung program: two workers, eight items (one of which hangs), and its time limit.
HANG_WORKERS = 2
HANG_ITEMS = 8
#: How long after the workers started to run py-spy: the stuck task has begun by then.
DUMP_AFTER_S = 0.5
#: Limits on the oversubscription children.
BLAS_TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: repeat counts and limits, never the code path."""

    tiny_task_s: float
    tiny_tasks_per_worker: int
    short_task_s: float
    shorts_per_worker: int
    timeline_repeats: int
    hang_limit_s: float
    blas_size: int
    blas_products: int
    blas_tasks_per_worker: int
    blas_pairs: int


FULL = Sizes(tiny_task_s=50e-6, tiny_tasks_per_worker=120, short_task_s=0.01,
             # The hung program runs into its limit every time, so the limit is what the
             # demonstration costs: enough for the pool to start, the watchdog (1 s) to
             # print and py-spy to read both workers, with room to spare.
             shorts_per_worker=6, timeline_repeats=5, hang_limit_s=3.0,
             blas_size=500, blas_products=4, blas_tasks_per_worker=4, blas_pairs=3)
QUICK = Sizes(tiny_task_s=50e-6, tiny_tasks_per_worker=120, short_task_s=0.01,
              shorts_per_worker=6, timeline_repeats=3, hang_limit_s=5.0,
              blas_size=400, blas_products=4, blas_tasks_per_worker=3, blas_pairs=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def timeline_workers(cpus: int) -> int:
    """How many workers the timeline runs use on a machine with ``cpus`` usable CPUs."""
    low, high = TIMELINE_WORKERS
    return max(low, min(cpus, high))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result.

    Everything that forks comes first (the pools), then the child interpreters, and Ray
    last, so that nothing is forked while Ray's threads run.
    """
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    result = Result(experiment=NAME, quick=quick)
    workers = timeline_workers(machine_setup.cpus)
    result.parameters.update(
        cpus=machine_setup.cpus, start_method=machine_setup.start_method,
        timeline_workers=workers, tiny_task_s=size.tiny_task_s,
        tiny_tasks=size.tiny_tasks_per_worker * workers, short_task_s=size.short_task_s,
        shorts=size.shorts_per_worker * workers,
        long_task_s=size.short_task_s * size.shorts_per_worker,
        even_tasks=size.shorts_per_worker * (workers + 1),
        chunk_default=work.default_chunksize(size.tiny_tasks_per_worker * workers, workers),
        timeline_repeats=size.timeline_repeats,
        hang_workers=HANG_WORKERS, hang_items=HANG_ITEMS, stuck_item=work.STUCK_ITEM,
        watchdog_s=work.WATCHDOG_S, hang_limit_s=size.hang_limit_s,
        blas_workers=machine_setup.cpus,
        blas_tasks=size.blas_tasks_per_worker * machine_setup.cpus,
        blas_size=size.blas_size, blas_products=size.blas_products,
    )
    result.values["clock"] = time.get_clock_info("monotonic").implementation
    rate = calibrate()
    result.values["burn_iterations_per_s"] = rate
    tasks = task_lists(size, workers, rate)
    _pool_timelines(result, size, machine_setup, workers, tasks)
    _limit_under_every_start_method(result, machine_setup)
    _hung_pool(result, size, machine_setup)
    _oversubscription(result, size, machine_setup)
    _ray(result, machine_setup, workers, tasks["even"])
    return result


def task_lists(size: Sizes, workers: int, rate: float
               ) -> dict[str, tuple[Callable[[Any], Any], list[Any]]]:
    """The task and its arguments for each timeline run. The tiny tasks compute (burn
    iterations); the others sleep, so that only the way they are spread over the workers
    decides their timelines, not other programs on the machine. The three straggler runs
    do the same total work: short tasks plus one as long as a worker's share of them, or
    that much work cut into equal short tasks."""
    tiny = iterations_for(size.tiny_task_s, rate)
    short, long = size.short_task_s, size.short_task_s * size.shorts_per_worker
    shorts = [short] * (size.shorts_per_worker * workers)
    return {
        "chunk_1": (burn, [tiny] * (size.tiny_tasks_per_worker * workers)),
        "chunk_default": (burn, [tiny] * (size.tiny_tasks_per_worker * workers)),
        "even": (work.sleep_for, [short] * (size.shorts_per_worker * (workers + 1))),
        "straggler_last": (work.sleep_for, [*shorts, long]),
        "longest_first": (work.sleep_for, [long, *shorts]),
    }


def _pool_timelines(result: Result, size: Sizes, machine_setup: run_setup.RunSetup,
                    workers: int,
                    tasks: dict[str, tuple[Callable[[Any], Any], list[Any]]]) -> None:
    chunksizes = {run: 1 for run in tasks}
    chunksizes["chunk_default"] = result.parameters["chunk_default"]
    runs: dict[str, list[work.Timeline]] = {run: [] for run in tasks}
    for repeat in range(size.timeline_repeats):  # the runs take turns
        for run, (task, arguments) in tasks.items():
            machine_setup.say(f"timeline {run} ({len(arguments)} tasks, {workers} workers, "
                              f"round {repeat + 1})")
            runs[run].append(work.pool_timeline(machine_setup.context, workers, task,
                                                arguments, chunksizes[run]))
    timelines = result.values.setdefault("timelines", {})
    for run, made in runs.items():
        spans = [timeline.ended - timeline.began for timeline in made]
        result.add("timeline", {"run": run, "tasks": len(tasks[run][1]), "workers": workers},
                   spans)
        timelines[run] = median_run(made).compact()


def median_run(timelines: list[work.Timeline]) -> work.Timeline:
    """The run whose span is the median (the lower middle one of an even count)."""
    ordered = sorted(timelines, key=lambda timeline: timeline.ended - timeline.began)
    return ordered[(len(ordered) - 1) // 2]


def _hung_pool(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    """Start the hung program in a child interpreter with a time limit; once its workers
    are up, read their stacks with py-spy; the limit then stops it."""
    machine_setup.say(f"hung pool: limit {size.hang_limit_s:g} s, then py-spy on its workers")
    with tempfile.TemporaryDirectory(prefix="parbook-hang-") as folder:
        pid_file = Path(folder) / "worker-pids"
        with ThreadPoolExecutor(max_workers=1) as runner:
            hung = runner.submit(run_module, work.MODULE, "hang", machine_setup.start_method,
                                 str(HANG_WORKERS), str(HANG_ITEMS), str(pid_file),
                                 time_limit_s=size.hang_limit_s)
            pids = work.wait_for_pids(pid_file, HANG_WORKERS, size.hang_limit_s)
            time.sleep(DUMP_AFTER_S)
            dumps = {str(pid): _dump_record(work.py_spy_dump(pid)) for pid in pids}
            child: ChildRun = hung.result()
    result.add("hang", {"limit_s": size.hang_limit_s}, [child.elapsed_s])
    result.values["hang"] = {
        "child": {key: value for key, value in child.as_dict().items() if key != "output"},
        "output": child.output[-2000:],
        "pids": pids,
        "py_spy": dumps,
        "py_spy_found": work.py_spy_binary() is not None,
        "ptrace": work.ptrace_permission(),
    }


def _dump_record(dump: ChildRun | None) -> dict[str, Any] | None:
    if dump is None:
        return None
    return {"returncode": dump.returncode, "killed": dump.killed,
            "output": dump.output[-6000:], "errors": dump.errors[-2000:]}


def _oversubscription(result: Result, size: Sizes,
                      machine_setup: run_setup.RunSetup) -> None:
    workers = machine_setup.cpus
    tasks = size.blas_tasks_per_worker * workers
    clean = {name: value for name, value in child_env().items() if name not in BLAS_VARIABLES}
    limits = {"default": "default", "one": "1"}
    runs: dict[str, list[dict[str, Any]]] = {threads: [] for threads in limits}
    for pair in range(size.blas_pairs):
        for threads, limit in limits.items():  # the two take turns, one child at a time
            machine_setup.say(f"oversubscription: {tasks} matrix tasks on {workers} workers, "
                              f"BLAS threads {threads} (round {pair + 1})")
            child = run_module(work.MODULE, "oversubscribe", machine_setup.start_method,
                               str(workers), str(tasks), str(size.blas_size),
                               str(size.blas_products), limit,
                               time_limit_s=BLAS_TIME_LIMIT_S, env=clean)
            runs[threads].append(_parse_child(child, f"oversubscribe ({threads})"))
    for threads, made in runs.items():
        params = {"threads": threads, "workers": workers, "tasks": tasks}
        result.add("blas_wall", params, [run["wall_s"] for run in made])
        result.add("blas_switches", params,
                   [sum(w["involuntary"] for w in run["workers"]) for run in made],
                   unit="switches")
        result.add("blas_cpu", params, [sum(w["cpu_s"] for w in run["workers"])
                                        for run in made])
    result.values["blas"] = {threads: made[-1]["workers"] for threads, made in runs.items()}


def _limit_under_every_start_method(result: Result,
                                    machine_setup: run_setup.RunSetup) -> None:
    """Whether ``limit_blas_threads`` in an initializer caps the workers' BLAS threads under
    every start method, in a parent that has numpy loaded and used with its default threads
    (a fork inherits the parent's library as it is; spawn and forkserver load it afresh)."""
    import numpy as np

    np.ones((64, 64)) @ np.ones((64, 64))  # the parent's library starts its threads
    parent = max((pool["threads"] for pool in work.blas_threads()), default=0)
    limited = {}
    for method in multiprocessing.get_all_start_methods():
        machine_setup.say(f"oversubscription: the initializer's limit under {method}")
        limited[method] = max((pool["threads"] for pool in work.limited_threads_under(method)),
                              default=0)
    result.values["blas_limit"] = {"parent": parent, "limited": limited}


def _parse_child(child: ChildRun, what: str) -> Any:
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode}, killed={child.killed}):\n"
                           f"{child.errors[-3000:]}")
    return json.loads(child.output.strip().splitlines()[-1])


def _ray(result: Result, machine_setup: run_setup.RunSetup, workers: int,
         tasks: tuple[Callable[[Any], Any], list[Any]]) -> None:
    machine_setup.say("starting Ray")
    began = time.perf_counter()
    with ray_session(num_cpus=workers) as ray:
        result.add("ray_init", {}, [time.perf_counter() - began])
        result.parameters.update(describe(ray))
        machine_setup.say(f"Ray: {len(tasks[1])} equal tasks, then its timeline")
        timeline, submitted = work.ray_timeline(ray, workers, *tasks)
    result.add("ray_timeline", {"tasks": submitted}, [timeline.ended - timeline.began])
    result.values.setdefault("timelines", {})["ray"] = timeline.compact()
    result.values["ray"] = {"submitted": submitted, "found": len(timeline.rows),
                            "workers_seen": len({row[0] for row in timeline.rows})}
