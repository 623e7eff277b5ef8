"""The processes-and-threads chapter's tables, figure and recorded printout, by the ids the
page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.processes_and_threads.analysis import (
    Findings,
    exit_code_cell,
    interpreter_rows,
    speedup_curves,
)
from parbook.chapters.processes_and_threads.experiment import BACKEND_LABELS, KIND_LABELS, KINDS
from parbook.chapters.processes_and_threads.failures import FAILURES
from parbook.render.formatting import format_ratio, format_seconds
from parbook.render.tables import Table, pivot_table, spread_table, time_cell


def _workers_label(workers: int) -> str:
    return f"{workers} worker{'s' if workers > 1 else ''}"


def summary_table(result: Result, found: Findings) -> Table:
    """The short answer's figures: each way of running each kind of task, at its best."""
    rows = []
    for kind in KINDS:
        times = found.kind(kind)
        serial = result.case("tasks", kind=kind, backend="serial")
        rows.append({"tasks": KIND_LABELS[kind], "run on": BACKEND_LABELS["serial"],
                     "workers": 1, "time (median)": time_cell(serial.summary),
                     "speed-up": format_ratio(1.0)})
        for pool in ("threads", "processes"):
            workers, speedup = times.best(pool)
            case = result.case("tasks", kind=kind, backend=pool, workers=workers)
            rows.append({"tasks": KIND_LABELS[kind], "run on": BACKEND_LABELS[pool],
                         "workers": workers, "time (median)": time_cell(case.summary),
                         "speed-up": format_ratio(speedup)})
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"{found.batch.tasks} tasks of about {format_seconds(found.batch.task_s)} each, on "
        f"{found.setting.cpus} usable CPUs: each pool at its best worker count, pool start-up "
        "included. Speed-up over one after another (ratio of medians)."))


def failure_table(result: Result, found: Findings) -> Table:
    """How each failure demonstration ended: the failing process, the program, the others."""
    rows = []
    for (where, how), run in found.failures.runs.items():
        rows.append({
            "the faulty code": FAILURES[how],
            "ran in": f"a {where}",
            "exit code of the process it ran in": exit_code_cell(run.failed_process_code,
                                                                 run.killed),
            "the program's exit code": exit_code_cell(run.returncode, run.killed),
            "healthy threads that finished": f"{run.finished} of {run.workers}",
            "main thread reached its end": "yes" if run.reached_end else "no",
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "What one failure ended, in a fresh Python program each time: healthy threads "
        f"working {format_seconds(found.failures.work_s)} beside one faulty thread or child "
        "process. A negative exit code is the signal that killed the process."))


def times_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(
        result, "tasks", rows=("kind", "backend"), column="workers",
        row_labels={"kind": KIND_LABELS.get, "backend": BACKEND_LABELS.get},
        column_labels={w: _workers_label(w) for w in found.batch.worker_counts},
    )
    return Table(frame, caption=(
        f"Time to run {found.batch.tasks} tasks, pool start-up and shut-down included "
        "(median). One after another uses a single worker."))


def speedup_table(result: Result, found: Findings) -> Table:
    """Speed-ups over serial: one row per (kind, pool), one column per worker count."""
    records = {
        (KIND_LABELS[kind], BACKEND_LABELS[pool]): {
            _workers_label(w): format_ratio(s) for w, s in points
        }
        for (kind, pool), points in speedup_curves(found).items()
    }
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records), names=["tasks", "run on"])
    return Table(frame, caption="Speed-up over running the same tasks one after another "
                                "(ratio of medians).")


def spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "tasks", labels={
        "kind": KIND_LABELS.get, "backend": BACKEND_LABELS.get, "workers": str,
    })
    return Table(frame, caption="Spread of every case above: N runs, interquartile range and "
                                "min-max.", index=False)


def speedup_figure(result: Result, found: Findings) -> Any:
    """Two panels (IO-bound, CPU-bound): speed-up over serial against worker count."""
    import matplotlib.pyplot as plt

    cpus = found.setting.cpus
    counts = list(found.batch.worker_counts)
    curves = speedup_curves(found)
    figure, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained", sharey=True)
    for ax, kind in zip(axes, KINDS, strict=True):
        for pool, marker in (("threads", "o"), ("processes", "s")):
            points = curves[(kind, pool)]
            ax.plot([w for w, _ in points], [s for _, s in points], marker=marker,
                    label=BACKEND_LABELS[pool])
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


TABLES = {
    "processes-and-threads-summary": summary_table,
    "processes-and-threads-failure-table": failure_table,
    "processes-and-threads-times-table": times_table,
    "processes-and-threads-speedup-table": speedup_table,
    "processes-and-threads-spread": spread,
}
FIGURES = {"processes-and-threads-speedup": speedup_figure}
#: What the failure demonstrations printed, as they printed it.
OUTPUTS = {
    "processes-and-threads-failures": lambda result, found: found.failures.transcript(),
}
INTERPRETER_TABLES = {
    "processes-and-threads-interpreters": interpreters.table(
        interpreter_rows, "The same IO-bound and CPU-bound tasks on threads and processes"),
}
