"""Pitfalls: four bugs reproduced under every start method, and two design rules measured.

The demonstrations run under each start method of ``multiprocessing.get_all_start_methods()``,
each method's in a child interpreter with a time limit, and are stored as data in ``values``:

``values["hand_over"]``
    An environment that holds a socket, handed to a worker as an instance (in Process
    arguments, through ``Pool.map``, inside a wrapper that pickles like a vectorised-env
    library) and as a factory: whether the worker ran, on which connection, or the error.
``values["counters"]``
    Ports numbered from a class-level counter, from explicit ranks and from a shared
    ``Value``, by the parent and by several workers: who counted what.
``values["notebook"]``
    A worker function defined in a ``python -c`` program (a ``__main__`` with no file, as
    in a notebook) and the same program importing it: the child interpreter's output,
    errors and whether it was killed at its time limit.
``values["tasks"]``
    A lambda and a local function as Pool tasks, a lambda as a Process target, and
    ``functools.partial`` of a module-level function: the result or the error.

Groups of measured cases:

``notebook_cell``
    Wall time of each notebook-cell child (bounded by its time limit).
``main_light``
    Seconds to run the same CPU-bound tasks on a pool of one worker per CPU while the
    parent only dispatches, while it also computes between dispatches, and (with two or
    more CPUs) while it computes beside one worker fewer; and the parent's work alone.
    ``main_light_parent_work`` holds the wall time of the parent's own work in each run,
    ``values["main_light_runs"]`` the workers' wall and CPU time inside tasks.
``idle``
    Seconds to run a few long tasks among many short ones (tasks that sleep, so that only
    how they are spread over workers counts) with ``map`` cut into one chunk per worker,
    ``map`` with its default chunk size, and ``imap_unordered`` one task at a time.
    ``values["idle_runs"]`` holds each run's workers' busy time and idle share.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.pitfalls import workload as work
from parbook.shared import run_setup
from parbook.shared.child import interruptible_children
from parbook.shared.cpu import calibrate, iterations_for

NAME = "pitfalls"

HAND_OVER_LABELS = {
    "instance_process": "env instance in Process(args=...)",
    "instance_pool": "env instance through Pool.map",
    "instance_library": "env instance in a wrapper that pickles (as vector-env libraries do)",
    "factory_library": "fix: env factory in that wrapper",
    "factory_pool": "fix: env factory through Pool.map",
}
TASK_LABELS = {
    "lambda_pool": "lambda as a Pool task",
    "local_pool": "local (nested) function as a Pool task",
    "lambda_process": "lambda as a Process target",
    "partial_pool": "fix: functools.partial of a module-level function",
}
NOTEBOOK_LABELS = {
    "defined_in_main": "worker function defined in a notebook-like __main__",
    "imported": "fix: worker function imported from a module",
}
COUNTER_LABELS = {
    "class_counter": "class-level counter",
    "ranks": "fix 1: explicit ranks",
    "shared_value": "fix 2: shared Value with its lock",
}
MAIN_LIGHT_LABELS = {
    "dispatch_only": "parent only dispatches and waits",
    "busy_parent": "parent also computes between dispatches",
    "busy_parent_fewer_workers": "parent computes, one worker fewer",
    "parent_alone": "the parent's own work alone, no pool",
}
IDLE_LABELS = {
    "map_one_chunk_each": "map, one chunk per worker",
    "map_default": "map, default chunksize",
    "imap_unordered": "imap_unordered, chunksize=1",
}
#: What the socket-holding environment's error says, whichever way it is pickled.
SOCKET_ERROR = "cannot pickle 'socket' object"
#: The start method under which a Process's target and arguments are never pickled.
FORK = "fork"
#: Workers and environments per worker in the counter demo.
COUNTER_WORKERS = 3
ENVS_PER_WORKER = 2


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    notebook_limit_s: float
    task_s: float
    tasks_per_cpu: int
    main_light: Protocol
    long_task_s: float
    short_task_s: float
    short_tasks_per_cpu: int
    idle: Protocol


FULL = Sizes(notebook_limit_s=4.0, task_s=0.005, tasks_per_cpu=20,
             main_light=Protocol(repeats=5, warmup=1), long_task_s=0.06,
             short_task_s=0.005, short_tasks_per_cpu=10, idle=Protocol(repeats=5, warmup=1))
QUICK = Sizes(notebook_limit_s=4.0, task_s=0.005, tasks_per_cpu=10,
              main_light=Protocol(repeats=2, warmup=1), long_task_s=0.06,
              short_task_s=0.005, short_tasks_per_cpu=10, idle=Protocol(repeats=2, warmup=1))


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every demonstration and measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say = machine_setup.say
    methods = multiprocessing.get_all_start_methods()
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus, start_method=machine_setup.start_method,
        start_methods=list(methods), notebook_limit_s=size.notebook_limit_s,
        counter_workers=COUNTER_WORKERS, envs_per_worker=ENVS_PER_WORKER,
    )
    # Child interpreters first, from helper threads that are gone before anything forks.
    with interruptible_children():
        _child_demos(result, size, methods, say)
    # The page describes what every demonstration did; a run in which one did something
    # else must fail the build rather than publish a page that says otherwise.
    problems = broken_promises(result)
    if problems:
        raise RuntimeError("demonstrations that did not do what the page says:\n"
                           + "\n".join(problems))
    rate = calibrate()
    _main_light(result, size, machine_setup, rate, say)
    _idle(result, size, machine_setup, say)
    return result


def _child_demos(result: Result, size: Sizes, methods: list[str],
                 say: Callable[[str], None]) -> None:
    """Every demo that needs processes, each in a child interpreter, overlapped.

    They are independent and mostly wait (a broken notebook cell hangs until its limit),
    so the demos and the first notebook cell of each method run together, and the second
    cells start when the demos are done: this costs about the longest of them, not the
    sum, without crowding every interpreter onto the CPUs at once.
    """
    result.values["plain_pickle"] = work.plain_pickle_error()
    result.values["pickle_errors"] = work.pickle_errors()
    first, *rest = work.NOTEBOOK_CELLS
    say(f"demos and notebook cells (limit {size.notebook_limit_s} s) "
        f"under {', '.join(methods)}")
    cells: dict[tuple[str, str], Any] = {}
    with ThreadPoolExecutor(max_workers=len(methods) * (1 + len(work.NOTEBOOK_CELLS))) as pool:
        demos = [pool.submit(work.run_demos_in_child, method, COUNTER_WORKERS,
                             ENVS_PER_WORKER) for method in methods]
        for method in methods:
            cells[method, first] = pool.submit(work.run_notebook_cell, first, method,
                                               size.notebook_limit_s)
        outcomes = dict(zip(methods, (future.result() for future in demos), strict=True))
        for method in methods:
            for cell in rest:
                cells[method, cell] = pool.submit(work.run_notebook_cell, cell, method,
                                                  size.notebook_limit_s)
        notebook: dict[str, dict[str, Any]] = {}
        for method in methods:
            for cell in work.NOTEBOOK_CELLS:
                child = cells[method, cell].result()
                notebook.setdefault(method, {})[cell] = work.notebook_outcome(child)
                result.add("notebook_cell", {"method": method, "cell": cell},
                           [child.elapsed_s])
    result.values["notebook"] = notebook
    for key in ("hand_over", "tasks", "counters"):
        result.values[key] = {method: outcomes[method][key] for method in methods}


def _main_light(result: Result, size: Sizes, machine_setup: run_setup.RunSetup, rate: float,
                say: Callable[[str], None]) -> None:
    cpus, context = machine_setup.cpus, machine_setup.context
    tasks = size.tasks_per_cpu * cpus
    iterations = iterations_for(size.task_s, rate)
    # The parent's own work equals the pool's ideal time: a spare CPU would hide it.
    parent_s = size.task_s / cpus
    parent_iterations = iterations_for(parent_s, rate)
    result.parameters.update(main_light_tasks=tasks, main_light_task_s=size.task_s,
                             main_light_parent_step_s=parent_s)
    say(f"main process light: {tasks} tasks of {size.task_s * 1e3:g} ms on {cpus} workers")
    runs: dict[str, list[work.PoolRun]] = {how: [] for how in MAIN_LIGHT_LABELS}
    with context.Pool(cpus) as pool, context.Pool(max(1, cpus - 1)) as fewer:
        cases = {
            "dispatch_only": lambda: work.dispatch(pool, cpus, tasks, iterations),
            "busy_parent": lambda: work.dispatch(pool, cpus, tasks, iterations,
                                                 parent_iterations),
            "busy_parent_fewer_workers": lambda: work.dispatch(
                fewer, cpus - 1, tasks, iterations, parent_iterations),
            "parent_alone": lambda: work.parent_work_alone(tasks, parent_iterations),
        }
        if cpus < 2:  # one worker fewer than one CPU is no pool at all
            del cases["busy_parent_fewer_workers"], runs["busy_parent_fewer_workers"]
        samples = measure_interleaved(
            {how: (lambda _, c=case, h=how: runs[h].append(c())) for how, case in cases.items()},
            size.main_light)
    workers = {"dispatch_only": cpus, "busy_parent": cpus, "busy_parent_fewer_workers": cpus - 1,
               "parent_alone": 0}
    keep = size.main_light.repeats  # warm-up runs were appended first: drop them
    for how, timed in samples.items():
        result.add("main_light", {"how": how, "workers": workers[how]}, timed)
        kept = runs[how][-keep:]
        if how != "dispatch_only":
            result.add("main_light_parent_work", {"how": how},
                       [run.parent_work_s for run in kept])
        result.values.setdefault("main_light_runs", {})[how] = [_run_record(r) for r in kept]


def _idle(result: Result, size: Sizes, machine_setup: run_setup.RunSetup,
          say: Callable[[str], None]) -> None:
    cpus, context = machine_setup.cpus, machine_setup.context
    long_tasks, short_tasks = cpus, size.short_tasks_per_cpu * cpus
    kinds = work.uneven_durations(short_tasks, long_tasks)
    seconds = {"long": size.long_task_s, "short": size.short_task_s}
    durations = [seconds[kind] for kind in kinds]
    result.parameters.update(idle_long_tasks=long_tasks, idle_short_tasks=short_tasks,
                             idle_long_s=size.long_task_s, idle_short_s=size.short_task_s,
                             idle_ideal_s=sum(seconds[kind] for kind in kinds) / cpus)
    say(f"idle workers: {long_tasks} long and {short_tasks} short tasks on {cpus} workers")
    runs: dict[str, list[work.PoolRun]] = {how: [] for how in IDLE_LABELS}
    with context.Pool(cpus) as pool:
        samples = measure_interleaved(
            {how: (lambda _, h=how: runs[h].append(work.run_uneven(pool, cpus, durations, h)))
             for how in IDLE_LABELS},
            size.idle)
    keep = size.idle.repeats
    for how, timed in samples.items():
        result.add("idle", {"how": how}, timed)
        result.values.setdefault("idle_runs", {})[how] = [
            _run_record(run) for run in runs[how][-keep:]]


def _run_record(run: work.PoolRun) -> dict[str, float]:
    return {"elapsed_s": run.elapsed_s, "busy_s": run.busy_s, "task_cpu_s": run.task_cpu_s,
            "parent_work_s": run.parent_work_s, "idle_fraction": run.idle_fraction}


def broken_promises(result: Result) -> list[str]:
    """Every promise the chapter makes about its demos that this result breaks (none, if sound).

    :func:`run` fails when this list is not empty, and the chapter's tests require it to be
    empty on every quick run, so that the page never describes demos that did something
    else.
    """
    values = result.values
    problems: list[str] = []
    limit = result.parameters["notebook_limit_s"]
    if values["plain_pickle"] != {"error_type": "TypeError", "error": SOCKET_ERROR}:
        problems.append(f"plain pickle of the env: {values['plain_pickle']}")
    for name, error in values["pickle_errors"].items():
        if error["error_type"] not in ("PicklingError", "AttributeError"):
            problems.append(f"pickle of a {name}: {error}")
    for method in result.parameters["start_methods"]:
        hand = values["hand_over"][method]
        for how in ("instance_process", "instance_pool"):
            if not (hand[how]["ran"] and hand[how]["same_connection"]):
                problems.append(f"{method} {how}: {hand[how]}")
        wrapped = hand["instance_library"]
        if method == FORK:
            if not (wrapped["ran"] and wrapped["same_connection"]):
                problems.append(f"fork instance_library: {wrapped}")
        elif wrapped.get("error") != SOCKET_ERROR:
            problems.append(f"{method} instance_library: {wrapped}")
        for how in ("factory_library", "factory_pool"):
            if not hand[how]["ran"] or hand[how]["same_connection"]:
                problems.append(f"{method} {how}: {hand[how]}")
        counted = values["counters"][method]
        total = counted["environments"]
        if counted["parent_class_count"] != 1 or counted["parent_shared_value"] != total:
            problems.append(f"{method} counters seen by the parent: {counted}")
        if counted["distinct_ports"]["class_counter"] >= total:
            problems.append(f"{method} class counter gave distinct ports: {counted['ports']}")
        if len({tuple(report["class_counter"]) for report in counted["reports"]}) != 1:
            problems.append(f"{method} workers' class counters differed: {counted['reports']}")
        if any(counted["distinct_ports"][kind] != total for kind in ("ranks", "shared_value")):
            problems.append(f"{method} a fix repeated a port: {counted['ports']}")
        cells = values["notebook"][method]
        if not cells["imported"]["finished"]:
            problems.append(f"{method} imported worker function did not run: {cells['imported']}")
        broken = cells["defined_in_main"]
        if method == FORK:
            if not broken["finished"]:
                problems.append(f"fork notebook cell did not run: {broken}")
        elif not (broken["killed"] and broken["interrupted"] and broken["attribute_errors"] > 0
                  and work.MISSING_IN_MAIN in broken["errors"]
                  and broken["elapsed_s"] < limit + work.WAIT_S):
            problems.append(f"{method} notebook cell: {broken}")
        tasks = values["tasks"][method]
        for task in ("lambda_pool", "local_pool"):
            if tasks[task]["ran"] or "pickle" not in tasks[task]["error"].lower():
                problems.append(f"{method} {task}: {tasks[task]}")
        if tasks["lambda_process"]["ran"] != (method == FORK):
            problems.append(f"{method} lambda_process: {tasks['lambda_process']}")
        if tasks["partial_pool"].get("values") != [3, 6, 9]:
            problems.append(f"{method} partial_pool: {tasks['partial_pool']}")
    return problems
