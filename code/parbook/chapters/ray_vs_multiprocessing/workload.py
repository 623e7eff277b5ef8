"""Ray against multiprocessing, part 1: what the three workloads share, and numerical data.

Article 002 (Ray's 2019 post "10x faster parallel Python without Python multiprocessing")
timed three workloads four ways here: serial, the article's own ``multiprocessing``
version (*naive*), the version a careful engineer would write with the standard library
(*fair*), and Ray. This module holds what all three share (the process context, pools
that are ready before the clock starts, one BLAS thread per worker) and the first
workload: ``scipy.signal.convolve2d`` of one large image with one filter per worker.

The stateful workload is in :mod:`parbook.chapters.ray_vs_multiprocessing.stateful`, the expensive
initialisation in :mod:`parbook.chapters.ray_vs_multiprocessing.model`.

Every function a worker runs is a module-level function, so it pickles by name under
every start method; Ray's remote versions are built lazily (importing Ray is slow).
Every wait is bounded by :data:`WAIT_S`.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import pickle
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import psutil
import scipy.signal

# one_blas_thread (PAR022): every process started inside it gets one BLAS thread.
from parbook.shared.cpu import one_blas_thread
from parbook.shared.shm import SharedArray

#: Upper bound on any single wait, so a broken worker fails the run instead of hanging it.
WAIT_S = 300.0
#: Modules a forkserver imports once, so that every worker forked from it starts with
#: numpy and scipy already loaded (as a worker made by ``fork`` would).
PRELOAD = (
    "parbook.chapters.ray_vs_multiprocessing.workload",
    "parbook.chapters.ray_vs_multiprocessing.stateful",
    "parbook.chapters.ray_vs_multiprocessing.model",
)

Context = multiprocessing.context.BaseContext


# ---------------------------------------------------------------------------------------
# What every multiprocessing version shares.


def worker_method() -> str:
    """The start method of every worker here: forkserver where it exists, else spawn.

    Neither forks the process that runs Ray (forking a process with Ray's threads is
    unsafe), so the multiprocessing versions and Ray can be timed side by side; and each
    worker loads numpy afresh, so the BLAS limit of :func:`one_blas_thread` reaches it.
    """
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def start_worker_server(context: Context) -> None:
    """Start the forkserver now (with one BLAS thread and the modules preloaded).

    Call it before Ray starts. Under spawn there is no server and nothing to do.
    """
    if context.get_start_method() != "forkserver":
        return
    with one_blas_thread():
        context.set_forkserver_preload(list(PRELOAD))
        multiprocessing.forkserver.ensure_running()


def thread_count() -> int:
    """Threads of the calling process: its main thread plus, mostly, its BLAS library's."""
    return psutil.Process().num_threads()


# [start:ready]
def _ready_then(ready: Any, initializer: Callable[..., None] | None,
                initargs: tuple[Any, ...]) -> None:
    """Pool initializer: run the real initializer, then report this worker as ready."""
    if initializer is not None:
        initializer(*initargs)
    ready.put((os.getpid(), thread_count()))


@contextlib.contextmanager
def ready_pool(context: Context, workers: int,
               initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = ()) -> Iterator[tuple[Any, list[int]]]:
    """``(pool, threads)``: a Pool whose every worker has started and run ``initializer``,
    and the thread count each worker reported.

    ``Pool()`` returns while its workers are still starting; waiting for all of them
    keeps start-up out of any timing that follows. The pool is terminated and joined on
    the way out.
    """
    ready = context.Queue()
    try:
        with one_blas_thread():
            pool = context.Pool(workers, initializer=_ready_then,
                                initargs=(ready, initializer, initargs))
        try:
            yield pool, [ready.get(timeout=WAIT_S)[1] for _ in range(workers)]
        finally:
            pool.terminate()
            pool.join()
    finally:
        ready.close()
        ready.join_thread()


def ready_actors(ray: Any, actor_class: Any, count: int, *args: Any) -> list[Any]:
    """``count`` Ray actors of ``actor_class``, returned once every ``__init__`` has run.

    Ray creates actors asynchronously: without the wait, their start-up would land in
    whatever is timed next.
    """
    actors = [actor_class.remote(*args) for _ in range(count)]
    try:
        ray.get([actor.ready.remote() for actor in actors], timeout=WAIT_S)
    except BaseException:
        kill_actors(ray, actors)
        raise
    return actors


# [end:ready]


def kill_actors(ray: Any, actors: list[Any]) -> None:
    """Kill every actor in ``actors`` (and forget them)."""
    for actor in actors:
        ray.kill(actor)
    actors.clear()


# ---------------------------------------------------------------------------------------
# Workload 1: numerical data. One image, one filter per worker, the same every round.


# [start:numerical-task]
def convolve(image: np.ndarray, image_filter: np.ndarray) -> np.ndarray:
    """The work of one task: filter the image, keep every fifth pixel each way."""
    return scipy.signal.convolve2d(image, image_filter)[::5, ::5]
# [end:numerical-task]


def make_image(side: int, seed: int = 0) -> np.ndarray:
    """A ``side`` x ``side`` image of float64 noise (the article used zeros)."""
    return np.random.default_rng(seed).random((side, side))


def make_filters(count: int, seed: int = 1) -> list[np.ndarray]:
    """One random 4 x 4 filter per worker, as in the article."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(4, 4)) for _ in range(count)]


# [start:numerical-serial]
def numerical_serial(image: np.ndarray, filters: list[np.ndarray],
                     rounds: int) -> list[np.ndarray]:
    """Every round, every filter, one after another in this process."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        results = [convolve(image, image_filter) for image_filter in filters]
    return results
# [end:numerical-serial]


# [start:numerical-naive]
def convolve_pair(pair: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pool task: the image and the filter arrive together, pickled."""
    image, image_filter = pair
    return convolve(image, image_filter)


def numerical_naive(pool: Any, image: np.ndarray, filters: list[np.ndarray],
                    rounds: int) -> list[np.ndarray]:
    """The article's version: the whole image is pickled into every task, every round."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        results = pool.map(convolve_pair, [(image, f) for f in filters], chunksize=1)
    return results
# [end:numerical-naive]


# [start:numerical-fair]
_shared_image: SharedArray | None = None  # in each worker: the block, mapped once


def attach_image(shared: SharedArray) -> None:
    """Pool initializer: keep the block the parent created mapped for the worker's life."""
    global _shared_image
    _shared_image = shared  # unpickling it attached the block: no copy was made


def convolve_shared(image_filter: np.ndarray) -> np.ndarray:
    """Pool task: only the 4 x 4 filter travels; the image is read where it lies."""
    assert _shared_image is not None, "the pool was created without attach_image"
    return convolve(_shared_image.array, image_filter)


def numerical_fair(pool: Any, shared: SharedArray, image: np.ndarray,
                   filters: list[np.ndarray], rounds: int) -> list[np.ndarray]:
    """Each round's image is written once into shared memory; tasks carry a filter."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        np.copyto(shared.array, image)  # one copy per round, as ray.put makes
        results = pool.map(convolve_shared, filters, chunksize=1)
    return results
# [end:numerical-fair]


@functools.cache
def _remote_convolve() -> Any:
    import ray

    return ray.remote(convolve)


# [start:numerical-ray]
def numerical_ray(ray: Any, image: np.ndarray, filters: list[np.ndarray],
                  rounds: int) -> list[np.ndarray]:
    """The article's Ray version: the image is put in the object store once per round,
    and every task reads it from there without a copy."""
    remote_convolve = _remote_convolve()  # ray.remote(convolve)
    results: list[np.ndarray] = []
    for _ in range(rounds):
        image_ref = ray.put(image)
        results = ray.get([remote_convolve.remote(image_ref, f) for f in filters],
                          timeout=WAIT_S)
        del image_ref  # the store may free the image once its tasks are done
    return results
# [end:numerical-ray]


def checksum(arrays: list[np.ndarray]) -> float:
    """One number that every version's results must agree on."""
    return float(sum(float(array.sum()) for array in arrays))


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
