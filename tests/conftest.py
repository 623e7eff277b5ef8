"""Shared fixtures: one quick run of each chapter's experiment through the command line
(``quick_results``, reused by the chapter's tests and by the book build, so each experiment
runs once per test session), one quick build of the whole book (inspected by test_book and,
in a real browser, by test_browser), and the check that a test module leaves no child
process and no /dev/shm entry behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parbook import chapters
from parbook.bench.results import Result, load
from tests.leftovers import (
    left_behind,
    lingering_children,
    mark_this_run,
    new_shm_entries,
    ray_left_behind,
    ray_processes,
    shm_entries,
)

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 900, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m parbook ARGS`` in a child process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "parbook", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


class QuickResults:
    """Each chapter's experiment at quick size, run once through ``python -m parbook run``
    into one folder on first use, and loaded from there afterwards."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.failures: dict[str, str] = {}

    def path(self, name: str) -> Path:
        """The result file of chapter ``name``, made by a quick run if it is not there yet."""
        target = self.folder / f"{name}.json"
        if name in self.failures:
            pytest.fail(f"the quick run of {name} failed earlier:\n{self.failures[name]}")
        if not target.is_file():
            completed = run_cli("run", name, "--quick", "--out", str(target))
            if completed.returncode != 0:
                self.failures[name] = completed.stderr[-4000:]
                pytest.fail(f"python -m parbook run {name} --quick failed:\n"
                            f"{self.failures[name]}")
        return target

    def __getitem__(self, name: str) -> Result:
        return load(self.path(name))

    def all(self) -> None:
        """Run every chapter that has not run yet (the book build needs them all)."""
        for name in chapters.names():
            if name not in self.failures:
                self.path(name)


def pytest_configure(config: pytest.Config) -> None:
    """Mark this test run's processes, so that the leftover checks see what this run left
    behind, and only that (see tests/leftovers.py)."""
    mark_this_run()


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> QuickResults:
    """Quick results of every chapter, each run at most once per test session."""
    return QuickResults(tmp_path_factory.mktemp("quick-results"))


@pytest.fixture(scope="session")
def overhead_quick(quick_results: QuickResults) -> Result:
    """The overhead experiment in quick mode, run through ``python -m parbook run``."""
    return quick_results["overhead"]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory: pytest.TempPathFactory, quick_results: QuickResults) -> dict:
    """A fresh quick build of a copy of the book, warnings as errors (the reader's own
    _build is left alone), with what it left behind: new /dev/shm entries, Ray processes
    and child processes. The pages reuse the session's quick results
    (``PARBOOK_RESULTS_DIR``) instead of running every experiment a second time.

    ``PARBOOK_REUSE_BUILD=DIR`` inspects an earlier build in DIR instead (a copy of the
    repository in which ``jupyter-book build book/`` ran, with its ``build.log``): for
    iterating on these tests only; CI always builds afresh.
    """
    reuse = os.environ.get("PARBOOK_REUSE_BUILD")
    if reuse:
        copy = Path(reuse)
        log = (copy / "build.log").read_text() if (copy / "build.log").is_file() else ""
        return {"returncode": 0 if "build succeeded" in log else 1, "log": log,
                "html": copy / "_build" / "html", "new_shm": set(), "new_ray": set(),
                "children": []}
    # Taken before the remaining experiments run, so that what they leave counts too.
    shm_before = shm_entries()
    ray_before = {pid for pid, _command in ray_processes()}
    quick_results.all()
    copy = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "book", "code"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True,
                            ignore=shutil.ignore_patterns("_build", "results", "__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    completed = subprocess.run(
        [str(jupyter_book), "build", "book/", "--all", "-W", "--keep-going"],
        cwd=copy, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PARBOOK_QUICK": "1",
             "PARBOOK_RESULTS_DIR": str(quick_results.folder)},
    )
    log = completed.stdout + completed.stderr
    (copy / "build.log").write_text(log)
    return {
        "returncode": completed.returncode, "log": log, "html": copy / "_build" / "html",
        "new_shm": new_shm_entries(shm_before),
        "new_ray": {pid for pid, _command in ray_processes()} - ray_before,
        "children": lingering_children(),
    }


@pytest.fixture(scope="module", autouse=True)
def shm_before() -> set[str]:
    """The /dev/shm entries (``leftovers.SHM_PREFIXES``) that existed as the module began."""
    return shm_entries()


@pytest.fixture(scope="module")
def nothing_left_behind(shm_before: set[str]):
    """After the last test of the module: no child process and no new /dev/shm entry.

    Use it with ``pytestmark = pytest.mark.usefixtures("nothing_left_behind")``.
    """
    yield
    children, new_shm = left_behind(shm_before)
    assert not children, children
    assert not new_shm, sorted(new_shm)


@pytest.fixture(scope="module")
def no_ray_left_behind():
    """After the last test of the module: no Ray process (GCS, raylet, worker) that was
    not already running when the module began, anywhere on the machine.

    Use it with ``pytestmark = pytest.mark.usefixtures("no_ray_left_behind")``.
    """
    before = {pid for pid, _command in ray_processes()}
    yield
    left = ray_left_behind(before)
    assert not left, left
