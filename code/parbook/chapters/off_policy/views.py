"""The off-policy chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.off_policy.analysis import (
    Findings,
    Way,
    curve_of,
    return_text,
    runs_of,
    staleness_text,
    threshold_cell,
)
from parbook.chapters.off_policy.experiment import PHASE_LABELS, RING_LABELS, WAY_LABELS
from parbook.render.formatting import (
    counted,
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
)
from parbook.render.tables import UNSTABLE_MARK, Table, spread_table

#: Short names of the ways for table rows (the figure's legend uses WAY_LABELS).
SHORT_LABELS = {"one_process": "one process", "apex": "Ape-X", "ray": "Ray"}
#: The ways the figure draws, each with the phase its runs were made in.
SHOWN = (("one_process", "local"), ("apex", "local"), ("ray", "ray"))
NOT_APPLICABLE = "–"


def _label(way: Way) -> str:
    """A way's short label; the one-process runs also say which phase they were timed in."""
    label = SHORT_LABELS[way.way]
    return label + (f" ({PHASE_LABELS[way.phase]})" if way.way == "one_process" else "")


def _shown(found: Findings) -> list[Way]:
    """The three ways, then the one-process runs timed beside Ray."""
    learning = found.learning
    return [learning.ways[way] for way, _phase in SHOWN] + [learning.one_process_ray]


def _samplers(way: Way, envs: int) -> str:
    """Who stepped the environments: ``"1 process × 8 envs"``."""
    if way.way == "one_process":
        return f"{envs} envs in the learner's process"
    singular, plural = {"apex": ("process", "processes"), "ray": ("Ray actor", "Ray actors")}[
        way.way]
    return f"{way.samplers} {plural if way.samplers > 1 else singular} × {envs} envs"


def summary_table(result: Result, found: Findings) -> Table:
    """One row per way (and the one process timed beside Ray), then the random policy."""
    learning, setup = found.learning, found.setup
    threshold = return_text(learning.threshold)
    rows = []
    for way in _shown(found):
        rate = format_count(way.steps_per_s)
        if result.case("learning", way=way.way, phase=way.phase).summary.unstable:
            rate += f" {UNSTABLE_MARK}"
        rows.append({
            "way": _label(way),
            "env steps/s": rate,
            "updates/s": format_count(way.updates_per_s),
            "speed-up": format_ratio(way.speedup),
            "staleness (max)": (f"{staleness_text(way.staleness_mean)} "
                                f"({format_count(way.staleness_max)})"),
            f"time to {threshold}": threshold_cell(way),
            "greedy return": return_text(way.eval_return),
        })
    random_row = dict.fromkeys(rows[0], NOT_APPLICABLE)
    random_row.update({"way": "random policy",
                       "greedy return": return_text(learning.random_return)})
    rows.append(random_row)
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"The same DQN trained three ways, {counted(setup.seeds, 'seeded run')} of "
        f"{format_count(learning.budget_steps)} environment steps each, one update per "
        f"{setup.steps_per_update} steps (medians over the runs). Speed-ups are over one "
        "process timed in the same phase; staleness is in updates, its maximum over all the "
        f"runs; the time is to a greedy return of {threshold}; the greedy return is the "
        "trained policy's mean over "
        f"{setup.eval_episodes} seeded episodes (CartPole's maximum: "
        f"{setup.max_episode_steps})."))


def time_table(result: Result, found: Findings) -> Table:
    """Where each way's time went: sampling, held back by the pace, the learner waiting."""
    learning = found.learning
    rows = []
    for way in _shown(found):
        rows.append({
            "way": _label(way),
            "samplers": _samplers(way, found.setup.vector_envs),
            "stepping envs": format_percent(way.sampling_share),
            "held by the pace": (format_percent(way.held_share) if way.way == "apex"
                                 else NOT_APPLICABLE),
            "learner waiting": (NOT_APPLICABLE if way.way == "one_process"
                                else format_percent(way.learner_wait_share)),
            "start-up": {"apex": format_seconds(learning.apex_startup_s),
                         "ray": format_seconds(learning.ray_startup_s)}.get(way.way,
                                                                            NOT_APPLICABLE),
        })
    return Table(pd.DataFrame(rows), index=False, caption=(
        "Where the time went (medians over the runs): who stepped the environments; the "
        "share of the samplers' time spent stepping them (in one process, of the whole "
        "run); the share the Ape-X actors were held back by the pace, far enough ahead of "
        "the learner; the share the learner waited for transitions; and the time to start "
        "the samplers (the Ape-X processes for every run, the Ray actors once)."))


def ring_table(result: Result, found: Findings) -> Table:
    """Seconds per operation on the shared blocks, under their locks."""
    rows = []
    for case in result.group("ring"):
        summary = case.summary
        rows.append({"operation": RING_LABELS[case.params["operation"]],
                     "time (median)": format_seconds(summary.median),
                     "runs": summary.n})
    return Table(pd.DataFrame(rows), index=False, caption=(
        f"One operation on the Ape-X blocks, lock included, in one process (median of N "
        f"timed runs of many operations each; a chunk is "
        f"{format_count(found.setup.apex_chunk_transitions)} transitions, a minibatch "
        f"{found.setup.minibatch}, the weights {format_count(found.setup.parameters)} "
        "float32 numbers)."))


def learning_spread(result: Result, found: Findings) -> Table:
    """Every training run, per way and phase: N seeds, interquartile range and min-max."""
    frame = spread_table(result, "learning", labels={"way": WAY_LABELS.get,
                                                     "phase": PHASE_LABELS.get})
    return Table(frame, index=False, caption=(
        "Seconds per 1,000 environment steps of every training run, sampling and learning "
        "together: N seeds, interquartile range and min-max."))


def median_curve(runs: list[dict[str, Any]], grid: np.ndarray) -> np.ndarray:
    """Median over runs of the greedy return at each second of ``grid`` (each run's last
    snapshot before that time); NaN before every run's first snapshot, and after the
    shortest run ended."""
    values = []
    for run in runs:
        seconds, _steps, returns = curve_of(run)
        index = np.searchsorted(seconds, grid, side="right") - 1
        inside = (index >= 0) & (grid <= seconds[-1])
        values.append(np.where(inside, returns[np.maximum(index, 0)], np.nan))
    stacked = np.array(values)
    out = np.full(len(grid), np.nan)
    complete = np.isfinite(stacked).all(axis=0)
    out[complete] = np.median(stacked[:, complete], axis=0)
    return out


def curves_figure(result: Result, found: Findings) -> Any:
    """Greedy return against wall-clock seconds, one line per way (median over seeds),
    with the random policy and the threshold marked."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), layout="constrained")
    for way, phase in SHOWN:
        runs = runs_of(result, way, phase)
        end = max(curve_of(run)[0][-1] for run in runs)
        grid = np.linspace(0, end, 400)
        axes.plot(grid, median_curve(runs, grid), label=WAY_LABELS[way], drawstyle="steps-post")
    learning = found.learning
    axes.axhline(learning.random_return, color="0.4", linestyle="--", linewidth=1,
                 label="random policy")
    axes.axhline(learning.threshold, color="0.6", linestyle=":", linewidth=1,
                 label=f"threshold ({return_text(learning.threshold)})")
    axes.set_xlabel("seconds since the first step")
    axes.set_ylabel(f"greedy return (mean of {found.setup.snapshot_episodes} episodes)")
    axes.set_title("Greedy return against wall-clock time")
    axes.grid(True, alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(handles, labels, fontsize="small", loc="outside lower center", ncols=3)
    return figure


TABLES = {
    "off-policy-summary": summary_table,
    "off-policy-time": time_table,
    "off-policy-ring": ring_table,
    "off-policy-spread": learning_spread,
}
FIGURES = {"off-policy-curves": curves_figure}
