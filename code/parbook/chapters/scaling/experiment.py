"""Scaling, measured: the same total work on 1, 2, 3, 4, 6, 8, ... workers, up to the
usable CPUs and then twice as many (oversubscribed).

One group of cases, ``sweep``: seconds for one whole job, per ``workload``, ``version``
and ``workers``:

``cpu``
    CPU-bound pure Python (:func:`parbook.shared.cpu.burn`), a fixed total cut into
    equal tasks: ``processes`` (a ``multiprocessing`` pool, the platform's default start
    method) and ``threads`` (a ``ThreadPoolExecutor``, which cannot compute in parallel
    where the interpreter has a GIL). Every pool of every size is started first, and the
    sizes are timed round-robin, so that a machine whose speed drifts during the sweep
    (other programs, frequency scaling) shifts every point alike.
``numerical``, ``stateful``, ``initialisation``
    Article 002's three workloads (:mod:`parbook.shared.article002`), each with a fixed
    total of work (filters, documents, batches), in three versions: ``naive_mp`` (the
    article's ``multiprocessing`` code), ``fair_mp`` (the standard library used with
    care) and ``ray`` (the article's Ray code). The three versions at one worker count
    are timed round-robin (:func:`parbook.shared.article002.time_versions`); the worker
    counts one after another, so that only one count's pools exist at a time.

Pools, worker processes and actors are started, and have finished their set-up, before
the clock starts. What could not run is recorded, with the reason, in
``values["skipped"]`` (and the modules missing in ``values["absent_modules"]``): Ray's
cases when ``import ray`` fails, the numerical workload without scipy. Ray is imported
only after the CPU-bound sweep. Only numpy, psutil, tqdm and jsonschema are required, so
the sweep runs under any interpreter the book supports, free-threaded builds included.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import multiprocessing
import platform
import shutil
import sysconfig
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from parbook.bench import machine
from parbook.bench.results import Result
from parbook.bench.scaling import oversubscribed, worker_counts
from parbook.chapters.scaling import workload as work
from parbook.render.formatting import spoken_list
from parbook.shared import article002 as a002
from parbook.shared import run_setup
from parbook.shared.article002 import Version, time_versions
from parbook.shared.cpu import calibrate, iterations_for, one_blas_thread
from parbook.shared.raysession import cluster_address, describe, ray_session

NAME = "scaling"
GROUP = "sweep"

#: The lines of the sweep, (workload, version) -> label, in the order they are shown.
BACKEND_LABELS = {
    ("cpu", "processes"): "CPU-bound, process pool",
    ("cpu", "threads"): "CPU-bound, thread pool",
    ("numerical", "naive_mp"): "numerical, the article's multiprocessing",
    ("numerical", "fair_mp"): "numerical, fair multiprocessing",
    ("numerical", "ray"): "numerical, Ray",
    ("stateful", "naive_mp"): "stateful, the article's multiprocessing",
    ("stateful", "fair_mp"): "stateful, fair multiprocessing",
    ("stateful", "ray"): "stateful, Ray",
    ("initialisation", "naive_mp"): "initialisation, the article's multiprocessing",
    ("initialisation", "fair_mp"): "initialisation, fair multiprocessing",
    ("initialisation", "ray"): "initialisation, Ray",
}
WORKLOAD_LABELS = {
    "cpu": "CPU-bound pure Python",
    "numerical": "numerical data (convolve2d)",
    "stateful": "stateful computation (prefix counts)",
    "initialisation": "expensive initialisation (a model)",
}
VERSION_LABELS = {
    "processes": "process pool",
    "threads": "thread pool",
    "naive_mp": "the article's multiprocessing",
    "fair_mp": "fair multiprocessing",
    "ray": "Ray",
}
ARTICLE_WORKLOADS = ("numerical", "stateful", "initialisation")
ARTICLE_VERSIONS = ("naive_mp", "fair_mp", "ray")
#: Memory one worker may need at the peak (an interpreter with numpy and scipy, a copy of
#: the image or the model, the counters' state): worker counts above what the machine's
#: available memory allows at this rate are not run.
MEMORY_PER_WORKER_BYTES = 256 * 1024**2
#: The model versions agree when at least this share of labels equals the article's
#: version's (a near-tie may round differently where BLAS sums in another order).
LABELS_AGREE_FROM = 0.99


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path.

    Article 002's jobs are sized by the largest worker count ``M`` of the sweep: each
    round has ``M`` tasks (filters, documents or batches), so every worker count up to
    ``M`` has work for all its workers.
    """

    cpu_total_s: float
    cpu_tasks_per_worker: int
    cpu_repeats: int
    image_side: int
    words: int
    hidden: tuple[int, ...]
    batch: int
    rounds: int
    repeats: int


FULL = Sizes(cpu_total_s=0.15, cpu_tasks_per_worker=4, cpu_repeats=5, image_side=400,
             words=1_200, hidden=(512, 512), batch=64, rounds=2, repeats=3)
QUICK = Sizes(cpu_total_s=0.08, cpu_tasks_per_worker=2, cpu_repeats=1, image_side=200,
              words=300, hidden=(64, 64), batch=16, rounds=1, repeats=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def counts_for(cpus: int, available_bytes: int | None = None) -> tuple[list[int], list[int]]:
    """``(counts, dropped)``: the sweep's worker counts for ``cpus`` usable CPUs, and those
    left out because the available memory would not hold that many workers."""
    if available_bytes is None:
        available_bytes = psutil.virtual_memory().available
    fits = max(2, available_bytes // MEMORY_PER_WORKER_BYTES)
    counts = worker_counts(cpus)
    return [n for n in counts if n <= fits], [n for n in counts if n > fits]


def missing_module(name: str) -> str | None:
    """Why ``name`` cannot be imported here (one line), or None when it can.

    Called when the module is about to be used, not before: importing Ray loads native
    libraries this process would otherwise carry through the CPU-bound sweep.
    """
    if importlib.util.find_spec(name) is None:
        return f"{name} is not installed for this interpreter"
    try:
        importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any failure to import means "absent"
        return f"import {name} failed ({exc.__class__.__name__}: {str(exc)[:120]})"
    return None


def interpreter() -> dict[str, Any]:
    """Which interpreter ran the sweep, so a line per interpreter can be labelled."""
    return {
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": machine.gil_enabled(),
    }


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run the sweep and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say, cpus = machine_setup.say, machine_setup.cpus
    counts, dropped = counts_for(cpus)
    result = Result(experiment=NAME, quick=quick)
    absent: dict[str, str] = {}
    result.values.update(interpreter())
    result.values.update(absent_modules=absent, skipped=[], agree={},
                         memory_dropped_counts=dropped)
    result.parameters.update(
        usable_cpus=cpus, counts=counts, oversubscribed=oversubscribed(counts, cpus),
        start_method=machine_setup.start_method, worker_start_method=a002.worker_method(),
        cpu_total_s=size.cpu_total_s, cpu_tasks_per_worker=size.cpu_tasks_per_worker,
        image_side=size.image_side, words=size.words, hidden=list(size.hidden),
        batch=size.batch, rounds=size.rounds, tasks_per_round=max(counts),
        repeats=size.repeats, cpu_repeats=size.cpu_repeats,
    )
    # Fork-based pools first, while this process runs no Ray threads.
    _cpu(result, size, counts, machine_setup.context, say)
    context = multiprocessing.get_context(a002.worker_method())
    say(f"starting the {context.get_start_method()} server")
    a002.start_worker_server(context)  # before Ray: nothing is forked from a Ray process
    for module in ("ray", "scipy"):
        if (why := missing_module(module)) is not None:
            absent[module] = why
    with contextlib.ExitStack() as stack:
        ray = None
        if "ray" in absent:
            _skip(result, ARTICLE_WORKLOADS, ("ray",), absent["ray"])
        else:
            ray = stack.enter_context(_ray(counts, say))
            result.parameters.update(describe(ray))
        sweep = Sweep(result, size, counts, context, ray, say)
        if "scipy" in absent or a002.scipy is None:
            absent.setdefault("scipy", "scipy.signal could not be imported")
            _skip(result, ("numerical",), ARTICLE_VERSIONS, absent["scipy"])
        else:
            sweep.numerical()
        sweep.stateful()
        sweep.initialisation()
    return result


def _skip(result: Result, workloads: tuple[str, ...], versions: tuple[str, ...],
          reason: str) -> None:
    """Record every (workload, version) not run, once, with the first reason found."""
    skipped = result.values["skipped"]
    done = {(entry["workload"], entry["version"]) for entry in skipped}
    for workload in workloads:
        for version in versions:
            if (workload, version) not in done:
                skipped.append({"workload": workload, "version": version, "reason": reason})


@contextlib.contextmanager
def _ray(counts: list[int], say: Callable[[str], None]) -> Any:
    say("starting Ray")
    # As many CPUs as the largest worker count, so that Ray itself holds no task back.
    with one_blas_thread(), ray_session(
            num_cpus=None if cluster_address() else max(counts)) as ray:
        yield ray


def _add(result: Result, workload: str, samples: dict[str, list[float]], workers: int
         ) -> None:
    for version, version_samples in samples.items():
        result.add(GROUP, {"workload": workload, "version": version, "workers": workers},
                   version_samples)


def _cpu(result: Result, size: Sizes, counts: list[int], context: Any,
         say: Callable[[str], None]) -> None:
    """The CPU-bound job on a process pool and a thread pool of every size, all timed
    round-robin (each repeat runs every size in turn), so that a machine that speeds up or
    slows down during the sweep shifts every point alike, not one."""
    rate = calibrate()
    total = iterations_for(size.cpu_total_s, rate)
    result.values["burn_iterations_per_s"] = rate
    result.parameters["cpu_total_iterations"] = total
    say(f"CPU-bound: process and thread pools of {spoken_list(counts)} workers")
    with contextlib.ExitStack() as stack:
        versions = {}
        for workers in counts:
            tasks = work.split_work(total, workers, size.cpu_tasks_per_worker)
            pool = stack.enter_context(work.started_pool(context, workers))
            executor = stack.enter_context(ThreadPoolExecutor(max_workers=workers))
            versions[("processes", workers)] = Version(
                lambda _r, p=pool, t=tasks: work.on_processes(p, t))
            versions[("threads", workers)] = Version(
                lambda _r, e=executor, t=tasks: work.on_threads(e, t))
        samples, outputs = time_versions(versions, 1, size.cpu_repeats)
    for (version, workers), version_samples in samples.items():
        result.add(GROUP, {"workload": "cpu", "version": version, "workers": workers},
                   version_samples)
    result.values["agree"]["cpu"] = all(
        outputs[("processes", n)] == outputs[("threads", n)] for n in counts)


class Sweep:
    """Article 002's three workloads over the worker counts, three versions each."""

    def __init__(self, result: Result, size: Sizes, counts: list[int], context: Any,
                 ray: Any, say: Callable[[str], None]) -> None:
        self.result, self.size, self.counts = result, size, counts
        self.context, self.ray, self.say = context, ray, say
        self.per_round = max(counts)

    def _time(self, workload: str, workers: int, versions: dict[str, Version],
              same: Callable[[Any, Any], bool]) -> bool:
        if self.ray is None:
            versions.pop("ray", None)
        samples, outputs = time_versions(versions, self.size.rounds, self.size.repeats)
        _add(self.result, workload, samples, workers)
        reference = outputs["naive_mp"]
        return all(same(output, reference) for output in outputs.values())

    def _record(self, workload: str, agreed: list[bool]) -> None:
        self.result.values["agree"][workload] = all(agreed)

    def numerical(self) -> None:
        size, ray = self.size, self.ray
        image, filters = a002.make_image(size.image_side), a002.make_filters(self.per_round)
        if ray is not None:
            self.say(f"numerical: starting {self.per_round} Ray workers")
            work.start_ray_workers(ray, self.per_round)
        agreed = []
        for workers in self.counts:
            self.say(f"numerical: {size.image_side}x{size.image_side} image, "
                     f"{len(filters)} filters a round, {workers} workers")
            with a002.SharedArray(image.shape, image.dtype) as shared, \
                    a002.ready_pool(self.context, workers) as (plain, _), \
                    a002.ready_pool(self.context, workers, a002.attach_image,
                                    (shared,)) as (fair, _):
                versions = {
                    "naive_mp": Version(lambda r, p=plain: a002.numerical_naive(
                        p, image, filters, r)),
                    "fair_mp": Version(lambda r, p=fair, s=shared: a002.numerical_fair(
                        p, s, image, filters, r)),
                    "ray": Version(lambda r, n=workers: work.numerical_ray_on(
                        ray, image, filters, r, n)),
                }
                agreed.append(self._time("numerical", workers, versions, lambda a, b: (
                    math.isclose(a002.checksum(a), a002.checksum(b), rel_tol=1e-9))))
        self._record("numerical", agreed)

    def stateful(self) -> None:
        size, ray = self.size, self.ray
        documents = a002.make_documents(self.per_round * size.rounds, size.words)

        def first(rounds: int) -> list[list[bytes]]:
            return documents[:rounds * self.per_round]

        agreed = []
        with contextlib.ExitStack() as stack:
            actors: list[Any] = []
            if ray is not None:
                stack.callback(a002.kill_actors, ray, actors)
                self.say(f"stateful: starting {max(self.counts)} counting actors")
                actors += a002.counting_actors(ray, max(self.counts))
            for workers in self.counts:
                self.say(f"stateful: {len(documents)} documents of {size.words} words, "
                         f"{workers} counters")
                with a002.ready_pool(self.context, workers) as (plain, _), \
                        a002.CountingWorkers(self.context, workers) as counting:
                    mine = actors[:workers]
                    versions = {
                        "naive_mp": Version(lambda r, p=plain, n=workers: a002.stateful_naive(
                            p, n, first(r), [])),
                        "fair_mp": Version(
                            lambda r, c=counting: a002.stateful_fair(c, first(r)),
                            prepare=lambda c=counting: c.ask_all("reset")),
                        "ray": Version(
                            lambda r, m=mine: a002.stateful_ray(ray, m, first(r)),
                            prepare=lambda m=mine: ray.get(
                                [actor.reset.remote() for actor in m], timeout=a002.WAIT_S)),
                    }
                    agreed.append(self._time("stateful", workers, versions,
                                             lambda a, b: a == b))
        self._record("stateful", agreed)

    def initialisation(self) -> None:
        size, ray = self.size, self.ray
        folder = Path(tempfile.mkdtemp(prefix="parbook-scaling-model-"))
        try:
            path = folder / "model.npz"
            self.say(f"initialisation: saving a model with hidden layers {size.hidden}")
            self.result.values["model_parameters"] = a002.save_model(path, size.hidden)
            self.result.values["model_file_bytes"] = a002.model_bytes(path)
            batches = a002.make_batches(self.per_round * size.rounds, size.batch)

            def first(rounds: int) -> list[Any]:
                return batches[:rounds * self.per_round]

            agreed = []
            with contextlib.ExitStack() as stack:
                actors: list[Any] = []
                if ray is not None:
                    stack.callback(a002.kill_actors, ray, actors)
                    self.say(f"initialisation: starting {max(self.counts)} model actors")
                    actors += a002.classifier_actors(ray, max(self.counts), path)
                for workers in self.counts:
                    self.say(f"initialisation: {len(batches)} batches of {size.batch}, "
                             f"{workers} workers")
                    with a002.ready_pool(self.context, workers) as (plain, _), \
                            a002.ready_pool(self.context, workers, a002.load_into_worker,
                                            (str(path),)) as (loaded, _):
                        mine = actors[:workers]
                        versions = {
                            "naive_mp": Version(lambda r, p=plain, n=workers: a002.model_naive(
                                p, path, first(r), n)),
                            "fair_mp": Version(lambda r, p=loaded, n=workers: a002.model_fair(
                                p, first(r), n)),
                            "ray": Version(lambda r, m=mine: a002.model_ray(ray, m, first(r))),
                        }
                        agreed.append(self._time("initialisation", workers, versions, lambda a, b: (
                            a002.agreement(a, b) >= LABELS_AGREE_FROM)))
            self._record("initialisation", agreed)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
