"""Scaling with the number of workers: the code the page shows and a reader can run.

The sweep gives every worker count the same total amount of work (strong scaling) and
times it; the speed-up on ``n`` workers is the time on one worker over the time on
``n``. Two kinds of work are swept:

* CPU-bound pure Python (:func:`parbook.shared.cpu.burn`), cut into equal tasks, on a
  process pool and on a thread pool of ``n`` workers;
* article 002's three workloads (:mod:`parbook.shared.article002`), each in its three
  parallel versions. Ray's numerical version is held to ``n`` tasks at a time here
  (:func:`numerical_ray_on`); its actors are simply ``n`` in number.

Every function a worker runs is a module-level function (it pickles by name under every
start method); every wait is bounded by :data:`WAIT_S`.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from parbook.shared.cpu import burn, calibrate, iterations_for

#: Upper bound on any single wait, so a broken worker fails the run instead of hanging it.
WAIT_S = 300.0


# [start:strong-scaling]
def split_work(total_iterations: int, workers: int, tasks_per_worker: int) -> list[int]:
    """The same total work for every worker count: ``tasks_per_worker`` equal tasks per
    worker, so that no worker waits for another at the end."""
    tasks = workers * tasks_per_worker
    share, extra = divmod(total_iterations, tasks)
    return [share + (1 if task < extra else 0) for task in range(tasks)]


def on_processes(pool: Any, tasks: list[int]) -> int:
    """Every task on a process pool (each process has its own interpreter and GIL)."""
    return sum(pool.map_async(burn, tasks, chunksize=1).get(WAIT_S))


def on_threads(executor: ThreadPoolExecutor, tasks: list[int]) -> int:
    """Every task on a thread pool: one process, so one GIL where the build has one."""
    return sum(executor.map(burn, tasks, timeout=WAIT_S))
# [end:strong-scaling]


def _wait_at(barrier: Any) -> None:
    """Pool initializer: block until every worker (and the parent) has arrived."""
    barrier.wait(WAIT_S)


@contextlib.contextmanager
def started_pool(context: Any, workers: int) -> Iterator[Any]:
    """A pool of ``workers`` processes, every one of them started before the block
    begins (``Pool()`` returns while they are still starting); terminated and joined on
    the way out."""
    barrier = context.Barrier(workers + 1)
    pool = context.Pool(workers, initializer=_wait_at, initargs=(barrier,))
    try:
        barrier.wait(WAIT_S)
        yield pool
    finally:
        pool.terminate()
        pool.join()


def _worker_pid(pause_s: float) -> int:
    """A task that only says which process ran it, after a short pause (so that one
    worker cannot take every task)."""
    time.sleep(pause_s)
    return os.getpid()


def start_ray_workers(ray: Any, count: int, attempts: int = 50) -> set[int]:
    """Make Ray start ``count`` task workers now, and return their PIDs: a worker starts
    on demand, and one still starting during a timed run would slow it."""
    remote_pid = ray.remote(_worker_pid)
    seen: set[int] = set()
    for _ in range(attempts):
        seen |= set(ray.get([remote_pid.remote(0.05) for _ in range(count)], timeout=WAIT_S))
        if len(seen) >= count:
            return seen
    raise TimeoutError(f"only {len(seen)} of {count} Ray workers answered")


@functools.cache
def _remote_convolve() -> Any:
    import ray

    from parbook.shared.article002 import convolve

    return ray.remote(convolve)


# [start:ray-window]
def numerical_ray_on(ray: Any, image: Any, filters: list[Any], rounds: int,
                     workers: int) -> list[Any]:
    """Article 002's Ray version (the image put in the object store once per round, one
    task per filter) with at most ``workers`` tasks running at once: the next task is
    submitted when one finishes, as a pool of ``workers`` processes would take it."""
    remote_convolve = _remote_convolve()  # ray.remote(convolve)
    results: list[Any] = []
    for _ in range(rounds):
        image_ref = ray.put(image)
        submitted: list[Any] = []
        running: list[Any] = []
        for image_filter in filters:
            if len(running) == workers:
                done, running = ray.wait(running, num_returns=1, timeout=WAIT_S)
                if not done:
                    raise TimeoutError(f"no Ray task finished within {WAIT_S:g} s")
            submitted.append(remote_convolve.remote(image_ref, image_filter))
            running.append(submitted[-1])
        results = ray.get(submitted, timeout=WAIT_S)
        del image_ref, submitted, running  # the store may free the image
    return results
# [end:ray-window]


def sweep_on_processes(counts: Sequence[int] = (1, 2), total_s: float = 0.3,
                       tasks_per_worker: int = 4, method: str = "spawn") -> dict[int, float]:
    """Seconds to run about ``total_s`` of CPU-bound work on a process pool of each size
    in ``counts``, for a reader to try: one warm-up run and one timed run per size, the
    pool started before the clock. Every pool is gone when it returns."""
    total = iterations_for(total_s, calibrate())
    context = multiprocessing.get_context(method)
    seconds: dict[int, float] = {}
    for workers in counts:
        tasks = split_work(total, workers, tasks_per_worker)
        with started_pool(context, workers) as pool:
            on_processes(pool, tasks)  # warm-up
            began = time.perf_counter()
            on_processes(pool, tasks)
            seconds[workers] = time.perf_counter() - began
    return seconds
