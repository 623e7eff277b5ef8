"""Helpers for the book's pages: run an experiment, publish its JSON, show its tables.

Pages execute with ``book/`` as the working folder. Results go to
``book/_static/results/NAME.json``; Sphinx copies ``_static`` into the built site after
every page has run, so each page's raw data is downloadable beside it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from IPython.display import HTML, display

from parbook import experiments
from parbook.bench import report
from parbook.bench.results import Result, save
from parbook.settings import quick_from_env

#: True when the book is built at test sizes (``PARBOOK_QUICK=1``).
QUICK = quick_from_env()
RESULTS_DIR = Path("_static") / "results"


def run_experiment(name: str) -> Result:
    """Run experiment ``name`` at this build's size and save its JSON for download."""
    result = experiments.get(name).run(quick=QUICK)
    save(result, RESULTS_DIR / f"{name}.json")
    return result


def show_table(frame: Any, table_id: str, caption: str, index: bool = True) -> None:
    """Display a table with a stable HTML id (tests and readers' links rely on it)."""
    display(HTML(report.to_html(frame, table_id=table_id, caption=caption, index=index)))


def show_provenance(result: Result) -> None:
    """Say where and how the numbers on this page were measured, with the raw data."""
    size = "quick (test) sizes" if result.quick else "full sizes"
    name = html.escape(result.experiment)
    text = (
        f"Measured while this page was built, at {size}, on: "
        f"{html.escape(report.machine_summary(result.machine))} "
        f'(<a href="build-machine.html">the build machine</a>). '
        f"Started {html.escape(result.created)}. "
        f'Raw samples: <a href="_static/results/{name}.json" download>{name}.json</a> '
        f"(median of N runs in every cell; ⚠ marks a case whose spread exceeds "
        f"{report.UNSTABLE_THRESHOLD_PERCENT}% of its median)."
    )
    display(HTML(f'<p class="parbook-provenance">{text}</p>'))
