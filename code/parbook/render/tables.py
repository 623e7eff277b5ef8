"""Generic tables, rendered from recorded results only.

Cells show the median of N runs; unstable cases (spread above
:data:`parbook.bench.stats.UNSTABLE_RELATIVE_SPREAD`) carry a warning sign, and a
separate spread table lists N, the interquartile range and min-max for every case.
An article's figures appear only in columns labelled as the article's.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.bench.stats import CI_LEVEL, UNSTABLE_RELATIVE_SPREAD, Summary, summarize
from parbook.render.formatting import format_ratio, format_seconds
from parbook.sources import ReportedTable

UNSTABLE_MARK = "⚠"
UNSTABLE_THRESHOLD_PERCENT = round(UNSTABLE_RELATIVE_SPREAD * 100)
THIS_BUILD = "this build"
#: The spread tables' column for the confidence interval of the median.
MEDIAN_CI = "95% CI of median"
RATIO = "ratio"


@dataclass(frozen=True)
class Table:
    """A table a page shows: its data, its caption, and whether the index is shown."""

    frame: pd.DataFrame
    caption: str
    index: bool = True


def time_cell(summary: Summary) -> str:
    """A table cell for one case: its median, flagged if the case was unstable."""
    text = format_seconds(summary.median)
    return f"{text} {UNSTABLE_MARK}" if summary.unstable else text


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


def median_ci_cell(summary: Summary) -> str:
    """The median's confidence interval as a cell; its real coverage when below 95%
    (too few samples for 95%), and a dash for a single sample."""
    if summary.n < 2:
        return "–"
    cell = f"{format_seconds(summary.ci_low)} – {format_seconds(summary.ci_high)}"
    if summary.ci_coverage < CI_LEVEL:
        cell += f" ({summary.ci_coverage:.0%})"
    return cell


def spread_table(
    result: Result,
    group: str,
    labels: dict[str, Callable[[Any], str]] | None = None,
) -> pd.DataFrame:
    """One row per case: parameters, N, median, interquartile range, min-max, a 95%
    confidence interval of the median, stability."""
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
            MEDIAN_CI: median_ci_cell(summary),
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


def spread_view(group: str, labels: dict[str, Callable[[Any], str]] | None = None,
                caption: str = "Spread of every case above: N runs, interquartile range "
                               "and min-max.") -> Callable[[Result, Any], Table]:
    """A chapter view (``result, findings -> Table``) of the spread table of ``group``."""
    def view(result: Result, found: Any) -> Table:
        return Table(spread_table(result, group, labels=labels), caption=caption, index=False)
    return view

