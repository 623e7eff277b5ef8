"""The overhead chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.overhead.analysis import Findings
from parbook.chapters.overhead.experiment import (
    BACKEND_LABELS,
    BODY_LABELS,
    CHANNEL_LABELS,
    PLACEMENT_LABELS,
    SWEEP_LABELS,
)
from parbook.render import figures
from parbook.render.formatting import format_seconds
from parbook.render.tables import Table, comparison_table, pivot_table, spread_table

#: The sweep's two phases: each parallel backend is timed beside its own serial baseline.
PHASE_LABELS = {"local": "timed beside the Pool", "ray": "timed beside Ray"}


def article_table(result: Result, found: Findings) -> Table:
    frame = comparison_table(
        result, "article", sources.OVERHEAD_TABLE,
        rows=("body", "workers"), column="backend",
        row_labels={"body": BODY_LABELS.get}, column_labels=BACKEND_LABELS,
    )
    return Table(frame, caption=(
        "Time to run all workers' tasks, start-up included: this build's median beside "
        f"article 000's single run ({sources.OVERHEAD_TABLE.machine}). "
        "Ratio = this build / article."))


def article_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "article", labels={
        "body": BODY_LABELS.get, "workers": str, "backend": BACKEND_LABELS.get,
    })
    return Table(frame, caption="Spread of every case above: N runs, interquartile range and "
                                "min-max.", index=False)


def startup_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(result, "startup", rows=("method",), column="processes",
                        column_labels={1: "1 process", 5: "5 processes", 10: "10 processes"})
    return Table(frame, caption="Time to start and join N processes that do nothing (median).")


def round_trip_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(result, "round_trip", rows=("channel",), column="placement",
                        row_labels={"channel": CHANNEL_LABELS.get},
                        column_labels=PLACEMENT_LABELS)
    return Table(frame, caption="One round trip of a tiny message to a running process "
                                "(median per round trip).")


def sweep_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "sweep", labels={
        "task_s": format_seconds, "tasks": str, "phase": PHASE_LABELS.get,
        "backend": SWEEP_LABELS.get,
    })
    return Table(frame, caption="Every sweep case: N runs, interquartile range and min-max of "
                                "the total time.", index=False)


def speedup_figure(result: Result, found: Findings) -> Any:
    """Speed-up over one process against task length, with each break-even marked."""
    cpus = found.setting.cpus
    return figures.speedup_figure(found.sweep.speedups, SWEEP_LABELS, found.sweep.break_even,
                                  cpus, title=f"Speed-up over one process, {cpus} workers")


TABLES = {
    "overhead-article-table": article_table,
    "overhead-article-spread": article_spread,
    "overhead-startup-table": startup_table,
    "overhead-round-trip-table": round_trip_table,
    "overhead-sweep-spread": sweep_spread,
}
FIGURES = {"overhead-speedup": speedup_figure}
