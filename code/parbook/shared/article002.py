"""Article 002's three workloads, as several chapters run them.

Article 002 (Ray's 2019 post "10x faster parallel Python without Python multiprocessing")
timed three workloads: numerical data (one large image filtered with one small filter
per worker, ``scipy.signal.convolve2d``), stateful computation (counters of popular word
prefixes that keep their counts between documents) and expensive initialisation (a model
loaded from disk, then used to classify batches). Each comes here in up to four
versions: serial; the article's own ``multiprocessing`` code (*naive*); the version a
careful engineer would write with the standard library (*fair*); and Ray's.

The chapter that reruns the article (``ray-vs-multiprocessing``) times the four versions
side by side on one worker count; the scaling chapter times the parallel ones over a
range of worker counts; the joblib-and-Dask chapter makes its inputs and checks its
outputs with the functions here (its workers run scipy-free code of its own, since every
process that imports this module imports scipy). This module also holds what every
version shares: the process context, pools and actors that are ready before the clock
starts, one BLAS thread per worker, and :func:`time_versions`, which times versions
round-robin.

Every function a worker runs is a module-level function, so it pickles by name under
every start method; Ray's remote versions are built lazily (importing Ray is slow).
Every wait is bounded by :data:`WAIT_S`. scipy is needed by the numerical workload
alone: without it (an interpreter whose environment lacks it) this module still imports,
:data:`scipy` is None, and the other two workloads run.
"""

from __future__ import annotations

import contextlib
import functools
import math
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

try:  # only the numerical workload needs scipy (see the module's docstring)
    import scipy.signal
except ImportError:
    scipy = None

from parbook.bench.measure import time_once

# one_blas_thread (PAR022): every process started inside it gets one BLAS thread.
from parbook.shared.cpu import one_blas_thread
from parbook.shared.shm import SharedArray, join_all

#: Upper bound on any single wait, so a broken worker fails the run instead of hanging it.
WAIT_S = 300.0
#: Modules a forkserver imports once, so that every worker forked from it starts with
#: numpy and scipy already loaded (as a worker made by ``fork`` would).
PRELOAD = ("parbook.shared.article002",)

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


@dataclass
class Version:
    """One version of a workload: ``run(rounds)`` is timed, ``prepare()`` is not."""

    run: Callable[[int], Any]
    prepare: Callable[[], None] = field(default=lambda: None)


def time_versions(versions: dict[str, Version], rounds: int, repeats: int
                  ) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Time every version ``repeats`` times, round-robin; return samples and last outputs.

    Versions compared as a ratio then see the same machine: one that slows down mid-run
    slows them all. One warm-up run of one round per version comes first and is
    discarded: it pays for first calls (imports in workers, page faults in fresh
    mappings, an executor started with new settings).
    """
    for version in versions.values():
        version.prepare()
        version.run(1)
    samples: dict[str, list[float]] = {name: [] for name in versions}
    outputs: dict[str, Any] = {}
    for _ in range(repeats):
        for name, version in versions.items():
            samples[name].append(time_once(
                lambda _, n=name, v=version: outputs.__setitem__(n, v.run(rounds)),
                setup=version.prepare))
    return samples, outputs


def add_runs(result: Any, workload: str, workers: int, rounds: int,
             samples: dict[str, list[float]]) -> None:
    """Record :func:`time_versions`' samples in ``result``'s ``runs`` group, one case per
    version, as every chapter that times these workloads does."""
    for version, version_samples in samples.items():
        result.add("runs", {"workload": workload, "version": version, "workers": workers,
                            "rounds": rounds}, version_samples)


def sums_agree(sums: dict[str, float]) -> bool:
    """Whether every version's :func:`checksum` equals the serial version's (to rounding:
    the pieces are added up in different orders)."""
    return all(math.isclose(value, sums["serial"], rel_tol=1e-9) for value in sums.values())


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


# ---------------------------------------------------------------------------------------
# Workload 2: stateful computation (popular-prefix counting).
#
# Documents of random 20-byte words stream in; each of ``n`` counters counts the prefixes
# of the words in the documents it is given and remembers which prefixes became popular
# (seen more than three times). Documents go to the counters in turn, so every version,
# serial or parallel, computes the same ``n`` counters and the same answer. The versions:
# the counters in this process (serial); the article's ``Pool.map`` version, which passes
# every counter's state into a task and back out each round (naive); long-lived worker
# processes that each keep one counter and are fed through a queue (fair); and Ray actors
# (the article's ``StreamingPrefixCount``).

#: The article's words: 20 random bytes each.
WORD_BYTES = 20
#: A prefix is popular once it has been counted more than this many times.
POPULAR_ABOVE = 3


def make_documents(count: int, words: int, seed: int = 2) -> list[list[bytes]]:
    """``count`` documents of ``words`` random 20-byte words each."""
    rng = np.random.default_rng(seed)
    return [[rng.bytes(WORD_BYTES) for _ in range(words)] for _ in range(count)]


# [start:prefix-counter]
class StreamingPrefixCount:
    """Counts the prefixes of every word it is given; remembers the popular ones."""

    def __init__(self) -> None:
        self.prefix_count: defaultdict[bytes, int] = defaultdict(int)
        self.popular_prefixes: set[bytes] = set()

    def add_document(self, document: list[bytes]) -> None:
        for word in document:
            for end in range(1, len(word)):
                prefix = word[:end]
                self.prefix_count[prefix] += 1
                if self.prefix_count[prefix] > POPULAR_ABOVE:
                    self.popular_prefixes.add(prefix)

    def get_popular(self) -> set[bytes]:
        return self.popular_prefixes
# [end:prefix-counter]

    def reset(self) -> None:
        """Start counting afresh (between two timed runs)."""
        self.prefix_count = defaultdict(int)
        self.popular_prefixes = set()

    def ready(self) -> int:
        """Answer once constructed; returns the thread count of the process it lives in."""
        return thread_count()


def union(sets: list[set[bytes]]) -> set[bytes]:
    """Every prefix popular in any counter."""
    merged: set[bytes] = set()
    for prefixes in sets:
        merged |= prefixes
    return merged


# [start:stateful-serial]
def stateful_serial(counters: list[StreamingPrefixCount],
                    documents: list[list[bytes]]) -> set[bytes]:
    """Document ``i`` goes to counter ``i % n``, all in this process."""
    for i, document in enumerate(documents):
        counters[i % len(counters)].add_document(document)
    return union([counter.get_popular() for counter in counters])
# [end:stateful-serial]


# [start:stateful-naive]
def accumulate_prefixes(args: tuple[defaultdict[bytes, int], set[bytes], list[bytes]]
                        ) -> tuple[defaultdict[bytes, int], set[bytes]]:
    """Pool task: the counter's whole state comes in with the document, and goes back."""
    prefix_count, popular_prefixes, document = args
    for word in document:
        for end in range(1, len(word)):
            prefix = word[:end]
            prefix_count[prefix] += 1
            if prefix_count[prefix] > POPULAR_ABOVE:
                popular_prefixes.add(prefix)
    return prefix_count, popular_prefixes


def stateful_naive(pool: Any, counters: int, documents: list[list[bytes]],
                   states: list[Any]) -> set[bytes]:
    """The article's version: one ``map`` per round of ``counters`` documents, every
    counter's state pickled into its task and back out. ``states`` receives the final
    states, so the caller can see how large they grew."""
    counts: list[Any] = [defaultdict(int) for _ in range(counters)]
    popular: list[set[bytes]] = [set() for _ in range(counters)]
    for start in range(0, len(documents), counters):
        batch = documents[start:start + counters]
        results = pool.map(accumulate_prefixes, zip(counts, popular, batch, strict=True),
                           chunksize=1)
        counts = [count for count, _ in results]
        popular = [prefixes for _, prefixes in results]
    states[:] = counts
    return union(popular)
# [end:stateful-naive]


# [start:stateful-fair]
def counting_worker(inbox: Any, outbox: Any) -> None:
    """A long-lived worker process: one counter, kept between messages.

    ``("doc", document)`` counts a document; ``("report", None)`` sends back the popular
    prefixes; ``("reset", None)`` starts afresh; ``None`` ends the worker.
    """
    counter = StreamingPrefixCount()
    outbox.put(("ready", thread_count()))
    while (message := inbox.get(timeout=WAIT_S)) is not None:
        kind, payload = message
        if kind == "doc":
            counter.add_document(payload)  # nothing is sent back per document
        elif kind == "report":
            outbox.put(("report", counter.get_popular()))
        elif kind == "reset":
            counter = StreamingPrefixCount()
            outbox.put(("reset", None))


def stateful_fair(workers: Any, documents: list[list[bytes]]) -> set[bytes]:
    """Stream every document to the worker that keeps its counter; collect once."""
    for i, document in enumerate(documents):
        workers.inboxes[i % len(workers.inboxes)].put(("doc", document))
    return union(workers.ask_all("report"))
# [end:stateful-fair]


class CountingWorkers:
    """``count`` :func:`counting_worker` processes, each with its own inbox, one outbox.

    Use as a context manager: on entry every worker has started; on the way out each is
    told to stop, joined (killed if it does not stop in time), and the queues closed.
    """

    def __init__(self, context: Any, count: int) -> None:
        self.outbox = context.Queue()
        self.inboxes = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(target=counting_worker, args=(inbox, self.outbox),
                            name=f"prefix-counter-{i}", daemon=True)
            for i, inbox in enumerate(self.inboxes)
        ]
        self.threads: list[int] = []

    def __enter__(self) -> CountingWorkers:
        try:
            with one_blas_thread():
                for process in self.processes:
                    process.start()
            self.threads = self._collect("ready")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _collect(self, kind: str) -> list[Any]:
        answers = []
        for _ in self.inboxes:
            got, payload = self.outbox.get(timeout=WAIT_S)
            if got != kind:
                raise RuntimeError(f"expected {kind!r} from a worker, got {got!r}")
            answers.append(payload)
        return answers

    def ask_all(self, kind: str) -> list[Any]:
        """Send ``kind`` to every worker and return their answers (bounded waits)."""
        for inbox in self.inboxes:
            inbox.put((kind, None))
        return self._collect(kind)

    def close(self) -> None:
        """Stop, join and release everything (safe to call twice)."""
        started = [process for process in self.processes if process.pid is not None]
        for inbox, process in zip(self.inboxes, self.processes, strict=True):
            if process.pid is not None and process.is_alive():
                inbox.put(None)
        try:
            join_all(started)
        finally:
            clean = all(process.exitcode == 0 for process in started)
            for queue in (*self.inboxes, self.outbox):
                if not clean:  # a dead reader would leave the feeder thread blocked
                    queue.cancel_join_thread()
                queue.close()
                queue.join_thread()
            self.processes = []
            self.inboxes = []


@functools.cache
def _remote_counter() -> Any:
    import ray

    return ray.remote(StreamingPrefixCount)


def counting_actors(ray: Any, count: int) -> list[Any]:
    """``count`` Ray actors, each a :class:`StreamingPrefixCount`, ready to count."""
    return ready_actors(ray, _remote_counter(), count)


# [start:stateful-ray]
def stateful_ray(ray: Any, actors: list[Any], documents: list[list[bytes]]) -> set[bytes]:
    """The article's Ray version: each actor keeps its counter between calls."""
    added = [actors[i % len(actors)].add_document.remote(document)
             for i, document in enumerate(documents)]
    popular = ray.get([actor.get_popular.remote() for actor in actors], timeout=WAIT_S)
    ray.get(added, timeout=WAIT_S)  # already done (an actor runs its calls in order)
    return union(popular)
# [end:stateful-ray]


# ---------------------------------------------------------------------------------------
# Workload 3: expensive initialisation (a model loaded from disk).
#
# The model is a small dense network in numpy (ReLU layers, then a linear output layer),
# saved with ``numpy.savez_compressed``; loading it means reading and decompressing every
# layer. It classifies batches of 28 x 28 "images" (random, MNIST-shaped) with a real
# forward pass. The versions: load once and classify every batch in this process
# (serial); load the model inside every task, as the article's ``Pool.map`` version does
# (naive); load it once per worker in a Pool ``initializer`` (fair); and Ray actors that
# load it once in ``__init__`` (the article's Ray version).

#: The input of one example: a 28 x 28 image, flattened (MNIST's shape).
INPUTS = 28 * 28
#: Output classes (MNIST's ten digits).
CLASSES = 10

Model = list[tuple[np.ndarray, np.ndarray]]


# [start:model-file]
def save_model(path: Path, hidden: tuple[int, ...], seed: int = 3) -> int:
    """Make a network INPUTS -> hidden... -> CLASSES with random weights (He scaling)
    and save it, compressed, as one .npz file. Returns the number of parameters."""
    rng = np.random.default_rng(seed)
    widths = (INPUTS, *hidden, CLASSES)
    arrays: dict[str, np.ndarray] = {}
    for layer, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        scale = np.float32(np.sqrt(2.0 / fan_in))
        arrays[f"weight_{layer}"] = rng.standard_normal((fan_in, fan_out), np.float32) * scale
        arrays[f"bias_{layer}"] = np.zeros(fan_out, np.float32)
    np.savez_compressed(path, **arrays)
    return sum(array.size for array in arrays.values())


def load_model(path: Path) -> Model:
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
# [end:model-file]


def make_batches(count: int, size: int, seed: int = 4) -> list[np.ndarray]:
    """``count`` batches of ``size`` random images, float32 in [0, 1)."""
    rng = np.random.default_rng(seed)
    return [rng.random((size, INPUTS), dtype=np.float32) for _ in range(count)]


def timed_load(path: Path) -> float:
    """Seconds to load the model once in the calling process."""
    began = time.perf_counter()
    load_model(path)
    return time.perf_counter() - began


# [start:model-serial]
def model_serial(model: Model, batches: list[np.ndarray]) -> list[np.ndarray]:
    """The model was loaded once; every batch is classified in this process."""
    return [classify(model, batch) for batch in batches]
# [end:model-serial]


# [start:model-naive]
def load_and_classify(args: tuple[str, np.ndarray]) -> np.ndarray:
    """Pool task: load the model, then classify one batch (the article's version)."""
    path, batch = args
    return classify(load_model(Path(path)), batch)


def model_naive(pool: Any, path: Path, batches: list[np.ndarray],
                workers: int) -> list[np.ndarray]:
    """One ``map`` per round of ``workers`` batches; every task loads the model."""
    labels: list[np.ndarray] = []
    for start in range(0, len(batches), workers):
        tasks = [(str(path), batch) for batch in batches[start:start + workers]]
        labels += pool.map(load_and_classify, tasks, chunksize=1)
    return labels
# [end:model-naive]


# [start:model-fair]
_model: Model | None = None  # in each worker: loaded once, by the initializer


def load_into_worker(path: str) -> None:
    """Pool initializer: runs once in each worker process, before its first task."""
    global _model
    _model = load_model(Path(path))


def classify_loaded(batch: np.ndarray) -> np.ndarray:
    """Pool task: only the batch travels; the model is already in this worker."""
    assert _model is not None, "the pool was created without load_into_worker"
    return classify(_model, batch)


def model_fair(pool: Any, batches: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """The same rounds as the naive version, on a pool whose workers hold the model."""
    labels: list[np.ndarray] = []
    for start in range(0, len(batches), workers):
        labels += pool.map(classify_loaded, batches[start:start + workers], chunksize=1)
    return labels
# [end:model-fair]


# [start:model-actor]
class Classifier:
    """A Ray actor that loads the model once, when it is created."""

    def __init__(self, path: str) -> None:
        self.model = load_model(Path(path))

    def classify(self, batch: np.ndarray) -> np.ndarray:
        return classify(self.model, batch)
# [end:model-actor]

    def ready(self) -> int:
        """Answer once constructed; returns the actor process's thread count."""
        return thread_count()


@functools.cache
def _remote_classifier() -> Any:
    import ray

    return ray.remote(Classifier)


def classifier_actors(ray: Any, count: int, path: Path) -> list[Any]:
    """``count`` :class:`Classifier` actors with the model loaded, placed on this node
    (the file is local to it)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(),
                                          soft=False)
    placed = _remote_classifier().options(scheduling_strategy=here)
    return ready_actors(ray, placed, count, str(path))


# [start:model-ray]
def model_ray(ray: Any, actors: list[Any], batches: list[np.ndarray]) -> list[np.ndarray]:
    """The same rounds, each batch sent to the actor whose turn it is."""
    labels: list[np.ndarray] = []
    for start in range(0, len(batches), len(actors)):
        round_batches = batches[start:start + len(actors)]
        labels += ray.get([actor.classify.remote(batch)
                           for actor, batch in zip(actors, round_batches, strict=False)],
                          timeout=WAIT_S)
    return labels
# [end:model-ray]


def agreement(labels: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """Fraction of examples given the same class as in ``reference``."""
    same = sum(int(np.sum(a == b)) for a, b in zip(labels, reference, strict=True))
    return same / max(1, sum(len(b) for b in reference))


def model_bytes(path: Path) -> int:
    """Size of the model file on disk."""
    return os.path.getsize(path)
