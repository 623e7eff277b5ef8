"""joblib and Dask beside multiprocessing and Ray, part 1: joblib, the multiprocessing
versions, Ray's, and the three workloads of article 002 in small versions of this chapter's
own.

joblib's default backend, loky, keeps one executor of worker processes between calls
(:func:`pids_from_joblib`), hands large numpy arguments over as memory maps
(:func:`sums_with_joblib`), batches tiny tasks by itself (:func:`burn_with_joblib`) and can
return results as they come (:func:`large_results`). Article 002's workloads (an image
filtered once per worker, prefix counters that keep state, a model loaded from disk) are
written here afresh, smaller than in the Ray-against-multiprocessing chapter, so that six
versions of each fit in one build: serial, the article's ``Pool`` code, a fair
``multiprocessing`` version, joblib, Dask (:mod:`.dask_versions`) and Ray. Their inputs
(image, filters, documents, model file, batches) and the checks on their outputs come from
:mod:`parbook.shared.article002`, as in the other chapters that run these workloads; the
code the workers run stays here, where nothing imports scipy (``scipy.signal`` takes most
of a second to import, which every worker process would pay).

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
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from parbook.shared.cpu import burn, one_blas_thread
from parbook.shared.shm import SharedArray

#: Upper bound on any single wait, so a broken worker fails the run instead of hanging it.
WAIT_S = 300.0
#: Modules a forkserver imports once, so that every pool worker forked from it starts with
#: numpy, scipy and joblib loaded.
PRELOAD = ("parbook.chapters.joblib_and_dask.workload",)

Context = multiprocessing.context.BaseContext


# ---------------------------------------------------------------------------------------
# Processes for the multiprocessing versions.


def start_worker_server(context: Context) -> None:
    """Start the forkserver now, with one BLAS thread and this module preloaded (under
    spawn there is no server, and nothing to do). Call it before Dask and Ray start."""
    if context.get_start_method() != "forkserver":
        return
    with one_blas_thread():
        context.set_forkserver_preload(list(PRELOAD))
        multiprocessing.forkserver.ensure_running()


def _ready(_task: int) -> int:
    time.sleep(0.05)  # long enough that every worker takes one of the tasks
    return os.getpid()


@contextlib.contextmanager
def ready_pool(context: Context, workers: int,
               initializer: Callable[..., None] | None = None,
               initargs: tuple[Any, ...] = ()) -> Iterator[Any]:
    """A ``Pool`` of ``workers`` processes, each of which has started and run its
    initializer before the block begins; terminated and joined on the way out."""
    with one_blas_thread():
        pool = context.Pool(workers, initializer=initializer, initargs=initargs)
    try:
        wait_for_workers(lambda tasks: pool.map_async(_ready, range(tasks)).get(WAIT_S),
                         workers)
        yield pool
    finally:
        pool.terminate()
        pool.join()


def wait_for_workers(run_tasks: Callable[[int], list[int]], workers: int,
                     attempts: int = 20) -> set[int]:
    """Run batches of short tasks until ``workers`` different processes have answered
    (a worker takes tasks only once it has started and run its initializer); return
    their PIDs."""
    seen: set[int] = set()
    for _ in range(attempts):
        seen |= set(run_tasks(2 * workers))
        if len(seen) >= workers:
            return seen
    raise TimeoutError(f"only {len(seen)} of {workers} workers answered")


# ---------------------------------------------------------------------------------------
# joblib keeps its workers.


# [start:joblib-reuse]
def worker_pid(pause_s: float) -> int:
    """A task that only says which process ran it (after a short pause, so that every
    worker gets a task)."""
    time.sleep(pause_s)
    return os.getpid()


def pids_from_joblib(tasks: int, workers: int, pause_s: float, **settings: Any) -> list[int]:
    """One call of joblib.Parallel. Its workers (loky's) start at the first call and are
    kept for the next call with the same settings."""
    return Parallel(n_jobs=workers, timeout=WAIT_S, **settings)(
        delayed(worker_pid)(pause_s) for _ in range(tasks))


def pids_from_new_pool(context: Context, tasks: int, workers: int,
                       pause_s: float) -> list[int]:
    """The same tasks on a Pool made for this call alone, as a function that makes its
    own pool does: every call starts, and ends, its workers."""
    with context.Pool(workers) as pool:
        return pool.map_async(worker_pid, [pause_s] * tasks).get(WAIT_S)
# [end:joblib-reuse]


def stop_joblib_workers() -> None:
    """Shut down the executor joblib keeps between calls, and wait for its workers."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)


def loky_worker_pids() -> set[int]:
    """PIDs of the live worker processes of the executor joblib keeps (none if there is
    no executor). Reads loky's module state, not a public API: used only to check that
    :func:`stop_joblib_workers` left none."""
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is None or executor._processes is None:
        return set()
    return {pid for pid, process in list(executor._processes.items()) if process.is_alive()}


# ---------------------------------------------------------------------------------------
# A large numpy argument: pickled, memory-mapped by joblib, or in shared memory.


def slices(length: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (start, stop) ranges that cover ``range(length)``."""
    edges = np.linspace(0, length, parts + 1).astype(int)
    return [(int(start), int(stop)) for start, stop in zip(edges[:-1], edges[1:], strict=True)]


# [start:joblib-memmap]
def slice_sum(array: np.ndarray, start: int, stop: int) -> tuple[str, float]:
    """Task: say what type the array arrived as, and sum one slice of it."""
    return type(array).__name__, float(array[start:stop].sum())


def sums_with_joblib(array: np.ndarray, workers: int) -> list[tuple[str, float]]:
    """Every task is given the whole array. An array larger than max_nbytes is written
    once to a file in /dev/shm (or a temporary folder) and every worker maps that file,
    read-only, instead of unpickling a copy of its own."""
    return Parallel(n_jobs=workers, max_nbytes="1M", mmap_mode="r", timeout=WAIT_S)(
        delayed(slice_sum)(array, start, stop) for start, stop in slices(len(array), workers))
# [end:joblib-memmap]


def sums_with_pool(pool: Any, array: np.ndarray, workers: int) -> list[tuple[str, float]]:
    """The same tasks on a Pool: the array is pickled into every task."""
    tasks = [(array, start, stop) for start, stop in slices(len(array), workers)]
    return pool.starmap_async(slice_sum, tasks, chunksize=1).get(WAIT_S)


_attached: SharedArray | None = None  # in each worker of a shared-memory pool


def attach(shared: SharedArray) -> None:
    """Pool initializer: keep the block the parent created mapped for the worker's life."""
    global _attached
    _attached = shared  # unpickling it attached the block: no copy was made


def shared_slice_sum(start: int, stop: int) -> tuple[str, float]:
    """Pool task: only the bounds travel; the array is read where it lies."""
    assert _attached is not None, "the pool was created without attach"
    return slice_sum(_attached.array, start, stop)


def sums_with_shared_memory(pool: Any, shared: SharedArray, array: np.ndarray,
                            workers: int) -> list[tuple[str, float]]:
    """The fair multiprocessing version: one copy into a shared block the workers have
    attached, and tasks that carry two integers."""
    np.copyto(shared.array, array)
    return pool.starmap_async(shared_slice_sum, slices(len(array), workers),
                              chunksize=1).get(WAIT_S)


# ---------------------------------------------------------------------------------------
# Large results: all at once, or as they come.


def make_result(index: int, values: int, iterations: int) -> np.ndarray:
    """A task with a large result: compute a while, then return ``values`` float64s."""
    burn(iterations)
    return np.full(values, float(index))


# [start:joblib-generator]
def large_results(tasks: int, values: int, iterations: int, workers: int,
                  return_as: str = "list") -> Any:
    """joblib.Parallel over tasks with large results: a list once every task is done, or,
    with return_as="generator", each result in order as soon as it is done."""
    return Parallel(n_jobs=workers, return_as=return_as, batch_size=1, timeout=WAIT_S)(
        delayed(make_result)(index, values, iterations) for index in range(tasks))
# [end:joblib-generator]


# ---------------------------------------------------------------------------------------
# Many tiny tasks.


# [start:tiny-tasks]
def burn_with_joblib(iterations: int, tasks: int, workers: int,
                     batch_size: int | str = "auto") -> list[int]:
    """``tasks`` equal tasks through joblib. With batch_size="auto", joblib times the
    batches it sends and resizes them, aiming at 0.2 to 2 seconds each; with 1, every
    task is a message of its own."""
    return Parallel(n_jobs=workers, batch_size=batch_size, timeout=WAIT_S)(
        delayed(burn)(iterations) for _ in range(tasks))


def burn_with_pool(pool: Any, iterations: int, tasks: int) -> list[int]:
    """The same tasks through Pool.map, which cuts them into chunks of its own choosing."""
    return pool.map_async(burn, [iterations] * tasks).get(WAIT_S)
# [end:tiny-tasks]


# ---------------------------------------------------------------------------------------
# Workload 1 of article 002: one image, one small filter per worker, again each round.


def convolve(image: np.ndarray, image_filter: np.ndarray) -> np.ndarray:
    """The work of one task: the full 2-D convolution of the image with the filter (what
    ``scipy.signal.convolve2d(image, image_filter)`` computes, in numpy alone), keeping
    every fifth pixel each way."""
    rows, columns = image_filter.shape
    padded = np.pad(image, ((rows - 1, rows - 1), (columns - 1, columns - 1)))
    height, width = image.shape[0] + rows - 1, image.shape[1] + columns - 1
    filtered, term = np.zeros((height, width)), np.empty((height, width))
    for i in range(rows):
        for j in range(columns):
            # In place: no new array per term, so no fresh memory to fault in each time.
            np.multiply(padded[i:i + height, j:j + width], image_filter[rows - 1 - i,
                                                                         columns - 1 - j],
                        out=term)
            filtered += term
    return filtered[::5, ::5]


def numerical_serial(image: np.ndarray, filters: list[np.ndarray],
                     rounds: int) -> list[np.ndarray]:
    """Every round, every filter, one after another in this process."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        results = [convolve(image, image_filter) for image_filter in filters]
    return results


def convolve_pair(image: np.ndarray, image_filter: np.ndarray) -> np.ndarray:
    """Pool task of the article's version: the image arrives pickled with the filter."""
    return convolve(image, image_filter)


def numerical_pool(pool: Any, image: np.ndarray, filters: list[np.ndarray],
                   rounds: int) -> list[np.ndarray]:
    """The article's version: the whole image is pickled into every task, every round."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        results = pool.starmap_async(convolve_pair, [(image, f) for f in filters],
                                     chunksize=1).get(WAIT_S)
    return results


def convolve_shared(image_filter: np.ndarray) -> np.ndarray:
    """Pool task of the fair version: only the filter travels."""
    assert _attached is not None, "the pool was created without attach"
    return convolve(_attached.array, image_filter)


def numerical_shared(pool: Any, shared: SharedArray, image: np.ndarray,
                     filters: list[np.ndarray], rounds: int) -> list[np.ndarray]:
    """The fair version: each round's image is copied once into shared memory."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        np.copyto(shared.array, image)
        results = pool.map_async(convolve_shared, filters, chunksize=1).get(WAIT_S)
    return results


# [start:numerical-joblib]
def numerical_joblib(image: np.ndarray, filters: list[np.ndarray], workers: int,
                     rounds: int) -> list[np.ndarray]:
    """The plain call a reader would write: joblib memory-maps the image by itself."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        results = Parallel(n_jobs=workers, timeout=WAIT_S)(
            delayed(convolve)(image, image_filter) for image_filter in filters)
    return results
# [end:numerical-joblib]


@functools.cache
def _remote_convolve() -> Any:
    import ray

    return ray.remote(convolve)


def numerical_ray(ray: Any, image: np.ndarray, filters: list[np.ndarray],
                  rounds: int) -> list[np.ndarray]:
    """Ray: the image is put in the object store once per round; tasks get a reference."""
    results: list[np.ndarray] = []
    for _ in range(rounds):
        image_ref = ray.put(image)
        results = ray.get([_remote_convolve().remote(image_ref, f) for f in filters],
                          timeout=WAIT_S)
        del image_ref
    return results


# ---------------------------------------------------------------------------------------
# Workload 2: counters that keep state (popular prefixes of random words).

#: A prefix is popular once it has been counted more than this many times.
POPULAR_ABOVE = 3


def count_prefixes(counts: defaultdict[bytes, int], popular: set[bytes],
                   document: list[bytes]) -> None:
    """Count every prefix of every word; remember those seen more than three times."""
    for word in document:
        for end in range(1, len(word)):
            prefix = word[:end]
            counts[prefix] += 1
            if counts[prefix] > POPULAR_ABOVE:
                popular.add(prefix)


class PrefixCounter:
    """The article's stateful counter: one per worker, fed documents one by one."""

    def __init__(self) -> None:
        self.counts: defaultdict[bytes, int] = defaultdict(int)
        self.popular: set[bytes] = set()

    def add_document(self, document: list[bytes]) -> None:
        count_prefixes(self.counts, self.popular, document)

    def get_popular(self) -> set[bytes]:
        return self.popular

    def reset(self) -> None:
        """Start counting afresh (between two timed runs)."""
        self.counts, self.popular = defaultdict(int), set()

    def ready(self) -> int:
        """Answer once constructed, with the PID of the process it lives in."""
        return os.getpid()


def union(sets: list[set[bytes]]) -> set[bytes]:
    """Every prefix popular in any counter."""
    merged: set[bytes] = set()
    for prefixes in sets:
        merged |= prefixes
    return merged


def stateful_serial(counters: list[PrefixCounter], documents: list[list[bytes]]) -> set[bytes]:
    """Document ``i`` goes to counter ``i % n``, all in this process."""
    for i, document in enumerate(documents):
        counters[i % len(counters)].add_document(document)
    return union([counter.get_popular() for counter in counters])


def count_carried(counts: defaultdict[bytes, int], popular: set[bytes],
                  document: list[bytes]) -> tuple[defaultdict[bytes, int], set[bytes]]:
    """Task of the versions without long-lived state: the counter's whole state comes in
    with the document, and goes back out."""
    count_prefixes(counts, popular, document)
    return counts, popular


def stateful_carried(run_round: Callable[[list[tuple[Any, ...]]], list[Any]], counters: int,
                     documents: list[list[bytes]]) -> set[bytes]:
    """Rounds of ``counters`` documents, each counter's state carried into its task and
    back out; ``run_round`` runs one round's ``count_carried`` tasks and returns their
    results in order."""
    states: list[Any] = [(defaultdict(int), set()) for _ in range(counters)]
    for start in range(0, len(documents), counters):
        batch = documents[start:start + counters]
        states = run_round([(*state, document)
                            for state, document in zip(states, batch, strict=False)])
    return union([popular for _counts, popular in states])


def pool_round(pool: Any) -> Callable[[list[tuple[Any, ...]]], list[Any]]:
    """One round of carried-state tasks on a Pool (the article's version)."""
    return lambda tasks: pool.starmap_async(count_carried, tasks, chunksize=1).get(WAIT_S)


# [start:stateful-joblib]
def joblib_round(workers: int) -> Callable[[list[tuple[Any, ...]]], list[Any]]:
    """One round of carried-state tasks through joblib, which keeps processes between
    calls but nothing a task could find again: the next task may run in another worker."""
    return lambda tasks: Parallel(n_jobs=workers, timeout=WAIT_S)(
        delayed(count_carried)(*task) for task in tasks)
# [end:stateful-joblib]


_counter: PrefixCounter | None = None  # in each single-worker executor of the fair version


def new_counter() -> None:
    """Initializer of a single-worker executor: its process keeps one counter."""
    global _counter
    _counter = PrefixCounter()


def counter_call(method: str, *args: Any) -> Any:
    """Task of the fair version: call ``method`` on the counter this process keeps."""
    assert _counter is not None, "the executor was created without new_counter"
    return getattr(_counter, method)(*args)


@contextlib.contextmanager
def counting_executors(context: Context, count: int) -> Iterator[list[ProcessPoolExecutor]]:
    """The fair multiprocessing version's workers: ``count`` executors of one process
    each, so every task sent to executor ``i`` reaches the same process and its counter.
    Every process has started before the block; all are shut down on the way out."""
    executors: list[ProcessPoolExecutor] = []
    try:
        for _ in range(count):
            executors.append(ProcessPoolExecutor(max_workers=1, mp_context=context,
                                                 initializer=new_counter))
        for executor in executors:
            executor.submit(counter_call, "ready").result(timeout=WAIT_S)
        yield executors
    finally:
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)


def stateful_executors(executors: list[ProcessPoolExecutor],
                       documents: list[list[bytes]]) -> set[bytes]:
    """Stream each document to the process that keeps its counter; collect once."""
    added = [executors[i % len(executors)].submit(counter_call, "add_document", document)
             for i, document in enumerate(documents)]
    for call in added:
        call.result(timeout=WAIT_S)
    return union([executor.submit(counter_call, "get_popular").result(timeout=WAIT_S)
                  for executor in executors])


def reset_executors(executors: list[ProcessPoolExecutor]) -> None:
    """Give every executor's process a fresh counter."""
    for executor in executors:
        executor.submit(counter_call, "reset").result(timeout=WAIT_S)


@functools.cache
def _remote_counter() -> Any:
    import ray

    return ray.remote(PrefixCounter)


def counting_actors(ray: Any, count: int) -> list[Any]:
    """``count`` Ray actors, each a :class:`PrefixCounter`, being created (Ray creates
    actors in the background: :func:`wait_until_ready` waits for them)."""
    return [_remote_counter().remote() for _ in range(count)]


def wait_until_ready(ray: Any, actors: list[Any]) -> None:
    """Wait until every actor's ``__init__`` has run; kill them all if one fails."""
    try:
        ray.get([actor.ready.remote() for actor in actors], timeout=WAIT_S)
    except BaseException:
        kill_actors(ray, actors)
        raise


def stateful_ray(ray: Any, actors: list[Any], documents: list[list[bytes]]) -> set[bytes]:
    """Ray: each actor keeps its counter between calls."""
    added = [actors[i % len(actors)].add_document.remote(document)
             for i, document in enumerate(documents)]
    ray.get(added, timeout=WAIT_S)
    return union(ray.get([actor.get_popular.remote() for actor in actors], timeout=WAIT_S))


def kill_actors(ray: Any, actors: list[Any]) -> None:
    """Kill every actor in ``actors`` (and forget them)."""
    for actor in actors:
        ray.kill(actor)
    actors.clear()


# ---------------------------------------------------------------------------------------
# Workload 3: expensive initialisation, a model loaded from disk.

Model = list[tuple[np.ndarray, np.ndarray]]


def load_model(path: Path | str) -> Model:
    """Read and decompress every layer: the expensive initialisation."""
    with np.load(path) as archive:
        layers = len(archive.files) // 2
        return [(archive[f"weight_{i}"], archive[f"bias_{i}"]) for i in range(layers)]


def classify(model: Model, batch: np.ndarray) -> np.ndarray:
    """A forward pass: ReLU hidden layers, a linear output; the most likely class."""
    activations = batch
    for weight, bias in model[:-1]:
        activations = np.maximum(activations @ weight + bias, 0.0)
    weight, bias = model[-1]
    return np.argmax(activations @ weight + bias, axis=1)


def model_serial(model: Model, batches: list[np.ndarray]) -> list[np.ndarray]:
    """The model was loaded once; every batch is classified in this process."""
    return [classify(model, batch) for batch in batches]


def load_and_classify(path: str, batch: np.ndarray) -> np.ndarray:
    """Task of the article's version: load the model, then classify one batch."""
    return classify(load_model(path), batch)


def in_rounds(run_round: Callable[[list[np.ndarray]], list[np.ndarray]],
              batches: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """Classify the batches in rounds of one batch per worker."""
    labels: list[np.ndarray] = []
    for start in range(0, len(batches), workers):
        labels += run_round(batches[start:start + workers])
    return labels


def model_pool(pool: Any, path: str, batches: list[np.ndarray],
               workers: int) -> list[np.ndarray]:
    """The article's version: every task loads the model."""
    return in_rounds(lambda batch_round: pool.starmap_async(
        load_and_classify, [(path, batch) for batch in batch_round],
        chunksize=1).get(WAIT_S), batches, workers)


_model: Model | None = None  # in each worker: loaded once, by an initializer or a plugin


def load_into_worker(path: str) -> None:
    """Initializer: runs once in each worker process, before its first task."""
    global _model
    _model = load_model(path)


def classify_loaded(batch: np.ndarray) -> np.ndarray:
    """Task: only the batch travels; the model is already in this worker."""
    assert _model is not None, "the worker was started without load_into_worker"
    return classify(_model, batch)


def model_initialized_pool(pool: Any, batches: list[np.ndarray],
                           workers: int) -> list[np.ndarray]:
    """The fair version: a Pool whose initializer loaded the model in every worker."""
    return in_rounds(lambda batch_round: pool.map_async(
        classify_loaded, batch_round, chunksize=1).get(WAIT_S), batches, workers)


# [start:model-joblib]
def model_joblib(path: str, batches: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """joblib passes initializer and initargs to loky: every worker loads the model once,
    and the workers are kept for the next call with the same initializer and arguments
    (a call with other settings gets new workers)."""
    return in_rounds(lambda batch_round: Parallel(
        n_jobs=workers, initializer=load_into_worker, initargs=(path,), timeout=WAIT_S)(
        delayed(classify_loaded)(batch) for batch in batch_round), batches, workers)
# [end:model-joblib]


class Classifier:
    """A Ray actor that loads the model once, when it is created."""

    def __init__(self, path: str) -> None:
        self.model = load_model(path)

    def classify(self, batch: np.ndarray) -> np.ndarray:
        return classify(self.model, batch)

    def ready(self) -> int:
        return os.getpid()


@functools.cache
def _remote_classifier() -> Any:
    import ray

    return ray.remote(Classifier)


def classifier_actors(ray: Any, count: int, path: str) -> list[Any]:
    """``count`` :class:`Classifier` actors, being created: each loads the model in its
    ``__init__`` (:func:`wait_until_ready` waits for them)."""
    return [_remote_classifier().remote(path) for _ in range(count)]


def model_ray(ray: Any, actors: list[Any], batches: list[np.ndarray]) -> list[np.ndarray]:
    """Ray: each batch goes to the actor whose turn it is."""
    return in_rounds(lambda batch_round: ray.get(
        [actor.classify.remote(batch) for actor, batch in zip(actors, batch_round,
                                                              strict=False)],
        timeout=WAIT_S), batches, len(actors))


# ---------------------------------------------------------------------------------------
# Round trips and Ray's task of the tiny-task sweep.


def noop(message: Any) -> Any:
    """A task whose whole cost is getting there and back."""
    return message


@functools.cache
def remote_functions() -> dict[str, Any]:
    """Ray remote versions of :func:`noop` and :func:`burn`."""
    import ray

    return {"noop": ray.remote(noop), "burn": ray.remote(burn)}


# ---------------------------------------------------------------------------------------
# For a reader to try.


def reuse_and_memmap_demo(workers: int = 2, values: int = 500_000) -> list[str]:
    """Two joblib calls (are the workers the same?) and a large argument (what type does a
    worker see?), then the workers are shut down. Returns lines to print."""
    try:
        first = set(pids_from_joblib(2 * workers, workers, 0.05))
        second = set(pids_from_joblib(2 * workers, workers, 0.05))
        seen = {kind for kind, _total in sums_with_joblib(np.ones(values), workers)}
    finally:
        stop_joblib_workers()
    return [f"first call ran in processes {sorted(first)}",
            f"second call ran in processes {sorted(second)}"
            f" (all from the first call: {second <= first})",
            f"a {values * 8 / 2**20:.1f} MiB array arrived in the workers as: "
            f"{', '.join(sorted(seen))}"]
