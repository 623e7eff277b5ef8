"""The synchronization chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.synchronization.analysis import Findings, summary_rows
from parbook.chapters.synchronization.experiment import COST_LABELS, HOLD_LABELS
from parbook.render.formatting import format_ratio, format_seconds
from parbook.render.tables import Table, spread_table, time_cell

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page: the demonstrations are "
        "single runs, the costs medians; each row is explained in a section below."))


def lock_table(result: Result, found: Findings) -> Table:
    """Torn records and the writers' time, per lock scope."""
    files = found.shared_file
    rows = []
    for hold, label in HOLD_LABELS.items():
        run = files.runs[hold]
        summary = result.case("shared_file", hold_for=hold).summary
        rows.append({
            "the lock is held around": label,
            "records per run": run.records,
            "torn records (each run)": ", ".join(str(n) for n in run.torn_per_run),
            "lines written / expected (last run)": f"{run.lines} / {run.expected_lines}",
            "time, common start to last writer's end": time_cell(summary),
            "relative to no lock": format_ratio(summary.median / files.runs["nothing"].elapsed),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Writers appending multi-line records to one file: torn records per run, and the "
        "time the writers took (median)."))


def lock_spread(result: Result, found: Findings) -> Table:
    """Spread of the writers' time, per lock scope."""
    frame = spread_table(result, "shared_file",
                         labels={"hold_for": HOLD_LABELS.get, "writers": str})
    return Table(frame, index=False,
                 caption="Spread of the writers' time (seconds): N runs, IQR, min-max.")


def semaphore_table(result: Result, found: Findings) -> Table:
    """The visits to the room, without and with the semaphore."""
    semaphore = found.semaphore
    rows = [{
        "visits guarded by": label,
        "processes": visits.workers,
        "visits": visits.visits,
        "most inside at once": visits.most_inside,
        "mean wait for a place": format_seconds(visits.mean_wait_s),
        "time, common start to last exit": format_seconds(visits.elapsed_s),
    } for label, visits in (("no semaphore", semaphore.unguarded),
                            (f"Semaphore({semaphore.places})", semaphore.limited))]
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Processes visiting a room, from the timestamps they recorded (one run of each)."))


def event_table(result: Result, found: Findings) -> Table:
    """Every car's trip and the light's colour when it arrived and left."""
    seconds = format_seconds
    rows = [{
        "car": trip.car,
        "arrived": seconds(trip.arrived),
        "light on arrival": trip.light_on_arrival,
        "outcome": trip.outcome,
        "at": seconds(trip.at),
        "waited": seconds(trip.waited),
        "light at that moment": trip.light_then,
    } for trip in found.traffic.trips]
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Every car's trip, in seconds since the common start, with the light's colour from "
        "its own record (one run)."))


def barrier_table(result: Result, found: Findings) -> Table:
    """Every worker at the barrier, with all parties and with one missing."""
    seconds = format_seconds
    runs = (("all parties", found.barriers.complete),
            ("one party missing", found.barriers.missing_party))
    rows = [{
        "run": label,
        "worker": worker.worker,
        "set-up": seconds(worker.setup_s),
        "arrived at the barrier": seconds(worker.arrived),
        "left it": seconds(worker.left),
        "wait() ended with": worker.outcome,
    } for label, run in runs for worker in run.workers]
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Workers meeting at a Barrier, in seconds since the common start (one run of each)."))


def lock_cost_table(result: Result, found: Findings) -> Table:
    """Time per acquire + release, per lock-cost case, against a thread lock."""
    rows = [{
        "case": COST_LABELS[case.params["case"]],
        "time per acquire + release": time_cell(case.summary),
        "relative to threading.Lock": format_ratio(found.lock_cost.ratio(case.params["case"])),
    } for case in result.group("lock_cost")]
    return Table(pd.DataFrame(rows), index=False,
                 caption="Cost of one acquire and release of a lock (median).")


def lock_cost_spread(result: Result, found: Findings) -> Table:
    """Spread of every lock-cost case."""
    frame = spread_table(result, "lock_cost",
                         labels={"case": COST_LABELS.get, "operations": str})
    return Table(frame, index=False, caption=(
        "Spread of every lock-cost case (seconds per operation): N runs, IQR, min-max."))


def start_methods_table(result: Result, found: Findings) -> Table:
    """Every demonstration's verdict, one row per start method."""
    seconds = format_seconds
    rows = {}
    for method, verdict in found.start_methods.items():
        label = (f"{method} (the runs above)" if method == found.setup.start_method
                 else method)
        rows[label] = {
            "torn records, no lock": f"{verdict.torn_without_lock} of {verdict.records}",
            "torn records, with lock": f"{verdict.torn_with_lock} of {verdict.records}",
            "most inside (limit)": f"{verdict.most_inside} ({verdict.places})",
            "cars passed on red": verdict.cars_on_red,
            "barrier: leave skew / arrival spread":
                f"{seconds(verdict.barrier_skew_s)} / {seconds(verdict.barrier_spread_s)}",
            "missing party: BrokenBarrierError":
                f"{verdict.broken_barrier} of {verdict.broken_started}",
            "dead holder: acquire timed out":
                f"{verdict.dead_holder_timed_out} of {verdict.dead_holder_attempts}",
            "every process exited by itself": "yes" if verdict.all_exited_cleanly else "NO",
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "start method"
    return Table(frame, caption=(
        "Every demonstration's verdict under each start method (one run each)."))


def occupancy_figure(result: Result, found: Findings) -> Figure:
    """How many processes were inside, over time, without and with the semaphore."""
    import matplotlib.pyplot as plt

    semaphore = found.semaphore
    places = semaphore.places
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained", sharey=True)
    panels = (("no semaphore", semaphore.unguarded),
              (f"Semaphore({places})", semaphore.limited))
    for ax, (title, visits) in zip(axes, panels, strict=True):
        steps = visits.occupancy
        ax.step([moment * 1000 for moment, _ in steps], [inside for _, inside in steps],
                where="post", linewidth=1.5)
        ax.axhline(places, color="0.4", linestyle="--", linewidth=1,
                   label=f"the semaphore's limit ({places})")
        ax.set_title(f"{title}: at most {visits.most_inside} inside")
        ax.set_xlabel("milliseconds since the common start")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", loc="lower center")
    axes[0].set_ylabel("processes inside")
    axes[0].set_ylim(0, semaphore.unguarded.workers + 0.5)
    return figure


TABLES = {
    "synchronization-summary": summary_table,
    "synchronization-lock-table": lock_table,
    "synchronization-lock-spread": lock_spread,
    "synchronization-semaphore-table": semaphore_table,
    "synchronization-event-table": event_table,
    "synchronization-barrier-table": barrier_table,
    "synchronization-lock-cost-table": lock_cost_table,
    "synchronization-lock-cost-spread": lock_cost_spread,
    "synchronization-start-methods-table": start_methods_table,
}
FIGURES = {
    "synchronization-occupancy": occupancy_figure,
}

#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = {
    "synchronization-shared-file-first-lines":
        lambda result, found: found.shared_file.first_lines(),
    "synchronization-dead-holder-report": lambda result, found: found.dead_holder.report(),
    "synchronization-traffic-light-report": lambda result, found: found.traffic.light_report(),
}
