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

from parbook import chapters, claims, interpreters
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


def run_experiment(name: str, python: str | os.PathLike[str] | None = None,
                   suffix: str | None = None) -> Result:
    """Run ``python -m parbook run NAME`` at this build's size; return its saved result.

    ``python`` is another interpreter to run it with (:mod:`parbook.interpreters`), whose
    result is saved as ``NAME.SUFFIX.json``; it runs this checkout's parbook. With
    ``PARBOOK_RESULTS_DIR`` set, a result of the same size found there is copied in
    instead of measured again.
    """
    file_name = f"{name}.{suffix}.json" if suffix else f"{name}.json"
    out = RESULTS_DIR / file_name
    reused = _reusable(name, file_name)
    if reused is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reused, out)
        return load(out)
    command = [os.fspath(python or sys.executable), "-m", "parbook", "run", name,
               "--out", str(out), "--time-limit", str(EXPERIMENT_TIMEOUT_S)]
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
    # Another interpreter's environment does not hold parbook: it runs this checkout's.
    code = str(Path(chapters.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        part for part in (code, os.environ.get("PYTHONPATH")) if part)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True, env=env) as runner:
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


def _reusable(name: str, file_name: str) -> Path | None:
    """The earlier result ``file_name`` of ``name`` in ``PARBOOK_RESULTS_DIR``, if it is
    of this size."""
    folder = os.environ.get(REUSE_ENV)
    if not folder:
        return None
    candidate = Path(folder) / file_name
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
    #: The build's own run, then one per other interpreter (:mod:`parbook.interpreters`).
    runs: tuple[interpreters.InterpreterRun, ...] = ()

    def table(self, table_id: str) -> None:
        """Display the chapter's table ``table_id`` (an HTML table with that id)."""
        views = self.chapter.views
        if table_id in getattr(views, "INTERPRETER_TABLES", {}):
            made = views.INTERPRETER_TABLES[table_id](self.runs)
        else:
            made = views.TABLES[table_id](self.result, self.found)
        show_table(made.frame, table_id, made.caption, index=made.index)

    def figure(self, figure_id: str) -> None:
        """Display the chapter's figure ``figure_id``."""
        import matplotlib.pyplot as plt

        views = self.chapter.views
        if figure_id in getattr(views, "INTERPRETER_FIGURES", {}):
            views.INTERPRETER_FIGURES[figure_id](self.runs)
        else:
            views.FIGURES[figure_id](self.result, self.found)
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
    runs = own_run(result, found)
    if chapter.interpreters:
        runs = interpreters.gather(
            runs[0], lambda python, suffix: run_experiment(name, python, suffix),
            chapter.analysis.findings)
    texts = glued_texts(chapter, found, runs)
    for key, value in texts.items():
        glue(key, value, display=False)
    return OpenChapter(chapter=chapter, result=result, found=found, texts=texts, runs=runs)


def own_run(result: Result, found: Any) -> tuple[interpreters.InterpreterRun, ...]:
    """The build's own interpreter's run, alone."""
    return (interpreters.InterpreterRun(None, result=result, found=found),)


def glued_texts(chapter: chapters.Chapter, found: Any,
                runs: tuple[interpreters.InterpreterRun, ...] = ()) -> dict[str, Any]:
    """Every text a chapter's page glues: its ``texts()``, its claims' verdicts and
    reasons, which the ledger (``book/sources.md``) quotes from the page, and, in a
    chapter that runs under several interpreters, what ran and what changed in ``runs``."""
    texts = chapter.analysis.texts(found) | claims.texts(claims.of_chapter(chapter.analysis,
                                                                          found))
    if chapter.interpreters:
        if not runs:
            raise ValueError(f"{chapter.name} runs under several interpreters: give its runs "
                             "(page.own_run(result, found) for the build's own alone)")
        texts |= interpreter_texts(chapter, runs)
    return texts


def interpreter_texts(chapter: chapters.Chapter,
                      runs: tuple[interpreters.InterpreterRun, ...]) -> dict[str, Any]:
    """The glued sentences of a chapter's interpreter comparison: ``PKG_interpreters_ran``
    and ``PKG_interpreters_changed`` (from :mod:`parbook.interpreters`), and the chapter's
    own ``interpreter_texts(runs)`` if its analysis has one."""
    prefix = chapters.package_name(chapter.name)
    describe = getattr(chapter.analysis, "describe_case", interpreters.describe_case)
    texts = {f"{prefix}_interpreters_ran": interpreters.ran_sentence(runs),
             f"{prefix}_interpreters_changed": interpreters.changed_sentence(runs, describe)}
    own = getattr(chapter.analysis, "interpreter_texts", None)
    return texts | (own(runs) if own else {})


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
