"""What the diagnostics chapter concludes from one result: where the workers' time went in
each timeline, how the hung pool was diagnosed, what oversubscription looked like, the
sentences that depend on them, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.diagnostics.workload import STUCK_ITEM, US
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    counted,
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    spoken_list,
)
from parbook.shared.child import shorten_paths

#: The function the hung pool's stuck worker waits in, which every stack dump must name.
STUCK_FUNCTION = "wait_for_a_lock_nobody_releases"
#: What an idle pool worker's stack shows: it waits for its next task here.
IDLE_FRAME = "SimpleQueue.get"
#: One share of worker time is "larger" than another when it exceeds it by this much
#: (shares are fractions of the workers' total time).
SHARE_MARGIN = 0.05
#: A median gap at least this many times another's is "longer".
GAP_LONGER_FROM = 2.0
#: One BLAS setting is "faster" when the other took at least this many times as long;
#: below it, the two are "about the same".
BLAS_FASTER_FROM = 1.15
#: The frame at which a pool worker's own code begins; the frames below it say how the
#: process was started (under fork, they are the parent's), which the page leaves out.
BOOTSTRAP = "_bootstrap"
#: How many characters of py-spy's "Process PID: command line" header the page keeps.
HEADER_CHARS = 100


@dataclass(frozen=True)
class Machine:
    """Where the chapter ran."""

    cpus: int
    start_method: str
    clock: str


@dataclass(frozen=True)
class Timeline:
    """One recorded run: every task's (worker, start, end) in seconds since the run began,
    and where the workers' time went.

    Each worker's time, from the start of the run to its end, falls into four parts:
    before its first task (the wait for the first task to reach it), running tasks,
    between tasks (sending results, taking the next task, and any wait for it), and after
    its last task (idle while others finish). A worker that ran no task spent it all
    before its first. ``startup`` came before the run and is not part of it.
    """

    run: str
    workers: int
    chunksize: int
    span: float
    rows: tuple[tuple[int, float, float], ...]
    startup: float = 0.0

    @classmethod
    def from_record(cls, run: str, record: dict[str, Any]) -> Timeline:
        rows = tuple((int(w), s / US, e / US) for w, s, e in record["rows"])
        seen = len({worker for worker, _s, _e in rows})
        return cls(run=run, workers=max(int(record["workers"]), seen),
                   chunksize=int(record["chunksize"]), span=record["span_us"] / US, rows=rows,
                   startup=record.get("startup_us", 0) / US)

    @property
    def tasks(self) -> int:
        return len(self.rows)

    def by_worker(self) -> dict[int, list[tuple[float, float]]]:
        """Each worker's tasks as (start, end), in the order they ran."""
        found: dict[int, list[tuple[float, float]]] = {}
        for worker, start, end in self.rows:
            found.setdefault(worker, []).append((start, end))
        return {worker: sorted(spans) for worker, spans in sorted(found.items())}

    @property
    def worker_time(self) -> float:
        return self.workers * self.span

    @property
    def busy(self) -> float:
        return sum(end - start for _w, start, end in self.rows)

    @property
    def before_first(self) -> float:
        idle_workers = self.workers - len(self.by_worker())
        return (sum(spans[0][0] for spans in self.by_worker().values())
                + idle_workers * self.span)

    @property
    def gaps(self) -> list[float]:
        """Every wait between two consecutive tasks of one worker."""
        return [later[0] - earlier[1] for spans in self.by_worker().values()
                for earlier, later in zip(spans, spans[1:], strict=False)]

    @property
    def between(self) -> float:
        return sum(self.gaps)

    @property
    def after_last(self) -> float:
        return sum(self.span - spans[-1][1] for spans in self.by_worker().values())

    def share(self, part: float) -> float:
        """``part`` (seconds of worker time) as a share of all the workers' time."""
        return part / self.worker_time

    @property
    def first_task(self) -> float:
        """When the first task began, since the run began."""
        return min(start for _w, start, _e in self.rows)

    @property
    def median_gap(self) -> float:
        return statistics.median(self.gaps) if self.gaps else 0.0

    @property
    def longest_task(self) -> float:
        return max(end - start for _w, start, end in self.rows)

    def parts(self) -> dict[str, float]:
        """The four shares of worker time, which add up to one."""
        return {"before": self.share(self.before_first), "running": self.share(self.busy),
                "between": self.share(self.between), "after": self.share(self.after_last)}


@dataclass(frozen=True)
class Timelines:
    """Every recorded timeline, by run, and the runs' median times."""

    runs: dict[str, Timeline]
    medians: dict[str, float]
    tasks: dict[str, int]
    repeats: int
    tiny_task_s: float
    short_task_s: float
    long_task_s: float
    chunk_default: int
    ray_submitted: int
    ray_init: float


@dataclass(frozen=True)
class PySpy:
    """What ``py-spy dump`` said about each worker of the hung pool."""

    outcome: str  # "dumped", "refused" or "missing"
    dumps: tuple[tuple[int, str], ...]  # (pid, what py-spy printed, paths shortened)
    error_line: str  # the line of py-spy's refusal that says why ("" unless refused)
    root: bool
    ptrace_scope: int | None

    @property
    def stuck_pids(self) -> list[int]:
        return [pid for pid, text in self.dumps if STUCK_FUNCTION in text]

    @property
    def idle_pids(self) -> list[int]:
        return [pid for pid, text in self.dumps
                if IDLE_FRAME in text and STUCK_FUNCTION not in text]


@dataclass(frozen=True)
class Hang:
    """The hung program: how it ended, and the stack dumps that say where it was stuck."""

    limit_s: float
    elapsed_s: float
    killed: bool
    returncode: int | None
    watchdog_s: float
    workers: int
    items: int
    faulthandler_dump: str  # the dump as written, paths shortened ("" if none)
    py_spy: PySpy

    @property
    def dump_names_stuck(self) -> bool:
        return STUCK_FUNCTION in self.faulthandler_dump


@dataclass(frozen=True)
class Oversubscription:
    """Matrix tasks with the BLAS library's default threads and with one per worker."""

    cpus: int
    workers: int
    tasks: int
    size: int
    products: int
    library: str  # "openblas 0.3.31", or "" when threadpoolctl found none
    threads: dict[str, int]  # "default" | "one" -> BLAS threads per worker (the most seen)
    total_threads: dict[str, int]  # the same, summed over the workers
    reported: dict[str, int]  # how many workers reported their BLAS threads
    wall: dict[str, float]  # medians
    switches: dict[str, float]
    cpu: dict[str, float]
    parent_threads: int  # BLAS threads of the experiment's own process, numpy loaded and used
    limited_under: dict[str, int]  # start method -> BLAS threads after the initializer's limit

    @property
    def oversubscribed(self) -> bool:
        return self.total_threads["default"] > self.cpus

    @property
    def default_over_one(self) -> float:
        return self.wall["default"] / self.wall["one"]


@dataclass(frozen=True)
class RaySetting:
    """Where the Ray tasks ran: "local" (a fresh local instance) or a cluster's address."""

    address: str
    nodes: int
    cpus: float


@dataclass(frozen=True)
class Findings:
    """Everything the chapter's page and claims rest on."""

    machine: Machine
    timelines: Timelines
    hang: Hang
    blas: Oversubscription
    ray: RaySetting


def findings(result: Result) -> Findings:
    """The chapter's findings from one recorded result."""
    params, values = result.parameters, result.values
    machine = Machine(cpus=int(params["cpus"]), start_method=params["start_method"],
                      clock=values["clock"])
    ray = RaySetting(address=params["ray_address"], nodes=int(params["ray_nodes"]),
                     cpus=float(params["ray_cluster_cpus"]))
    return Findings(machine=machine, timelines=_timelines(result), hang=_hang(result),
                    blas=_oversubscription(result), ray=ray)


def _timelines(result: Result) -> Timelines:
    params = result.parameters
    runs = {run: Timeline.from_record(run, record)
            for run, record in result.values["timelines"].items()}
    medians = {case.params["run"]: case.summary.median for case in result.group("timeline")}
    medians["ray"] = result.median("ray_timeline")
    tasks = {case.params["run"]: int(case.params["tasks"])
             for case in result.group("timeline")}
    tasks["ray"] = int(result.values["ray"]["submitted"])
    return Timelines(
        runs=runs, medians=medians, tasks=tasks, repeats=int(params["timeline_repeats"]),
        tiny_task_s=params["tiny_task_s"], short_task_s=params["short_task_s"],
        long_task_s=params["long_task_s"], chunk_default=int(params["chunk_default"]),
        ray_submitted=int(result.values["ray"]["submitted"]),
        ray_init=result.median("ray_init"),
    )


def faulthandler_dump(errors: str) -> str:
    """The part of a stderr that faulthandler wrote: from "Timeout (...)!" to the end of
    the stacks that follow it, paths shortened."""
    lines = errors.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Timeout (")), None)
    if start is None:
        return ""
    dump = [lines[start]]
    for line in lines[start + 1:]:
        if not (line.startswith(("Thread 0x", "Current thread 0x", "  File ")) or line == ""):
            break
        dump.append(line)
    return shorten_paths("\n".join(dump).rstrip())


def shorten_command_paths(text: str) -> str:
    """Paths in py-spy's output reduced to their last part (they differ per machine):
    ``/usr/bin/python3`` -> ``python3``, ``(multiprocessing/pool.py:48)`` ->
    ``(pool.py:48)``."""
    text = re.sub(r"(?<![\w.~])/(?:[^\s/()'\",]+/)+([^\s/()'\",]+)", r"\1", text)
    # py-spy's frames name files relative to sys.path: keep the file name, as faulthandler's
    # dump (shortened) does.
    return re.sub(r"\((?:[^\s()/]+/)+([^\s()/]+:\d+)\)", r"(\1)", text)


def refusal_line(text: str) -> str:
    """The line of a failed py-spy run that says why: the first that speaks of an error,
    a permission or ptrace, else the last non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if re.search(r"error|permission|denied|ptrace|not permitted", line, re.IGNORECASE):
            return line
    return lines[-1] if lines else "(no message)"


def _py_spy(hang: dict[str, Any]) -> PySpy:
    ptrace = hang["ptrace"]
    records = hang["py_spy"]
    base = {"root": bool(ptrace["root"]), "ptrace_scope": ptrace["ptrace_scope"]}
    if not hang["py_spy_found"] or not records or any(r is None for r in records.values()):
        return PySpy(outcome="missing", dumps=(), error_line="", **base)
    dumps = tuple((int(pid), shorten_command_paths(record["output"] or record["errors"]))
                  for pid, record in records.items())
    refused = [record for record in records.values()
               if record["returncode"] != 0 or "Thread" not in record["output"]]
    if refused:
        first = refused[0]
        return PySpy(outcome="refused", dumps=dumps,
                     error_line=shorten_command_paths(
                         refusal_line(first["errors"] + "\n" + first["output"])), **base)
    return PySpy(outcome="dumped", dumps=dumps, error_line="", **base)


def _hang(result: Result) -> Hang:
    params, hang = result.parameters, result.values["hang"]
    child = hang["child"]
    return Hang(limit_s=float(child["time_limit_s"]), elapsed_s=float(child["elapsed_s"]),
                killed=bool(child["killed"]), returncode=child["returncode"],
                watchdog_s=float(params["watchdog_s"]), workers=int(params["hang_workers"]),
                items=int(params["hang_items"]),
                faulthandler_dump=faulthandler_dump(child["errors"]), py_spy=_py_spy(hang))


def _oversubscription(result: Result) -> Oversubscription:
    params, reports = result.parameters, result.values["blas"]
    threads: dict[str, int] = {}
    total: dict[str, int] = {}
    reported: dict[str, int] = {}
    libraries: set[str] = set()
    for key, workers in reports.items():
        per_worker = [max((pool["threads"] for pool in worker["blas"]), default=0)
                      for worker in workers]
        threads[key] = max(per_worker, default=0)
        total[key] = sum(per_worker)
        reported[key] = sum(1 for worker in workers if worker["blas"])
        libraries |= {f"{pool['library']} {pool['version']}".strip()
                      for worker in workers for pool in worker["blas"]}

    def medians(group: str) -> dict[str, float]:
        return {case.params["threads"]: case.summary.median for case in result.group(group)}

    return Oversubscription(
        cpus=int(params["cpus"]), workers=int(params["blas_workers"]),
        tasks=int(params["blas_tasks"]), size=int(params["blas_size"]),
        products=int(params["blas_products"]), library=", ".join(sorted(libraries)),
        threads=threads, total_threads=total, reported=reported,
        wall=medians("blas_wall"), switches=medians("blas_switches"), cpu=medians("blas_cpu"),
        parent_threads=int(result.values["blas_limit"]["parent"]),
        limited_under={method: int(threads) for method, threads
                       in result.values["blas_limit"]["limited"].items()})


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data, one small function each.

def chunk_sentence(chunk_1: Timeline, chunked: Timeline) -> str:
    """What the tiny tasks' two timelines show about the gaps between tasks."""
    one, many = chunk_1.parts(), chunked.parts()
    figures = (f"with chunksize=1 the workers spent {format_percent(one['running'])} of their "
               f"time running tasks and {format_percent(one['between'])} between them; with "
               f"chunks of {chunked.chunksize}, {format_percent(many['running'])} and "
               f"{format_percent(many['between'])}")
    if one["between"] > many["between"] + SHARE_MARGIN:
        return (f"The timeline shows where the time went: {figures}. Every task of the first "
                "run travelled alone, so after each one its worker sent the result and "
                "fetched the next task before it could go on; a chunk brings its tasks back "
                "to back.")
    if many["between"] > one["between"] + SHARE_MARGIN:
        return (f"In this run the chunks lost more time between tasks than the single tasks "
                f"did: {figures}. Inside a chunk no message passes between two tasks, so "
                "those gaps are time in which the workers did not get a CPU, which other "
                "programs on the machine can take; the pools chapter's repeated timings of "
                "chunksize say more than one run.")
    return (f"Here the two runs lost about the same share of the workers' time between "
            f"tasks: {figures}, so in this run the messages of chunksize=1 were not what held "
            "the workers up; the pools chapter's repeated timings of chunksize say what it did "
            "to the throughput.")


def straggler_sentence(even: Timeline, straggler: Timeline) -> str:
    """Whether one long task sent last left the other workers idle at the end."""
    figures = (f"{format_percent(straggler.parts()['after'])} of the workers' time went idle "
               f"after their last task, against {format_percent(even.parts()['after'])} with "
               "equal tasks")
    if straggler.parts()["after"] > even.parts()["after"] + SHARE_MARGIN:
        return (f"With the long task sent last, {figures}: the other workers had nothing left "
                "to do while it ran, which is the ragged right edge of its timeline.")
    return (f"With the long task sent last, {figures}: no more idle time at the end than "
            "equal tasks left, so the long task did not hold the others up in this run.")


def longest_first_sentence(straggler: Timeline, longest_first: Timeline) -> str:
    """Whether sending the long task first removed the idle time at the end."""
    last, first = straggler.parts()["after"], longest_first.parts()["after"]
    if first < last - SHARE_MARGIN:
        return (f"Sent first, the same long task ran while the other workers worked through "
                f"the short ones, and the idle time at the end fell from "
                f"{format_percent(last)} to {format_percent(first)} of the workers' time.")
    return (f"Sending the long task first did not cut the idle time at the end here "
            f"({format_percent(first)} against {format_percent(last)} sent last).")


def ray_sentence(pool: Timeline, ray: Timeline) -> str:
    """How the gaps between Ray's tasks compare with the pool's."""
    figures = (f"a median of {format_seconds(ray.median_gap)} between one task and the next "
               f"on a Ray worker, against {format_seconds(pool.median_gap)} on a pool worker")
    if ray.median_gap >= pool.median_gap * GAP_LONGER_FROM:
        return (f"The gaps between tasks are wider on Ray: {figures}. A Ray task travels "
                "from the driver to a worker by remote procedure call, its arguments and "
                "result serialised and tracked by Ray, while a pool worker takes its next "
                "task straight from a pipe.")
    return (f"The gaps between tasks were about as narrow on Ray as in the pool: {figures}, "
            "so for tasks of this length Ray's own work per task did not show.")


def ray_where(ray: RaySetting) -> str:
    """Where the Ray tasks ran, as the end of a sentence."""
    if ray.address == "local":
        return f"a local instance given {ray.cpus:g} CPUs"
    return f"the cluster at RAY_ADDRESS ({ray.nodes} nodes, {ray.cpus:g} CPUs)"


def hang_rule_why(hang: Hang) -> str:
    """What the two stack dumps found, for the rules page (no reference to the page's
    own layout)."""
    if hang.dump_names_stuck:
        inside = (f"In this build, a pool stuck on a lock its task already held was found by "
                  f"the stuck worker itself: its faulthandler watchdog wrote a stack naming "
                  f"the function it waited in, {format_seconds(hang.watchdog_s)} into the "
                  "task")
    else:
        inside = ("In this build, the stuck worker's faulthandler watchdog wrote no stack "
                  "naming the function it waited in before the time limit")
    py_spy = hang.py_spy
    if py_spy.outcome == "missing":
        outside = "; py-spy was not installed to read it from outside."
    elif py_spy.outcome == "refused":
        outside = f"; py-spy was not allowed to attach here (“{py_spy.error_line}”)."
    elif py_spy.stuck_pids:
        outside = ", and py-spy read the same frame from outside the process."
    else:
        outside = "; py-spy's dumps did not name it either."
    return inside + outside


def hang_sentence(hang: Hang) -> str:
    """How the hung program ended."""
    if hang.killed:
        return (f"The program was still waiting when its time limit of "
                f"{format_seconds(hang.limit_s)} ran out, and was killed with its workers.")
    return (f"The program ended by itself after {format_seconds(hang.elapsed_s)}, before its "
            f"limit of {format_seconds(hang.limit_s)} (exit code {hang.returncode}), which a "
            "hung program should not do; the stacks below may not show a hang.")


def faulthandler_sentence(hang: Hang) -> str:
    """What the stuck worker's own stack dump showed."""
    if hang.dump_names_stuck:
        return (f"When the stuck task had run for {format_seconds(hang.watchdog_s)}, its "
                f"worker wrote its stack to stderr by itself: the top frame is "
                f"{STUCK_FUNCTION}, called from add_to_totals, which already held the lock.")
    if hang.faulthandler_dump:
        return (f"The worker wrote a stack dump, but it does not name {STUCK_FUNCTION}: the "
                "watchdog fired somewhere else than the page expects.")
    return ("No worker wrote a stack dump before the time limit, so the watchdog did not "
            "fire in this run.")


def ptrace_reason(py_spy: PySpy) -> str:
    """Why ptrace is not allowed here, as far as this process can tell."""
    if py_spy.ptrace_scope is not None and py_spy.ptrace_scope >= 1 and not py_spy.root:
        return (f"the kernel's Yama setting ptrace_scope is {py_spy.ptrace_scope} and this "
                "build does not run as root, so a process may trace only its own children, "
                "and py-spy is not the worker's parent")
    return "for the reason in its message"


def py_spy_sentence(py_spy: PySpy) -> str:
    """What py-spy could read of the hung pool's workers, or why it could not."""
    if py_spy.outcome == "missing":
        return ("py-spy is not installed beside this interpreter or on the PATH, so its dump "
                "was skipped (pip install py-spy adds it); the faulthandler dump above needs "
                "nothing installed.")
    if py_spy.outcome == "refused":
        return (f"py-spy was not allowed to read the workers here, so its dump was skipped: "
                f"it could not attach {ptrace_reason(py_spy)}. It said: “{py_spy.error_line}”. "
                "The faulthandler dump above needs no permission: the worker writes it "
                "itself.")
    if not py_spy.stuck_pids:
        return (f"py-spy read every worker's stack, but none of them names {STUCK_FUNCTION}: "
                "the stuck task had not begun when it looked.")
    stuck = py_spy.stuck_pids[0]
    idle = (f", and worker {py_spy.idle_pids[0]} is idle in {IDLE_FRAME}, waiting for a task "
            "that will never come" if py_spy.idle_pids else "")
    return (f"py-spy read each worker's stack from outside, without any change to the "
            f"program: worker {stuck} is in {STUCK_FUNCTION}{idle}.")


def blas_threads_sentence(blas: Oversubscription) -> str:
    """How many BLAS threads the workers ran by default, against the usable CPUs."""
    if not blas.library:
        return ("threadpoolctl found no BLAS library in the workers, so there were no BLAS "
                "threads to count.")
    figures = (f"each worker's {blas.library} ran {counted(blas.threads['default'], 'thread')} "
               f"by default, {blas.total_threads['default']} in all on "
               f"{counted(blas.cpus, 'usable CPU')}")
    if blas.oversubscribed:
        return (f"The workers' own reports give the diagnosis: {figures}, so the BLAS threads "
                "alone outnumbered the CPUs.")
    return (f"The workers' reports show no oversubscription here: {figures}, no more "
            "threads than CPUs.")


def blas_limit_sentence(blas: Oversubscription) -> str:
    """Whether the initializer's limit of one BLAS thread held in a worker of every start
    method, started from a parent whose library ran its default threads."""
    methods = spoken_list(sorted(blas.limited_under))
    missed = sorted(method for method, threads in blas.limited_under.items() if threads != 1)
    parent = f"the parent ran {counted(blas.parent_threads, 'BLAS thread')}"
    if not blas.library:
        return ("With no BLAS library found, whether the initializer's limit holds under each "
                "start method could not be checked here.")
    if not missed:
        return (f"This build checked it under {methods}: a worker whose initializer called "
                f"limit_blas_threads(1) reported one BLAS thread under each, while {parent}.")
    return (f"This build checked it under {methods}, and the limit did not hold under "
            f"{spoken_list(missed)}: a worker there reported "
            f"{spoken_list([str(blas.limited_under[method]) for method in missed])} BLAS "
            f"threads after limit_blas_threads(1), while {parent}.")


def blas_verdict(blas: Oversubscription) -> str:
    """What limiting the BLAS threads to one per worker changed."""
    symptoms = (f"{format_count(blas.switches['one'])} involuntary context switches instead "
                f"of {format_count(blas.switches['default'])}, and "
                f"{format_seconds(blas.cpu['one'])} of CPU time instead of "
                f"{format_seconds(blas.cpu['default'])}")
    if not blas.oversubscribed:
        return (f"With no more threads than CPUs to begin with, the limit had nothing to "
                f"remove: the tasks took {format_seconds(blas.wall['one'])} with it and "
                f"{format_seconds(blas.wall['default'])} without.")
    if blas.default_over_one >= BLAS_FASTER_FROM:
        return (f"Limited to one BLAS thread each, the workers finished the tasks in "
                f"{format_seconds(blas.wall['one'])} instead of "
                f"{format_seconds(blas.wall['default'])} (the default took "
                f"{format_ratio(blas.default_over_one)} as long), with {symptoms}: threads "
                "that take turns on too few CPUs are preempted, and wait for each other "
                "inside every product.")
    return (f"Limiting them changed the time little on this machine: the tasks took "
            f"{format_seconds(blas.wall['one'])} instead of "
            f"{format_seconds(blas.wall['default'])}, with {symptoms}. On a bigger machine "
            "the excess grows fast: a BLAS library typically starts a thread per CPU in "
            "every worker, so one worker per CPU makes CPUs × CPUs threads.")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter saw, one line each, for the table after the short answer."""
    runs, hang, blas = found.timelines.runs, found.hang, found.blas
    chunk_1, chunked = runs["chunk_1"], runs["chunk_default"]
    return [
        ("tiny tasks, chunksize=1: worker time running tasks / between tasks",
         f"{format_percent(chunk_1.parts()['running'])} / "
         f"{format_percent(chunk_1.parts()['between'])}"),
        (f"the same, chunks of {chunked.chunksize}",
         f"{format_percent(chunked.parts()['running'])} / "
         f"{format_percent(chunked.parts()['between'])}"),
        ("one long task sent last: worker time idle after the last task",
         f"{format_percent(runs['straggler_last'].parts()['after'])} (equal tasks: "
         f"{format_percent(runs['even'].parts()['after'])})"),
        ("Ray: first task started after submission",
         format_seconds(runs["ray"].first_task)),
        ("hung pool: stopped by its time limit", "yes" if hang.killed else "no"),
        ("its stuck function named by faulthandler / by py-spy",
         f"{'yes' if hang.dump_names_stuck else 'no'} / {py_spy_cell(hang.py_spy)}"),
        ("BLAS threads in all by default, on usable CPUs",
         f"{blas.total_threads['default']} on {blas.cpus}"),
        ("matrix tasks, default threads / one per worker",
         f"{format_seconds(blas.wall['default'])} / {format_seconds(blas.wall['one'])}"),
    ]


def py_spy_cell(py_spy: PySpy) -> str:
    """py-spy's outcome in a few words, for a table cell."""
    if py_spy.outcome == "dumped":
        return "yes" if py_spy.stuck_pids else "no"
    return {"refused": "not allowed here", "missing": "not installed"}[py_spy.outcome]


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    timelines, hang, blas = found.timelines, found.hang, found.blas
    runs = timelines.runs
    seconds, percent = format_seconds, format_percent
    glued: dict[str, Any] = {
        "diag_short_answer": short_answer(found),
        "diag_cpus": found.machine.cpus,
        "diag_start_method": found.machine.start_method,
        "diag_clock": found.machine.clock,
        "diag_workers": runs["even"].workers,
        "diag_repeats": timelines.repeats,
        # tiny tasks and chunksize
        "diag_tiny_tasks": timelines.tasks["chunk_1"],
        "diag_tiny_task_s": seconds(timelines.tiny_task_s),
        "diag_chunk_default": timelines.chunk_default,
        "diag_chunk_busy": percent(runs["chunk_1"].parts()["running"]),
        "diag_chunk_between": percent(runs["chunk_1"].parts()["between"]),
        "diag_chunk_default_busy": percent(runs["chunk_default"].parts()["running"]),
        "diag_chunk_sentence": chunk_sentence(runs["chunk_1"], runs["chunk_default"]),
        "diag_first_task_pool": seconds(runs["chunk_1"].first_task),
        "diag_pool_startup": seconds(runs["chunk_1"].startup),
        "diag_chunk_median_gap": seconds(runs["chunk_1"].median_gap),
        "diag_chunk_1_span": seconds(runs["chunk_1"].span),
        "diag_chunk_default_span": seconds(runs["chunk_default"].span),
        # one long task
        "diag_shorts": timelines.tasks["straggler_last"] - 1,
        "diag_short_task_s": seconds(timelines.short_task_s),
        "diag_long_task_s": seconds(timelines.long_task_s),
        "diag_even_tasks": timelines.tasks["even"],
        "diag_straggler_idle": percent(runs["straggler_last"].parts()["after"]),
        "diag_even_idle": percent(runs["even"].parts()["after"]),
        "diag_longest_first_idle": percent(runs["longest_first"].parts()["after"]),
        "diag_straggler_sentence": straggler_sentence(runs["even"], runs["straggler_last"]),
        "diag_longest_first_sentence": longest_first_sentence(runs["straggler_last"],
                                                              runs["longest_first"]),
        "diag_straggler_span": seconds(runs["straggler_last"].span),
        "diag_longest_first_span": seconds(runs["longest_first"].span),
        "diag_even_span": seconds(runs["even"].span),
        # Ray
        "diag_ray_tasks": timelines.ray_submitted,
        "diag_ray_where": ray_where(found.ray),
        "diag_ray_init": seconds(timelines.ray_init),
        "diag_ray_first_task": seconds(runs["ray"].first_task),
        "diag_ray_sentence": ray_sentence(runs["even"], runs["ray"]),
        "diag_ray_span": seconds(runs["ray"].span),
        "diag_ray_busy": percent(runs["ray"].parts()["running"]),
        "diag_pool_busy": percent(runs["even"].parts()["running"]),
        # the hung pool
        "diag_watchdog_s": seconds(hang.watchdog_s),
        "diag_hang_limit": seconds(hang.limit_s),
        "diag_hang_workers": hang.workers,
        "diag_hang_items": hang.items,
        "diag_stuck_item": STUCK_ITEM,
        "diag_hang_sentence": hang_sentence(hang),
        "diag_hang_rule_why": hang_rule_why(hang),
        "diag_faulthandler_sentence": faulthandler_sentence(hang),
        "diag_py_spy_sentence": py_spy_sentence(hang.py_spy),
        # oversubscription
        "diag_blas_workers": blas.workers,
        "diag_blas_tasks": blas.tasks,
        "diag_blas_matrix": f"{blas.size} × {blas.size}",
        "diag_blas_products": blas.products,
        "diag_blas_threads_sentence": blas_threads_sentence(blas),
        "diag_blas_verdict": blas_verdict(blas),
        "diag_blas_limit_sentence": blas_limit_sentence(blas),
        "diag_blas_default": seconds(blas.wall["default"]),
        "diag_blas_one": seconds(blas.wall["one"]),
        "diag_blas_total_threads": blas.total_threads["default"],
        "diag_blas_threads": blas.threads["default"],
    }
    return glued


def short_answer(found: Findings) -> str:
    """The chapter's short answer, with at most three figures."""
    runs = found.timelines.runs
    return (f"In this build, a pool's workers given tiny tasks one per message spent "
            f"{format_percent(runs['chunk_1'].parts()['running'])} of their time running "
            f"them, and one long task sent last left the workers idle "
            f"{format_percent(runs['straggler_last'].parts()['after'])} of their time at the "
            "end.")


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

def cpu_shortage_claim(blas: Oversubscription) -> Judgement:
    """Article 000: too few CPUs is a cause of slowness of no use to developers. A pool's
    own BLAS threads make a shortage of CPUs that the developer can see and remove."""
    if not blas.library or not blas.oversubscribed:
        return Judgement(Verdict.UNMEASURED, (
            f"In this build the workers' BLAS threads did not outnumber the {blas.cpus} usable "
            "CPUs, so no shortage of the program's own making arose to measure."))
    shortage = (f"{blas.workers} workers with {blas.threads['default']} BLAS threads each ran "
                f"{blas.total_threads['default']} threads on {blas.cpus} usable CPUs, a "
                "shortage the program made itself, which threadpoolctl shows from inside each "
                "worker")
    if blas.default_over_one >= BLAS_FASTER_FROM:
        return Judgement(Verdict.FAILS, (
            f"Here {shortage}; limiting each worker to one thread in the pool's initializer "
            f"cut the tasks' time from {format_seconds(blas.wall['default'])} to "
            f"{format_seconds(blas.wall['one'])}."))
    return Judgement(Verdict.PARTLY, (
        f"Here {shortage}; but removing it changed the tasks' time little on this machine "
        f"({format_seconds(blas.wall['default'])} against {format_seconds(blas.wall['one'])}), "
        "and a machine with too few CPUs for the work is, as the article says, not the "
        "program's to fix."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {"a000_cpu_shortage": cpu_shortage_claim(found.blas)}

