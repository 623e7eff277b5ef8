"""Workloads of the overhead chapter: the article's worker, run three ways.

The article (source 000) timed ``n`` workers whose ``run`` either returns at once or
sleeps, run in one process, one ``multiprocessing.Process`` each, or one Ray actor
each, counting start-up as part of the time. These functions rebuild that experiment.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.context
import time
from typing import Any

#: Bound on every join, in seconds: the longest task here sleeps one second.
TIMEOUT_S = 120.0


# [start:base-worker]
class BaseWorker:
    """A worker whose ``run`` stands for one task: it sleeps ``task_s`` seconds, then returns."""

    def __init__(self, worker_id: int = 0, task_s: float = 0.0) -> None:
        self.worker_id = worker_id
        self.task_s = task_s

    def run(self) -> int:
        if self.task_s > 0:
            time.sleep(self.task_s)
        return self.worker_id
# [end:base-worker]


# [start:three-ways]
def run_in_one_process(n_workers: int, task_s: float) -> list[int]:
    """Run every worker's task one after another in this process."""
    workers = [BaseWorker(i, task_s) for i in range(n_workers)]
    return [worker.run() for worker in workers]


def run_one_process_each(
    n_workers: int, task_s: float, context: multiprocessing.context.BaseContext
) -> None:
    """Start one process per worker, each running one task, and wait for all of them."""
    processes = [
        context.Process(target=BaseWorker(i, task_s).run) for i in range(n_workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(TIMEOUT_S)
        if process.is_alive():  # a stuck worker fails the run instead of hanging it
            process.kill()
            process.join(TIMEOUT_S)
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"worker processes failed with exit codes {failed}")


def run_one_actor_each(n_workers: int, task_s: float) -> list[Any]:
    """Create one Ray actor per worker, run one task on each, and return the actors."""
    import ray

    actor_class = ray_worker_class()
    actors = [actor_class.remote(i, task_s) for i in range(n_workers)]
    results = ray.get([actor.run.remote() for actor in actors])
    assert results == list(range(n_workers))
    return actors
# [end:three-ways]


@functools.cache
def ray_worker_class() -> Any:
    """``BaseWorker`` as a Ray actor class (made lazily: importing Ray is slow)."""
    import ray

    return ray.remote(BaseWorker)


def kill_actors(actors: list[Any] | None) -> None:
    """Kill actors right away instead of waiting for their handles to be collected."""
    import ray

    for actor in actors or []:
        ray.kill(actor)


def noop() -> None:
    """A process target that does nothing: what is left is the cost of the process."""
