"""The actor-learner chapter's tables and figures, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.actor_learner.analysis import (
    Findings,
    return_text,
    rounds_rate,
    runs_of,
    runs_text,
    smoothed_curve,
    staleness_text,
    updates_text,
)
from parbook.chapters.actor_learner.experiment import (
    BROADCAST_LABELS,
    PHASE_LABELS,
    SMOOTHING_STEPS,
    WAY_LABELS,
)
from parbook.render.formatting import (
    format_count,
    format_decimal_size,
    format_percent,
    format_ratio,
    format_seconds,
)
from parbook.render.tables import UNSTABLE_MARK, Table, pivot_table, spread_table

#: Which runs stand for each way in the figures and the main table.
SHOWN = (("one_process", "local"), ("vectorised_sync", "local"),
         ("vectorised_native", "local"), ("async", "local"), ("lockstep", "ray"))
#: The lines of the round-length figure: (way, phase, line style).
ROUND_LINES = (("one_process", "local", "-"), ("vectorised_sync", "local", "-"),
               ("vectorised_native", "local", "-"), ("lockstep", "ray", "-"),
               ("one_process", "ray", ":"))
NOT_APPLICABLE = "–"


def _way_label(way: str, phase: str) -> str:
    """A way's label; the one-process runs also say which phase they were timed in."""
    label = WAY_LABELS[way]
    return label + (f" ({PHASE_LABELS[phase]})" if way == "one_process" else "")


def results_table(result: Result, found: Findings) -> Table:
    """One row per way, then the one process timed beside Ray, then the random policy."""
    learning = found.learning
    target = return_text(learning.target_return)
    shown = [learning.ways[way] for way, _phase in SHOWN] + [learning.one_process_ray]
    rows = []
    for way in shown:
        rate = format_count(way.steps_per_s)
        if result.case("learning", way=way.way, phase=way.phase).summary.unstable:
            rate += f" {UNSTABLE_MARK}"
        reached = way.seconds_to_target
        rows.append({
            "way": _way_label(way.way, way.phase),
            "samplers": str(way.samplers),
            "env steps/s": rate,
            "speed-up": format_ratio(way.speedup),
            "updates/s": updates_text(way.updates_per_s),
            "time sampling": format_percent(way.sampling_share),
            "staleness (updates)": staleness_text(way.staleness),
            f"time to {target}": "not reached" if reached is None else format_seconds(reached),
            f"steps to {target}": ("not reached" if reached is None
                                   else format_count(way.steps_to_target)),
            "greedy return": return_text(way.eval_return),
        })
    random_row = dict.fromkeys(rows[0], NOT_APPLICABLE)
    random_row.update({"way": "random policy",
                       "greedy return": return_text(learning.random_return)})
    rows.append(random_row)
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Each way's training runs: median over seeds of steps per second, updates per "
        "second, share of time its sampling processes spent sampling, mean staleness of "
        "the steps used, time and steps to the target return, and the mean return of the "
        "trained policy over the greedy evaluation episodes."))


#: The ways the summary at the top of the page shows, in the order the page names them.
SUMMARY_WAYS = ("one_process", "vectorised_native", "lockstep", "async")


def summary_table(result: Result, found: Findings) -> Table:
    """The short answer's figures: one row per way, then the random policy."""
    learning = found.learning
    target = return_text(learning.target_return)
    rows = {}
    for name in SUMMARY_WAYS:
        way = learning.ways[name]
        reached = way.seconds_to_target
        rows[WAY_LABELS[name]] = {
            "samplers": str(way.samplers),
            "env steps/s": format_count(way.steps_per_s),
            "speed-up over one process": format_ratio(way.speedup),
            "staleness (updates)": staleness_text(way.staleness),
            f"time to a training return of {target}": (
                "not reached" if reached is None else format_seconds(reached)),
            "greedy return": return_text(way.eval_return),
        }
    first = next(iter(rows.values()))
    rows["random policy"] = {**dict.fromkeys(first, NOT_APPLICABLE),
                             "greedy return": return_text(learning.random_return)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "way"
    return Table(frame, caption=(
        f"The same agent trained four ways, {runs_text(found.setup)} of "
        f"{format_count(learning.budget_steps)} environment steps each (medians over the "
        "runs); speed-ups are over one process timed in the same phase; the greedy return "
        "is the trained policy's mean over the seeded evaluation episodes "
        f"(CartPole's maximum: {found.setup.max_episode_steps})."))


def learning_spread(result: Result, found: Findings) -> Table:
    """Every training run, per way and phase: N seeds, interquartile range and min-max."""
    frame = spread_table(result, "learning", labels={"way": WAY_LABELS.get,
                                                     "phase": PHASE_LABELS.get})
    return Table(frame, index=False, caption=(
        "Seconds per 1,000 environment steps of every training run, sampling and learning "
        "together: N seeds, interquartile range and min-max."))


def rounds_table(result: Result, found: Findings) -> Table:
    """Time per 1,000 steps, one row per way and phase, one column per round length."""
    frame = pivot_table(
        result, "rounds", rows=("way", "phase"), column="steps",
        row_labels={"way": WAY_LABELS.get, "phase": PHASE_LABELS.get},
        column_labels={k: f"{k:,} step" + ("s" if k > 1 else "")
                       for k in result.parameters["round_steps"]},
    )
    return Table(frame, caption=(
        "Time per 1,000 environment steps when each sampler takes N steps between two "
        "updates (median of N runs)."))


def rounds_spread(result: Result, found: Findings) -> Table:
    """Every round-length case: N runs, interquartile range and min-max."""
    frame = spread_table(result, "rounds", labels={
        "way": WAY_LABELS.get, "steps": str, "phase": PHASE_LABELS.get})
    return Table(frame, index=False, caption=(
        "Every round-length case (seconds per 1,000 steps): N runs, IQR, min-max."))


def weights_table(result: Result, found: Findings) -> Table:
    """Time to hand out one set of weights, one row per way of doing it, one column per
    size."""
    frame = pivot_table(
        result, "broadcast", rows=("how",), column="bytes",
        row_labels={"how": BROADCAST_LABELS.get},
        column_labels={size: format_decimal_size(size) for size in found.broadcast.sizes},
    )
    return Table(frame, caption=(
        f"Time to hand one set of weights to {found.setup.samplers_ray} Ray actors (first "
        "two rows), or to publish it in shared memory (last row), by size (median)."))


def weights_spread(result: Result, found: Findings) -> Table:
    """Every broadcast case: N runs, interquartile range and min-max."""
    frame = spread_table(result, "broadcast", labels={"how": BROADCAST_LABELS.get,
                                                      "bytes": format_decimal_size})
    return Table(frame, index=False, caption="Every broadcast case (seconds): N runs, IQR, "
                                             "min-max.")


def median_curve(runs: list[dict[str, Any]], axis: str, grid: np.ndarray) -> np.ndarray:
    """Median over runs of the smoothed training return at each point of ``grid``
    (``axis``: "seconds" or "steps"); NaN before a run's first update. A run that has
    ended keeps its last value."""
    values = []
    for run in runs:
        seconds, steps, smoothed = smoothed_curve(run)
        x = seconds if axis == "seconds" else steps
        index = np.searchsorted(x, grid, side="right") - 1
        values.append(np.where(index >= 0, smoothed[np.maximum(index, 0)], np.nan))
    stacked = np.array(values)
    out = np.full(len(grid), np.nan)
    for j in range(len(grid)):
        column = stacked[:, j]
        if np.isfinite(column).all():
            out[j] = np.median(column)
    return out


def curves_figure(result: Result, found: Findings) -> Any:
    """Mean training return against seconds and against environment steps, one line
    per way (median over seeds), with the random policy and the target marked."""
    import matplotlib.pyplot as plt

    figure, (by_time, by_steps) = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained",
                                               sharey=True)
    for way, phase in SHOWN:
        runs = runs_of(result, way, phase)
        # Lines end where the median run ended.
        end_s = float(np.median([r["wall_s"] for r in runs]))
        end_steps = float(np.median([r["env_steps"] for r in runs]))
        grid_s = np.linspace(0, end_s, 300)
        grid_steps = np.linspace(0, end_steps, 300)
        (line,) = by_time.plot(grid_s, median_curve(runs, "seconds", grid_s),
                               label=WAY_LABELS[way])
        by_steps.plot(grid_steps, median_curve(runs, "steps", grid_steps),
                      color=line.get_color())
    for axes in (by_time, by_steps):
        axes.axhline(found.learning.random_return, color="0.4", linestyle="--", linewidth=1,
                     label="random policy")
        axes.axhline(found.learning.target_return, color="0.6", linestyle=":", linewidth=1,
                     label="target")
        axes.grid(True, alpha=0.3)
    by_time.set_xlabel("seconds since the first step")
    by_steps.set_xlabel("environment steps")
    by_time.set_ylabel(f"mean training return (last {format_count(SMOOTHING_STEPS)} steps)")
    handles, labels = by_time.get_legend_handles_labels()
    figure.legend(handles, labels, fontsize="small", loc="outside lower center", ncols=4)
    by_time.set_title("Return against wall-clock time")
    by_steps.set_title("Return against environment steps")
    return figure


def rounds_figure(result: Result, found: Findings) -> Any:
    """Environment steps per second against the steps each sampler takes per round."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for way, phase, style in ROUND_LINES:
        steps = sorted(c.params["steps"] for c in result.group("rounds")
                       if c.params["way"] == way and c.params["phase"] == phase)
        rates = [rounds_rate(result, way, k, phase) for k in steps]
        axes.plot(steps, rates, marker="o", linestyle=style, label=_way_label(way, phase))
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("steps each sampler takes between two updates")
    axes.set_ylabel("environment steps per second")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure


TABLES = {
    "actor-learner-summary": summary_table,
    "actor-learner-table": results_table,
    "actor-learner-spread": learning_spread,
    "actor-learner-rounds-table": rounds_table,
    "actor-learner-rounds-spread": rounds_spread,
    "actor-learner-weights-table": weights_table,
    "actor-learner-weights-spread": weights_spread,
}
FIGURES = {
    "actor-learner-curves": curves_figure,
    "actor-learner-rounds": rounds_figure,
}
