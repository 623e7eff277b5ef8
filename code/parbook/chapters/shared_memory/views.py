"""The shared-memory chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.shared_memory import analysis
from parbook.chapters.shared_memory.analysis import Findings
from parbook.chapters.shared_memory.experiment import (
    COST_LABELS,
    EXCHANGE_LABELS,
    HANDOFF_LABELS,
    OP_LABELS,
    TOUCH_LABELS,
)
from parbook.render.formatting import format_count, format_ratio, format_seconds
from parbook.render.outputs import printout_views
from parbook.render.tables import Table, spread_view, time_cell


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(analysis.summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page: times are medians, "
        "the demonstrations single runs under every start method; each row is explained in "
        "a section below."))


def _relative(result: Result, group: str, key: str, labels: dict[str, str],
              floor: float, headers: tuple[str, str, str]) -> pd.DataFrame:
    """One row per case of ``group``: its label, its median, and that over ``floor``."""
    label_header, time_header, ratio_header = headers
    rows = [{label_header: labels[case.params[key]],
             time_header: time_cell(case.summary),
             ratio_header: format_ratio(case.summary.median / floor)}
            for case in result.group(group)]
    return pd.DataFrame(rows)


def counter_table(result: Result, found: Findings) -> Table:
    """The final count and time per update of the counter race, per start method."""
    counter = found.counter
    rows = []
    for method in found.setting.methods:
        bare, locked = counter.by_method[method]["no_lock"], counter.by_method[method]["get_lock"]
        rows.append({
            ("", "start method"): method,
            ("", "updates"): format_count(bare["expected"]),
            ("v.value += 1", "final count"): format_count(bare["counted"]),
            ("v.value += 1", "lost"): format_count(bare["expected"] - bare["counted"]),
            ("v.value += 1", "time per update"): format_seconds(
                counter.contended[(method, "no_lock")]),
            ("with v.get_lock():", "final count"): format_count(locked["counted"]),
            ("with v.get_lock():", "time per update"): format_seconds(
                counter.contended[(method, "get_lock")]),
        })
    frame = pd.DataFrame(rows)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return Table(frame, index=False, caption=(
        "Several processes adding one to a shared Value: the final count (one run per start "
        "method) and each worker's time per update (median of the workers)."))


def counter_cost_table(result: Result, found: Findings) -> Table:
    """Seconds per update of each kind of counter, relative to a RawValue."""
    frame = _relative(result, "counter_cost", "how", COST_LABELS, found.counter_cost.raw_value,
                      ("update", "time per update", "relative to RawValue"))
    return Table(frame, index=False,
                 caption="Cost of one update of a shared counter, one process (median).")


def manager_table(result: Result, found: Findings) -> Table:
    """Seconds per operation on a Manager dict proxy, relative to a local dict."""
    frame = _relative(result, "manager_ops", "op", OP_LABELS, found.manager.ops["local_set"],
                      ("operation", "time per operation", "relative to the local dict"))
    return Table(frame, index=False, caption=(
        "One operation on a Manager dict proxy against local and shared-ctypes equivalents, "
        "timed in turns (median)."))


def exchange_table(result: Result, found: Findings) -> Table:
    """Time for all results each way, relative to one queue message per result."""
    frame = _relative(result, "exchange", "how", EXCHANGE_LABELS,
                      found.exchange.times["queue_each"],
                      ("how the results travel", "time for all results",
                       "relative to the Queue, one message each"))
    return Table(frame, index=False, caption=(
        "Running workers reporting results until the parent holds all of them, each way "
        "timed in turns (median)."))


def handoff_table(result: Result, found: Findings) -> Table:
    """Each hand-off's time and multiple of a memcpy, one pair of columns per size."""
    multiple = found.handoff.multiple
    rows: dict[str, dict[tuple[str, str], str]] = {}
    for case in result.group("handoff"):
        mib, how = case.params["mib"], case.params["how"]
        row = rows.setdefault(HANDOFF_LABELS[how], {})
        row[(f"{mib} MiB", "time")] = time_cell(case.summary)
        row[(f"{mib} MiB", "× memcpy")] = format_ratio(multiple[(mib, how)])
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "hand-off"
    return Table(frame, caption=(
        "Handing an array to a running worker and getting its sum back, every way timed in "
        "turns (median), and as a multiple of a memcpy of the same array."))


def handoff_figure(result: Result, found: Findings) -> Any:
    """Time per hand-off against array size (log-log), one line per way, beside a memcpy."""
    import matplotlib.pyplot as plt

    handoff = found.handoff
    figure, axes = plt.subplots(figsize=(7.5, 5.2), layout="constrained")
    sizes = handoff.sizes_mib
    styles = {"memcpy": {"color": "0.3", "linestyle": "--"},
              "local_sum": {"color": "0.6", "linestyle": ":"}}
    for how, label in HANDOFF_LABELS.items():
        axes.plot(sizes, [handoff.times[(mib, how)] for mib in sizes], marker="o", label=label,
                  **styles.get(how, {}))
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(sizes, [f"{mib} MiB" for mib in sizes])
    axes.yaxis.set_major_formatter(lambda value, _pos: format_seconds(value))
    axes.set_xlabel("array size")
    axes.set_ylabel("time per hand-off (median)")
    axes.set_title("Handing an array to a running worker")
    axes.grid(True, which="major", alpha=0.3)
    figure.legend(fontsize="small", loc="outside lower center", ncols=2)
    return figure


TABLES = {
    "shared-memory-summary": summary_table,
    "shared-memory-counter-table": counter_table,
    "shared-memory-counter-cost-table": counter_cost_table,
    "shared-memory-counter-cost-spread": spread_view(
        "counter_cost", {"how": COST_LABELS.get},
        "Spread of every counter case (seconds per update): N runs, IQR, min-max."),
    "shared-memory-manager-table": manager_table,
    "shared-memory-manager-spread": spread_view(
        "manager_ops", {"op": OP_LABELS.get},
        "Spread of every Manager case (seconds per operation): N runs, IQR, min-max."),
    "shared-memory-exchange-table": exchange_table,
    "shared-memory-exchange-spread": spread_view(
        "exchange", {"how": EXCHANGE_LABELS.get, "workers": str, "n": str},
        "Spread of every exchange case (seconds for all results): N runs, IQR, min-max."),
    "shared-memory-handoff-table": handoff_table,
    "shared-memory-handoff-spread": spread_view(
        "handoff", {"mib": str, "how": HANDOFF_LABELS.get},
        "Spread of every hand-off case (seconds): N runs, IQR, min-max."),
    "shared-memory-first-touch-spread": spread_view(
        "first_touch", {"mib": str, "touch": TOUCH_LABELS.get},
        "The worker's first and second sum after attaching (seconds): N runs, spread."),
}
FIGURES = {
    "shared-memory-handoff": handoff_figure,
}


#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = printout_views(lambda found: analysis.outputs(found.demos), (
    "shared-memory-lifecycle",
    "shared-memory-manager",
    "shared-memory-other-program",
    "shared-memory-worker-first",
    "shared-memory-untracked",
    "shared-memory-queue-share",
))
