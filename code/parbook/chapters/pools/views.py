"""The pools chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.pools import analysis
from parbook.chapters.pools.analysis import Findings, chunk_label
from parbook.chapters.pools.experiment import (
    BLAS_LABELS,
    BLAS_PROBE_LABELS,
    EXECUTOR_LABELS,
    INITIALIZER_LABELS,
    SYNC_LABELS,
)
from parbook.render.formatting import format_count, format_ratio, format_seconds
from parbook.render.outputs import printout_views
from parbook.render.tables import Table, spread_table, spread_view, time_cell

WORKERS_LABELS = {"one_process": "one process, no pool", "pool": "pool"}


def _rate(tasks: int, seconds: float) -> str:
    return format_count(tasks / seconds)


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(analysis.summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        f"What this chapter measured on the machine that built this page "
        f"({found.machine.cpus} usable CPUs, start method {found.machine.start_method}): "
        "medians of N runs; each row is explained in a section below."))


def cpu_counts_table(result: Result, found: Findings) -> Table:
    """Each count of CPUs, what it reports, and its value in this build."""
    frame = pd.DataFrame(analysis.cpu_count_rows(found.machine.counts))
    return Table(frame, index=False, caption=(
        "Every count of CPUs this build could ask for, read while this page was built "
        "(the child interpreters are started with the override one more than the "
        "machine's count, so their answer shows whether they took it)."))


def sync_async_table(result: Result, found: Findings) -> Table:
    """Measured medians beside what the arithmetic expects for sleeping tasks."""
    sync = found.sync_async
    rows = []
    for case in result.group("sync_async"):
        how = case.params["how"]
        measured = case.summary
        expected = sync.sync_expected if how == "sync" else sync.async_expected
        rows.append({
            f"how the {sync.tasks} tasks were sent": SYNC_LABELS[how],
            "measured (median)": time_cell(measured),
            "expected": format_seconds(expected),
            "measured − expected": format_seconds(measured.median - expected),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{sync.tasks} tasks that each sleep {format_seconds(sync.task_s)} on a pool of "
        f"{sync.workers} workers: median of N runs, beside the time the arithmetic expects."))


def methods_table(result: Result, found: Findings) -> Table:
    """One row per demonstrated behaviour, one column per start method."""
    frame = pd.DataFrame.from_dict(found.demos.outcomes, orient="index")
    frame.index.name = "what the demonstration showed"
    return Table(frame, caption="What each demonstration above showed, run in a fresh "
                                "interpreter under each start method.")


def chunksize_table(result: Result, found: Findings) -> Table:
    """Total time, tasks per second and speed relative to one process, per chunksize."""
    chunks = found.chunksize
    one = chunks.times["one_process"]
    rows = []
    for case in result.group("chunksize"):
        summary = case.summary
        rows.append({
            "chunksize": chunk_label(case.params["chunksize"], chunks.default),
            "total time (median)": time_cell(summary),
            "tasks per second": _rate(chunks.tasks, summary.median),
            "speed relative to one process": format_ratio(one / summary.median),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{chunks.tasks:,} small tasks through Pool.map on {found.machine.cpus} workers: "
        "median of N runs."))


def chunksize_figure(result: Result, found: Findings) -> Any:
    """Tasks per second against chunksize (log-log), with one process as a reference line."""
    import matplotlib.pyplot as plt

    chunks = found.chunksize
    rates = chunks.rates
    sizes_rates = sorted((int(key), rate) for key, rate in rates.items() if key.isdigit())
    figure, axes = plt.subplots(figsize=(7.0, 3.8), layout="constrained")
    axes.plot([c for c, _ in sizes_rates], [r for _, r in sizes_rates], marker="o",
              label=f"Pool.map on {found.machine.cpus} workers")
    axes.plot([chunks.default], [rates["default"]], marker="D", markersize=9,
              linestyle="none", markerfacecolor="none",
              label=f"chunksize map picks by default ({chunks.default:,})")
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
    axes.set_title(f"{chunks.tasks:,} tasks of a few microseconds each")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure


def initializer_table(result: Result, found: Findings) -> Table:
    """Each way of building the table: builds, total time, and the set-up time alone."""
    init = found.initializer
    rows = []
    for case in result.group("initializer"):
        how = case.params["how"]
        expected = init.per_task_expected if how == "per_task" else init.setup
        rows.append({
            "where the table is built": INITIALIZER_LABELS[how],
            "builds": init.lookups if how == "per_task" else init.workers,
            "total time, pool start included (median)": time_cell(case.summary),
            "set-up time alone, spread over the workers": format_seconds(expected),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{init.lookups} lookups in a {init.vocabulary:,}-word table on {found.machine.cpus} "
        "workers: median of N runs, beside the set-up time alone."))


def executor_table(result: Result, found: Findings) -> Table:
    """Time and tasks per second of the executor's map beside Pool.map's."""
    executor = found.executor
    rows = []
    for case in result.group("executor_map"):
        label = EXECUTOR_LABELS[case.params["how"]]
        if case.params["how"] == "executor_chunked":
            label += f" ({executor.chunksize:,})"
        rows.append({"how": label, "total time (median)": time_cell(case.summary),
                     "tasks per second": _rate(executor.tasks, case.summary.median)})
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{executor.tasks:,} small tasks on {found.machine.cpus} workers: median of N runs."))


def workers_table(result: Result, found: Findings) -> Table:
    """Time and speed-up of the CPU-bound tasks per pool size, beside the ideal."""
    cpus = found.machine.cpus
    one = result.median("workers", how="one_process")
    rows = []
    for case in result.group("workers"):
        summary = case.summary
        pooled = case.params["how"] == "pool"
        workers = case.params["workers"]
        rows.append({
            "workers": f"{workers} worker{'s' if workers > 1 else ''}" if pooled
            else "one process, no pool",
            "time (median)": time_cell(summary),
            "speed-up over one process": format_ratio(one / summary.median),
            "ideal": format_ratio(min(workers, cpus)) if pooled else "–",
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{found.workers.tasks} CPU-bound tasks on pools of different sizes, {cpus} usable "
        "CPUs: median of N runs."))


def blas_table(result: Result, found: Findings) -> Table:
    """Matrix products with the BLAS threads at their default and at one per worker."""
    blas, cpus = found.blas, found.machine.cpus
    rows = []
    for case in result.group("blas"):
        threads = case.params["threads"]
        per_worker = blas.default_threads if threads == "default" else blas.one_threads
        summary = case.summary
        rows.append({
            "BLAS threads": BLAS_LABELS[threads],
            "threads per worker": per_worker,
            "threads in all, on usable CPUs": f"{per_worker * cpus} on {cpus}",
            "time (median)": time_cell(summary),
            "relative to one thread each": format_ratio(summary.median / blas.one),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{blas.tasks} matrix-product tasks on {cpus} worker processes: median of N runs."))


def blas_threads_table(result: Result, found: Findings) -> Table:
    """Whether the workers of each way of starting them saw the variables, and their threads."""
    rows = [{"how the workers were started": BLAS_PROBE_LABELS.get(key, key),
             "workers saw the variables = 1": "yes" if seen.limited else "no",
             "threads per worker process": seen.threads}
            for key, seen in found.blas.probe.items()]
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Threads in each worker process after one matrix product (a pool worker runs tasks "
        "on one thread; the rest are the BLAS library's)."))


def chunksize_spread(result: Result, found: Findings) -> Table:
    """The spread of each chunksize case, labelled as in the chunksize table."""
    default = found.chunksize.default
    frame = spread_table(result, "chunksize",
                         labels={"chunksize": lambda key: chunk_label(key, default)})
    return Table(frame, index=False, caption="Spread of each chunksize case (seconds for all "
                                             "tasks): N runs, IQR, min-max.")


TABLES = {
    "pools-summary": summary_table,
    "pools-cpu-counts-table": cpu_counts_table,
    "pools-sync-async-table": sync_async_table,
    "pools-sync-async-spread": spread_view(
        "sync_async", {"how": SYNC_LABELS.get},
        "Spread of each case above (seconds for all tasks): N runs, IQR, min-max."),
    "pools-methods-table": methods_table,
    "pools-chunksize-table": chunksize_table,
    "pools-chunksize-spread": chunksize_spread,
    "pools-initializer-table": initializer_table,
    "pools-initializer-spread": spread_view(
        "initializer", {"how": INITIALIZER_LABELS.get},
        "Spread of each initializer case (seconds, pool start included): N runs, IQR, "
        "min-max."),
    "pools-executor-table": executor_table,
    "pools-executor-spread": spread_view(
        "executor_map", {"how": EXECUTOR_LABELS.get},
        "Spread of each case (seconds for all tasks): N runs, IQR, min-max."),
    "pools-workers-table": workers_table,
    "pools-workers-spread": spread_view(
        "workers", {"how": WORKERS_LABELS.get, "workers": str},
        "Spread of each pool size (seconds for all tasks): N runs, IQR, min-max."),
    "pools-blas-table": blas_table,
    "pools-blas-threads-table": blas_threads_table,
    "pools-blas-spread": spread_view(
        "blas", {"threads": BLAS_LABELS.get},
        "Spread of each BLAS case (seconds for all tasks): N runs, IQR, min-max."),
}
FIGURES = {
    "pools-chunksize-rate": chunksize_figure,
}
INTERPRETER_TABLES = {
    "pools-interpreters": interpreters.table(
        analysis.interpreter_rows, "How a default pool is made, what each task costs, and "
        "what a pool gains"),
}


#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = printout_views(lambda found: analysis.outputs(found.demos), (
    "pools-apply",
    "pools-map-family",
    "pools-arguments",
    "pools-lambda",
    "pools-shutdown",
    "pools-executor",
))
