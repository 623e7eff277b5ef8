"""Threads or processes? The same tasks, IO-bound and CPU-bound, run three ways.

One group of cases, ``tasks``: a fixed number of tasks of one *kind* run by one
*backend* with a number of *workers*:

``kind``
    ``io``: a request to a local TCP server that answers after a fixed delay
    (:func:`parbook.chapters.processes_and_threads.workload.fetch`); ``cpu``: pure-Python
    arithmetic of a
    calibrated duration (:func:`parbook.shared.cpu.burn`). Both kinds take about the
    same time per task when run alone.
``backend``
    ``serial`` (one after another, one worker), ``threads`` (a ``ThreadPoolExecutor``) or
    ``processes`` (a ``ProcessPoolExecutor`` with an explicit start-method context).
``workers``
    1 to twice the usable CPUs. Each timing includes creating and shutting down the
    pool, because a program that starts a pool for a batch of tasks pays for both.

And a demonstration, not timed: what a failure ends. Fresh interpreters each run healthy
threads beside one faulty thread or child process that raises, calls ``os._exit`` or
segfaults (:mod:`parbook.chapters.processes_and_threads.failures`); how each interpreter
ended, how the faulty child process ended, and what the healthy threads got done are
kept in ``values["failures"]``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.processes_and_threads import failures
from parbook.chapters.processes_and_threads import workload as work
from parbook.shared import run_setup
from parbook.shared.child import child_env, run_module
from parbook.shared.cpu import burn, calibrate, iterations_for

NAME = "processes-and-threads"

KINDS = ("io", "cpu")
KIND_LABELS = {"io": "IO-bound (waits for a server)", "cpu": "CPU-bound (pure Python)"}
BACKENDS = ("serial", "threads", "processes")
BACKEND_LABELS = {
    "serial": "one after another",
    "threads": "ThreadPoolExecutor",
    "processes": "ProcessPoolExecutor",
}
#: Worker counts beyond this many are thinned out (see :func:`worker_counts`).
MAX_WORKER_POINTS = 8
#: Where the faulty code of the failure demonstration runs, and how it fails.
FAILURE_PLACES = ("thread", "process")
FAILURE_KINDS = tuple(failures.FAILURES)
#: Healthy threads beside the faulty one.
FAILURE_WORKERS = 2
#: Time limit of each failure demonstration's interpreter (its own waits are shorter).
FAILURE_TIME_LIMIT_S = 40.0
FAILURES_MODULE = "parbook.chapters.processes_and_threads.failures"
_CHILD_EXITCODE = re.compile(r"exitcode: (-?\d+)")


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    task_s: float
    tasks_per_worker: int
    protocol: Protocol
    failure_work_s: float  # how long the healthy threads of the failure demo work


FULL = Sizes(task_s=0.02, tasks_per_worker=3, protocol=Protocol(repeats=5, warmup=0),
             failure_work_s=0.1)
QUICK = Sizes(task_s=0.005, tasks_per_worker=2,
              protocol=Protocol(repeats=1, warmup=0, min_repeats=1), failure_work_s=0.1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def worker_counts(cpus: int) -> list[int]:
    """Worker counts from 1 to ``2 * cpus``: all of them on small machines, else a spread.

    On a machine with many CPUs, every count up to ``2 * cpus`` would take too long;
    powers of two plus ``cpus`` and ``2 * cpus`` show the same shape.
    """
    most = 2 * cpus
    if most <= MAX_WORKER_POINTS:
        return list(range(1, most + 1))
    counts = {1 << k for k in range(int(math.log2(most)) + 1)} | {cpus, most}
    return sorted(counts)


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every case of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    cpus, start_method, context, say = (machine_setup.cpus, machine_setup.start_method,
                                        machine_setup.context, machine_setup.say)
    counts = worker_counts(cpus)
    n_tasks = size.tasks_per_worker * max(counts)
    rate = calibrate()
    iterations = iterations_for(size.task_s, rate)

    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=cpus, start_method=start_method, worker_counts=counts, tasks=n_tasks,
        task_s=size.task_s, burn_iterations=iterations,
    )
    result.values["burn_iterations_per_s"] = rate

    with work.delay_server(size.task_s, context) as address:
        io_task = functools.partial(work.fetch, address)
        items = list(range(n_tasks))
        result.values["io_results_correct"] = True
        _run_kind(result, "io", io_task, items, counts, context, size, say)
        _run_kind(result, "cpu", burn, [iterations] * n_tasks, counts, context, size, say)
    _failures(result, size, start_method, say)
    return result


def _run_kind(result: Result, kind: str, task: Callable, inputs: list, counts: list[int],
              context: Any, size: Sizes, say: Callable[[str], None]) -> None:
    expected = work.run_serially(task, inputs)  # warm-up, and the answers to check against
    if kind == "io" and expected != inputs:
        result.values["io_results_correct"] = False
    # One discarded run per pool kind pays for first-use costs (imports, page faults).
    work.run_on_threads(task, inputs[:1], 1)
    work.run_on_processes(task, inputs[:1], 1, context)
    checks = result.values.setdefault("results_match_serial", {})
    calls: dict[tuple[str, int], Callable[[], list]] = {
        ("serial", 1): lambda: work.run_serially(task, inputs)}
    for workers in counts:
        calls[("threads", workers)] = lambda w=workers: work.run_on_threads(task, inputs, w)
    for workers in counts:
        calls[("processes", workers)] = (
            lambda w=workers: work.run_on_processes(task, inputs, w, context))
    outputs: dict[tuple[str, int], list[list]] = {key: [] for key in calls}
    say(f"{kind}: {len(inputs)} tasks, serial, threads and processes in turns")
    # Timed in turns, repeat by repeat, so the serial baseline and every pool see the
    # same machine even if its CPU speed drifts (speed-ups are ratios of these runs).
    samples = measure_interleaved(
        {key: (lambda _, c=call, out=outputs[key]: out.append(c())) for key, call in calls.items()},
        size.protocol,
    )
    for (backend, workers), backend_samples in samples.items():
        checks[f"{kind}/{backend}/{workers}"] = all(
            out == expected for out in outputs[(backend, workers)])
        result.add("tasks", {"kind": kind, "backend": backend, "workers": workers},
                   backend_samples)


def _failures(result: Result, size: Sizes, start_method: str,
              say: Callable[[str], None]) -> None:
    """Run each failure demonstration once, in a fresh interpreter, and keep the facts."""
    result.parameters.update(failure_work_s=size.failure_work_s,
                             failure_workers=FAILURE_WORKERS,
                             failure_time_limit_s=FAILURE_TIME_LIMIT_S)
    # A deliberate segfault must not print faulthandler's report (see failures.py).
    env = child_env({"PYTHONFAULTHANDLER": ""})
    records = result.values.setdefault("failures", {})
    for where in FAILURE_PLACES:
        for how in FAILURE_KINDS:
            say(f"failure: a {where} that {failures.FAILURES[how]}")
            child = run_module(FAILURES_MODULE, where, how, str(size.failure_work_s),
                               str(FAILURE_WORKERS), start_method,
                               time_limit_s=FAILURE_TIME_LIMIT_S, env=env)
            records[f"{where}/{how}"] = {
                "where": where, "how": how, "workers": FAILURE_WORKERS,
                **failure_facts(child.output), **child.as_dict(),
            }


def failure_facts(output: str) -> dict[str, Any]:
    """What a failure demo's output says: how many healthy threads finished, whether the
    main thread reached its end, and (for a faulty process) that process's exit code."""
    child_code = _CHILD_EXITCODE.search(output)
    return {
        "finished": output.count(failures.FINISHED),
        "reached_end": failures.REACHED_END in output,
        "culprit_exitcode": int(child_code.group(1)) if child_code else None,
    }
