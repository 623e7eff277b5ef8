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
import math
import multiprocessing
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from parbook import sources
from parbook.bench.measure import time_once
from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.ray_vs_multiprocessing import model as model_work
from parbook.chapters.ray_vs_multiprocessing import stateful as stateful_work
from parbook.chapters.ray_vs_multiprocessing import workload as work
from parbook.render.formatting import format_ratio, format_seconds
from parbook.render.tables import time_cell
from parbook.shared import run_setup
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
#: Which start-up costs each version pays (``ray_init`` is Ray's, once).
STARTUP_OF = {
    "serial": ("serial_model",),
    "naive_mp": ("plain_pool",),
    "fair_mp": ("image_pool", "counting_workers", "model_pool"),
    "ray": ("ray_init", "counting_actors", "model_actors"),
}
#: The article ran every workload for 10 rounds on 48 workers.
ARTICLE_ROUNDS = 10
#: Memory a worker may need at the peak (a copy of the image and its convolution, or
#: three copies of the model while pools and actors coexist): pools are never sized
#: above what the machine's available memory allows at this rate.
MEMORY_PER_WORKER_BYTES = 1024**3
#: Two times within this factor are called level.
LEVEL = 1.1


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


@dataclass
class Version:
    """One version of a workload: ``run(rounds)`` is timed, ``prepare()`` is not."""

    run: Callable[[int], Any]
    prepare: Callable[[], None] = field(default=lambda: None)


def time_versions(versions: dict[str, Version], rounds: int, repeats: int
                  ) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Time every version ``repeats`` times, round-robin; return samples and last outputs.

    One warm-up run of one round per version comes first and is discarded: it pays for
    first calls (imports in Ray's workers, page faults in fresh mappings).
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
        word_bytes=stateful_work.WORD_BYTES,
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
            with startup.timing("ray_init"), work.one_blas_thread():
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


def _add_runs(result: Result, workload: str, workers: int, rounds: int,
              samples: dict[str, list[float]]) -> None:
    for version, version_samples in samples.items():
        params = {"workload": workload, "version": version, "workers": workers,
                  "rounds": rounds}
        result.add("runs", params, version_samples)


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
    _add_runs(result, "numerical", workers, rounds, samples)
    result.values["agree"]["numerical"] = all(
        math.isclose(value, sums["serial"], rel_tol=1e-9) for value in sums.values())
    result.values["image_bytes"] = image.nbytes


def _stateful(result: Result, size: Sizes, workers: int, context: Any, plain_pool: Any,
              ray: Any, startup: Startup, say: Callable[[str], None]) -> None:
    rounds = size.stateful_rounds
    documents = stateful_work.make_documents(workers * rounds, size.words)
    say(f"stateful: {len(documents)} documents of {size.words} words on {workers} counters")

    def first(r: int) -> list[list[bytes]]:
        return documents[:r * workers]

    serial_counters: list[stateful_work.StreamingPrefixCount] = []
    naive_states: list[Any] = []
    actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        with startup.timing("counting_workers"):
            counting = stack.enter_context(stateful_work.CountingWorkers(context, workers))
        stack.callback(work.kill_actors, ray, actors)
        with startup.timing("counting_actors"):
            actors += stateful_work.counting_actors(ray, workers)

        def fresh_counters() -> None:
            serial_counters[:] = [stateful_work.StreamingPrefixCount() for _ in range(workers)]

        def reset_workers() -> None:
            counting.ask_all("reset")

        def reset_actors() -> None:
            ray.get([actor.reset.remote() for actor in actors], timeout=work.WAIT_S)

        versions = {
            "serial": Version(lambda r: stateful_work.stateful_serial(serial_counters, first(r)),
                              prepare=fresh_counters),
            "naive_mp": Version(lambda r: stateful_work.stateful_naive(
                plain_pool, workers, first(r), naive_states)),
            "fair_mp": Version(lambda r: stateful_work.stateful_fair(counting, first(r)),
                               prepare=reset_workers),
            "ray": Version(lambda r: stateful_work.stateful_ray(ray, actors, first(r)),
                           prepare=reset_actors),
        }
        samples, outputs = time_versions(versions, rounds, size.repeats)
    _add_runs(result, "stateful", workers, rounds, samples)
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
    parameters = model_work.save_model(path, size.hidden)
    result.values["model"] = {
        "parameters": parameters,
        "memory_bytes": parameters * 4,
        "file_bytes": model_work.model_bytes(path),
        "save_s": time.perf_counter() - began,
    }
    result.add("model_load", {}, [model_work.timed_load(path) for _ in range(size.load_repeats)])
    rounds = size.model_rounds
    batches = model_work.make_batches(workers * rounds, size.batch)

    def first(r: int) -> list[Any]:
        return batches[:r * workers]

    actors: list[Any] = []
    with contextlib.ExitStack() as stack:
        with startup.timing("serial_model"):
            model = model_work.load_model(path)
        with startup.timing("model_pool"):
            model_pool, pool_threads = stack.enter_context(
                work.ready_pool(context, workers, model_work.load_into_worker, (str(path),)))
        stack.callback(work.kill_actors, ray, actors)
        with startup.timing("model_actors"):
            actors += model_work.classifier_actors(ray, workers, path)
        actor_threads = ray.get([actor.ready.remote() for actor in actors], timeout=work.WAIT_S)
        say(f"initialisation: {len(batches)} batches of {size.batch}, {rounds} rounds")
        versions = {
            "serial": Version(lambda r: model_work.model_serial(model, first(r))),
            "naive_mp": Version(lambda r: model_work.model_naive(plain_pool, path, first(r),
                                                                 workers)),
            "fair_mp": Version(lambda r: model_work.model_fair(model_pool, first(r), workers)),
            "ray": Version(lambda r: model_work.model_ray(ray, actors, first(r))),
        }
        samples, outputs = time_versions(versions, rounds, size.repeats)
    _add_runs(result, "initialisation", workers, rounds, samples)
    result.values["agree"]["initialisation"] = min(
        model_work.agreement(labels, outputs["serial"]) for labels in outputs.values())
    result.values["threads"]["model_pool_worker"] = max(pool_threads)
    result.values["threads"]["ray_actor"] = max(actor_threads)


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def article_figures() -> dict[str, dict[str, float]]:
    """The article's seconds per workload and version (``serial``, ``naive_mp``, ``ray``)."""
    table = sources.RAY_VS_MP_TABLE
    figures: dict[str, dict[str, float]] = {}
    for row in table.rows:
        figures.setdefault(row["workload"], {})[row["version"]] = row["value"]
    return figures


def claim_bounds() -> dict[str, tuple[float, float]]:
    """The article's overall claim: Ray's speed-up over ``serial`` and over ``naive_mp``."""
    bounds: dict[str, dict[str, float]] = {}
    for row in sources.RAY_VS_MP_CLAIM.rows:
        bounds.setdefault(row["versus"], {})[row["bound"]] = row["value"]
    return {versus: (b["low"], b["high"]) for versus, b in bounds.items()}


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    params = result.parameters
    times = {w: {v: result.median("runs", workload=w, version=v) for v in VERSION_LABELS}
             for w in WORKLOAD_LABELS}
    startup = {c.params["what"]: c.samples[0] for c in result.group("startup")}
    article = article_figures()
    workers = params["workers"]
    image_bytes = result.values["image_bytes"]
    model = result.values["model"]
    numerical_rounds = params["numerical_rounds"]
    with_startup = {
        version: sum(times[w][version] for w in WORKLOAD_LABELS)
        + sum(startup.get(what, 0.0) for what in STARTUP_OF[version])
        for version in VERSION_LABELS
    }
    return {
        "cpus": params["usable_cpus"],
        "workers": workers,
        "memory_capped": workers < params["usable_cpus"],
        "default_start_method": params["default_start_method"],
        "worker_start_method": params["worker_start_method"],
        "ray_address": params.get("ray_address", "local"),
        "times": times,
        "speedup": {w: {v: times[w]["serial"] / times[w][v] for v in VERSION_LABELS}
                    for w in WORKLOAD_LABELS},
        "ray_over_naive": {w: times[w]["naive_mp"] / times[w]["ray"] for w in WORKLOAD_LABELS},
        "ray_over_fair": {w: times[w]["fair_mp"] / times[w]["ray"] for w in WORKLOAD_LABELS},
        "fair_over_naive": {w: times[w]["naive_mp"] / times[w]["fair_mp"]
                            for w in WORKLOAD_LABELS},
        "article": article,
        "article_ray_speedup": {w: a["serial"] / a["ray"] for w, a in article.items()},
        "article_ray_over_mp": {w: a["naive_mp"] / a["ray"] for w, a in article.items()},
        "article_mp_speedup": {w: a["serial"] / a["naive_mp"] for w, a in article.items()},
        "claim": claim_bounds(),
        "startup": startup,
        "with_startup": with_startup,
        "agree": result.values["agree"],
        "threads": result.values["threads"],
        # Numerical: what the naive version pickled, per task and per round.
        "image_side": params["image_side"],
        "image_bytes": image_bytes,
        "naive_bytes_per_round": image_bytes * workers,
        "numerical_rounds": numerical_rounds,
        "handover_per_task": max(0.0, times["numerical"]["naive_mp"]
                                 - times["numerical"]["fair_mp"]) / (numerical_rounds * workers),
        # Stateful.
        "documents": workers * params["stateful_rounds"],
        "stateful_rounds": params["stateful_rounds"],
        "words": params["words"],
        "word_bytes": params["word_bytes"],
        "popular_prefixes": result.values["popular_prefixes"],
        "state_entries": result.values["state_entries"],
        "state_bytes": result.values["state_bytes"],
        # Initialisation.
        "model_parameters": model["parameters"],
        "model_memory_bytes": model["memory_bytes"],
        "model_file_bytes": model["file_bytes"],
        "model_save_s": model["save_s"],
        "model_load_s": result.median("model_load"),
        "layers": [model_work.INPUTS, *params["hidden"], model_work.CLASSES],
        "batch": params["batch"],
        "model_rounds": params["model_rounds"],
        "batches": workers * params["model_rounds"],
        "naive_loads": workers * params["model_rounds"],
        "repeats": params["repeats"],
    }


def _comparison(subject: str, subject_s: float, other: str, other_s: float) -> str:
    """A sentence comparing two times measured side by side."""
    ratio = other_s / subject_s
    if ratio >= LEVEL:
        return f"{subject} was {format_ratio(ratio)} faster than {other}"
    if ratio <= 1 / LEVEL:
        return f"{other} was {format_ratio(1 / ratio)} faster than {subject}"
    return (f"{subject} and {other} were level ({format_seconds(subject_s)} against "
            f"{format_seconds(other_s)})")


def _listed(ratios: list[float]) -> str:
    return ", ".join(format_ratio(r) for r in ratios)


def verdicts(found: dict[str, Any]) -> dict[str, str]:
    """Sentences whose wording depends on what this build measured."""
    times, text = found["times"], {}
    for w in WORKLOAD_LABELS:
        t = times[w]
        text[f"{w}_ray_vs_fair"] = _comparison("Ray", t["ray"],
                                               "the fair multiprocessing version", t["fair_mp"])
        text[f"{w}_fair_vs_naive"] = _comparison("the fair version", t["fair_mp"],
                                                 "the article's", t["naive_mp"])
    cpus = found["cpus"]
    low, high = found["claim"]["serial"]
    ray_speedups = [found["speedup"][w]["ray"] for w in WORKLOAD_LABELS]
    listed = _listed(ray_speedups)
    first = f"The first part (Ray {low:g}–{high:g}× faster than serial code)"
    if all(s >= low for s in ray_speedups):
        text["claim_serial"] = (f"{first} holds here: Ray's speed-ups over serial code were "
                                f"{listed} in the three workloads")
    elif any(s >= low for s in ray_speedups):
        text["claim_serial"] = (f"{first} holds here only in part: Ray's speed-ups over "
                                f"serial code were {listed} in the three workloads")
    else:
        reason = (f"with {cpus} usable CPUs, no version of CPU-bound work can run much more "
                  f"than {cpus}× faster than one process, whatever carries the work"
                  if cpus < low else
                  "Ray's overheads and the serial version's efficiency left less to gain")
        text["claim_serial"] = (f"{first} does not hold here: Ray's speed-ups over serial "
                                f"code were {listed} in the three workloads; {reason}")
    low, high = found["claim"]["naive_mp"]
    over_naive = [found["ray_over_naive"][w] for w in WORKLOAD_LABELS]
    over_fair = [found["ray_over_fair"][w] for w in WORKLOAD_LABELS]
    if all(s >= low for s in over_naive):
        verdict = "holds here"
    elif any(s >= low for s in over_naive):
        verdict = "holds here only in part"
    else:
        verdict = "does not hold here"
    text["claim_mp"] = (f"The second part (Ray {low:g}–{high:g}× faster than multiprocessing) "
                        f"{verdict} against the article's own multiprocessing code, which "
                        f"took {_listed(over_naive)} as long as Ray in the three workloads")
    fair_listed = _listed(over_fair)
    if all(s <= LEVEL for s in over_fair):
        text["claim_fair"] = (f"The fair versions took {fair_listed} as long as Ray: level "
                              "with it or ahead")
    elif all(s >= low for s in over_fair):
        text["claim_fair"] = (f"Even the fair versions took {fair_listed} as long as Ray, "
                              "inside the article's range")
    else:
        text["claim_fair"] = (f"The fair versions took {fair_listed} as long as Ray, against "
                              f"{_listed(over_naive)} for the article's code")
    totals = found["with_startup"]
    text["with_startup"] = (
        f"Counting every start-up cost once, as a one-off job pays it, the three workloads "
        f"together took {format_seconds(totals['serial'])} serially, "
        f"{format_seconds(totals['naive_mp'])} with the article's multiprocessing code, "
        f"{format_seconds(totals['fair_mp'])} with the fair versions and "
        f"{format_seconds(totals['ray'])} with Ray")
    return text


def version_table(result: Result, workload: str) -> pd.DataFrame:
    """One workload: each version's median time and its speed-up over serial."""
    serial = result.median("runs", workload=workload, version="serial")
    rows = []
    for version, label in VERSION_LABELS.items():
        summary = summarize(next(c.samples for c in result.group("runs")
                                 if c.params["workload"] == workload
                                 and c.params["version"] == version))
        rows.append({"version": label, "time": time_cell(summary),
                     "speed-up over serial": format_ratio(serial / summary.median)})
    return pd.DataFrame(rows)


def article_table(result: Result) -> pd.DataFrame:
    """Every workload and version: this build's time and speed-up beside the article's."""
    found = findings(result)
    article = found["article"]
    machine = sources.RAY_VS_MP_TABLE.machine
    ours_time = f"this build ({found['workers']} workers): time"
    ours_speed = f"this build ({found['workers']} workers): × serial"
    theirs_time = f"article 002 ({machine}): time"
    theirs_speed = f"article 002 ({machine}): × serial"
    rows = []
    for w, w_label in WORKLOAD_LABELS.items():
        for v, v_label in VERSION_LABELS.items():
            reported = article[w].get(v)
            rows.append({
                "workload": w_label,
                "version": v_label,
                ours_time: format_seconds(found["times"][w][v]),
                ours_speed: format_ratio(found["speedup"][w][v]),
                theirs_time: "–" if reported is None else format_seconds(reported),
                theirs_speed: "–" if reported is None
                else format_ratio(article[w]["serial"] / reported),
            })
    return pd.DataFrame(rows).set_index(["workload", "version"])


def startup_table(result: Result) -> pd.DataFrame:
    """Every one-off cost kept out of the timed runs."""
    rows = [{"what": STARTUP_LABELS[c.params["what"]], "time": format_seconds(c.samples[0])}
            for c in result.group("startup")]
    return pd.DataFrame(rows)


def speedup_figure(found: dict[str, Any]) -> Any:
    """Grouped bars: per workload, each version's speed-up over serial (this build).

    The axis is logarithmic, so a version ten times slower than serial is as visible as
    one ten times faster.
    """
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
    width = 0.2
    every = [s for speedups in found["speedup"].values() for s in speedups.values()]
    for index, (version, label) in enumerate(VERSION_LABELS.items()):
        positions = [group + (index - 1.5) * width for group in range(len(WORKLOAD_LABELS))]
        values = [found["speedup"][w][version] for w in WORKLOAD_LABELS]
        bars = axes.bar(positions, values, width, label=label)
        axes.bar_label(bars, labels=[f"{v:.2g}×" for v in values], fontsize="x-small",
                       padding=2)
    axes.axhline(found["workers"], color="0.5", linestyle="--", linewidth=1,
                 label=f"ideal ({found['workers']} workers)")
    axes.set_yscale("log")
    axes.set_ylim(min(every) / 2, max(max(every), found["workers"]) * 2.5)
    axes.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    axes.set_xticks(range(len(WORKLOAD_LABELS)), list(WORKLOAD_LABELS.values()),
                    fontsize="small")
    axes.set_ylabel("speed-up over serial (log scale)")
    axes.set_title(f"Four versions of each workload on {found['workers']} workers, this build")
    axes.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return figure
