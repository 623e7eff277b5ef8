"""What the Ray-against-multiprocessing chapter concludes from one result: findings per
section, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.ray_vs_multiprocessing.experiment import VERSION_LABELS
from parbook.chapters.ray_vs_multiprocessing.model import CLASSES, INPUTS
from parbook.render.formatting import format_ratio, format_seconds

#: Two times within this factor of each other are called level.
LEVEL = 1.1
#: Which start-up costs each version pays when a job is run once (``ray_init`` is Ray's,
#: once for all three workloads; the plain pool serves every naive version).
STARTUP_OF = {
    "serial": ("serial_model",),
    "naive_mp": ("plain_pool",),
    "fair_mp": ("image_pool", "counting_workers", "model_pool"),
    "ray": ("ray_init", "counting_actors", "model_actors"),
}


@dataclass(frozen=True)
class Method:
    """How the four versions were run: workers, start methods, repeats."""

    cpus: int
    workers: int
    default_start_method: str
    worker_start_method: str
    repeats: int
    ray_address: str

    @property
    def memory_capped(self) -> bool:
        """True when the available memory allowed fewer workers than usable CPUs."""
        return self.workers < self.cpus


@dataclass(frozen=True)
class VersionTimes:
    """Median seconds for one workload's whole job, each version timed side by side."""

    serial: float
    naive_mp: float
    fair_mp: float
    ray: float

    def time(self, version: str) -> float:
        """The median of ``version`` (a key of ``VERSION_LABELS``)."""
        return getattr(self, version)

    def speedup(self, version: str) -> float:
        """How many times faster than serial ``version`` ran."""
        return self.serial / self.time(version)

    @property
    def fair_over_naive(self) -> float:
        """How many times faster the fair multiprocessing version was than the article's."""
        return self.naive_mp / self.fair_mp

    @property
    def ray_over_fair(self) -> float:
        """The fair version's time as a multiple of Ray's."""
        return self.fair_mp / self.ray

    @property
    def ray_over_naive(self) -> float:
        """The article's multiprocessing time as a multiple of Ray's."""
        return self.naive_mp / self.ray


@dataclass(frozen=True)
class Numerical:
    """One large image, one convolution filter per worker, several rounds."""

    times: VersionTimes
    image_side: int
    image_bytes: int
    rounds: int
    workers: int
    agree: bool

    @property
    def naive_bytes_per_round(self) -> int:
        """What the article's version pickles per round: the image once per task."""
        return self.image_bytes * self.workers

    @property
    def handover_per_task(self) -> float:
        """What the naive version paid beyond the fair one, per task (never negative)."""
        extra = max(0.0, self.times.naive_mp - self.times.fair_mp)
        return extra / (self.rounds * self.workers)


@dataclass(frozen=True)
class Stateful:
    """Prefix counters fed documents round after round."""

    times: VersionTimes
    documents: int
    rounds: int
    words: int
    word_bytes: int
    popular_prefixes: int
    state_entries: int
    state_bytes: int
    agree: bool


@dataclass(frozen=True)
class Initialisation:
    """A model loaded from disk, then batches classified with it."""

    times: VersionTimes
    layers: tuple[int, ...]
    parameters: int
    memory_bytes: int
    file_bytes: int
    save_s: float
    load_s: float
    batch: int
    rounds: int
    batches: int
    threads_parent: int
    threads_worker: int
    agreement: float

    @property
    def naive_loads(self) -> int:
        """How often the article's version loads the model: once per task, one per batch."""
        return self.batches


@dataclass(frozen=True)
class Startup:
    """One-off costs kept out of the timed runs, each measured once."""

    costs: dict[str, float]  # what (a key of STARTUP_LABELS) -> seconds


@dataclass(frozen=True)
class ArticleWorkload:
    """Article 002's single figures for one workload (it had no fair version)."""

    serial: float
    naive_mp: float
    ray: float

    def time(self, version: str) -> float | None:
        """The article's seconds for ``version``, None for a version it did not run."""
        return getattr(self, version, None)

    @property
    def ray_speedup(self) -> float:
        """Ray's speed-up over serial code on the article's machine."""
        return self.serial / self.ray

    @property
    def ray_over_mp(self) -> float:
        """The article's multiprocessing time as a multiple of its Ray time."""
        return self.naive_mp / self.ray

    @property
    def mp_speedup(self) -> float:
        """The article's multiprocessing speed-up over serial code."""
        return self.serial / self.naive_mp


@dataclass(frozen=True)
class Article:
    """Article 002: its machine, rounds, figures per workload and its overall claim."""

    machine: str
    rounds: int
    workloads: dict[str, ArticleWorkload]
    claim: dict[str, tuple[float, float]]  # "serial" | "naive_mp" -> Ray's speed-up range


@dataclass(frozen=True)
class Findings:
    """Everything the page says, one dataclass per section it comes from."""

    method: Method
    numerical: Numerical
    stateful: Stateful
    initialisation: Initialisation
    startup: Startup
    article: Article

    @property
    def times(self) -> dict[str, VersionTimes]:
        """Each workload's version times, in the order of ``WORKLOAD_LABELS``."""
        return {"numerical": self.numerical.times, "stateful": self.stateful.times,
                "initialisation": self.initialisation.times}

    @property
    def with_startup(self) -> dict[str, float]:
        """Each version's time for all three workloads plus every start-up cost it pays."""
        return {version: sum(times.time(version) for times in self.times.values())
                + sum(self.startup.costs.get(what, 0.0) for what in STARTUP_OF[version])
                for version in VERSION_LABELS}


def article_figures() -> dict[str, ArticleWorkload]:
    """The article's seconds per workload, for ``serial``, ``naive_mp`` and ``ray``."""
    figures: dict[str, dict[str, float]] = {}
    for row in sources.RAY_VS_MP_TABLE.rows:
        figures.setdefault(row["workload"], {})[row["version"]] = row["value"]
    return {workload: ArticleWorkload(**versions) for workload, versions in figures.items()}


def claim_bounds() -> dict[str, tuple[float, float]]:
    """The article's overall claim: Ray's speed-up over ``serial`` and over ``naive_mp``."""
    bounds: dict[str, dict[str, float]] = {}
    for row in sources.RAY_VS_MP_CLAIM.rows:
        bounds.setdefault(row["versus"], {})[row["bound"]] = row["value"]
    return {versus: (b["low"], b["high"]) for versus, b in bounds.items()}


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    params, values = result.parameters, result.values
    workers = params["workers"]

    def times(workload: str) -> VersionTimes:
        return VersionTimes(**{version: result.median("runs", workload=workload,
                                                      version=version)
                               for version in VERSION_LABELS})

    model = values["model"]
    return Findings(
        method=Method(
            cpus=params["usable_cpus"], workers=workers,
            default_start_method=params["default_start_method"],
            worker_start_method=params["worker_start_method"], repeats=params["repeats"],
            ray_address=params.get("ray_address", "local"),
        ),
        numerical=Numerical(
            times=times("numerical"), image_side=params["image_side"],
            image_bytes=values["image_bytes"], rounds=params["numerical_rounds"],
            workers=workers, agree=values["agree"]["numerical"],
        ),
        stateful=Stateful(
            times=times("stateful"), documents=workers * params["stateful_rounds"],
            rounds=params["stateful_rounds"], words=params["words"],
            word_bytes=params["word_bytes"], popular_prefixes=values["popular_prefixes"],
            state_entries=values["state_entries"], state_bytes=values["state_bytes"],
            agree=values["agree"]["stateful"],
        ),
        initialisation=Initialisation(
            times=times("initialisation"),
            layers=(INPUTS, *params["hidden"], CLASSES),
            parameters=model["parameters"], memory_bytes=model["memory_bytes"],
            file_bytes=model["file_bytes"], save_s=model["save_s"],
            load_s=result.median("model_load"), batch=params["batch"],
            rounds=params["model_rounds"], batches=workers * params["model_rounds"],
            threads_parent=values["threads"]["experiment_process"],
            threads_worker=values["threads"]["model_pool_worker"],
            agreement=values["agree"]["initialisation"],
        ),
        startup=Startup(costs={case.params["what"]: case.samples[0]
                               for case in result.group("startup")}),
        article=Article(machine=sources.RAY_VS_MP_TABLE.machine,
                        rounds=params["article_rounds"], workloads=article_figures(),
                        claim=claim_bounds()),
    )


# --- sentences chosen by the data -----------------------------------------------------------

def workers_why(method: Method) -> str:
    """Why the parallel versions have the number of workers they have."""
    if method.memory_capped:
        return "fewer than the usable CPUs: the available memory allows no more"
    return "one per usable CPU"


def worker_method_note(method: Method) -> str:
    """What the workers' start method means for what each worker loads."""
    if method.worker_start_method == "forkserver":
        return "forked from a server process that imported numpy and scipy once"
    return "each a fresh interpreter"


def repeats_phrase(method: Method) -> str:
    """What each table's time is: a median, or one run in a quick build."""
    if method.repeats > 1:
        return f"the median of {method.repeats} runs"
    return "a single run (this is a quick build)"


def comparison(subject: str, subject_s: float, other: str, other_s: float) -> str:
    """A clause comparing two times measured side by side: who was faster, or level."""
    ratio = other_s / subject_s
    if ratio >= LEVEL:
        return f"{subject} was {format_ratio(ratio)} faster than {other}"
    if ratio <= 1 / LEVEL:
        return f"{other} was {format_ratio(1 / ratio)} faster than {subject}"
    return (f"{subject} and {other} were level ({format_seconds(subject_s)} against "
            f"{format_seconds(other_s)})")


def ray_vs_fair(times: VersionTimes) -> str:
    """Ray against the fair multiprocessing version of one workload."""
    return comparison("Ray", times.ray, "the fair multiprocessing version", times.fair_mp)


def fair_vs_naive(times: VersionTimes) -> str:
    """The fair multiprocessing version against the article's, for one workload."""
    return comparison("the fair version", times.fair_mp, "the article's", times.naive_mp)


def claim_serial_verdict(found: Findings) -> str:
    """Whether the first part of the article's claim (Ray against serial code) held here."""
    low, high = found.article.claim["serial"]
    ray_speedups = [times.speedup("ray") for times in found.times.values()]
    listed = _listed(ray_speedups)
    first = f"The first part (Ray {claim_range(low, high)} faster than serial code)"
    if all(speedup >= low for speedup in ray_speedups):
        return (f"{first} holds here: Ray's speed-ups over serial code were {listed} in the "
                "three workloads")
    if any(speedup >= low for speedup in ray_speedups):
        return (f"{first} holds here only in part: Ray's speed-ups over serial code were "
                f"{listed} in the three workloads")
    return (f"{first} does not hold here: Ray's speed-ups over serial code were {listed} in "
            f"the three workloads; {short_of_serial_claim(found.method.cpus, low)}")


def short_of_serial_claim(cpus: int, low: float) -> str:
    """Why Ray fell short of the article's speed-up over serial code on this machine."""
    if cpus < low:
        return (f"with {cpus} usable CPUs, no version of CPU-bound work can run much more "
                f"than {cpus}× faster than one process, whatever carries the work")
    return "Ray's overheads and the serial version's efficiency left less to gain"


def claim_mp_verdict(found: Findings) -> str:
    """Whether the second part of the article's claim (Ray against its multiprocessing
    code) held here."""
    low, high = found.article.claim["naive_mp"]
    over_naive = [times.ray_over_naive for times in found.times.values()]
    if all(ratio >= low for ratio in over_naive):
        verdict = "holds here"
    elif any(ratio >= low for ratio in over_naive):
        verdict = "holds here only in part"
    else:
        verdict = "does not hold here"
    return (f"The second part (Ray {claim_range(low, high)} faster than multiprocessing) "
            f"{verdict} against the article's own multiprocessing code, which took "
            f"{_listed(over_naive)} as long as Ray in the three workloads")


def claim_fair_verdict(found: Findings) -> str:
    """How the fair multiprocessing versions fared against Ray, next to the claim."""
    low, _high = found.article.claim["naive_mp"]
    over_fair = [times.ray_over_fair for times in found.times.values()]
    fair_listed = _listed(over_fair)
    if all(ratio <= LEVEL for ratio in over_fair):
        return f"The fair versions took {fair_listed} as long as Ray: level with it or ahead"
    if all(ratio >= low for ratio in over_fair):
        return (f"Even the fair versions took {fair_listed} as long as Ray, inside the "
                "article's range")
    over_naive = [times.ray_over_naive for times in found.times.values()]
    return (f"The fair versions took {fair_listed} as long as Ray, against "
            f"{_listed(over_naive)} for the article's code")


def with_startup_sentence(found: Findings) -> str:
    """The three workloads' total per version with every start-up cost counted once."""
    totals = {version: format_seconds(total) for version, total in found.with_startup.items()}
    return (f"Counting every start-up cost once, as a one-off job pays it, the three "
            f"workloads together took {totals['serial']} serially, {totals['naive_mp']} "
            f"with the article's multiprocessing code, {totals['fair_mp']} with the fair "
            f"versions and {totals['ray']} with Ray")


def _listed(ratios: list[float]) -> str:
    return ", ".join(format_ratio(ratio) for ratio in ratios)


def claim_range(low: float, high: float) -> str:
    """A speed-up range as the article stated it: ``10–30×``."""
    return f"{low:g}–{high:g}×"


def megabytes(count: float) -> str:
    """Bytes in decimal megabytes: ``2.9 MB``."""
    # TO MOVE: render.formatting (format_size speaks binary units, KiB and MiB)
    return f"{count / 1e6:,.1f} MB"


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page (and book/rules.md) glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    method, numerical, stateful, model = (found.method, found.numerical, found.stateful,
                                          found.initialisation)
    glued: dict[str, Any] = {
        "rvm_cpus": str(method.cpus),
        "rvm_ceiling": f"{method.cpus}×",
        "rvm_workers": str(method.workers),
        "rvm_workers_why": workers_why(method),
        "rvm_default_method": method.default_start_method,
        "rvm_worker_method": method.worker_start_method,
        "rvm_worker_method_note": worker_method_note(method),
        "rvm_repeats_phrase": repeats_phrase(method),
    }
    for workload, times in found.times.items():
        for version in VERSION_LABELS:
            glued[f"rvm_{workload}_{version}"] = seconds(times.time(version))
            glued[f"rvm_{workload}_{version}_speedup"] = ratio(times.speedup(version))
        glued[f"rvm_{workload}_fair_over_naive"] = ratio(times.fair_over_naive)
        glued[f"rvm_{workload}_ray_vs_fair"] = ray_vs_fair(times)
        glued[f"rvm_{workload}_fair_vs_naive"] = fair_vs_naive(times)
    glued.update({
        "rvm_claim_serial": claim_serial_verdict(found),
        "rvm_claim_mp": claim_mp_verdict(found),
        "rvm_claim_fair": claim_fair_verdict(found),
        "rvm_with_startup": with_startup_sentence(found),
    })

    # The article's figures, always labelled as the article's.
    article = found.article
    glued["rvm_article_machine"] = article.machine
    glued["rvm_article_rounds"] = str(article.rounds)
    for workload, figures in article.workloads.items():
        for version in ("serial", "naive_mp", "ray"):
            glued[f"rvm_article_{workload}_{version}"] = seconds(figures.time(version))
        glued[f"rvm_article_{workload}_ray_speedup"] = ratio(figures.ray_speedup)
        glued[f"rvm_article_{workload}_ray_over_mp"] = ratio(figures.ray_over_mp)
    for versus, (low, high) in article.claim.items():
        glued[f"rvm_claim_{versus}_range"] = claim_range(low, high)

    glued.update({
        # Numerical data.
        "rvm_image_side": f"{numerical.image_side:,}",
        "rvm_image_mb": megabytes(numerical.image_bytes),
        "rvm_naive_mb_per_round": megabytes(numerical.naive_bytes_per_round),
        "rvm_numerical_rounds": str(numerical.rounds),
        "rvm_handover_per_task": seconds(numerical.handover_per_task),
        # Stateful computation.
        "rvm_documents": str(stateful.documents),
        "rvm_words": f"{stateful.words:,}",
        "rvm_word_bytes": str(stateful.word_bytes),
        "rvm_stateful_rounds": str(stateful.rounds),
        "rvm_state_entries": f"{stateful.state_entries:,}",
        "rvm_state_mb": megabytes(stateful.state_bytes),
        "rvm_popular": f"{stateful.popular_prefixes:,}",
        # Expensive initialisation.
        "rvm_layers": " → ".join(str(width) for width in model.layers),
        "rvm_model_parameters": f"{model.parameters / 1e6:,.1f} million",
        "rvm_model_mb": megabytes(model.memory_bytes),
        "rvm_model_file_mb": megabytes(model.file_bytes),
        "rvm_model_save": seconds(model.save_s),
        "rvm_model_load": seconds(model.load_s),
        "rvm_batch": str(model.batch),
        "rvm_batches": str(model.batches),
        "rvm_model_rounds": str(model.rounds),
        "rvm_naive_loads": str(model.naive_loads),
        "rvm_threads_parent": str(model.threads_parent),
        "rvm_threads_worker": str(model.threads_worker),
    })
    # Start-up, counted apart.
    for what, cost in found.startup.costs.items():
        glued[f"rvm_startup_{what}"] = seconds(cost)
    return glued
