"""Ray against multiprocessing: article 002's three workloads, four versions each.

Groups of cases in the result:

``runs``
    Seconds for a whole job, per workload (``numerical``, ``stateful``,
    ``initialisation``) and version (``serial``, ``naive_mp``: the article's
    ``multiprocessing`` code, ``fair_mp``: what a careful engineer would write with the
    standard library, ``ray``: the article's Ray code). The four versions of a workload
    are timed round-robin, repeat after repeat, so their ratios see the same machine.
``startup``
    One-off costs kept out of ``runs``, one sample each: starting Ray, starting each
    pool, worker set or actor set and waiting until every worker is ready (which, for the
    fair versions and Ray, includes what their initializers load).
``model_load``
    Seconds to load the model of the initialisation workload once, in this process.

The same treatment for everyone: the clock starts only once every pool worker and every
actor has started and finished its initialisation, and stops when the last result is
back. Workers are created with forkserver (spawn where there is none), started before
Ray, so that no process is forked while Ray runs, and each worker gets one BLAS thread.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from parbook.bench.results import Result
from parbook.shared import article002 as work
from parbook.shared import run_setup
from parbook.shared.article002 import Version, time_versions
from parbook.shared.cpu import one_blas_thread
from parbook.shared.raysession import cluster_address, describe, ray_session
from parbook.shared.shm import SharedArray

NAME = "ray-vs-multiprocessing"

WORKLOAD_LABELS = {
    "numerical": "numerical data (convolve2d)",
    "stateful": "stateful computation (prefix counts)",
    "initialisation": "expensive initialisation (a model)",
}
VERSION_LABELS = {
    "serial": "serial",
    "naive_mp": "multiprocessing, the article's code",
    "fair_mp": "multiprocessing, done fairly",
    "ray": "Ray",
}
STARTUP_LABELS = {
    "ray_init": "Ray: start the local instance (once for all workloads)",
    "plain_pool": "naive: a plain Pool, shared by the three workloads (the first pool: "
                  "includes the forkserver's start and imports)",
    "image_pool": "numerical, fair: shared-memory block + Pool attached to it",
    "counting_workers": "stateful, fair: counting worker processes",
    "counting_actors": "stateful, Ray: counting actors",
    "serial_model": "initialisation, serial: load the model in this process",
    "model_pool": "initialisation, fair: Pool whose initializer loads the model",
    "model_actors": "initialisation, Ray: actors that load the model in __init__",
}
#: The article ran every workload for 10 rounds on 48 workers.
ARTICLE_ROUNDS = 10
#: Memory a worker may need at the peak (a copy of the image and its convolution, or
#: three copies of the model while pools and actors coexist): pools are never sized
#: above what the machine's available memory allows at this rate.
MEMORY_PER_WORKER_BYTES = 1024**3


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    image_side: int
    numerical_rounds: int
    words: int
    stateful_rounds: int
    hidden: tuple[int, ...]
    batch: int
    model_rounds: int
    repeats: int
    load_repeats: int


FULL = Sizes(image_side=3000, numerical_rounds=2, words=10_000, stateful_rounds=3,
             hidden=(4096, 4096, 4096), batch=256, model_rounds=2, repeats=3,
             load_repeats=3)
QUICK = Sizes(image_side=600, numerical_rounds=2, words=1_000, stateful_rounds=2,
              hidden=(256, 256), batch=32, model_rounds=2, repeats=1, load_repeats=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def worker_count(cpus: int, available_bytes: int | None = None) -> int:
    """Workers for every version: the usable CPUs, unless memory allows fewer."""
    if available_bytes is None:
        available_bytes = psutil.virtual_memory().available
    return max(1, min(cpus, available_bytes // MEMORY_PER_WORKER_BYTES))


class Startup:
    """Records one-off costs as single-sample cases of the ``startup`` group."""

    def __init__(self, result: Result) -> None:
        self.result = result

    @contextlib.contextmanager
    def timing(self, what: str) -> Any:
        began = time.perf_counter()
        yield
        self.result.add("startup", {"what": what}, [time.perf_counter() - began])


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run the three workloads, four versions each, and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say = machine_setup.say
    threads_at_start = work.thread_count()  # before this process starts any helper
    workers = worker_count(machine_setup.cpus)
    context = multiprocessing.get_context(work.worker_method())
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus,
        workers=workers,
        default_start_method=machine_setup.start_method,
        worker_start_method=context.get_start_method(),
        article_rounds=ARTICLE_ROUNDS,
        image_side=size.image_side,
        numerical_rounds=size.numerical_rounds,
        words=size.words,
        word_bytes=work.WORD_BYTES,
        stateful_rounds=size.stateful_rounds,
        hidden=list(size.hidden),
        batch=size.batch,
        model_rounds=size.model_rounds,
        repeats=size.repeats,
    )
    result.values["threads"] = {"experiment_process": threads_at_start}
    result.values["agree"] = {}
    startup = Startup(result)
    model_dir = Path(tempfile.mkdtemp(prefix="parbook-model-"))
    try:
        say(f"starting the {context.get_start_method()} server and a plain pool")
        work.start_worker_server(context)
        with contextlib.ExitStack() as stack:
            with startup.timing("plain_pool"):
                plain_pool, plain_threads = stack.enter_context(
                    work.ready_pool(context, workers))
            result.values["threads"]["pool_worker"] = max(plain_threads)
            say("starting Ray")
            with startup.timing("ray_init"), one_blas_thread():
                ray = stack.enter_context(
                    ray_session(num_cpus=None if cluster_address() else workers))
            result.parameters.update(describe(ray))
            _numerical(result, size, workers, context, plain_pool, ray, startup, say)
            _stateful(result, size, workers, context, plain_pool, ray, startup, say)
            _initialisation(result, size, workers, context, plain_pool, ray, startup,
                            model_dir, say)
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)
    return result


def _numerical(result: Result, size: Sizes, workers: int, context: Any, plain_pool: Any,
               ray: Any, startup: Startup, say: Callable[[str], None]) -> None:
    image = work.make_image(size.image_side)
    filters = work.make_filters(workers)
    rounds = size.numerical_rounds
    say(f"numerical: {size.image_side}x{size.image_side} image, {workers} filters, "
        f"{rounds} rounds")
    with contextlib.ExitStack() as stack:
        with startup.timing("image_pool"):
            shared = stack.enter_context(SharedArray(image.shape, image.dtype))
            fair_pool, _ = stack.enter_context(
                work.ready_pool(context, workers, work.attach_image, (shared,)))
        versions = {
            "serial": Version(lambda r: work.numerical_serial(image, filters, r)),
            "naive_mp": Version(lambda r: work.numerical_naive(plain_pool, image, filters, r)),
            "fair_mp": Version(
                lambda r: work.numerical_fair(fair_pool, shared, image, filters, r)),
            "ray": Version(lambda r: work.numerical_ray(ray, image, filters, r)),
        }
        samples, outputs = time_versions(versions, rounds, size.repeats)
        sums = {name: work.checksum(arrays) for name, arrays in outputs.items()}
        del outputs  # Ray's results are views of its object store: let them go
    work.add_runs(result, "numerical", workers, rounds, samples)
    result.values["agree"]["numerical"] = work.sums_agree(sums)
    result.values["image_bytes"] = image.nbytes


def _stateful(result: Result, size: Sizes, workers: int, context: Any, plain_pool: Any,
              ray: Any, startup: Startup, say: Callable[[str], None]) -> None:
    rounds = size.stateful_rounds
    documents = work.make_documents(workers * rounds, size.words)
    say(f"stateful: {len(documents)} documents of {size.words} words on {workers} counters")

    def first(r: int) -> list[list[bytes]]:
        return documents[:r * workers]

    serial_counters: list[work.StreamingPrefixCount] = []
    naive_states: list[Any] = []
    actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        with startup.timing("counting_workers"):
            counting = stack.enter_context(work.CountingWorkers(context, workers))
        stack.callback(work.kill_actors, ray, actors)
        with startup.timing("counting_actors"):
            actors += work.counting_actors(ray, workers)

        def fresh_counters() -> None:
            serial_counters[:] = [work.StreamingPrefixCount() for _ in range(workers)]

        def reset_workers() -> None:
            counting.ask_all("reset")

        def reset_actors() -> None:
            ray.get([actor.reset.remote() for actor in actors], timeout=work.WAIT_S)

        versions = {
            "serial": Version(lambda r: work.stateful_serial(serial_counters, first(r)),
                              prepare=fresh_counters),
            "naive_mp": Version(lambda r: work.stateful_naive(
                plain_pool, workers, first(r), naive_states)),
            "fair_mp": Version(lambda r: work.stateful_fair(counting, first(r)),
                               prepare=reset_workers),
            "ray": Version(lambda r: work.stateful_ray(ray, actors, first(r)),
                           prepare=reset_actors),
        }
        samples, outputs = time_versions(versions, rounds, size.repeats)
    work.add_runs(result, "stateful", workers, rounds, samples)
    result.values["agree"]["stateful"] = all(out == outputs["serial"] for out in outputs.values())
    result.values["popular_prefixes"] = len(outputs["serial"])
    # How much state the naive version carried into, and out of, each task at the end.
    result.values["state_entries"] = len(naive_states[0])
    result.values["state_bytes"] = len(pickle.dumps(naive_states[0],
                                                    protocol=pickle.HIGHEST_PROTOCOL))


def _initialisation(result: Result, size: Sizes, workers: int, context: Any,
                    plain_pool: Any, ray: Any, startup: Startup, model_dir: Path,
                    say: Callable[[str], None]) -> None:
    path = model_dir / "model.npz"
    say(f"initialisation: saving a model with hidden layers {size.hidden}")
    began = time.perf_counter()
    parameters = work.save_model(path, size.hidden)
    result.values["model"] = {
        "parameters": parameters,
        "memory_bytes": parameters * 4,
        "file_bytes": work.model_bytes(path),
        "save_s": time.perf_counter() - began,
    }
    result.add("model_load", {}, [work.timed_load(path) for _ in range(size.load_repeats)])
    rounds = size.model_rounds
    batches = work.make_batches(workers * rounds, size.batch)

    def first(r: int) -> list[Any]:
        return batches[:r * workers]

    actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        with startup.timing("serial_model"):
            model = work.load_model(path)
        with startup.timing("model_pool"):
            model_pool, pool_threads = stack.enter_context(
                work.ready_pool(context, workers, work.load_into_worker, (str(path),)))
        stack.callback(work.kill_actors, ray, actors)
        with startup.timing("model_actors"):
            actors += work.classifier_actors(ray, workers, path)
        actor_threads = ray.get([actor.ready.remote() for actor in actors], timeout=work.WAIT_S)
        say(f"initialisation: {len(batches)} batches of {size.batch}, {rounds} rounds")
        versions = {
            "serial": Version(lambda r: work.model_serial(model, first(r))),
            "naive_mp": Version(lambda r: work.model_naive(plain_pool, path, first(r),
                                                                 workers)),
            "fair_mp": Version(lambda r: work.model_fair(model_pool, first(r), workers)),
            "ray": Version(lambda r: work.model_ray(ray, actors, first(r))),
        }
        samples, outputs = time_versions(versions, rounds, size.repeats)
    work.add_runs(result, "initialisation", workers, rounds, samples)
    result.values["agree"]["initialisation"] = min(
        work.agreement(labels, outputs["serial"]) for labels in outputs.values())
    result.values["threads"]["model_pool_worker"] = max(pool_threads)
    result.values["threads"]["ray_actor"] = max(actor_threads)
