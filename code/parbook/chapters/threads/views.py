"""The threads chapter's tables, by the ids the page shows them under."""

from __future__ import annotations

import pandas as pd

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.threads.analysis import Findings, interpreter_rows
from parbook.chapters.threads.experiment import DISPATCH_LABELS, EXIT_LABELS, OVERLAP_LABELS
from parbook.render.formatting import format_ratio, format_seconds
from parbook.render.tables import Table, pivot_table, spread_table, time_cell


def summary_table(result: Result, found: Findings) -> Table:
    """The short answer's figures: handing a call to a thread, overlapping waits, exiting."""
    overlap = found.overlap
    waits = f"{overlap.waits} waits of {format_seconds(overlap.wait_s)}"
    rows = [
        ("one call on a new Thread (start + join)", result.case("dispatch", how="new_thread")),
        ("one call through a running ThreadPoolExecutor",
         result.case("dispatch", how="running_pool")),
        (f"{waits}, one after another", result.case("overlap", how="sequence")),
        (f"{waits} on a pool, one thread each", result.case("overlap", how="pool")),
        ("a program that ends while daemon workers sleep",
         result.case("interpreter_exit", kind="daemon")),
        ("a program that ends while non-daemon workers sleep",
         result.case("interpreter_exit", kind="non-daemon")),
    ]
    frame = pd.DataFrame([{"what": label, "time (median)": time_cell(case.summary)}
                          for label, case in rows])
    return Table(frame, index=False, caption=(
        "The chapter's measurements in short; the programs' times include starting Python."))


def exit_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "interpreter_exit", labels={"kind": EXIT_LABELS.get})
    return Table(frame, index=False, caption=(
        "Wall time of the child interpreter, start-up included: N runs, spread."))


def dispatch_table(result: Result, found: Findings) -> Table:
    rows = []
    for case in result.group("dispatch"):
        summary = case.summary
        rows.append({
            "how the call is run": DISPATCH_LABELS[case.params["how"]],
            "time per call": time_cell(summary),
            "relative to a plain call": format_ratio(summary.median / found.dispatch.direct),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Cost of handing one call that does nothing to a thread (median)."))


def overlap_table(result: Result, found: Findings) -> Table:
    frame = pivot_table(result, "overlap", rows=("waits",), column="how",
                        column_labels=OVERLAP_LABELS)
    return Table(frame, caption="Total time for the waits (median).")


def dispatch_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "dispatch", labels={"how": DISPATCH_LABELS.get})
    return Table(frame, index=False, caption=(
        "Spread of every dispatch case (seconds per call): N runs, IQR, min-max."))


TABLES = {
    "threads-summary": summary_table,
    "threads-exit-spread": exit_spread,
    "threads-dispatch-table": dispatch_table,
    "threads-overlap-table": overlap_table,
    "threads-dispatch-spread": dispatch_spread,
}
FIGURES: dict = {}
INTERPRETER_TABLES = {
    "threads-interpreters": interpreters.table(
        interpreter_rows, "What handing work to a thread costs, and how a program ends"),
}
#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = {
    "threads-interpreter-exit": lambda result, found: found.interpreter_exit.transcript(),
    "threads-bare-thread-error": lambda result, found: found.bare_thread_error.transcript(),
}
