"""The queues-and-pipes chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.queues_and_pipes.analysis import (
    CLAIM_HIGH,
    CLAIM_LOW,
    Findings,
    outcome_text,
    summary_rows,
)
from parbook.chapters.queues_and_pipes.experiment import BACKEND_LABELS, DEMO_LABELS
from parbook.render.formatting import format_rate, format_ratio, format_size
from parbook.render.tables import Table, pivot_table, spread_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page: round trips are "
        "medians, the demonstrations single runs; each row is explained in a section below."))


def demos_table(result: Result, found: Findings) -> Table:
    """How each demonstration ended, one column per start method."""
    recorded = found.demos.recorded
    rows = {label: {method: outcome_text(name, outcome[name])
                    for method, outcome in recorded.items()}
            for name, label in DEMO_LABELS.items()}
    return Table(pd.DataFrame.from_dict(rows, orient="index"), caption=(
        "How each demonstration ended, per start method (one run each; times include "
        "starting the processes)."))


def latency_table(result: Result, found: Findings) -> Table:
    """Median round trip per message size and channel."""
    frame = pivot_table(result, "size_sweep", rows=("size",), column="backend",
                        row_labels={"size": format_size}, column_labels=BACKEND_LABELS)
    return Table(frame, caption=(
        "One round trip of one message, by message size (median per round trip)."))


def throughput_table(result: Result, found: Findings) -> Table:
    """The same medians as bytes carried per second."""
    sweep = found.sweep
    frame = pd.DataFrame.from_dict(
        {format_size(size): {label: format_rate(sweep.rate(size, backend))
                             for backend, label in BACKEND_LABELS.items()}
         for size in sweep.sizes}, orient="index")
    frame.index.name = "size"
    return Table(frame, caption=(
        "Bytes carried per second in round trips (from the medians above; MB/s = 10⁶ bytes "
        "per second)."))


def sweep_spread(result: Result, found: Findings) -> Table:
    """Spread of every size-sweep case."""
    frame = spread_table(result, "size_sweep", labels={
        "size": format_size, "backend": BACKEND_LABELS.get, "round_trips": str})
    return Table(frame, index=False, caption=(
        "Every size-sweep case (seconds per round trip): N runs, interquartile range and "
        "min-max."))


def ratio_table(result: Result, found: Findings) -> Table:
    """Queue / Pipe per size, beside article 003's claim."""
    claim = sources.PIPE_VS_QUEUE_CLAIM
    sweep, verdicts = found.sweep, found.sweep.verdicts
    frame = pd.DataFrame.from_dict({
        format_size(size): {
            "Queue / Pipe send (this build)": format_ratio(sweep.queue_over_pipe(size)),
            "Queue / Pipe send_bytes (this build)": format_ratio(sweep.queue_over_bytes(size)),
            "Pipe send / send_bytes (this build)": format_ratio(sweep.pipe_over_bytes(size)),
            f"article {claim.article.key}'s claim": f"{CLAIM_LOW:g}–{CLAIM_HIGH:g}×",
            "claim holds here": verdicts[size],
        } for size in sweep.sizes}, orient="index")
    frame.index.name = "size"
    return Table(frame, caption=(
        "Round-trip time of a Queue divided by that of a Pipe, from the medians above, beside "
        f"article 003's claim (machine {claim.machine}; message size not stated); the "
        "third column compares the Pipe's two ways of sending."))


def size_figure(result: Result, found: Findings) -> Figure:
    """Round-trip time against message size (log-log), and Queue/Pipe per size."""
    import matplotlib.pyplot as plt

    sweep = found.sweep
    sizes = list(sweep.sizes)
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for backend, label in BACKEND_LABELS.items():
        left.plot(sizes, [sweep.times[(s, backend)] for s in sizes], marker="o", label=label)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("message size (bytes)")
    left.set_ylabel("round trip (seconds, median)")
    left.set_title("One round trip, by message size")
    left.grid(True, which="major", alpha=0.3)
    left.legend(fontsize="small")
    ticks = [format_size(s) for s in sizes]
    left.set_xticks(sizes, ticks)
    left.minorticks_off()

    right.axhspan(CLAIM_LOW, CLAIM_HIGH, color="0.85",
                  label=f"article 003's claim: {CLAIM_LOW:g}–{CLAIM_HIGH:g}× (machine not stated)")
    right.axhline(1.0, color="0.3", linestyle=":", linewidth=1, label="equal (1×)")
    right.plot(sizes, [sweep.queue_over_pipe(s) for s in sizes], marker="o",
               label="Queue / Pipe send (this build)")
    right.plot(sizes, [sweep.queue_over_bytes(s) for s in sizes], marker="s",
               label="Queue / Pipe send_bytes (this build)")
    right.set_xscale("log", base=2)
    right.set_xticks(sizes, ticks)
    right.minorticks_off()
    right.set_ylim(bottom=0)
    right.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    right.set_xlabel("message size (bytes)")
    right.set_ylabel("Queue time / Pipe time")
    right.set_title("How much slower a Queue is")
    right.grid(True, which="major", alpha=0.3)
    right.legend(fontsize="small")
    return figure


TABLES = {
    "queues-and-pipes-summary": summary_table,
    "queues-and-pipes-demos-table": demos_table,
    "queues-and-pipes-latency-table": latency_table,
    "queues-and-pipes-throughput-table": throughput_table,
    "queues-and-pipes-sweep-spread": sweep_spread,
    "queues-and-pipes-ratio-table": ratio_table,
}
FIGURES = {
    "queues-and-pipes-size": size_figure,
}

#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = {
    "queues-and-pipes-basics": lambda result, found: found.demos.printed("basics"),
    "queues-and-pipes-hints": lambda result, found: found.demos.printed("hints"),
    "queues-and-pipes-no-sentinel": lambda result, found: found.demos.printed("no_sentinel"),
    "queues-and-pipes-too-few-sentinels":
        lambda result, found: found.demos.printed("too_few_sentinels"),
    "queues-and-pipes-sentinel-each": lambda result, found: found.demos.printed("sentinel_each"),
    "queues-and-pipes-join-order":
        lambda result, found: found.demos.printed("join_first_small", "join_first_large"),
    "queues-and-pipes-drain-first-large":
        lambda result, found: found.demos.printed("drain_first_large"),
    "queues-and-pipes-duplex": lambda result, found: found.demos.printed("duplex"),
    "queues-and-pipes-pipe-copies":
        lambda result, found: found.demos.printed("pipe_keep_copy", "pipe_close_copy"),
    "queues-and-pipes-child-ends":
        lambda result, found: found.demos.printed_under_every_method("child_one_end",
                                                                     "child_both_ends"),
}
