"""The processes chapter's tables, by the ids the page shows them under."""

from __future__ import annotations

import pandas as pd

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.processes import analysis
from parbook.chapters.processes.analysis import Findings, exit_code_text
from parbook.chapters.processes.experiment import DAEMON_LABELS, ENDING_LABELS, SCRIPT_LABELS
from parbook.chapters.processes.workload import ENDINGS
from parbook.render.formatting import format_seconds
from parbook.render.outputs import printout_views
from parbook.render.tables import Table, spread_table, time_cell


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def summary_table(result: Result, found: Findings) -> Table:
    """What the chapter's demonstrations showed, one row each."""
    endings, daemon, guard = found.endings, found.daemon, found.guard
    default = found.setup.start_method
    rows = {
        "a child died of an uncaught exception": (
            f"exitcode {exit_code_text(endings.seen('exception'))}; join() returned "
            f"normally, {format_seconds(endings.join[('exception', default)])} after the "
            "parent's word"),
        "the parent stopped a child with terminate()": (
            f"exitcode {exit_code_text(endings.seen('terminate'))}; nothing raised in the "
            "parent"),
        "the program ended while a daemon child slept": analysis.daemon_cell(daemon, "daemon"),
        "the program ended while a non-daemon child slept": analysis.daemon_cell(
            daemon, "non-daemon"),
    }
    for method in guard.methods:
        rows[f"a script without the main guard, under {method}"] = (
            analysis.guard_outcome_cell(guard, method))
    frame = pd.DataFrame({"what this build saw": rows})
    frame.index.name = "demonstration"
    return Table(frame, caption=(
        f"What the chapter's demonstrations showed (the default start method, {default}, "
        "unless one is named); the sections below show each."))


def exit_table(result: Result, found: Findings) -> Table:
    """One row per ending: the exitcode the parent saw, and the join wait per start method."""
    rows = []
    for ending in ENDINGS:
        row = {"how the child ended": ENDING_LABELS[ending],
               "exitcode": exit_code_text(found.endings.seen(ending))}
        for method in found.endings.methods:
            case = result.case("exit", ending=ending, method=method)
            row[f"join wait, {method}"] = time_cell(case.summary)
        rows.append(row)
    return Table(pd.DataFrame(rows), index=False, caption=(
        "How each child ended, the exitcode its parent saw (the same in every round and "
        "under every start method), and how long join() waited after the parent's word or "
        "signal (median)."))


def exit_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "exit", labels={"ending": ENDING_LABELS.get, "method": str})
    return Table(frame, index=False,
                 caption="Spread of every join wait above (seconds): N runs, IQR, min-max.")


def daemon_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "daemon_exit", labels={"kind": DAEMON_LABELS.get})
    return Table(frame, index=False, caption=("Wall time of the program with a sleeping child, "
                                              "start-up included: N runs, spread."))


def names_table(result: Result, found: Findings) -> Table:
    """One row per start method: the children's names and who they said their parent was."""
    rows = []
    for method, family in found.families.items():
        rows.append({
            "start method": method,
            "name given with name=": family.named.name,
            "name left to default": family.unnamed.name,
            "os.getppid() is the parent's PID": _yes_no(family.ppid_is_parent),
            "parent_process().pid is the parent's PID":
                _yes_no(family.parent_process_is_parent),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "What two children said about themselves (one run per start method)."))


def guard_table(result: Result, found: Findings) -> Table:
    """One row per script and start method: what happened, and the script's wall time."""
    guard = found.guard
    rows = []
    for script, label in SCRIPT_LABELS.items():
        for method in guard.methods:
            run = guard.runs[(script, method)]
            rows.append({
                "script": label,
                "start method": method,
                "top level ran": f"{run.top_level_runs}×",
                "child's exitcode": ("none reported" if run.child_exitcode is None
                                     else run.child_exitcode),
                "errors on stderr": ", ".join(analysis.error_name(error)
                                              for error in run.errors_seen) or "none",
                "script's exit code": run.returncode,
                "wall time": time_cell(result.case("guard", script=script,
                                                   method=method).summary),
            })
    runs = ("one run each" if guard.runs_per_case == 1
            else f"median of {guard.runs_per_case} runs")
    return Table(pd.DataFrame(rows), index=False, caption=(
        "The two scripts under each start method: how often the top level ran, how the "
        f"child ended, and the script's wall time ({runs})."))


TABLES = {
    "processes-summary": summary_table,
    "processes-exit-table": exit_table,
    "processes-exit-spread": exit_spread,
    "processes-daemon-spread": daemon_spread,
    "processes-names-table": names_table,
    "processes-guard-table": guard_table,
}
FIGURES: dict = {}
INTERPRETER_TABLES = {
    "processes-interpreters": interpreters.table(
        analysis.interpreter_rows, "Starting a child from a script, and what forkserver "
        "imports"),
}


#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = printout_views(analysis.outputs, analysis.OUTPUT_IDS)
