"""What the pools chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues, and the demonstrations' printouts it shows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.pools import workload as work
from parbook.chapters.pools.experiment import (
    BLAS_LABELS,
    EXECUTOR_LABELS,
    INITIALIZER_LABELS,
    SYNC_LABELS,
)
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    counted,
    format_count,
    format_ratio,
    format_seconds,
    spoken_list,
)
from parbook.shared.child import shorten_paths
from parbook.sources import POOL_DEMO_ARTICLE

#: A pool that runs at least this many times as many small tasks per second as the plain
#: loop "ran N× as many"; within this factor either way it "only about matched the loop".
CHUNK_GAIN_FROM = 1.2
#: A pool larger than the usable CPUs must beat one worker per CPU by more than this
#: factor before the page says a larger pool did better.
WORKERS_GAIN_FROM = 1.2
#: The default BLAS threads "were N× slower" from this ratio over one thread each ...
BLAS_MUCH_SLOWER_FROM = 1.5
#: ... "somewhat slower" from this one, and made "a small difference" below it.
BLAS_SLOWER_FROM = 1.1
#: The measured gain of sending every task at once over ``apply`` in a loop is "close to"
#: the arithmetic's when within this fraction of it.
SYNC_CLOSE_WITHIN = 0.2
#: The ways of starting workers whose BLAS threads the page describes in a sentence each.
PROBED = ("fork", "spawn", "forkserver", "child_one")


@dataclass(frozen=True)
class CpuCounts:
    """Every count of CPUs this build could ask for, and what overriding them did."""

    python_version: str
    usable: int  # what this book sizes its pools by: the affinity mask, capped by a quota
    os_cpu_count: int | None
    process_cpu_count: int | None  # None: the interpreter predates it (3.13)
    affinity: int | None  # None: the platform has no sched_getaffinity
    quota_cpus: float | None  # None: no quota, or no cgroup CPU controller found
    quota_version: str | None  # "v1" | "v2"; None: no cgroup CPU controller found
    quota_file: str | None
    quota_text: str | None
    python_cpu_count: str | None  # PYTHON_CPU_COUNT as this build was started with
    x_cpu_count: str | None  # -X cpu_count as this build was started with
    default_pool_count: str  # "os.cpu_count()" | "os.process_cpu_count()"
    override: int  # the value given to the child interpreters
    override_env_seen: int | None  # os.cpu_count() with PYTHON_CPU_COUNT; None: it failed
    override_x_seen: int | None  # os.cpu_count() with -X cpu_count; None: it failed

    @property
    def default_pool_size(self) -> int:
        """How many workers ``Pool()`` with no size starts on this interpreter."""
        if self.default_pool_count == "os.process_cpu_count()":
            return self.process_cpu_count or 1
        return self.os_cpu_count or 1

    @property
    def available(self) -> list[int]:
        """The counts this interpreter and platform offer (the quota rounded down)."""
        counts = [self.os_cpu_count, self.process_cpu_count, self.affinity]
        if self.quota_cpus is not None:
            counts.append(max(1, math.floor(self.quota_cpus)))
        return [count for count in counts if count is not None]

    @property
    def agree(self) -> bool:
        """Whether every available count, and the size of a default pool, equal the usable
        CPUs."""
        return self.default_pool_size == self.usable and all(
            count == self.usable for count in self.available)

    @property
    def overridden(self) -> bool:
        """Whether this build itself ran with PYTHON_CPU_COUNT or -X cpu_count set."""
        return bool(self.python_cpu_count or self.x_cpu_count)


@dataclass(frozen=True)
class Machine:
    """The CPUs and start methods of the machine that ran the chapter."""

    cpus: int
    start_method: str
    start_methods: list[str]
    counts: CpuCounts


@dataclass(frozen=True)
class SyncAsync:
    """Article 001's experiment: sleeping tasks sent with apply, apply_async and map."""

    tasks: int
    workers: int
    task_s: float
    synchronous: float
    asynchronous: float
    one_map: float
    article_tasks: int
    article_workers: int
    article_task_s: float

    @property
    def rounds(self) -> int:
        """How many times the pool must fill up to run every task."""
        return math.ceil(self.tasks / self.workers)

    @property
    def sync_expected(self) -> float:
        return self.tasks * self.task_s

    @property
    def async_expected(self) -> float:
        return self.rounds * self.task_s

    @property
    def sync_over_async(self) -> float:
        return self.synchronous / self.asynchronous

    @property
    def article_sync_expected(self) -> float:
        return self.article_tasks * self.article_task_s

    @property
    def article_async_expected(self) -> float:
        return math.ceil(self.article_tasks / self.article_workers) * self.article_task_s


@dataclass(frozen=True)
class Chunksize:
    """Many small tasks through Pool.map at several chunksizes, and in one process."""

    tasks: int
    default: int
    times: dict[str, float]  # "1", "10", ..., "default", "one_process" -> median seconds

    @property
    def rates(self) -> dict[str, float]:
        """Tasks per second, by the same keys as ``times``."""
        return {key: self.tasks / seconds for key, seconds in self.times.items()}

    @property
    def best(self) -> str:
        """The key of the fastest pool."""
        pooled = {key: seconds for key, seconds in self.times.items() if key != "one_process"}
        return min(pooled, key=pooled.get)

    @property
    def one_call(self) -> float:
        """Seconds of one small task in the plain loop."""
        return self.times["one_process"] / self.tasks

    @property
    def default_over_1(self) -> float:
        return self.times["1"] / self.times["default"]

    @property
    def best_over_loop(self) -> float:
        """Tasks per second of the fastest pool over those of the plain loop."""
        rates = self.rates
        return rates[self.best] / rates["one_process"]


@dataclass(frozen=True)
class ExecutorMap:
    """The small tasks through ProcessPoolExecutor.map, beside Pool.map."""

    tasks: int
    chunksize: int
    times: dict[str, float]  # "pool_map" | "executor_default" | "executor_chunked"

    @property
    def rates(self) -> dict[str, float]:
        return {how: self.tasks / seconds for how, seconds in self.times.items()}

    @property
    def chunked_over_default(self) -> float:
        return self.times["executor_default"] / self.times["executor_chunked"]


@dataclass(frozen=True)
class Initializer:
    """A lookup table built in every task, or once per worker in an initializer."""

    vocabulary: int
    setup: float
    lookups: int
    workers: int
    per_task: float
    initializer: float
    correct: bool

    @property
    def per_task_expected(self) -> float:
        """The set-up time alone, for one build per lookup spread over the workers."""
        return self.lookups * self.setup / self.workers

    @property
    def ratio(self) -> float:
        return self.per_task / self.initializer


@dataclass(frozen=True)
class Workers:
    """CPU-bound tasks in one process and on pools of 1 to 2x the usable CPUs."""

    cpus: int
    tasks: int
    task_s: float
    speedups: dict[int, float]  # pool size -> speed-up over one process

    @property
    def best_n(self) -> int:
        return max(self.speedups, key=self.speedups.get)

    @property
    def best(self) -> float:
        return self.speedups[self.best_n]

    @property
    def most(self) -> int:
        return max(self.speedups)

    @property
    def at_cpus(self) -> float:
        """The speed-up with one worker per usable CPU (NaN if that size did not run)."""
        return self.speedups.get(self.cpus, float("nan"))

    @property
    def beyond_cpus(self) -> dict[int, float]:
        """The speed-ups of pools larger than the usable CPUs."""
        return {n: speedup for n, speedup in self.speedups.items() if n > self.cpus}


@dataclass(frozen=True)
class Probe:
    """What the workers of one way of starting them saw of the BLAS variables."""

    limited: bool
    threads: int


@dataclass(frozen=True)
class Blas:
    """Matrix products on one worker per CPU, BLAS threads at the default or at one."""

    cpus: int
    size: int
    products: int
    tasks: int
    default: float
    one: float
    default_threads: int
    one_threads: int
    parent_threads: int
    probe: dict[str, Probe]  # start method, "child_default" or "child_one" -> what it saw

    @property
    def ratio(self) -> float:
        return self.default / self.one

    @property
    def default_total_threads(self) -> int:
        return self.default_threads * self.cpus


@dataclass(frozen=True)
class Demos:
    """What the demonstrations returned under each start method."""

    default_method: str
    by_method: dict[str, dict[str, Any]]
    #: What each demonstration showed (row label -> start method -> cell).
    outcomes: dict[str, dict[str, str]]

    @property
    def shown(self) -> dict[str, Any]:
        """The demonstrations under the default start method, whose output the page shows."""
        return self.by_method[self.default_method]

    @property
    def agree(self) -> bool:
        """Whether every demonstration showed the same outcome under every method."""
        return all(len(set(cells.values())) == 1 for cells in self.outcomes.values())


@dataclass(frozen=True)
class Findings:
    """Everything the pools page concludes from one result, by section."""

    machine: Machine
    sync_async: SyncAsync
    chunksize: Chunksize
    executor: ExecutorMap
    initializer: Initializer
    workers: Workers
    blas: Blas
    demos: Demos


def _medians(result: Result, group: str, key: str) -> dict[str, float]:
    return {case.params[key]: case.summary.median for case in result.group(group)}


def _threads_per_worker(answers: list[dict[str, Any]]) -> int:
    return max(answer["threads"] for answer in answers)


def _probe(answers: list[dict[str, Any]]) -> Probe:
    return Probe(limited=all(answer["limited"] for answer in answers),
                 threads=_threads_per_worker(answers))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def outcome_rows(by_method: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """What each demonstration showed: one row per behaviour, one cell per start method."""
    rows: dict[str, dict[str, str]] = {}
    for method, seen in by_method.items():
        naps, apply, arguments = seen["map_naps"], seen["apply"], seen["arguments"]
        same = arguments["tuple"] == arguments["starmap"] == arguments["partial"]
        early, closed, inside = seen["with_early"], seen["close_join"], seen["with_collect"]
        column = {
            "apply / apply_async + get": f"{apply['apply']} / {apply['get']}",
            "get(timeout) shorter than the task": apply.get("short_get", "returned"),
            "map and imap: input order": _yes(seen["map"]["map"] == seen["map"]["imap"] == naps),
            # Its order is the order results came back, which no recorded field times: with
            # more tasks than workers a short task can come back after a longer one. What it
            # promises, and what the record shows, is that every result comes back once.
            "imap_unordered: every result came back, once": _yes(
                sorted(seen["map"]["imap_unordered"]) == sorted(naps)),
            "tuple / starmap / partial agree": _yes(same) + f" {arguments['tuple']}",
            "map(lambda ...)": seen["lambda"].split(":", 1)[0],
            "with block left early: tasks finished": f"{early['finished']} of {early['tasks']}",
            "get(timeout) after that": early["late_get"],
            "close() + join(): tasks finished": f"{closed['finished']} of {closed['tasks']}",
            "get inside the with block: tasks finished":
                f"{inside['finished']} of {inside['tasks']}",
            "ProcessPoolExecutor: result() re-raised": seen["executor"]["error"].split(":", 1)[0],
        }
        for label, cell in column.items():
            rows.setdefault(label, {})[method] = cell
    return rows


def _cpu_counts(counts: dict[str, Any]) -> CpuCounts:
    quota, override = counts["cgroup_quota"], counts["override"]
    return CpuCounts(
        python_version=counts["python_version"], usable=counts["usable"],
        os_cpu_count=counts["os_cpu_count"], process_cpu_count=counts["process_cpu_count"],
        affinity=counts["affinity"], quota_cpus=quota["cpus"], quota_version=quota["version"],
        quota_file=quota["file"], quota_text=quota["text"],
        python_cpu_count=counts["PYTHON_CPU_COUNT"], x_cpu_count=counts["-X cpu_count"],
        default_pool_count=counts["default_pool_count"], override=override["override"],
        override_env_seen=override["env"], override_x_seen=override["x_option"],
    )


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    p, values = result.parameters, result.values
    counts = values["cpu_counts"]
    article = {row["what"]: row["value"] for row in POOL_DEMO_ARTICLE.rows}
    one_process = result.median("workers", how="one_process")
    blas_workers, probe = values["blas_workers"], values["blas_probe"]
    probed = {method: probe[method] for method in p["start_methods"] if method in probe}
    probed.update(child_default=blas_workers["default"], child_one=blas_workers["one"])
    return Findings(
        machine=Machine(cpus=p["cpus"], start_method=p["start_method"],
                        start_methods=p["start_methods"], counts=_cpu_counts(counts)),
        sync_async=SyncAsync(
            tasks=p["sync_tasks"], workers=p["sync_workers"], task_s=p["sync_task_s"],
            synchronous=result.median("sync_async", how="sync"),
            asynchronous=result.median("sync_async", how="async"),
            one_map=result.median("sync_async", how="map"),
            article_tasks=article["tasks"], article_workers=article["workers"],
            article_task_s=article["task_s"],
        ),
        chunksize=Chunksize(tasks=p["chunk_tasks"], default=p["chunk_default"],
                            times=_medians(result, "chunksize", "chunksize")),
        executor=ExecutorMap(tasks=p["executor_tasks"], chunksize=p["executor_chunksize"],
                             times=_medians(result, "executor_map", "how")),
        initializer=Initializer(
            vocabulary=p["vocabulary"], setup=result.median("setup_alone"),
            lookups=p["lookups"], workers=p["cpus"],
            per_task=result.median("initializer", how="per_task"),
            initializer=result.median("initializer", how="initializer"),
            correct=all(values["initializer_correct"].values()),
        ),
        workers=Workers(
            cpus=p["cpus"], tasks=p["burn_tasks"], task_s=p["burn_task_s"],
            speedups={case.params["workers"]: one_process / case.summary.median
                      for case in result.group("workers") if case.params["how"] == "pool"},
        ),
        blas=Blas(
            cpus=p["cpus"], size=p["blas_size"], products=p["blas_products"],
            tasks=p["blas_tasks"], default=result.median("blas", threads="default"),
            one=result.median("blas", threads="one"),
            default_threads=_threads_per_worker(blas_workers["default"]),
            one_threads=_threads_per_worker(blas_workers["one"]),
            parent_threads=probe["parent"]["threads"],
            probe={key: _probe(answers) for key, answers in probed.items()},
        ),
        demos=Demos(default_method=p["start_method"], by_method=values["demos"],
                    outcomes=outcome_rows(values["demos"])),
    )


# --- data-dependent sentences ---------------------------------------------------------------

def sync_verdict(sync: SyncAsync) -> str:
    """How much faster sending every task at once was than apply in a loop, against the
    gain the arithmetic expects (tasks over rounds)."""
    measured = format_ratio(sync.sync_over_async)
    expected_gain = sync.sync_expected / sync.async_expected
    expected = format_ratio(expected_gain)
    if sync.sync_over_async < 1:
        return (f"no faster ({measured}), although the arithmetic expects {expected}; the "
                "spread table shows how much other load on the machine disturbed the runs")
    if abs(sync.sync_over_async / expected_gain - 1) <= SYNC_CLOSE_WITHIN:
        return f"{measured} faster, close to the {expected} the arithmetic expects"
    if sync.sync_over_async < expected_gain:
        return f"{measured} faster, short of the {expected} the arithmetic expects"
    return f"{measured} faster, more than the {expected} the arithmetic expects"


def counts_sentence(counts: CpuCounts) -> str:
    """Whether the counts agree here, and what Pool() with no size would start."""
    default, usable, call = counts.default_pool_size, counts.usable, counts.default_pool_count
    workers = f"{default} worker" if default == 1 else f"{default} workers"
    if counts.agree:
        return (f"On this machine every count this interpreter offers says {usable}, so "
                "Pool() with no size starts one worker per usable CPU.")
    if default == usable:
        return (f"The counts differ on this machine, but the one Pool() uses when given no "
                f"size, {call}, says {usable}, the number of usable CPUs.")
    if default > usable:
        return (f"The counts differ on this machine: Pool() with no size would start "
                f"{workers} ({call}) for the {usable} CPUs this process can use, so pass "
                "processes= yourself.")
    if counts.overridden:
        return (f"The counts differ on this machine: Pool() with no size would start only "
                f"{workers} ({call}) for the {usable} CPUs this process can use, because "
                "this build ran with the override set.")
    return (f"The counts differ on this machine: Pool() with no size would start only "
            f"{workers} ({call}) for the {usable} CPUs this process can use.")


def override_sentence(counts: CpuCounts) -> str:
    """Whether a child interpreter took the PYTHON_CPU_COUNT override."""
    given, version, seen = counts.override, counts.python_version, counts.override_env_seen
    if seen is None:
        return (f"A child interpreter started with PYTHON_CPU_COUNT={given}, one more than "
                "the machine's count, failed before it reported a count, so whether Python "
                f"{version} takes the override is not measured here.")
    if seen == given:
        return (f"A child interpreter started with PYTHON_CPU_COUNT={given}, one more than "
                f"the machine's count, reported os.cpu_count() as {given}: Python {version} "
                "takes the override, which sizes every default pool of a program without a "
                "change to its code.")
    return (f"A child interpreter started with PYTHON_CPU_COUNT={given}, one more than the "
            f"machine's count, still reported {seen}: Python {version} predates the "
            "variable, which came in 3.13, and ignores it.")


def _quota_cell(counts: CpuCounts) -> str:
    if counts.quota_version is None:
        return "no cgroup CPU controller found"
    where = f"cgroup {counts.quota_version}, {counts.quota_file} = {counts.quota_text}"
    if counts.quota_cpus is None:
        return f"no quota ({where})"
    return f"{counts.quota_cpus:g} CPUs ({where})"


def _seen_cell(seen: int | None) -> str:
    return "the child failed" if seen is None else str(seen)


def cpu_count_rows(counts: CpuCounts) -> list[dict[str, str]]:
    """What each count reports, and its value in this build: the rows of the page's table."""
    absent = f"not available on this interpreter (Python {counts.python_version})"
    setting = ", ".join(f"{name}={value}" for name, value in (
        ("PYTHON_CPU_COUNT", counts.python_cpu_count), ("-X cpu_count", counts.x_cpu_count))
        if value) or "not set"
    given = counts.override
    rows = [
        ("os.cpu_count()", "logical CPUs in the system; from 3.13, the override if one is "
         "set", str(counts.os_cpu_count) if counts.os_cpu_count is not None else "None"),
        ("os.process_cpu_count()", "from 3.13: logical CPUs the calling thread may run on "
         "(its affinity mask), or the override if one is set",
         absent if counts.process_cpu_count is None else str(counts.process_cpu_count)),
        ("len(os.sched_getaffinity(0))", "CPUs in the calling thread's affinity mask "
         "(Linux and some Unixes), which taskset and CPU sets restrict",
         "not available on this platform" if counts.affinity is None
         else str(counts.affinity)),
        ("cgroup CPU quota", "CPU time per period the process's cgroup may use, in CPUs "
         "(v2 cpu.max, v1 cpu.cfs_quota_us); none of the counts above reads it",
         _quota_cell(counts)),
        ("PYTHON_CPU_COUNT, -X cpu_count", "from 3.13: a number that replaces both Python "
         "counts", setting),
        (f"os.cpu_count() in a child started with PYTHON_CPU_COUNT={given}",
         "whether this interpreter takes the override", _seen_cell(counts.override_env_seen)),
        (f"os.cpu_count() in a child started with -X cpu_count={given}",
         "the same, given as a command-line option", _seen_cell(counts.override_x_seen)),
        ("Pool() and ProcessPoolExecutor() with no size",
         "start as many workers as this call returns",
         f"{counts.default_pool_count}: {counts.default_pool_size}"),
        ("usable CPUs (this book)", "the affinity mask, capped by the quota: what this "
         "book sizes its pools by", str(counts.usable)),
    ]
    return [{"count": count, "what it reports": what, "this build": value}
            for count, what, value in rows]


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each."""
    sync, chunks, init, blas = found.sync_async, found.chunksize, found.initializer, found.blas
    seconds, rates = format_seconds, chunks.rates
    return [
        (f"{sync.tasks} sleeping tasks on {sync.workers} workers, apply in a loop",
         seconds(sync.synchronous)),
        ("the same tasks, apply_async then get", seconds(sync.asynchronous)),
        (f"{chunks.tasks:,} tasks of a few microseconds, chunksize=1",
         f"{format_count(rates['1'])} tasks/s"),
        (f"the same tasks, the chunksize map picks ({chunks.default:,})",
         f"{format_count(rates['default'])} tasks/s"),
        (f"a {init.vocabulary:,}-word table built in every task", seconds(init.per_task)),
        ("the same table built once per worker, in an initializer",
         seconds(init.initializer)),
        (f"matrix products on {blas.cpus} workers, BLAS threads at their default",
         seconds(blas.default)),
        ("the same products, one BLAS thread per worker", seconds(blas.one)),
    ]


def chunk_label(key: str, default: int) -> str:
    """How a chunksize case reads in tables: ``"1,000"``, ``"default (250)"``."""
    if key == "one_process":
        return "one process, no pool"
    if key == "default":
        return f"default ({default:,})"
    return f"{int(key):,}"


def chunk_verdict(chunks: Chunksize) -> str:
    """How the fastest pool compared with the same small tasks in a plain loop."""
    best = (f"the default chunksize ({chunks.default:,})" if chunks.best == "default"
            else f"chunksize {int(chunks.best):,}")
    gain = chunks.best_over_loop
    if gain >= CHUNK_GAIN_FROM:
        return (f"the fastest pool ({best}) ran {format_ratio(gain)} as many tasks per second "
                "as the loop")
    if gain >= 1 / CHUNK_GAIN_FROM:
        return (f"the fastest pool ({best}) only about matched the loop "
                f"({format_ratio(gain)}): with tasks this short, even batched messages cost "
                "most of what the extra CPUs give")
    return (f"even the fastest pool ({best}) was slower than the loop ({format_ratio(gain)}): "
            "tasks this short are not worth sending to another process, however they are "
            "batched")


def workers_peak(workers: Workers) -> str:
    """Where the speed-up of the CPU-bound tasks peaked."""
    if workers.best_n == workers.cpus:
        return (f"The speed-up peaked at {format_ratio(workers.best)} with one worker per "
                f"usable CPU ({workers.cpus})")
    return (f"The speed-up peaked at {format_ratio(workers.best)} with {workers.best_n} "
            f"workers; with one worker per usable CPU ({workers.cpus}) it was "
            f"{format_ratio(workers.at_cpus)}")


def workers_verdict(workers: Workers) -> str:
    """Whether pools larger than the usable CPUs gained anything."""
    beyond = workers.beyond_cpus
    at_cpus = format_ratio(workers.at_cpus)
    if not beyond:
        return "no pool larger than the usable CPUs was measured"
    top = max(beyond, key=beyond.get)
    if beyond[top] <= workers.at_cpus * WORKERS_GAIN_FROM:
        return ("more workers than CPUs gained nothing worth having: the best of the larger "
                f"pools reached {format_ratio(beyond[top])}, against {at_cpus} with "
                f"{workers.cpus}")
    return (f"a larger pool did better here ({format_ratio(beyond[top])} with {top} workers, "
            f"against {at_cpus} with {workers.cpus}); on a machine shared with other work, "
            "extra workers can win back CPU time from other programs, so read the spread "
            "table before drawing more from it")


def blas_verdict(blas: Blas) -> str:
    """What the BLAS library's default threads cost the pool."""
    if blas.default_threads <= 1:
        return ("the BLAS library started no extra threads on this machine, so there was "
                "nothing to oversubscribe and the two cases did the same work the same way")
    ratio, threads = format_ratio(blas.ratio), blas.default_total_threads
    if blas.ratio >= BLAS_MUCH_SLOWER_FROM:
        return (f"the default was {ratio} slower: {threads} BLAS threads took turns on "
                f"{blas.cpus} CPUs")
    if blas.ratio >= BLAS_SLOWER_FROM:
        return (f"the default was somewhat slower ({ratio}): {threads} BLAS threads shared "
                f"{blas.cpus} CPUs")
    return (f"the difference was small here ({ratio}), even with {threads} BLAS threads on "
            f"{blas.cpus} CPUs")


def probe_phrase(blas: Blas, key: str) -> str:
    """What the workers started one way (``key``) saw of the variables set around the pool."""
    if key not in blas.probe:
        return "this platform does not offer it"
    seen = blas.probe[key]
    saw = "saw the variables" if seen.limited else "did not see the variables"
    return f"here the workers {saw} and ran {counted(seen.threads, 'thread')} each"


def methods_verdict(demos: Demos) -> str:
    """Whether the start methods changed any demonstration's outcome."""
    if demos.agree:
        return "every demonstration showed the same outcome under each of them"
    return "some outcomes differed between methods; the table shows which"


# --- the demonstrations' printouts, as the page shows them -----------------------------------

def _lines(*lines: str) -> str:
    return "\n".join(lines)


def arguments_output(seen: dict[str, Any]) -> str:
    """The three ways of passing several arguments, and what each returned."""
    return _lines(*(f"{how:8} -> {values}" for how, values in seen["arguments"].items()))


#: The three ways of ending a pool with outstanding work, as the printout names them.
SHUTDOWN_LABELS = {"with_early": "with block left early", "close_join": "close() + join()",
                   "with_collect": "get() inside the with block"}


def shutdown_output(seen: dict[str, Any]) -> str:
    """How long each way of ending the pool took and how many of its tasks finished."""
    lines = []
    for key, label in SHUTDOWN_LABELS.items():
        ended = seen[key]
        line = (f"{label:28} left after {ended['left_after_s']:.3f} s; "
                f"{ended['finished']} of {ended['tasks']} tasks finished")
        if "late_get" in ended:
            line += f"; a later get(timeout=...) raised {ended['late_get']}"
        lines.append(line)
    return _lines(*lines)


def executor_output(seen: dict[str, Any]) -> str:
    """What the executor demonstration returned, with the worker's traceback shortened."""
    executor = seen["executor"]
    return _lines(
        f"as_completed: {executor['as_completed']}",
        f"map(power, [2, 3, 4], [2, 2, 2]): {executor['map']}",
        f"result() raised {executor['error']}",
        "its __cause__, the worker's traceback (file paths shortened):",
        shorten_paths(executor["remote_traceback"]).strip().strip('"').strip(),
    )


def outputs(demos: Demos) -> dict[str, str]:
    """The printout of each demonstration under the default start method, by output id."""
    seen = demos.shown
    return {
        "pools-apply": _lines(*work.describe_apply(seen["apply"])),
        "pools-map-family": _lines(*work.describe_map_family(seen["map_naps"],
                                                                    seen["map"])),
        "pools-arguments": arguments_output(seen),
        "pools-lambda": seen["lambda"],
        "pools-shutdown": shutdown_output(seen),
        "pools-executor": executor_output(seen),
    }


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds = format_seconds
    machine, sync, chunks, executor = (found.machine, found.sync_async, found.chunksize,
                                       found.executor)
    init, workers, blas = found.initializer, found.workers, found.blas
    chunk_rates, executor_rates = chunks.rates, executor.rates
    glued: dict[str, Any] = {
        "pools_cpus": machine.cpus,
        "pools_start_method": machine.start_method,
        "pools_methods": spoken_list(machine.start_methods),
        "pools_counts_sentence": counts_sentence(machine.counts),
        "pools_override_sentence": override_sentence(machine.counts),
        # The article's experiment.
        "pools_sync_tasks": sync.tasks,
        "pools_sync_workers": sync.workers,
        "pools_sync_rounds": sync.rounds,
        "pools_sync_task_s": seconds(sync.task_s),
        "pools_sync": seconds(sync.synchronous),
        "pools_async": seconds(sync.asynchronous),
        "pools_map": seconds(sync.one_map),
        "pools_sync_expected": seconds(sync.sync_expected),
        "pools_async_expected": seconds(sync.async_expected),
        "pools_sync_over_async": format_ratio(sync.sync_over_async),
        "pools_sync_verdict": sync_verdict(sync),
        "pools_article_task_s": seconds(sync.article_task_s),
        "pools_article_sync_expected": seconds(sync.article_sync_expected),
        "pools_article_async_expected": seconds(sync.article_async_expected),
        # chunksize and the executor's map.
        "pools_chunk_tasks": f"{chunks.tasks:,}",
        "pools_chunk_one_call": seconds(chunks.one_call),
        "pools_chunk_default": f"{chunks.default:,}",
        "pools_chunk_rate_1": format_count(chunk_rates["1"]),
        "pools_chunk_rate_default": format_count(chunk_rates["default"]),
        "pools_chunk_rate_one_process": format_count(chunk_rates["one_process"]),
        "pools_chunk_default_over_1": format_ratio(chunks.default_over_1),
        "pools_chunk_verdict": chunk_verdict(chunks),
        "pools_exec_tasks": f"{executor.tasks:,}",
        "pools_exec_chunksize": f"{executor.chunksize:,}",
        "pools_exec_rate_default": format_count(executor_rates["executor_default"]),
        "pools_exec_rate_chunked": format_count(executor_rates["executor_chunked"]),
        "pools_exec_rate_pool": format_count(executor_rates["pool_map"]),
        "pools_exec_chunked_over_default": format_ratio(executor.chunked_over_default),
        # initializer
        "pools_init_vocabulary": f"{init.vocabulary:,}",
        "pools_init_setup": seconds(init.setup),
        "pools_init_lookups": init.lookups,
        "pools_init_per_task": seconds(init.per_task),
        "pools_init_initializer": seconds(init.initializer),
        "pools_init_per_task_expected": seconds(init.per_task_expected),
        "pools_init_ratio": format_ratio(init.ratio),
        # workers
        "pools_burn_tasks": workers.tasks,
        "pools_burn_task_s": seconds(workers.task_s),
        "pools_workers_most": workers.most,
        "pools_workers_peak": workers_peak(workers),
        "pools_workers_verdict": workers_verdict(workers),
        # BLAS
        "pools_blas_size": blas.size,
        "pools_blas_matrix": f"{blas.size} × {blas.size}",
        "pools_blas_products": blas.products,
        "pools_blas_tasks": blas.tasks,
        "pools_blas_default": seconds(blas.default),
        "pools_blas_one": seconds(blas.one),
        "pools_blas_default_threads": blas.default_threads,
        "pools_blas_parent_threads": blas.parent_threads,
        "pools_blas_verdict": blas_verdict(blas),
        **{f"pools_blas_probe_{key}": probe_phrase(blas, key) for key in PROBED},
        # the demonstrations under every start method
        "pools_methods_verdict": methods_verdict(found.demos),
    }
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: Sleeping tasks "ran together" when, on average, at least this many were running at
#: once (their durations added up, over the wall time they took): more than one already
#: proves overlap; 1.5 asks for plain overlap while leaving room for the pool's messages
#: (10 tasks on 3 workers reach 2.5 at best).
TOGETHER_FROM = 1.5


def apply_claim(sync: SyncAsync) -> Judgement:
    """Article 001: ``apply`` blocks on each call, so tasks sent with it run one at a time,
    while ``apply_async`` lets the pool run them together."""
    one_at_a_time = sync.synchronous >= sync.sync_expected
    together = sync.sync_expected / sync.asynchronous >= TOGETHER_FROM
    figures = (f"On {sync.workers} workers, {sync.tasks} sleeping tasks took "
               f"{format_seconds(sync.synchronous)} with apply in a loop and "
               f"{format_seconds(sync.asynchronous)} with apply_async, against "
               f"{format_seconds(sync.sync_expected)} for their durations added up")
    if one_at_a_time and together:
        return Judgement(Verdict.HOLDS, (
            f"{figures}: apply ran them one at a time, apply_async side by side."))
    if one_at_a_time:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: apply ran them one at a time, but apply_async did not clearly run "
            "them side by side."))
    if together:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: apply_async ran them side by side, and so, in part, did apply, which "
            "should have run them one at a time."))
    return Judgement(Verdict.FAILS, (
        f"{figures}: apply did not run them strictly one at a time, nor apply_async clearly "
        "side by side."))


def map_args_claim(demos: Demos) -> Judgement:
    """Article 003: ``Pool.map`` passes one argument per task; several travel as a tuple or
    with ``functools.partial``, which the article advises against."""
    methods = list(demos.by_method)
    agree = {how: [method for method in methods
                   if demos.by_method[method]["arguments"][how]
                   == demos.by_method[method]["arguments"]["starmap"]]
             for how in ("tuple", "partial")}
    worked = [how for how, where in agree.items() if len(where) == len(methods)]
    advice = ("The article's advice against partial is a matter of style that no run "
              "measures; starmap, which it does not mention, takes several arguments without "
              "packing them.")
    names = {"tuple": "a tuple unpacked in the task", "partial": "functools.partial"}
    if len(worked) == len(agree):
        return Judgement(Verdict.PARTLY, (
            f"Under every start method here ({spoken_list(methods)}), a tuple unpacked in the "
            "task and functools.partial both passed two arguments through Pool.map and gave "
            f"starmap's results. {advice}"))
    if worked:
        failed = next(how for how in agree if how not in worked)
        return Judgement(Verdict.PARTLY, (
            f"Under every start method here, {names[worked[0]]} passed two arguments through "
            f"Pool.map and gave starmap's results, but {names[failed]} did not under "
            f"{spoken_list(m for m in methods if m not in agree[failed])}. {advice}"))
    return Judgement(Verdict.FAILS, (
        "Neither a tuple unpacked in the task nor functools.partial gave starmap's results "
        "through Pool.map under every start method here."))


#: Larger pools "lowered" the speed-up when the best of them fell below this share of the
#: speed-up with one worker per CPU; a smaller loss is within what repeated runs vary by.
LOWER_BELOW = 0.95


def pool_size_claim(workers: Workers) -> Judgement:
    """Article 001: open about as many pool processes as there are cores; more lower the
    efficiency. CPU-bound tasks on pools of 1 to 2x the usable CPUs decide it."""
    at_cpus, beyond = workers.at_cpus, workers.beyond_cpus
    best, cpus = format_ratio(workers.best), workers.cpus
    if workers.best_n == cpus:
        peak = (f"the speed-up over one process peaked at {best} with one worker per usable "
                f"CPU ({cpus})")
    else:
        peak = (f"the speed-up over one process peaked at {best} with {workers.best_n} "
                f"workers, against {format_ratio(at_cpus)} with one per usable CPU ({cpus})")
    if workers.best > at_cpus * WORKERS_GAIN_FROM:
        return Judgement(Verdict.FAILS, (
            f"On CPU-bound tasks, {peak}: another size did clearly better than one worker per "
            "CPU."))
    if not beyond:
        return Judgement(Verdict.PARTLY, (
            f"On CPU-bound tasks, {peak}, but no pool larger than the usable CPUs was "
            "measured, so whether more workers lower the efficiency is not shown."))
    top = max(beyond, key=beyond.get)
    larger = f"the best larger pool ({top} workers) reached {format_ratio(beyond[top])}"
    if beyond[top] >= at_cpus * LOWER_BELOW:
        return Judgement(Verdict.PARTLY, (
            f"On CPU-bound tasks, {peak}, and {larger}: one worker per CPU was enough, but "
            "more workers did not lower the efficiency here."))
    if workers.best <= 1:
        return Judgement(Verdict.PARTLY, (
            f"On CPU-bound tasks, {peak}, and {larger}; but no pool beat one process here, so "
            "this run shows the shape the article describes without a pool paying off."))
    return Judgement(Verdict.HOLDS, (
        f"On CPU-bound tasks, {peak}, and {larger}: more workers than CPUs lowered it."))


def pool_default_size_claim(counts: CpuCounts) -> Judgement:
    """Article 001: ``Pool()`` with no size starts ``cpu_count()`` workers. The standard
    library's own source, as this build's interpreter recorded it, says which count."""
    version, call = counts.python_version, counts.default_pool_count
    if call == "os.cpu_count()":
        return Judgement(Verdict.HOLDS, (
            f"On Python {version}, the interpreter of this build, Pool() with no size starts "
            f"os.cpu_count() workers, {counts.default_pool_size} here."))
    cpu_count = "unknown" if counts.os_cpu_count is None else str(counts.os_cpu_count)
    figures = (f"On Python {version}, the interpreter of this build, Pool() with no size "
               f"starts os.process_cpu_count() workers ({counts.default_pool_size} here), the "
               f"CPUs this process may run on, not os.cpu_count() ({cpu_count})")
    if counts.default_pool_size == counts.os_cpu_count:
        return Judgement(Verdict.PARTLY, (
            f"{figures}; the two agree on this machine, so only the call changed, in Python "
            "3.13."))
    return Judgement(Verdict.FAILS, (
        f"{figures}; the call changed in Python 3.13, and on this machine the numbers "
        "differ."))


def pool_lifecycle_claim() -> Judgement:
    """Article 001: the pool creates a process per request until it is full, then reuses
    them. No run records when a pool's workers start."""
    return Judgement(Verdict.UNMEASURED, (
        "No run here records when a pool's workers start. CPython's Pool starts all of its "
        "workers when it is created, before any task arrives, and starts a new one only to "
        "replace a worker that exited (after maxtasksperchild tasks, say)."))


def pool_join_claim(demos: Demos) -> Judgement:
    """Article 001: ``join()`` waits for the workers, and may only be called after
    ``close()`` or ``terminate()``. The shutdown demo calls close, then join, under every
    start method; join before close is never run."""
    methods = list(demos.by_method)
    short = [method for method, seen in demos.by_method.items()
             if seen["close_join"]["finished"] < seen["close_join"]["tasks"]]
    tasks = demos.shown["close_join"]["tasks"]
    unrun = ("Calling join() before close() is never run here; CPython refuses it with "
             "ValueError(\"Pool is still running\"), as its documentation requires close() or "
             "terminate() first.")
    if short:
        return Judgement(Verdict.FAILS, (
            f"Under {spoken_list(short)}, join() after close() returned before every task "
            f"had finished. {unrun}"))
    return Judgement(Verdict.PARTLY, (
        f"Under every start method here ({spoken_list(methods)}), join() after close() "
        f"returned only when all {tasks} queued tasks had finished. {unrun}"))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_apply": apply_claim(found.sync_async),
        "a001_pool_size_cores": pool_size_claim(found.workers),
        "a001_pool_default_size": pool_default_size_claim(found.machine.counts),
        "a001_pool_lifecycle": pool_lifecycle_claim(),
        "a001_pool_join_after_close": pool_join_claim(found.demos),
        "a003_map_args": map_args_claim(found.demos),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def override_cell(counts: CpuCounts) -> str:
    """Whether a child interpreter took the PYTHON_CPU_COUNT override, in a word or two."""
    if counts.override_env_seen is None:
        return "the child failed"
    return "taken" if counts.override_env_seen == counts.override else "ignored"


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. The default start method (3.14) and the count a default pool uses (3.13) changed
    with the version; the per-task times are what pickling and the pool's messages cost."""
    machine, chunks, executor = found.machine, found.chunksize, found.executor
    init, workers, counts = found.initializer, found.workers, machine.counts
    best_workers = f"{workers.best_n} worker{'s' if workers.best_n > 1 else ''}"
    return {
        "default start method (every pool here uses it)": machine.start_method,
        "Pool() with no size starts": (f"{counts.default_pool_size} workers "
                                       f"({counts.default_pool_count})"),
        "PYTHON_CPU_COUNT, in a child interpreter": override_cell(counts),
        "Pool.map of tiny tasks, chunksize 1: per task":
            format_seconds(chunks.times["1"] / chunks.tasks),
        f"the same, chunksize {chunks.default:,} (the default): per task":
            format_seconds(chunks.times["default"] / chunks.tasks),
        "ProcessPoolExecutor.map of tiny tasks, chunksize 1: per task":
            format_seconds(executor.times["executor_default"] / executor.tasks),
        f"a new pool with an initializer, {init.lookups} lookups (start-up included)":
            format_seconds(init.initializer),
        "CPU-bound tasks, best speed-up over one process":
            f"{format_ratio(workers.best)} ({best_workers})",
    }


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's tables name it, for the sentence on what changed between
    interpreters."""
    if group == "sync_async":
        return f"{params['tasks']} sleeping tasks, {SYNC_LABELS[params['how']]}"
    if group == "chunksize":
        if params["chunksize"] == "one_process":
            return f"{params['tasks']:,} tiny tasks in one process, no pool"
        chunks = ("map's default chunksize" if params["chunksize"] == "default"
                  else f"chunksize {params['chunksize']}")
        return f"{params['tasks']:,} tiny tasks on Pool.map ({chunks})"
    if group == "executor_map":
        return f"{params['tasks']:,} tiny tasks, {EXECUTOR_LABELS[params['how']]}"
    if group == "setup_alone":
        return f"building a {params['vocabulary']:,}-word table in a worker"
    if group == "initializer":
        return f"{params['lookups']} lookups, {INITIALIZER_LABELS[params['how']]}"
    if group == "workers":
        where = ("in one process" if params["how"] == "one_process"
                 else f"on a pool of {params['workers']}")
        return f"{params['tasks']} CPU-bound tasks {where}"
    if group == "blas":
        return f"matrix products on {params['workers']} workers, {BLAS_LABELS[params['threads']]}"
    return interpreters.describe_case(group, params)


def defaults_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """How ``Pool()`` with no arguments starts its workers and sizes itself under each
    interpreter: the start method and the CPU count it reads."""
    groups = dict(interpreters.grouped(runs, lambda found: (
        found.machine.start_method, found.machine.counts.default_pool_count)))

    def how(method: str, count: str) -> str:
        return f"by {method}, as many as {count} says"

    if len(groups) == 1:
        ((method, count), labels), = groups.items()
        if len(labels) == 1:
            return (f"On {labels[0]}, a Pool() given no arguments makes its workers "
                    f"{how(method, count)}.")
        return (f"A Pool() given no arguments made its workers the same way under every "
                f"interpreter here: {how(method, count)}.")
    each = "; ".join(f"on {interpreters.join_words(labels)}, {how(method, count)}"
                     for (method, count), labels in groups.items())
    return (f"A Pool() given no arguments makes its workers differently: {each}. Name the "
            "start method and the pool's size, and the program no longer depends on which "
            "Python runs it.")


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"pools_interpreters_defaults": defaults_across_interpreters(runs)}
