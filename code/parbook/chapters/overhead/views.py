"""The overhead chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.overhead.analysis import Findings, summary_rows
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


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page (medians, except the "
        "first Ray actor: one run); each row is explained in a section below."))


def article_table(result: Result, found: Findings) -> Table:
    frame = comparison_table(
        result, "article", sources.OVERHEAD_TABLE,
        rows=("body", "workers"), column="backend",
        row_labels={"body": BODY_LABELS.get}, column_labels=BACKEND_LABELS,
    )
    return Table(frame, caption=(
        "Time to run all workers' tasks, start-up included: this build's median beside "
        f"article 000's single run ({sources.OVERHEAD_TABLE.machine}). "
        "Ratio = this build / article. The middle rows sleep 0.1 ms, as the article's code "
        "does. This build's Ray actors are killed after every run, so each run starts new "
        "worker processes."))


def ray_first_use_table(result: Result, found: Findings) -> Table:
    """The first Ray actors after ray.init against actors created again later."""
    first_use = found.first_use
    article = sources.OVERHEAD_TABLE
    rows = {
        f"{workers} {'actor' if workers == 1 else 'actors'}": {
            "first actors after ray.init (one run)": format_seconds(first_use.first[workers]),
            "created again later (median)": format_seconds(first_use.again[workers]),
            "article 000 (its script's first actors)": format_seconds(
                article.lookup(body="return", workers=workers, backend="ray_actors")),
        }
        for workers in sorted(first_use.first)
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "return at once"
    return Table(frame, caption=(
        "Creating Ray actors and calling each once, start-up included: the first actors of "
        "a fresh Ray session (each count in a session of its own) against the same created "
        f"again after earlier actors were killed; article 000 ({article.machine}) beside."))


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
    "overhead-summary": summary_table,
    "overhead-article-table": article_table,
    "overhead-ray-first-use-table": ray_first_use_table,
    "overhead-article-spread": article_spread,
    "overhead-startup-table": startup_table,
    "overhead-round-trip-table": round_trip_table,
    "overhead-sweep-spread": sweep_spread,
}
FIGURES = {"overhead-speedup": speedup_figure}
