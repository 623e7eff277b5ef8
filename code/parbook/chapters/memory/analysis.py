"""What the memory chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.memory.experiment import (
    HANDOFF_WAYS,
    LEAK_WAYS,
    METHOD_LABELS,
    READS,
)
from parbook.claims import Judgement, Verdict, judge
from parbook.render.formatting import format_bytes, format_count, format_ratio, format_seconds

#: A reader "copied most" of what it inherited when its USS grew by at least this share
#: of it; the array "stayed shared" when the reader copied less than ``SHARED_BELOW`` of it.
COPIED_MOST = 0.5
SHARED_BELOW = 0.05
#: gc.freeze() "saved" a copy when the frozen reader copied less than this share of what
#: the same reader copied without it, and "did not help" when it copied more than
#: ``FREEZE_NO_HELP`` of it.
FREEZE_SAVES_BELOW = 0.5
FREEZE_NO_HELP = 0.8
#: A received copy "is the data's size" when it is at least this share of it (wide, for
#: allocator rounding, and not so wide that half a copy would pass).
COPY_SHARE = 0.8
#: A pool of up to this many workers per usable CPU is one a reader might well start (the
#: sweep goes to 4x); memory that such a pool would fill is memory pressure within reach.
PLAUSIBLE_WORKERS_PER_CPU = 4
#: The main module's imports "made a difference" to a spawn worker when the heavy main's
#: worker was at least this many times the light one's.
IMPORTS_MATTER_FROM = 1.5
#: A limited worker "stayed bounded" when its growth after the first task stayed below this
#: share of the unlimited worker's.
BOUNDED_BELOW = 0.5


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


@dataclass(frozen=True)
class Machine:
    """The machine and interpreter, and how much of the machine's memory the run used."""

    cpus: int
    python: str
    start_method: str
    total: int
    available: int
    swap_total: int
    budget: int
    largest_total: float


@dataclass(frozen=True)
class Fork:
    """Forked readers of a parent's objects and array: median USS of each reader."""

    records: int
    structure_bytes: int
    array_bytes: int
    uss: dict[str, float]         # reads -> USS, forked without gc.freeze()
    uss_frozen: dict[str, float]  # reads -> USS, gc.freeze() before forking
    pss: dict[str, float]
    rss: dict[str, float]

    def copied(self, reads: str, frozen: bool = False) -> float:
        """What a reader copied: its USS above the reader that read nothing (a difference
        below zero is noise between two processes, and counts as nothing)."""
        uss = self.uss_frozen if frozen else self.uss
        return max(0.0, uss[reads] - uss["nothing"])

    @property
    def objects_share(self) -> float:
        return self.copied("objects") / self.structure_bytes

    @property
    def array_share(self) -> float:
        return self.copied("array") / self.array_bytes


@dataclass(frozen=True)
class Sweep:
    """Idle workers started one at a time, by main module and method (medians)."""

    workers: int
    methods: tuple[str, ...]
    uss: dict[tuple[str, str], float]   # (main, method) -> one worker's USS
    pss: dict[tuple[str, str], float]
    rss: dict[tuple[str, str], float]
    helpers: dict[tuple[str, str], float]  # (main, method) -> fork server, tracker (PSS)
    totals: dict[tuple[str, str], tuple[float, ...]]  # (main, method) -> 0..N workers
    main_imported: dict[tuple[str, str], bool | None]

    def at(self, main: str, method: str, count: int | None = None) -> float:
        """The program's total with ``count`` workers (all of them if None)."""
        totals = self.totals[(main, method)]
        return totals[-1 if count is None else count]

    def marginal(self, main: str, method: str) -> float:
        """What each worker after the first added to the program's total (one-time costs,
        such as the fork server's, fall on the first)."""
        totals = self.totals[(main, method)]
        return (totals[-1] - totals[1]) / (len(totals) - 2)

    def has(self, main: str, method: str) -> bool:
        return (main, method) in self.totals


@dataclass(frozen=True)
class Handoff:
    """An array handed to every worker of a pool: what each worker, and the program, grew by."""

    array_bytes: int
    receivers: int
    worker_growth: dict[str, float]  # way -> median per-worker USS growth
    total_growth: dict[str, float]   # way -> median growth of the program's total

    def copies(self, way: str) -> float:
        """How many extra copies of the array the hand-off made, in all."""
        return self.total_growth[way] / self.array_bytes


@dataclass(frozen=True)
class Leak:
    """A leaking task on a one-worker pool, without and with a limit on tasks per worker."""

    leak_bytes: int
    tasks: int
    tasks_per_child: int
    pool_method: str
    executor_method: str
    series: dict[str, tuple[float, ...]]  # way -> worker USS after each task
    elapsed: dict[str, float]
    workers: dict[str, int]

    def peak(self, way: str) -> float:
        return max(self.series[way])

    def first(self, way: str) -> float:
        return self.series[way][0]

    def growth(self, way: str) -> float:
        """How far the worker's USS rose above its reading after the first task."""
        return self.peak(way) - self.first(way)


@dataclass(frozen=True)
class Stall:
    """A ProcessPoolExecutor with max_tasks_per_child and every task queued at once."""

    python: str
    method: str
    tasks: int
    tasks_per_child: int
    completed: int
    patience_s: float

    @property
    def stalled(self) -> bool:
        return self.completed < self.tasks


@dataclass(frozen=True)
class Findings:
    machine: Machine
    fork: Fork
    sweep: Sweep
    handoff: Handoff
    leak: Leak
    stall: Stall


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    values, parameters = result.values, result.parameters
    memory = values["memory"]
    return Findings(
        machine=Machine(
            cpus=parameters["usable_cpus"], python=parameters["python"],
            start_method=parameters["start_method"], total=memory["total"],
            available=memory["available"], swap_total=memory["swap_total"],
            budget=memory["budget"], largest_total=values["largest_total"]),
        fork=_fork(result),
        sweep=_sweep(result),
        handoff=_handoff(result),
        leak=_leak(result),
        stall=_stall(values["stall"]),
    )


def _fork(result: Result) -> Fork:
    cow = result.values["cow"]

    def by_reads(measure: str, freeze: bool) -> dict[str, float]:
        return {reads: result.median("cow", freeze=freeze, reads=reads, measure=measure)
                for reads in READS}

    return Fork(records=cow["records"], structure_bytes=cow["structure_bytes"],
                array_bytes=cow["array_bytes"], uss=by_reads("uss", False),
                uss_frozen=by_reads("uss", True), pss=by_reads("pss", False),
                rss=by_reads("rss", False))


def _sweep(result: Result) -> Sweep:
    workers = result.parameters["workers"]
    programs = sorted({(case.params["main"], case.params["method"])
                       for case in result.group("total")})
    imported = result.values["main_imported_by_workers"]
    measures: dict[str, dict[tuple[str, str], float]] = {"uss": {}, "pss": {}, "rss": {}}
    helpers = {}
    for case in result.group("worker"):
        key = (case.params["main"], case.params["method"])
        measures[case.params["measure"]][key] = case.summary.median
    for case in result.group("helpers"):
        helpers[(case.params["main"], case.params["method"])] = case.summary.median
    return Sweep(
        workers=workers, methods=tuple(result.parameters["methods"]),
        uss=measures["uss"], pss=measures["pss"], rss=measures["rss"], helpers=helpers,
        totals={(main, method): tuple(result.median("total", main=main, method=method,
                                                    workers=count)
                                      for count in range(workers + 1))
                for main, method in programs},
        main_imported={(main, method): imported[main][method]
                       for main, method in programs},
    )


def _handoff(result: Result) -> Handoff:
    growth, total = {}, {}
    for way in HANDOFF_WAYS:
        idle = result.case("handoff_uss", way=way, state="idle").samples
        holding = result.case("handoff_uss", way=way, state="holding").samples
        # Both lists hold the same workers in the same order (by pid, run after run).
        growth[way] = _median([after - before for before, after in zip(idle, holding,
                                                                          strict=True)])
        idle_totals = result.case("handoff_total", way=way, state="idle").samples
        holding_totals = result.case("handoff_total", way=way, state="holding").samples
        total[way] = _median([after - before for before, after in zip(
            idle_totals, holding_totals, strict=True)])
    handoff = result.values["handoff"]
    return Handoff(array_bytes=handoff["array_bytes"], receivers=handoff["receivers"],
                   worker_growth=growth, total_growth=total)


def _leak(result: Result) -> Leak:
    parameters = result.parameters
    series = {}
    for way in LEAK_WAYS:
        cases = sorted((case for case in result.group("leak") if case.params["way"] == way),
                       key=lambda case: case.params["task"])
        series[way] = tuple(case.samples[0] for case in cases)
    return Leak(
        leak_bytes=parameters["leak_bytes"], tasks=parameters["leak_tasks"],
        tasks_per_child=parameters["tasks_per_child"],
        pool_method=parameters["pool_method"], executor_method=parameters["executor_method"],
        series=series,
        elapsed={way: result.median("leak_time", way=way) for way in LEAK_WAYS},
        workers={way: int(result.median("leak_workers", way=way)) for way in LEAK_WAYS},
    )


def _stall(stall: dict[str, Any]) -> Stall:
    return Stall(python=stall["python"], method=stall["method"], tasks=stall["tasks"],
                 tasks_per_child=stall["tasks_per_child"], completed=stall["completed"],
                 patience_s=stall["patience_s"])


# ---------------------------------------------------------------------------------------
# The data-dependent sentences, each a whole sentence chosen by the data.


def short_answer(fork: Fork, sweep: Sweep) -> str:
    """The short answer's measured sentence: three figures at most."""
    objects, array = format_bytes(fork.copied("objects")), format_bytes(fork.copied("array"))
    spawn = format_bytes(sweep.uss[("heavy", "spawn")])
    records = format_count(fork.records)
    if fork.objects_share >= COPIED_MOST and fork.array_share < SHARED_BELOW:
        return (f"Here a forked worker that only read {records} inherited Python objects "
                f"copied {objects} of them, one that read an inherited numpy array copied "
                f"{array}, and a spawn worker of a script that imports numpy and pandas "
                f"cost {spawn} before doing any work.")
    return (f"Here a forked worker that only read {records} inherited Python objects copied "
            f"{objects}, one that read an inherited numpy array copied {array}, and a spawn "
            f"worker of a script that imports numpy and pandas cost {spawn} before doing any "
            "work; the section on fork says how that compares with what the kernel "
            "promises.")


def objects_sentence(fork: Fork) -> str:
    """What reading the inherited Python objects copied."""
    copied, share = format_bytes(fork.copied("objects")), fork.objects_share
    if share >= COPIED_MOST:
        return (f"The reader that went through every object copied {copied}, "
                f"{share:.0%} of what the structure took in the parent, although it wrote "
                "nothing to any of them.")
    return (f"The reader that went through every object copied only {copied}, "
            f"{share:.0%} of what the structure took in the parent: on this interpreter "
            "reading an object did not write to most of its pages.")


def array_sentence(fork: Fork) -> str:
    """What reading the inherited numpy array copied."""
    copied, size = format_bytes(fork.copied("array")), format_bytes(fork.array_bytes)
    if fork.array_share < SHARED_BELOW:
        return (f"The reader of the {size} array copied {copied}: its buffer stayed shared "
                "with the parent.")
    return (f"The reader of the {size} array copied {copied}, "
            f"{fork.array_share:.0%} of it: more of the array was copied than reading "
            "alone explains, and the spread table shows whether that held in every run.")


def freeze_sentence(fork: Fork) -> str:
    """What gc.freeze() saved, for the collecting reader and for the reading one."""
    collect, collect_frozen = fork.copied("collect"), fork.copied("collect", frozen=True)
    read, read_frozen = fork.copied("objects"), fork.copied("objects", frozen=True)
    figures = (f"A reader that ran gc.collect() copied {format_bytes(collect)} without "
               f"gc.freeze() and {format_bytes(collect_frozen)} with it; the reader of every "
               f"object copied {format_bytes(read)} without it and {format_bytes(read_frozen)} "
               "with it.")
    saved = collect > 0 and collect_frozen < FREEZE_SAVES_BELOW * collect
    no_help = read > 0 and read_frozen > FREEZE_NO_HELP * read
    if saved and no_help:
        return (f"{figures} So freezing saved the collector's copies and none of the "
                "reference counts'.")
    if saved:
        return (f"{figures} So freezing saved the collector's copies, and here some of the "
                "reader's too.")
    return (f"{figures} Here freezing did not save the collector's copies either; the "
            "spread table shows whether the runs agree.")


def imports_sentence(sweep: Sweep) -> str:
    """How much the main module's imports added to each spawn worker."""
    light, heavy = sweep.uss[("light", "spawn")], sweep.uss[("heavy", "spawn")]
    figures = (f"One spawn worker held {format_bytes(light)} of its own with the light main "
               f"module and {format_bytes(heavy)} with the one that imports numpy and pandas")
    if heavy >= IMPORTS_MATTER_FROM * light:
        return (f"{figures}: {format_ratio(heavy / light)} as much, all of it the main "
                "module's imports, done again in every worker.")
    return (f"{figures}: the imports of the main module made little difference here, "
            f"{format_ratio(heavy / light)} as much.")


def forkserver_sentence(sweep: Sweep) -> str:
    """Whether forkserver workers imported the main module themselves, and what it cost."""
    imported = sweep.main_imported.get(("heavy", "forkserver"))
    forkserver = format_bytes(sweep.uss[("heavy", "forkserver")])
    spawn = format_bytes(sweep.uss[("heavy", "spawn")])
    if imported:
        return (f"On this Python every forkserver worker imported the main module itself, "
                f"so each held {forkserver} of its own, about as much as a spawn worker's "
                f"{spawn}: the fork server had not imported the main module before forking "
                "them.")
    return (f"On this Python the fork server imported the main module once and forked "
            f"every worker from it, so each held only {forkserver} of its own, against "
            f"{spawn} for a spawn worker.")


def preload_sentence(sweep: Sweep) -> str:
    """What preloading numpy and pandas in the fork server saved."""
    if not sweep.has("heavy", "forkserver_preload"):
        return "This platform offers no forkserver, so preloading was not measured."
    preloaded = sweep.uss[("heavy", "forkserver_preload")]
    plain = sweep.uss[("heavy", "forkserver")]
    server = sweep.helpers[("heavy", "forkserver_preload")]
    figures = (f"With numpy and pandas preloaded, the fork server and the resource tracker "
               f"held {format_bytes(server)} between them, and each worker "
               f"{format_bytes(preloaded)} of its own instead of {format_bytes(plain)}")
    if preloaded < FREEZE_SAVES_BELOW * plain:
        return f"{figures}: the workers share the server's imports."
    return f"{figures}: preloading saved little here."


def totals_sentence(sweep: Sweep) -> str:
    """The heavy program's total with every worker running, under the main methods."""
    count = sweep.workers
    parts = [f"{format_bytes(sweep.at('heavy', method))} with {METHOD_LABELS[method]}"
             for method in ("fork", "spawn", "threads") if sweep.has("heavy", method)]
    alone = format_bytes(sweep.at("heavy", "threads", 0))
    return (f"With the heavy main module and {count} workers, the whole program held "
            f"{_spoken(parts)}; alone, before any worker started, it held {alone}.")


def spawn_fork_sentence(found: Findings) -> str:
    """Which start method's workers cost less here, against article 003's claim."""
    sweep, fork = found.sweep, found.fork
    fork_each, spawn_each = sweep.marginal("heavy", "fork"), sweep.marginal("heavy", "spawn")
    each = (f"each fork worker of the heavy program added {format_bytes(fork_each)} and each "
            f"spawn worker {format_bytes(spawn_each)}")
    if spawn_each < fork_each:
        return f"Here spawn did cost less: {each}."
    collected, light_spawn = fork.copied("collect"), sweep.uss[("light", "spawn")]
    if collected > light_spawn:
        return (f"Here {each}. Spawn comes out ahead only where fork workers write to much of "
                f"what they inherit: the reader that ran gc.collect() in the fork section "
                f"copied {format_bytes(collected)}, more than the {format_bytes(light_spawn)} "
                "of a whole spawn worker of the light program.")
    return (f"Here {each}, and even the reader that ran gc.collect() in the fork section "
            f"copied only {format_bytes(collected)}, less than the "
            f"{format_bytes(light_spawn)} of a whole spawn worker of the light program.")


def _spoken(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def fork_gc_sentence(sweep: Sweep) -> str:
    """What one full collection cost each fork worker of the heavy program."""
    idle, collected = sweep.uss[("heavy", "fork")], sweep.uss[("heavy", "fork_gc")]
    figures = (f"A fork worker of the heavy program held {format_bytes(idle)} of its own; "
               f"after one gc.collect() it held {format_bytes(collected)}")
    if collected >= 2 * idle:
        return (f"{figures}, the pages of the parent's tracked objects (the modules, "
                "classes and functions that importing numpy and pandas had created) that the "
                "collector wrote to.")
    return f"{figures}: the collection copied little of the parent's memory here."


#: The same kinds as the fill table's rows name them (all of the heavy program but the
#: reader of objects, which belongs to the fork section).
FILL_ROWS = {
    "fork": "fork, idle",
    "fork_gc": "fork, after gc.collect()",
    "forkserver_preload": "forkserver, preloaded",
    "forkserver": "forkserver",
    "spawn": "spawn",
    "objects": "fork, read every object",
}
#: What each kind of worker in the fill sentences is, by key.
FILL_KINDS = {
    "fork": "idle fork worker of the heavy program",
    "fork_gc": "fork worker of the heavy program after gc.collect()",
    "forkserver_preload": "forkserver worker of the heavy program, numpy and pandas preloaded",
    "forkserver": "forkserver worker of the heavy program",
    "spawn": "spawn worker of the heavy program",
    "objects": "fork worker that read all the Python objects it inherited",
}


def fill_costs(found: Findings) -> dict[str, float]:
    """What one more worker of each kind costs the program, by :data:`FILL_KINDS` key:
    the sweep's growth per further worker, and for the fork section's reader of every
    object, its USS (what it holds alone)."""
    sweep = found.sweep
    costs = {method: sweep.marginal("heavy", method) for method in FILL_KINDS
             if sweep.has("heavy", method)}
    costs["objects"] = found.fork.uss["objects"]
    return costs


def _a(noun_phrase: str) -> str:
    """The phrase with its indefinite article: ``"an idle fork worker"``."""
    return f"{'an' if noun_phrase[0] in 'aeiou' else 'a'} {noun_phrase}"


def workers_to_fill(available: float, cost: float) -> float:
    """How many workers costing ``cost`` each the ``available`` memory would hold."""
    return available / cost if cost > 0 else math.inf


def costliest(found: Findings) -> tuple[str, float]:
    """The kind of worker that costs the most, and its cost."""
    costs = fill_costs(found)
    kind = max(costs, key=costs.__getitem__)
    return kind, costs[kind]


def fill_sentence(found: Findings) -> str:
    """How many of the costliest workers would fill the memory available, against CPUs."""
    machine = found.machine
    kind, cost = costliest(found)
    count = workers_to_fill(machine.available, cost)
    figures = (f"The costliest kind measured, {_a(FILL_KINDS[kind])}, added "
               f"{format_bytes(cost)} to its program, so the {format_bytes(machine.available)} "
               f"available when the run began would hold about {format_count(count)} of them")
    if count <= PLAUSIBLE_WORKERS_PER_CPU * machine.cpus:
        return (f"{figures}: no more than {PLAUSIBLE_WORKERS_PER_CPU} per usable CPU, a pool "
                "size people do start. On this machine, memory can run out before the CPUs "
                "do.")
    return (f"{figures}, {format_count(count / machine.cpus)} per usable CPU. On this "
            f"machine the {machine.cpus} CPUs run out long before the memory does: too many "
            "processes cost time here well before they cost memory.")


def swap_sentence(machine: Machine) -> str:
    """What running out of memory would do on this machine."""
    if machine.swap_total == 0:
        return ("This machine has no swap space, so running out of memory would not slow "
                "the program by swapping: the kernel's out-of-memory killer would end a "
                "process instead.")
    return (f"This machine has {format_bytes(machine.swap_total)} of swap space, so past "
            "the available memory the kernel would start writing pages to disk, and every "
            "process that touches one would wait for it.")


def bound_sentence(machine: Machine) -> str:
    """That the run stayed within its bound, and what the bound is."""
    largest, budget = format_bytes(machine.largest_total), format_bytes(machine.budget)
    if machine.largest_total <= machine.budget:
        return (f"The largest total any program of this experiment reached was {largest}, "
                f"within its bound of {budget} (a tenth of the available memory, at most "
                "2 GiB): nothing here came near swapping.")
    return (f"The largest total any program of this experiment reached was {largest}, more "
            f"than its bound of {budget}: the sizes are estimated before the run, and this "
            "machine's programs came out larger than estimated.")


def passed_sentence(handoff: Handoff) -> str:
    """What passing the array as a task argument cost each worker and the program."""
    size, receivers = format_bytes(handoff.array_bytes), handoff.receivers
    each = format_bytes(handoff.worker_growth["passed"])
    total = format_bytes(handoff.total_growth["passed"])
    if handoff.worker_growth["passed"] >= COPY_SHARE * handoff.array_bytes:
        return (f"Passed as the task argument, the {size} array grew each of the "
                f"{receivers} workers by {each} and the program by {total}: each worker "
                "unpickled a copy of its own.")
    return (f"Passed as the task argument, the {size} array grew each of the {receivers} "
            f"workers by only {each}, and the program by {total}: less than a copy each.")


def kept_shared_sentence(handoff: Handoff) -> str:
    """What inheriting or sharing the array cost."""
    inherited = format_bytes(handoff.worker_growth["inherited"])
    shared = format_bytes(handoff.worker_growth["shared"])
    small = max(handoff.worker_growth["inherited"],
                handoff.worker_growth["shared"]) < SHARED_BELOW * handoff.array_bytes
    if small:
        return (f"Inherited through fork, it grew each worker by {inherited}; in "
                f"shared_memory, by {shared}: every worker read the same pages.")
    return (f"Inherited through fork, it grew each worker by {inherited}; in shared_memory, "
            f"by {shared}: more than the page tables and bookkeeping that sharing should "
            "cost, which the spread table may explain.")


def leak_sentence(leak: Leak) -> str:
    """How far the leaking worker grew without a limit, and with one."""
    limit = leak.tasks_per_child
    grew = (f"Without a limit, the worker's USS grew from {format_bytes(leak.first('pool'))} "
            f"after the first task to {format_bytes(leak.peak('pool'))} after the "
            f"{leak.tasks}th")
    if leak.growth("pool_limited") < BOUNDED_BELOW * leak.growth("pool"):
        return (f"{grew}; with maxtasksperchild={limit} no worker passed "
                f"{format_bytes(leak.peak('pool_limited'))}, and with the executor's "
                f"max_tasks_per_child={limit}, {format_bytes(leak.peak('executor_limited'))}.")
    return (f"{grew}; with maxtasksperchild={limit} a worker still reached "
            f"{format_bytes(leak.peak('pool_limited'))}: the limit did not bound it here.")


def leak_cost_sentence(leak: Leak) -> str:
    """What replacing the workers cost in processes and time."""
    plain, limited = leak.elapsed["pool"], leak.elapsed["pool_limited"]
    return (f"The price is a new worker every {leak.tasks_per_child} tasks: the pool ran the "
            f"{leak.tasks} tasks on {leak.workers['pool_limited']} processes in "
            f"{format_seconds(limited)}, against one process in {format_seconds(plain)} "
            f"without the limit; the executor, which may not use fork and started its workers "
            f"with {leak.executor_method}, took "
            f"{format_seconds(leak.elapsed['executor_limited'])} on "
            f"{leak.workers['executor_limited']}.")


def stall_sentence(stall: Stall) -> str:
    """Whether the executor with max_tasks_per_child finished a backlog of tasks."""
    setting = (f"With all {stall.tasks} tasks queued at once on one worker and "
               f"max_tasks_per_child={stall.tasks_per_child}")
    if stall.stalled:
        return (f"{setting}, this build's Python {stall.python} ran {stall.completed} of "
                f"them and then nothing for {format_seconds(stall.patience_s)}: the "
                "executor did not replace its worker (CPython issue 115634), so submit "
                "tasks one at a time, as above, or use a Pool.")
    return (f"{setting}, this build's Python {stall.python} ran every one of them: it "
            "replaces its workers with tasks waiting (CPython issue 115634 is fixed in it).")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter measured, one line each, for the table after the short answer."""
    machine, fork, sweep, handoff, leak = (found.machine, found.fork, found.sweep,
                                           found.handoff, found.leak)
    size = format_bytes
    return [
        ("this machine's memory",
         f"{size(machine.total)}, {size(machine.available)} available; swap: "
         f"{size(machine.swap_total) if machine.swap_total else 'none'}"),
        (f"a forked worker that reads {fork.records:,} inherited Python objects "
         f"({size(fork.structure_bytes)})", f"copies {size(fork.copied('objects'))}"),
        (f"a forked worker that reads an inherited {size(fork.array_bytes)} numpy array",
         f"copies {size(fork.copied('array'))}"),
        ("a forked worker that runs gc.collect(), without / with gc.freeze()",
         f"copies {size(fork.copied('collect'))} / "
         f"{size(fork.copied('collect', frozen=True))}"),
        ("one spawn worker: light main module / main module imports numpy + pandas",
         f"{size(sweep.uss[('light', 'spawn')])} / {size(sweep.uss[('heavy', 'spawn')])}"),
        (f"the heavy program with {sweep.workers} workers: fork / spawn / threads",
         " / ".join(size(sweep.at("heavy", method)) for method in ("fork", "spawn", "threads"))),
        (f"a {size(handoff.array_bytes)} array passed to each of {handoff.receivers} pool "
         "workers", f"each worker grows by {size(handoff.worker_growth['passed'])}"),
        (f"a task leaking {size(leak.leak_bytes)}, {leak.tasks} tasks: no limit / "
         f"{leak.tasks_per_child} tasks per worker",
         f"largest worker {size(leak.peak('pool'))} / {size(leak.peak('pool_limited'))}"),
    ]


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    machine, fork, sweep, handoff, leak, stall = (found.machine, found.fork, found.sweep,
                                                  found.handoff, found.leak, found.stall)
    size = format_bytes
    return {
        "mem_short_answer": short_answer(fork, sweep),
        "mem_cpus": machine.cpus,
        "mem_python": machine.python,
        "mem_records": f"{fork.records:,}",
        "mem_structure": size(fork.structure_bytes),
        "mem_array": size(fork.array_bytes),
        "mem_objects_sentence": objects_sentence(fork),
        "mem_array_sentence": array_sentence(fork),
        "mem_freeze_sentence": freeze_sentence(fork),
        "mem_workers": sweep.workers,
        "mem_imports_sentence": imports_sentence(sweep),
        "mem_forkserver_sentence": forkserver_sentence(sweep),
        "mem_preload_sentence": preload_sentence(sweep),
        "mem_totals_sentence": totals_sentence(sweep),
        "mem_spawn_fork_sentence": spawn_fork_sentence(found),
        "mem_fork_gc_sentence": fork_gc_sentence(sweep),
        "mem_thread_cost": size(sweep.marginal("heavy", "threads")),
        "mem_available": size(machine.available),
        "mem_fill_sentence": fill_sentence(found),
        "mem_swap_sentence": swap_sentence(machine),
        "mem_bound_sentence": bound_sentence(machine),
        "mem_handoff_array": size(handoff.array_bytes),
        "mem_receivers": handoff.receivers,
        "mem_passed_sentence": passed_sentence(handoff),
        "mem_kept_shared_sentence": kept_shared_sentence(handoff),
        "mem_leak_bytes": size(leak.leak_bytes),
        "mem_leak_tasks": leak.tasks,
        "mem_tasks_per_child": leak.tasks_per_child,
        "mem_leak_sentence": leak_sentence(leak),
        "mem_leak_cost_sentence": leak_cost_sentence(leak),
        "mem_stall_sentence": stall_sentence(stall),
        "mem_spawn_worker": size(sweep.uss[("heavy", "spawn")]),
        "mem_light_spawn_worker": size(sweep.uss[("light", "spawn")]),
        "mem_fork_worker": size(sweep.uss[("heavy", "fork")]),
        "mem_preload_worker": (size(sweep.uss[("heavy", "forkserver_preload")])
                               if sweep.has("heavy", "forkserver_preload") else "n/a"),
        "mem_objects_copied": size(fork.copied("objects")),
        "mem_array_copied": size(fork.copied("array")),
        "mem_collect_copied": size(fork.copied("collect")),
        "mem_collect_frozen_copied": size(fork.copied("collect", frozen=True)),
        "mem_passed_each": size(handoff.worker_growth["passed"]),
        "mem_inherited_each": size(handoff.worker_growth["inherited"]),
        "mem_shared_each": size(handoff.worker_growth["shared"]),
        "mem_leak_peak": size(leak.peak("pool")),
        "mem_leak_peak_limited": size(leak.peak("pool_limited")),
    }


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


def memory_pressure_claim(found: Findings) -> Judgement:
    """Article 000: using many forks makes memory use too large, which leads to swapping,
    which blocks the processes. Judged from what each kind of worker costs and how many
    would fill this machine's available memory; the run never fills it, so the swapping
    and the slow-down are not measured."""
    machine = found.machine
    costs = fill_costs(found)
    kind, cost = costliest(found)
    count = workers_to_fill(machine.available, cost)
    cheap = min(costs, key=costs.__getitem__)
    figures = (f"Each worker cost the program from {format_bytes(costs[cheap])} "
               f"({_a(FILL_KINDS[cheap])}) to {format_bytes(cost)} ({_a(FILL_KINDS[kind])}), "
               "so the "
               f"{format_bytes(machine.available)} available would hold about "
               f"{format_count(count)} of the costliest")
    unmeasured = ("Swapping and the slow-down it brings are not measured: the run stays "
                  "within a tenth of the available memory.")
    if count <= PLAUSIBLE_WORKERS_PER_CPU * machine.cpus:
        return Judgement(Verdict.PARTLY, (
            f"{figures}, no more than {PLAUSIBLE_WORKERS_PER_CPU} per usable CPU: enough "
            f"forks can fill this machine's memory, as the article warns. {unmeasured}"))
    return Judgement(Verdict.PARTLY, (
        f"{figures}, {format_count(count / machine.cpus)} per usable CPU: processes do "
        "cost memory, but here it would take far more of them than any pool sized to the "
        f"{machine.cpus} CPUs to fill it; what workers copy matters more than how many "
        f"forks there are. {unmeasured}"))


def spawn_memory_claim(found: Findings) -> Judgement:
    """Article 003: fork copies the parent for the child and takes more memory; spawn
    hands the child only what it needs, and so uses less memory. Judged per worker and in
    total for the heavy program, and against a fork worker that collected garbage in a
    parent holding many objects (the case where fork's sharing breaks down most)."""
    sweep, fork = found.sweep, found.fork
    count = sweep.workers
    fork_each, spawn_each = sweep.marginal("heavy", "fork"), sweep.marginal("heavy", "spawn")
    fork_total, spawn_total = sweep.at("heavy", "fork"), sweep.at("heavy", "spawn")
    figures = (f"With the main module importing numpy and pandas, each fork worker added "
               f"{format_bytes(fork_each)} and each spawn worker {format_bytes(spawn_each)}; "
               f"with {count} workers the program held {format_bytes(fork_total)} under fork "
               f"and {format_bytes(spawn_total)} under spawn.")
    if spawn_each < fork_each and spawn_total < fork_total:
        return Judgement(Verdict.HOLDS, f"{figures} Spawn used less, as the article says.")
    collected = fork.copied("collect")
    light_spawn = sweep.uss[("light", "spawn")]
    if collected > light_spawn:
        return Judgement(Verdict.PARTLY, (
            f"{figures} Fork used less. Spawn wins only where fork workers write to much "
            f"of what they inherit: a fork worker that ran gc.collect() in a parent holding "
            f"{fork.records:,} objects copied {format_bytes(collected)}, more than the "
            f"{format_bytes(light_spawn)} of a whole spawn worker of a light script, a copy "
            "that gc.freeze() avoids."))
    return Judgement(Verdict.FAILS, (
        f"{figures} Fork used less, and even a fork worker that ran gc.collect() in a parent "
        f"holding {fork.records:,} objects copied only {format_bytes(collected)}, less than "
        f"the {format_bytes(light_spawn)} of a spawn worker of a light script."))


def copy_memory_size_claim(handoff: Handoff) -> Judgement:
    """Article 002: passing large objects to processes makes each process create its own
    copy of the data, adding a lot of memory use. Judged by an array passed as the task
    argument to each worker of a pool, against the same array inherited or shared."""
    size, receivers = format_bytes(handoff.array_bytes), handoff.receivers
    each = format_bytes(handoff.worker_growth["passed"])
    others = (f"Inherited through fork or kept in shared_memory, the same array grew them "
              f"by {format_bytes(handoff.worker_growth['inherited'])} and "
              f"{format_bytes(handoff.worker_growth['shared'])}.")
    return judge(
        handoff.worker_growth["passed"] >= COPY_SHARE * handoff.array_bytes,
        (f"An array of {size} passed as the task argument to each of {receivers} pool "
         f"workers grew each worker by {each}: every worker unpickled a copy of its own. "
         f"{others}"),
        (f"An array of {size} passed as the task argument to each of {receivers} pool "
         f"workers grew each worker by only {each}, less than a copy of it. {others}"))


def copy_per_receiver_claim(handoff: Handoff) -> Judgement:
    """Article 003: a Pipe or a Queue hands each receiver its own deep copy, so the more
    receivers, the more memory. Judged by an array sent to every worker of a pool through
    the pool's task pipe, against the same array in shared memory."""
    size, receivers = format_bytes(handoff.array_bytes), handoff.receivers
    total = format_bytes(handoff.total_growth["passed"])
    shared = format_bytes(handoff.total_growth["shared"])
    return judge(
        handoff.total_growth["passed"] >= COPY_SHARE * receivers * handoff.array_bytes,
        (f"Sent to {receivers} workers through a pool's task pipe, an array of {size} added "
         f"{total} to the program, {handoff.copies('passed'):.1f} times its size: a copy "
         f"for every receiver. Kept in shared_memory and passed by name, it added {shared}."),
        (f"Sent to {receivers} workers through a pool's task pipe, an array of {size} added "
         f"only {total} to the program, less than a copy per receiver; in shared_memory "
         f"it added {shared}."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a000_memory_pressure": memory_pressure_claim(found),
        "a002_copy_memory_size": copy_memory_size_claim(found.handoff),
        "a003_spawn_memory": spawn_memory_claim(found),
        "a003_copy_per_receiver_memory": copy_per_receiver_claim(found.handoff),
    }
