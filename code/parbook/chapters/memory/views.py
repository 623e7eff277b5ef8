"""The memory chapter's tables and figures, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.memory.analysis import (
    FILL_ROWS,
    Findings,
    fill_costs,
    summary_rows,
    workers_to_fill,
)
from parbook.chapters.memory.experiment import (
    HANDOFF_LABELS,
    HANDOFF_WAYS,
    LEAK_WAYS,
    MAIN_LABELS,
    METHOD_LABELS,
    READ_LABELS,
    READS,
)
from parbook.render.formatting import format_bytes, format_count, format_runs, format_seconds
from parbook.render.tables import Table

DASH = "–"
#: Shorter names for the workers table, whose two index columns leave little room.
TABLE_MAINS = {"light": "light", "heavy": "imports numpy + pandas"}
TABLE_METHODS = {**METHOD_LABELS, "fork_gc": "fork, then gc.collect()",
                 "forkserver_preload": "forkserver, preloaded"}


def leak_labels(tasks_per_child: int, executor_method: str) -> dict[str, str]:
    """The leak section's ways of running the tasks, as the table and figure name them."""
    return {
        "pool": "Pool, no limit",
        "pool_limited": f"Pool, maxtasksperchild={tasks_per_child}",
        "executor_limited": f"executor, max_tasks_per_child={tasks_per_child}",
    }


def _median_of(result: Result, section: str) -> str:
    return format_runs(result.parameters["repeats"][section])


def _median_note(result: Result) -> str:
    """How the workers table's medians were taken: over the workers, and the runs if the
    sweep ran more than once."""
    runs = result.parameters["repeats"]["sweep"]
    over = "the workers" if runs == 1 else f"the workers and {runs} runs"
    return f"Medians over {over}; the spread table lists every case."


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(summary_rows(found), columns=["what was measured", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter measured while the page was built (medians; the sections below "
        "show every case). Copies are USS above an idle worker's."))


def fork_table(result: Result, found: Findings) -> Table:
    fork = found.fork
    frame = pd.DataFrame(
        {"USS": [format_bytes(fork.uss[reads]) for reads in READS],
         "PSS": [format_bytes(fork.pss[reads]) for reads in READS],
         "RSS": [format_bytes(fork.rss[reads]) for reads in READS],
         "USS, gc.freeze() before fork": [format_bytes(fork.uss_frozen[reads])
                                          for reads in READS]},
        index=pd.Index([READ_LABELS[reads] for reads in READS], name="forked reader"))
    return Table(frame, caption=(
        f"Memory of a reader forked from a parent holding {fork.records:,} small objects "
        f"({format_bytes(fork.structure_bytes)}) and a {format_bytes(fork.array_bytes)} "
        f"numpy array, read while the reader waits ({_median_of(result, 'cow')})."))


def workers_table(result: Result, found: Findings) -> Table:
    sweep = found.sweep
    keys = [(main, method) for main in MAIN_LABELS for method in sweep.methods
            if method != "threads" and (main, method) in sweep.uss]
    frame = pd.DataFrame(
        {"USS": [format_bytes(sweep.uss[key]) for key in keys],
         "PSS": [format_bytes(sweep.pss[key]) for key in keys],
         "RSS": [format_bytes(sweep.rss[key]) for key in keys]},
        index=pd.MultiIndex.from_tuples(
            [(TABLE_MAINS[main], TABLE_METHODS[method]) for main, method in keys],
            names=["main module", "one worker"]))
    return Table(frame, caption=(
        f"Memory of one idle worker, with {sweep.workers} of them running, by main module "
        "and start method (preloaded: numpy and pandas imported by the fork server). "
        f"{_median_note(result)}"))


def fill_table(result: Result, found: Findings) -> Table:
    machine = found.machine
    costs = fill_costs(found)
    kinds = sorted(costs, key=costs.__getitem__)
    frame = pd.DataFrame(
        {"added per worker": [format_bytes(costs[kind]) for kind in kinds],
         "workers to fill memory": [
             format_count(workers_to_fill(machine.available, costs[kind])) for kind in kinds],
         "per usable CPU": [
             format_count(workers_to_fill(machine.available, costs[kind]) / machine.cpus)
             for kind in kinds]},
        index=pd.Index([FILL_ROWS[kind] for kind in kinds], name="worker"))
    return Table(frame, caption=(
        "What each further worker added to its program's total (the program whose main "
        "module imports numpy and pandas; for the fork section's reader of every object, "
        f"its USS), and how many such workers the {format_bytes(machine.available)} "
        f"available when the run began would hold ({machine.cpus} usable CPUs). Computed "
        "from the readings, not tried."))


def handoff_table(result: Result, found: Findings) -> Table:
    handoff = found.handoff
    frame = pd.DataFrame(
        {"each worker": [format_bytes(handoff.worker_growth[way]) for way in HANDOFF_WAYS],
         "whole program": [format_bytes(handoff.total_growth[way]) for way in HANDOFF_WAYS],
         "copies": [f"{handoff.copies(way):.2f}" for way in HANDOFF_WAYS]},
        index=pd.Index([HANDOFF_LABELS[way] for way in HANDOFF_WAYS], name="the array is"))
    return Table(frame, caption=(
        f"A {format_bytes(handoff.array_bytes)} array held by each of {handoff.receivers} "
        "forked pool workers: how much each worker's USS and the program's total (sum of "
        "PSS) grew from the idle pool to the pool holding it, and that growth in copies of "
        f"the array ({_median_of(result, 'handoff')})."))


def leak_table(result: Result, found: Findings) -> Table:
    leak = found.leak
    labels = leak_labels(leak.tasks_per_child, leak.executor_method)
    frame = pd.DataFrame(
        {"processes": [leak.workers[way] for way in LEAK_WAYS],
         "largest USS": [format_bytes(leak.peak(way)) for way in LEAK_WAYS],
         "time": [format_seconds(leak.elapsed[way]) for way in LEAK_WAYS]},
        index=pd.Index([labels[way] for way in LEAK_WAYS], name="one worker"))
    return Table(frame, caption=(
        f"{leak.tasks} tasks that each keep {format_bytes(leak.leak_bytes)} in a "
        f"module-level list, on a one-worker Pool ({leak.pool_method}) and executor "
        f"({leak.executor_method}): worker processes that ran them, the largest USS of a "
        "worker, and the time for all of them (one run each)."))


def spread_table(result: Result, found: Findings) -> Table:
    workers = found.sweep.workers
    rows = []
    for case in result.cases:
        params = case.params
        shown = (case.group in ("cow", "worker") and params.get("measure") == "uss"
                 or case.group == "total" and params["workers"] in (0, workers)
                 or case.group.startswith("handoff"))
        if not shown:
            continue
        summary = summarize(case.samples)
        rows.append({
            "group": case.group,
            "case": ", ".join(f"{key}={value}" for key, value in params.items()),
            "N": summary.n,
            "median": format_bytes(summary.median),
            "min – max": f"{format_bytes(summary.min)} – {format_bytes(summary.max)}",
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Spread of the memory readings: N readings (workers times runs), median and "
        "min-max."))


def total_figure(result: Result, found: Findings) -> Any:
    """The program's total against the number of workers, light and heavy main module."""
    import matplotlib.pyplot as plt

    sweep = found.sweep
    figure, panels = plt.subplots(1, 2, figsize=(10, 4.4), sharey=True, layout="constrained")
    counts = list(range(sweep.workers + 1))
    styles = {"fork": ("o", "-"), "fork_gc": ("s", "--"), "spawn": ("^", "-"),
              "forkserver": ("v", "--"), "forkserver_preload": ("D", ":"),
              "threads": ("x", "-")}
    for axes, (main, label) in zip(panels, MAIN_LABELS.items(), strict=True):
        for method in sweep.methods:
            if not sweep.has(main, method):
                continue
            marker, line = styles[method]
            axes.plot(counts, [total / 2**20 for total in sweep.totals[(main, method)]],
                      marker=marker, linestyle=line, label=METHOD_LABELS[method])
        axes.set_title(label)
        axes.set_xlabel("idle workers running")
        axes.set_xticks(counts)
        axes.grid(True, alpha=0.3)
    panels[0].set_ylabel("whole program, sum of PSS (MiB)")
    panels[1].legend(fontsize="small", loc="upper left")
    figure.suptitle("Memory of the whole program against the number of workers")
    return figure


def leak_figure(result: Result, found: Findings) -> Any:
    """The leaking worker's USS after every task, without and with a limit."""
    import matplotlib.pyplot as plt

    leak = found.leak
    labels = leak_labels(leak.tasks_per_child, leak.executor_method)
    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for way, marker in zip(LEAK_WAYS, ("o", "s", "^"), strict=True):
        series = leak.series[way]
        axes.plot(range(1, len(series) + 1), [uss / 2**20 for uss in series], marker=marker,
                  markersize=4, label=labels[way])
    axes.set_xlabel("tasks done")
    axes.set_ylabel("USS of the worker that ran it (MiB)")
    axes.set_title(f"A task that keeps {format_bytes(leak.leak_bytes)} each time")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    return figure


TABLES = {
    "memory-summary": summary_table,
    "memory-fork-table": fork_table,
    "memory-workers-table": workers_table,
    "memory-fill-table": fill_table,
    "memory-handoff-table": handoff_table,
    "memory-leak-table": leak_table,
    "memory-spread": spread_table,
}
FIGURES = {"memory-total-figure": total_figure, "memory-leak-figure": leak_figure}
