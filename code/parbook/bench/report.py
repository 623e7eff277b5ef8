"""Tables and figures, rendered from recorded results only.

Cells show the median of N runs; unstable cases (spread above
:data:`parbook.bench.stats.UNSTABLE_RELATIVE_SPREAD`) carry a warning sign, and a
separate spread table lists N, the interquartile range and min-max for every case.
An article's figures appear only in columns labelled as the article's.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from parbook.bench.results import Case, Result
from parbook.bench.stats import UNSTABLE_RELATIVE_SPREAD, Summary, summarize
from parbook.sources import ReportedTable

UNSTABLE_MARK = "⚠"
UNSTABLE_THRESHOLD_PERCENT = round(UNSTABLE_RELATIVE_SPREAD * 100)
THIS_BUILD = "this build"
RATIO = "ratio"

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def format_seconds(seconds: float, digits: int = 3) -> str:
    """Format a duration with a unit that keeps 1-3 integer digits: ``"12.3 ms"``."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds == 0:
        return "0 s"
    for scale, unit in _TIME_UNITS:
        if abs(seconds) >= scale or unit == "ns":
            value = seconds / scale
            return f"{_significant(value, digits)} {unit}"
    raise AssertionError("unreachable")


def format_ratio(ratio: float, digits: int = 2) -> str:
    """Format a ratio such as a speed-up: ``"3.4×"``."""
    if not math.isfinite(ratio):
        return "n/a"
    return f"{_significant(ratio, digits)}×"


def _significant(value: float, digits: int) -> str:
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def time_cell(summary: Summary) -> str:
    """A table cell for one case: its median, flagged if the case was unstable."""
    text = format_seconds(summary.median)
    return f"{text} {UNSTABLE_MARK}" if summary.unstable else text


def find_case(result: Result, group: str, **params: Any) -> Case:
    """The one case in ``group`` whose parameters include ``params``."""
    matches = [
        case for case in result.group(group)
        if all(case.params.get(key) == value for key, value in params.items())
    ]
    if len(matches) != 1:
        raise KeyError(f"{len(matches)} cases in group {group!r} match {params}")
    return matches[0]


def median(result: Result, group: str, **params: Any) -> float:
    """Median of the one case in ``group`` matching ``params``."""
    return summarize(find_case(result, group, **params).samples).median


def pivot_table(
    result: Result,
    group: str,
    rows: Sequence[str],
    column: str,
    row_labels: dict[str, Callable[[Any], str]] | None = None,
    column_labels: dict[Any, str] | None = None,
) -> pd.DataFrame:
    """Medians of ``group`` with ``rows`` as the index and one column per ``column`` value."""
    row_labels = row_labels or {}
    column_labels = column_labels or {}
    records: dict[tuple, dict[str, str]] = {}
    for case in result.group(group):
        key = tuple(row_labels.get(r, str)(case.params[r]) for r in rows)
        header = column_labels.get(case.params[column], str(case.params[column]))
        records.setdefault(key, {})[header] = time_cell(summarize(case.samples))
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = _row_index(list(records), rows)
    ordered = [label for label in column_labels.values() if label in frame.columns]
    return frame[ordered or list(frame.columns)]


def _row_index(keys: list[tuple], rows: Sequence[str]) -> pd.Index:
    """A plain index for one row parameter, a MultiIndex for several."""
    if len(rows) == 1:
        return pd.Index([key[0] for key in keys], name=rows[0])
    return pd.MultiIndex.from_tuples(keys, names=list(rows))


def comparison_table(
    result: Result,
    group: str,
    reported: ReportedTable,
    rows: Sequence[str],
    column: str,
    row_labels: dict[str, Callable[[Any], str]] | None = None,
    column_labels: dict[Any, str] | None = None,
) -> pd.DataFrame:
    """This build's medians beside an article's figures, with the ratio ours/article.

    Columns are ``(column label, "this build" | "article (...)" | "ratio")``; rows are
    the cases of ``group`` keyed by ``rows``. Cases the article did not report show a
    dash in its column.
    """
    row_labels = row_labels or {}
    column_labels = column_labels or {}
    article_header = f"article {reported.article.key}"
    records: dict[tuple, dict[tuple[str, str], str]] = {}
    for case in result.group(group):
        key = tuple(row_labels.get(r, str)(case.params[r]) for r in rows)
        label = column_labels.get(case.params[column], str(case.params[column]))
        ours = summarize(case.samples)
        theirs = reported.lookup(**{p: case.params[p] for p in (*rows, column)})
        cells = records.setdefault(key, {})
        cells[(label, THIS_BUILD)] = time_cell(ours)
        cells[(label, article_header)] = "–" if theirs is None else format_seconds(theirs)
        cells[(label, RATIO)] = "–" if not theirs else format_ratio(ours.median / theirs)
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index = _row_index(list(records), rows)
    order = list(column_labels.values()) or list(
        dict.fromkeys(frame.columns.get_level_values(0))
    )
    columns = [(label, sub) for label in order for sub in (THIS_BUILD, article_header, RATIO)
               if (label, sub) in frame.columns]
    return frame[columns]


def spread_table(
    result: Result,
    group: str,
    labels: dict[str, Callable[[Any], str]] | None = None,
) -> pd.DataFrame:
    """One row per case: parameters, N, median, interquartile range, min-max, stability."""
    labels = labels or {}
    rows = []
    for case in result.group(group):
        summary = summarize(case.samples)
        row = {name: labels.get(name, str)(value) for name, value in case.params.items()
               if name in labels or not labels}
        row.update({
            "N": summary.n,
            "median": format_seconds(summary.median),
            "IQR": f"{format_seconds(summary.q1)} – {format_seconds(summary.q3)}",
            "min – max": f"{format_seconds(summary.min)} – {format_seconds(summary.max)}",
            "stable": UNSTABLE_MARK + " unstable" if summary.unstable else "yes",
        })
        rows.append(row)
    return pd.DataFrame(rows)


def to_html(frame: pd.DataFrame, table_id: str, caption: str, index: bool = True) -> str:
    """Render ``frame`` as an HTML table with a stable id and a caption."""
    body = frame.to_html(index=index, table_id=table_id, classes=["parbook-table"],
                         escape=True, border=0, na_rep="–")
    caption_html = f"<caption>{html.escape(caption)}</caption>"
    return body.replace(">\n  <thead>", f">\n  {caption_html}\n  <thead>", 1)


def build_date(created: str) -> str:
    """An ISO timestamp as a reader wants it: ``2026-11-23 16:20 UTC``."""
    try:
        moment = _dt.datetime.fromisoformat(created)
    except ValueError:
        return created or "an unknown date"
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def commit_html(commit: dict[str, Any] | None) -> str:
    """The commit a result was produced from, as HTML (a link when GitHub built it)."""
    if not commit or not commit.get("sha"):
        return "code outside any git checkout"
    short = html.escape(str(commit["sha"])[:10])
    label = f"<code>{short}</code>"
    if commit.get("url"):
        label = f'<a href="{html.escape(commit["url"])}">{label}</a>'
    suffix = " with uncommitted changes" if commit.get("dirty") else ""
    return f"commit {label}{suffix}"


def machine_summary(fingerprint: dict[str, Any]) -> str:
    """One line describing the machine a result was measured on."""
    memory = fingerprint.get("memory_bytes")
    memory_text = f", {memory / 1024**3:.0f} GiB" if memory else ""
    return (
        f"{fingerprint.get('cpu_model', 'unknown CPU')}, "
        f"{fingerprint.get('usable_cpus')} usable CPUs of {fingerprint.get('logical_cpus')} "
        f"logical{memory_text}; {fingerprint.get('os')}; Python "
        f"{fingerprint.get('python_version')}"
    )


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
