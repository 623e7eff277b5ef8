"""What the Ray-against-multiprocessing chapter concludes from one result: findings per
section, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.ray_vs_multiprocessing.experiment import VERSION_LABELS, WORKLOAD_LABELS
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import format_ratio, format_seconds
from parbook.shared.article002 import CLASSES, INPUTS

#: Two times within this factor of each other are called level.
LEVEL = 1.1
#: Below this share of labels equal to the serial version's, the model versions are said
#: to disagree (above it and below 1, near-ties rounded differently).
LABELS_NEAR_TIE = 0.99
#: A speed-up over serial code is "only slight" when it gains less than this share of what
#: the workers could add (their number less one): article 002's stateful Pool.map version,
#: 54 s serially and 21 s on 48 cores, gained about 3% of it, and a quarter leaves room for
#: machines with fewer cores, where the same overhead is shared by fewer workers.
SLIGHT_GAIN_SHARE = 0.25
#: Article 002's third range: Ray's speed-up over the faster of serial Python and its
#: multiprocessing code, on a large machine (low, high).
BEST_OF_BOTH_CLAIM = tuple(sources.RAY_BEST_OF_BOTH_CLAIM.lookup(bound=bound)
                           for bound in ("low", "high"))
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

    @property
    def ray_over_best(self) -> float:
        """The faster of serial code and the article's multiprocessing code, as a multiple
        of Ray's time."""
        return min(self.serial, self.naive_mp) / self.ray


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


def _order(subject_s: float, other_s: float) -> tuple[str, float]:
    """Whether ``subject`` was ``"faster"``, ``"level"`` or ``"slower"`` than ``other``,
    and by how many times (always at least 1)."""
    ratio = other_s / subject_s
    if ratio >= LEVEL:
        return "faster", ratio
    if ratio <= 1 / LEVEL:
        return "slower", 1 / ratio
    return "level", max(ratio, 1 / ratio)


#: One workload's three-way comparison, by (the fair version against the article's, the
#: fair version against Ray): a sentence for each of the nine outcomes. ``{naive}`` and
#: ``{ray}`` are the ratios of the first and the second comparison.
_COMPARED = {
    ("faster", "slower"): "The fair version ran {naive} faster than the article's, and Ray "
                          "{ray} faster still.",
    ("faster", "level"): "The fair version ran {naive} faster than the article's and about "
                         "as fast as Ray.",
    ("faster", "faster"): "The fair version ran {naive} faster than the article's, and "
                          "{ray} faster than Ray.",
    ("level", "slower"): "The fair version took about as long as the article's, and Ray ran "
                         "{ray} faster than the fair version.",
    ("level", "level"): "The fair version took about as long as the article's, and about "
                        "as long as Ray.",
    ("level", "faster"): "The fair version took about as long as the article's, and ran "
                         "{ray} faster than Ray.",
    ("slower", "slower"): "Here the article's version ran {naive} faster than the fair one, "
                          "and Ray ran {ray} faster than the fair one.",
    ("slower", "level"): "Here the article's version ran {naive} faster than the fair one, "
                         "which took about as long as Ray.",
    ("slower", "faster"): "Here the article's version ran {naive} faster than the fair one, "
                          "which in turn ran {ray} faster than Ray.",
}


def versions_compared(times: VersionTimes) -> str:
    """One workload: the fair multiprocessing version against the article's and against
    Ray, in one or two sentences (times within ``LEVEL`` of each other are "about as long")."""
    against_naive, naive = _order(times.fair_mp, times.naive_mp)
    against_ray, ray = _order(times.fair_mp, times.ray)
    return _COMPARED[against_naive, against_ray].format(naive=format_ratio(naive),
                                                        ray=format_ratio(ray))


def agreement_sentence(found: Findings) -> str:
    """Whether the four versions returned the same answers in this build."""
    labels = found.initialisation.agreement
    differed = [workload for workload, agreed in (
        ("numerical", found.numerical.agree), ("stateful", found.stateful.agree),
        ("initialisation", labels >= LABELS_NEAR_TIE)) if not agreed]
    if not differed and labels == 1.0:
        return ("In this build they agreed: all four versions' filtered images had the same "
                "checksum, and all four found the same popular prefixes and gave each image "
                "the same label")
    if not differed:
        return ("In this build all four versions' filtered images had the same checksum and "
                "all four found the same popular prefixes; the model's labels agreed "
                f"for {labels:.1%} of the images (floating-point sums added in another order "
                "can tip a near-tie)")
    if len(differed) == 1:
        return (f"In this build the versions' answers differed in the {differed[0]} "
                "workload, so its times do not compare equal work")
    workloads = ", the ".join(differed[:-1]) + f" and the {differed[-1]}"
    return (f"In this build the versions' answers differed in the {workloads} workloads, so "
            "their times do not compare equal work")


def handover_sentence(numerical: Numerical) -> str:
    """What copying the image into every task cost the article's version, if it showed."""
    against_naive, _ratio = _order(numerical.times.fair_mp, numerical.times.naive_mp)
    if against_naive == "faster":
        return ("What the article's version paid beyond the fair one came to about "
                f"{format_seconds(numerical.handover_per_task)} per task")
    return "Copying the image into every task cost too little to show in these timings"


def serial_threads_sentence(model: Initialisation) -> str:
    """Whether the serial version ran with more threads than a worker."""
    parent, worker = model.threads_parent, model.threads_worker
    worker_threads = f"{worker} thread" if worker == 1 else f"{worker} threads"
    if parent > worker:
        return ("The serial version was not single-threaded: it ran in the experiment "
                "process, whose BLAS libraries start threads of their own by default (that process "
                f"had {parent} threads when it started; each worker had {worker_threads})")
    parent_threads = f"{parent} thread" if parent == 1 else f"{parent} threads"
    return (f"The serial version ran in the experiment process, which had {parent_threads} "
            f"when it started, no more than each worker ({worker_threads})")


def short_answer(found: Findings) -> str:
    """The short answer's measured half: the fair versions, then the article's, against Ray."""
    over_fair = [times.ray_over_fair for times in found.times.values()]
    naive = ratio_range([times.ray_over_naive for times in found.times.values()])
    if all(1 / LEVEL < ratio < LEVEL for ratio in over_fair):
        return ("Written without them, multiprocessing kept level with Ray in all three "
                f"workloads in this build, where the post's own code took {naive} as long "
                "as Ray")
    if all(ratio < LEVEL for ratio in over_fair):
        return ("Written without them, multiprocessing kept level with Ray or beat it in all "
                f"three workloads in this build, where the post's own code took {naive} as "
                "long as Ray")
    fair = ratio_range(over_fair)
    if all(ratio >= LEVEL for ratio in over_fair):
        return (f"Written without them, multiprocessing still took {fair} as long as Ray in "
                f"this build, against {naive} for the post's own code")
    return (f"Written without them, multiprocessing took {fair} as long as Ray in this "
            f"build, against {naive} for the post's own code")


def reached(ratios: list[float], low: float) -> Verdict:
    """Whether every ratio (``HOLDS``), some (``PARTLY``) or none (``FAILS``) reached
    ``low``, the low end of one of the article's ranges."""
    hits = sum(ratio >= low for ratio in ratios)
    if hits == len(ratios):
        return Verdict.HOLDS
    return Verdict.PARTLY if hits else Verdict.FAILS


def serial_part(found: Findings) -> Verdict | None:
    """How the claim's first part (Ray against serial code) came out; None where this
    machine has too few CPUs to test it."""
    low, _high = found.article.claim["serial"]
    if found.method.cpus < low:
        return None
    return reached([times.speedup("ray") for times in found.times.values()], low)


def claim_serial_verdict(found: Findings) -> str:
    """Whether the first part of the article's claim (Ray against serial code) held here,
    or could not be tested on this machine's CPUs."""
    low, high = found.article.claim["serial"]
    cpus = found.method.cpus
    ray_speedups = [times.speedup("ray") for times in found.times.values()]
    speedups = ratio_range(ray_speedups)
    first = f"The first part, Ray {claim_range(low, high)} faster than serial code,"
    part = serial_part(found)
    if part is None:
        untestable = (f"{first} cannot be tested on this machine: with only {cpus} usable "
                      "CPUs, no version of CPU-bound work could come near that")
        if max(ray_speedups) > cpus * LEVEL:
            return (f"{untestable}. Ray's speed-ups over serial code were {speedups}, and a "
                    f"speed-up above {cpus}× means the serial run was slowed, not that Ray "
                    "found more CPUs")
        return f"{untestable}; Ray's speed-ups over serial code were {speedups}"
    if part is Verdict.HOLDS:
        return f"{first} holds here: Ray's speed-ups over serial code were {speedups}"
    if part is Verdict.PARTLY:
        return (f"{first} holds here only in part: Ray's speed-ups over serial code were "
                f"{speedups}")
    return (f"{first} does not hold here: Ray's speed-ups over serial code were {speedups}, "
            f"though with {cpus} usable CPUs there was room for it; this build does not "
            "measure what took it away")


def claim_mp_verdict(found: Findings) -> str:
    """Whether the second part of the article's claim (Ray against its multiprocessing
    code) held here."""
    low, high = found.article.claim["naive_mp"]
    over_naive = [times.ray_over_naive for times in found.times.values()]
    verdict = {Verdict.HOLDS: "holds here", Verdict.PARTLY: "holds here only in part",
               Verdict.FAILS: "does not hold here"}[reached(over_naive, low)]
    return (f"The second part, Ray {claim_range(low, high)} faster than multiprocessing, "
            f"{verdict} against the article's own multiprocessing code, which took "
            f"{ratio_range(over_naive)} as long as Ray")


def claim_fair_verdict(found: Findings) -> str:
    """The claim's second part held against the fair multiprocessing versions, or not."""
    low, _high = found.article.claim["naive_mp"]
    over_fair = [times.ray_over_fair for times in found.times.values()]
    fair = ratio_range(over_fair)
    inside = sum(ratio >= low for ratio in over_fair)
    if all(ratio < LEVEL for ratio in over_fair):
        return (f"Against the fair versions the second part fails: they took {fair} as long as "
                "Ray, level with it or ahead")
    if inside == len(over_fair):
        return (f"Even against the fair versions the second part holds: they took {fair} as long "
                "as Ray, inside the article's range")
    if inside:
        return (f"Against the fair versions the second part holds only in part: they took {fair} "
                "as long as Ray")
    if all(ratio >= LEVEL for ratio in over_fair):
        return (f"Against the fair versions the second part fails, though Ray still led: they took "
                f"{fair} as long as Ray")
    return (f"Against the fair versions the second part fails: they took {fair} as long as Ray, "
            "level with it or ahead in some workloads and behind it in others")


def ray_startup_compared(startup: Startup) -> str:
    """Starting Ray against starting a plain pool, measured once each."""
    ray, pool = startup.costs["ray_init"], startup.costs["plain_pool"]
    if ray >= LEVEL * pool:
        return (f"Starting Ray took {format_ratio(ray / pool)} as long as starting a pool "
                "here: worth paying once for a long job or a cluster, less so for a short "
                "script")
    return ("Starting Ray took no longer than starting a pool here, so start-up does not "
            "decide between them")


def with_startup_sentence(found: Findings) -> str:
    """The three workloads' total per version with every start-up cost counted once."""
    totals = {version: format_seconds(total) for version, total in found.with_startup.items()}
    return (f"Counting every start-up cost once, as a one-off job pays it, the three "
            f"workloads together took {totals['serial']} serially, {totals['naive_mp']} "
            f"with the article's multiprocessing code, {totals['fair_mp']} with the fair "
            f"versions and {totals['ray']} with Ray")


def ratio_range(ratios: list[float]) -> str:
    """The smallest and largest of some ratios: ``0.79–1.3×``, or one ratio if they read
    the same."""
    low, high = format_ratio(min(ratios)), format_ratio(max(ratios))
    if low == high:
        return high
    return f"{low.removesuffix('×')}–{high}"


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
        glued[f"rvm_{workload}_compared"] = versions_compared(times)
    glued.update({
        "rvm_short_answer": short_answer(found),
        "rvm_agreement": agreement_sentence(found),
        "rvm_handover": handover_sentence(numerical),
        "rvm_serial_threads": serial_threads_sentence(model),
        "rvm_claim_serial": claim_serial_verdict(found),
        "rvm_claim_mp": claim_mp_verdict(found),
        "rvm_claim_fair": claim_fair_verdict(found),
        "rvm_with_startup": with_startup_sentence(found),
        "rvm_startup_compared": ray_startup_compared(found.startup),
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
    glued["rvm_article_ray_speedup_range"] = ratio_range(
        [figures.ray_speedup for figures in article.workloads.values()])
    glued["rvm_article_ray_over_mp_range"] = ratio_range(
        [figures.ray_over_mp for figures in article.workloads.values()])

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


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: How far a range of ratios reached the low end of one of the article's ranges.
_REACHED_IN = {Verdict.HOLDS: "in every workload", Verdict.PARTLY: "in some workloads only",
               Verdict.FAILS: "in no workload"}


def workloads_phrase(names: list[str]) -> str:
    """Some of the article's three workloads, by name: ``"the numerical and the stateful
    workloads"``, ``"all three workloads"``, ``"none of the three workloads"``."""
    if not names:
        return "none of the three workloads"
    if len(names) == len(WORKLOAD_LABELS):
        return "all three workloads"
    if len(names) == 1:
        return f"the {names[0]} workload"
    return "the " + ", the ".join(names[:-1]) + f" and the {names[-1]} workloads"


def poor_fit_claim(found: Findings) -> Judgement:
    """Article 002: multiprocessing is a poor fit for numerical data, stateful computation
    and expensive initialisation, i.e. Ray beats it in each (by ``LEVEL`` or more), against
    the article's code and against the fair versions."""
    times = found.times
    led_naive = [name for name, t in times.items() if t.ray_over_naive >= LEVEL]
    led_fair = [name for name, t in times.items() if t.ray_over_fair >= LEVEL]
    figures = (
        f"Ray ran clearly faster than the article's multiprocessing code in "
        f"{workloads_phrase(led_naive)} (it took "
        f"{ratio_range([t.ray_over_naive for t in times.values()])} as long as Ray) and than "
        f"the fair multiprocessing versions in {workloads_phrase(led_fair)} "
        f"(they took {ratio_range([t.ray_over_fair for t in times.values()])} as long)")
    if len(led_naive) == len(led_fair) == len(times):
        return Judgement(Verdict.HOLDS, f"{figures}.")
    if not led_naive and not led_fair:
        return Judgement(Verdict.FAILS, f"{figures}.")
    if set(led_naive) - set(led_fair):
        return Judgement(Verdict.PARTLY, (
            f"{figures}. Where the fair version kept level with Ray or beat it, the poor fit "
            "was the article's code, not multiprocessing."))
    return Judgement(Verdict.PARTLY, f"{figures}.")


def numerical_claim(numerical: Numerical) -> Judgement:
    """Article 002: ``ray.put`` stores the array once and workers read it without a copy,
    while multiprocessing pickles it into every task. The experiment times the versions;
    it does not count copies."""
    times = numerical.times
    image = megabytes(numerical.image_bytes)
    ray_won = _order(times.ray, times.naive_mp)[0] == "faster"
    fair_won = _order(times.fair_mp, times.naive_mp)[0] == "faster"
    figures = (f"with a {image} image the article's version took "
               f"{format_ratio(times.ray_over_naive)} as long as Ray and "
               f"{format_ratio(times.fair_over_naive)} as long as the fair version, which "
               "keeps the image in shared memory")
    if ray_won and fair_won:
        return Judgement(Verdict.PARTLY, (
            f"Pickling the image into every task showed in the times: {figures}. The copies "
            "themselves are not counted by this experiment, so Ray's zero-copy reads are not "
            "checked here."))
    return Judgement(Verdict.UNMEASURED, (
        f"This experiment does not count the copies, and their cost did not show clearly "
        f"in its times: {figures}."))


def stateful_claim(stateful: Stateful) -> Judgement:
    """Article 002: stateful work suits actors, while ``Pool.map`` carries the state into
    and out of every call; long-lived processes fed by queues would do better, but are
    complex to write (which no run measures)."""
    times = stateful.times
    actors_won = _order(times.ray, times.naive_mp)[0] == "faster"
    queues_won = _order(times.fair_mp, times.naive_mp)[0] == "faster"
    figures = (f"The article's Pool.map version, which carried each counter's state "
               f"({megabytes(stateful.state_bytes)} pickled by the end) into and out of every "
               f"task, took {format_ratio(times.ray_over_naive)} as long as Ray's actors and "
               f"{format_ratio(times.fair_over_naive)} as long as long-lived worker processes "
               "fed by queues")
    unmeasured = "whether those workers are complex to write is not something a run measures."
    if actors_won and queues_won:
        return Judgement(Verdict.PARTLY, (
            f"{figures}, so both kinds of long-lived worker paid off; {unmeasured}"))
    if actors_won:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: the actors paid off, but the queue-fed workers did not do clearly "
            f"better; {unmeasured}"))
    if queues_won:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: the queue-fed workers paid off, but the actors did not do clearly "
            f"better; {unmeasured}"))
    return Judgement(Verdict.FAILS, (
        f"{figures}: carrying the state cost too little to show, and neither kind of "
        "long-lived worker did clearly better."))


def initialisation_claim(model: Initialisation) -> Judgement:
    """Article 002: an actor loads the model once where a pool reloads it in every task,
    and a pool's ``initializer`` cannot give different workers different set-ups nor let a
    task pick its worker. No run here tests the second part; only its last point is true
    (an initializer can pick a set-up per worker, e.g. from a queue in ``initargs``)."""
    times = model.times
    loads = (f"Loading the model once per task ({model.naive_loads} loads of "
             f"{format_seconds(model.load_s)} each)")
    unmeasured = ("The article's other objection, not tested by any run here, is half right: "
                  "an initializer can still give each worker its own set-up (say, a model "
                  "name taken from a queue passed in initargs), but a task cannot choose its "
                  "worker.")
    if _order(times.ray, times.naive_mp)[0] == "faster":
        return Judgement(Verdict.PARTLY, (
            f"{loads} made the article's pool version take {format_ratio(times.ray_over_naive)} "
            "as long as Ray's actors, which load it once each; a pool whose initializer loads "
            f"it once per worker took {format_ratio(times.ray_over_fair)} as long as Ray. "
            f"{unmeasured}"))
    return Judgement(Verdict.FAILS, (
        f"{loads} cost too little to show: the article's pool version took only "
        f"{format_ratio(times.ray_over_naive)} as long as Ray's actors, which load it once "
        f"each. {unmeasured}"))


def overall_claim(found: Findings) -> Judgement:
    """Article 002's summary, on 48 cores: Ray 10-30x faster than serial Python and 5-25x
    faster than multiprocessing. Speed-ups over serial code are bounded by the CPUs, so the
    first part is judged only where there are at least as many CPUs as its low end."""
    serial_low, serial_high = found.article.claim["serial"]
    mp_low, _mp_high = found.article.claim["naive_mp"]
    cpus, times = found.method.cpus, found.times.values()
    speedups = ratio_range([t.speedup("ray") for t in times])
    over_naive = [t.ray_over_naive for t in times]
    over_fair = [t.ray_over_fair for t in times]
    serial, naive, fair = serial_part(found), reached(over_naive, mp_low), reached(over_fair,
                                                                                  mp_low)
    claimed = claim_range(serial_low, serial_high)
    if serial is None:
        first = (f"On this build's {cpus} usable CPUs Ray's speed-ups over serial code were "
                 f"{speedups}; the article's {claimed} needs at least {serial_low:g} CPUs, "
                 "so that part cannot be tested here, only the part against "
                 "multiprocessing.")
    else:
        first = (f"On this build's {cpus} usable CPUs Ray's speed-ups over serial code were "
                 f"{speedups}, reaching the article's {serial_low:g}× {_REACHED_IN[serial]}.")
    second = (f"The article's multiprocessing code took {ratio_range(over_naive)} as long as "
              f"Ray, reaching the article's {mp_low:g}× {_REACHED_IN[naive]}, and the fair "
              "versions "
              f"{ratio_range(over_fair)}, reaching it {_REACHED_IN[fair]}.")
    parts = [serial, naive, fair]
    if all(part is Verdict.HOLDS for part in parts):
        verdict = Verdict.HOLDS
    elif all(part in (None, Verdict.FAILS) for part in parts):
        verdict = Verdict.FAILS
    else:
        verdict = Verdict.PARTLY
    return Judgement(verdict, f"{first} {second}")


def best_of_both_claim(found: Findings) -> Judgement:
    """Article 002: on a large machine Ray is 5-15x faster than the faster of serial Python
    and multiprocessing. The faster of the two is never slower than serial code, and a
    CPU-bound job gains at most about one time per CPU over serial code, so the claim is
    judged only where there are at least as many CPUs as its low end."""
    low, high = BEST_OF_BOTH_CLAIM
    cpus = found.method.cpus
    ratios = [times.ray_over_best for times in found.times.values()]
    took = (f"On this build's {cpus} usable CPUs the faster of serial code and the article's "
            f"multiprocessing code took {ratio_range(ratios)} as long as Ray")
    if cpus < low:
        return Judgement(Verdict.UNMEASURED, (
            f"{took}. Ray cannot run CPU-bound work much more than {cpus}× as fast as serial "
            f"code on {cpus} CPUs, so the article's {claim_range(low, high)}, which needs at "
            f"least {low:g} CPUs, cannot be tested here."))
    outcome = reached(ratios, low)
    return Judgement(outcome, f"{took}, reaching the article's {low:g}× {_REACHED_IN[outcome]}.")


def stateful_small_speedup_claim(stateful: Stateful, workers: int) -> Judgement:
    """Article 002: the multiprocessing version of the stateful workload, which passes the
    counters' state through ``Pool.map``, ends up only slightly faster than serial Python
    ("slightly": it gains less than ``SLIGHT_GAIN_SHARE`` of what its workers could add)."""
    times = stateful.times
    speedup = times.speedup("naive_mp")
    naive, serial = format_seconds(times.naive_mp), format_seconds(times.serial)
    version = "the article's Pool.map version of the stateful workload"
    if workers < 2:
        return Judgement(Verdict.UNMEASURED, (
            f"With one worker there is no parallel gain to judge: {version} took {naive}, "
            f"serial code {serial}."))
    if speedup <= 1 / LEVEL:
        return Judgement(Verdict.PARTLY, (
            f"With {workers} workers, {version} took {format_ratio(1 / speedup)} as long as "
            f"serial code ({naive} against {serial}): the article's point, that this version "
            "gains little over serial code, holds, but here it was slower, not slightly "
            "faster."))
    if speedup < LEVEL:
        return Judgement(Verdict.PARTLY, (
            f"With {workers} workers, {version} took about as long as serial code ({naive} "
            f"against {serial}): the article's point, that this version gains little over "
            "serial code, holds, but here the gain was too small to call it faster."))
    if (speedup - 1) / (workers - 1) < SLIGHT_GAIN_SHARE:
        return Judgement(Verdict.HOLDS, (
            f"With {workers} workers, {version} ran {format_ratio(speedup)} as fast as serial "
            f"code ({naive} against {serial}): only slightly faster, well short of the "
            f"{workers}× its workers could give."))
    return Judgement(Verdict.FAILS, (
        f"With {workers} workers, {version} ran {format_ratio(speedup)} as fast as serial code "
        f"({naive} against {serial}): a large share of the {workers}× its workers could give, "
        "more than a slight gain."))


def copy_memory_claim(numerical: Numerical) -> Judgement:
    """Article 002: with multiprocessing every process makes its own copy of the data,
    which costs a lot of memory and expensive deserialisation. The experiment times the
    article's version against the fair one; it measures no memory, and does not split the
    time between pickling and unpickling."""
    times = numerical.times
    image = megabytes(numerical.image_bytes)
    longer = format_ratio(times.fair_over_naive)
    if _order(times.fair_mp, times.naive_mp)[0] == "faster":
        return Judgement(Verdict.PARTLY, (
            f"Pickling the {image} image into every task, for each worker to unpickle a copy "
            f"of its own, showed in the times: the article's version took {longer} as long as "
            "the fair one, which keeps the image in shared memory, about "
            f"{format_seconds(numerical.handover_per_task)} more per task. The memory those "
            "copies take is judged in the next point, from the memory chapter; how that time "
            "splits between pickling and unpickling is not measured."))
    return Judgement(Verdict.UNMEASURED, (
        f"The memory the copies take is judged in the next point, from the memory chapter, "
        f"and pickling the {image} image "
        f"into every task cost too little to show in the times: the article's version took "
        f"{longer} as long as the fair one, which keeps the image in shared memory."))


def gpu_init_claim(model: Initialisation) -> Judgement:
    """Article 002: if the model must go on a GPU, initialisation costs even more. No run
    here uses a GPU."""
    return Judgement(Verdict.UNMEASURED, (
        "No run here puts a model on a GPU: this chapter's model is a numpy network loaded on "
        f"the CPU, which took {format_seconds(model.load_s)} to load, so what a GPU adds to "
        "the initialisation is not measured."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a002_poor_fit": poor_fit_claim(found),
        "a002_numerical": numerical_claim(found.numerical),
        "a002_stateful": stateful_claim(found.stateful),
        "a002_initialisation": initialisation_claim(found.initialisation),
        "a002_overall": overall_claim(found),
        "a002_best_of_both": best_of_both_claim(found),
        "a002_stateful_small_speedup": stateful_small_speedup_claim(found.stateful,
                                                                    found.method.workers),
        "a002_copy_memory": copy_memory_claim(found.numerical),
        "a002_gpu_init": gpu_init_claim(found.initialisation),
    }
