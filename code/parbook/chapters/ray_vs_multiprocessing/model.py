"""Ray against multiprocessing, part 3: expensive initialisation (a model loaded from disk).

The model is a small dense network in numpy (ReLU layers, then a linear output layer),
saved with ``numpy.savez_compressed`` and large enough that loading it (reading and
decompressing the file) takes about a second on the machine the book was written on.
It classifies batches of 28 x 28 "images" (random, MNIST-shaped) with a real forward
pass.

The four versions: load once and classify every batch in this process (serial); load
the model inside every task, as the article's ``Pool.map`` version does (naive); load it
once per worker in a Pool ``initializer`` (fair); and Ray actors that load it once in
``__init__`` (the article's Ray version).
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from parbook.chapters.ray_vs_multiprocessing.workload import WAIT_S, ready_actors, thread_count

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
