"""What the pitfalls chapter concludes from one result: findings per section, the
sentences that depend on them, every promise the page makes about its demos (checked), and
the texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.pitfalls.experiment import (
    COUNTER_LABELS,
    FORK,
    HAND_OVER_LABELS,
    IDLE_LABELS,
    SOCKET_ERROR,
    TASK_LABELS,
    broken_promises,
)
from parbook.claims import Judgement, Verdict, judge
from parbook.render.formatting import (
    format_percent,
    format_ratio,
    format_seconds,
    spoken_list,
)
from parbook.shared.child import shorten_paths

#: A busy parent whose pool took at least this many times as long as with a parent that
#: only dispatched "slowed" its tasks; below it, the tasks took "about as long".
SLOWED_FROM = 1.1
#: One chunk per worker at least this many times as slow as one task at a time is slower;
#: below it, "about as long".
CHUNKS_SLOWER_FROM = 1.1
#: How many of the last lines of a hung cell's standard error the page shows.
STDERR_TAIL_LINES = 5


@dataclass(frozen=True)
class Machine:
    """Where the demos ran: usable CPUs, the default start method, every method tried."""

    cpus: int
    start_method: str
    methods: tuple[str, ...]

    @property
    def pickling_methods(self) -> tuple[str, ...]:
        """The start methods that pickle a Process's target and arguments (all but fork)."""
        return tuple(method for method in self.methods if method != FORK)


def outcome_text(outcome: dict[str, Any]) -> str:
    """One short table cell for a demo's outcome."""
    if not outcome["ran"]:
        return f"{outcome['error_type']}: {outcome['error']}"
    if "same_connection" in outcome:
        return ("ran, on the parent's own socket" if outcome["same_connection"]
                else "ran, on its own new socket")
    return "ran"


def _hand_over_line(outcome: dict[str, Any]) -> str:
    """What one hand-over did: the error, or which socket the worker stepped."""
    if not outcome["ran"]:
        return f"{outcome['error_type']}: {outcome['error']}"
    whose = "the parent's own" if outcome["same_connection"] else "a new"
    return (f"worker {outcome['pid']} stepped {outcome['connection']}, {whose} socket"
            f" (parent: {outcome['parent_connection']})")


@dataclass(frozen=True)
class HandOver:
    """An environment that holds a socket, handed to a worker in each way of HAND_OVER."""

    socket_error: str  # what plain pickle.dumps said, "TypeError: ..."
    by_method: dict[str, dict[str, dict[str, Any]]]  # method -> way -> outcome

    def transcript(self) -> str:
        """Plain pickle's error, then what each way did under each start method."""
        lines = [f"pickle.dumps(SimulatorEnv()) raised {self.socket_error}"]
        for method, outcomes in self.by_method.items():
            lines.append(f"--- start method {method}")
            for how, label in HAND_OVER_LABELS.items():
                lines.append(f"{label}:\n    {_hand_over_line(outcomes[how])}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Counters:
    """Ports numbered by a class counter, by ranks and by a shared Value, per start method."""

    workers: int
    per_worker: int
    by_method: dict[str, dict[str, Any]]  # method -> what count_environments returned

    def environments(self, method: str) -> int:
        return self.by_method[method]["environments"]

    def parent_class_count(self, method: str) -> int:
        """The parent's class counter once every worker had counted."""
        return self.by_method[method]["parent_class_count"]

    def distinct_ports(self, method: str, kind: str = "class_counter") -> int:
        return self.by_method[method]["distinct_ports"][kind]

    def transcript(self) -> str:
        """Who counted what, under each start method."""
        lines = []
        for method, counted in self.by_method.items():
            seen = [report["class_count_seen"] for report in counted["reports"]]
            lines += [f"--- start method {method}: {counted['environments']} environments "
                      "in all",
                      f"the parent's PortedEnv.created afterwards: "
                      f"{counted['parent_class_count']}; each worker's: {seen}"]
            lines += [f"{label:34} ports {counted['ports'][kind]}: "
                      f"{counted['distinct_ports'][kind]} distinct"
                      for kind, label in COUNTER_LABELS.items()]
            lines.append("the shared Value read by the parent afterwards: "
                         f"{counted['parent_shared_value']}")
        return "\n".join(lines)


@dataclass(frozen=True)
class NotebookCell:
    """One notebook-like cell run as ``python -c`` under one start method."""

    output: str
    errors: str
    returncode: int | None
    elapsed_s: float
    time_limit_s: float
    finished: bool
    interrupted: bool  # still running at its limit, and ended on the KeyboardInterrupt
    attribute_errors: int  # workers that died unable to find the function
    first_error: str | None
    printed_result: str | None  # the line the cell printed for pool.map's result

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> NotebookCell:
        """From the dictionary the experiment stored (``workload.notebook_outcome``)."""
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})

    def heading(self, method: str) -> str:
        """How the cell ended under ``method``."""
        ending = ("finished" if self.finished
                  else f"still waiting at {self.time_limit_s:g} s, interrupted")
        return (f"--- start method {method}: {ending} (exit code {self.returncode}, "
                f"{self.elapsed_s:.1f} s)")


@dataclass(frozen=True)
class Notebook:
    """The worker function defined in a file-less ``__main__``, and the fix, per method."""

    limit_s: float
    defined_in_main: dict[str, NotebookCell]  # method -> the cell that defines ``work``
    imported: dict[str, NotebookCell]         # method -> the cell that imports it

    def transcript(self) -> str:
        """What the broken cell printed under each method, and how its workers died."""
        lines = []
        for method, cell in self.defined_in_main.items():
            lines.append(cell.heading(method))
            lines += cell.output.splitlines()
            if cell.attribute_errors:
                lines += [f"standard error: {cell.attribute_errors} worker tracebacks ending in",
                          f"    {cell.first_error}"]
        return "\n".join(lines)

    def stderr_tail(self) -> str:
        """The last lines of the broken cell's standard error under the first start method
        that pickles (paths shortened): what the interrupted cell printed last."""
        method = next(method for method in self.defined_in_main if method != FORK)
        errors = shorten_paths(self.defined_in_main[method].errors)
        return "\n".join(errors.splitlines()[-STDERR_TAIL_LINES:])

    def imported_transcript(self) -> str:
        """How the fixed cell ended under each method, and what it printed for the map."""
        return "\n".join(
            f"{method}: exit code {cell.returncode} after {cell.elapsed_s:.1f} s, "
            f"printed {cell.printed_result}"
            for method, cell in self.imported.items())


@dataclass(frozen=True)
class Tasks:
    """Lambdas, local functions and a partial handed to workers, per start method."""

    by_method: dict[str, dict[str, dict[str, Any]]]  # method -> task -> outcome

    def transcript(self) -> str:
        """What happened to each kind of task under each start method."""
        lines = []
        for method, tried in self.by_method.items():
            lines.append(f"--- start method {method}")
            lines += [f"{label}:\n    {outcome_text(tried[task])}"
                      for task, label in TASK_LABELS.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class MainLight:
    """The same CPU-bound tasks with a parent that only dispatches, or also computes."""

    tasks: int
    task_s: float
    parent_step_s: float
    times: dict[str, float]        # how -> median total seconds
    parent_work: dict[str, float]  # how -> median seconds of the parent's own work
    task_stretch: dict[str, float]  # how -> a task's wall time over its CPU time (median)

    @property
    def has_fewer_workers(self) -> bool:
        """Whether the case with one worker fewer ran (it needs two or more CPUs)."""
        return "busy_parent_fewer_workers" in self.times

    @property
    def busy_over_light(self) -> float:
        return self.times["busy_parent"] / self.times["dispatch_only"]

    @property
    def parent_work_slowdown(self) -> float:
        """The parent's work beside its pool over the same work alone."""
        return self.parent_work["busy_parent"] / self.parent_work["parent_alone"]

    @property
    def fewer_over_light(self) -> float:
        return self.times["busy_parent_fewer_workers"] / self.times["dispatch_only"]

    @property
    def fewer_parent_slowdown(self) -> float:
        return self.parent_work["busy_parent_fewer_workers"] / self.parent_work["parent_alone"]


@dataclass(frozen=True)
class Idle:
    """A few long tasks among many short ones, handed out in three ways."""

    workers: int
    long_tasks: int
    short_tasks: int
    long_s: float
    short_s: float
    ideal_s: float
    times: dict[str, float]          # how -> median total seconds
    idle_fraction: dict[str, float]  # how -> median share of the workers' time spent idle

    @property
    def default_chunksize(self) -> int:
        """Pool.map's default: ceil(tasks / (4 * workers)) consecutive tasks per chunk."""
        return -(-(self.long_tasks + self.short_tasks) // (4 * self.workers))

    @property
    def one_chunk_size(self) -> int:
        """Tasks per chunk when the list is cut into one chunk per worker."""
        return -(-(self.long_tasks + self.short_tasks) // self.workers)

    @property
    def first_chunk_longs(self) -> int:
        """Long tasks in the first chunk of the default size (the long ones come first)."""
        return min(self.long_tasks, self.default_chunksize)

    @property
    def chunk_over_imap(self) -> float:
        return self.times["map_one_chunk_each"] / self.times["imap_unordered"]

    @property
    def default_over_imap(self) -> float:
        return self.times["map_default"] / self.times["imap_unordered"]


@dataclass(frozen=True)
class Findings:
    machine: Machine
    hand_over: HandOver
    counters: Counters
    notebook: Notebook
    pickle_errors: dict[str, dict[str, str]]  # "lambda" | "local_function" -> error record
    tasks: Tasks
    main_light: MainLight
    idle: Idle
    problems: tuple[str, ...]  # promises of the page this result breaks (none, if sound)


def _median(values: list[float]) -> float:
    return summarize(values).median


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    values, parameters = result.values, result.parameters
    methods = tuple(parameters["start_methods"])
    plain = values["plain_pickle"]
    light_runs, idle_runs = values["main_light_runs"], values["idle_runs"]
    notebook = {cell: {method: NotebookCell.from_record(values["notebook"][method][cell])
                       for method in methods}
                for cell in ("defined_in_main", "imported")}
    return Findings(
        machine=Machine(cpus=parameters["usable_cpus"],
                        start_method=parameters["start_method"], methods=methods),
        hand_over=HandOver(socket_error=f"{plain['error_type']}: {plain['error']}",
                           by_method=values["hand_over"]),
        counters=Counters(workers=parameters["counter_workers"],
                          per_worker=parameters["envs_per_worker"],
                          by_method=values["counters"]),
        notebook=Notebook(limit_s=parameters["notebook_limit_s"], **notebook),
        pickle_errors=values["pickle_errors"],
        tasks=Tasks(by_method=values["tasks"]),
        main_light=MainLight(
            tasks=parameters["main_light_tasks"], task_s=parameters["main_light_task_s"],
            parent_step_s=parameters["main_light_parent_step_s"],
            times={how: result.median("main_light", how=how) for how in light_runs},
            parent_work={how: result.median("main_light_parent_work", how=how)
                         for how in light_runs if how != "dispatch_only"},
            task_stretch={how: _median([r["busy_s"] for r in runs])
                          / _median([r["task_cpu_s"] for r in runs])
                          for how, runs in light_runs.items() if how != "parent_alone"},
        ),
        idle=Idle(
            workers=parameters["usable_cpus"], long_tasks=parameters["idle_long_tasks"],
            short_tasks=parameters["idle_short_tasks"], long_s=parameters["idle_long_s"],
            short_s=parameters["idle_short_s"], ideal_s=parameters["idle_ideal_s"],
            times={how: result.median("idle", how=how) for how in IDLE_LABELS},
            idle_fraction={how: _median([r["idle_fraction"] for r in runs])
                           for how, runs in idle_runs.items()},
        ),
        problems=tuple(broken_promises(result)),
    )


# --- data-dependent sentences --------------------------------------------------------------

def busy_sentence(light: MainLight) -> str:
    """How long the tasks took beside a parent that computed between dispatches."""
    ratio = format_ratio(light.busy_over_light)
    if light.busy_over_light >= SLOWED_FROM:
        return f"With a parent that computed between dispatches, they took {ratio} as long."
    return f"With a parent that computed between dispatches, they took about as long ({ratio})."


def parent_sentence(light: MainLight) -> str:
    """How the parent's own work fared beside its pool, against the same work alone."""
    busy = format_seconds(light.parent_work["busy_parent"])
    alone = format_seconds(light.parent_work["parent_alone"])
    slowdown = light.parent_work_slowdown
    if slowdown >= SLOWED_FROM:
        return (f"The parent's own work took {busy} beside its pool instead of {alone} alone, "
                f"{format_ratio(slowdown)} as long.")
    if slowdown > 1 / SLOWED_FROM:
        return (f"The parent's own work took about as long beside its pool as alone ({busy} "
                f"against {alone}).")
    return (f"The parent's own work took {busy} beside its pool and {alone} alone: less, not "
            "more, which says more about how much this machine's speed varied between runs "
            "than about the parent (see the spread table).")


def fewer_workers_text(light: MainLight) -> str:
    """What one worker fewer did for the parent and the tasks, or why there was no such case."""
    if not light.has_fewer_workers:
        return ("With a single usable CPU there is no worker to spare for the parent: "
                "its work and the pool's can only take turns.")
    return (f"With one worker fewer, the parent's work took "
            f"{format_ratio(light.fewer_parent_slowdown)} its time alone and the tasks "
            f"{format_ratio(light.fewer_over_light)} the dispatch-only time: one CPU more for "
            "the parent, one fewer for the pool.")


def idle_sentence(idle: Idle) -> str:
    """How uneven tasks cut into one chunk per worker compared with one task at a time."""
    ratio = format_ratio(idle.chunk_over_imap)
    if idle.chunk_over_imap >= CHUNKS_SLOWER_FROM:
        return (f"Altogether, one chunk per worker took {ratio} as long as one task at a "
                "time.")
    return (f"Altogether, one chunk per worker took about as long ({ratio}) as one task at a "
            "time on this machine's few workers; the more workers, the more of them wait for "
            "the chunk that holds the long tasks.")


def longs_text(idle: Idle, in_chunk: int) -> str:
    """How many of the long tasks a chunk of ``in_chunk`` long tasks holds, in words."""
    if in_chunk >= idle.long_tasks:
        return "every long task"
    return f"{in_chunk} of the long tasks"


def one_chunk_longs(idle: Idle) -> str:
    """Which long tasks the first of one chunk per worker held."""
    return longs_text(idle, min(idle.one_chunk_size, idle.long_tasks))


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    machine, counters, notebook = found.machine, found.counters, found.notebook
    light, idle = found.main_light, found.idle
    default, pickling = machine.start_method, spoken_list(machine.pickling_methods)
    lambda_error = found.tasks.by_method[default]["lambda_pool"]
    return [
        ("pickle.dumps of an environment that holds a socket", found.hand_over.socket_error),
        ("the same environment handed to a worker by multiprocessing itself",
         "ran, on the parent's own socket, under every start method"),
        ("the same, in a wrapper that pickles as vectorised-env libraries do",
         f"TypeError under {pickling}; on the parent's own socket under fork"),
        (f"ports numbered by a class-level counter, {counters.environments(default)} "
         f"environments, {default} start method",
         f"{counters.distinct_ports(default)} distinct ports; the parent's counter still read "
         f"{counters.parent_class_count(default)}"),
        (f"a worker function defined in a notebook-like __main__, under {pickling}",
         f"workers died ({notebook_deaths(found)}); pool.map still waiting when "
         f"interrupted after {format_seconds(notebook.limit_s)}"),
        ("a lambda as a Pool task, every start method",
         f"{lambda_error['error_type']}: {lambda_error['error']}"),
        ("pool tasks beside a parent that computed between dispatches",
         f"{format_ratio(light.busy_over_light)} the time beside a parent that only "
         "dispatched"),
        ("uneven tasks in one chunk per worker",
         f"{format_ratio(idle.chunk_over_imap)} the time of one task at a time"),
    ]


def notebook_deaths(found: Findings) -> str:
    """How many workers died unable to find the function, under each pickling method."""
    return spoken_list(
        f"{found.notebook.defined_in_main[method].attribute_errors} under {method}"
        for method in found.machine.pickling_methods)


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    machine, counters, notebook = found.machine, found.counters, found.notebook
    light, idle = found.main_light, found.idle
    default = machine.start_method
    lambda_error = found.tasks.by_method[default]["lambda_pool"]
    glued: dict[str, Any] = {
        "pitfalls_cpus": machine.cpus,
        "pitfalls_start_method": default,
        "pitfalls_methods": spoken_list(machine.methods),
        "pitfalls_pickling_methods": spoken_list(machine.pickling_methods),
        "pitfalls_socket_error": found.hand_over.socket_error,
        "pitfalls_counter_workers": counters.workers,
        "pitfalls_counter_per_worker": counters.per_worker,
        "pitfalls_counter_envs": counters.environments(default),
        "pitfalls_counter_parent": counters.parent_class_count(default),
        "pitfalls_counter_distinct": counters.distinct_ports(default),
        "pitfalls_notebook_limit": seconds(notebook.limit_s),
        "pitfalls_notebook_deaths": notebook_deaths(found),
        "pitfalls_lambda_error": f"{lambda_error['error_type']}: {lambda_error['error']}",
        "pitfalls_ml_tasks": light.tasks,
        "pitfalls_ml_task_s": seconds(light.task_s),
        "pitfalls_ml_parent_step": seconds(light.parent_step_s),
        "pitfalls_ml_ideal": seconds(light.tasks * light.task_s / machine.cpus),
        "pitfalls_ml_dispatch_only": seconds(light.times["dispatch_only"]),
        "pitfalls_ml_busy": seconds(light.times["busy_parent"]),
        "pitfalls_ml_busy_ratio": ratio(light.busy_over_light),
        "pitfalls_ml_parent_slowdown": ratio(light.parent_work_slowdown),
        "pitfalls_ml_stretch_light": ratio(light.task_stretch["dispatch_only"]),
        "pitfalls_ml_stretch_busy": ratio(light.task_stretch["busy_parent"]),
        "pitfalls_ml_busy_sentence": busy_sentence(light),
        "pitfalls_ml_parent_sentence": parent_sentence(light),
        "pitfalls_ml_fewer_text": fewer_workers_text(light),
        "pitfalls_idle_long_tasks": idle.long_tasks,
        "pitfalls_idle_short_tasks": idle.short_tasks,
        "pitfalls_idle_long_s": seconds(idle.long_s),
        "pitfalls_idle_short_s": seconds(idle.short_s),
        "pitfalls_idle_ideal": seconds(idle.ideal_s),
        "pitfalls_idle_ratio": ratio(idle.chunk_over_imap),
        "pitfalls_idle_sentence": idle_sentence(idle),
        "pitfalls_idle_one_chunk": idle.one_chunk_size,
        "pitfalls_idle_default_chunk": idle.default_chunksize,
        "pitfalls_idle_first_chunk_longs": idle.first_chunk_longs,
        "pitfalls_idle_one_chunk_longs": one_chunk_longs(idle),
        "pitfalls_idle_first_chunk_longs_text": longs_text(idle, idle.first_chunk_longs),
    }
    for method in machine.methods:
        glued[f"pitfalls_counter_distinct_{method}"] = counters.distinct_ports(method)
    for how in IDLE_LABELS:
        glued[f"pitfalls_idle_{how}"] = seconds(idle.times[how])
        glued[f"pitfalls_idle_fraction_{how}"] = format_percent(idle.idle_fraction[how])
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


def design_rules_claim(light: MainLight, idle: Idle) -> Judgement:
    """Article 003's four design rules: the two this chapter measures (keep the main process
    light, never let a process wait idle), and the two it does not judge."""
    busy, chunked = format_ratio(light.busy_over_light), format_ratio(idle.chunk_over_imap)
    light_paid = light.busy_over_light >= SLOWED_FROM
    idle_paid = idle.chunk_over_imap >= CHUNKS_SLOWER_FROM
    if light_paid:
        parent = (f"Pool tasks took {busy} as long beside a parent that computed between "
                  "dispatches as beside one that only dispatched")
    else:
        parent = (f"Pool tasks took about as long ({busy}) beside a parent that computed "
                  "between dispatches as beside one that only dispatched")
    if idle_paid:
        waiting = (f"uneven tasks cut into one chunk per worker took {chunked} as long as "
                   "tasks handed out one at a time.")
    else:
        waiting = (f"uneven tasks cut into one chunk per worker took about as long ({chunked}) "
                   "as tasks handed out one at a time.")
    others = ("The other two rules, send little data and communicate rarely, are not judged "
              "by this chapter's data.")
    verdict = Verdict.PARTLY if light_paid or idle_paid else Verdict.FAILS
    return Judgement(verdict, f"{parent}; {waiting} {others}")


def class_counter_claim(counters: Counters) -> Judgement:
    """Article 004: a class-level counter (of occupied ports) cannot work across processes,
    since every process has its own copy of the class."""
    methods = list(counters.by_method)
    total = counters.environments(methods[0])
    distinct = {method: counters.distinct_ports(method) for method in methods}
    working = [method for method in methods if distinct[method] >= total]
    return judge(
        not working,
        f"Numbered by a class-level counter, the {total} environments created by a parent "
        f"and {counters.workers} workers got at most {max(distinct.values())} distinct ports "
        f"under any start method ({spoken_list(methods)}): each process counted in its own "
        "copy of the class.",
        f"Numbered by a class-level counter, the {total} environments created by a parent "
        f"and {counters.workers} workers got a port each under {spoken_list(working)}, so the "
        "counter did work across processes there.")


def pickle_socket_claim(hand_over: HandOver, machine: Machine) -> Judgement:
    """Article 004: handing SubprocVecEnv environment instances instead of functions that
    build them fails with ``TypeError: cannot pickle 'socket' object``."""
    pickling = machine.pickling_methods
    failed = [method for method in pickling
              if hand_over.by_method[method]["instance_library"].get("error_type") == "TypeError"
              and hand_over.by_method[method]["instance_library"].get("error") == SOCKET_ERROR]
    wrapped = ("Handed to a worker inside a wrapper that pickles its contents as SubprocVecEnv "
               "does, an environment holding a socket")
    error = f"TypeError: {SOCKET_ERROR}"
    forked = hand_over.by_method.get(FORK, {}).get("instance_library", {})
    fork_note = (" Under fork the wrapper was never pickled, and the worker silently stepped "
                 "the parent's own socket." if forked.get("same_connection") else "")
    if failed == list(pickling) and failed:
        return Judgement(Verdict.HOLDS, (
            f"{wrapped} failed with {error} under {spoken_list(pickling)}, the start methods "
            f"SubprocVecEnv picks by default.{fork_note}"))
    if failed:
        passed = [method for method in pickling if method not in failed]
        return Judgement(Verdict.PARTLY, (
            f"{wrapped} failed with {error} under {spoken_list(failed)}, but not under "
            f"{spoken_list(passed)}.{fork_note}"))
    return Judgement(Verdict.FAILS, (
        f"{wrapped} raised no {error} under {spoken_list(pickling)} in this build."))


def parents_own_count(counters: Counters, method: str) -> int:
    """The environments the parent created itself: all of them, less the workers'."""
    return counters.environments(method) - counters.workers * counters.per_worker


def fork_copies_claim(counters: Counters) -> Judgement:
    """Article 004: a forked child's globals are copies of the parent's, so a change made in
    one is not seen by the other. Judged from the class counter under fork."""
    if FORK not in counters.by_method:
        return Judgement(Verdict.UNMEASURED, (
            "This platform offers no fork start method, so no forked worker counted."))
    own, parent = parents_own_count(counters, FORK), counters.parent_class_count(FORK)
    seen = [report["class_count_seen"] for report in counters.by_method[FORK]["reports"]]
    if parent != own:
        return Judgement(Verdict.FAILS, (
            f"Under fork, the parent's class counter read {parent} after its workers had "
            f"counted, not the {own} of its own environments: the workers' changes reached "
            "it."))
    if all(count == own + counters.per_worker for count in seen):
        return Judgement(Verdict.HOLDS, (
            f"Under fork, each worker's class counter started from the parent's {own} and went "
            f"on to {own + counters.per_worker}, while the parent's still read {parent} "
            "afterwards: each worker changed its own copy."))
    return Judgement(Verdict.PARTLY, (
        f"Under fork, the parent's class counter still read {parent} after its workers had "
        "counted, so their changes were not shared, but the workers' counters (ending at "
        f"{spoken_list(seen)}) did not carry on from the parent's {own}."))


def pickle_cause_claim(hand_over: HandOver) -> Judgement:
    """Article 004's explanation of its TypeError: multiprocessing copies what the process
    holds, and copying the socket failed. Judged from which ways of handing an environment
    that holds a socket to a worker failed, under each start method."""
    methods = list(hand_over.by_method)
    own_failed = [method for method in methods
                  if not all(hand_over.by_method[method][how]["ran"]
                             for how in ("instance_process", "instance_pool"))]
    wrapper_failed = [method for method in methods
                      if hand_over.by_method[method]["instance_library"].get("error")
                      == SOCKET_ERROR]
    error = f"TypeError: {SOCKET_ERROR}"
    if not own_failed:
        if wrapper_failed:
            cause = (f"The {error} came only from a wrapper that pickles its contents with the "
                     f"standard protocol, as SubprocVecEnv does, under "
                     f"{spoken_list(wrapper_failed)}.")
        else:
            cause = f"No way of handing it over raised the {error} here."
        return Judgement(Verdict.FAILS, (
            f"Under every start method ({spoken_list(methods)}), multiprocessing itself "
            "handed an environment that holds a socket to a worker without error, in Process "
            f"arguments and through Pool.map. {cause}"))
    if len(own_failed) == len(methods):
        return Judgement(Verdict.HOLDS, (
            f"Under every start method ({spoken_list(methods)}), multiprocessing itself failed "
            "to hand an environment that holds a socket to a worker."))
    worked = [method for method in methods if method not in own_failed]
    return Judgement(Verdict.PARTLY, (
        f"Under {spoken_list(own_failed)}, multiprocessing itself failed to hand an "
        f"environment that holds a socket to a worker, but under {spoken_list(worked)} it "
        "did not, so the article's explanation fits only some start methods."))


def no_shared_data_claim(counters: Counters) -> Judgement:
    """Article 001: processes cannot see each other's data, and need a queue (or the like)
    to exchange it. Judged from the class counter and the shared Value, per start method."""
    methods = list(counters.by_method)
    total = counters.environments(methods[0])
    joined = [method for method in methods
              if counters.parent_class_count(method) != parents_own_count(counters, method)
              or counters.distinct_ports(method) >= counters.environments(method)]
    missed = [method for method in methods
              if counters.by_method[method]["parent_shared_value"]
              != counters.environments(method)
              or counters.distinct_ports(method, "shared_value") != counters.environments(method)]
    if joined:
        return Judgement(Verdict.FAILS, (
            f"Under {spoken_list(joined)}, the parent's class-level counter or the ports it "
            "numbered show the processes counting together, not each in a copy of its own."))
    separate = (f"Under every start method ({spoken_list(methods)}), the parent and its "
                f"{counters.workers} workers each counted in their own copy of a class-level "
                f"counter, giving {total} environments at most "
                f"{max(counters.distinct_ports(method) for method in methods)} distinct ports")
    if not missed:
        return Judgement(Verdict.HOLDS, (
            f"{separate}; a count kept in a shared Value gave each its own port, and the "
            "workers' ports reached the parent through a Queue."))
    return Judgement(Verdict.PARTLY, (
        f"{separate}, but under {spoken_list(missed)} a count kept in a shared Value did not "
        "give each its own port either."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_processes_no_shared_data": no_shared_data_claim(found.counters),
        "a003_design_rules": design_rules_claim(found.main_light, found.idle),
        "a004_class_counter": class_counter_claim(found.counters),
        "a004_fork_copies": fork_copies_claim(found.counters),
        "a004_pickle_cause": pickle_cause_claim(found.hand_over),
        "a004_pickle_socket": pickle_socket_claim(found.hand_over, found.machine),
    }
