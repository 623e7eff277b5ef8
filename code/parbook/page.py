"""Helpers for the book's pages: run an experiment, publish its JSON, show its tables.

Pages execute with ``book/`` as the working folder. Results go to
``book/_static/results/NAME.json``; Sphinx copies ``_static`` into the built site after
every page has run, so each page's raw data is downloadable beside it.

A page runs its experiment exactly as a reader would, with ``python -m parbook run``
in a fresh process, not inside the notebook kernel: the kernel keeps helper threads of
its own, which slow pure-Python loops measured there and make ``fork`` unsafe, and the
reader's command must reproduce the page's numbers.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path
from typing import Any

from IPython.display import HTML, display

from parbook.bench import report
from parbook.bench.results import Result, load
from parbook.settings import quick_from_env

#: True when the book is built at test sizes (``PARBOOK_QUICK=1``).
QUICK = quick_from_env()
RESULTS_DIR = Path("_static") / "results"
#: Longest any one experiment may run before the page fails instead of hanging the build.
EXPERIMENT_TIMEOUT_S = 1500


def run_experiment(name: str) -> Result:
    """Run ``python -m parbook run NAME`` at this build's size; return its saved result."""
    out = RESULTS_DIR / f"{name}.json"
    command = [sys.executable, "-m", "parbook", "run", name, "--out", str(out)]
    if QUICK:
        command.append("--quick")
    completed = subprocess.run(command, capture_output=True, text=True,
                               timeout=EXPERIMENT_TIMEOUT_S, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr[-4000:]}")
    return load(out)


def show_table(frame: Any, table_id: str, caption: str, index: bool = True) -> None:
    """Display a table with a stable HTML id (tests and readers' links rely on it)."""
    display(HTML(report.to_html(frame, table_id=table_id, caption=caption, index=index)))


def show_provenance(result: Result) -> None:
    """Say when, from which commit and where the numbers on this page were measured,
    with a link to the build-machine page and to the raw data."""
    size = "quick (test) sizes" if result.quick else "full sizes"
    name = html.escape(result.experiment)
    text = (
        f"Measured while this page was built, on {html.escape(report.build_date(result.created))}, "
        f"from {report.commit_html(result.machine.get('commit'))}, at {size}, on: "
        f"{html.escape(report.machine_summary(result.machine))} "
        f'(<a href="build-machine.html">the build machine</a>). '
        f'Raw samples: <a href="_static/results/{name}.json" download>{name}.json</a> '
        f"(median of N runs in every cell; ⚠ marks a case whose spread exceeds "
        f"{report.UNSTABLE_THRESHOLD_PERCENT}% of its median)."
    )
    display(HTML(f'<p class="parbook-provenance">{text}</p>'))
