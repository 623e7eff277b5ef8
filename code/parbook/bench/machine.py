"""A fingerprint of the machine a result was measured on.

Every result carries one, so a table can say where its numbers came from and
``python -m parbook compare`` can say how two machines differ. CPU counts are
reported three ways because they differ in containers and CI runners: *logical*
CPUs the kernel sees, *physical* cores, and *usable* CPUs this process may run on
(affinity mask, further capped by a cgroup CPU quota). Experiments size their
worker counts from ``usable_cpus``, never from an assumed number.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import math
import multiprocessing
import os
import platform
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import psutil

#: Packages whose versions shape the measurements.
TRACKED_PACKAGES = ("ray", "numpy", "scipy", "matplotlib", "psutil", "joblib", "dask",
                    "distributed", "gymnasium", "envpool", "jupyter-book", "sphinx", "myst-nb")

#: Environment variables GitHub Actions sets that identify the runner and the build.
GITHUB_FIELDS = (
    "GITHUB_ACTIONS",
    "GITHUB_REPOSITORY",
    "GITHUB_SHA",
    "GITHUB_REF_NAME",
    "GITHUB_RUN_ID",
    "GITHUB_WORKFLOW",
    "RUNNER_NAME",
    "RUNNER_OS",
    "RUNNER_ARCH",
    "RUNNER_ENVIRONMENT",
    "ImageOS",
    "ImageVersion",
)


def cpu_model() -> str:
    """The CPU's marketing name, or the best description the platform offers."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


#: Where cgroup file systems are mounted (v2 alone, or v2 beside v1 under ``unified``).
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_quota(root: Path = CGROUP_ROOT,
                     membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs allowed by this process's cgroup quota, None if unlimited (see
    :func:`cgroup_cpu_limit`, which also says where the quota was found)."""
    return cgroup_cpu_limit(root, membership)["cpus"]


def cgroup_cpu_limit(root: Path = CGROUP_ROOT,
                     membership: Path = Path("/proc/self/cgroup")) -> dict[str, Any]:
    """The CPU quota of this process's cgroup, as ``cpus`` (None: no quota), with the
    cgroup ``version``, the ``file`` and the ``text`` that said so (all None: no cgroup
    CPU controller found).

    cgroup v2 keeps the quota in ``cpu.max`` ("QUOTA PERIOD" in microseconds, "max" for
    none); v1 in ``cpu.cfs_quota_us`` (-1 for none) over ``cpu.cfs_period_us``. Every
    cgroup from this process's own up to the root may set one; the tightest applies.
    """
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        lines = []
    paths: dict[str, str] = {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths.setdefault(controller, path)  # v2's line names no controller: key ""
    for version, mounts, path, read in (
            ("v2", (root, root / "unified"), paths.get("", "/"), _read_cpu_max),
            ("v1", (root / "cpu", root / "cpu,cpuacct"), paths.get("cpu", "/"), _read_cfs)):
        found = [quota for mount in mounts for folder in _ancestors(mount, path)
                 if (quota := read(folder)) is not None]
        if found:
            limited = [quota for quota in found if quota["cpus"] is not None]
            return {"version": version,
                    **(min(limited, key=lambda quota: quota["cpus"]) if limited else found[0])}
    return {"version": None, "cpus": None, "file": None, "text": None}


def _ancestors(mount: Path, path: str) -> list[Path]:
    """``mount/path`` and every folder above it up to ``mount``, the deepest first."""
    parts = [part for part in path.split("/") if part]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _read_cpu_max(folder: Path) -> dict[str, Any] | None:
    try:
        text = (folder / "cpu.max").read_text().strip()
        quota, period = text.split()[:2]
        cpus = None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None
    return {"cpus": cpus, "file": "cpu.max", "text": text}


def _read_cfs(folder: Path) -> dict[str, Any] | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return {"cpus": None if quota <= 0 else quota / period, "file": "cpu.cfs_quota_us",
            "text": str(quota)}


def affinity_cpus() -> int:
    """CPUs this process may be scheduled on (its affinity mask)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def usable_cpus() -> int:
    """CPUs a parallel program here can really use: affinity, capped by any cgroup quota."""
    cpus = affinity_cpus()
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def gil_enabled() -> bool:
    """Whether the running interpreter has its GIL on (always True before 3.13)."""
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def free_threaded_build() -> bool:
    """Whether the running interpreter was built free-threaded (``python3.13t``, ...),
    whatever its GIL is doing now (``PYTHON_GIL=1`` turns it back on)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def interpreter_pool_executor() -> bool:
    """Whether ``concurrent.futures.InterpreterPoolExecutor`` (3.14+) exists here."""
    import concurrent.futures

    return hasattr(concurrent.futures, "InterpreterPoolExecutor")


def default_start_method() -> str:
    """The platform's default start method, read without fixing the global context.

    ``multiprocessing.get_all_start_methods()`` lists the default first; calling
    ``get_start_method()`` instead would lock the default in for the whole process.
    """
    return multiprocessing.get_all_start_methods()[0]


def package_versions(names: tuple[str, ...] = TRACKED_PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (None for a package that is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def github_runner(environ: dict[str, str] | None = None) -> dict[str, str] | None:
    """GitHub Actions runner details, or None when not running on Actions."""
    env = environ if environ is not None else os.environ
    if env.get("GITHUB_ACTIONS") != "true":
        return None
    return {key: env[key] for key in GITHUB_FIELDS if key in env}


#: The repository this package was installed from (``pip install -e .`` keeps it there).
REPOSITORY = Path(__file__).resolve().parents[3]


def source_commit(environ: dict[str, str] | None = None,
                  repository: Path = REPOSITORY) -> dict[str, Any] | None:
    """The commit whose code produced a result: its SHA, whether the working tree had
    uncommitted changes, and a link to it on GitHub when built there; None outside git."""
    env = environ if environ is not None else os.environ

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repository), *args], capture_output=True,
                                  text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    sha = git("rev-parse", "HEAD") or env.get("GITHUB_SHA")
    if not sha:
        return None
    changes = git("status", "--porcelain", "--untracked-files=no")
    url = None
    if env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        url = f"{server}/{env['GITHUB_REPOSITORY']}/commit/{sha}"
    return {"sha": sha, "dirty": bool(changes), "url": url}


def fingerprint() -> dict[str, Any]:
    """Describe this machine and interpreter as plain JSON-ready data."""
    memory = psutil.virtual_memory()
    return {
        "taken_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "physical_cpus": psutil.cpu_count(logical=False),
        "affinity_cpus": affinity_cpus(),
        "cgroup_cpu_quota": cgroup_cpu_quota(),
        "usable_cpus": usable_cpus(),
        "memory_bytes": memory.total,
        "os": platform.platform(),
        "machine": platform.machine(),
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "gil_enabled": gil_enabled(),
        "free_threaded_build": free_threaded_build(),
        "python_gil_env": os.environ.get("PYTHON_GIL"),
        "interpreter_pool_executor": interpreter_pool_executor(),
        "default_start_method": default_start_method(),
        "start_methods": multiprocessing.get_all_start_methods(),
        "packages": package_versions(),
        "github": github_runner(),
        "commit": source_commit(),
    }


#: Fields every fingerprint must have; used to reject foreign JSON.
REQUIRED_FIELDS = ("cpu_model", "logical_cpus", "usable_cpus", "python_version", "os")
