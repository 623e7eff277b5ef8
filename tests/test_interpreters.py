"""Several interpreters side by side (parbook.interpreters): finding them, making their
environments from the lock, running a chapter under them, and the sentences and table
that set them beside the build's own.

The environment and the runs are real: CPython 3.12 (installed beside 3.11 with pyenv on
the book's build machines) gets a virtual environment made from requirements.lock, and the
GIL chapter's quick experiment runs in it. Where no 3.12 is installed those tests skip and
say so; a named interpreter that is missing is checked to be a stated absence.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parbook import chapters, interpreters, page
from parbook.bench.results import Result

OTHER = "python3.12"
MISSING = "python3.99"


def test_requested_reads_names_in_order_each_once():
    environ = {interpreters.ENV: " python3.12,python3.13  python3.12\npython3.14t "}
    assert interpreters.requested(environ) == ["python3.12", "python3.13", "python3.14t"]
    assert interpreters.requested({}) == []


def test_venv_name_is_a_safe_folder_name():
    assert interpreters.venv_name("python3.14t") == "python3.14t"
    assert interpreters.venv_name("/opt/python 3/bin/python3") == "python3"
    assert interpreters.venv_name("py$thon") == "py_thon"


def test_find_takes_a_path_a_command_or_pyenv_and_rejects_what_does_not_run(tmp_path):
    assert interpreters.find(sys.executable) == Path(sys.executable)
    assert interpreters.find(MISSING) is None
    not_python = tmp_path / "python"
    not_python.write_text("#!/bin/sh\nexit 3\n")
    not_python.chmod(0o755)
    assert interpreters.find(str(not_python)) is None


@pytest.mark.parametrize(("fingerprint", "expected"), [
    ({"python_implementation": "CPython", "python_version": "3.12.1"}, "CPython 3.12.1"),
    ({"python_implementation": "CPython", "python_version": "3.14.0",
      "free_threaded_build": True, "gil_enabled": False}, "CPython 3.14.0t"),
    ({"python_implementation": "CPython", "python_version": "3.14.0",
      "free_threaded_build": True, "gil_enabled": True}, "CPython 3.14.0t with its GIL on"),
])
def test_label_says_version_and_build(fingerprint, expected):
    assert interpreters.label(fingerprint) == expected


def result_with(version: str, samples: dict[str, list[float]], **machine) -> Result:
    """A result of one chapter with one case per entry of ``samples``."""
    result = Result(experiment="the-gil", quick=True, machine={
        "python_implementation": "CPython", "python_version": version, **machine})
    for backend, values in samples.items():
        result.add("article", {"backend": backend}, values)
    return result


def runs_of(*results: Result) -> tuple[interpreters.InterpreterRun, ...]:
    return tuple(interpreters.InterpreterRun(None if i == 0 else f"python{i}", result=r)
                 for i, r in enumerate(results))


def test_changed_sentence_names_the_largest_change_or_says_nothing_changed():
    own = result_with("3.11.7", {"threads": [1.0, 1.0, 1.0, 1.0],
                                 "processes": [1.0, 1.0, 1.0, 1.0]})
    same = result_with("3.12.1", {"threads": [1.1, 1.1, 1.1, 1.1],
                                  "processes": [0.9, 0.9, 0.9, 0.9]})
    faster = result_with("3.14.0", {"threads": [0.4, 0.4, 0.4, 0.4],
                                    "processes": [1.0, 1.0, 1.0, 1.0]},
                         free_threaded_build=True, gil_enabled=False)
    text = interpreters.changed_sentence(runs_of(own, same))
    assert text.startswith("No case of this chapter's experiment took more than 1.5× or "
                           "less than 0.67× the time it took on CPython 3.11.7")
    assert "4 comparisons" not in text and "2 comparisons" in text
    text = interpreters.changed_sentence(runs_of(own, same, faster))
    assert text == ("Of 4 comparisons of a case with CPython 3.11.7 (stable samples on both "
                    "sides), 1 took more than 1.5× or less than 0.67× the time; the largest "
                    "change: article (backend threads) took 0.40× the time on CPython "
                    "3.14.0t.")
    alone = interpreters.changed_sentence(runs_of(own))
    assert alone.startswith("With one interpreter there is nothing to set beside it")


def test_unstable_cases_are_not_counted_as_changes():
    own = result_with("3.11.7", {"threads": [1.0, 1.0, 1.0, 1.0]})
    noisy = result_with("3.12.1", {"threads": [0.1, 5.0, 0.2, 4.0]})
    assert interpreters.changes(runs_of(own, noisy), interpreters.describe_case) == (0, [])
    assert interpreters.changed_sentence(runs_of(own, noisy)).startswith(
        "No case could be set beside CPython 3.11.7")


def test_ran_sentence_names_every_interpreter_and_every_absence():
    own = result_with("3.11.7", {"threads": [1.0]})
    other = result_with("3.12.1", {"threads": [1.0]})
    alone = interpreters.ran_sentence(runs_of(own))
    assert alone == ("This build ran the chapter under CPython 3.11.7 only, its own "
                     "interpreter (PARBOOK_PYTHONS named no other).")
    missing = interpreters.InterpreterRun(MISSING, absent=f"{MISSING} was not found on this "
                                                          "machine")
    text = interpreters.ran_sentence((*runs_of(own, other), missing))
    assert text == ("This build ran the chapter under 2 interpreters: CPython 3.11.7 and "
                    "CPython 3.12.1. Named in PARBOOK_PYTHONS but not run, so without a "
                    "column: python3.99 was not found on this machine.")
    assert interpreters.ran_sentence((*runs_of(own), missing)).startswith(
        "This build ran the chapter under CPython 3.11.7 only. Named in")


def test_side_by_side_has_one_column_per_interpreter_and_every_row():
    own, other = result_with("3.11.7", {"threads": [1.0]}), result_with("3.12.1", {})
    runs = (interpreters.InterpreterRun(None, result=own, found={"a": "1", "b": "2"}),
            interpreters.InterpreterRun("python3.12", result=other, found={"a": "3"}))
    frame = interpreters.side_by_side(runs, lambda found: found)
    assert list(frame.columns) == ["CPython 3.11.7", "CPython 3.12.1"]
    assert frame.loc["b", "CPython 3.12.1"] == "–" and frame.loc["a", "CPython 3.12.1"] == "3"


@pytest.fixture(scope="module")
def other_python():
    found = interpreters.find(OTHER)
    if found is None:
        pytest.skip(f"{OTHER} is not installed here (PATH or pyenv): the real environment "
                    "and run cannot be checked on this machine")
    return found


@pytest.fixture(scope="module")
def environments(other_python, tmp_path_factory):
    """Real environments made from the lock: one for 3.12, none for a missing name."""
    root = tmp_path_factory.mktemp("venvs")
    said: list[str] = []
    ready = interpreters.setup([OTHER, MISSING], root=root, say=said.append)
    return root, ready, said


def test_setup_makes_an_environment_from_the_lock_and_reports_a_missing_one(environments):
    root, ready, said = environments
    assert ready == [OTHER]
    assert any(line.startswith(f"{MISSING}: not found on this machine") for line in said)
    described = interpreters.probe(interpreters.venv_python(OTHER, root))
    assert described["version"].startswith("3.12.")
    installed = subprocess.run(
        [str(interpreters.venv_python(OTHER, root)), "-c",
         "import numpy, psutil, tqdm, jsonschema, matplotlib; print(numpy.__version__)"],
        capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    lock = interpreters.LOCK.read_text()
    assert f"numpy=={installed}" in lock, "numpy did not come from the lock"
    again: list[str] = []
    assert interpreters.setup([OTHER], root=root, say=again.append) == [OTHER]
    assert again == [], "an up-to-date environment was made again"


def test_a_chapter_runs_under_another_interpreter_beside_the_builds_own(
        environments, quick_results, tmp_path, monkeypatch):
    root, _ready, _said = environments
    monkeypatch.chdir(tmp_path)  # pages write results under _static/results
    monkeypatch.setattr(page, "QUICK", True)
    monkeypatch.delenv(page.REUSE_ENV, raising=False)
    chapter = chapters.get("the-gil")
    own_result = quick_results["the-gil"]
    own = page.own_run(own_result, chapter.analysis.findings(own_result))
    runs = interpreters.gather(
        own[0], lambda python, suffix: page.run_experiment("the-gil", python, suffix),
        chapter.analysis.findings, names=[OTHER, MISSING, sys.executable], root=root)
    labels = [run.label for run in interpreters.measured(runs)]
    assert len(labels) == 2 and labels[1].startswith("CPython 3.12."), labels
    assert (tmp_path / "_static" / "results" / f"the-gil.{OTHER}.json").is_file()
    assert runs[1].result.machine["python_version"].startswith("3.12.")
    assert [run.absent for run in runs if run.absent] == [f"{MISSING} was not found on "
                                                          "this machine"]
    texts = page.interpreter_texts(chapter, runs)
    assert texts["the_gil_interpreters_ran"].startswith(
        "This build ran the chapter under 2 interpreters")
    table = chapter.views.INTERPRETER_TABLES["the-gil-interpreters"](runs)
    assert list(table.frame.columns) == labels
    assert "InterpreterPoolExecutor (Python 3.14 added it)" in texts["gil_interpreters_pool"]


def test_the_command_line_reports_a_missing_interpreter_and_succeeds():
    done = subprocess.run([sys.executable, "-m", "parbook.interpreters", "setup", MISSING],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert f"{MISSING}: not found on this machine" in done.stdout
    assert f"interpreters ready: none of {MISSING}" in done.stdout


# ---------------------------------------------------------------------------------------
# The interpreters page.


def described(version: str, method: str = "fork", free: bool = False, gil: bool = True,
              pool: bool = False) -> interpreters.Described:
    return interpreters.Described(None, {
        "python_implementation": "CPython", "python_version": version,
        "free_threaded_build": free, "gil_enabled": gil, "default_start_method": method,
        "start_methods": [method], "interpreter_pool_executor": pool, "packages": {}})


def test_page_sentences_every_case():
    old, new = described("3.12.1"), described("3.14.0", "forkserver", pool=True)
    free = described("3.14.0", "forkserver", free=True, gil=False, pool=True)
    stuck = described("3.13.0", free=True, gil=True)
    assert interpreters.gil_sentence([old]).startswith("It is a standard build with a GIL")
    assert interpreters.gil_sentence([old, new]).startswith("Every one of them is a standard")
    assert interpreters.gil_sentence([old, free, stuck]) == (
        "CPython 3.14.0t ran with the GIL off, so threads could run Python on several CPUs "
        "at once; CPython 3.13.0t is a free-threaded build but ran with the GIL back on "
        "(PYTHON_GIL=1, or an extension module not marked safe without it).")
    assert interpreters.start_method_sentence([old]) == (
        "It starts processes with fork by default here.")
    assert interpreters.start_method_sentence([old, new, free]) == (
        "Their default start methods differ here: fork on CPython 3.12.1 and forkserver on "
        "CPython 3.14.0 and CPython 3.14.0t.")
    assert interpreters.pool_sentence([old]).startswith("None of them has")
    assert interpreters.pool_sentence([new, free]).startswith("Every one of them has")
    assert interpreters.pool_sentence([old, new]) == (
        "CPython 3.14.0 has concurrent.futures.InterpreterPoolExecutor; the others do not.")
    missing = interpreters.Described(MISSING, absent=f"{MISSING} was not found on this machine")
    texts = interpreters.page_texts([old, missing])
    assert texts["interpreters_ran"] == (
        "This build measured one interpreter, CPython 3.12.1, its own: PARBOOK_PYTHONS named "
        "others, but none could run. Named in PARBOOK_PYTHONS but not measured: python3.99 was "
        "not found on this machine.")
    assert interpreters.page_texts([old, new])["interpreters_ran"].startswith(
        "This build measured 2 interpreters side by side")
    frame = interpreters.facts_frame([old, missing, free])
    assert list(frame.columns) == ["CPython 3.12.1", "CPython 3.14.0t"]
    assert frame.loc["GIL while it ran", "CPython 3.14.0t"] == "off"


def test_describe_all_asks_each_interpreter_in_its_own_environment(environments):
    root, _ready, _said = environments
    found = interpreters.describe_all([OTHER, MISSING, sys.executable], root=root)
    assert [d.label.split(".")[0] for d in found if d.fingerprint] == ["CPython 3", "CPython 3"]
    assert found[0].fingerprint["python_version"] == sys.version.split()[0]
    assert found[1].fingerprint["python_version"].startswith("3.12.")
    assert [d.absent for d in found if d.absent] == [f"{MISSING} was not found on this machine"]
