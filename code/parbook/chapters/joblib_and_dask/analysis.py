"""What the joblib-and-Dask chapter concludes from one result: findings per section, the
texts (every sentence and number the page glues), and the cells of the part's decision
table this chapter owns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.bench.stats import break_even
from parbook.chapters.joblib_and_dask.experiment import (
    HANDOFF_LABELS,
    SWEEP_LABELS,
    WORKLOAD_LABELS,
)
from parbook.claims import Judgement
from parbook.render.formatting import (
    counted,
    format_bytes,
    format_count,
    format_ratio,
    format_seconds,
    spoken_list,
)

#: Two times within this factor of each other are called level: repeated timings of one
#: case on a shared two-core machine vary by about this much.
LEVEL = 1.1
#: joblib's memory-mapping counts as working when the worker saw this type.
MEMMAP_TYPE = "memmap"
#: A generator's peak memory counts as bounded when it stayed under this share of all the
#: results together (what a list holds at the end).
BOUNDED_SHARE = 0.5

#: Short names of the sweep's backends and the workloads' versions, for cells and sentences.
SWEEP_NAMES = {
    "serial": "one process",
    "pool_map": "Pool.map",
    "joblib_auto": 'joblib (batch_size="auto")',
    "joblib_one": "joblib (batch_size=1)",
    "dask": "Dask",
    "ray": "Ray",
}
VERSION_NAMES = {
    "serial": "serial code",
    "pool": "a Pool that pickles (the article's code)",
    "fair_mp": "multiprocessing done fairly",
    "joblib": "joblib",
    "dask": "Dask",
    "ray": "Ray",
}
#: Shorter still, for the decision table's cells.
VERSION_CELLS = {
    "serial": "serial code",
    "pool": "Pool (pickling)",
    "fair_mp": "multiprocessing (fair)",
    "joblib": "joblib",
    "dask": "Dask",
    "ray": "Ray",
}


@dataclass(frozen=True)
class Setting:
    """The machine and the tools that ran the chapter."""

    cpus: int
    workers: int
    worker_start_method: str
    default_start_method: str
    versions: dict[str, str]
    ray_address: str


@dataclass(frozen=True)
class Reuse:
    """One call of a few short tasks: a new Pool each time, joblib's first and next call."""

    tasks: int
    new_pool: float
    joblib_first: float
    joblib_second: float
    #: Every next call's tasks ran in processes its first call had started.
    second_reused: bool
    #: After a change of settings (an initializer), joblib's tasks ran in new processes.
    changed_restarted: bool

    @property
    def pool_over_second(self) -> float:
        return self.new_pool / self.joblib_second

    @property
    def first_over_second(self) -> float:
        return self.joblib_first / self.joblib_second


@dataclass(frozen=True)
class Handoff:
    """One large array handed to one task per worker, three ways."""

    array_bytes: int
    tasks: int
    times: dict[str, float]
    types: dict[str, tuple[str, ...]]
    sums_match: bool

    @property
    def memmap_seen(self) -> bool:
        return self.types["joblib_memmap"] == (MEMMAP_TYPE,)

    @property
    def joblib_gain(self) -> float:
        """How many times faster joblib handed the array over than the pickling Pool."""
        return self.times["pool_pickled"] / self.times["joblib_memmap"]


@dataclass(frozen=True)
class LargeResults:
    """joblib tasks with large results, as a list and as a generator."""

    tasks: int
    result_bytes: int
    all_bytes: int
    first: dict[str, float]
    done: dict[str, float]
    peak: dict[str, int]
    match: bool

    @property
    def bounded(self) -> bool:
        return self.peak["generator"] < BOUNDED_SHARE * self.all_bytes


@dataclass(frozen=True)
class RoundTrips:
    """Seconds per round trip of a task that returns at once, by channel."""

    times: dict[str, float]

    def over_floor(self, channel: str) -> float:
        return self.times[channel] / self.times["os_pipe"]


@dataclass(frozen=True)
class Sweep:
    """Speed-up over one process of equal tasks of each length, by backend."""

    workers: int
    tasks: dict[float, int]
    speedups: dict[str, list[tuple[float, float]]]
    results_match: bool

    @property
    def shortest(self) -> float:
        return min(self.tasks)

    def at(self, backend: str, duration: float) -> float:
        """The speed-up of ``backend`` at task length ``duration`` (1 for one process)."""
        if backend == "serial":
            return 1.0
        return dict(self.speedups[backend])[duration]

    @property
    def break_even(self) -> dict[str, float | None]:
        return {backend: break_even(points) for backend, points in self.speedups.items()}


@dataclass(frozen=True)
class Workload:
    """One of article 002's workloads: each version's median time for the whole job."""

    name: str
    times: dict[str, float]
    agree: bool

    def speedup(self, version: str) -> float:
        return self.times["serial"] / self.times[version]

    def ranked(self) -> list[str]:
        """Versions from fastest to slowest."""
        return sorted(self.times, key=self.times.__getitem__)


@dataclass(frozen=True)
class Purity:
    """The same impure call submitted several times, as a pure and as an impure task:
    how many distinct keys and distinct results each way gave."""

    calls: int
    pure_keys: int
    pure_values: int
    impure_keys: int
    impure_values: int


@dataclass(frozen=True)
class DaskRun:
    """The Dask cluster this run started, and the child that found it by its address."""

    scheduler: str
    workers: int
    threads: tuple[int, ...]
    workers_left: int
    listening_after: tuple[int, ...]
    startup: float
    ray_startup: float
    connect_ok: bool
    connect_scheduler: str
    connect_workers: int
    connect_match: bool
    connect_tasks: int
    connect_task_s: float
    purity: Purity

    @property
    def local_only(self) -> bool:
        return self.scheduler.startswith("tcp://127.0.0.1:")


@dataclass(frozen=True)
class Sizes:
    """What the workloads were made of."""

    image_side: int
    image_bytes: int
    documents: int
    words: int
    popular: int
    model_parameters: int
    model_file_bytes: int
    model_load: float
    batches: int
    batch: int


@dataclass(frozen=True)
class Findings:
    setting: Setting
    reuse: Reuse
    handoff: Handoff
    results: LargeResults
    round_trips: RoundTrips
    sweep: Sweep
    workloads: dict[str, Workload]
    dask: DaskRun
    sizes: Sizes
    loky_left: int


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, values = result.parameters, result.values
    workers = parameters["workers"]
    changed = values["reuse"]["settings_changed"]
    connect = values["connect"]
    dask = values["dask"]
    agree = values["agree"]
    return Findings(
        setting=Setting(
            cpus=parameters["usable_cpus"], workers=workers,
            worker_start_method=parameters["worker_start_method"],
            default_start_method=parameters["default_start_method"],
            versions=dict(values["versions"]),
            ray_address=parameters.get("ray_address", "local"),
        ),
        reuse=Reuse(
            tasks=parameters["reuse_tasks"],
            new_pool=result.median("reuse", way="new_pool"),
            joblib_first=result.median("reuse", way="joblib_first"),
            joblib_second=result.median("reuse", way="joblib_second"),
            second_reused=second_reused(values["reuse"]),
            changed_restarted=not set(changed["before"]) & set(changed["after"]),
        ),
        handoff=Handoff(
            array_bytes=parameters["handoff_bytes"], tasks=workers,
            times={way: result.median("handoff", way=way) for way in HANDOFF_LABELS},
            types={way: tuple(kinds) for way, kinds in values["handoff"]["types"].items()},
            sums_match=values["handoff"]["sums_match"],
        ),
        results=LargeResults(
            tasks=parameters["result_tasks"], result_bytes=parameters["result_bytes"],
            all_bytes=values["results"]["all_results_bytes"],
            first={mode: result.median("results", mode=mode, until="first")
                   for mode in ("list", "generator")},
            done={mode: result.median("results", mode=mode, until="all")
                  for mode in ("list", "generator")},
            peak=dict(values["results"]["peak_bytes"]), match=values["results"]["match"],
        ),
        round_trips=RoundTrips(times={case.params["channel"]: case.summary.median
                                      for case in result.group("round_trip")}),
        sweep=_sweep(result, workers),
        workloads={name: Workload(name=name, times={
            case.params["version"]: case.summary.median for case in result.group("runs")
            if case.params["workload"] == name}, agree=_agrees(agree[name]))
            for name in WORKLOAD_LABELS},
        dask=DaskRun(
            scheduler=dask["scheduler"], workers=len(dask["worker_pids"]),
            threads=tuple(dask["threads"]), workers_left=dask["workers_left"],
            listening_after=tuple(dask["listening_after"]),
            startup=result.median("startup", what="dask_cluster"),
            ray_startup=result.median("startup", what="ray_init"),
            connect_ok=connect["returncode"] == 0 and not connect["killed"],
            connect_scheduler=connect.get("scheduler", ""),
            connect_workers=connect.get("workers", 0),
            connect_match=connect.get("results_match", False),
            connect_tasks=connect["tasks"], connect_task_s=connect["task_s"],
            purity=Purity(
                calls=values["purity"]["calls"],
                pure_keys=values["purity"]["pure"]["keys"],
                pure_values=values["purity"]["pure"]["values"],
                impure_keys=values["purity"]["impure"]["keys"],
                impure_values=values["purity"]["impure"]["values"],
            ),
        ),
        sizes=Sizes(
            image_side=parameters["image_side"], image_bytes=values["image_bytes"],
            documents=workers * parameters["stateful_rounds"], words=parameters["words"],
            popular=values["popular_prefixes"],
            model_parameters=values["model"]["parameters"],
            model_file_bytes=values["model"]["file_bytes"],
            model_load=values["model"]["load_s"],
            batches=workers * parameters["model_rounds"], batch=parameters["batch"],
        ),
        loky_left=values["loky_workers_left"],
    )


def second_reused(reuse: dict[str, Any]) -> bool:
    """True when every next call of joblib ran in the workers its first call started: its
    executor's processes unchanged, and its tasks' PIDs among them."""
    executor, tasks = reuse["executor_pids"], reuse["pids"]["joblib_second"]
    return all(
        bool(first) and first == second and set(ran_in) <= set(first)
        for first, second, ran_in in zip(executor["joblib_first"], executor["joblib_second"],
                                         tasks, strict=True))


def _agrees(recorded: bool | float) -> bool:
    """A workload's agreement: True, or the share of equal labels (which must be 1)."""
    return recorded is True or recorded == 1


def _sweep(result: Result, workers: int) -> Sweep:
    serial: dict[float, float] = {}
    tasks: dict[float, int] = {}
    for case in result.group("sweep"):
        if case.params["backend"] == "serial":
            serial[case.params["task_s"]] = case.summary.median
            tasks[case.params["task_s"]] = case.params["tasks"]
    speedups: dict[str, list[tuple[float, float]]] = {}
    for case in result.group("sweep"):
        backend = case.params["backend"]
        if backend != "serial":
            duration = case.params["task_s"]
            speedups.setdefault(backend, []).append(
                (duration, serial[duration] / case.summary.median))
    return Sweep(workers=workers, tasks=tasks,
                 speedups={b: sorted(points) for b, points in speedups.items()},
                 results_match=result.values["sweep_results_match"])


# ---------------------------------------------------------------------------------------
# Sentences, each chosen by the data.


def times_as_fast(faster: float, slower: float) -> str:
    """``"3.1× as fast as"`` or, when the two are level, ``"about as fast as"``."""
    ratio = slower / faster
    if 1 / LEVEL <= ratio <= LEVEL:
        return "about as fast as"
    return f"{format_ratio(ratio)} as fast as"


def reuse_sentence(reuse: Reuse) -> str:
    """What joblib's second call cost against its first and against a new Pool."""
    second, first = format_seconds(reuse.joblib_second), format_seconds(reuse.joblib_first)
    pool = format_seconds(reuse.new_pool)
    where = ("in the processes the first call had started" if reuse.second_reused
             else "though not only in the processes the first call had started")
    if reuse.joblib_second * LEVEL < reuse.new_pool:
        return (f"The next call took {second}, {where}, against {first} for the first; a "
                f"Pool made for the call took {pool} every time.")
    return (f"The next call took {second}, {where}, against {first} for the first; a Pool "
            f"made for the call took {pool}, so on this machine starting a pool cost no more "
            "than a joblib call.")


def settings_sentence(reuse: Reuse) -> str:
    """Whether changing joblib's settings gave it new workers."""
    if reuse.changed_restarted:
        return ("When the initialisation workload below gave joblib an initializer, its "
                "next call ran in new processes: loky keeps its workers only while the "
                "settings of the calls stay the same, and starts new ones, at the first "
                "call's price, when they change.")
    return ("When the initialisation workload below gave joblib an initializer, its next "
            "call still ran in a process it had before: the settings' change did not "
            "restart the workers here.")


def memmap_sentence(handoff: Handoff) -> str:
    """What type the workers saw the array as, each way."""
    joblib_types = spoken_list(f"numpy.{kind}" for kind in handoff.types["joblib_memmap"])
    pool_types = spoken_list(f"numpy.{kind}" for kind in handoff.types["pool_pickled"])
    if handoff.memmap_seen:
        return (f"Each worker was handed a {joblib_types} by joblib, a read-only view of "
                f"the file joblib wrote, and a {pool_types} of its own by the Pool.")
    return (f"Here joblib's workers were handed a {joblib_types}, not a memory map: the "
            "array was pickled to them as a Pool does.")


def handoff_sentence(handoff: Handoff) -> str:
    """How the three ways of handing the array over compare."""
    times = {way: format_seconds(seconds) for way, seconds in handoff.times.items()}
    joblib_s, pool_s = handoff.times["joblib_memmap"], handoff.times["pool_pickled"]
    both = f"({times['joblib_memmap']} against {times['pool_pickled']})"
    if joblib_s * LEVEL < pool_s:
        verdict = (f"Through joblib the array reached the workers "
                   f"{times_as_fast(joblib_s, pool_s)} through the Pool {both}")
    elif pool_s * LEVEL < joblib_s:
        verdict = (f"Through joblib the array took longer to reach the workers than "
                   f"through the Pool here {both}")
    else:
        verdict = (f"Through joblib the array reached the workers about as fast as "
                   f"through the Pool here {both}")
    return (f"{verdict}; the fair version, which copies the array once into shared memory "
            f"the workers had attached, took {times['shared_memory']}.")


def handoff_cost_sentence(handoff: Handoff) -> str:
    """Why joblib's memory-mapping is not free, against the fair version."""
    if handoff.times["shared_memory"] * LEVEL < handoff.times["joblib_memmap"]:
        return ("The convenience has a price on every call: joblib writes the array to a "
                "new file and removes the file when the call ends, and every worker maps "
                "the file afresh, where the fair version copies the array into memory the "
                "workers mapped long before.")
    return ("The memory-mapping came close to the hand-written shared memory here, with "
            "none of its code.")


def results_sentence(results: LargeResults) -> str:
    """What the generator saved: memory held at once and time to the first result."""
    peak = {mode: format_bytes(value) for mode, value in results.peak.items()}
    first = format_seconds(results.first["generator"])
    total = format_bytes(results.all_bytes)
    if results.bounded:
        return (f"With a list, this process held up to {peak['list']} at once (all "
                f"{total} of results, and their copies in transit); with a generator, "
                f"{peak['generator']}, and the first result was in hand after {first}.")
    return (f"With a generator, this process still held up to {peak['generator']} at "
            f"once, against {peak['list']} with a list: results came in faster than "
            "they were consumed, or in batches of several.")


def round_trip_sentence(round_trips: RoundTrips) -> str:
    """Dask's and Ray's per-task cost against the floor and each other."""
    dask, ray = round_trips.times["dask"], round_trips.times["ray"]
    floor = format_seconds(round_trips.times["os_pipe"])
    dask_text = (f"A Dask future took {format_seconds(dask)}, "
                 f"{format_ratio(round_trips.over_floor('dask'))} the floor of {floor}")
    if dask > ray * LEVEL:
        return f"{dask_text}, and a Ray task {format_seconds(ray)}."
    if ray > dask * LEVEL:
        return f"{dask_text}, and a Ray task longer, {format_seconds(ray)}."
    return f"{dask_text}, and a Ray task about as long, {format_seconds(ray)}."


def joblib_call_sentence(round_trips: RoundTrips) -> str:
    """What one joblib call of a single task cost, against Pool.apply."""
    call, apply = round_trips.times["joblib_call"], round_trips.times["pool_apply"]
    both = f"{format_seconds(call)}, against {format_seconds(apply)} for Pool.apply"
    if call > apply * LEVEL:
        return (f"A joblib call of one task cost more than one message: {both}. The loop "
                "that collects a call's results sleeps 10 ms whenever the next result is "
                "not ready yet (time.sleep(0.01) in joblib/parallel.py), one more reason "
                "joblib is for many tasks per call, not one.")
    return (f"A joblib call of one task cost no more than one message here: {both}; its "
            "results were ready whenever its loop that collects them looked.")


def break_even_sentence(sweep: Sweep, backend: str) -> str:
    """Where one backend of the sweep broke even, as a whole sentence."""
    name = SWEEP_NAMES[backend]
    crossing = sweep.break_even[backend]
    best = format_ratio(max(speedup for _, speedup in sweep.speedups[backend]))
    if crossing is None:
        return (f"With {name}, no task length in the sweep beat one process (best "
                f"speed-up: {best}).")
    if crossing == sweep.shortest:
        return (f"With {name}, even tasks of {format_seconds(sweep.shortest)} beat one "
                f"process (best speed-up: {best}).")
    return (f"With {name}, the tasks broke even at about {format_seconds(crossing)} each "
            f"(best speed-up: {best}).")


def batching_sentence(sweep: Sweep) -> str:
    """What joblib's automatic batching did for the shortest tasks."""
    shortest = sweep.shortest
    auto, one = sweep.at("joblib_auto", shortest), sweep.at("joblib_one", shortest)
    tasks, length = format_count(sweep.tasks[shortest]), format_seconds(shortest)
    if auto > one * LEVEL:
        return (f"On {tasks} tasks of {length}, joblib with batch_size=\"auto\" ran "
                f"{format_ratio(auto / one)} as fast as with batch_size=1 "
                f"({format_ratio(auto)} and {format_ratio(one)} of one process): it timed "
                "its first batches and sent the tasks in larger ones.")
    return (f"On {tasks} tasks of {length}, batch_size=\"auto\" gained nothing over "
            f"batch_size=1 here ({format_ratio(auto)} and {format_ratio(one)} of one "
            "process).")


def agreement_sentence(found: Findings) -> str:
    """Whether every version of every workload, and every sweep backend, agreed."""
    workloads = found.workloads.values()
    if all(workload.agree for workload in workloads) and found.sweep.results_match:
        return ("Every version's results equal the serial version's, in every workload "
                "and at every point of the sweep; the run compares them.")
    wrong = [WORKLOAD_LABELS[w.name] for w in workloads if not w.agree]
    if not found.sweep.results_match:
        wrong.append("the tiny-task sweep")
    return (f"Some versions' results differ from the serial version's ({spoken_list(wrong)}):"
            " something in this run went wrong, and its numbers should not be trusted.")


def workload_sentence(workload: Workload) -> str:
    """Which version of a workload was fastest, and by how much, as a whole sentence."""
    ranked = workload.ranked()
    best, runner_up, slowest = ranked[0], ranked[1], ranked[-1]
    times = {version: format_seconds(seconds) for version, seconds in workload.times.items()}
    last = f"the slowest was {VERSION_NAMES[slowest]}, at {times[slowest]}."
    if workload.times[runner_up] <= workload.times[best] * LEVEL:
        return (f"The two fastest versions, {VERSION_NAMES[best]} and "
                f"{VERSION_NAMES[runner_up]}, were level ({times[best]} and "
                f"{times[runner_up]}); {last}")
    return (f"The fastest version was {VERSION_NAMES[best]}, at {times[best]}, "
            f"{times_as_fast(workload.times[best], workload.times[runner_up])} "
            f"{VERSION_NAMES[runner_up]}; {last}")


def dask_sentence(dask: DaskRun) -> str:
    """The cluster's start-up, where it listened, and whether it was gone afterwards."""
    where = ("on 127.0.0.1 only" if dask.local_only
             else f"at {dask.scheduler}, not on 127.0.0.1 alone")
    if dask.workers_left == 0 and not dask.listening_after:
        gone = "once it had closed, none of its processes was left, and no port listened"
    elif dask.workers_left == 0:
        gone = (f"once it had closed, none of its worker processes was left, but this "
                f"process still listened on {counted(len(dask.listening_after), 'port')}")
    else:
        gone = (f"{dask.workers_left} of its worker processes were still running after it "
                "closed")
    return (f"Starting the cluster, {dask.workers} single-threaded workers and a scheduler "
            f"listening {where}, took {format_seconds(dask.startup)}; {gone}.")


def purity_sentence(purity: Purity) -> str:
    """What submitting an impure call as a pure task did, measured."""
    pure = (f"{counted(purity.pure_keys, 'key')} and "
            f"{counted(purity.pure_values, 'distinct result')}")
    impure = (f"{counted(purity.impure_keys, 'key')} and "
              f"{counted(purity.impure_values, 'distinct result')}")
    if purity.pure_keys == 1 and purity.impure_values == purity.calls:
        return (f"Here {purity.calls} submissions of a function that draws a random number "
                f"got {pure} as pure tasks, the same number {purity.calls} times, and "
                f"{impure} with pure=False.")
    return (f"Here {purity.calls} submissions of a function that draws a random number got "
            f"{pure} as pure tasks and {impure} with pure=False.")


def connect_sentence(dask: DaskRun) -> str:
    """What the child program that found the cluster through the variable saw."""
    if dask.connect_ok and dask.connect_match and dask.connect_scheduler == dask.scheduler:
        return (f"The child connected to the scheduler at {dask.connect_scheduler} with its "
                f"{dask.connect_workers} workers, ran {dask.connect_tasks} joblib tasks of "
                f"{format_seconds(dask.connect_task_s)} on them, and got the same results as "
                "one process.")
    if dask.connect_ok:
        return ("The child ran, but did not report the same scheduler or the same results "
                "as one process: something in this run went wrong.")
    return ("The child program failed to connect and run its tasks in this build; its "
            "error is in the result file.")


def short_answer(found: Findings) -> str:
    """The short answer's measured sentence (at most three figures)."""
    reuse, handoff = found.reuse, found.handoff
    reused = reuse.joblib_second * LEVEL < reuse.new_pool
    mapped = handoff.memmap_seen and handoff.joblib_gain > LEVEL
    if reused and mapped:
        return (f"Here a joblib call reusing its workers took "
                f"{format_seconds(reuse.joblib_second)} against "
                f"{format_seconds(reuse.new_pool)} for a new Pool, and joblib handed a "
                f"{format_bytes(handoff.array_bytes)} array to its workers "
                f"{format_ratio(handoff.joblib_gain)} as fast as a Pool that pickles it.")
    if reused:
        return (f"Here a joblib call reusing its workers took "
                f"{format_seconds(reuse.joblib_second)} against "
                f"{format_seconds(reuse.new_pool)} for a new Pool, but its memory-mapping "
                "of a large array did not beat pickling it on this machine.")
    return (f"Here, though, a joblib call took {format_seconds(reuse.joblib_second)} "
            f"against {format_seconds(reuse.new_pool)} for a new Pool, no clear gain; the "
            "sections below say why.")


# ---------------------------------------------------------------------------------------
# The part's decision table: the cells this chapter owns.


def _ranked_cell(names: dict[str, str], scores: dict[str, float], higher_better: bool,
                 what: str) -> str:
    """``"X: 1.3× the speed of Y (next best) WHAT"``, or a level pair when within LEVEL."""
    ranked = sorted(scores, key=scores.__getitem__, reverse=higher_better)
    best, runner_up = ranked[0], ranked[1]
    high, low = ((scores[best], scores[runner_up]) if higher_better
                 else (scores[runner_up], scores[best]))
    if high <= low * LEVEL:
        return f"{names[best]} and {names[runner_up]}, level (within 10%) {what}"
    return f"{names[best]}: {format_ratio(high / low)} the speed of {names[runner_up]} {what}"


def decision_tiny_tasks(sweep: Sweep) -> str:
    """Decision cell: the fastest way to run many tiny tasks, at the sweep's shortest."""
    shortest = sweep.shortest
    scores = {backend: sweep.at(backend, shortest) for backend in SWEEP_LABELS}
    return _ranked_cell(SWEEP_NAMES, scores, True,
                        f"on {format_count(sweep.tasks[shortest])} tasks of "
                        f"{format_seconds(shortest)}")


def decision_tiny_tasks_why(sweep: Sweep) -> str:
    """The decision's reason, as one sentence."""
    shortest = sweep.shortest
    scores = sorted(((sweep.at(b, shortest), b) for b in SWEEP_LABELS), reverse=True)
    listed = spoken_list(f"{SWEEP_NAMES[b]} {format_ratio(s)}" for s, b in scores[:3])
    return (f"On {format_count(sweep.tasks[shortest])} tasks of "
            f"{format_seconds(shortest)} on {sweep.workers} workers, the fastest ran at "
            f"these multiples of one process's speed: {listed}; tools that send every "
            "task on its own pay a round trip per task, which tasks this short cannot "
            "repay.")


def decision_workload(workload: Workload, what: str) -> str:
    """Decision cell: the fastest version of one of article 002's workloads."""
    return _ranked_cell(VERSION_CELLS, workload.times, False, what)


def decision_workload_why(workload: Workload, what: str) -> str:
    """The reason for a workload's decision cell, as one sentence."""
    fastest = workload.ranked()[:3]
    listed = spoken_list(f"{VERSION_CELLS[v]} {format_seconds(workload.times[v])}"
                         for v in fastest)
    # Serial code is the yardstick: named once, among the fastest or after them.
    serial = ("" if "serial" in fastest
              else f" (serial code: {format_seconds(workload.times['serial'])})")
    return (f"On {what}, the fastest versions took {listed}{serial}, medians of runs timed "
            "in turn in one build.")


def decision_cluster(round_trips: RoundTrips) -> str:
    """Decision cell: the tools whose code runs unchanged on a cluster, lighter first."""
    dask, ray = round_trips.times["dask"], round_trips.times["ray"]
    if max(dask, ray) <= min(dask, ray) * LEVEL:
        return "Dask or Ray (the same code on a cluster); their task round trips level here"
    if ray < dask:
        return (f"Ray or Dask (the same code on a cluster); a Ray task's round trip "
                f"{format_ratio(dask / ray)} shorter here")
    return (f"Dask or Ray (the same code on a cluster); a Dask task's round trip "
            f"{format_ratio(ray / dask)} shorter here")


def decision_cluster_why(round_trips: RoundTrips) -> str:
    """The reason for the cluster decision, as one sentence."""
    return ("Dask's Client(address), or DASK_SCHEDULER_ADDRESS, and Ray's RAY_ADDRESS point "
            "unchanged code at a cluster, and joblib reaches one through its Dask backend, "
            "which multiprocessing cannot do; on one machine here a no-op task's round trip "
            f"took {format_seconds(round_trips.times['dask'])} on Dask and "
            f"{format_seconds(round_trips.times['ray'])} on Ray, against "
            f"{format_seconds(round_trips.times['os_pipe'])} for a raw pipe.")


# ---------------------------------------------------------------------------------------
# The summary table and the texts.


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter measured, one line each, for the table after the short answer."""
    reuse, handoff, results = found.reuse, found.handoff, found.results
    rt, seconds = found.round_trips, format_seconds
    rows = [
        ("usable CPUs, workers of every tool", f"{found.setting.cpus}, {found.setting.workers}"),
        (f"{reuse.tasks} short tasks: a new Pool / joblib's first call / its next call",
         f"{seconds(reuse.new_pool)} / {seconds(reuse.joblib_first)} / "
         f"{seconds(reuse.joblib_second)}"),
        (f"a {format_bytes(handoff.array_bytes)} array to {handoff.tasks} tasks: pickled / "
         "joblib's memmap / shared memory",
         " / ".join(seconds(handoff.times[way]) for way in HANDOFF_LABELS)),
        (f"{results.tasks} results of {format_bytes(results.result_bytes)}: most held at "
         "once as a list / as a generator",
         f"{format_bytes(results.peak['list'])} / {format_bytes(results.peak['generator'])}"),
        ("a no-op task's round trip: raw pipe / Dask / Ray",
         f"{seconds(rt.times['os_pipe'])} / {seconds(rt.times['dask'])} / "
         f"{seconds(rt.times['ray'])}"),
        ("starting a Dask cluster / a Ray instance",
         f"{seconds(found.dask.startup)} / {seconds(found.dask.ray_startup)}"),
        (f"fastest on many tasks of {seconds(found.sweep.shortest)}",
         decision_tiny_tasks(found.sweep)),
    ]
    for name, workload in found.workloads.items():
        best = workload.ranked()[0]
        serial = "" if best == "serial" else f" (serial: {seconds(workload.times['serial'])})"
        rows.append((f"fastest on {WORKLOAD_LABELS[name]}",
                     f"{VERSION_CELLS[best]}, {seconds(workload.times[best])}{serial}"))
    return rows


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds = format_seconds
    setting, reuse, handoff, results = found.setting, found.reuse, found.handoff, found.results
    rt, sweep, dask, sizes = found.round_trips, found.sweep, found.dask, found.sizes
    workloads = found.workloads
    numerical_what = f"a {sizes.image_side:,} × {sizes.image_side:,} image"
    stateful_what = f"{sizes.documents} documents of {sizes.words:,} words"
    glued: dict[str, Any] = {
        "jd_cpus": setting.cpus,
        "jd_workers": setting.workers,
        "jd_worker_method": setting.worker_start_method,
        "jd_joblib_version": setting.versions["joblib"],
        "jd_dask_version": setting.versions["distributed"],
        "jd_short_answer": short_answer(found),
        "jd_reuse_tasks": reuse.tasks,
        "jd_reuse_first": seconds(reuse.joblib_first),
        "jd_reuse_sentence": reuse_sentence(reuse),
        "jd_settings_sentence": settings_sentence(reuse),
        "jd_handoff_size": format_bytes(handoff.array_bytes),
        "jd_handoff_tasks": handoff.tasks,
        "jd_memmap_sentence": memmap_sentence(handoff),
        "jd_handoff_sentence": handoff_sentence(handoff),
        "jd_handoff_cost_sentence": handoff_cost_sentence(handoff),
        "jd_results_tasks": results.tasks,
        "jd_result_size": format_bytes(results.result_bytes),
        "jd_results_sentence": results_sentence(results),
        "jd_results_first_list": seconds(results.first["list"]),
        "jd_results_all_generator": seconds(results.done["generator"]),
        "jd_rt_floor": seconds(rt.times["os_pipe"]),
        "jd_rt_dask": seconds(rt.times["dask"]),
        "jd_rt_ray": seconds(rt.times["ray"]),
        "jd_rt_joblib": seconds(rt.times["joblib_call"]),
        "jd_rt_pool": seconds(rt.times["pool_apply"]),
        "jd_rt_sentence": round_trip_sentence(rt),
        "jd_joblib_call_sentence": joblib_call_sentence(rt),
        "jd_sweep_shortest": seconds(sweep.shortest),
        "jd_sweep_longest": seconds(max(sweep.tasks)),
        "jd_batching_sentence": batching_sentence(sweep),
        "jd_dask_sentence": dask_sentence(dask),
        "jd_ray_startup": seconds(dask.ray_startup),
        "jd_connect_sentence": connect_sentence(dask),
        "jd_purity_sentence": purity_sentence(dask.purity),
        "jd_purity_calls": dask.purity.calls,
        "jd_new_pool": seconds(reuse.new_pool),
        "jd_reuse_second": seconds(reuse.joblib_second),
        "jd_handoff_pickled": seconds(handoff.times["pool_pickled"]),
        "jd_handoff_joblib": seconds(handoff.times["joblib_memmap"]),
        "jd_handoff_shared": seconds(handoff.times["shared_memory"]),
        "jd_peak_list": format_bytes(results.peak["list"]),
        "jd_peak_generator": format_bytes(results.peak["generator"]),
        "jd_agreement": agreement_sentence(found),
        "jd_image": numerical_what,
        "jd_image_size": format_bytes(sizes.image_bytes),
        "jd_documents": sizes.documents,
        "jd_words": f"{sizes.words:,}",
        "jd_popular": f"{sizes.popular:,}",
        "jd_model_parameters": f"{sizes.model_parameters:,}",
        "jd_model_file": format_bytes(sizes.model_file_bytes),
        "jd_model_load": seconds(sizes.model_load),
        "jd_batches": sizes.batches,
        "jd_batch": sizes.batch,
        "decision_tiny_tasks": decision_tiny_tasks(sweep),
        "decision_tiny_tasks_why": decision_tiny_tasks_why(sweep),
        "decision_large_numpy": decision_workload(workloads["numerical"],
                                                  f"on {numerical_what}"),
        "decision_large_numpy_why": decision_workload_why(
            workloads["numerical"], f"{numerical_what} filtered once per worker"),
        "decision_stateful": decision_workload(workloads["stateful"], f"on {stateful_what}"),
        "decision_stateful_why": decision_workload_why(
            workloads["stateful"], f"{stateful_what} counted by long-lived counters"),
        "decision_cluster": decision_cluster(rt),
        "decision_cluster_why": decision_cluster_why(rt),
    }
    for name, workload in workloads.items():
        glued[f"jd_{name}_sentence"] = workload_sentence(workload)
    for backend in sweep.speedups:
        glued[f"jd_break_even_{backend}"] = break_even_sentence(sweep, backend)
    return glued


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges: none. No article mentions joblib
    or Dask, and what article 002 says of a fair multiprocessing version is judged in the
    Ray-against-multiprocessing chapter."""
    return {}
