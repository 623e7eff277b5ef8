"""The pitfalls chapter's tables, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.pitfalls.analysis import Findings, outcome_text, summary_rows
from parbook.chapters.pitfalls.experiment import (
    COUNTER_LABELS,
    HAND_OVER_LABELS,
    IDLE_LABELS,
    MAIN_LIGHT_LABELS,
    NOTEBOOK_LABELS,
    TASK_LABELS,
)
from parbook.render.formatting import format_percent, format_ratio
from parbook.render.tables import Table, spread_table, time_cell

#: A cell for a case that has no such value (no pool, no parent's work, no tasks).
NOT_APPLICABLE = "–"


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page: the demonstrations are "
        "single runs, the times medians; each row is explained in a section below."))


def notebook_text(outcome: dict[str, Any]) -> str:
    """One short table cell for a notebook-cell child."""
    if outcome["finished"]:
        return "ran"
    killed = (f"pool hung; interrupted at {outcome['time_limit_s']:g} s" if outcome["killed"]
              else f"exit code {outcome['returncode']}")
    return f"{outcome['attribute_errors']} workers died (AttributeError); {killed}"


def outcome_rows(result: Result) -> list[dict[str, str]]:
    """Every pitfall and fix as a row, one column per start method: what happened."""
    methods = result.parameters["start_methods"]
    values = result.values
    rows = []
    for how, label in HAND_OVER_LABELS.items():
        rows.append({"handed to a worker": label,
                     **{m: outcome_text(values["hand_over"][m][how]) for m in methods}})
    for kind, label in COUNTER_LABELS.items():
        cells = {}
        for m in methods:
            counted = values["counters"][m]
            cells[m] = (f"{counted['distinct_ports'][kind]} distinct ports for "
                        f"{counted['environments']} environments")
        rows.append({"handed to a worker": label, **cells})
    for cell, label in NOTEBOOK_LABELS.items():
        rows.append({"handed to a worker": label,
                     **{m: notebook_text(values["notebook"][m][cell]) for m in methods}})
    for task, label in TASK_LABELS.items():
        rows.append({"handed to a worker": label,
                     **{m: outcome_text(values["tasks"][m][task]) for m in methods}})
    return rows


def pickling_table(result: Result, found: Findings) -> Table:
    return Table(pd.DataFrame(outcome_rows(result)), index=False, caption=(
        "What happened to each pitfall and fix under each start method, in this build."))


def main_light_table(result: Result, found: Findings) -> Table:
    own_work = {case.params["how"]: case for case in result.group("main_light_parent_work")}
    stretch = found.main_light.task_stretch
    rows = []
    for case in result.group("main_light"):
        how = case.params["how"]
        rows.append({
            "case": MAIN_LIGHT_LABELS[how],
            "workers": case.params["workers"] or NOT_APPLICABLE,
            "total time": time_cell(case.summary),
            "parent's own work": (time_cell(own_work[how].summary) if how in own_work
                                  else NOT_APPLICABLE),
            "task wall / CPU time": (format_ratio(stretch[how]) if stretch.get(how)
                                     else NOT_APPLICABLE),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "The same tasks with a parent that only dispatches or also computes "
        "(median of N runs)."))


def main_light_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "main_light",
                         labels={"how": MAIN_LIGHT_LABELS.get, "workers": str})
    return Table(frame, index=False,
                 caption="Every main-process case (total seconds): N runs, IQR, min-max.")


def idle_table(result: Result, found: Findings) -> Table:
    rows = [{"how the tasks are handed out": IDLE_LABELS[case.params["how"]],
             "total time": time_cell(case.summary),
             "workers' time spent idle": format_percent(
                 found.idle.idle_fraction[case.params["how"]])}
            for case in result.group("idle")]
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Uneven tasks on one worker per CPU (median of N runs; idle share estimated from "
        "the tasks' own timings)."))


def idle_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "idle", labels={"how": IDLE_LABELS.get})
    return Table(frame, index=False,
                 caption="Every uneven-task case (total seconds): N runs, IQR, min-max.")


TABLES = {
    "pitfalls-summary": summary_table,
    "pitfalls-pickling-table": pickling_table,
    "pitfalls-main-light-table": main_light_table,
    "pitfalls-main-light-spread": main_light_spread,
    "pitfalls-idle-table": idle_table,
    "pitfalls-idle-spread": idle_spread,
}
FIGURES: dict = {}
#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = {
    "pitfalls-hand-over": lambda result, found: found.hand_over.transcript(),
    "pitfalls-counters": lambda result, found: found.counters.transcript(),
    "pitfalls-notebook": lambda result, found: found.notebook.transcript(),
    "pitfalls-notebook-stderr-tail": lambda result, found: found.notebook.stderr_tail(),
    "pitfalls-notebook-imported": lambda result, found: found.notebook.imported_transcript(),
    "pitfalls-tasks": lambda result, found: found.tasks.transcript(),
}
