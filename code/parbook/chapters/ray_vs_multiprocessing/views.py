"""The Ray-against-multiprocessing chapter's tables and figure, by the ids the page shows
them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.ray_vs_multiprocessing.analysis import Findings
from parbook.chapters.ray_vs_multiprocessing.experiment import (
    STARTUP_LABELS,
    VERSION_LABELS,
    WORKLOAD_LABELS,
)
from parbook.render.formatting import format_ratio, format_seconds
from parbook.render.tables import Table, spread_table, time_cell


def version_frame(result: Result, workload: str) -> pd.DataFrame:
    """One workload: each version's median time and its speed-up over serial."""
    serial = result.median("runs", workload=workload, version="serial")
    rows = []
    for version, label in VERSION_LABELS.items():
        summary = result.case("runs", workload=workload, version=version).summary
        rows.append({"version": label, "time": time_cell(summary),
                     "speed-up over serial": format_ratio(serial / summary.median)})
    return pd.DataFrame(rows)


def summary_table(result: Result, found: Findings) -> Table:
    """The short answer's figures: every workload's four times, and the fair version's
    time as a multiple of Ray's."""
    rows = []
    for workload, workload_label in WORKLOAD_LABELS.items():
        times = found.times[workload]
        row = {"workload": workload_label}
        row.update({label: time_cell(result.case("runs", workload=workload,
                                                  version=version).summary)
                    for version, label in VERSION_LABELS.items()})
        row["fair ÷ Ray"] = format_ratio(times.ray_over_fair)
        rows.append(row)
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"Each workload's whole job on {found.method.workers} workers (median of N runs; "
        "start-up excluded). The last column is the fair multiprocessing time as a multiple "
        "of Ray's: above 1× Ray was faster, below 1× the fair version was."))


def numerical_table(result: Result, found: Findings) -> Table:
    numerical, workers = found.numerical, found.method.workers
    side = numerical.image_side
    return Table(version_frame(result, "numerical"), index=False, caption=(
        f"Numerical data: {numerical.rounds} rounds of {workers} convolutions of a "
        f"{side}×{side} image (median of N runs; start-up excluded)."))


def stateful_table(result: Result, found: Findings) -> Table:
    stateful = found.stateful
    return Table(version_frame(result, "stateful"), index=False, caption=(
        f"Stateful computation: {stateful.documents} documents of {stateful.words:,} words "
        f"on {found.method.workers} counters (median of N runs; start-up excluded)."))


def initialisation_table(result: Result, found: Findings) -> Table:
    model = found.initialisation
    return Table(version_frame(result, "initialisation"), index=False, caption=(
        f"Expensive initialisation: {model.batches} batches of {model.batch} images on "
        f"{found.method.workers} workers (median of N runs; start-up, including the fair "
        "versions' and Ray's one load per worker, excluded)."))


def startup_table(result: Result, found: Findings) -> Table:
    """Every one-off cost kept out of the timed runs."""
    frame = pd.DataFrame([{"what": STARTUP_LABELS[what], "time": format_seconds(cost)}
                          for what, cost in found.startup.costs.items()])
    return Table(frame, index=False, caption="One-off start-up costs, kept out of the timed "
                                             "runs (one measurement each).")


def article_table(result: Result, found: Findings) -> Table:
    """Every workload and version: this build's time and speed-up beside the article's."""
    workers, machine = found.method.workers, found.article.machine
    ours_time = f"this build ({workers} workers): time"
    ours_speed = f"this build ({workers} workers): × serial"
    theirs_time = f"article 002 ({machine}): time"
    theirs_speed = f"article 002 ({machine}): × serial"
    rows = []
    for workload, workload_label in WORKLOAD_LABELS.items():
        times, article = found.times[workload], found.article.workloads[workload]
        for version, version_label in VERSION_LABELS.items():
            reported = article.time(version)
            rows.append({
                "workload": workload_label,
                "version": version_label,
                ours_time: format_seconds(times.time(version)),
                ours_speed: format_ratio(times.speedup(version)),
                theirs_time: "–" if reported is None else format_seconds(reported),
                theirs_speed: "–" if reported is None else format_ratio(article.serial / reported),
            })
    frame = pd.DataFrame(rows).set_index(["workload", "version"])
    return Table(frame, caption=(
        "Median time and speed-up over serial: this build beside article 002's single "
        f"figures ({machine}). The article had no fair multiprocessing version."))


def spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "runs", labels={"workload": WORKLOAD_LABELS.get,
                                                 "version": VERSION_LABELS.get})
    return Table(frame, index=False, caption="Spread of every timed case (seconds for the "
                                             "whole job): N runs, IQR, min-max.")


def speedup_figure(result: Result, found: Findings) -> Any:
    """Grouped bars: per workload, each version's speed-up over serial (this build).

    The axis is logarithmic, so a version ten times slower than serial is as visible as
    one ten times faster.
    """
    import matplotlib.pyplot as plt

    workers = found.method.workers
    speedups = {workload: {version: times.speedup(version) for version in VERSION_LABELS}
                for workload, times in found.times.items()}
    figure, axes = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
    width = 0.2
    every = [s for by_version in speedups.values() for s in by_version.values()]
    for index, (version, label) in enumerate(VERSION_LABELS.items()):
        positions = [group + (index - 1.5) * width for group in range(len(WORKLOAD_LABELS))]
        values = [speedups[workload][version] for workload in WORKLOAD_LABELS]
        bars = axes.bar(positions, values, width, label=label)
        axes.bar_label(bars, labels=[f"{v:.2g}×" for v in values], fontsize="x-small",
                       padding=2)
    axes.axhline(workers, color="0.5", linestyle="--", linewidth=1,
                 label=f"ideal ({workers} workers)")
    axes.set_yscale("log")
    axes.set_ylim(min(every) / 2, max(max(every), workers) * 2.5)
    axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    axes.set_xticks(range(len(WORKLOAD_LABELS)), list(WORKLOAD_LABELS.values()),
                    fontsize="small")
    axes.set_ylabel("speed-up over serial (log scale)")
    axes.set_title(f"Four versions of each workload on {workers} workers, this build")
    axes.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return figure


TABLES = {
    "ray-vs-multiprocessing-summary": summary_table,
    "ray-vs-multiprocessing-numerical-table": numerical_table,
    "ray-vs-multiprocessing-stateful-table": stateful_table,
    "ray-vs-multiprocessing-initialisation-table": initialisation_table,
    "ray-vs-multiprocessing-startup-table": startup_table,
    "ray-vs-multiprocessing-article-table": article_table,
    "ray-vs-multiprocessing-spread": spread,
}
FIGURES = {"ray-vs-multiprocessing-speedup": speedup_figure}
