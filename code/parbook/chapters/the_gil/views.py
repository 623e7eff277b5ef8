"""The GIL chapter's tables, by the ids the page shows them under."""

from __future__ import annotations

import pandas as pd

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.chapters.the_gil.analysis import Findings, interpreter_rows, summary_rows
from parbook.chapters.the_gil.experiment import (
    ARTICLE_LABELS,
    RELEASE_BACKENDS,
    RELEASE_WORKLOADS,
)
from parbook.render.formatting import format_seconds
from parbook.render.tables import Table, comparison_table, pivot_table, spread_table

SPREAD_CAPTION = "Spread of every case above: N runs, interquartile range and min-max."


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(summary_rows(found), columns=["what ran", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter measured while the page was built (medians; the sections below "
        "show every case and its spread, and article 001's figures in its own column)."))


def article_table(result: Result, found: Findings) -> Table:
    article = sources.GIL_TABLE
    iteration_counts = {case.params["iterations"] for case in result.group("article")}
    frame = comparison_table(
        result, "article", article, rows=("backend",), column="iterations",
        row_labels={"backend": ARTICLE_LABELS.get},
        column_labels={n: f"{found.article.loops} loops of {n:,} iterations"
                       for n in iteration_counts},
    )
    return Table(frame, caption=(
        "Time to run all loops: this build's median beside article 001's single run "
        f"({article.machine}). Ratio = this build / article. The article did not time a "
        "process pool; at quick (test) sizes the loops are shorter than the article's and "
        "its column is left empty."))


def article_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "article", labels={"backend": ARTICLE_LABELS.get,
                                                    "iterations": str})
    return Table(frame, caption=SPREAD_CAPTION, index=False)


def release_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(result, "release", rows=("workload",), column="backend",
                        row_labels={"workload": RELEASE_WORKLOADS.get},
                        column_labels=RELEASE_BACKENDS)
    return Table(frame, caption="Time for all tasks, one after another and on one thread "
                                "per usable CPU (median).")


def release_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "release", labels={
        "workload": RELEASE_WORKLOADS.get, "backend": RELEASE_BACKENDS.get, "workers": str})
    return Table(frame, caption=SPREAD_CAPTION, index=False)


def _interval_columns(result: Result) -> dict[float, str]:
    return {interval: f"interval {format_seconds(interval)}"
            for interval in result.parameters["switch_intervals_s"]}


def wake_up_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(
        result, "wake_up", rows=("busy",), column="interval_s",
        row_labels={"busy": lambda busy: "busy thread running" if busy else "no other thread"},
        column_labels=_interval_columns(result),
    )
    return Table(frame, caption=(f"How long one sleep of {format_seconds(found.switch.sleep)} "
                                 "really took (median over the sleeps), by switch interval."))


def switch_cost_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(result, "switch_cost", rows=("threads",), column="interval_s",
                        column_labels=_interval_columns(result))
    return Table(frame, caption="Time for two CPU-bound threads run at once, by switch "
                                "interval (median).")


TABLES = {
    "the-gil-summary": summary_table,
    "the-gil-article-table": article_table,
    "the-gil-article-spread": article_spread,
    "the-gil-release-table": release_table,
    "the-gil-release-spread": release_spread,
    "the-gil-wake-up-table": wake_up_table,
    "the-gil-switch-cost-table": switch_cost_table,
}
FIGURES: dict = {}
INTERPRETER_TABLES = {
    "the-gil-interpreters": interpreters.table(
        interpreter_rows, "Article 001's loops and the hashing tasks"),
}
