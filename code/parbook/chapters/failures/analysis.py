"""What the failures chapter concludes from one result: findings per section, the sentences
that depend on them, the article claim it judges, and the texts (every sentence and number
the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.failures.experiment import (
    API_LABELS,
    FAILURE_LABELS,
    INTERRUPT_LABELS,
    KILL_LABELS,
    LOGGING_LABELS,
    RAY_KILLS,
)
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import format_percent, format_seconds, spoken_list

#: The exception classes the failing tasks raise, by failure (names, as results hold them).
ORIGINAL = {"plain": "ValueError", "lock": "CacheBusyError", "init": "SettingOutOfRange",
            "fixed": "SettingOutOfRangeFixed"}
#: The multiprocessing APIs of the errors table, in its order.
MP_APIS = ("process", "pool", "executor")
#: A slow error callback "held up" another result when that result came at least this
#: share of the callback's length later than with a quick callback.
HELD_UP_SHARE = 0.5
#: Exit codes of an interrupted child: killed by SIGINT (KeyboardInterrupt not caught, so
#: Python ends itself with the signal), stopped at its limit (SIGKILL), caught (130).
KILLED_BY_SIGINT, KILLED_AT_LIMIT, EXIT_INTERRUPTED = -2, -9, 130


@dataclass(frozen=True)
class Machine:
    """Where the demos ran."""

    cpus: int
    start_method: str
    methods: tuple[str, ...]
    python_version: str
    ray_version: str


# ---------------------------------------------------------------------------------------
# Exceptions in workers.


def outcome_cell(api: str, seen: dict[str, Any], wait_s: float) -> str:
    """One table cell: what the caller of ``api`` got from a failing task, when every
    wait gave up after ``wait_s``."""
    if api == "process":
        printed = ", traceback on the child's stderr" if seen["traceback"] else ""
        return f"exit code {seen['exitcode']}{printed}; nothing raised"
    if seen["raised"] is None or seen["timed_out"]:
        parts = [f"nothing within {format_seconds(wait_s)}"]
    else:
        parts = [seen["raised"]]
        if seen["is_original"] and not seen["raised"].startswith(seen.get("original", "")):
            parts.append(f"an instance of {seen['original']}")
        if seen["cause_has_traceback"]:
            parts.append("worker's traceback as __cause__")
    if seen.get("next_task", "ran") != "ran":
        later = seen["next_task"]
        parts.append("later tasks get nothing either" if later == "TimeoutError"
                     else f"later tasks: {later}")
    if seen.get("terminate_error"):
        parts.append(f"terminate() raised {seen['terminate_error']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Errors:
    """What the caller saw of each failing task: per start method, API and failure."""

    by_method: dict[str, dict[str, dict[str, dict[str, Any]]]]
    ray: dict[str, dict[str, Any]]
    wait_s: float
    default_method: str
    process_traceback: str  # what a Process printed for the plain failure (default method)
    caught_by_pool: str  # what a parent holding the Pool's plain error can print
    pool_result_thread: str  # the dying result thread's traceback (default method)

    def cell(self, method: str, api: str, failure: str) -> str:
        seen = {**self.by_method[method][api][failure], "original": ORIGINAL[failure]}
        return outcome_cell(api, seen, self.wait_s)

    def ray_cell(self, failure: str) -> str:
        return outcome_cell("ray", {**self.ray[failure], "original": ORIGINAL[failure]},
                            self.wait_s)

    @property
    def differing_rows(self) -> list[tuple[str, str]]:
        """The (API, failure) rows whose outcome differs between start methods."""
        return [(api, failure) for api in MP_APIS for failure in FAILURE_LABELS
                if len({self.cell(method, api, failure) for method in self.by_method}) > 1]

    def seen(self, api: str, failure: str, method: str | None = None) -> dict[str, Any]:
        """The outcome of ``failure`` through ``api`` (default start method unless given)."""
        if api == "ray":
            return self.ray[failure]
        return self.by_method[method or self.default_method][api][failure]


@dataclass(frozen=True)
class Callback:
    """A slow ``error_callback`` against a quick one: when another task's result was ready."""

    callback_s: float
    task_s: float
    ready_after_s: float
    ready_after_quick_s: float

    @property
    def held_up(self) -> bool:
        return (self.ready_after_s - self.ready_after_quick_s) >= HELD_UP_SHARE * self.callback_s


# ---------------------------------------------------------------------------------------
# A worker killed mid-task.


@dataclass(frozen=True)
class RayKill:
    """One Ray kill case over its repeats: what the call in flight got, how long after the
    kill, and whether a later call was answered (by which kind of process)."""

    outcome: str  # "result from a new process" or the exception's class
    after_s: float  # median
    runs: int
    next_call: str | None  # actors: "answered by a new process" or the exception's class
    answered_s: float | None  # actors that answered: median time from the kill


@dataclass(frozen=True)
class Kills:
    """SIGKILL to a worker in the middle of a task, for each API."""

    task_s: float
    executor_s: float  # median time from the kill until the executor raised
    executor_runs: int
    executor_errors: tuple[str, ...]  # the distinct errors the futures got
    executor_failed_all: bool  # every future of the executor failed
    executor_later: str  # what a later submit got
    pool_map_hung: bool  # map had not returned when its limit stopped it
    pool_map_waited_s: float | None  # from the kill to the limit
    pool_map_finished: int  # tasks that finished (all but the killed one, if the pool went on)
    pool_map_tasks: int
    pool_map_processes: int  # distinct worker processes that ran tasks (a replacement: 3)
    ray: dict[str, RayKill]


def ray_kill(runs: list[dict[str, Any]], after: list[float],
             answered: list[float] | None) -> RayKill:
    """Summarise one Ray kill case from its repeats (the first run's outcome names it)."""
    first = runs[0]
    if "returned_by" in first:
        outcome = ("result from a new process" if first["returned_by"] != first["killed_pid"]
                   else "result from the same process")
    else:
        outcome = first["raised"]
    next_call = None
    if "next_call_pid" in first:
        next_call = ("answered by a new process" if first["next_call_pid"] != first["killed_pid"]
                     else "answered by the same process")
    elif "next_call_raised" in first:
        next_call = first["next_call_raised"]
    return RayKill(outcome=outcome, after_s=summarize(after).median, runs=len(runs),
                   next_call=next_call,
                   answered_s=summarize(answered).median if answered else None)


# ---------------------------------------------------------------------------------------
# Ctrl-C.


def exit_text(seen: dict[str, Any]) -> str:
    """How an interrupted child ended, for a table cell."""
    if seen["exited_s"] is None:
        return "killed at its limit"
    code = seen["returncode"]
    if code == KILLED_BY_SIGINT:
        return "died of SIGINT"
    if code == EXIT_INTERRUPTED:
        return "caught it, exit 130"
    return f"exit code {code}"


def ended_clause(seen: dict[str, Any]) -> str:
    """How an interrupted child that ended by itself ended, as a verb phrase."""
    code = seen["returncode"]
    if code == KILLED_BY_SIGINT:
        return "died of the SIGINT itself once its KeyboardInterrupt went uncaught"
    if code == EXIT_INTERRUPTED:
        return "caught the KeyboardInterrupt and exited with code 130"
    return f"exited with code {code}"


@dataclass(frozen=True)
class Interrupts:
    """SIGINT to the process group of a child running a pool in each way, and to a Ray
    driver."""

    by_method: dict[str, dict[str, dict[str, Any]]]  # method -> run -> outcome
    ray: dict[str, Any]
    default_method: str
    limit_s: float
    task_s: float
    tasks: int

    def seen(self, run: str, method: str | None = None) -> dict[str, Any]:
        return self.by_method[method or self.default_method][run]

    def stop_s(self, run: str, method: str | None = None) -> float | None:
        """Seconds from the signal until no process of the child's session was left."""
        return self.seen(run, method)["group_empty_s"]

    def hung(self, run: str, method: str | None = None) -> bool:
        return self.seen(run, method)["exited_s"] is None

    @property
    def runs(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every interrupted run as (method, run, outcome)."""
        return [(method, run, seen) for method, runs in self.by_method.items()
                for run, seen in runs.items()]

    @property
    def left_behind(self) -> list[tuple[str, str]]:
        """Runs that stopped by themselves yet left a process of their session behind."""
        return [(method, run) for method, run, seen in self.runs
                if seen["exited_s"] is not None and seen["group_empty_s"] is None]


# ---------------------------------------------------------------------------------------
# Logging.


@dataclass(frozen=True)
class Logging:
    """Every worker's records counted in the log file, per start method and way."""

    workers: int
    records: int
    by_method: dict[str, dict[str, dict[str, Any]]]  # method -> way -> counts

    @property
    def expected(self) -> int:
        return self.workers * self.records

    def complete(self, way: str) -> list[str]:
        """The methods under which every record of ``way`` arrived, intact and in order."""
        return [method for method, ways in self.by_method.items()
                if ways[way]["distinct"] == self.expected and ways[way]["in_order"]
                and ways[way]["garbled_lines"] == 0]

    def lost_shares(self, way: str) -> list[float]:
        """Share of records lost under each method."""
        return [1 - ways[way]["distinct"] / self.expected for ways in self.by_method.values()]


@dataclass(frozen=True)
class Findings:
    machine: Machine
    errors: Errors
    callback: Callback
    kills: Kills
    interrupts: Interrupts
    logging: Logging


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    values, parameters = result.values, result.parameters
    default = parameters["start_method"]
    errors = values["errors"]
    callback = errors[default]["callback"]
    kills, pool_map = values["kills"], values["kills"]["pool_map"]
    executor = kills["executor"]
    ray_kills = values["ray_kills"]
    return Findings(
        machine=Machine(cpus=parameters["cpus"], start_method=default,
                        methods=tuple(parameters["start_methods"]),
                        python_version=parameters["python_version"],
                        ray_version=parameters["ray_version"]),
        errors=Errors(
            by_method={method: {api: seen[api] for api in MP_APIS}
                       for method, seen in errors.items()},
            ray=values["ray_errors"], wait_s=parameters["error_wait_s"],
            default_method=default,
            process_traceback=errors[default]["process"]["plain"]["traceback"],
            caught_by_pool=errors[default]["caught_by_pool"],
            pool_result_thread=errors[default]["pool_result_thread"]),
        callback=Callback(callback_s=callback["callback_s"], task_s=callback["task_s"],
                          ready_after_s=callback["ready_after_s"],
                          ready_after_quick_s=callback["ready_after_quick_callback_s"]),
        kills=Kills(
            task_s=parameters["kill_task_s"],
            executor_s=result.median("recovery", api="executor"),
            executor_runs=len(executor),
            executor_errors=tuple(sorted({e for run in executor for e in run["errors"]})),
            executor_failed_all=all(run["results"] == 0 for run in executor),
            executor_later=executor[0]["later_submit"],
            pool_map_hung=pool_map["killed"] and not pool_map["returned"],
            pool_map_waited_s=pool_map.get("waited_after_kill_s"),
            pool_map_finished=pool_map.get("finished", 0),
            pool_map_tasks=parameters["map_tasks"],
            pool_map_processes=len(pool_map.get("worker_pids", [])),
            ray={name: ray_kill(
                ray_kills[name], result.case("recovery", api=name).samples,
                _samples(result, "actor_answer", api=name)) for name in RAY_KILLS}),
        interrupts=Interrupts(by_method=values["interrupts"], ray=values["ray_interrupt"],
                              default_method=default,
                              limit_s=parameters["interrupt_limit_s"],
                              task_s=parameters["interrupt_task_s"],
                              tasks=parameters["interrupt_tasks"]),
        logging=Logging(workers=parameters["log_workers"], records=parameters["log_records"],
                        by_method=values["logging"]),
    )


def _samples(result: Result, group: str, **params: Any) -> list[float] | None:
    matches = [case for case in result.group(group)
               if all(case.params.get(key) == value for key, value in params.items())]
    return matches[0].samples if matches else None


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def methods_sentence(errors: Errors, methods: tuple[str, ...]) -> str:
    """Whether the start method changed any outcome of the errors table."""
    differing = errors.differing_rows
    if not differing:
        return (f"Every row came out the same under {spoken_list(methods)}: what happens to "
                "an exception depends on the API, not on how its workers were started.")
    rows = spoken_list(f"{API_LABELS[api]} with {FAILURE_LABELS[failure]}"
                       for api, failure in differing)
    return f"The start methods gave different outcomes for {rows}; the table shows each."


def pool_unpickling_sentence(errors: Errors) -> str:
    """What the Pool did with an exception it could not unpickle."""
    seen = errors.seen("pool", "init")
    waited = format_seconds(seen["waited_s"])
    if seen["timed_out"] and seen["next_task"] != "ran" and errors.pool_result_thread:
        return (f"The Pool never answered: get() was still waiting after {waited}, a healthy "
                "task sent afterwards got no answer either, and the only sign of the failure "
                "was a traceback on standard error from the pool's result-handler thread, "
                "which had died trying to unpickle the exception.")
    if seen["timed_out"]:
        return (f"The Pool never answered: get() was still waiting after {waited}, with "
                "no error raised in the parent.")
    return (f"The Pool raised {seen['raised']} in the parent instead of hanging: this "
            "interpreter's multiprocessing handles the failed unpickling.")


def lock_sentence(errors: Errors) -> str:
    """What came back from an exception holding a lock, through each API."""
    seen = {api: errors.seen(api, "lock") for api in ("pool", "executor", "ray")}
    got = {api: one["raised"] or f"nothing within {format_seconds(errors.wait_s)}"
           for api, one in seen.items()}
    if not any(one["is_original"] for one in seen.values()):
        return (f"The exception holding a lock never reached the parent as itself: the Pool "
                f"raised {got['pool']}, the executor raised {got['executor']} (the error "
                f"pickling raised), and Ray raised {got['ray']}, which is not an instance of "
                "CacheBusyError.")
    arrived = spoken_list(API_LABELS[api] for api, one in seen.items() if one["is_original"])
    return (f"The exception holding a lock arrived as itself through {arrived}: this "
            "interpreter or library version pickles what the others refused.")


def ray_unpickling_sentence(errors: Errors) -> str:
    """What Ray raised for the exception that cannot be unpickled."""
    seen = errors.seen("ray", "init")
    if seen["raised"] == "UnserializableException":
        return ("Ray raised UnserializableException, whose message quotes the original "
                "exception and its traceback as text.")
    if seen["is_original"]:
        return f"Ray raised {seen['raised']}, an instance of the original class."
    return f"Ray raised {seen['raised'] or 'nothing'}."


def executor_unpickling_sentence(errors: Errors) -> str:
    """What the executor did with the same exception."""
    seen = errors.seen("executor", "init")
    if seen["raised"] == "BrokenProcessPool":
        later = ("and refused every later task the same way"
                 if seen["next_task"] == "BrokenProcessPool" else "though it still ran later tasks")
        return ("The executor raised BrokenProcessPool, with the unpickling error in the "
                f"worker's traceback attached as __cause__, {later}: one bad exception broke "
                "the whole pool.")
    if seen["timed_out"]:
        return (f"The executor never answered: result() was still waiting after "
                f"{format_seconds(seen['waited_s'])}.")
    return f"The executor raised {seen['raised']}."


def ray_sentence(errors: Errors) -> str:
    """Whether Ray's error can be caught as the original exception's class."""
    plain = errors.seen("ray", "plain")
    if plain["is_original"]:
        return (f"Here ray.get raised {plain['raised']}, which is both a RayTaskError and a "
                "ValueError, so an existing except ValueError still catches it; its cause "
                f"attribute holds the original {plain['ray_cause']}.")
    return (f"Here ray.get raised {plain['raised']}, which is not a ValueError: code that "
            "catches ValueError must catch RayTaskError instead and look at its cause.")


def fixed_sentence(errors: Errors, methods: tuple[str, ...]) -> str:
    """Whether the fixed exception crossed every API as itself."""
    missed = [f"{API_LABELS[api]} under {method}" for method in methods
              for api in ("pool", "executor")
              if not errors.seen(api, "fixed", method)["is_original"]]
    if not errors.seen("ray", "fixed")["is_original"]:
        missed.append("Ray")
    if not missed:
        return ("The fixed exception arrived as itself, message and all, through the Pool "
                "and the executor under every start method and through Ray.")
    return f"The fixed exception did not arrive as itself through {spoken_list(missed)}."


def callback_sentence(callback: Callback) -> str:
    """What a slow error callback did to another task's result."""
    slow = format_seconds(callback.ready_after_s)
    quick = format_seconds(callback.ready_after_quick_s)
    length = format_seconds(callback.callback_s)
    task = format_seconds(callback.task_s)
    if callback.held_up:
        return (f"A task of {task} had its result ready after {quick} when the other task's "
                f"error callback returned at once, and after {slow} when that callback took "
                f"{length}: its result waited for the callback.")
    return (f"A task of {task} had its result ready after {quick} with a quick error "
            f"callback and after {slow} with one that took {length}: no hold-up worth the "
            "name here.")


def pool_map_sentence(kills: Kills) -> str:
    """What Pool.map did after one of its workers was killed."""
    if kills.pool_map_hung and kills.pool_map_waited_s is not None:
        waited = format_seconds(kills.pool_map_waited_s)
        replaced = (f"; the pool did start a replacement worker and finished "
                    f"{kills.pool_map_finished} of the {kills.pool_map_tasks} tasks, all but "
                    "the one that was killed" if kills.pool_map_processes > 2 else "")
        return (f"Pool.map was still waiting {waited} after the kill, when its time limit "
                f"stopped it{replaced}.")
    return "Pool.map did not hang here: it returned or raised before its time limit."


def executor_kill_sentence(kills: Kills) -> str:
    """How the executor reported a killed worker."""
    errors = spoken_list(kills.executor_errors)
    if kills.executor_errors == ("BrokenProcessPool",) and kills.executor_failed_all:
        return (f"The executor raised BrokenProcessPool {format_seconds(kills.executor_s)} "
                "after the kill (median), in every one of its futures, the tasks that were "
                "running fine on the other worker included, and refused every later task.")
    return (f"The executor's futures got {errors}, the first "
            f"{format_seconds(kills.executor_s)} after the kill (median).")


def ray_task_sentence(kills: Kills) -> str:
    """What a retried Ray task delivered."""
    retry, none = kills.ray["task_retry"], kills.ray["task_no_retry"]
    if retry.outcome == "result from a new process":
        return (f"With max_retries=0 the call raised {none.outcome} "
                f"{format_seconds(none.after_s)} after the kill; with max_retries=1 Ray ran "
                f"the task again in a new worker process, and its result arrived "
                f"{format_seconds(retry.after_s)} after the kill, the "
                f"{format_seconds(kills.task_s)} of work done again included.")
    return (f"With max_retries=0 the call raised {none.outcome}; with max_retries=1 it got "
            f"{retry.outcome}, {format_seconds(retry.after_s)} after the kill.")


def ray_actor_sentence(kills: Kills) -> str:
    """What the three actor settings did."""
    dead, restart, retry = (kills.ray["actor_no_restart"], kills.ray["actor_restart"],
                            kills.ray["actor_restart_retry"])
    first = (f"Without restarts, the call in flight raised {dead.outcome} "
             f"{format_seconds(dead.after_s)} after the kill, and so did every later call.")
    if restart.answered_s is not None and retry.outcome == "result from a new process":
        return (f"{first} With max_restarts=1 alone, the call in flight still failed "
                f"({restart.outcome}, after {format_seconds(restart.after_s)}), but the "
                f"restarted actor answered the next call; with max_task_retries=1 as well, "
                f"the call in flight itself was run again on the restarted actor and returned "
                f"{format_seconds(retry.after_s)} after the kill.")
    return (f"{first} With restarts, the call in flight got {restart.outcome} and, with task "
            f"retries too, {retry.outcome}.")


def interrupt_sentence(interrupts: Interrupts, run: str) -> str:
    """How one run of the default start method met Ctrl-C."""
    seen = interrupts.seen(run)
    if seen["exited_s"] is None:
        return (f"It was still running {format_seconds(seen['limit_s'])} after the signal, "
                f"when its limit stopped it; {seen['left_at_limit']} of its processes were "
                "still there.")
    stop = seen["group_empty_s"]
    gone = (f"no process of its session was left {format_seconds(stop)} after the signal"
            if stop is not None else "some of its processes were still running at the limit")
    return f"It {ended_clause(seen)}, and {gone}."


def close_join_detail(interrupts: Interrupts) -> str:
    """Why close() + join() after Ctrl-C never returned (or that it did)."""
    seen = interrupts.seen("pool_close_join")
    done, tasks = seen["finished_tasks"], interrupts.tasks
    if seen["exited_s"] is not None:
        return "Here join() did return: no task was lost to the interrupt."
    if seen["worker_headers"] and done < tasks:
        return (f"Its {seen['worker_headers']} workers died of their KeyboardInterrupt in the "
                f"middle of their tasks; the pool replaced them and ran the queued tasks "
                f"({done} of {tasks} finished), but the interrupted ones were lost, and "
                "join() waits until every task is accounted for.")
    return (f"Although {done} of {tasks} tasks finished, join() still did not return: it "
            "waits until every task is accounted for.")


def close_join_rule_sentence(interrupts: Interrupts) -> str:
    """The close() + join() outcome as a sentence that stands alone (for the rules page)."""
    seen = interrupts.seen("pool_close_join")
    if seen["exited_s"] is None:
        return (f"With default signal handling and close() + join() in a finally block, the "
                f"program was still waiting in join() {format_seconds(seen['limit_s'])} after "
                "Ctrl-C, when its time limit stopped it.")
    return ("With default signal handling and close() + join() in a finally block, join() "
            f"returned here, {format_seconds(seen['exited_s'])} after Ctrl-C.")


def drain_detail(interrupts: Interrupts) -> str:
    """What close() + join() did once the workers ignored SIGINT."""
    seen = interrupts.seen("pool_drain")
    done, tasks = seen["finished_tasks"], interrupts.tasks
    if done == tasks:
        return (f"All {tasks} tasks ran to their end first: this is the gentle stop, for "
                "work that must not be cut short, and it takes as long as the work left.")
    return (f"Only {done} of {tasks} tasks finished before it stopped, although the workers "
            "ignored the signal.")


def executor_default_detail(interrupts: Interrupts) -> str:
    """What the executor's workers did with the KeyboardInterrupt they got."""
    seen = interrupts.seen("executor_default")
    done, tasks = seen["finished_tasks"], interrupts.tasks
    if 0 < done < tasks and seen["exited_s"] is not None:
        return (f"Tasks still finished after the signal, {done} of {tasks}: the "
                "KeyboardInterrupt that interrupted each running task went back to its "
                "future like any other exception, the workers lived on to run what had "
                "already been handed to them, and executor.map cancelled the rest.")
    if done == 0:
        return "No task finished after the signal."
    return f"All {tasks} tasks finished."


def executor_clean_detail(interrupts: Interrupts) -> str:
    """Which tasks shutdown(cancel_futures=True) let finish."""
    seen = interrupts.seen("executor_clean")
    done, running = seen["finished_tasks"], len(seen["task_pids"])
    if done > running:
        return (f"After the signal, {done} tasks still finished: the {running} that were running, "
                f"and {done - running} more that the executor had already handed towards "
                "its workers. shutdown(cancel_futures=True) cancels only the tasks still in "
                "the executor's own queue.")
    return (f"After the signal, {done} tasks still finished: shutdown(cancel_futures=True) "
            "cancelled the rest and waited for the running ones.")


def worker_tracebacks_sentence(interrupts: Interrupts) -> str:
    """What the workers of the default Pool printed when Ctrl-C reached them."""
    counts = {method: runs["pool_default"]["worker_headers"]
              for method, runs in interrupts.by_method.items()}
    if not any(counts.values()):
        return ("No worker managed to print anything: terminate() killed them before their "
                "tracebacks reached the terminal.")
    per_method = spoken_list(f"{count} under {method}" for method, count in counts.items())
    if len(set(counts.values())) > 1:
        return (f"Workers began printing their own KeyboardInterrupt tracebacks ({per_method}, "
                "of two workers each) while the parent printed its own and terminated them: "
                "different counts from the same code, because what reaches the terminal is "
                "a race.")
    return (f"Workers began printing their own KeyboardInterrupt tracebacks ({per_method}, "
            "of two workers each) while the parent printed its own and terminated them, "
            "all on the same terminal at once.")


def clean_sentence(interrupts: Interrupts) -> str:
    """The clean pattern under every start method."""
    stops = [interrupts.stop_s("pool_clean", method) for method in interrupts.by_method]
    quiet = all(interrupts.seen("pool_clean", method)["worker_headers"] == 0
                and interrupts.seen("pool_clean", method)["returncode"] == EXIT_INTERRUPTED
                for method in interrupts.by_method)
    if all(stop is not None for stop in stops) and quiet:
        slowest = format_seconds(max(stops))
        return (f"Under every start method the clean pattern stopped within {slowest} of "
                "the signal, with no traceback from any worker, exit code 130 and no process "
                "of its session left.")
    return ("The clean pattern did not stop cleanly under every start method here; the "
            "table shows which.")


def leftovers_sentence(interrupts: Interrupts) -> str:
    """Whether any interrupted run left a process behind after stopping by itself."""
    hung = [run for _method, run, seen in interrupts.runs if seen["exited_s"] is None]
    left = interrupts.left_behind
    ray_left = interrupts.ray.get("task_workers_left", 0)
    if not left and not ray_left:
        stuck = (f"; the only processes still there were those of the run that never stopped "
                 f"({spoken_list(sorted(set(hung)))}), killed at its limit" if hung else "")
        return (f"Every run that stopped by itself left no process of its session behind, "
                f"as psutil checked{stuck}.")
    names = spoken_list([f"{run} under {method}" for method, run in left]
                        + (["the Ray tasks' workers"] if ray_left else []))
    return f"Processes were left behind by {names}."


def ray_interrupt_sentence(interrupts: Interrupts) -> str:
    """What Ctrl-C did to a Ray driver and its tasks."""
    seen = interrupts.ray
    gone = seen.get("task_workers_gone_s")
    if seen["exited_s"] is not None and gone is not None:
        return (f"The driver ended {format_seconds(seen['exited_s'])} after the signal (it "
                f"{ended_clause(seen)}); the worker processes running its tasks, which belong "
                f"to Ray's own processes and not to the driver's group, were gone "
                f"{format_seconds(gone)} after the signal: Ray stops a job's tasks when its "
                "driver goes.")
    if seen["exited_s"] is not None:
        return (f"The driver {ended_clause(seen)}, but the worker processes running its "
                "tasks were still there at the limit.")
    return "The driver was still running at its limit."


def lost_range(shares: list[float]) -> str:
    """"50%", or "40% to 60%" when the start methods differ."""
    low, high = format_percent(min(shares)), format_percent(max(shares))
    return low if low == high else f"{low} to {high}"


def queue_logging_sentence(logging: Logging, methods: tuple[str, ...]) -> str:
    """Whether the queue delivered every record under every start method."""
    complete = logging.complete("queue")
    if len(complete) == len(methods):
        return (f"Through the queue, all {logging.expected:,} records arrived, each worker's "
                f"in the order it logged them, under {spoken_list(methods)}.")
    missing = [method for method in methods if method not in complete]
    return (f"Through the queue, records went missing or out of order under "
            f"{spoken_list(missing)}.")


def file_logging_sentence(logging: Logging) -> str:
    """What the per-worker FileHandlers did, in append and in write mode."""
    lost = logging.lost_shares("file_write")
    appended = len(logging.complete("file_append")) == len(logging.by_method)
    write = (f"with mode 'w' each worker truncated the file when it opened it and then wrote "
             f"from its own offset over the others' lines, losing {lost_range(lost)} of the "
             "records" if max(lost) > 0 else "with mode 'w' no record was lost here")
    if appended:
        return (f"With a FileHandler per worker, the default mode 'a' lost nothing here: "
                f"every write goes to the end of the file. But {write}.")
    return (f"With a FileHandler per worker, even the default mode 'a' lost or tore records "
            f"here, and {write}.")


# ---------------------------------------------------------------------------------------
# Tables' rows and the summary.


def errors_rows(errors: Errors) -> dict[tuple[str, str], dict[str, str]]:
    """(API label, failure label) -> start method -> cell; one column for every start
    method when no row differs between them, rather than the same column repeated."""
    methods = list(errors.by_method)
    if len(methods) > 1 and not errors.differing_rows:
        columns = {f"{spoken_list(methods)} alike": methods[0]}
    else:
        columns = {method: method for method in methods}
    return {(API_LABELS[api], FAILURE_LABELS[failure]):
            {column: errors.cell(method, api, failure) for column, method in columns.items()}
            for api in MP_APIS for failure in FAILURE_LABELS}


def kill_rows(kills: Kills) -> list[dict[str, str]]:
    """One row per API of the kill demo."""
    waited = kills.pool_map_waited_s
    rows = [
        {"how the task ran": KILL_LABELS["pool_map"],
         "what the caller got": "nothing: map still waiting" if kills.pool_map_hung
         else "map returned or raised",
         "after the kill (median)": f"over {format_seconds(waited)} (stopped by its limit)"
         if waited is not None else "n/a",
         "runs": "1", "a later call": "the pool had replaced the worker"
         if kills.pool_map_processes > 2 else "n/a"},
        {"how the task ran": KILL_LABELS["executor"],
         "what the caller got": spoken_list(kills.executor_errors),
         "after the kill (median)": format_seconds(kills.executor_s),
         "runs": str(kills.executor_runs), "a later call": kills.executor_later},
    ]
    for name, kill in kills.ray.items():
        later = kill.next_call or "n/a"
        if kill.answered_s is not None:
            later = f"{later}, {format_seconds(kill.answered_s)} after the kill"
        rows.append({"how the task ran": KILL_LABELS[name], "what the caller got": kill.outcome,
                     "after the kill (median)": format_seconds(kill.after_s),
                     "runs": str(kill.runs), "a later call": later})
    return rows


def interrupt_rows(interrupts: Interrupts) -> list[dict[str, str]]:
    """One row per interrupted run, the Ray driver last."""
    rows = []
    for method, run, seen in interrupts.runs:
        rows.append(_interrupt_row(INTERRUPT_LABELS[run], method, seen))
    rows.append(_interrupt_row(INTERRUPT_LABELS["ray_driver"], "(Ray)", interrupts.ray))
    return rows


def _interrupt_row(label: str, method: str, seen: dict[str, Any]) -> dict[str, str]:
    stop = seen["group_empty_s"]
    return {
        "run": label, "method": method, "ended": exit_text(seen),
        "none left after": format_seconds(stop) if stop is not None else "never",
        "processes at Ctrl-C / limit": f"{seen['in_group']} / {seen['left_at_limit']}",
        "worker tracebacks": str(seen["worker_headers"]),
        "tasks done": str(seen.get("finished_tasks", "n/a")),
    }


def logging_rows(logging: Logging) -> dict[str, dict[str, str]]:
    """Way label -> start method -> "intact records / expected, in order or not"."""
    rows = {}
    for way, label in LOGGING_LABELS.items():
        rows[label] = {}
        for method, ways in logging.by_method.items():
            counts = ways[way]
            order = "in order" if counts["in_order"] else "out of order"
            rows[label][method] = f"{counts['distinct']:,} of {logging.expected:,}, {order}"
    return rows


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter found, one line per kind of failure."""
    errors, kills, interrupts, logging = (found.errors, found.kills, found.interrupts,
                                          found.logging)
    plain_pool = errors.seen("pool", "plain")["raised"]
    init = {api: errors.seen(api, "init") for api in ("pool", "executor", "ray")}
    init_pool = ("no answer at all" if init["pool"]["timed_out"] else init["pool"]["raised"])
    clean = [s for s in (interrupts.stop_s("pool_clean", m) for m in interrupts.by_method)
             if s is not None]
    retry = kills.ray["task_retry"]
    actor = kills.ray["actor_restart_retry"]
    rows = [
        ("a task raises ValueError",
         f"Process: exit code {errors.seen('process', 'plain')['exitcode']}, nothing raised; "
         f"Pool and executor: {plain_pool} raised again in the parent; Ray: "
         f"{errors.seen('ray', 'plain')['raised']}"),
        ("a task raises an exception that cannot be unpickled",
         f"Pool: {init_pool}; executor: {init['executor']['raised'] or 'no answer'}; Ray: "
         f"{init['ray']['raised'] or 'no answer'}"),
        ("a worker is killed (SIGKILL) mid-task",
         f"Pool.map: {'still waiting at its limit' if kills.pool_map_hung else 'ended'}; "
         f"executor: {spoken_list(kills.executor_errors)} after "
         f"{format_seconds(kills.executor_s)}; Ray task retried: result after "
         f"{format_seconds(retry.after_s)}; Ray actor restarted: answer after "
         f"{format_seconds(actor.after_s)}"),
        ("Ctrl-C (SIGINT to the process group)",
         f"clean pattern: no process left after at most {format_seconds(max(clean))}"
         if clean else "clean pattern: did not stop cleanly"),
        (f"{logging.workers} workers log {logging.records:,} records each",
         f"through a queue: {_fewest(logging, 'queue'):,} of {logging.expected:,} arrived; "
         f"a FileHandler per worker, mode 'w': {_fewest(logging, 'file_write'):,} of "
         f"{logging.expected:,}"),
    ]
    return rows


def _fewest(logging: Logging, way: str) -> int:
    return min(ways[way]["distinct"] for ways in logging.by_method.values())


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    machine, errors, callback, kills, interrupts, logging = (
        found.machine, found.errors, found.callback, found.kills, found.interrupts,
        found.logging)
    seconds = format_seconds
    return {
        "failures_cpus": machine.cpus,
        "failures_start_method": machine.start_method,
        "failures_methods": spoken_list(machine.methods),
        "failures_wait": seconds(errors.wait_s),
        "failures_methods_sentence": methods_sentence(errors, machine.methods),
        "failures_pool_unpickling": pool_unpickling_sentence(errors),
        "failures_executor_unpickling": executor_unpickling_sentence(errors),
        "failures_lock_sentence": lock_sentence(errors),
        "failures_ray_unpickling": ray_unpickling_sentence(errors),
        "failures_ray_sentence": ray_sentence(errors),
        "failures_fixed_sentence": fixed_sentence(errors, machine.methods),
        "failures_callback_sentence": callback_sentence(callback),
        "failures_kill_task": seconds(kills.task_s),
        "failures_pool_map_sentence": pool_map_sentence(kills),
        "failures_executor_kill": seconds(kills.executor_s),
        "failures_executor_kill_sentence": executor_kill_sentence(kills),
        "failures_ray_task_sentence": ray_task_sentence(kills),
        "failures_ray_actor_sentence": ray_actor_sentence(kills),
        "failures_task_retry": seconds(kills.ray["task_retry"].after_s),
        "failures_interrupt_task": seconds(interrupts.task_s),
        "failures_interrupt_tasks": interrupts.tasks,
        "failures_interrupt_limit": seconds(interrupts.limit_s),
        **{f"failures_interrupt_{run}": interrupt_sentence(interrupts, run)
           for run in interrupts.by_method[interrupts.default_method]},
        "failures_worker_tracebacks": worker_tracebacks_sentence(interrupts),
        "failures_close_join_detail": close_join_detail(interrupts),
        "failures_close_join_rule": close_join_rule_sentence(interrupts),
        "failures_drain_detail": drain_detail(interrupts),
        "failures_executor_default_detail": executor_default_detail(interrupts),
        "failures_executor_clean_detail": executor_clean_detail(interrupts),
        "failures_clean_sentence": clean_sentence(interrupts),
        "failures_leftovers_sentence": leftovers_sentence(interrupts),
        "failures_ray_interrupt_sentence": ray_interrupt_sentence(interrupts),
        "failures_log_workers": logging.workers,
        "failures_log_records": f"{logging.records:,}",
        "failures_queue_logging_sentence": queue_logging_sentence(logging, machine.methods),
        "failures_file_logging_sentence": file_logging_sentence(logging),
    }


def printouts(found: Findings) -> dict[str, str]:
    """What the demonstrations printed, by output id."""
    errors, interrupts = found.errors, found.interrupts
    messages = []
    for failure, label in FAILURE_LABELS.items():
        messages.append(f"--- {label}")
        for api in ("pool", "executor", "ray"):
            seen = errors.seen(api, failure)
            message = seen["last_line"] if api == "ray" else seen["message"]
            got = (f"nothing after {format_seconds(seen['waited_s'])}" if seen["timed_out"]
                   else f"{seen['raised']}: {message}")
            messages.append(f"{API_LABELS[api]:22} {got}")
    return {
        "failures-process-traceback": errors.process_traceback,
        "failures-pool-traceback": errors.caught_by_pool,
        "failures-error-messages": "\n".join(messages),
        "failures-result-thread": errors.pool_result_thread or "(nothing printed)",
        "failures-ctrl-c-default": interrupts.seen("pool_default")["stderr"].strip()
        or "(nothing printed)",
    }


# ---------------------------------------------------------------------------------------
# The claim of the source articles this chapter judges, for the ledger in book/sources.md.


def callback_claim(callback: Callback) -> Judgement:
    """Article 001, section 3.6: a callback of ``apply_async`` gets the result as soon as
    it is ready, and must not block, or the results of other asynchronous calls wait.
    Judged with an ``error_callback``, which runs in the same result thread."""
    slow, quick = (format_seconds(callback.ready_after_s),
                   format_seconds(callback.ready_after_quick_s))
    length = format_seconds(callback.callback_s)
    measured = (f"another task's result was ready after {slow} behind an error callback "
                f"that took {length}, and after {quick} behind one that returned at once")
    if callback.held_up:
        return Judgement(Verdict.HOLDS, (
            f"A blocking callback held up the results of other calls: {measured}. Callbacks "
            "run one at a time in the pool's result-handler thread of the parent, which "
            "hands out every result."))
    return Judgement(Verdict.FAILS, (
        f"The blocking callback did not measurably hold up another result here: "
        f"{measured}."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {"a001_callback_blocking": callback_claim(found.callback)}
