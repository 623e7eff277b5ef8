"""The joblib-and-Dask chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.joblib_and_dask.analysis import Findings, summary_rows
from parbook.chapters.joblib_and_dask.experiment import (
    CHANNEL_LABELS,
    HANDOFF_LABELS,
    RESULT_LABELS,
    REUSE_LABELS,
    STARTUP_LABELS,
    SWEEP_LABELS,
    VERSION_LABELS,
    WORKLOAD_LABELS,
)
from parbook.render import figures
from parbook.render.formatting import format_bytes, format_ratio, format_seconds
from parbook.render.tables import Table, spread_view, time_cell

#: Short column headings for the workloads table (the sections say what each one is).
WORKLOAD_COLUMNS = {"numerical": "numerical data", "stateful": "stateful counters",
                    "initialisation": "initialisation"}


def _frame(rows: dict[str, dict[str, str]], index_name: str) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = index_name
    return frame


def _cell(result: Result, group: str, **params: Any) -> str:
    return time_cell(summarize(result.case(group, **params).samples))


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what ran", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter measured while the page was built (medians; start-ups: one "
        "run each); each row is explained in a section below."))


def reuse_table(result: Result, found: Findings) -> Table:
    """A call of a few short tasks: a new Pool, joblib's first call, its next call."""
    pids = result.values["reuse"]["pids"]
    ran_in = {
        "new_pool": "new processes, every call",
        "joblib_first": "new processes, started by the call",
        "joblib_second": ("the first call's processes" if found.reuse.second_reused
                          else "not only the first call's processes"),
    }
    rows = {label: {"time of the call (median)": _cell(result, "reuse", way=way),
                    "its tasks ran in": ran_in[way],
                    "runs": str(len(pids[way]))}
            for way, label in REUSE_LABELS.items()}
    return Table(_frame(rows, f"{found.reuse.tasks} tasks, {found.setting.workers} workers"),
                 caption=("One call of a few short tasks, start-up included; the joblib "
                          "workers were shut down before each first call."))


def handoff_table(result: Result, found: Findings) -> Table:
    """One large array handed to one task per worker, three ways."""
    handoff = found.handoff
    rows = {label: {"time": _cell(result, "handoff", way=way),
                    "in the worker": ", ".join(
                        f"numpy.{kind}" for kind in handoff.types[way]),
                    "× pickling's time": format_ratio(
                        handoff.times[way] / handoff.times["pool_pickled"])}
            for way, label in HANDOFF_LABELS.items()}
    return Table(_frame(rows, f"a {format_bytes(handoff.array_bytes)} array, "
                              f"{handoff.tasks} tasks"),
                 caption=("Handing one float64 array to one task per worker, each task "
                          "summing a slice of it (median time); the pools and joblib's "
                          "workers were running before the clock started."))


def results_table(result: Result, found: Findings) -> Table:
    """joblib tasks with large results: a list against a generator."""
    results = found.results
    rows = {label: {"first result in hand": _cell(result, "results", mode=mode, until="first"),
                    "all results": _cell(result, "results", mode=mode, until="all"),
                    "most memory held at once": format_bytes(results.peak[mode])}
            for mode, label in RESULT_LABELS.items()}
    return Table(_frame(rows, f"{results.tasks} results of "
                              f"{format_bytes(results.result_bytes)}"),
                 caption=("joblib tasks with large results, consumed one by one (medians "
                          "of the times). Memory: the peak allocated in this process while "
                          "the results came in, traced by tracemalloc in a run of its own."))


def round_trip_table(result: Result, found: Findings) -> Table:
    """One round trip of a task that returns at once, by channel, against the floor."""
    rows = {label: {"per round trip (median)": _cell(result, "round_trip", channel=channel),
                    "× the floor": format_ratio(found.round_trips.over_floor(channel))}
            for channel, label in CHANNEL_LABELS.items()}
    return Table(_frame(rows, "channel"), caption=(
        "One task that returns at once, sent and waited for, one at a time (median of the "
        "mean over many calls); every process placed by the operating system."))


def startup_table(result: Result, found: Findings) -> Table:
    """What each tool costs to start, measured once (the reuse calls: median)."""
    rows = {label: {"time": _cell(result, "startup", what=what)}
            for what, label in STARTUP_LABELS.items()}
    rows["joblib: the first call of a few tasks"] = {
        "time": _cell(result, "reuse", way="joblib_first")}
    rows["a Pool made for a call of a few tasks"] = {
        "time": _cell(result, "reuse", way="new_pool")}
    return Table(_frame(rows, "start-up"), caption=(
        "Start-up costs, kept out of every other timing: the Dask cluster and Ray once "
        "each, until every worker was ready; the joblib and Pool rows from the reuse "
        "table above."))


def sweep_table(result: Result, found: Findings) -> Table:
    """Speed-up over one process at each task length, by backend."""
    sweep = found.sweep
    columns = {duration: f"{sweep.tasks[duration]} tasks of {format_seconds(duration)}"
               for duration in sorted(sweep.tasks)}
    rows = {SWEEP_LABELS["serial"]: {
        columns[d]: _cell(result, "sweep", task_s=d, backend="serial") for d in columns}}
    for backend, points in sweep.speedups.items():
        rows[SWEEP_LABELS[backend]] = {columns[d]: format_ratio(s) for d, s in points}
    return Table(_frame(rows, f"{sweep.workers} workers"), caption=(
        "First row: time for all tasks in one process (median). Other rows: speed-up over "
        "one process, each timed in turn with it at every task length."))


def workloads_table(result: Result, found: Findings) -> Table:
    """Each version's time for each workload's whole job, with its speed-up over serial."""
    rows: dict[str, dict[str, str]] = {}
    for name, workload in found.workloads.items():
        for version, label in VERSION_LABELS.items():
            cell = _cell(result, "runs", workload=name, version=version)
            if version != "serial":
                cell += f" ({format_ratio(workload.speedup(version))})"
            rows.setdefault(label, {})[WORKLOAD_COLUMNS[name]] = cell
    return Table(_frame(rows, "version"), caption=(
        f"Time for each workload's whole job on {found.setting.workers} workers (median "
        "of runs timed in turn, after one warm-up each), and the speed-up over serial code "
        "in brackets; every pool, executor, actor and cluster was ready before the clock "
        "started."))


def speedup_figure(result: Result, found: Findings) -> Any:
    """Speed-up over one process against task length, with each break-even marked."""
    sweep = found.sweep
    return figures.speedup_figure(sweep.speedups, SWEEP_LABELS, sweep.break_even,
                                  sweep.workers,
                                  title=f"Speed-up over one process, {sweep.workers} workers")


TABLES = {
    "joblib-and-dask-summary": summary_table,
    "joblib-and-dask-reuse-table": reuse_table,
    "joblib-and-dask-handoff-table": handoff_table,
    "joblib-and-dask-results-table": results_table,
    "joblib-and-dask-sweep-table": sweep_table,
    "joblib-and-dask-sweep-spread": spread_view("sweep", labels={
        "task_s": format_seconds, "tasks": str, "backend": SWEEP_LABELS.get}),
    "joblib-and-dask-round-trip-table": round_trip_table,
    "joblib-and-dask-startup-table": startup_table,
    "joblib-and-dask-workloads-table": workloads_table,
    "joblib-and-dask-workloads-spread": spread_view("runs", labels={
        "workload": WORKLOAD_LABELS.get, "version": VERSION_LABELS.get}),
}
FIGURES = {"joblib-and-dask-speedup": speedup_figure}
