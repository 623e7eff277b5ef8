"""Failures: exceptions in workers, workers killed mid-task, Ctrl-C, logging from workers.

Everything that could hang runs in a child interpreter with a time limit
(``python -m parbook.chapters.failures.demos ...``); everything that uses Ray runs in
one session, started last, after every process has been started that is forked here.

``values["errors"]``
    Under each start method: what the parent of a ``Process``, a ``Pool`` and a
    ``ProcessPoolExecutor`` saw when a task raised an ordinary exception, one holding a
    lock, one whose ``__init__`` cannot be called again by unpickling, and that one fixed;
    whether each Process printed its traceback; whether the Pool's result thread died;
    and how long a slow ``error_callback`` held up another task's result.
``values["ray_errors"]``
    What ``ray.get`` raised for the same four tasks.
``recovery`` (cases) and ``values["kills"]``
    A worker killed with SIGKILL in the middle of a task: the time from the kill until
    the caller heard of it (``ProcessPoolExecutor``: BrokenProcessPool; Ray tasks without
    and with ``max_retries``; Ray actors without restarts, with restarts only, and with
    restarts and task retries), and how long ``Pool.map`` was still waiting when its
    time limit stopped it (``pool_map_wait``).
``interrupt`` (cases) and ``values["interrupts"]``
    SIGINT sent to the process group of a child running a pool in each way of
    :data:`workload.INTERRUPTED_RUNS` (the default and the clean Pool under every start
    method, the rest under the default one), and to a Ray driver: time until the child
    exited and until its session had no process left.
``values["logging"]``
    Under each start method: every worker's records counted in the log file, written
    through a queue to one listener, or by every worker's own FileHandler.
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.failures import workload as work
from parbook.chapters.failures.demos import MODULE
from parbook.shared import run_setup
from parbook.shared.child import ChildRun, child_env, run_module, shorten_paths
from parbook.shared.raysession import describe, ray_session

NAME = "failures"

API_LABELS = {
    "process": "multiprocessing.Process",
    "pool": "multiprocessing.Pool",
    "executor": "ProcessPoolExecutor",
    "ray": "Ray task",
}
FAILURE_LABELS = {
    "plain": "ValueError (ordinary)",
    "lock": "an exception holding a lock",
    "init": "an exception whose __init__ needs two arguments",
    "fixed": "the same exception, fixed",
}
#: The Ray cases of the kill demo: (kind, max_retries or max_restarts, max_task_retries).
RAY_KILLS = {
    "task_no_retry": ("task", 0, 0),
    "task_retry": ("task", 1, 0),
    "actor_no_restart": ("actor", 0, 0),
    "actor_restart": ("actor", 1, 0),
    "actor_restart_retry": ("actor", 1, 1),
}
KILL_LABELS = {
    "pool_map": "multiprocessing.Pool.map",
    "executor": "ProcessPoolExecutor",
    "task_no_retry": "Ray task, max_retries=0",
    "task_retry": "Ray task, max_retries=1",
    "actor_no_restart": "Ray actor, max_restarts=0 (the default)",
    "actor_restart": "Ray actor, max_restarts=1, max_task_retries=0",
    "actor_restart_retry": "Ray actor, max_restarts=1, max_task_retries=1",
}
INTERRUPT_LABELS = {
    "pool_default": "Pool, with block, default handling",
    "pool_close_join": "Pool, default handling, close() + join() in finally",
    "pool_clean": "Pool, workers ignore SIGINT, terminate()",
    "pool_drain": "Pool, workers ignore SIGINT, close() + join()",
    "executor_default": "executor, with block, default handling",
    "executor_clean": "executor, workers ignore SIGINT, shutdown(cancel_futures=True)",
    "ray_driver": "Ray driver waiting in ray.get",
}
#: The interrupted runs repeated under every start method; the others run under the
#: default one only (what they show happens in the parent, whatever the method).
EVERY_METHOD_RUNS = ("pool_default", "pool_clean")
LOGGING_LABELS = {
    "queue": "QueueHandler in each worker, one QueueListener in the parent",
    "file_append": "a FileHandler per worker on the same file, mode 'a' (the default)",
    "file_write": "a FileHandler per worker on the same file, mode 'w'",
}
#: Pool size of the kill and Ctrl-C demos (their functions make pools of two).
DEMO_WORKERS = 2
#: Time limit of the children that end by themselves (they take seconds).
CHILD_LIMIT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    error_wait_s: float  # how long a get() waits before the demo says nothing came back
    callback_s: float
    callback_task_s: float
    kill_task_s: float  # the length of the task in which a worker is killed
    executor_repeats: int
    ray_repeats: int
    map_tasks: int
    hang_limit_s: float  # the whole time limit of the child whose Pool.map hangs
    interrupt_task_s: float
    interrupt_tasks: int
    interrupt_limit_s: float  # how long an interrupted child gets after the signal
    ray_task_s: float  # Ray tasks of the Ctrl-C demo: far longer than the stop takes
    log_records: int


FULL = Sizes(error_wait_s=1.0, callback_s=0.3, callback_task_s=0.05, kill_task_s=0.3,
             executor_repeats=5, ray_repeats=3, map_tasks=6, hang_limit_s=3.0,
             interrupt_task_s=0.4, interrupt_tasks=6, interrupt_limit_s=3.0,
             ray_task_s=20.0, log_records=2000)
QUICK = Sizes(error_wait_s=0.5, callback_s=0.2, callback_task_s=0.05, kill_task_s=0.2,
              executor_repeats=2, ray_repeats=1, map_tasks=6, hang_limit_s=2.0,
              interrupt_task_s=0.15, interrupt_tasks=6, interrupt_limit_s=2.0,
              ray_task_s=20.0, log_records=500)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every demonstration and measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    methods = multiprocessing.get_all_start_methods()
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus=machine_setup.cpus, start_method=machine_setup.start_method,
        start_methods=methods, python_version=platform.python_version(),
        error_wait_s=size.error_wait_s, kill_task_s=size.kill_task_s,
        map_tasks=size.map_tasks, hang_limit_s=size.hang_limit_s,
        interrupt_task_s=size.interrupt_task_s, interrupt_tasks=size.interrupt_tasks,
        interrupt_limit_s=size.interrupt_limit_s, log_records=size.log_records,
        log_workers=max(2, machine_setup.cpus), demo_workers=DEMO_WORKERS,
    )
    say = machine_setup.say
    with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder, \
            ThreadPoolExecutor(max_workers=len(methods)) as threads:
        say(f"errors in workers and logging from workers, under {', '.join(methods)}")
        started = _start_errors_and_logging(threads, folder, size, methods,
                                            result.parameters["log_workers"])
        say("starting Ray")
        with ray_session(num_cpus=machine_setup.cpus) as ray:
            # Every Ray measurement waits until the demos above have ended.
            _collect_errors_and_logging(result, started)
            _ray(result, ray, size, machine_setup)
    _kills(result, size, machine_setup)
    _interrupts(result, size, methods, machine_setup)
    return result


def parse_child(child: ChildRun, what: str) -> Any:
    """The JSON a child that ended by itself printed last; an error if it failed."""
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {child.returncode}, killed={child.killed}):"
                           f"\n{child.errors[-3000:]}")
    return json.loads(child.output.strip().splitlines()[-1])


def traceback_of(errors: str, process_name: str) -> str:
    """The traceback a Process named ``process_name`` printed, from a child's stderr:
    from multiprocessing's "Process NAME:" line to the next line that starts a new block."""
    lines = errors.splitlines()
    header = f"Process {process_name}:"
    if header not in lines:
        return ""
    block = [header]
    for line in lines[lines.index(header) + 1:]:
        if line.startswith(("Process ", "Exception in thread")):
            break
        block.append(line)
    return shorten_paths("\n".join(block))


def _start_errors_and_logging(threads: ThreadPoolExecutor, folder: str, size: Sizes,
                              methods: list[str], workers: int) -> dict[str, Any]:
    """Start the error and logging demos of every start method, each in a child.

    They are independent, time nothing that matters beside each other and mostly wait,
    so they run side by side, one per start method at a time, while Ray starts."""
    def child(*args: str) -> Any:
        return threads.submit(run_module, MODULE, *args, time_limit_s=CHILD_LIMIT_S)

    return {method: {
        "process": child("process-errors", method),
        "pool": child("pool-errors", method, str(size.error_wait_s), str(size.callback_s),
                      str(size.callback_task_s)),
        "logging": child("logging", method, folder, str(workers), str(size.log_records)),
    } for method in methods}


def _collect_errors_and_logging(result: Result, started: dict[str, Any]) -> None:
    errors: dict[str, Any] = {}
    logging: dict[str, Any] = {}
    for method, children in started.items():
        process_child = children["process"].result()
        codes = parse_child(process_child, f"process errors under {method}")
        pool_child = children["pool"].result()
        seen = parse_child(pool_child, f"pool errors under {method}")
        seen["process"] = {
            failure: {"exitcode": codes[failure],
                      "traceback": traceback_of(process_child.errors, f"failing-{failure}")}
            for failure in work.FAILURES}
        seen["shown_process_exitcode"] = codes["shown_function"]
        # A Pool whose result thread died prints that thread's traceback to stderr.
        seen["pool_result_thread"] = _thread_traceback(pool_child.errors)
        seen["caught_by_pool"] = shorten_paths(seen["caught_by_pool"])
        errors[method] = seen
        logging[method] = parse_child(children["logging"].result(), f"logging under {method}")
    result.values["errors"] = errors
    result.values["logging"] = logging


def _thread_traceback(errors: str) -> str:
    """The first "Exception in thread ..." traceback of a child's stderr, if any."""
    lines = errors.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Exception in thread")]
    if not starts:
        return ""
    block = [lines[starts[0]]]
    for line in lines[starts[0] + 1:]:
        block.append(line)
        if line and not line.startswith((" ", "Traceback")):
            break  # the exception's own line ends the traceback
    return shorten_paths("\n".join(block))


def _kills(result: Result, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    method = machine_setup.start_method
    machine_setup.say(f"SIGKILL to a ProcessPoolExecutor worker, {size.executor_repeats} times")
    child = run_module(MODULE, "executor-kills", method, str(size.kill_task_s),
                       str(size.executor_repeats), time_limit_s=CHILD_LIMIT_S)
    executor = parse_child(child, "executor kills")
    result.add("recovery", {"api": "executor"}, [seen["heard_after_s"] for seen in executor])

    machine_setup.say(f"SIGKILL to a Pool worker during map (limit {size.hang_limit_s} s)")
    with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder:
        started_at = time.time()
        child = run_module(MODULE, "pool-map-kill", method, folder, str(size.kill_task_s),
                           str(size.map_tasks), time_limit_s=size.hang_limit_s)
    # The moment the limit ran out: the child was still in map() then (or had ended).
    stopped_at = started_at + (size.hang_limit_s if child.killed else child.elapsed_s)
    reports = [json.loads(line) for line in child.output.splitlines() if line.startswith("{")]
    pool_map = {key: value for report in reports for key, value in report.items()}
    pool_map.update(killed=child.killed, returncode=child.returncode,
                    time_limit_s=child.time_limit_s, returned="returned" in pool_map)
    if "killed_at" in pool_map:
        waited = stopped_at - pool_map["killed_at"]
        pool_map["waited_after_kill_s"] = waited
        result.add("pool_map_wait", {"api": "pool_map"}, [waited])
    result.values["kills"] = {"executor": executor, "pool_map": pool_map}


def _interrupt(result: Result, run: str, method: str, size: Sizes) -> dict[str, Any]:
    """One interrupted child; its outcome, with what its stderr showed, counted."""
    with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder:
        seen = work.interrupt_group(
            [sys.executable, "-u", "-m", MODULE, "interrupt", run, method, folder,
             str(size.interrupt_task_s), str(size.interrupt_tasks)],
            folder, DEMO_WORKERS, size.interrupt_limit_s)
        seen["finished_tasks"] = work.finished(folder)
    return _summarise_interrupt(result, run, method, seen)


def _summarise_interrupt(result: Result, run: str, method: str, seen: dict[str, Any]
                         ) -> dict[str, Any]:
    errors = seen.pop("errors")
    seen.pop("signalled_at")
    lines = errors.splitlines()
    seen["worker_headers"] = sum(1 for line in lines if line.startswith("Process ")
                                 and line.rstrip().endswith(":"))
    seen["keyboard_interrupts"] = sum(1 for line in lines if line.strip() == "KeyboardInterrupt")
    seen["stderr"] = shorten_paths(errors[-4000:])
    seen["output"] = seen["output"][-500:]
    if seen["group_empty_s"] is not None:
        result.add("interrupt", {"run": run, "method": method}, [seen["group_empty_s"]])
    return seen


def _interrupts(result: Result, size: Sizes, methods: list[str],
                machine_setup: run_setup.RunSetup) -> None:
    default = machine_setup.start_method
    interrupts: dict[str, dict[str, Any]] = {}
    for method in methods:
        runs = work.INTERRUPTED_RUNS if method == default else EVERY_METHOD_RUNS
        for run in runs:
            machine_setup.say(f"Ctrl-C (SIGINT to the process group): {run} under {method}")
            interrupts.setdefault(method, {})[run] = _interrupt(result, run, method, size)
    result.values["interrupts"] = interrupts


def _ray(result: Result, ray: Any, size: Sizes, machine_setup: run_setup.RunSetup) -> None:
    result.parameters.update(describe(ray), ray_version=ray.__version__)
    machine_setup.say("Ray: exceptions in tasks")
    # Ray needs no hang detector here: its worker may still be starting, so the wait is
    # the general bound.
    result.values["ray_errors"] = {failure: work.ray_error_case(ray, failure, work.WAIT_S)
                                   for failure in work.FAILURES}
    kills: dict[str, list[dict[str, Any]]] = {}
    for name, (kind, restarts, task_retries) in RAY_KILLS.items():
        machine_setup.say(f"Ray: SIGKILL, {name}, {size.ray_repeats} times")
        for _ in range(size.ray_repeats):
            with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder:
                if kind == "task":
                    seen = work.ray_task_after_kill(ray, folder, restarts, size.kill_task_s)
                else:
                    seen = work.ray_actor_after_kill(ray, folder, restarts, task_retries,
                                                     size.kill_task_s)
            kills.setdefault(name, []).append(seen)
        result.add("recovery", {"api": name}, [seen["after_s"] for seen in kills[name]])
        answered = [seen["answered_after_s"] for seen in kills[name]
                    if "answered_after_s" in seen]
        if kind == "actor" and answered:
            result.add("actor_answer", {"api": name}, answered)
    result.values["ray_kills"] = kills
    machine_setup.say("Ray: Ctrl-C (SIGINT) to a driver's process group")
    address = ray.get_runtime_context().gcs_address
    with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder:
        # The child driver joins this instance; the token and RAY_ADDRESS reach it.
        env = child_env({"RAY_ADDRESS": address})
        seen = work.interrupt_group(
            [sys.executable, "-u", "-m", MODULE, "ray-driver", folder,
             str(size.ray_task_s), str(machine_setup.cpus)],
            folder, machine_setup.cpus, size.interrupt_limit_s + 10.0, env=env)
    # The tasks' workers belong to Ray's raylet, not to the driver's session: did they stop?
    signalled_at = seen["signalled_at"]
    remaining = max(0.0, seen["limit_s"] - (time.perf_counter() - signalled_at))
    gone = work.wait_until_gone(lambda: work.alive(seen["task_pids"]), remaining)
    seen["task_workers_gone_s"] = None if gone is None else time.perf_counter() - signalled_at
    seen["task_workers_left"] = len(work.alive(seen["task_pids"]))
    summary = _summarise_interrupt(result, "ray_driver", "ray", seen)
    if summary["task_workers_gone_s"] is not None:
        result.add("ray_workers_gone", {"run": "ray_driver"},
                   [summary["task_workers_gone_s"]])
    result.values["ray_interrupt"] = summary
