"""The races-and-locks chapter's tables, by the ids the page shows them under."""

from __future__ import annotations

import pandas as pd

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.chapters.races_and_locks.analysis import Findings, interpreter_rows, summary_rows
from parbook.chapters.races_and_locks.experiment import COST_LABELS, NO_PAUSE_LABELS
from parbook.render.formatting import format_per_second, format_ratio, format_seconds
from parbook.render.tables import Table, spread_table, time_cell

#: What the article did not measure: it ran no thread with a lock.
NOT_MEASURED = "–"


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(summary_rows(found), columns=["what ran", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter measured while the page was built; the sections below show "
        "each run and its spread."))


def race_table(result: Result, found: Findings) -> Table:
    reported, race = sources.RACE_TABLE, found.race
    rows = [{"who": f"article 001: {row['run']}", "threads": f"{row['threads']:,}",
             "without a lock": f"{row['value']:,}", "with a lock": NOT_MEASURED}
            for row in reported.rows]
    for index, (unlocked, locked) in enumerate(
            zip(race.unlocked_counts, race.locked_counts, strict=True), start=1):
        rows.append({"who": f"this build, run {index}", "threads": f"{race.threads:,}",
                     "without a lock": f"{unlocked:,}", "with a lock": f"{locked:,}"})
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Final count after one thread per increment (it should equal the number of "
        f"threads). Article 001's figures are single runs ({reported.machine})."))


def no_pause_table(result: Result, found: Findings) -> Table:
    no_pause = found.no_pause
    rows = []
    for index in range(no_pause.runs):
        row = {"run": str(index + 1)}
        for loop, label in NO_PAUSE_LABELS.items():
            row[f"lost: {label}"] = f"{no_pause.lost[loop][index]:,}"
        rows.append(row)
    gil = "GIL on" if no_pause.gil_enabled else "GIL off"
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"Increments lost in each run: {no_pause.threads} threads, released together, each "
        f"add one {no_pause.increments:,} times with no pause ({no_pause.total:,} in all). "
        f"Python {no_pause.python_version}, {gil}, switch interval "
        f"{format_seconds(no_pause.switch_interval_s)}."))


def cost_table(result: Result, found: Findings) -> Table:
    no_lock = found.lock_cost.seconds_per_op["no_lock"]
    rows = []
    for case in result.group("lock_cost"):
        summary = case.summary
        rows.append({
            "case": COST_LABELS[case.params["case"]],
            "time per increment": time_cell(summary),
            "increments per second": format_per_second(1 / summary.median),
            "relative to no lock": format_ratio(summary.median / no_lock),
        })
    return Table(pd.DataFrame(rows), index=False,
                 caption="Cost of one increment of a shared counter (median of N runs).")


def cost_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "lock_cost", labels={"case": COST_LABELS.get, "threads": str})
    return Table(frame, index=False, caption=(
        "Spread of every lock-cost case (seconds per increment): N runs, IQR, min-max."))


TABLES = {
    "races-and-locks-summary": summary_table,
    "races-and-locks-race-table": race_table,
    "races-and-locks-no-pause-table": no_pause_table,
    "races-and-locks-cost-table": cost_table,
    "races-and-locks-cost-spread": cost_spread,
}
FIGURES: dict = {}
#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = {
    "races-and-locks-reentry": lambda result, found: found.reentry.transcript(),
    "races-and-locks-deadlock-opposite-order":
        lambda result, found: found.deadlock.transcript("opposite_order"),
    "races-and-locks-deadlock-global-order":
        lambda result, found: found.deadlock.transcript("global_order"),
    "races-and-locks-deadlock-timeout-backoff":
        lambda result, found: found.deadlock.transcript("timeout_backoff"),
}
INTERPRETER_TABLES = {
    "races-and-locks-interpreters": interpreters.table(
        interpreter_rows, "Lost updates without a lock, and what a lock costs"),
}
