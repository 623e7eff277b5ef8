"""joblib and Dask beside multiprocessing and Ray, part 2: Dask distributed.

A real ``LocalCluster`` (a scheduler and one single-threaded worker process per CPU, on
127.0.0.1 only), the Dask versions of the tiny tasks and of article 002's three workloads
(the image scattered once per round, counters as Dask actors, the model loaded by a worker
plugin), and a child program that connects to a running cluster the way a program does on
a real one: with ``Client(address)`` or with nothing but ``DASK_SCHEDULER_ADDRESS`` set.

Run as ``python -m parbook.chapters.joblib_and_dask.dask_versions connect`` that child
connects to the cluster named by ``DASK_SCHEDULER_ADDRESS``, runs a joblib call on it
through joblib's Dask backend, and prints what it saw as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, WorkerPlugin, wait

from parbook.chapters.joblib_and_dask import workload as work
from parbook.shared.child import run_demo
from parbook.shared.cpu import burn

#: Bound on closing a client or a cluster, and on a child's connection.
CLOSE_S = 30.0
#: The environment variable Dask reads its ``scheduler-address`` setting from (Dask turns
#: ``DASK_FOO_BAR`` into the setting ``foo-bar``; ``Client()`` with no address uses it).
ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
MODULE = "parbook.chapters.joblib_and_dask.dask_versions"


# [start:dask-cluster]
@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[LocalCluster]:
    """A Dask cluster on this machine: a scheduler, and one worker process per CPU with
    one thread each, reachable on 127.0.0.1 only, with no dashboard; closed on the way
    out, however the block ends."""
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           silence_logs=logging.ERROR)  # keep workers' logs off the page
    try:
        yield cluster
    finally:
        cluster.close(timeout=CLOSE_S)


@contextlib.contextmanager
def connected(address: str) -> Iterator[Client]:
    """A client of the cluster at ``address`` ("tcp://host:port"), the same whether the
    cluster runs on this machine or on a hundred; closed on the way out."""
    client = Client(address, timeout=CLOSE_S)
    try:
        yield client
    finally:
        client.close(timeout=CLOSE_S)
# [end:dask-cluster]


def worker_pids(client: Client) -> list[int]:
    """The PIDs of the cluster's worker processes."""
    return sorted(client.run(os.getpid).values())


def worker_addresses(client: Client) -> list[str]:
    """The cluster's workers, by address, in a fixed order."""
    return sorted(client.scheduler_info(n_workers=-1)["workers"])


def round_trip(client: Client, message: Any = 0) -> Any:
    """One task that returns at once, submitted and waited for."""
    return client.submit(work.noop, message, pure=False).result(timeout=work.WAIT_S)


# [start:dask-purity]
def draw() -> float:
    """An impure task: a new random number at every call."""
    return random.random()


def draws(client: Client, count: int, pure: bool) -> tuple[list[str], list[float]]:
    """Submit ``draw`` ``count`` times; return the tasks' keys and their results."""
    futures = [client.submit(draw, pure=pure) for _ in range(count)]
    wait(futures, timeout=work.WAIT_S)
    return [future.key for future in futures], client.gather(futures)
# [end:dask-purity]


# [start:tiny-tasks-dask]
def burn_with_dask(client: Client, iterations: int, tasks: int) -> list[int]:
    """``tasks`` equal tasks as Dask futures. pure=False: Dask would otherwise give equal
    calls one key, and run the task once for all of them."""
    futures = client.map(burn, [iterations] * tasks, pure=False)
    wait(futures, timeout=work.WAIT_S)
    return client.gather(futures)
# [end:tiny-tasks-dask]


# [start:numerical-dask]
def numerical_dask(client: Client, image: np.ndarray, filters: list[np.ndarray],
                   rounds: int) -> list[np.ndarray]:
    """Each round's image is sent to every worker once (scatter with broadcast=True);
    the tasks carry a reference to it and a filter."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        image_on_workers = client.scatter(image, broadcast=True)
        futures = [client.submit(work.convolve, image_on_workers, image_filter, pure=False)
                   for image_filter in filters]
        wait(futures, timeout=work.WAIT_S)
        results = client.gather(futures)
        del futures, image_on_workers  # the workers may drop the image
    return results
# [end:numerical-dask]


# [start:stateful-dask]
def counting_actors(client: Client, count: int) -> list[Any]:
    """One :class:`PrefixCounter` actor on each of ``count`` workers: an object that
    lives in a worker process, whose methods run there, in turn."""
    places = worker_addresses(client)
    futures = [client.submit(work.PrefixCounter, actor=True, pure=False,
                             workers=[places[i % len(places)]])
               for i in range(count)]
    return [future.result(timeout=work.WAIT_S) for future in futures]


def stateful_dask(actors: list[Any], documents: list[list[bytes]]) -> set[bytes]:
    """Each document goes to the actor that keeps its counter; collect once."""
    added = [actors[i % len(actors)].add_document(document)
             for i, document in enumerate(documents)]
    for call in added:
        call.result(timeout=work.WAIT_S)
    return work.union([actor.get_popular().result(timeout=work.WAIT_S) for actor in actors])
# [end:stateful-dask]


def reset_actors(actors: list[Any]) -> None:
    """Give every actor a fresh counter."""
    for call in [actor.reset() for actor in actors]:
        call.result(timeout=work.WAIT_S)


# [start:model-dask]
class LoadModel(WorkerPlugin):
    """Dask's initializer: ``setup`` runs in every worker when the plugin is registered,
    and in every worker that joins later."""

    def __init__(self, path: str) -> None:
        self.path = path

    def setup(self, worker: Any) -> None:
        work.load_into_worker(self.path)


def model_dask(client: Client, batches: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """Batches in rounds, each task classifying with the model its worker holds."""
    def one_round(batch_round: list[np.ndarray]) -> list[np.ndarray]:
        futures = client.map(work.classify_loaded, batch_round, pure=False)
        wait(futures, timeout=work.WAIT_S)
        return client.gather(futures)

    return work.in_rounds(one_round, batches, workers)
# [end:model-dask]


@contextlib.contextmanager
def model_plugin(client: Client, path: str) -> Iterator[None]:
    """Register :class:`LoadModel` (every worker has loaded the model when this returns)
    and unregister it on the way out."""
    client.register_plugin(LoadModel(path), name="load-model")
    try:
        yield
    finally:
        client.unregister_worker_plugin("load-model")


# ---------------------------------------------------------------------------------------
# A program that connects to a running cluster, run as a child with a time limit.


# [start:dask-from-anywhere]
def joblib_on_dask(iterations: int, tasks: int) -> list[int]:
    """A joblib call, unchanged, sent to the Dask cluster of the current client."""
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend="dask"):
        return Parallel()(delayed(burn)(iterations) for _ in range(tasks))


def connect_demo(argv: list[str]) -> None:
    """Connect with Client() alone: the address comes from DASK_SCHEDULER_ADDRESS."""
    iterations, tasks = int(argv[0]), int(argv[1])
    client = Client(timeout=CLOSE_S)
    try:
        results = joblib_on_dask(iterations, tasks)
        print(json.dumps({
            "scheduler": client.scheduler.address,
            "workers": len(client.scheduler_info(n_workers=-1)["workers"]),
            "results_match": results == [burn(iterations)] * tasks,
        }))
    finally:
        client.close(timeout=CLOSE_S)
# [end:dask-from-anywhere]


if __name__ == "__main__":
    logging.getLogger("distributed").setLevel(logging.ERROR)
    sys.exit(run_demo(MODULE, {"connect": connect_demo}, sys.argv[1:]))
