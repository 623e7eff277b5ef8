"""What the scaling chapter concludes from one result: one line per backend (its speed-ups
and fitted serial fraction), the machine's setting, the contributed machines, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from parbook import interpreters, machines, sources
from parbook.bench.results import Result
from parbook.bench.scaling import AmdahlFit, best_speedup, fit_amdahl, speedups
from parbook.chapters.scaling.experiment import (
    ARTICLE_WORKLOADS,
    BACKEND_LABELS,
    GROUP,
    VERSION_LABELS,
    WORKLOAD_LABELS,
)
from parbook.render.formatting import format_ratio, format_seconds, spoken_list

#: A speed-up below this is "no gain": the few per cent timings vary by, and more.
GAIN_FROM = 1.25
#: A process pool whose speed-up on all usable CPUs reaches this share of ideal is "close
#: to ideal".
NEAR_IDEAL = 0.8
#: Oversubscribed and fully subscribed speed-ups within this fraction of each other are
#: "about the same".
OVERSUBSCRIPTION_TOLERANCE = 0.1
#: The physical cores behind article 002's headline figures.
ARTICLE_CORES = int(sources.RAY_VS_MP_CORES.lookup(what="cores"))


# TO MOVE: render.formatting (a share with two significant digits; format_percent rounds
# to whole per cents, which turns a serial fraction of 1.5% into 2%).
def format_share(share: float) -> str:
    """A share as a percentage with two significant digits: ``0.0145`` -> ``"1.5%"``,
    ``0.123`` -> ``"12%"``, ``0`` -> ``"0%"``."""
    if share == 0:
        return "0%"
    percent = share * 100
    decimals = max(0, 1 - math.floor(math.log10(abs(percent))))
    return f"{percent:.{decimals}f}%"


@dataclass(frozen=True)
class Line:
    """One backend's sweep: its median times and what follows from them."""

    workload: str
    version: str
    cpus: int
    times: tuple[tuple[int, float], ...]   # (workers, median seconds), by workers
    unstable: tuple[int, ...]               # worker counts whose case was unstable
    speedup: tuple[tuple[int, float], ...]  # (workers, T(1) / T(n))
    fit: AmdahlFit | None

    @property
    def label(self) -> str:
        return BACKEND_LABELS.get((self.workload, self.version),
                                  f"{self.workload}, {self.version}")

    def at(self, workers: int) -> float | None:
        """The speed-up on ``workers`` workers (None if not measured)."""
        return dict(self.speedup).get(workers)

    @property
    def best(self) -> tuple[int, float] | None:
        return best_speedup(dict(self.speedup))


def lines_of(result: Result) -> tuple[Line, ...]:
    """Every backend of a scaling result with a point at one worker, in the book's order
    (backends another version of parbook measured come last, in the file's order)."""
    cpus = int(result.parameters["usable_cpus"])
    by_backend: dict[tuple[str, str], dict[int, Any]] = {}
    for case in result.group(GROUP):
        key = (str(case.params["workload"]), str(case.params["version"]))
        by_backend.setdefault(key, {})[int(case.params["workers"])] = case.summary
    order = [key for key in BACKEND_LABELS if key in by_backend] + [
        key for key in by_backend if key not in BACKEND_LABELS]
    lines = []
    for workload, version in order:
        summaries = dict(sorted(by_backend[(workload, version)].items()))
        times = {n: summary.median for n, summary in summaries.items()}
        speedup = speedups(times)
        if not speedup:
            continue
        lines.append(Line(
            workload=workload, version=version, cpus=cpus, times=tuple(times.items()),
            unstable=tuple(n for n, summary in summaries.items() if summary.unstable),
            speedup=tuple(speedup.items()), fit=fit_amdahl(speedup, cpus)))
    return tuple(lines)


def best_cell(line: Line) -> str:
    """``"1.9× (2 workers)"``: a line's highest speed-up, for tables."""
    best = line.best
    if best is None:
        return "–"
    workers, speedup = best
    return f"{format_ratio(speedup)} ({workers} worker{'' if workers == 1 else 's'})"


def ceiling_text(fit: AmdahlFit) -> str:
    """The largest speed-up a fit allows: ``"2.6×"``, or ``"no limit"`` when f is 0."""
    return "no limit" if math.isinf(fit.ceiling) else format_ratio(fit.ceiling)


def fit_cell(line: Line) -> str:
    """``"12%"``, or a dash where no point could be fitted."""
    return "–" if line.fit is None else format_share(line.fit.serial_fraction)


@dataclass(frozen=True)
class Setting:
    """The machine and interpreter the sweep ran on, and what did not run."""

    cpus: int
    counts: tuple[int, ...]
    oversubscribed: tuple[int, ...]
    start_method: str
    worker_start_method: str
    python_version: str
    gil_enabled: bool
    free_threaded_build: bool
    absent: tuple[tuple[str, str], ...]        # (module, why it cannot be imported)
    memory_dropped: tuple[int, ...]
    disagreeing: tuple[str, ...]               # workloads whose versions disagreed

    @property
    def fitted_counts(self) -> tuple[int, ...]:
        """The worker counts Amdahl's law is fitted on: above one, up to the CPUs."""
        return tuple(n for n in self.counts if 1 < n <= self.cpus)


@dataclass(frozen=True)
class Sizes:
    """How large the swept jobs were."""

    cpu_total_s: float
    cpu_tasks_per_worker: int
    tasks_per_round: int
    rounds: int
    image_side: int
    words: int
    batch: int
    repeats: int


@dataclass(frozen=True)
class Contributed:
    """A contributed machine's scaling result, as the figure draws it."""

    name: str
    quick: bool
    cpus: int
    cpu_model: str
    result: Result = field(compare=False, repr=False)


@dataclass(frozen=True)
class Contributions:
    """The contributed machines with a scaling result, and what was left out."""

    machines: tuple[Contributed, ...] = ()
    without_scaling: tuple[str, ...] = ()  # contributed machines with no scaling result
    skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Findings:
    setting: Setting
    sizes: Sizes
    lines: tuple[Line, ...]
    contributions: Contributions

    def line(self, workload: str, version: str) -> Line | None:
        """The line of one backend, None if it did not run."""
        return next((line for line in self.lines
                     if (line.workload, line.version) == (workload, version)), None)


def contributions_of(found: machines.Contributions) -> Contributions:
    """The scaling results among the contributed machines; a result this version cannot
    read is named as left out, like an unreadable file."""
    drawn, without, skipped = [], [], list(found.skipped)
    for machine in found.machines:
        result = machine.scaling()
        if result is None:
            without.append(machine.name)
            continue
        try:
            lines_of(result)
        except (KeyError, TypeError, ValueError) as exc:
            skipped.append(f"{machines.MACHINES_DISPLAY}/{machine.name}: its scaling result "
                           f"cannot be read by this version ({exc.__class__.__name__}: "
                           f"{exc}); left out")
            continue
        drawn.append(Contributed(machine.name, result.quick,
                                 int(result.parameters["usable_cpus"]),
                                 str(result.machine.get("cpu_model", "unknown CPU")), result))
    return Contributions(tuple(drawn), tuple(without), tuple(skipped))


def findings(result: Result, contributed: machines.Contributions | None = None) -> Findings:
    """The chapter's findings from one recorded result, with the contributed machines
    (read from :func:`parbook.machines.contributed` unless given)."""
    values, parameters = result.values, result.parameters
    if contributed is None:
        contributed = machines.contributed()
    return Findings(
        setting=Setting(
            cpus=int(parameters["usable_cpus"]),
            counts=tuple(parameters["counts"]),
            oversubscribed=tuple(parameters["oversubscribed"]),
            start_method=parameters["start_method"],
            worker_start_method=parameters["worker_start_method"],
            python_version=values["python_version"],
            gil_enabled=bool(values["gil_enabled"]),
            free_threaded_build=bool(values["free_threaded_build"]),
            absent=tuple(sorted(values["absent_modules"].items())),
            memory_dropped=tuple(values["memory_dropped_counts"]),
            disagreeing=tuple(workload for workload, same in values["agree"].items()
                              if not same),
        ),
        sizes=Sizes(
            cpu_total_s=parameters["cpu_total_s"],
            cpu_tasks_per_worker=parameters["cpu_tasks_per_worker"],
            tasks_per_round=parameters["tasks_per_round"], rounds=parameters["rounds"],
            image_side=parameters["image_side"], words=parameters["words"],
            batch=parameters["batch"], repeats=parameters["repeats"],
        ),
        lines=lines_of(result),
        contributions=contributions_of(contributed),
    )


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def interpreter_text(setting: Setting) -> str:
    """Which interpreter ran the sweep, and whether its GIL was on."""
    if setting.gil_enabled and setting.free_threaded_build:
        return (f"Python {setting.python_version}, a free-threaded build running with the "
                "GIL switched back on")
    if setting.gil_enabled:
        return f"Python {setting.python_version} with the GIL enabled"
    return f"a free-threaded Python {setting.python_version}, with the GIL disabled"


def short_answer(setting: Setting, processes: Line | None, threads: Line | None) -> str:
    """The short answer's measured sentence: the CPU-bound job on all usable CPUs."""
    cpus = setting.cpus
    if cpus == 1 or processes is None or threads is None:
        return ("This build had one usable CPU, so no two workers could compute at once: "
                "every speed-up below measures overhead, not cores.")
    on_processes = format_ratio(processes.at(cpus) or math.nan)
    thread_speedup = threads.at(cpus) or math.nan
    on_threads = format_ratio(thread_speedup)
    start = (f"On this build's {cpus} usable CPUs, a CPU-bound job ran {on_processes} as fast "
             f"on {cpus} processes as on one")
    if not setting.gil_enabled:
        return f"{start}, and {on_threads} on {cpus} threads of a Python with the GIL off."
    if thread_speedup < GAIN_FROM:
        return f"{start}, and {on_threads} on {cpus} threads, which share one GIL."
    return f"{start}, and, unexpectedly with the GIL on, {on_threads} on {cpus} threads."


def reach_sentence(setting: Setting) -> str:
    """How far this build's sweep reaches, by the number of usable CPUs."""
    cpus = setting.cpus
    over = (f", plus {spoken_list(setting.oversubscribed)} oversubscribed"
            if setting.oversubscribed else "")
    if cpus == 1:
        return (f"This build has one usable CPU, so its sweep has no parallel point: one "
                f"worker{over}; its lines cannot show what happens on more than one core.")
    if cpus < ARTICLE_CORES:
        return (f"This build has {cpus} usable CPUs, so its sweep stops at {cpus} "
                f"workers{over}: its lines cannot show what happens past {cpus} cores, let "
                f"alone on the article's {ARTICLE_CORES}.")
    return (f"This build has {cpus} usable CPUs, at least the article's {ARTICLE_CORES} "
            f"cores, so its sweep covers the article's scale: up to {cpus} workers{over}.")


def processes_sentence(setting: Setting, processes: Line | None) -> str:
    """How close the process pool came to ideal on all usable CPUs."""
    cpus = setting.cpus
    if cpus == 1 or processes is None:
        return ("With one CPU there is no parallel speed-up to look for: the process pool's "
                "line shows only what its processes cost.")
    speedup = processes.at(cpus) or math.nan
    measured = f"{format_ratio(speedup)} on {cpus} workers, where ideal is {cpus}×"
    if speedup >= NEAR_IDEAL * cpus:
        return f"The process pool came close to ideal: {measured}."
    if speedup >= GAIN_FROM:
        return f"The process pool gained, but less than ideal: {measured}."
    return (f"The process pool gained nothing measurable here: {measured}. Other programs "
            "keeping the CPUs busy do that, and so does a job too short for what its "
            "workers cost; the spread table shows how steady the timings were.")


def threads_sentence(setting: Setting, threads: Line | None) -> str:
    """What the thread pool did, by whether the interpreter had a GIL."""
    cpus = setting.cpus
    if cpus == 1 or threads is None:
        return "With one CPU, threads cannot compute at once, GIL or none."
    speedup = threads.at(cpus) or math.nan
    measured = f"{format_ratio(speedup)} on {cpus} threads"
    gained = speedup >= GAIN_FROM
    if setting.gil_enabled and not gained:
        return (f"The thread pool stayed at {measured}: with the GIL on, one thread at a "
                "time runs Python, so more threads only take turns.")
    if setting.gil_enabled:
        return (f"The thread pool reached {measured}, which the GIL should not allow for "
                "pure-Python work; the spread table shows how much those timings varied.")
    if gained:
        return (f"With the GIL off, the thread pool reached {measured}: its threads ran "
                "Python at the same time.")
    return (f"Even with the GIL off, the thread pool reached only {measured}: something "
            "other than the GIL kept its threads from running at once.")


def oversubscription_sentence(setting: Setting, processes: Line | None) -> str:
    """The process pool on twice as many processes as CPUs, against as many as CPUs."""
    cpus = setting.cpus
    most = max(setting.oversubscribed, default=cpus)
    full = processes.at(cpus) if processes is not None else None
    over = processes.at(most) if processes is not None and most > cpus else None
    if full is None or over is None:
        return "The process pool has no oversubscribed point in this build."
    ratio = over / full
    measured = (f"{most} processes on {cpus} CPUs ran {format_ratio(over)} as fast as one, "
                f"against {format_ratio(full)} on {cpus}")
    if ratio < 1 - OVERSUBSCRIPTION_TOLERANCE:
        return (f"Oversubscribed, {measured}: slower, since the extra processes only take "
                "turns on the same CPUs and the switching costs time.")
    if ratio <= 1 + OVERSUBSCRIPTION_TOLERANCE:
        return (f"Oversubscribed, {measured}: about the same, since the extra processes "
                "only take turns on the same CPUs.")
    return (f"Oversubscribed, {measured}: faster, which taking turns on the same CPUs "
            "cannot explain; the spread table shows whether the timings were steady.")


def fit_sentence(setting: Setting) -> str:
    """How many points Amdahl's law was fitted on, in this build."""
    fitted = setting.fitted_counts
    if not fitted:
        return ("This build has no worker count between two and its usable CPUs, so it "
                "fits no serial fraction at all.")
    if len(fitted) == 1:
        return (f"On this build the fit rests on a single point, {fitted[0]} workers, so each "
                "f is simply what that one speed-up implies, and a small change in one "
                "timing moves it a lot.")
    return (f"On this build the fit uses {len(fitted)} worker counts, "
            f"{spoken_list(fitted)}.")


def processes_fit_sentence(processes: Line | None) -> str:
    """The process pool's fitted serial fraction and the ceiling it implies."""
    if processes is None or processes.fit is None:
        return "The process pool has no fitted serial fraction in this build."
    fit = processes.fit
    if fit.serial_fraction == 0:
        return ("For the process pool, f came out at zero: nothing in these timings points "
                "to a serial part.")
    if fit.serial_fraction == 1:
        return ("For the process pool, f came out at 100%: by that fit, no number of "
                "workers would make the job any faster.")
    return (f"For the process pool, f came out at {format_share(fit.serial_fraction)}, "
            f"which would hold its speed-up to at most {ceiling_text(fit)} on any number of "
            "workers.")


def naive_fits(found: Findings) -> list[tuple[str, float, float]]:
    """``(workload, naive f, fair f)`` for every article workload with both fits."""
    pairs = []
    for workload in ARTICLE_WORKLOADS:
        naive, fair = found.line(workload, "naive_mp"), found.line(workload, "fair_mp")
        if naive and fair and naive.fit and fair.fit:
            pairs.append((workload, naive.fit.serial_fraction, fair.fit.serial_fraction))
    return pairs


def naive_against_fair_sentence(found: Findings) -> str:
    """In how many workloads the article's multiprocessing code had the larger serial
    fraction than the fair version."""
    pairs = naive_fits(found)
    if not pairs:
        return ("No workload has a fitted serial fraction for both multiprocessing "
                "versions in this build.")
    larger = [WORKLOAD_LABELS[w].split(" (")[0] for w, naive, fair in pairs if naive > fair]
    if len(larger) == len(pairs):
        return ("The article's multiprocessing code had the larger serial fraction in every "
                "workload, as work its parent does one task after another should give it.")
    if not larger:
        return ("The article's multiprocessing code did not have the larger serial fraction "
                "in any workload: on this machine its parent's extra work did not show as "
                "a serial part.")
    return (f"The article's multiprocessing code had the larger serial fraction in "
            f"{len(larger)} of {len(pairs)} workloads ({spoken_list(larger)}).")


#: A speed-up above the ideal by more than this factor (S(n) > n × it) is called faster
#: than the same work allows: timings vary by a few per cent between runs.
SUPERLINEAR_FROM = 1.1


def beyond_ideal(found: Findings) -> list[tuple[Line, int, float]]:
    """Every line that ran faster than the ideal on some worker count: (line, workers,
    speed-up), at the count where it beat the ideal by most."""
    found_lines = []
    for line in found.lines:
        over = [(n, s) for n, s in line.speedup if n > 1 and s > n * SUPERLINEAR_FROM]
        if over:
            n, s = max(over, key=lambda point: point[1] / point[0])
            found_lines.append((line, n, s))
    return found_lines


def beyond_ideal_sentence(found: Findings) -> str:
    """Why a line ran faster than the ideal, when one did: the article's stateful version
    splits its state across one counter per worker, so its job shrinks as workers are
    added; anything else doing so points at the timings."""
    over = beyond_ideal(found)
    if not over:
        return ("No line ran faster than the ideal line, as the same work on more workers "
                "cannot; Amdahl's law, which assumes the same work at every count, applies "
                "to each of them.")
    sentences = []
    stateful = [(line, n, s) for line, n, s in over
                if (line.workload, line.version) == ("stateful", "naive_mp")]
    others = [(line, n, s) for line, n, s in over if (line, n, s) not in stateful]
    for _line, n, s in stateful:
        sentences.append(
            f"The article's stateful multiprocessing code ran {format_ratio(s)} as fast on "
            f"{n} workers as on one, faster than the ideal line: it keeps one counter per "
            "worker, and pickles every counter's state into each task and back, so with "
            "more workers each state is smaller and the job itself shrinks. Amdahl's law "
            "assumes the same job at every count, so its fit there says nothing about what "
            "more cores would give.")
    if others:
        listed = spoken_list(f"{line.label} ({format_ratio(s)} on {n} workers)"
                             for line, n, s in others)
        sentences.append(
            f"{listed[:1].upper()}{listed[1:]} also ran faster than the same work allows; "
            "a one-worker run slowed by other load on the machine, or data that fits the "
            "caches of more workers, does that, and the spread table shows how steady "
            "those timings were.")
    return " ".join(sentences)


def article_speedup(workload: str) -> float:
    """Ray's speed-up over serial Python on the article's 48 cores, for one workload."""
    table = sources.RAY_VS_MP_TABLE
    return (table.lookup(workload=workload, version="serial")
            / table.lookup(workload=workload, version="ray"))


def largest_serial_fraction(speedup: float, workers: int) -> float:
    """The largest serial fraction Amdahl's law allows for ``speedup`` on ``workers``:
    solving ``1 / S = f + (1 - f) / n`` for ``f``."""
    return (workers / speedup - 1) / (workers - 1)


def ray_predictions(found: Findings) -> list[tuple[str, float, float]]:
    """``(workload, speed-up the fit predicts on the article's cores, the article's)`` for
    every article workload whose Ray line has a fit."""
    predicted = []
    for workload in ARTICLE_WORKLOADS:
        ray = found.line(workload, "ray")
        if ray is not None and ray.fit is not None:
            predicted.append((workload, ray.fit.speedup(ARTICLE_CORES),
                              article_speedup(workload)))
    return predicted


def article_fits_sentence(found: Findings) -> str:
    """Whether the serial fractions fitted for Ray here would allow the article's
    speed-ups on its 48 cores."""
    absent = dict(found.setting.absent)
    if "ray" in absent:
        return (f"Ray did not run in this build ({absent['ray']}), so no fit of its own "
                "stands beside the article's figures.")
    predicted = ray_predictions(found)
    if not predicted:
        return ("This build fitted no serial fraction for Ray, so none stands beside the "
                "article's figures.")
    reach = [workload for workload, ours, theirs in predicted if ours >= theirs]
    cores = ARTICLE_CORES
    if not reach:
        return (f"With the serial fractions fitted here, none of Ray's versions would reach "
                f"the article's speed-up on {cores} workers.")
    if len(reach) == len(predicted):
        return (f"The serial fractions fitted here are small enough to allow the article's "
                f"speed-ups on {cores} workers for every workload; only a machine with that "
                "many cores can show whether they hold.")
    return (f"With the serial fractions fitted here, Ray's versions would reach the "
            f"article's speed-up on {cores} workers in {len(reach)} of {len(predicted)} "
            "workloads.")


def contributions_sentence(contributions: Contributions) -> str:
    """Which contributed machines the figure shows, and whether anything was left out."""
    drawn = contributions.machines
    names = spoken_list(f"{m.name} ({m.cpus} usable CPUs)" for m in drawn)
    if len(drawn) == 1:
        said = f"The figure also shows one contributed machine: {names}."
    elif drawn:
        said = f"The figure also shows {len(drawn)} contributed machines: {names}."
    else:
        said = ("No reader has contributed a machine's scaling result to this copy of the "
                "book yet, so the figure shows this build alone.")
    skipped = len(contributions.skipped)
    if skipped == 1:
        said += (" The Machines page names the one file left out of the contributed "
                 "folders, with the reason.")
    elif skipped:
        said += (f" The Machines page names the {skipped} files left out of the contributed "
                 "folders, each with the reason.")
    return said


#: What could not run without each module the sweep can do without.
NEEDED_BY = {"ray": "Ray's versions", "scipy": "the numerical workload"}


def skipped_sentence(setting: Setting) -> str:
    """What did not run in this build, and why."""
    parts = [f"{NEEDED_BY.get(module, module)} ({why})" for module, why in setting.absent]
    if setting.memory_dropped:
        parts.append(f"{spoken_list(setting.memory_dropped)} workers (not enough memory)")
    if not parts:
        return "Every case of the sweep ran."
    return f"Not run in this build: {spoken_list(parts)}."


def agreement_sentence(setting: Setting) -> str:
    """Whether the versions of each workload computed the same results."""
    if not setting.disagreeing:
        return ("At every worker count, the versions of each workload computed the same "
                "results.")
    names = spoken_list(WORKLOAD_LABELS.get(w, w) for w in setting.disagreeing)
    return (f"The versions did not all compute the same results for {names}; their times "
            "are shown all the same.")


def job_sizes_sentence(size: Sizes) -> str:
    """How much work each of article 002's jobs holds, at every worker count."""
    rounds = f"{size.rounds} round{'' if size.rounds == 1 else 's'}"
    return (f"Each job has a fixed total of work: {size.tasks_per_round} tasks a round (one "
            f"filter, document or batch each) for {rounds}, on a {size.image_side}-pixel "
            f"square image, documents of {size.words:,} words and batches of {size.batch} "
            "images.")


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues."""
    setting, size = found.setting, found.sizes
    processes, threads = found.line("cpu", "processes"), found.line("cpu", "threads")
    bounds = {workload: largest_serial_fraction(article_speedup(workload), ARTICLE_CORES)
              for workload in ARTICLE_WORKLOADS}
    return {
        "scaling_short_answer": short_answer(setting, processes, threads),
        "scaling_cpus": setting.cpus,
        "scaling_counts": spoken_list(setting.counts),
        "scaling_interpreter": interpreter_text(setting),
        "scaling_start_method": setting.start_method,
        "scaling_worker_method": setting.worker_start_method,
        "scaling_reach": reach_sentence(setting),
        "scaling_cpu_total": format_seconds(size.cpu_total_s),
        "scaling_cpu_tasks_per_worker": size.cpu_tasks_per_worker,
        "scaling_processes_sentence": processes_sentence(setting, processes),
        "scaling_threads_sentence": threads_sentence(setting, threads),
        "scaling_oversubscription": oversubscription_sentence(setting, processes),
        "scaling_fit_sentence": fit_sentence(setting),
        "scaling_processes_fit": processes_fit_sentence(processes),
        "scaling_job_sizes": job_sizes_sentence(size),
        "scaling_naive_against_fair": naive_against_fair_sentence(found),
        "scaling_beyond_ideal": beyond_ideal_sentence(found),
        "scaling_article_cores": ARTICLE_CORES,
        "scaling_article_machine": sources.RAY_VS_MP_CORES.machine,
        "scaling_article_numerical_bound": format_share(bounds["numerical"]),
        "scaling_article_fits": article_fits_sentence(found),
        "scaling_contributions": contributions_sentence(found.contributions),
        "scaling_skipped": skipped_sentence(setting),
        "scaling_agreement": agreement_sentence(setting),
        "scaling_versions": spoken_list(VERSION_LABELS[v] for v in ("naive_mp", "fair_mp",
                                                                     "ray")),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def interpreter_rows(found: Findings) -> dict[str, str]:
    """One interpreter's sweep, as a column: each line's best speed-up and fitted serial
    fraction (a line this interpreter could not run, such as Ray where its environment has
    no Ray, shows as a dash)."""
    rows = {"GIL while the sweep ran": "on" if found.setting.gil_enabled else "off"}
    for line in found.lines:
        rows[line.label] = f"{best_cell(line)}, serial fraction {fit_cell(line)}"
    return rows


def threads_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """How far the thread pool scaled under each interpreter, and what the GIL of each
    allowed: the line a free-threaded build changes."""
    present = interpreters.measured(runs)
    reached = []
    for run in present:
        threads = next((line for line in run.found.lines if line.version == "threads"), None)
        cpus = run.found.setting.cpus
        at = threads.at(cpus) if threads is not None else None
        if at is not None:
            reached.append((run, at, cpus))
    if not reached:
        return "No interpreter this build ran measured the thread pool at its usable CPUs."
    listed = interpreters.join_words(
        [f"{format_ratio(at)} on {run.label}" for run, at, _cpus in reached])
    said = f"At the usable CPUs, the CPU-bound thread pool reached {listed}."
    free = [(run, at) for run, at, cpus in reached
            if not run.found.setting.gil_enabled and cpus > 1]
    if not free:
        return (f"{said} Every one of these interpreters had the GIL on, so its threads "
                "took turns at running Python whatever the number of workers.")
    gained = [run.label for run, at in free if at >= GAIN_FROM]
    flat = [run.label for run, at in free if at < GAIN_FROM]
    return f"{said} " + interpreters.clauses_sentence([
        f"with the GIL off, {interpreters.join_words(gained)} scaled its threads like "
        "processes" if gained else "",
        f"with the GIL off, {interpreters.join_words(flat)} still did not scale its threads "
        "here" if flat else ""])


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"scaling_interpreters_threads": threads_across_interpreters(runs)}
