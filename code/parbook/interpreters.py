"""Other interpreters side by side: ``PARBOOK_PYTHONS``, their environments and their runs.

The chapters whose answers depend on the interpreter (``INTERPRETERS = True`` in their
package) run their experiment under the build's own interpreter and then under every other
interpreter named in ``PARBOOK_PYTHONS`` (``"python3.12 python3.13 python3.14t"``; unset:
the build's own only), and show one column per interpreter.

Each other interpreter runs ``python -m parbook run`` from a virtual environment of its
own, ``.venv-pythons/NAME``, which ``make pythons`` makes (``python -m parbook.interpreters
setup``) from the same lock as the build's environment but holding only :data:`PACKAGES`,
what those chapters import: Ray, gymnasium or pandas may have no wheels yet for a new or a
free-threaded interpreter. The parbook package itself is not installed there; it runs from
this checkout (``PYTHONPATH``), so every interpreter measures the same code.

An interpreter that is named but missing (not on this machine, its environment not made,
or its run failed) is not an error: the page says so, in a whole sentence, and goes on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.bench.compare import compare_cases
from parbook.bench.machine import REPOSITORY
from parbook.bench.results import Result

#: The environment variable that names the other interpreters, separated by spaces or commas.
ENV = "PARBOOK_PYTHONS"
#: Where ``make pythons`` puts one virtual environment per named interpreter.
VENVS_DIR = REPOSITORY / ".venv-pythons"
#: The lock every environment installs from.
LOCK = REPOSITORY / "requirements.lock"
#: What the interpreter-dependent chapters' experiments import, besides the standard
#: library (matplotlib: start-methods times a plotting script's imports).
PACKAGES = ("numpy", "psutil", "tqdm", "jsonschema", "matplotlib")
#: The file in an environment that says it is complete, and for which lock and interpreter.
STAMP = ".parbook-installed"
#: How long asking an interpreter for its version may take before it counts as missing.
PROBE_TIMEOUT_S = 30
#: How long making one environment may take (pip, from the package index).
SETUP_TIMEOUT_S = 900
#: A case "changed" between two interpreters when its median moved by more than this
#: factor, either way, and neither side's samples were unstable.
CHANGE_FACTOR = 1.5

_PROBE = ("import json, platform, sys, sysconfig; print(json.dumps({"
          "'implementation': platform.python_implementation(), "
          "'version': platform.python_version(), "
          "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
          "'executable': sys.executable}))")


def requested(environ: dict[str, str] | None = None) -> list[str]:
    """The interpreters named in ``PARBOOK_PYTHONS``, in order, each once."""
    text = (environ if environ is not None else os.environ).get(ENV, "")
    return list(dict.fromkeys(part for part in re.split(r"[\s,]+", text) if part))


def venv_name(name: str) -> str:
    """The folder name of ``name``'s environment: ``python3.14t``, or a path's last part."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name) or "python"


def venv_python(name: str, root: Path = VENVS_DIR) -> Path:
    """The interpreter inside ``name``'s environment."""
    return root / venv_name(name) / "bin" / "python"


def probe(python: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What ``python`` says it is (implementation, version, free-threaded build), or None
    when it does not run (a pyenv shim for a version not selected fails here)."""
    try:
        done = subprocess.run([os.fspath(python), "-c", _PROBE], capture_output=True,
                              text=True, timeout=PROBE_TIMEOUT_S, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def find(name: str, environ: dict[str, str] | None = None) -> Path | None:
    """The interpreter ``name`` names: a path, a command on ``PATH``, or the newest pyenv
    version that has a command of that name; None when none of them runs."""
    env = environ if environ is not None else os.environ
    if os.sep in name:
        candidates = [Path(name)]
    else:
        on_path = shutil.which(name, path=env.get("PATH"))
        pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
        versions = sorted(pyenv_root.glob(f"versions/*/bin/{name}"), reverse=True,
                          key=lambda path: _version_key(path.parents[1].name))
        candidates = ([Path(on_path)] if on_path else []) + versions
    for candidate in candidates:
        if probe(candidate) is not None:
            return candidate
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def _stamp_text(python: Path, lock: Path) -> str:
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    return f"{python}\n{digest}\n{' '.join(PACKAGES)}\n"


def setup(names: Sequence[str], root: Path = VENVS_DIR, lock: Path = LOCK,
          say: Callable[[str], None] = print) -> list[str]:
    """Make (or bring up to date) one environment per named interpreter; return the names
    that now have one. A missing interpreter, or one whose packages fail to install, is
    reported in one line and skipped: the pages then say it is missing."""
    ready = []
    for name in names:
        python = find(name)
        if python is None:
            say(f"{name}: not found on this machine (PATH, pyenv); the pages will say so")
            continue
        folder = root / venv_name(name)
        stamp = folder / STAMP
        wanted = _stamp_text(python, lock)
        if stamp.is_file() and stamp.read_text() == wanted and venv_python(name, root).exists():
            ready.append(name)
            continue
        say(f"{name}: making {folder} with {python} ({', '.join(PACKAGES)} from {lock.name})")
        steps = [[str(python), "-m", "venv", "--clear", str(folder)],
                 [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  "--disable-pip-version-check", "-c", str(lock), *PACKAGES]]
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True,
                                      timeout=SETUP_TIMEOUT_S, check=False)
                failure = done.stderr.strip().splitlines()[-1:] if done.returncode else None
            except (OSError, subprocess.TimeoutExpired) as exc:
                failure = [str(exc)]
            if failure is not None:
                say(f"{name}: {' '.join(step[:3])} failed ({' '.join(failure) or 'no output'});"
                    " the pages will say so")
                break
        else:
            stamp.write_text(wanted)
            ready.append(name)
    return ready


# ---------------------------------------------------------------------------------------
# Runs: one chapter under several interpreters.


def label(fingerprint: dict[str, Any]) -> str:
    """A column heading for the interpreter a result was measured with, which also reads
    well mid-sentence: ``CPython 3.12.1``; a free-threaded build ``CPython 3.14.0t``, or
    ``CPython 3.14.0t with its GIL on`` when it ran with the GIL back on (``PYTHON_GIL=1``,
    or an extension module not marked safe without it)."""
    text = f"{fingerprint.get('python_implementation', 'Python')} {fingerprint['python_version']}"
    if fingerprint.get("free_threaded_build"):
        text += "t" + (" with its GIL on" if fingerprint.get("gil_enabled", True) else "")
    return text


@dataclass(frozen=True)
class InterpreterRun:
    """One interpreter's run of a chapter: its result and findings, or why there is none.

    ``name`` is what ``PARBOOK_PYTHONS`` called it (the build's own interpreter: ``None``).
    """

    name: str | None
    result: Result | None = None
    found: Any = None
    absent: str | None = None

    @property
    def label(self) -> str:
        """The column heading (the interpreter's own description, or the name given)."""
        return label(self.result.machine) if self.result is not None else str(self.name)


def same_interpreter(described: dict[str, Any], fingerprint: dict[str, Any]) -> bool:
    """Whether a probed interpreter is the one a result was measured with (same version
    and build): it then needs no run of its own."""
    return (described.get("implementation") == fingerprint.get("python_implementation")
            and described.get("version") == fingerprint.get("python_version")
            and bool(described.get("free_threaded"))
            == bool(fingerprint.get("free_threaded_build")))


def gather(own: InterpreterRun, run_with: Callable[[Path, str], Result],
           findings: Callable[[Result], Any], names: Sequence[str] | None = None,
           root: Path = VENVS_DIR) -> tuple[InterpreterRun, ...]:
    """The build's own run, then one run per other interpreter named in ``PARBOOK_PYTHONS``.

    ``run_with(python, suffix)`` runs the chapter's experiment with that interpreter and
    returns its result; an interpreter without an environment, or whose run fails, is
    kept as an absence with its reason. A name for the build's own interpreter (or one
    named twice) adds nothing.
    """
    runs = [own]
    for name in requested() if names is None else names:
        python = venv_python(name, root)
        described = probe(python) if python.exists() else None
        if described is None:
            reason = _without_environment(name, [run.result.machine for run in runs
                                                 if run.result is not None])
            if reason:
                runs.append(InterpreterRun(name, absent=reason))
            continue
        if _ran_already(described, runs):
            continue
        try:
            result = run_with(python, venv_name(name))
        except RuntimeError as exc:
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no output"
            runs.append(InterpreterRun(name, absent=f"{name}'s run failed ({last[:200]})"))
            continue
        runs.append(InterpreterRun(name, result=result, found=findings(result)))
    return tuple(runs)


def grouped(runs: Sequence[InterpreterRun],
            value: Callable[[Any], Any]) -> list[tuple[Any, list[str]]]:
    """The measured runs grouped by ``value(findings)``, in the order each value first
    appears: ``[(value, [label, ...]), ...]``; for sentences such as "fork on A and B,
    forkserver on C"."""
    groups: dict[Any, list[str]] = {}
    for run in measured(runs):
        groups.setdefault(value(run.found), []).append(run.label)
    return list(groups.items())


def clauses_sentence(clauses: Sequence[str]) -> str:
    """The non-empty ``clauses`` joined by semicolons as one sentence, capitalised."""
    text = "; ".join(clause for clause in clauses if clause)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _without_environment(name: str, known: Sequence[dict[str, Any]]) -> str | None:
    """Why ``name``, which has no environment, gets no column; None when it is an
    interpreter already measured (the build's own, named again), which needs none."""
    found_here = find(name)
    described = probe(found_here) if found_here is not None else None
    if described is not None and any(same_interpreter(described, fingerprint)
                                     for fingerprint in known):
        return None
    if found_here is not None:
        return f"{name} has no environment here (make pythons makes one)"
    return f"{name} was not found on this machine"


def _ran_already(described: dict[str, Any], runs: Sequence[InterpreterRun]) -> bool:
    return any(run.result is not None and same_interpreter(described, run.result.machine)
               for run in runs)


def measured(runs: Sequence[InterpreterRun]) -> list[InterpreterRun]:
    """The runs that have a result, the build's own first."""
    return [run for run in runs if run.result is not None]


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def ran_sentence(runs: Sequence[InterpreterRun]) -> str:
    """Which interpreters this build ran the chapter under, and which named ones it could
    not, as whole sentences."""
    labels = [run.label for run in measured(runs)]
    missing = [run.absent for run in runs if run.absent]
    if len(labels) == 1 and not missing:
        text = (f"This build ran the chapter under {labels[0]} only, its own interpreter "
                f"({ENV} named no other).")
    elif len(labels) == 1:
        text = f"This build ran the chapter under {labels[0]} only."
    else:
        text = (f"This build ran the chapter under {len(labels)} interpreters: "
                f"{join_words(labels)}.")
    if missing:
        text += f" Named in {ENV} but not run, so without a column: {join_words(missing)}."
    return text


@dataclass(frozen=True)
class Change:
    """One case whose median moved by more than :data:`CHANGE_FACTOR` on another
    interpreter: what it is, on which interpreter, and the ratio (other / build's own)."""

    case: str
    interpreter: str
    ratio: float


def changes(runs: Sequence[InterpreterRun],
            describe: Callable[[str, dict[str, Any]], str]) -> tuple[int, list[Change]]:
    """How many comparisons of a case between the build's own interpreter and another one
    had stable samples on both sides, and every one of them that changed by more than
    :data:`CHANGE_FACTOR`, the largest change first."""
    present = measured(runs)
    if len(present) < 2:
        return 0, []
    own, compared, found = present[0], 0, []
    # Only times: a count (updates lost, a final count) did not "take N× the time".
    timed = {(case.group, json.dumps(case.params, sort_keys=True))
             for case in own.result.cases if case.unit == "s"}
    for other in present[1:]:
        for case in compare_cases(own.result, other.result):
            ratio = case.ratio
            if (case.group, json.dumps(case.params, sort_keys=True)) not in timed:
                continue
            if case.unstable_sides or not (math.isfinite(ratio) and ratio > 0):
                continue
            compared += 1
            if abs(math.log(ratio)) > math.log(CHANGE_FACTOR):
                found.append(Change(describe(case.group, case.params), other.label, ratio))
    found.sort(key=lambda change: -abs(math.log(change.ratio)))
    return compared, found


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as a reader can find it in the tables: its group and parameters."""
    settings = ", ".join(f"{key} {value}" for key, value in params.items())
    return f"{group.replace('_', ' ')} ({settings})" if settings else group.replace("_", " ")


def changed_sentence(runs: Sequence[InterpreterRun],
                     describe: Callable[[str, dict[str, Any]], str] = describe_case,
                     format_ratio: Callable[[float], str] | None = None) -> str:
    """What changed between the interpreters, case by case, or that nothing did."""
    from parbook.render.formatting import format_ratio as default_ratio

    ratio_text = format_ratio or default_ratio
    present = measured(runs)
    if len(present) < 2:
        return ("With one interpreter there is nothing to set beside it: the table shows "
                "this build's interpreter alone.")
    compared, found = changes(runs, describe)
    own = present[0].label
    if not compared:
        return (f"No case could be set beside {own}: every case had unstable samples on one "
                "side or the other, so the table's medians are the only comparison.")
    if not found:
        return (f"No case of this chapter's experiment took more than "
                f"{ratio_text(CHANGE_FACTOR)} or less than {ratio_text(1 / CHANGE_FACTOR)} "
                f"the time it took on {own} (medians; {compared} comparisons of a case with "
                "stable samples on both sides).")
    largest = found[0]
    return (f"Of {compared} comparisons of a case with {own} (stable samples on both "
            f"sides), {len(found)} took more than {ratio_text(CHANGE_FACTOR)} or less than "
            f"{ratio_text(1 / CHANGE_FACTOR)} the time; the largest change: "
            f"{largest.case} took {ratio_text(largest.ratio)} the time on "
            f"{largest.interpreter}.")


def table(rows: Callable[[Any], dict[str, str]], what: str
          ) -> Callable[[Sequence[InterpreterRun]], Any]:
    """A chapter's side-by-side view: ``rows(findings)`` (row label -> formatted cell) of
    every interpreter that ran it, one column each; ``what`` says what the rows are."""
    from parbook.render.tables import Table

    def make(runs: Sequence[InterpreterRun]) -> Table:
        return Table(side_by_side(runs, rows), caption=(
            f"{what}, under each interpreter this build ran the chapter with, one column "
            f"each (medians; set {ENV} to add interpreters)."))

    return make


def side_by_side(runs: Sequence[InterpreterRun],
                 rows: Callable[[Any], dict[str, str]]) -> Any:
    """A table with one row per headline of the chapter (``rows(findings)``: row label
    -> formatted cell) and one column per interpreter that ran it."""
    import pandas as pd

    present = measured(runs)
    columns = {run.label: rows(run.found) for run in present}
    order = list(dict.fromkeys(key for cells in columns.values() for key in cells))
    frame = pd.DataFrame({heading: [cells.get(key, "–") for key in order]
                          for heading, cells in columns.items()}, index=order)
    frame.index.name = "what ran"
    return frame


# ---------------------------------------------------------------------------------------
# The interpreters page (book/interpreters.md): what each interpreter is, side by side.


@dataclass(frozen=True)
class Described:
    """One interpreter as the interpreters page lists it: its fingerprint (taken by
    ``python -m parbook machine`` in its environment), or why there is none."""

    name: str | None
    fingerprint: dict[str, Any] | None = None
    absent: str | None = None

    @property
    def label(self) -> str:
        return label(self.fingerprint) if self.fingerprint else str(self.name)


def describe_all(names: Sequence[str] | None = None, root: Path = VENVS_DIR
                 ) -> list[Described]:
    """The build's own interpreter, then each one named in ``PARBOOK_PYTHONS`` that is a
    different interpreter, with its fingerprint; or the reason it has none."""
    from parbook.bench import machine

    described = [Described(None, machine.fingerprint())]
    code = str(Path(__file__).resolve().parents[1])
    for name in requested() if names is None else names:
        python = venv_python(name, root)
        if not python.exists():
            reason = _without_environment(name, [d.fingerprint for d in described
                                                 if d.fingerprint])
            if reason:
                described.append(Described(name, absent=reason))
            continue
        try:
            done = subprocess.run([str(python), "-m", "parbook", "machine"], capture_output=True,
                                  text=True, timeout=PROBE_TIMEOUT_S, check=False,
                                  env={**os.environ, "PYTHONPATH": code})
            fingerprint = json.loads(done.stdout) if done.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
            fingerprint = None
        if fingerprint is None:
            described.append(Described(name, absent=f"{name} could not describe itself"))
            continue
        probed = {"implementation": fingerprint.get("python_implementation"),
                  "version": fingerprint.get("python_version"),
                  "free_threaded": fingerprint.get("free_threaded_build")}
        if not any(same_interpreter(probed, d.fingerprint) for d in described if d.fingerprint):
            described.append(Described(name, fingerprint))
    return described


def facts_rows(fingerprint: dict[str, Any]) -> dict[str, str]:
    """What the interpreters page lists for one interpreter."""
    def yes(value: Any) -> str:
        return "yes" if value else "no"

    return {
        "free-threaded build": yes(fingerprint.get("free_threaded_build")),
        "GIL while it ran": "on" if fingerprint.get("gil_enabled", True) else "off",
        "PYTHON_GIL": fingerprint.get("python_gil_env") or "not set",
        "default start method": fingerprint["default_start_method"],
        "start methods": ", ".join(fingerprint["start_methods"]),
        "InterpreterPoolExecutor": yes(fingerprint.get("interpreter_pool_executor")),
        "numpy": (fingerprint.get("packages") or {}).get("numpy") or "not installed",
    }


def facts_frame(described: Sequence[Described]) -> Any:
    """One column per interpreter that described itself, one row per fact."""
    import pandas as pd

    columns = {d.label: facts_rows(d.fingerprint) for d in described if d.fingerprint}
    frame = pd.DataFrame(columns)
    frame.index.name = "interpreter"
    return frame


def gil_sentence(described: Sequence[Described]) -> str:
    """Which interpreters ran with their GIL off, and which free-threaded build kept it on."""
    present = [d for d in described if d.fingerprint]
    free = [d for d in present if d.fingerprint.get("free_threaded_build")]
    if not free:
        one = len(present) == 1
        return (f"{'It is a' if one else 'Every one of them is a'} standard build with a GIL: "
                "no column here can show threads running Python on several CPUs at once.")
    off = [d.label for d in free if not d.fingerprint.get("gil_enabled", True)]
    on = [label({**d.fingerprint, "gil_enabled": False}) for d in free
          if d.fingerprint.get("gil_enabled", True)]
    parts = []
    if off:
        parts.append(f"{join_words(off)} ran with the GIL off, so threads could run Python "
                     "on several CPUs at once")
    if on:
        verb = "is a free-threaded build" if len(on) == 1 else "are free-threaded builds"
        parts.append(f"{join_words(on)} {verb} but ran with the GIL back on (PYTHON_GIL=1, "
                     "or an extension module not marked safe without it)")
    return "; ".join(parts) + "."


def start_method_sentence(described: Sequence[Described]) -> str:
    """Whether the interpreters' default start methods agree, as observed."""
    present = [d for d in described if d.fingerprint]
    methods: dict[str, list[str]] = {}
    for d in present:
        methods.setdefault(d.fingerprint["default_start_method"], []).append(d.label)
    if len(methods) == 1:
        (method, _labels), = methods.items()
        who = "It" if len(present) == 1 else "Every one of them"
        return f"{who} starts processes with {method} by default here."
    each = [f"{method} on {join_words(labels)}" for method, labels in methods.items()]
    return f"Their default start methods differ here: {join_words(each)}."


def pool_sentence(described: Sequence[Described]) -> str:
    """Which interpreters have InterpreterPoolExecutor."""
    present = [d for d in described if d.fingerprint]
    have = [d.label for d in present if d.fingerprint.get("interpreter_pool_executor")]
    if not have:
        return ("None of them has concurrent.futures.InterpreterPoolExecutor, which Python "
                "3.14 added.")
    if len(have) == len(present):
        return "Every one of them has concurrent.futures.InterpreterPoolExecutor."
    return (f"{join_words(have)} {'has' if len(have) == 1 else 'have'} "
            "concurrent.futures.InterpreterPoolExecutor; the others do not.")


def page_texts(described: Sequence[Described]) -> dict[str, str]:
    """Every sentence the interpreters page glues."""
    labels = [d.label for d in described if d.fingerprint]
    missing = [d.absent for d in described if d.absent]
    if len(labels) == 1:
        ran = (f"This build measured one interpreter, {labels[0]}, its own: {ENV} named "
               + ("no other." if not missing else "others, but none could run."))
    else:
        ran = (f"This build measured {len(labels)} interpreters side by side: "
               f"{join_words(labels)}.")
    if missing:
        ran += f" Named in {ENV} but not measured: {join_words(missing)}."
    from parbook.render.formatting import format_ratio

    return {"interpreters_ran": ran, "interpreters_gil": gil_sentence(described),
            "interpreters_start_method": start_method_sentence(described),
            "interpreters_pool": pool_sentence(described),
            "interpreters_change_factor": format_ratio(CHANGE_FACTOR),
            "interpreters_change_inverse": format_ratio(1 / CHANGE_FACTOR)}


def glue_page(described: Sequence[Described]) -> None:
    """Glue every sentence of the interpreters page (:func:`page_texts`)."""
    from myst_nb import glue

    for key, value in page_texts(described).items():
        glue(key, value, display=False)


def show_facts(described: Sequence[Described]) -> None:
    """Show the interpreters page's table: one column per interpreter."""
    from parbook.page import show_table

    show_table(facts_frame(described), "interpreters-facts", (
        "What each interpreter reported about itself when this page was built, in its own "
        "environment (python -m parbook machine)."))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m parbook.interpreters setup [NAME...]``: make the environments."""
    parser = argparse.ArgumentParser(prog="python -m parbook.interpreters",
                                     description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("setup", help=f"make an environment per interpreter "
                                             f"(default: those in {ENV})")
    make.add_argument("names", nargs="*", metavar="NAME")
    args = parser.parse_args(argv)
    names = args.names or requested()
    ready = setup(names)
    if names:
        print(f"interpreters ready: {', '.join(ready) or 'none'} of {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
