"""Shared fixtures: one quick run of the overhead experiment, via the command line, and the
check that a test module leaves no child process and no /dev/shm entry behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from parbook.bench.results import Result, load
from tests.leftovers import left_behind, ray_left_behind, ray_processes, shm_entries

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, timeout: float = 900, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run ``python -m parbook ARGS`` in a child process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "parbook", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="session")
def overhead_quick(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """The overhead experiment in quick mode, run through ``python -m parbook run``."""
    out = tmp_path_factory.mktemp("overhead") / "overhead.json"
    completed = run_cli("run", "overhead", "--quick", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    return load(out)


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
