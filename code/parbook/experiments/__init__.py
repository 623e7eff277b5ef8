"""One module per experiment the book shows.

Each module defines ``NAME``, ``TITLE`` and ``run(quick=False, progress=None)``, which
returns a :class:`parbook.bench.results.Result`. ``quick=True`` uses the test sizes and
repeat counts; the code path is the same.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: Experiment name -> module path. Names are what ``python -m parbook run NAME`` takes.
EXPERIMENTS = {
    "overhead": "parbook.experiments.overhead",
    "concurrency": "parbook.experiments.concurrency",
    "gil": "parbook.experiments.gil",
    "threads": "parbook.experiments.threads",
    "locks": "parbook.experiments.locks",
    "processes": "parbook.experiments.processes",
    "start-methods": "parbook.experiments.start_methods",
    "sync": "parbook.experiments.sync",
    "queues": "parbook.experiments.queues",
    "pools": "parbook.experiments.pools",
    "shared-memory": "parbook.experiments.shared_memory",
    "pitfalls": "parbook.experiments.pitfalls",
    "ray-basics": "parbook.experiments.ray_basics",
    "ray-vs-mp": "parbook.experiments.ray_vs_mp",
    "ray-cluster": "parbook.experiments.ray_cluster",
    "vector-envs": "parbook.experiments.vector_envs",
    "actor-learner": "parbook.experiments.actor_learner",
}


class UnknownExperiment(KeyError):
    """Raised for an experiment name that is not in :data:`EXPERIMENTS`."""

    def __str__(self) -> str:
        known = ", ".join(sorted(EXPERIMENTS))
        return f"unknown experiment {self.args[0]!r} (known: {known})"


def get(name: str) -> ModuleType:
    """The experiment module called ``name``."""
    if name not in EXPERIMENTS:
        raise UnknownExperiment(name)
    return importlib.import_module(EXPERIMENTS[name])
