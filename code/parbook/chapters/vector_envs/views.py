"""The vector-envs chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.vector_envs.analysis import Findings, sweep_case, work_label
from parbook.chapters.vector_envs.experiment import BACKEND_LABELS
from parbook.render.formatting import format_count
from parbook.render.tables import UNSTABLE_MARK, Table, spread_table, time_cell

SWEEP_PHASES = {"local": "beside the local backends", "ray": "beside Ray"}
GUARD_COLUMNS = {"global": "factory reads the module-level settings",
                 "passed": "settings passed to the factory"}


def throughput_table(result: Result, found: Findings) -> Table:
    """Steps per second (median), one row per (work per step, envs), one column per backend."""
    records: dict[tuple[str, int], dict[str, str]] = {}
    for w in found.sweep.work_levels:
        for n in found.sweep.env_counts:
            cells = {}
            for backend, label in BACKEND_LABELS.items():
                case = sweep_case(result, backend, w, n)
                text = format_count(case.params["steps"] / case.summary.median)
                cells[label] = f"{text} {UNSTABLE_MARK}" if case.summary.unstable else text
            records[(work_label(w), n)] = cells
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records),
                                            names=["work added per step", "environments"])
    return Table(frame, caption=(
        "Environment steps per second (steps sampled / median seconds of N runs), per "
        "backend, amount of work added per step, and number of environments."))


def sweep_spread(result: Result, found: Findings) -> Table:
    """Every sweep case: N runs, interquartile range and min-max."""
    frame = spread_table(result, "sweep", labels={
        "work_s": work_label, "envs": str, "steps": str, "phase": SWEEP_PHASES.get,
        "backend": BACKEND_LABELS.get,
    })
    return Table(frame, index=False, caption=(
        "Every sweep case: N runs, interquartile range and min-max of seconds per sample."))


def creation_table(result: Result, found: Findings) -> Table:
    """Per start method: create + reset + close an AsyncVectorEnv, and one step of it."""
    rows = []
    for case in result.group("creation"):
        steps = result.case("method_steps", **case.params)
        rows.append({"start method": case.params["method"],
                     "environments": case.params["envs"],
                     "create + reset + close": time_cell(case.summary),
                     "one step of every environment": time_cell(steps.summary)})
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"AsyncVectorEnv of {found.start_methods.envs} CartPole environments: creating, "
        "resetting and closing it, and one step of every environment, per start method "
        "(median)."))


def creation_spread(result: Result, found: Findings) -> Table:
    """Every creation case: N runs, interquartile range and min-max."""
    return Table(spread_table(result, "creation"), index=False, caption=(
        "Spread of the creation times above: N runs, interquartile range, min-max."))


def guard_table(result: Result, found: Findings) -> Table:
    """Start method x factory: how many workers' environments saw the simulator port."""
    rows = {}
    for method, demo in found.bugs.guard.items():
        variants = {"global": demo.reading_global, "passed": demo.passed}
        rows[method] = {label: f"{variants[v].saw_port} of {variants[v].envs}"
                        for v, label in GUARD_COLUMNS.items()}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "start method"
    return Table(frame, caption=(
        "Workers whose environment saw the simulator port set by setup(), of those started."))


def crossover_figure(result: Result, found: Findings) -> Any:
    """Steps per second against the cost of one step, one line per backend, most envs.

    The plain loop's line is one over the step cost (every loop run at that level); the
    others are the table's figures. A hollow diamond on the loop's line marks each
    backend's crossover, computed from its runs paired with a loop's. Vertical lines mark
    one Pipe round trip and one Ray actor call measured in the run.
    """
    import matplotlib.pyplot as plt

    sweep = found.sweep
    costs = [sweep.step_cost[w] for w in sweep.work_levels]
    figure, axes = plt.subplots(figsize=(7.5, 4.4), layout="constrained")
    axes.plot(costs, [1 / c for c in costs], marker="o", linestyle="--", color="0.2",
              label=BACKEND_LABELS["loop"])
    for backend, label in BACKEND_LABELS.items():
        if backend == "loop":
            continue
        (line,) = axes.plot(costs, [sweep.rates[backend][w][sweep.most]
                                    for w in sweep.work_levels], marker="o", label=label)
        crossover = found.crossovers.get(backend)
        if crossover is not None and crossover.step_cost is not None:
            axes.plot([crossover.step_cost], [1 / crossover.step_cost], marker="D",
                      markersize=9, linestyle="none", markerfacecolor="none",
                      markeredgecolor=line.get_color())
    for value, text, style in (
        (found.round_trips.pipe, "one Pipe round trip", ":"),
        (found.round_trips.ray_actor, "one Ray actor call", "-."),
    ):
        axes.axvline(value, color="0.5", linestyle=style, linewidth=1)
        axes.annotate(text, (value, 0.97), xycoords=("data", "axes fraction"), rotation=90,
                      xytext=(3, 0), textcoords="offset points", ha="left", va="top",
                      fontsize="small", color="0.35")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("cost of one environment step in the plain loop (seconds)")
    axes.set_ylabel("environment steps per second")
    axes.set_title(f"{sweep.most} environments, {found.build.cpus} usable CPUs")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower left")
    return figure


TABLES = {
    "vector-envs-throughput-table": throughput_table,
    "vector-envs-sweep-spread": sweep_spread,
    "vector-envs-creation-table": creation_table,
    "vector-envs-creation-spread": creation_spread,
    "vector-envs-guard-table": guard_table,
}
FIGURES = {"vector-envs-crossover": crossover_figure}


def guard_demo(result: Result, found: Findings) -> str:
    """What each start method's child interpreter printed in the main-guard demonstration."""
    return "".join(
        f"--- {method}: exit code {child['returncode']} after {child['elapsed_s']:.1f} s\n"
        f"{child['output']}"
        for method, child in result.values["guard"].items())


OUTPUTS = {"vector-envs-guard-demo": guard_demo}
