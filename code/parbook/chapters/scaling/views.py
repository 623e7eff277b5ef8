"""The scaling chapter's tables and figure, by the ids the page shows them under.

:func:`draw_speedup` draws any list of labelled scaling results (this build's, each
contributed machine's, or one per interpreter), so a line can be added for each without
touching the drawing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.scaling.analysis import (
    ARTICLE_CORES,
    Findings,
    Line,
    article_speedup,
    ceiling_text,
    format_share,
    interpreter_rows,
    largest_serial_fraction,
    lines_of,
)
from parbook.chapters.scaling.experiment import (
    ARTICLE_WORKLOADS,
    GROUP,
    VERSION_LABELS,
    WORKLOAD_LABELS,
)
from parbook.render.formatting import format_ratio
from parbook.render.tables import Table, spread_view, time_cell

#: One colour per version, the same in every panel.
VERSION_COLOURS = {"processes": "C0", "threads": "C1", "naive_mp": "C3", "fair_mp": "C2",
                   "ray": "C4"}
#: Line style and marker of each series, in order: this build first.
SERIES_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v"),
                 ((0, (1, 1)), "P"))
THIS_BUILD = "this build"


def _workers_header(workers: int, cpus: int) -> str:
    return f"{workers} worker{'' if workers == 1 else 's'}" + (
        " (oversubscribed)" if workers > cpus else "")


def sweep_table(result: Result, found: Findings) -> Table:
    """Backend x workers: median time and speed-up over one worker; the fitted f."""
    cpus = found.setting.cpus
    summaries = {(case.params["workload"], case.params["version"], case.params["workers"]):
                 case.summary for case in result.group(GROUP)}
    rows = []
    for line in found.lines:
        row: dict[str, str] = {"workload": WORKLOAD_LABELS.get(line.workload, line.workload),
                               "version": VERSION_LABELS.get(line.version, line.version)}
        speedup = dict(line.speedup)
        for workers in found.setting.counts:
            summary = summaries.get((line.workload, line.version, workers))
            row[_workers_header(workers, cpus)] = (
                "–" if summary is None
                else f"{time_cell(summary)} · {format_ratio(speedup[workers])}")
        row["serial fraction f"] = "–" if line.fit is None else format_share(
            line.fit.serial_fraction)
        row["ceiling 1/f"] = "–" if line.fit is None else ceiling_text(line.fit)
        rows.append(row)
    frame = pd.DataFrame(rows).set_index(["workload", "version"])
    return Table(frame, caption=(
        "Median time of the whole job · speed-up over the same version on one worker, at "
        "each worker count; the serial fraction f of Amdahl's law fitted on the counts from "
        f"2 to the {cpus} usable CPUs (oversubscribed counts left out), and the largest "
        "speed-up it allows on any number of workers."))


def article_table(result: Result, found: Findings) -> Table:
    """Article 002's 48-core Ray speed-ups, the serial fractions they allow, and this
    build's fits for Ray beside them."""
    rows = []
    for workload in ARTICLE_WORKLOADS:
        theirs = article_speedup(workload)
        ray = found.line(workload, "ray")
        fit = ray.fit if ray is not None else None
        rows.append({
            "workload": WORKLOAD_LABELS[workload],
            f"article: Ray ÷ serial, {ARTICLE_CORES} cores": format_ratio(theirs),
            "largest f that allows it": format_share(
                largest_serial_fraction(theirs, ARTICLE_CORES)),
            "this build: Ray's f": "–" if fit is None else format_share(fit.serial_fraction),
            f"that f on {ARTICLE_CORES} workers":
                "–" if fit is None else format_ratio(fit.speedup(ARTICLE_CORES)),
        })
    return Table(pd.DataFrame(rows).set_index("workload"), caption=(
        f"Article 002's Ray speed-ups on {ARTICLE_CORES} cores (over serial Python) and "
        "the largest serial fraction Amdahl's law allows for each; beside them, the serial "
        "fraction fitted for Ray in this build (over Ray on one worker) and the speed-up it "
        f"would allow on {ARTICLE_CORES} workers. – where this build has no fit."))


spread = spread_view(GROUP, labels={"workload": lambda w: WORKLOAD_LABELS.get(w, w),
                                    "version": lambda v: VERSION_LABELS.get(v, v),
                                    "workers": str},
                     caption="Spread of every case of the sweep: N runs, interquartile range "
                             "and min-max.")


def _panel(axes: Any, lines: list[Line], style: tuple[Any, str], fitted: bool) -> None:
    linestyle, marker = style
    for line in lines:
        colour = VERSION_COLOURS.get(line.version, "0.3")
        workers = [n for n, _ in line.speedup]
        axes.plot(workers, [s for _, s in line.speedup], color=colour, linestyle=linestyle,
                  marker=marker, markersize=5, linewidth=1.5)
        if fitted and line.fit is not None:
            grid = [1 + step * (max(workers) - 1) / 60 for step in range(61)]
            axes.plot(grid, [line.fit.speedup(n) for n in grid], color=colour,
                      linestyle=(0, (1, 2)), linewidth=1, alpha=0.8)


def draw_speedup(series: Sequence[tuple[str, Result]]) -> Any:
    """Speed-up over one worker against the number of workers (log2 scales), one panel
    per workload, one colour per version, one line style per labelled result in
    ``series``. The first result also gets its fitted Amdahl curves (dotted) and a
    vertical line at its usable CPUs; every panel has the ideal line."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    drawn = [(label, result, lines_of(result)) for label, result in series]
    figure, grid = plt.subplots(2, 2, figsize=(8.5, 7.2), layout="constrained",
                                sharex=True, sharey=True)
    counts = sorted({n for _, _, lines in drawn for line in lines for n, _ in line.speedup})
    values = [s for _, _, lines in drawn for line in lines for _, s in line.speedup]
    for axes, workload in zip(grid.flat, WORKLOAD_LABELS, strict=True):
        for index, (_label, _result, lines) in enumerate(drawn):
            _panel(axes, [line for line in lines if line.workload == workload],
                   SERIES_STYLES[index % len(SERIES_STYLES)], fitted=index == 0)
        axes.plot(counts, counts, color="0.5", linestyle="--", linewidth=1)
        if drawn:
            axes.axvline(int(drawn[0][1].parameters["usable_cpus"]), color="0.6",
                         linestyle=":", linewidth=1)
        versions = [v for v in VERSION_LABELS
                    if any(line.workload == workload and line.version == v
                           for _, _, lines in drawn for line in lines)]
        axes.legend([Line2D([], [], color=VERSION_COLOURS[v]) for v in versions],
                    [VERSION_LABELS[v] for v in versions], fontsize="x-small",
                    loc="upper left")
        axes.set_title(WORKLOAD_LABELS[workload], fontsize="medium")
        axes.set_xscale("log", base=2)
        axes.set_yscale("log", base=2)
        axes.set_xticks(counts, [str(n) for n in counts])
        axes.grid(True, which="major", alpha=0.3)
    low = min([*values, 1.0]) / 1.4
    high = max([*values, *counts]) * 1.4
    for axes in grid.flat:
        axes.set_ylim(low, high)
        axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    for axes in grid[1]:
        axes.set_xlabel("workers")
    for axes in grid[:, 0]:
        axes.set_ylabel("speed-up over one worker")
    keys = [Line2D([], [], color="0.3", linestyle=SERIES_STYLES[i % len(SERIES_STYLES)][0],
                   marker=SERIES_STYLES[i % len(SERIES_STYLES)][1])
            for i in range(len(drawn))]
    names = [f"{label} ({result.parameters['usable_cpus']} usable CPUs)"
             for label, result, _ in drawn]
    keys += [Line2D([], [], color="0.5", linestyle="--"),
             Line2D([], [], color="0.3", linestyle=(0, (1, 2))),
             Line2D([], [], color="0.6", linestyle=":")]
    first = drawn[0][0] if drawn else THIS_BUILD
    names += ["ideal (speed-up = workers)", f"Amdahl's law fitted ({first})",
              f"usable CPUs ({first})"]
    figure.legend(keys, names, loc="outside lower center", ncol=2, fontsize="small")
    return figure


def speedup_figure(result: Result, found: Findings) -> Any:
    """This build's sweep, with a line for every contributed machine's."""
    return draw_speedup([(THIS_BUILD, result)] + [
        (machine.name + (", quick sizes" if machine.quick else ""), machine.result)
        for machine in found.contributions.machines])


TABLES = {
    "scaling-table": sweep_table,
    "scaling-article-table": article_table,
    "scaling-spread": spread,
}
FIGURES = {"scaling-speedup": speedup_figure}


def interpreters_figure(runs: Sequence[interpreters.InterpreterRun]) -> Any:
    """The sweep under every interpreter this build ran, one line style each."""
    return draw_speedup([(run.label, run.result) for run in interpreters.measured(runs)])


INTERPRETER_TABLES = {
    "scaling-interpreters": interpreters.table(
        interpreter_rows, "Each line's best speed-up and fitted serial fraction"),
}
INTERPRETER_FIGURES = {"scaling-interpreters-figure": interpreters_figure}
