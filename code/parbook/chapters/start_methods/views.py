"""The start-methods chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.chapters.start_methods import analysis
from parbook.chapters.start_methods.analysis import Findings
from parbook.chapters.start_methods.experiment import MAIN_LABELS, PLACEMENTS, SCRIPTS
from parbook.render import formatting, tables
from parbook.render.outputs import printout_views
from parbook.render.tables import Table, spread_table, time_cell


def summary_table(result: Result, found: Findings) -> Table:
    """What the chapter measured, one row per finding and one column per start method."""
    startup, config, lock = found.startup, found.config, found.fork_lock
    methods = found.interpreter.methods
    rows = {
        "start and join one process, light main module": {
            method: formatting.format_seconds(startup.startup[("light", method, 1)])
            for method in methods},
        "the same, with a main module that imports numpy and matplotlib": {
            method: formatting.format_seconds(startup.startup[("heavy", method, 1)])
            for method in methods},
        "children that saw settings filled in under the main guard": {
            method: f"{config.saw('guard', method)} of {config.started('guard', method)}"
            for method in methods},
        "who imported the main script again": {
            method: analysis.importers_cell(method, config, found.forkserver_main)
            for method in methods},
        "a child started while another thread held a lock": {
            method: analysis.lock_cell(lock, method) for method in methods},
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")[list(methods)]
    frame.index.name = "what was measured"
    return Table(frame, caption=(
        "What this build measured, per start method (times are medians); the sections "
        "below show how."))


def startup_table(result: Result, found: Findings) -> Table:
    """Medians per (script, method): the first process, then 1, 5, 10... processes, and
    what each extra process added."""
    counts = sorted({c.params["processes"] for c in result.group("startup")})
    count_labels = {n: f"{n} process" if n == 1 else f"{n} processes" for n in counts}
    records: dict[tuple[str, str], dict[str, str]] = {}
    for case in result.group("first_start"):
        key = (MAIN_LABELS[case.params["main"]], case.params["method"])
        records.setdefault(key, {})["first process"] = time_cell(case.summary)
    for case in result.group("startup"):
        key = (MAIN_LABELS[case.params["main"]], case.params["method"])
        records.setdefault(key, {})[count_labels[case.params["processes"]]] = time_cell(
            case.summary)
    for main, label in MAIN_LABELS.items():
        for method in found.startup.methods:
            records[(label, method)]["each extra process"] = formatting.format_seconds(
                found.startup.per_extra(main, method))
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records), names=["script", "method"])
    return Table(frame[["first process", *count_labels.values(), "each extra process"]],
                 caption=(
        "Time to start and join N processes that return at once, timed inside a script "
        "(median); the first column is the first process of each method, the last what "
        "each process added from the fewest to the most (with one count, its own time)."))


def startup_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "startup", labels={
        "main": MAIN_LABELS.get, "method": str, "processes": str})
    return Table(frame, index=False, caption=(
        "Spread of every start-up case above (seconds): N runs, IQR, min-max."))


def first_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "first_start", labels={"main": MAIN_LABELS.get, "method": str})
    return Table(frame, index=False, caption=(
        "Spread of the first process per method and script (seconds): one per run."))


def import_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "heavy_import", labels={"main": str})
    return Table(frame, index=False, caption=(
        "Time the heavy script's top-level imports took in its own process."))


def article_table(result: Result, found: Findings) -> Table:
    """This build's spawn timings beside article 000's Process column, with ratios."""
    # The article names its macOS machine, not its start method (spawn is the macOS default).
    article = f"article {sources.OVERHEAD_TABLE.article.key} (macOS)"
    rows = {}
    for row in found.article.rows:
        ours = {"light": row.light, "heavy": row.heavy}
        cells: dict[tuple[str, str], str] = {}
        for main in SCRIPTS:
            cells[(tables.THIS_BUILD, MAIN_LABELS[main])] = (
                "–" if ours[main] is None else formatting.format_seconds(ours[main]))
        cells[(article, "multiprocessing.Process")] = formatting.format_seconds(row.article)
        for main in SCRIPTS:
            cells[("ratio this build / article", MAIN_LABELS[main])] = (
                "–" if ours[main] is None else formatting.format_ratio(ours[main] / row.article))
        rows[row.processes] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "processes"
    return Table(frame, caption=(
        "Start and join N processes that return at once with spawn: this build's median "
        f"beside article 000's single run ({found.article.machine})."))


def config_table(result: Result, found: Findings) -> Table:
    """Placement x method: how many children saw the settings, of how many started."""
    config = found.config
    records = {}
    for placement, label in PLACEMENTS.items():
        cells = {}
        for method in config.runs[placement]:
            saw, started = config.saw(placement, method), config.started(placement, method)
            verdict = "yes" if saw == started else "no" if saw == 0 else "partly"
            cells[method] = f"{verdict} ({saw} of {started})"
        records[label] = cells
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index.name = "where the settings come from"
    return Table(frame[[m for m in config.methods if m in frame.columns]], caption=(
        "Did the children see the settings filled in by setup()? (children that did, of "
        "those started, per start method)"))


def startup_figure(result: Result, found: Findings) -> Any:
    """Start-up time against process count, one line per method, one panel per script."""
    import matplotlib.pyplot as plt

    startup = found.startup
    figure, axes = plt.subplots(1, len(SCRIPTS), figsize=(8.5, 3.8), layout="constrained",
                                sharey=True)
    for ax, main in zip(axes, SCRIPTS, strict=True):
        for method in startup.methods:
            counts = sorted(n for (m, meth, n) in startup.startup if m == main and meth == method)
            ax.plot(counts, [startup.startup[(main, method, n)] for n in counts], marker="o",
                    label=method)
        ax.set_yscale("log")
        ax.set_xlabel("processes started and joined")
        ax.set_title(MAIN_LABELS[main], fontsize="medium")
        ax.set_xticks(startup.counts[main])
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("seconds (median, log scale)")
    axes[0].yaxis.set_major_formatter(lambda value, _pos: formatting.format_seconds(value, 1))
    axes[-1].legend(title="start method", fontsize="small")
    return figure


TABLES = {
    "start-methods-summary": summary_table,
    "start-methods-startup-table": startup_table,
    "start-methods-startup-spread": startup_spread,
    "start-methods-first-spread": first_spread,
    "start-methods-import-spread": import_spread,
    "start-methods-article-table": article_table,
    "start-methods-config-table": config_table,
}
FIGURES = {"start-methods-startup": startup_figure}
INTERPRETER_TABLES = {
    "start-methods-interpreters": interpreters.table(
        analysis.interpreter_rows, "The default start method, start-up from a script, and "
        "what changed with the Python version"),
}


#: What the demonstrations printed when the experiment ran, shown as they printed it.
OUTPUTS = printout_views(analysis.outputs, analysis.OUTPUT_IDS)
