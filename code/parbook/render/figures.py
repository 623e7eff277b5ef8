"""Generic figures: curves of speed-up over one process."""

from __future__ import annotations

from typing import Any


def speedup_figure(
    curves: dict[str, list[tuple[float, float]]],
    labels: dict[str, str],
    break_evens: dict[str, float | None],
    cpus: int,
    title: str,
) -> Any:
    """Speed-up over one process against task duration (log x), one line per backend.

    A dotted line marks no gain (1x) and a dashed one the ideal (``cpus``x); a hollow
    marker on each curve shows where it breaks even.
    """
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for backend, points in curves.items():
        durations = [d for d, _ in points]
        speedups = [s for _, s in points]
        (line,) = axes.plot(durations, speedups, marker="o", label=labels.get(backend, backend))
        crossing = break_evens.get(backend)
        if crossing is not None:
            axes.plot([crossing], [1.0], marker="D", markersize=9, markerfacecolor="none",
                      markeredgecolor=line.get_color(), linestyle="none")
    axes.axhline(1.0, color="0.3", linestyle=":", linewidth=1, label="no gain (1×)")
    axes.axhline(cpus, color="0.5", linestyle="--", linewidth=1,
                 label=f"ideal ({cpus}× on {cpus} usable CPUs)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    # Plain "0.5×" labels read better than powers of ten for speed-ups near 1.
    axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    axes.yaxis.set_minor_formatter(lambda value, _pos: f"{value:g}×"
                                   if f"{value:g}"[0] in "25" else "")
    axes.set_xlabel("CPU time of one task (seconds)")
    axes.set_ylabel("speed-up over one process")
    axes.set_title(title)
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure
