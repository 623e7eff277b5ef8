"""What processes cost in memory, measured with psutil's ``memory_full_info()`` (USS, PSS
and RSS, read from /proc/PID/smaps) of real workers, while they hold still.

Every section runs in a fresh interpreter with a time limit (:mod:`.probes`, and the
sweep scripts in ``scripts/``), so each parent is a small known program and every worker
it starts goes with it. Groups of cases in the result (memory in bytes):

``cow``
    A parent holding a list of small Python objects and a numpy array forks one reader
    of each kind (reads nothing, every object, the array, or runs a full garbage
    collection), without and with ``gc.freeze()`` first; each reader's ``measure``
    (``uss``, ``pss``, ``rss``) per repeat.
``total``
    The sweep: a program whose main module is ``light`` or ``heavy`` (numpy and pandas
    imported at the top) starts idle workers one at a time; the sum of the PSS of the
    program's processes with ``workers`` = 0..N of them, per ``method`` (``fork``;
    ``fork_gc``, fork workers that ran a full collection; ``spawn``; ``forkserver``;
    ``forkserver_preload``, heavy main only, with numpy and pandas preloaded in the fork
    server; ``threads``). One sample per repeat, each repeat a fresh program.
``worker``
    Each worker's ``measure`` with all N running, for the same programs.
``helpers``
    The PSS of the program's processes that are not workers (the fork server, the
    resource tracker) with all N running.
``handoff_uss`` / ``handoff_total``
    A pool of forked workers holds an array handed over ``way`` (``passed`` as the task
    argument, ``inherited`` from the parent, ``shared`` through ``shared_memory``): each
    worker's USS and the program's total, ``idle`` before and ``holding`` while they hold it.
``leak`` / ``leak_time`` / ``leak_workers``
    A task that leaks, on a one-worker pool ``way`` (``pool``, ``pool_limited`` with
    ``maxtasksperchild``, ``executor_limited`` with ``max_tasks_per_child``): the worker's
    USS after each ``task``, the run's time, and how many worker processes ran the tasks.

In ``values``: the machine's memory and the experiment's bound, the structure's size, the
largest total any section measured, whether each sweep's workers ran the main module
themselves, and the executor stall check (every task queued at once).
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.bench.results import Result
from parbook.shared import run_setup
from parbook.shared.child import child_env, run_command, run_module

NAME = "memory"
PROBES = "parbook.chapters.memory.probes"
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SCRIPTS = {"light": "light_main.py", "heavy": "heavy_main.py"}
MAIN_LABELS = {"light": "light main module", "heavy": "main module imports numpy + pandas"}
#: The sweep's ways of running workers, in the book's order, with what each main offers.
METHODS = ("fork", "fork_gc", "spawn", "forkserver", "forkserver_preload", "threads")
METHOD_LABELS = {
    "fork": "fork",
    "fork_gc": "fork, worker ran gc.collect()",
    "spawn": "spawn",
    "forkserver": "forkserver",
    "forkserver_preload": "forkserver, numpy + pandas preloaded",
    "threads": "threads",
}
START_METHOD_OF = {"fork": "fork", "fork_gc": "fork", "spawn": "spawn",
                   "forkserver": "forkserver", "forkserver_preload": "forkserver"}
#: Methods only the heavy main runs (the light one has nothing worth preloading).
HEAVY_ONLY = ("forkserver_preload",)
READS = ("nothing", "objects", "array", "collect")
READ_LABELS = {
    "nothing": "reads nothing",
    "objects": "reads every Python object",
    "array": "reads the numpy array",
    "collect": "runs gc.collect()",
}
HANDOFF_WAYS = ("passed", "inherited", "shared")
HANDOFF_LABELS = {
    "passed": "passed as the argument",
    "inherited": "inherited (fork)",
    "shared": "in shared_memory",
}
LEAK_WAYS = ("pool", "pool_limited", "executor_limited")
MEASURES = ("uss", "pss", "rss")

#: The share of the memory available when the run starts that any one section may use,
#: and its cap, so that the experiment never pushes the machine towards swapping.
BUDGET_SHARE = 0.10
BUDGET_CAP = 2 * 2**30
#: Peak memory of the fork section per object held (the parent's object and list slot,
#: a reader's copy of it, a collecting reader's copy of its header page, and a margin).
COW_BYTES_PER_RECORD = 260
#: What one heavy spawn worker is budgeted at, and the sweeping program around them.
HEAVY_WORKER_BUDGET = 96 * 2**20
SWEEP_PROGRAM_BUDGET = 128 * 2**20
#: Sizes below which a section's numbers would say little; a machine too small for them
#: fails the run instead of measuring noise.
MIN_RECORDS = 50_000
MIN_ARRAY_BYTES = 4 * 2**20
MIN_WORKERS = 2
#: Time limit for one probe or sweep program.
PROBE_LIMIT_S = 180.0


#: The hand-off arrays are larger than glibc's largest threshold for serving an allocation
#: with its own mapping (32 MiB on 64-bit Linux): such a buffer goes back to the system the
#: moment it is freed, so a pickled message already sent or received does not linger in
#: the readings as memory the allocator keeps.


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    records: int
    array_bytes: int
    cow_repeats: int
    workers_per_cpu: int
    max_workers: int
    sweep_repeats: int
    handoff_bytes: int
    receivers: int
    handoff_repeats: int
    leak_bytes: int
    leak_tasks: int
    tasks_per_child: int
    stall_tasks: int
    stall_tasks_per_child: int
    stall_patience_s: float


# One run of the worker sweep: its readings (every worker's, every total) agreed between
# runs to about 1 %, far inside what the page tells apart, and each run of it starts
# eleven fresh programs.
FULL = Sizes(records=1_000_000, array_bytes=128 * 2**20, cow_repeats=3,
             workers_per_cpu=4, max_workers=16, sweep_repeats=1,
             handoff_bytes=64 * 2**20, receivers=4, handoff_repeats=3,
             leak_bytes=2**20, leak_tasks=48, tasks_per_child=8,
             # Where the executor stalls, the check waits this long once, in full; where
             # it works, each result comes in milliseconds.
             stall_tasks=6, stall_tasks_per_child=2, stall_patience_s=2.0)
QUICK = Sizes(records=200_000, array_bytes=32 * 2**20, cow_repeats=1,
              workers_per_cpu=2, max_workers=2, sweep_repeats=1,
              handoff_bytes=40 * 2**20, receivers=2, handoff_repeats=1,
              leak_bytes=512 * 2**10, leak_tasks=24, tasks_per_child=6,
              stall_tasks=6, stall_tasks_per_child=2, stall_patience_s=2.0)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def memory_budget(available: int) -> int:
    """The most memory any one section of the run may use on a machine with ``available``."""
    return int(min(BUDGET_SHARE * available, BUDGET_CAP))


@dataclass(frozen=True)
class Fitted:
    """The sizes this machine's memory allows (each at most the requested one)."""

    records: int
    array_bytes: int
    workers: int
    handoff_bytes: int
    receivers: int


def fit(size: Sizes, cpus: int, budget: int) -> Fitted:
    """Scale the sizes down until each section's estimated peak fits in ``budget``."""
    cow_peak = size.records * COW_BYTES_PER_RECORD + size.array_bytes
    cow_scale = min(1.0, budget / cow_peak)
    receivers = max(2, min(size.receivers, cpus))
    workers = min(size.workers_per_cpu * cpus, size.max_workers,
                  (budget - SWEEP_PROGRAM_BUDGET) // HEAVY_WORKER_BUDGET)
    fitted = Fitted(
        records=int(size.records * cow_scale),
        array_bytes=int(size.array_bytes * cow_scale),
        workers=int(workers),
        handoff_bytes=int(min(size.handoff_bytes, budget // (receivers + 2))),
        receivers=receivers,
    )
    if (fitted.records < MIN_RECORDS or fitted.array_bytes < MIN_ARRAY_BYTES
            or fitted.handoff_bytes < MIN_ARRAY_BYTES or fitted.workers < MIN_WORKERS):
        raise RuntimeError(f"this machine's memory budget ({budget:,} bytes) is too small "
                           f"for the experiment: {fitted}")
    return fitted


def executor_method(default: str, offered: list[str]) -> str:
    """The start method for ProcessPoolExecutor(max_tasks_per_child=...), which refuses
    fork: the platform's default unless that is fork, then forkserver (or spawn)."""
    if default != "fork":
        return default
    return "forkserver" if "forkserver" in offered else "spawn"


def run_probe(section: str, *args: Any) -> dict[str, Any]:
    """Run one section of :mod:`.probes` in a fresh interpreter; return its readings."""
    child = run_module(PROBES, section, *map(str, args), time_limit_s=PROBE_LIMIT_S)
    return _readings(f"probe {section}", child)


def run_sweep(main: str, method: str, workers: int) -> dict[str, Any]:
    """Run one sweep script (a fresh program) for one method; return its readings."""
    script = SCRIPTS_DIR / SCRIPTS[main]
    child = run_command([sys.executable, str(script), method, str(workers)],
                        time_limit_s=PROBE_LIMIT_S, env=child_env())
    return _readings(f"{script.name} {method}", child)


def _readings(what: str, child: Any) -> dict[str, Any]:
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode}, killed={child.killed}):"
                           f"\n{child.errors[-3000:]}")
    return json.loads(child.output.strip().splitlines()[-1])


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    import psutil

    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    cpus, say = machine_setup.cpus, machine_setup.say
    virtual, swap = psutil.virtual_memory(), psutil.swap_memory()
    budget = memory_budget(virtual.available)
    fitted = fit(size, cpus, budget)
    offered = multiprocessing.get_all_start_methods()
    methods = [m for m in METHODS if m == "threads" or START_METHOD_OF[m] in offered]
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=cpus, start_method=machine_setup.start_method, python=sys.version.split()[0],
        methods=methods, workers=fitted.workers, records=fitted.records,
        array_bytes=fitted.array_bytes, handoff_bytes=fitted.handoff_bytes,
        receivers=fitted.receivers, leak_bytes=size.leak_bytes, leak_tasks=size.leak_tasks,
        tasks_per_child=size.tasks_per_child, pool_method=machine_setup.start_method,
        executor_method=executor_method(machine_setup.start_method, offered),
        repeats={"cow": size.cow_repeats, "sweep": size.sweep_repeats,
                 "handoff": size.handoff_repeats},
    )
    result.values["memory"] = {"total": virtual.total, "available": virtual.available,
                               "swap_total": swap.total, "budget": budget}
    largest = [
        _cow(result, fitted, size, say),
        _sweep(result, methods, fitted.workers, size.sweep_repeats, say),
        _handoff(result, fitted, size, say),
    ]
    result.values["largest_total"] = max(largest)
    _leak(result, size, say)
    result.values["stall"] = _stall(result, size, say)
    return result


def _cow(result: Result, fitted: Fitted, size: Sizes, say: Callable[[str], None]) -> int:
    say(f"fork: readers of {fitted.records:,} objects and a "
        f"{fitted.array_bytes / 2**20:.0f} MiB array")
    readings = run_probe("cow", fitted.records, fitted.array_bytes, size.cow_repeats)
    for freeze in (False, True):
        for reads in READS:
            cases = [case for case in readings["cases"]
                     if case["freeze"] == freeze and case["reads"] == reads]
            for measure in MEASURES:
                result.add("cow", {"freeze": freeze, "reads": reads, "measure": measure},
                           [case[measure] for case in cases], unit="bytes")
    result.values["cow"] = {key: readings[key] for key in
                            ("records", "structure_bytes", "array_bytes", "build_s")}
    return readings["largest_total"]


def _sweep(result: Result, methods: list[str], workers: int, repeats: int,
           say: Callable[[str], None]) -> int:
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for repeat in range(repeats):
        turn = repeat % len(methods)
        order = [*methods[turn:], *methods[:turn]]  # a different method goes first each time
        for main in SCRIPTS:
            for method in order:
                if main == "light" and method in HEAVY_ONLY:
                    continue
                say(f"sweep: {MAIN_LABELS[main]}, {method}, up to {workers} workers, "
                    f"repeat {repeat + 1}")
                runs.setdefault((main, method), []).append(run_sweep(main, method, workers))
    imported: dict[str, dict[str, bool | None]] = {}
    for (main, method), readings in runs.items():
        for count in range(workers + 1):
            result.add("total", {"main": main, "method": method, "workers": count},
                       [run["totals"][count] for run in readings], unit="bytes")
        if method != "threads":
            for measure in MEASURES:
                result.add("worker", {"main": main, "method": method, "measure": measure},
                           [worker[measure] for run in readings for worker in run["workers"]],
                           unit="bytes")
            result.add("helpers", {"main": main, "method": method},
                       [run["helpers"] for run in readings], unit="bytes")
        flags = [flag for run in readings for flag in run["main_imported"]]
        imported.setdefault(main, {})[method] = all(flags) if flags else None
    result.values["main_imported_by_workers"] = imported
    return max(total for readings in runs.values() for run in readings
               for total in run["totals"])


def _handoff(result: Result, fitted: Fitted, size: Sizes, say: Callable[[str], None]) -> int:
    say(f"hand-off: a {fitted.handoff_bytes / 2**20:.0f} MiB array to "
        f"{fitted.receivers} pool workers, three ways")
    readings = run_probe("handoff", fitted.handoff_bytes, fitted.receivers,
                         size.handoff_repeats)
    for way in HANDOFF_WAYS:
        runs = [run for run in readings["runs"] if run["way"] == way]
        for state in ("idle", "holding"):
            result.add("handoff_uss", {"way": way, "state": state},
                       [uss for run in runs for uss in run[f"{state}_uss"]], unit="bytes")
            result.add("handoff_total", {"way": way, "state": state},
                       [run[f"total_{state}"] for run in runs], unit="bytes")
    result.values["handoff"] = {"array_bytes": readings["array_bytes"],
                                "receivers": readings["receivers"]}
    return readings["largest_total"]


def _leak(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    parameters = result.parameters
    say(f"leak: {size.leak_tasks} tasks of {size.leak_bytes / 2**20:g} MiB each, "
        f"without and with {size.tasks_per_child} tasks per worker")
    readings = run_probe("leak", size.leak_bytes, size.leak_tasks, size.tasks_per_child,
                         parameters["pool_method"], parameters["executor_method"])
    for way in LEAK_WAYS:
        run = readings["runs"][way]
        for task, uss in enumerate(run["uss"], start=1):
            result.add("leak", {"way": way, "task": task}, [uss], unit="bytes")
        result.add("leak_time", {"way": way}, [run["elapsed_s"]])
        result.add("leak_workers", {"way": way}, [len(set(run["pids"]))], unit="count")


def _stall(result: Result, size: Sizes, say: Callable[[str], None]) -> dict[str, Any]:
    method = result.parameters["executor_method"]
    say(f"executor stall check: {size.stall_tasks} tasks queued at once, "
        f"max_tasks_per_child={size.stall_tasks_per_child}")
    return run_probe("stall", size.stall_tasks, size.stall_tasks_per_child, method,
                     size.stall_patience_s)
