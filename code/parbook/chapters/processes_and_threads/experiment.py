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
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.processes_and_threads import workload as work
from parbook.render.formatting import format_ratio
from parbook.shared import run_setup
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


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    task_s: float
    tasks_per_worker: int
    protocol: Protocol


FULL = Sizes(task_s=0.02, tasks_per_worker=3, protocol=Protocol(repeats=5, warmup=0))
QUICK = Sizes(task_s=0.005, tasks_per_worker=2, protocol=Protocol(repeats=1, warmup=0,
                                                                   min_repeats=1))


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


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def speedups(result: Result) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Per ``(kind, backend)``, ``(workers, speed-up over serial)`` at every worker count."""
    counts = result.parameters["worker_counts"]
    curves = {}
    for kind in KINDS:
        serial = result.median("tasks", kind=kind, backend="serial")
        for backend in ("threads", "processes"):
            curves[(kind, backend)] = [
                (w, serial / result.median("tasks", kind=kind, backend=backend, workers=w))
                for w in counts
            ]
    return curves


def speedup_table(result: Result) -> pd.DataFrame:
    """Speed-ups over serial: one row per (kind, backend), one column per worker count."""
    records = {
        (KIND_LABELS[kind], BACKEND_LABELS[backend]): {
            f"{w} worker{'s' if w > 1 else ''}": format_ratio(s) for w, s in points
        }
        for (kind, backend), points in speedups(result).items()
    }
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records), names=["tasks", "run on"])
    return frame


def speedup_figure(result: Result) -> Any:
    """Two panels (IO-bound, CPU-bound): speed-up over serial against worker count."""
    import matplotlib.pyplot as plt

    cpus = result.parameters["usable_cpus"]
    counts = result.parameters["worker_counts"]
    curves = speedups(result)
    figure, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained", sharey=True)
    for ax, kind in zip(axes, KINDS, strict=True):
        for backend, marker in (("threads", "o"), ("processes", "s")):
            points = curves[(kind, backend)]
            ax.plot([w for w, _ in points], [s for _, s in points], marker=marker,
                    label=BACKEND_LABELS[backend])
        ideal = counts if kind == "io" else [min(w, cpus) for w in counts]
        ax.plot(counts, ideal, color="0.5", linestyle="--", linewidth=1,
                label="ideal" if kind == "io" else f"ideal (capped at {cpus} CPUs)")
        ax.axhline(1.0, color="0.3", linestyle=":", linewidth=1, label="no gain (1×)")
        ax.axvline(cpus, color="0.8", linewidth=1)
        ax.set_title(KIND_LABELS[kind])
        ax.set_xlabel(f"workers ({cpus} usable CPUs, grey line)")
        ax.set_xticks(counts)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="upper left")
    axes[0].set_ylabel("speed-up over one after another")
    axes[0].yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    return figure


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    cpus = result.parameters["usable_cpus"]
    counts = result.parameters["worker_counts"]
    most = max(counts)
    curves = speedups(result)

    def at(kind: str, backend: str, workers: int) -> float:
        return dict(curves[(kind, backend)])[workers]

    def best(kind: str, backend: str) -> tuple[int, float]:
        return max(curves[(kind, backend)], key=lambda point: point[1])

    return {
        "cpus": cpus,
        "start_method": result.parameters["start_method"],
        "gil_enabled": result.machine.get("gil_enabled", True),
        "tasks": result.parameters["tasks"],
        "task_s": result.parameters["task_s"],
        "most_workers": most,
        "serial_io": result.median("tasks", kind="io", backend="serial"),
        "serial_cpu": result.median("tasks", kind="cpu", backend="serial"),
        "io_threads_most": at("io", "threads", most),
        "io_processes_most": at("io", "processes", most),
        "cpu_threads_most": at("cpu", "threads", most),
        "cpu_processes_cpus": at("cpu", "processes", cpus),
        "cpu_processes_most": at("cpu", "processes", most),
        "best": {key: best(*key) for key in curves},
        "io_threads_time_most": result.median("tasks", kind="io", backend="threads",
                                       workers=most),
        "io_processes_time_most": result.median("tasks", kind="io", backend="processes",
                                         workers=most),
        "results_match_serial": all(result.values.get("results_match_serial", {}).values()),
    }
