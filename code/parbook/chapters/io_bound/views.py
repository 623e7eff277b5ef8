"""The IO-bound chapter's tables and figures, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.io_bound.analysis import (
    FIX_NAMES,
    Findings,
    summary_rows,
)
from parbook.chapters.io_bound.experiment import (
    FD_RESERVE,
    FIX_LABELS,
    KIND_HOW,
    KINDS,
    MEMORY_SHARE,
    PORT_SHARE,
    REQUEST_BUDGET_BYTES,
    THREAD_SHARE,
    WORK_LABELS,
    WORKS,
)
from parbook.render.formatting import (
    format_bytes,
    format_count,
    format_percent,
    format_runs,
    format_seconds,
)
from parbook.render.tables import UNSTABLE_MARK, Table, spread_table, time_cell

KIND_ROWS = {kind: f"{kind} ({how})" for kind, how in KIND_HOW.items()}
SPREAD_CAPTION = ("Spread of every batch time above: N runs, interquartile range and "
                  "min-max.")


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(summary_rows(found), columns=["what ran", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter measured while the page was built (medians; the sections below "
        "show every case)."))


def _count(value: int | None) -> str:
    return "not set" if value is None else format_count(value)


def limits_table(result: Result, found: Findings) -> Table:
    limits, caps = result.values["limits"], found.setting.caps
    rows = {
        "open files": (f"RLIMIT_NOFILE {_count(limits['open_files'])} (hard "
                       f"{_count(limits['open_files_hard'])})",
                       f"one descriptor per connection, less {FD_RESERVE} kept free"),
        "threads": (f"{_count(limits['threads_allowed'])} allowed (RLIMIT_NPROC, "
                    f"threads-max, pids.max), {_count(limits['threads_running'])} running",
                    f"{format_percent(THREAD_SHARE)} of those left, one thread per "
                    "connection"),
        "memory": (f"{format_bytes(limits['memory_available'])} available",
                   f"{format_percent(MEMORY_SHARE)} of it, "
                   f"{format_bytes(REQUEST_BUDGET_BYTES)} per waiting request"),
        "listen backlog": (f"somaxconn {_count(limits['listen_backlog'])}",
                           "connections that may wait to be accepted"),
        "ephemeral ports": (f"{_count(limits['ephemeral_ports'])} client ports",
                            f"{format_percent(PORT_SHARE)} of them"),
    }
    frame = pd.DataFrame(
        [(name, machine, rule, format_count(caps[name])) for name, (machine, rule)
         in rows.items() if name in caps],
        columns=["limit", "on this machine", "rule", "requests at once it allows"])
    top = found.setting
    return Table(frame, index=False, caption=(
        f"What bounds how many requests one client can hold waiting here. The top "
        f"concurrency measured is the lowest of these and the {top.wanted_top:,} asked for: "
        f"{top.top:,}, set by {top.bound_by}."))


def _level_columns(found: Findings) -> list[str]:
    return [f"{level:,}" for level in found.throughput.levels]


def throughput_table(result: Result, found: Findings) -> Table:
    through = found.throughput
    rows = {}
    for kind in KINDS:
        cells = []
        for level in through.levels:
            summary = result.case("batch", kind=kind, concurrency=level).summary
            cell = format_count(through.rate[(kind, level)])
            cells.append(f"{cell} {UNSTABLE_MARK}" if summary.unstable else cell)
        rows[KIND_ROWS[kind]] = cells
    rows["ideal: concurrency ÷ delay"] = [format_count(through.ideal(level))
                                          for level in through.levels]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=_level_columns(found))
    frame.index.name = "client"
    setting = found.setting
    return Table(frame, caption=(
        f"Requests per second, by requests at once (columns): each connection sent "
        f"{setting.rounds} requests one after another, each answered "
        f"{format_seconds(setting.delay_s)} after it arrived; "
        f"{format_runs(result.parameters['repeats'], 'median batch time')}, start-up left out."))


def startup_table(result: Result, found: Findings) -> Table:
    through = found.throughput
    frame = pd.DataFrame.from_dict(
        {KIND_ROWS[kind]: [time_cell(result.case("startup", kind=kind,
                                                 concurrency=level).summary)
                           for level in through.levels] for kind in KINDS},
        orient="index", columns=_level_columns(found))
    frame.index.name = "client"
    return Table(frame, caption=(
        "Time to get ready for that many connections (median): start every thread of the "
        "pool, start an event loop and as many tasks, or start a process pool of "
        f"{found.setting.process_workers} workers with an event loop each."))


def cpu_table(result: Result, found: Findings) -> Table:
    through = found.throughput
    rows = {KIND_ROWS[kind]: [format_seconds(through.cpu_per_request[(kind, level)])
                              for level in through.levels] for kind in KINDS}
    rows["server busy, during the fastest batch"] = [
        format_percent(through.server_busy[(through.ranking(level)[0], level)])
        for level in through.levels]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=_level_columns(found))
    frame.index.name = "client"
    return Table(frame, caption=(
        "CPU time the client spent per request during the batch (its process, and its "
        "workers for the process pool; median), and the share of that batch's time the "
        "server's process spent on the CPU."))


def memory_table(result: Result, found: Findings) -> Table:
    memory = found.memory
    labels = {"threads": "a thread, blocked in recv", "asyncio": "a coroutine, awaiting"}
    frame = pd.DataFrame(
        {"USS": [format_bytes(memory.per_request[(kind, "uss")]) for kind in labels],
         "RSS": [format_bytes(memory.per_request[(kind, "rss")]) for kind in labels],
         "address space (virtual size)": [format_bytes(memory.per_request[(kind, "vms")])
                                          for kind in labels],
         "Python objects (tracemalloc)": [format_bytes(memory.per_request[(kind, "traced")])
                                          for kind in labels]},
        index=pd.Index(list(labels.values()), name="one waiting request"))
    return Table(frame, caption=(
        f"What one waiting request added to the client's memory: {memory.count:,} requests "
        "held waiting in a fresh interpreter, its memory minus the same interpreter's before "
        "them, divided by their number (one run each). A process-pool worker with its "
        f"event loop held {format_bytes(memory.worker_uss)} of its own besides "
        f"({memory.method}, USS)."))


def blocked_table(result: Result, found: Findings) -> Table:
    loop = found.loop
    records = {}
    for work in WORKS:
        for fix in FIX_LABELS:
            key = (work, fix)
            records[(WORK_LABELS[work], FIX_LABELS[fix])] = {
                "latest tick": format_seconds(loop.late_max[key]),
                "median tick": format_seconds(loop.late_median[key]),
                "ticks": format_count(loop.ticks[key]),
                "jobs took": format_seconds(loop.elapsed[key]),
                "right": "yes" if loop.correct[key] else "no",
            }
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records), names=["work", "how"])
    return Table(frame, caption=(
        f"A heartbeat due every {format_seconds(loop.period_s)} on the event loop while "
        f"{loop.jobs} jobs (pure Python, which holds the GIL; a blocking client call and "
        "hashing, which let go of it) ran, each sized to take about "
        f"{format_seconds(loop.job_s)} when the run began: how late its latest and its "
        "median tick came, how many ticks came while the jobs ran, how long the jobs "
        "really took, and whether every job returned what it should"
        f" ({format_runs(result.parameters['heartbeat_repeats'])})."))


def spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "batch", labels={"kind": str, "concurrency": format_count,
                                                  "requests": format_count})
    return Table(frame, caption=SPREAD_CAPTION, index=False)


MARKERS = {"threads": "o", "asyncio": "s", "processes": "^"}


def throughput_figure(result: Result, found: Findings) -> Any:
    """Requests per second against requests at once, one line per kind, and the ideal."""
    import matplotlib.pyplot as plt

    through = found.throughput
    levels = list(through.levels)
    figure, axes = plt.subplots(figsize=(7.5, 4.4), layout="constrained")
    for kind in KINDS:
        axes.plot(levels, [through.rate[(kind, level)] for level in levels],
                  marker=MARKERS[kind], label=kind)
    axes.plot(levels, [through.ideal(level) for level in levels], color="0.5",
              linestyle="--", linewidth=1,
              label=f"ideal: requests at once ÷ {format_seconds(through.delay_s)}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(lambda value, _pos: f"{value:,.0f}")
    axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:,.0f}")
    axes.set_xlabel("requests at once (open connections)")
    axes.set_ylabel("requests per second")
    axes.set_title("Throughput of three kinds of client against one slow server")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    return figure


def heartbeat_figure(result: Result, found: Findings) -> Any:
    """How late each heartbeat tick came while pure-Python jobs ran, for each way."""
    import matplotlib.pyplot as plt

    beats = result.values["beats"]["python"]
    loop = found.loop
    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for fix, marker in zip(FIX_LABELS, ("o", "s", "^"), strict=True):
        lateness = [max(late, 1e-6) * 1e3 for late in beats[fix]]
        axes.plot(range(1, len(lateness) + 1), lateness, marker=marker, linestyle="none",
                  label=f"{FIX_NAMES[fix]} ({len(lateness)} "
                        f"{'tick' if len(lateness) == 1 else 'ticks'})")
    axes.axhline(loop.period_s * 1e3, color="0.5", linestyle=":", linewidth=1,
                 label=f"one period ({format_seconds(loop.period_s)})")
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}")
    axes.set_xlabel("heartbeat tick during the jobs")
    axes.set_ylabel("how late the tick came (ms)")
    axes.set_title(f"{loop.jobs} pure-Python jobs beside a heartbeat (last run)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="upper right")
    return figure


TABLES = {
    "io-bound-summary": summary_table,
    "io-bound-limits": limits_table,
    "io-bound-throughput": throughput_table,
    "io-bound-startup": startup_table,
    "io-bound-cpu": cpu_table,
    "io-bound-memory": memory_table,
    "io-bound-blocked": blocked_table,
    "io-bound-spread": spread,
}
FIGURES = {
    "io-bound-throughput-figure": throughput_figure,
    "io-bound-heartbeat-figure": heartbeat_figure,
}
