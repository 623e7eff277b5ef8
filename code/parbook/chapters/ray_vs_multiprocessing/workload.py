"""Ray against multiprocessing: what a reader can try on the page.

The three workloads of article 002 and their versions (serial, the article's
``multiprocessing`` code, a fair ``multiprocessing`` version, Ray) live in
:mod:`parbook.shared.article002`, which the page shows and other chapters reuse. This
module holds what only this chapter's page runs: the article's numerical version against
the fair one, without Ray, small enough for a notebook cell.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from typing import Any

from parbook.shared.article002 import (
    attach_image,
    make_filters,
    make_image,
    numerical_fair,
    numerical_naive,
    ready_pool,
)
from parbook.shared.shm import SharedArray


def naive_against_fair(side: int = 500, workers: int = 2, rounds: int = 3,
                       method: str = "spawn") -> dict[str, tuple[float, int]]:
    """The article's numerical version and the fair one, run once each on one pool of
    ``workers`` processes started with ``method``, without Ray, for a reader to try.

    Returns, per version, the seconds its ``rounds`` rounds took and the bytes pickled
    into each task. The pool and the shared-memory block are gone when it returns
    (spawn, the default, also leaves no server process behind, as forkserver would).
    """
    image, filters = make_image(side), make_filters(workers)
    context = multiprocessing.get_context(method)
    with SharedArray(image.shape, image.dtype) as shared, \
            ready_pool(context, workers, attach_image, (shared,)) as (pool, _threads):
        began = time.perf_counter()
        numerical_naive(pool, image, filters, rounds)
        naive_s = time.perf_counter() - began
        began = time.perf_counter()
        numerical_fair(pool, shared, image, filters, rounds)
        fair_s = time.perf_counter() - began
    return {"the article's version": (naive_s, _pickled_bytes((image, filters[0]))),
            "the fair version": (fair_s, _pickled_bytes(filters[0]))}


def _pickled_bytes(task_argument: Any) -> int:
    """What one task's argument weighs once pickled, as Pool.map sends it."""
    return len(pickle.dumps(task_argument, protocol=pickle.HIGHEST_PROTOCOL))
