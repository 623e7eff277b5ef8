"""What a page calls: run its chapter's experiment, glue its texts, show its tables.

A measured page opens with one set-up cell::

    from parbook import page
    chapter = page.open("the-gil")

and then shows a named table, figure or recorded output in a one-line cell each
(``chapter.table("the-gil-article-table")``, ``chapter.figure("overhead-speedup")``,
``chapter.output("ray-basics-tasks-demo")``).
Every sentence and number the prose quotes comes from the chapter's ``texts()``, glued
by :func:`open`.

Pages execute with ``book/`` as the working folder. Results go to
``book/_static/results/NAME.json``; Sphinx copies ``_static`` into the built site after
every page has run, so each page's raw data is downloadable beside it.

A page runs its experiment exactly as a reader would, with ``python -m parbook run``
in a fresh process, not inside the notebook kernel: the kernel keeps helper threads of
its own, which slow pure-Python loops measured there and make ``fork`` unsafe, and the
reader's command must reproduce the page's numbers.
"""

from __future__ import annotations

import contextlib
import html
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from IPython.display import HTML, display

from parbook import chapters, claims
from parbook.bench.results import Result, ResultError, load
from parbook.render import formatting, tables
from parbook.settings import quick_from_env

#: True when the book is built at test sizes (``PARBOOK_QUICK=1``).
QUICK = quick_from_env()
RESULTS_DIR = Path("_static") / "results"
#: Longest any one experiment may run before the page fails instead of hanging the build.
EXPERIMENT_TIMEOUT_S = 1500
#: A folder of results made earlier at this build's size (``NAME.json``), used instead of
#: running the experiment again. The test suite sets it, so that each experiment runs once
#: per ``make test``; a reader's build leaves it unset and measures everything.
REUSE_ENV = "PARBOOK_RESULTS_DIR"


def run_experiment(name: str) -> Result:
    """Run ``python -m parbook run NAME`` at this build's size; return its saved result.

    With ``PARBOOK_RESULTS_DIR`` set, a result of the same size found there is copied
    in instead of measured again.
    """
    out = RESULTS_DIR / f"{name}.json"
    reused = _reusable(name)
    if reused is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reused, out)
        return load(out)
    command = [sys.executable, "-m", "parbook", "run", name, "--out", str(out),
               "--time-limit", str(EXPERIMENT_TIMEOUT_S)]
    if QUICK:
        command.append("--quick")
    returncode, errors = _run_to_the_end(command)
    if returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors[-4000:]}")
    return load(out)


def _run_to_the_end(command: list[str]) -> tuple[int, str]:
    """Run ``python -m parbook run ...``; return its exit code and standard error.

    The command stops its own process tree at its ``--time-limit``. Should it not end
    within a grace period after that, it gets SIGTERM, which it answers by stopping that
    tree too, and then its process group is killed: the page fails, but never hangs and
    never leaves the experiment's processes running.
    """
    from parbook import supervise

    backstop_s = EXPERIMENT_TIMEOUT_S + supervise.STOP_GRACE_S + supervise.DRAIN_S + 60
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as runner:
        try:
            _output, errors = runner.communicate(timeout=backstop_s)
        except subprocess.TimeoutExpired:
            runner.terminate()
            try:
                _output, errors = runner.communicate(timeout=supervise.STOP_GRACE_S
                                                     + supervise.DRAIN_S + 30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(runner.pid, signal.SIGKILL)
                _output, errors = runner.communicate()
            errors = f"{errors}\nstopped after {backstop_s:g} s"
    return runner.returncode, errors


def _reusable(name: str) -> Path | None:
    """The earlier result for ``name`` in ``PARBOOK_RESULTS_DIR``, if it is of this size."""
    folder = os.environ.get(REUSE_ENV)
    if not folder:
        return None
    candidate = Path(folder) / f"{name}.json"
    try:
        earlier = load(candidate)
    except ResultError:
        return None
    return candidate if earlier.quick == QUICK and earlier.experiment == name else None


@dataclass(frozen=True)
class OpenChapter:
    """A chapter as its page uses it: the result, its findings and texts, and its views."""

    chapter: chapters.Chapter
    result: Result
    found: Any
    texts: dict[str, Any]

    def table(self, table_id: str) -> None:
        """Display the chapter's table ``table_id`` (an HTML table with that id)."""
        made = self.chapter.views.TABLES[table_id](self.result, self.found)
        show_table(made.frame, table_id, made.caption, index=made.index)

    def figure(self, figure_id: str) -> None:
        """Display the chapter's figure ``figure_id``."""
        import matplotlib.pyplot as plt

        self.chapter.views.FIGURES[figure_id](self.result, self.found)
        plt.show()

    def output(self, output_id: str) -> None:
        """Print the chapter's recorded output ``output_id`` (what a demonstration printed
        when the experiment ran), as the reader would have seen it in a terminal."""
        print(self.chapter.views.OUTPUTS[output_id](self.result, self.found))

    def provenance(self) -> None:
        """Say when, from which commit and on which machine this page was measured."""
        show_provenance(self.result)


def open(name: str) -> OpenChapter:  # noqa: A001 - the page's verb: page.open("the-gil")
    """Run chapter ``name``'s experiment at this build's size and glue all its texts."""
    from myst_nb import glue

    chapter = chapters.get(name)
    result = run_experiment(name)
    found = chapter.analysis.findings(result)
    texts = glued_texts(chapter, found)
    for key, value in texts.items():
        glue(key, value, display=False)
    return OpenChapter(chapter=chapter, result=result, found=found, texts=texts)


def glued_texts(chapter: chapters.Chapter, found: Any) -> dict[str, Any]:
    """Every text a chapter's page glues: its ``texts()`` and its claims' verdicts and
    reasons, which the ledger (``book/sources.md``) quotes from the page."""
    return chapter.analysis.texts(found) | claims.texts(claims.of_chapter(chapter.analysis,
                                                                         found))


def show_table(frame: Any, table_id: str, caption: str, index: bool = True) -> None:
    """Display a table with a stable HTML id (tests and readers' links rely on it)."""
    display(HTML(tables.to_html(frame, table_id=table_id, caption=caption, index=index)))


def show_provenance(result: Result) -> None:
    """Say when, from which commit and where the numbers on this page were measured,
    with a link to the build-machine page and to the raw data."""
    size = "quick (test) sizes" if result.quick else "full sizes"
    name = html.escape(result.experiment)
    text = (
        f"Measured while this page was built, on "
        f"{html.escape(formatting.build_date(result.created))}, "
        f"from {tables.commit_html(result.machine.get('commit'))}, at {size}, on: "
        f"{html.escape(formatting.machine_summary(result.machine))} "
        f'(<a href="build-machine.html">the build machine</a>). '
        f'Raw samples: <a href="_static/results/{name}.json" download>{name}.json</a> '
        f"(median of N runs in every cell; ⚠ marks a case whose spread exceeds "
        f"{tables.UNSTABLE_THRESHOLD_PERCENT}% of its median)."
    )
    display(HTML(f'<p class="parbook-provenance">{text}</p>'))
