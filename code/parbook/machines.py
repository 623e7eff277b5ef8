"""The machines whose results this copy of the book holds: the one that built it, and every
machine a reader contributed as a folder of result files.

A contributed machine is a folder ``results/machines/<name>/`` at the repository's root,
made with ``python -m parbook run --all --out results/machines/<name>`` and committed; its
name is the folder's. ``PARBOOK_MACHINES_DIR`` points elsewhere (the tests use it). Each
folder is read with :func:`parbook.bench.compare.load_folder`, so a file that is not a
readable result, or a second result of one experiment and size, is left out and named,
one line each, and never stops the page. This build's own results are the files the pages
before this one saved in ``_static/results`` (pages execute in ``book/``).

The Machines page shows its tables from here, as the reference pages show theirs from
:mod:`parbook.reference`; the scaling chapter draws a line for every contributed machine's
``scaling`` result. Nothing here starts a process.
"""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parbook.bench import machine
from parbook.bench.compare import ResultKey, load_folder, size_name
from parbook.bench.results import Result, ResultError
from parbook.render import formatting

#: The environment variable that names the folder of contributed machines.
MACHINES_ENV = "PARBOOK_MACHINES_DIR"
#: Where contributed machines live unless the variable says otherwise: ``results/machines``
#: at the repository's root (``../results/machines`` from ``book/``).
DEFAULT_MACHINES_DIR = machine.REPOSITORY / "results" / "machines"
#: How the pages name that folder, whatever its absolute path on the build machine.
MACHINES_DISPLAY = "results/machines"
#: Where this build's pages save their results, relative to ``book/``.
BUILD_RESULTS = Path("_static") / "results"
#: Files a machines folder may hold beside the machines' folders, without a word.
QUIET_FILES = ("README.md",)
#: The experiment whose results the scaling chapter and this page set side by side.
SCALING = "scaling"


def machines_dir() -> Path:
    """The folder of contributed machines: ``$PARBOOK_MACHINES_DIR`` or the default."""
    configured = os.environ.get(MACHINES_ENV, "").strip()
    return Path(configured) if configured else DEFAULT_MACHINES_DIR


@dataclass(frozen=True)
class MachineResults:
    """One machine and the results its folder holds, by experiment and size."""

    name: str
    results: dict[ResultKey, Result] = field(compare=False)

    @property
    def latest(self) -> Result:
        """The most recent result: its fingerprint describes the machine."""
        return max(self.results.values(), key=lambda result: result.created)

    @property
    def fingerprint(self) -> dict[str, Any]:
        return self.latest.machine

    def scaling(self) -> Result | None:
        """The folder's scaling result: the full one if there is one, else the quick one."""
        return self.results.get((SCALING, False)) or self.results.get((SCALING, True))

    def holdings(self) -> list[str]:
        """``["scaling (full)", "the-gil (quick)"]``: what the folder holds, sorted."""
        return [f"{experiment} ({size_name(quick)})"
                for experiment, quick in sorted(self.results)]


@dataclass(frozen=True)
class Contributions:
    """Every contributed machine found, and one line for each file or folder left out."""

    machines: tuple[MachineResults, ...] = ()
    skipped: tuple[str, ...] = ()


def _relative(problem: str, folder: Path) -> str:
    """A problem line with the machines folder named as the page names it."""
    return problem.replace(str(folder), MACHINES_DISPLAY)


def read_machine(path: Path, name: str | None = None) -> tuple[MachineResults | None,
                                                                list[str]]:
    """The results in one machine's folder, and the lines naming what was left out (all of
    it, in one line, when the folder holds no readable result)."""
    try:
        found = load_folder(path)
    except ResultError as exc:
        return None, [f"{exc}; the whole folder was left out"]
    results = {key: result for key, (_path, result) in found.results.items()}
    problems = [f"{problem}; left out" for problem in found.problems]
    models = {str(result.machine.get("cpu_model")) for result in results.values()}
    if len(models) > 1:
        problems.append(f"{path}: its results come from more than one CPU model "
                        f"({', '.join(sorted(models))}); the newest describes the machine")
    return MachineResults(name or path.name, results), problems


def contributed(folder: Path | None = None) -> Contributions:
    """Every machine folder in ``folder`` (default: :func:`machines_dir`), by name.

    A missing folder means no contributions. An entry that is not a folder is named as
    left out, except for the files in :data:`QUIET_FILES`.
    """
    folder = machines_dir() if folder is None else folder
    try:
        entries = sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))
    except FileNotFoundError:
        return Contributions()
    except OSError as exc:
        return Contributions(skipped=(f"{MACHINES_DISPLAY}: cannot be listed "
                                      f"({exc.strerror or exc})",))
    machines, skipped = [], []
    for entry in entries:
        if not entry.is_dir():
            if entry.name not in QUIET_FILES:
                skipped.append(f"{entry}: not a machine's folder; left out")
            continue
        found, problems = read_machine(entry)
        skipped += problems
        if found is not None:
            machines.append(found)
    return Contributions(tuple(machines),
                         tuple(_relative(line, folder) for line in skipped))


def this_build(folder: Path = BUILD_RESULTS) -> MachineResults | None:
    """The results this build's pages have saved so far (None when there are none)."""
    found, _problems = read_machine(folder, name="this build")
    return found


# ---------------------------------------------------------------------------------------
# What the Machines page shows.

#: The label of this build's row and column.
THIS_BUILD = "this build (the machine that built this copy)"


def machine_row(name: str, fingerprint: dict[str, Any], date: str,
                holdings: Iterable[str]) -> dict[str, str]:
    """One row of the machines table, cells as HTML."""
    memory = fingerprint.get("memory_bytes")
    held = list(holdings)
    return {
        "machine": html.escape(name),
        "CPU model": html.escape(str(fingerprint.get("cpu_model", "unknown"))),
        "usable / logical CPUs": html.escape(f"{fingerprint.get('usable_cpus')} / "
                                             f"{fingerprint.get('logical_cpus')}"),
        "memory": formatting.format_bytes(memory) if memory else "unknown",
        "OS": html.escape(str(fingerprint.get("os", "unknown"))),
        "Python": html.escape(str(fingerprint.get("python_version", "unknown"))),
        "date": html.escape(formatting.build_date(date)),
        "results": html.escape(", ".join(held)) if held else "none yet",
    }


def machines_table(contributions: Contributions, build: MachineResults | None) -> str:
    """Every machine: this build's first, then each contributed one (HTML table)."""
    from parbook.reference import text_table

    if build is not None:
        first = machine_row(THIS_BUILD, build.fingerprint, build.latest.created,
                            build.holdings())
    else:
        now = machine.fingerprint()
        first = machine_row(THIS_BUILD, now, now["taken_at"], [])
    rows = [first] + [machine_row(found.name, found.fingerprint, found.latest.created,
                                  found.holdings())
                      for found in contributions.machines]
    return text_table("machines-table", rows)


def skipped_list(contributions: Contributions) -> str:
    """The files and folders left out, one line each (HTML list); nothing when none was
    (the page's sentence says so)."""
    if not contributions.skipped:
        return ""
    items = "".join(f"<li><code>{html.escape(line)}</code></li>"
                    for line in contributions.skipped)
    return f'<ul id="machines-skipped">{items}</ul>'


def scaling_series(contributions: Contributions, build: MachineResults | None
                   ) -> list[tuple[str, Result]]:
    """``(label, scaling result)`` for this build (when its result is there) and every
    contributed machine that has one; a quick result is labelled as such."""
    series = []
    for label, found in ([("this build", build)] if build is not None else []) + [
            (found.name, found) for found in contributions.machines]:
        result = found.scaling()
        if result is not None:
            series.append((label + (", quick sizes" if result.quick else ""), result))
    return series


def scaling_table(series: list[tuple[str, Result]]) -> str:
    """Per backend of the scaling sweep, each machine's best speed-up (and where) and its
    fitted serial fraction (HTML table); empty string without any scaling result."""
    import pandas as pd

    from parbook.chapters.scaling import analysis
    from parbook.render.tables import to_html

    if not series:
        return ""
    columns: dict[tuple[str, str], dict[str, str]] = {}
    for label, result in series:
        try:
            lines = analysis.lines_of(result)
        except (KeyError, TypeError, ValueError) as exc:
            columns[(label, "best speed-up")] = {}
            columns[(label, "serial fraction")] = {"–": f"unreadable ({exc})"}
            continue
        best = columns.setdefault((label, "best speed-up"), {})
        fits = columns.setdefault((label, "serial fraction"), {})
        for line in lines:
            best[line.label] = analysis.best_cell(line)
            fits[line.label] = analysis.fit_cell(line)
    frame = pd.DataFrame(columns)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "backend"
    return to_html(frame.fillna("–"), table_id="machines-scaling-table", caption=(
        "The scaling sweep on each machine: the highest speed-up over one worker (at that "
        "many workers) and the serial fraction f of Amdahl's law fitted up to the machine's "
        "usable CPUs; – where a machine did not run that line."))


# ---------------------------------------------------------------------------------------
# The Machines page's sentences (glue key -> text).


def contributions_sentence(contributions: Contributions) -> str:
    """How many machines readers contributed, whole sentences."""
    count = len(contributions.machines)
    if count == 0:
        return ("No reader has contributed a machine to this copy of the book yet, so the "
                "table has one row, this build's.")
    names = formatting.spoken_list(found.name for found in contributions.machines)
    if count == 1:
        return f"One contributed machine has results in this copy of the book: {names}."
    return (f"Contributed machines with results in this copy of the book ({count}): "
            f"{names}.")


def skipped_sentence(contributions: Contributions) -> str:
    """Whether anything in the contributed folders was left out."""
    count = len(contributions.skipped)
    if count == 0 and not contributions.machines:
        return "With no contributed folder, nothing was left out."
    if count == 0:
        return "Every file in the contributed folders was read."
    what = "one file or folder" if count == 1 else f"{count} files or folders"
    return (f"{what.capitalize()} in {MACHINES_DISPLAY} could not be used and "
            f"{'was' if count == 1 else 'were'} left out; the list below says why, one "
            "line each.")


def build_scaling_sentence(build: MachineResults | None) -> str:
    """Whether this build's own scaling result was there to show."""
    if build is not None and build.scaling() is not None:
        return ("This build's row comes from the scaling chapter's result, saved when its "
                "page ran earlier in this build.")
    return ("This build has no scaling result yet: the scaling chapter's page saves it when "
            "it runs, before this page in a full build, so a page built on its own has none.")


def page_texts(contributions: Contributions, build: MachineResults | None) -> dict[str, str]:
    """Every sentence the Machines page glues."""
    return {
        "machines_contributed": contributions_sentence(contributions),
        "machines_skipped": skipped_sentence(contributions),
        "machines_build_scaling": build_scaling_sentence(build),
    }
