"""The failures chapter's tables and recorded printouts, by the ids the page shows them under."""

from __future__ import annotations

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.failures import analysis
from parbook.chapters.failures.analysis import Findings
from parbook.chapters.failures.experiment import FAILURE_LABELS, KILL_LABELS
from parbook.render.formatting import format_seconds
from parbook.render.outputs import printout_views
from parbook.render.tables import Table, spread_table


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(analysis.summary_rows(found), columns=["what went wrong",
                                                                "what the caller saw here"])
    return Table(frame, index=False, caption=(
        f"What this chapter's demonstrations did on the machine that built this page "
        f"({found.machine.cpus} usable CPUs, Python {found.machine.python_version}, Ray "
        f"{found.machine.ray_version}, default start method {found.machine.start_method}); "
        "each row is explained in a section below."))


def errors_table(result: Result, found: Findings) -> Table:
    rows = analysis.errors_rows(found.errors)
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["API", "the task raised"])
    return Table(frame, caption=(
        "What the parent got when a task raised, under each start method (each API in a "
        f"fresh interpreter; a wait for a result gave up after "
        f"{format_seconds(found.errors.wait_s)})."))


def ray_errors_table(result: Result, found: Findings) -> Table:
    rows = {FAILURE_LABELS[failure]: {"what ray.get raised": found.errors.ray_cell(failure)}
            for failure in FAILURE_LABELS}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "the task raised"
    return Table(frame, caption="The same four tasks as Ray tasks (Ray starts its workers "
                                "itself; there is no start method to choose).")


def kill_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(analysis.kill_rows(found.kills))
    return Table(frame, index=False, caption=(
        f"A worker killed with SIGKILL right after it started a task of "
        f"{format_seconds(found.kills.task_s)} (start method {found.machine.start_method} "
        "for the multiprocessing rows): what the waiting caller got, and how long after the "
        "kill (median of the runs; a retried call includes running the task again)."))


def kill_spread(result: Result, found: Findings) -> Table:
    labels = {"api": KILL_LABELS.get}
    frame = pd.concat([spread_table(result, "recovery", labels=labels),
                       spread_table(result, "actor_answer", labels=labels)],
                      ignore_index=True)
    return Table(frame, index=False, caption=(
        "Spread of the times above: from the kill to the call's outcome (first rows) and, "
        "for actors that came back, to the answer of a new call (last rows)."))


def interrupt_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(analysis.interrupt_rows(found.interrupts))
    interrupts = found.interrupts
    return Table(frame, index=False, caption=(
        f"SIGINT sent to the process group of a child running {interrupts.tasks} tasks of "
        f"{format_seconds(interrupts.task_s)} on two workers, once two tasks had started "
        f"(a time limit of {format_seconds(interrupts.limit_s)} after the signal; the Ray "
        "driver's tasks were long ones). Ended: how the child ended. None left after: when "
        "no process of the child's session remained, checked with psutil (for the Ray "
        "driver, its own). Worker tracebacks: workers that began printing one. Tasks done: "
        "tasks that ran to their end."))


def logging_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame.from_dict(analysis.logging_rows(found.logging), orient="index")
    frame.index.name = "how the workers logged"
    logging = found.logging
    return Table(frame, caption=(
        f"Records found intact in the log file, of {logging.workers} worker processes "
        f"logging {logging.records:,} numbered records each at the same time, under each "
        "start method."))


TABLES = {
    "failures-summary": summary_table,
    "failures-errors-table": errors_table,
    "failures-ray-errors-table": ray_errors_table,
    "failures-kill-table": kill_table,
    "failures-kill-spread": kill_spread,
    "failures-interrupt-table": interrupt_table,
    "failures-logging-table": logging_table,
}
FIGURES: dict = {}
OUTPUTS = printout_views(analysis.printouts, (
    "failures-process-traceback", "failures-pool-traceback", "failures-error-messages",
    "failures-result-thread", "failures-ctrl-c-default"))
