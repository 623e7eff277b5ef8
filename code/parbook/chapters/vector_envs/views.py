"""The vector-envs chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.bench.stats import Summary
from parbook.chapters.vector_envs.analysis import (
    POOL_ASYNC,
    POOL_SYNC,
    Findings,
    StepControl,
    crossover_text,
    sweep_case,
    work_label,
)
from parbook.chapters.vector_envs.experiment import BACKEND_LABELS, ENVPOOL_LABELS
from parbook.render.formatting import format_count, format_ratio, format_seconds, spoken_list
from parbook.render.tables import UNSTABLE_MARK, Table, spread_table, time_cell

SWEEP_PHASES = {"local": "beside the local backends", "ray": "beside Ray",
                "envpool": "beside EnvPool"}
#: A table cell for a point a backend was not measured at.
NOT_AT_POINT = "—"
GUARD_COLUMNS = {"global": "factory reads the module-level settings",
                 "passed": "settings passed to the factory"}


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's main figures, one row each, for the short answer at the top."""
    sweep, trips, methods = found.sweep, found.round_trips, found.start_methods
    actors, guard = found.ray_actors, found.bugs.guard
    most = sweep.most
    creation = "; ".join(f"{method}: {format_seconds(value)}"
                         for method, value in methods.creation.items())
    inherited = [method for method, demo in guard.items()
                 if demo.reading_global.saw_port == demo.reading_global.envs]
    rows = {
        "one CartPole step in a plain loop": format_seconds(sweep.base_step),
        "a round trip through a multiprocessing.Pipe": format_seconds(trips.pipe),
        "one step of an AsyncVectorEnv holding one environment": (
            f"{format_seconds(sweep.async_step_one_env)} "
            f"({format_ratio(sweep.async_step_one_env / sweep.base_step)} the plain step)"),
        f"AsyncVectorEnv, {most} environments, no added work": (
            f"{format_ratio(sweep.light_speedup('async_shm'))} the plain loop's steps per "
            "second"),
        f"SyncVectorEnv, {most} environments, no added work": (
            f"{format_ratio(sweep.light_speedup('sync'))} the plain loop's steps per second"),
        "AsyncVectorEnv (shared memory) beat the plain loop": crossover_text(
            found.crossovers["async_shm"]),
        (f"Ray actors ({actors.envs_per_actor} environments each, up to "
         f"{actors.rollout_steps} steps per call) beat it"): crossover_text(
            found.crossovers["ray"]),
        f"creating an AsyncVectorEnv of {methods.envs} environments": creation,
        "settings set under the main guard reached the workers under": spoken_list(
            inherited, empty="no start method"),
    }
    rows.update(_envpool_summary(found))
    frame = pd.DataFrame({"this build": rows})
    frame.index.name = "measured"
    return Table(frame, caption=(
        f"The chapter's main figures, measured in this build on {found.build.cpus} usable "
        "CPUs (medians; the sections below give the runs and their spread)."))


def _envpool_summary(found: Findings) -> dict[str, str]:
    """The summary's EnvPool rows; none where EnvPool was not measured."""
    pool, sweep = found.envpool, found.sweep
    if pool is None:
        return {}
    rows = {}
    for mode, label in ENVPOOL_LABELS.items():
        short = label.split(" (")[0]
        rows[f"{short}, {sweep.most} environments, no added work"] = (
            f"{format_ratio(pool.speedups[mode][sweep.lightest][sweep.most])} the plain loop's "
            "steps per second")
    rows["one step of EnvPool handed to its thread and back, without its Python wrapper"] = (
        format_seconds(pool.hand_off))
    return rows


def _rate_cell(case: Any) -> str:
    text = format_count(case.params["steps"] / case.summary.median)
    return f"{text} {UNSTABLE_MARK}" if case.summary.unstable else text


def _envpool_cell(result: Result, found: Findings, backend: str, w: float, n: int) -> str:
    """One EnvPool backend at one point, or a dash where it was not measured there."""
    if found.envpool is None or found.envpool.rate(backend, w, n) is None:
        return NOT_AT_POINT
    return _rate_cell(result.case("sweep", phase="envpool", backend=backend, work_s=w, envs=n))


THROUGHPUT_CAPTION = (
    "Environment steps per second (steps sampled / median seconds of N runs), per backend, "
    "amount of work added per step, and number of environments.")
ENVPOOL_CAPTION = (
    " EnvPool steps its own C++ CartPole. Its synchronous column's added work ran in Python, "
    "in the calling thread, after each batch (it cannot run in EnvPool's threads), and only "
    "with the most environments; its asynchronous mode ran with no added work, from two "
    "environments up. — : not measured.")


def throughput_table(result: Result, found: Findings) -> Table:
    """Steps per second (median), one row per (work per step, envs), one column per backend;
    EnvPool's columns only where it was measured."""
    envpool = ENVPOOL_LABELS if found.envpool is not None else {}
    records: dict[tuple[str, int], dict[str, str]] = {}
    for w in found.sweep.work_levels:
        for n in found.sweep.env_counts:
            cells = {label: _rate_cell(sweep_case(result, backend, w, n))
                     for backend, label in BACKEND_LABELS.items()}
            cells.update({label: _envpool_cell(result, found, backend, w, n)
                          for backend, label in envpool.items()})
            records[(work_label(w), n)] = cells
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records),
                                            names=["work added per step", "environments"])
    return Table(frame, caption=THROUGHPUT_CAPTION + (ENVPOOL_CAPTION if envpool else ""))


def sweep_spread(result: Result, found: Findings) -> Table:
    """Every sweep case: N runs, interquartile range and min-max."""
    frame = spread_table(result, "sweep", labels={
        "work_s": work_label, "envs": str, "steps": str, "phase": SWEEP_PHASES.get,
        "backend": {**BACKEND_LABELS, **ENVPOOL_LABELS}.get,
    })
    return Table(frame, index=False, caption=(
        "Every sweep case: N runs, interquartile range and min-max of seconds per sample."))


def creation_table(result: Result, found: Findings) -> Table:
    """Per start method: create + reset + close an AsyncVectorEnv."""
    rows = [{"start method": case.params["method"], "environments": case.params["envs"],
             "create + reset + close": time_cell(case.summary)}
            for case in result.group("creation")]
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"AsyncVectorEnv of {found.start_methods.envs} CartPole environments: creating, "
        "resetting and closing it, per start method (median)."))


def _middle_half(summary: Summary) -> str:
    """``"201 µs (195–210 µs)"``: the median and the quartiles of the rounds."""
    return (f"{format_seconds(summary.median)} ({format_seconds(summary.q1)}–"
            f"{format_seconds(summary.q3)})")


NOT_MEASURED = "not measured"


def step_control_table(result: Result, found: Findings) -> Table:
    """Per start method: one step in each run of the control, and where the workers ran."""
    methods = found.start_methods
    steps: dict[str, StepControl | None] = {
        "one step, workers where the scheduler put them": methods.scheduled,
        "one step, all on one CPU": methods.one_cpu,
        "one step, all on one CPU, randomisation off": methods.fixed,
    }
    addresses: dict[str, StepControl | None] = {
        "workers at the parent's addresses": methods.scheduled,
        "the same, randomisation off": methods.fixed,
    }
    rows = {}
    for method in methods.scheduled.rounds:
        row = {label: NOT_MEASURED if run is None else _middle_half(run.step[method])
               for label, run in steps.items()}
        row.update({label: NOT_MEASURED if run is None
                    else f"{run.same_addresses[method]} of {run.workers}"
                    for label, run in addresses.items()})
        rows[method] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "start method"
    return Table(frame, caption=(
        f"One step of every environment of an AsyncVectorEnv of {methods.scheduled.workers} "
        "CartPoles, every start method's environments stepped round by round: median over "
        "the rounds and, in brackets, the middle half of the rounds (first to third "
        "quartile). Three runs: the workers where the scheduler put them; the parent and "
        "its workers pinned to one CPU; and pinned with address randomisation switched off. "
        "A worker is at the parent's addresses when its interpreter's built-in types are."))


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
    _envpool_lines(axes, found, costs)
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


def _envpool_lines(axes: Any, found: Findings, costs: list[float]) -> None:
    """EnvPool on the crossover figure, where measured: its synchronous mode at every
    level (the added work serial, in Python) and its asynchronous mode's one point."""
    pool, sweep = found.envpool, found.sweep
    if pool is None:
        return
    axes.plot(costs, [pool.rates[POOL_SYNC][w][sweep.most] for w in sweep.work_levels],
              marker="s", linestyle="-.", label=ENVPOOL_LABELS[POOL_SYNC])
    light = pool.rate(POOL_ASYNC, sweep.lightest, sweep.most)
    if light is not None:
        axes.plot([sweep.step_cost[sweep.lightest]], [light], marker="^", markersize=8,
                  linestyle="none", label=ENVPOOL_LABELS[POOL_ASYNC])


def envs_figure(result: Result, found: Findings) -> Any:
    """Steps per second against the number of environments, no added work: every backend,
    EnvPool's two modes where measured."""
    import matplotlib.pyplot as plt

    sweep, pool = found.sweep, found.envpool
    counts, light = sweep.env_counts, sweep.lightest
    figure, axes = plt.subplots(figsize=(9.0, 4.4), layout="constrained")
    for backend, label in BACKEND_LABELS.items():
        style = {"linestyle": "--", "color": "0.2"} if backend == "loop" else {}
        axes.plot(counts, [sweep.rates[backend][light][n] for n in counts], marker="o",
                  label=label, **style)
    if pool is not None:
        for mode, marker in ((POOL_SYNC, "s"), (POOL_ASYNC, "^")):
            measured = [n for n in counts if pool.rate(mode, light, n) is not None]
            axes.plot(measured, [pool.rate(mode, light, n) for n in measured], marker=marker,
                      linestyle="-.", label=ENVPOOL_LABELS[mode].split(" (")[0])
    axes.set_xscale("log", base=2)
    axes.set_xticks(counts, [str(n) for n in counts])
    axes.set_yscale("log")
    axes.set_xlabel("number of environments")
    axes.set_ylabel("environment steps per second")
    axes.set_title(f"Plain CartPole, no added work, {found.build.cpus} usable CPUs")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


TABLES = {
    "vector-envs-summary": summary_table,
    "vector-envs-step-control-table": step_control_table,
    "vector-envs-throughput-table": throughput_table,
    "vector-envs-sweep-spread": sweep_spread,
    "vector-envs-creation-table": creation_table,
    "vector-envs-creation-spread": creation_spread,
    "vector-envs-guard-table": guard_table,
}
FIGURES = {"vector-envs-crossover": crossover_figure, "vector-envs-by-envs": envs_figure}


def guard_demo(result: Result, found: Findings) -> str:
    """What each start method's child interpreter printed in the main-guard demonstration."""
    return "".join(
        f"--- {method}: exit code {child['returncode']} after {child['elapsed_s']:.1f} s\n"
        f"{child['output']}"
        for method, child in result.values["guard"].items())


OUTPUTS = {"vector-envs-guard-demo": guard_demo}
