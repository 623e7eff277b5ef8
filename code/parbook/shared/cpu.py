"""CPU-bound work of a chosen duration, in pure Python (it holds the GIL throughout).

Sleeping would not do for speed-up measurements: sleeping tasks overlap on any number
of CPUs. :func:`burn` does real arithmetic, and :func:`calibrate` finds how many
iterations take a given time on this machine, so "a 1 ms task" means 1 ms of CPU here.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator


# [start:burn]
def burn(iterations: int) -> int:
    """Spend CPU time on ``iterations`` rounds of integer arithmetic; return the sum."""
    total = 0
    for i in range(iterations):
        total += i % 7
    return total
# [end:burn]


def calibrate(probe_iterations: int = 200_000, rounds: int = 5) -> float:
    """Iterations of :func:`burn` per second on this CPU (best of ``rounds`` probes)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        burn(probe_iterations)
        best = min(best, time.perf_counter() - start)
    return probe_iterations / best


def iterations_for(duration_s: float, rate: float) -> int:
    """Iterations of :func:`burn` that take about ``duration_s`` at ``rate`` per second."""
    return max(1, round(duration_s * rate))


#: The variables that set how many threads a process's BLAS library starts.
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# [start:one-blas-thread]
@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Give every process started inside the block one BLAS thread (PAR022): set the BLAS
    variables to 1 in this process's environment, and restore them after.

    The variables are read when a process loads its BLAS library; this process loaded
    its own already and keeps its default.
    """
    saved = {name: os.environ.get(name) for name in BLAS_VARIABLES}
    os.environ.update({name: "1" for name in BLAS_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
# [end:one-blas-thread]
