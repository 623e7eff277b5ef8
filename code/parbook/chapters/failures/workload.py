"""Workloads of the failures chapter: exceptions in workers, workers killed mid-task,
Ctrl-C sent to a process group running a pool, and logging from workers.

Every task a worker runs is a module-level function of this module, so it pickles by
name under every start method (and Ray pickles it by reference). Functions that start
processes take their multiprocessing context as a parameter. Every wait is bounded;
what can hang for good (a ``Pool.map`` whose worker was killed, a ``join()`` after
Ctrl-C) runs in a child interpreter with a time limit, through :mod:`.demos`.

Nothing here starts Ray: the functions that use it take the ``ray`` module of a session
opened with :func:`parbook.shared.raysession.ray_session`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import logging.handlers
import multiprocessing
import multiprocessing.context
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from parbook.shared.child import (
    child_env,
    interruptible_children,
    session_members,
    stop_session,
)

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
#: How often the polling loops below look again.
POLL_S = 0.002

Context = multiprocessing.context.BaseContext


# ---------------------------------------------------------------------------------------
# Exceptions raised in a worker.

# [start:exceptions]
def parse_setting(text: str) -> int:
    """An ordinary failure: ``int("ten")`` raises ValueError."""
    return int(text)


class CacheBusyError(RuntimeError):
    """An error that carries the lock it could not take, a live object pickle refuses."""


class SettingOutOfRange(ValueError):
    """A common way to write an exception that cannot be unpickled: ``__init__`` takes two
    arguments but hands one message to ``Exception.__init__``, so ``args`` holds only the
    message, and unpickling calls ``SettingOutOfRange(message)``, one argument short."""

    def __init__(self, name: str, value: float) -> None:
        super().__init__(f"{name}={value} is out of range")
        self.name, self.value = name, value


class SettingOutOfRangeFixed(ValueError):
    """The same exception made picklable: every ``__init__`` argument goes into ``args``."""

    def __init__(self, name: str, value: float) -> None:
        super().__init__(name, value)
        self.name, self.value = name, value

    def __str__(self) -> str:
        return f"{self.name}={self.value} is out of range"
# [end:exceptions]


_CACHE_LOCK = threading.Lock()


def fail_plainly(_: object = None) -> int:
    """A task that raises ValueError."""
    return parse_setting("ten")


def fail_holding_a_lock(_: object = None) -> None:
    """A task that raises an exception holding a lock (it cannot be pickled)."""
    raise CacheBusyError("the cache is busy", _CACHE_LOCK)


def fail_with_required_arguments(_: object = None) -> None:
    """A task that raises an exception that pickles but cannot be unpickled."""
    raise SettingOutOfRange("learning_rate", -0.1)


def fail_picklably(_: object = None) -> None:
    """The same failure with the exception fixed."""
    raise SettingOutOfRangeFixed("learning_rate", -0.1)


#: The failing tasks, by the name results use for them.
FAILURES: dict[str, Callable[[object], Any]] = {
    "plain": fail_plainly,
    "lock": fail_holding_a_lock,
    "init": fail_with_required_arguments,
    "fixed": fail_picklably,
}
#: The exception each failing task raises in its worker.
RAISED: dict[str, type[BaseException]] = {
    "plain": ValueError,
    "lock": CacheBusyError,
    "init": SettingOutOfRange,
    "fixed": SettingOutOfRangeFixed,
}


# [start:catch-per-api]
def error_from_process(context: Context, task: Callable[[], Any]) -> int | None:
    """A Process: the exception stays in the child, which prints its traceback on its
    own standard error and exits with code 1. The parent only sees the exit code."""
    process = context.Process(target=task)
    process.start()
    process.join(WAIT_S)
    return process.exitcode


def error_from_pool(pool: Any, task: Callable[[], Any], wait_s: float) -> Exception | None:
    """A Pool: ``get()`` raises the worker's exception again in the parent, with the
    worker's traceback, as text, attached as its ``__cause__``."""
    try:
        pool.apply_async(task).get(timeout=wait_s)
    except Exception as error:  # multiprocessing.TimeoutError too: nothing came back
        return error
    return None


def error_from_executor(executor: ProcessPoolExecutor, task: Callable[[], Any],
                        wait_s: float) -> Exception | None:
    """An executor: ``result()`` raises it again (``exception()`` returns it instead)."""
    try:
        executor.submit(task).result(timeout=wait_s)
    except Exception as error:  # TimeoutError too: nothing came back
        return error
    return None


def error_from_ray(ray: Any, task: Callable[[], Any], wait_s: float) -> Exception | None:
    """Ray: ``ray.get`` raises a RayTaskError that is also an instance of the original
    exception's class, with the original as its ``cause``."""
    try:
        ray.get(ray.remote(task).remote(), timeout=wait_s)
    except Exception as error:  # GetTimeoutError too: nothing came back
        return error
    return None
# [end:catch-per-api]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(text: str, last: bool = False, limit: int = 160) -> str:
    """The first (or ``last``) non-empty line of ``text``, without terminal colours, at
    most ``limit`` characters long."""
    lines = [line.strip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    line = (lines[-1] if last else lines[0]) if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe_error(error: BaseException | None, original: type[BaseException],
                   waited_s: float) -> dict[str, Any]:
    """What the caller got back, as data: the exception's class, whether it is an instance
    of the class the worker raised, its ``__cause__`` (and Ray's ``cause``), how long the
    wait took, and whether the wait simply ran out (nothing came back)."""
    if error is None:
        return {"raised": None, "timed_out": False, "waited_s": waited_s}
    cause = error.__cause__
    ray_cause = getattr(error, "cause", None)
    timed_out = isinstance(error, TimeoutError | multiprocessing.TimeoutError)
    return {
        "raised": type(error).__name__,
        "message": one_line(str(error)),
        "last_line": one_line(str(error), last=True),
        "is_original": isinstance(error, original),
        "cause": None if cause is None else type(cause).__name__,
        "cause_has_traceback": "Traceback (most recent call last)" in str(cause or ""),
        "ray_cause": None if ray_cause is None else type(ray_cause).__name__,
        "timed_out": timed_out,
        "waited_s": waited_s,
    }


def _timed(call: Callable[[], BaseException | None], original: type[BaseException]
           ) -> dict[str, Any]:
    began = time.perf_counter()
    error = call()
    return describe_error(error, original, time.perf_counter() - began)


def _next_task(call: Callable[[], Any]) -> str:
    """Whether a second, healthy task still runs: "ran", or the error's class name."""
    try:
        call()
    except Exception as error:
        return type(error).__name__
    return "ran"


def _terminate(pool: Any) -> str | None:
    """``pool.terminate()``; None if it returned, else the error's class name. A pool whose
    result thread died refuses to terminate, and its workers are then killed here."""
    try:
        pool.terminate()
    except Exception as error:
        for child in multiprocessing.active_children():
            child.kill()
            child.join(WAIT_S)
        return type(error).__name__
    return None


def pool_error_case(context: Context, failure: str, wait_s: float) -> dict[str, Any]:
    """One failing task on a fresh one-worker Pool, then a healthy one; then terminate.
    The worker answers a healthy task first, so ``wait_s`` never has to cover its start."""
    pool = context.Pool(processes=1)
    try:
        pool.apply_async(abs, (-1,)).get(WAIT_S)
        seen = _timed(lambda: error_from_pool(pool, FAILURES[failure], wait_s),
                      RAISED[failure])
        seen["next_task"] = _next_task(lambda: pool.apply_async(abs, (-1,)).get(wait_s))
    finally:
        terminate_error = _terminate(pool)
    seen["terminate_error"] = terminate_error
    return seen


def executor_error_case(context: Context, failure: str, wait_s: float) -> dict[str, Any]:
    """One failing task on a fresh one-worker executor (started first), then a healthy one."""
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as executor:
        executor.submit(abs, -1).result(WAIT_S)
        seen = _timed(lambda: error_from_executor(executor, FAILURES[failure], wait_s),
                      RAISED[failure])
        seen["next_task"] = _next_task(lambda: executor.submit(abs, -1).result(wait_s))
    return seen


def ray_error_case(ray: Any, failure: str, wait_s: float) -> dict[str, Any]:
    """One failing Ray task, then a healthy one."""
    seen = _timed(lambda: error_from_ray(ray, FAILURES[failure], wait_s), RAISED[failure])
    seen["next_task"] = _next_task(lambda: ray.get(ray.remote(parse_setting).remote("10"),
                                                   timeout=wait_s))
    return seen


def process_errors(method: str) -> dict[str, Any]:
    """Each failing task as the target of a Process under ``method``: the exit codes.

    Run it in a child interpreter whose standard error is captured: the tracebacks the
    processes print land there (each process is named after its failure)."""
    context = multiprocessing.get_context(method)
    codes = {}
    for failure, task in FAILURES.items():
        process = context.Process(target=task, name=f"failing-{failure}")
        process.start()
        process.join(WAIT_S)
        if process.is_alive():
            process.kill()
            process.join(WAIT_S)
        codes[failure] = process.exitcode
    # The shown function does the same; it is called once more, to prove it.
    codes["shown_function"] = error_from_process(context, fail_plainly)
    return codes


# [start:error-callback]
def result_held_by_error_callback(pool: Any, callback_s: float, task_s: float) -> float:
    """Seconds until a task of ``task_s`` has its result ready, when another task failed
    just before and its ``error_callback`` takes ``callback_s``. Callbacks run in the
    parent, in the one thread that also hands out every result."""
    began = time.perf_counter()
    pool.apply_async(fail_plainly, error_callback=lambda error: time.sleep(callback_s))
    other = pool.apply_async(time.sleep, (task_s,))
    other.wait(timeout=WAIT_S)
    return time.perf_counter() - began
# [end:error-callback]


def error_callback_delay(context: Context, callback_s: float, task_s: float) -> dict[str, Any]:
    """:func:`result_held_by_error_callback` with a slow callback and with a quick one."""
    with context.Pool(processes=2) as pool:
        pool.map(abs, range(4), chunksize=1)  # both workers are up before the timing
        held = result_held_by_error_callback(pool, callback_s, task_s)
        quick = result_held_by_error_callback(pool, 0.0, task_s)
    return {"callback_s": callback_s, "task_s": task_s, "ready_after_s": held,
            "ready_after_quick_callback_s": quick}


def caught_by_pool(context: Context) -> str:
    """What a parent holding the plain failure from a Pool can print: the error, then
    its ``__cause__``, the worker's traceback as text."""
    with context.Pool(processes=1) as pool:
        error = error_from_pool(pool, fail_plainly, WAIT_S)
    return f"{error!r}\n__cause__ ({type(error.__cause__).__name__}):{error.__cause__}"


def pool_and_executor_errors(method: str, wait_s: float, callback_s: float,
                             task_s: float) -> dict[str, Any]:
    """Every failing task on a Pool and on an executor under ``method``, and the
    error-callback delay: everything of this section that can hang, for one child."""
    context = multiprocessing.get_context(method)
    return {
        "pool": {failure: pool_error_case(context, failure, wait_s) for failure in FAILURES},
        "executor": {failure: executor_error_case(context, failure, wait_s)
                     for failure in FAILURES},
        "callback": error_callback_delay(context, callback_s, task_s),
        "caught_by_pool": caught_by_pool(context),
    }


# ---------------------------------------------------------------------------------------
# A worker killed in the middle of a task.

# [start:victim]
def announce_and_work(folder: str, seconds: float) -> int:
    """A task that leaves a file named after its process in ``folder`` (so a demo knows
    whom to kill), works for ``seconds``, marks itself done and returns its PID."""
    name = f"{os.getpid()}-{time.monotonic_ns()}"
    Path(folder, name).touch()
    time.sleep(seconds)
    Path(folder, f"{name}.done").touch()
    return os.getpid()
# [end:victim]


def started(folder: str | os.PathLike[str]) -> list[str]:
    """The tasks that have started in ``folder`` (file names), oldest first."""
    names = [name for name in os.listdir(folder) if not name.endswith(".done")]
    return sorted(names, key=lambda name: int(name.split("-")[1]))


def worker_pids(folder: str | os.PathLike[str]) -> list[int]:
    """The processes that started tasks in ``folder``."""
    return sorted({int(name.split("-")[0]) for name in started(folder)})


def finished(folder: str | os.PathLike[str]) -> int:
    """How many tasks of ``folder`` have finished."""
    return sum(name.endswith(".done") for name in os.listdir(folder))


def wait_for_tasks(folder: str | os.PathLike[str], count: int, wait_s: float = WAIT_S,
                   gone: Callable[[], bool] = lambda: False) -> list[int]:
    """Wait until ``count`` tasks have started in ``folder``; their PIDs. Gives up after
    ``wait_s``, or as soon as ``gone()`` says whoever should start them has ended."""
    deadline = time.monotonic() + wait_s
    while len(names := started(folder)) < count:
        if time.monotonic() > deadline or gone():
            raise TimeoutError(f"only {len(names)} of {count} tasks started")
        time.sleep(POLL_S)
    return [int(name.split("-")[0]) for name in names[:count]]


# [start:kill-worker]
def kill_first_worker(folder: str) -> tuple[int, float]:
    """Wait for the first task to start, then kill its process with SIGKILL, as the
    kernel's out-of-memory killer would: no handler, no clean-up, no last word.
    Returns the PID and the ``time.perf_counter()`` of the kill."""
    [pid] = wait_for_tasks(folder, 1)
    os.kill(pid, signal.SIGKILL)
    return pid, time.perf_counter()
# [end:kill-worker]


# [start:executor-kill]
def executor_after_kill(context: Context, folder: str, task_s: float, tasks: int = 4
                        ) -> dict[str, Any]:
    """Kill one worker of a ProcessPoolExecutor mid-task; time until the caller hears."""
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        futures = [executor.submit(announce_and_work, folder, task_s) for _ in range(tasks)]
        pid, killed_at = kill_first_worker(folder)
        wait(futures, timeout=WAIT_S, return_when=FIRST_EXCEPTION)
        heard_after_s = time.perf_counter() - killed_at
        done, _ = wait(futures, timeout=WAIT_S)
        errors = [type(f.exception(0)).__name__ for f in done if f.exception(0) is not None]
        later = _next_task(lambda: executor.submit(abs, -1).result(WAIT_S))
    return {"killed_pid": pid, "heard_after_s": heard_after_s, "errors": errors,
            "results": len(done) - len(errors), "tasks": tasks, "later_submit": later}
# [end:executor-kill]


# [start:pool-map-kill]
def pool_map_after_kill(context: Context, folder: str, task_s: float, tasks: int,
                        report: Callable[[dict[str, Any]], None]) -> list[int]:
    """``Pool.map`` over ``tasks`` tasks while a helper thread kills the first worker to
    start one. The pool starts a new worker and runs every other task, but the killed
    task's result never comes, so ``map`` never returns: run this with a time limit."""
    with context.Pool(processes=2) as pool:
        def kill_then_watch() -> None:
            pid, _ = kill_first_worker(folder)
            report({"killed_pid": pid, "killed_at": time.time()})
            while finished(folder) < tasks - 1:  # every other task ends, then nothing
                time.sleep(POLL_S)
            report({"finished": finished(folder), "worker_pids": worker_pids(folder)})

        threading.Thread(target=kill_then_watch, daemon=True).start()
        return pool.map(functools.partial(announce_and_work, folder), [task_s] * tasks,
                        chunksize=1)
# [end:pool-map-kill]


class Worker:
    """A Ray actor (made remote by the caller) that runs :func:`announce_and_work`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def pid(self) -> int:
        """The actor's process."""
        return os.getpid()

    def work(self, seconds: float) -> int:
        """A task in the actor's process."""
        return announce_and_work(self.folder, seconds)


def on_this_node(ray: Any) -> Any:
    """A scheduling strategy that keeps a task or actor on the driver's own node, where
    the demo can see its files and kill its process (on a cluster too)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


# [start:ray-kill]
def ray_task_after_kill(ray: Any, folder: str, retries: int, task_s: float
                        ) -> dict[str, Any]:
    """Kill the worker running a Ray task with ``max_retries=retries``; time until
    ``ray.get`` returns (the retried task's result) or raises."""
    task = ray.remote(announce_and_work).options(max_retries=retries,
                                                 scheduling_strategy=on_this_node(ray))
    ref = task.remote(folder, task_s)
    pid, killed_at = kill_first_worker(folder)
    try:
        seen: dict[str, Any] = {"returned_by": ray.get(ref, timeout=WAIT_S)}
    except ray.exceptions.RayError as error:
        seen = {"raised": type(error).__name__}
    return {**seen, "killed_pid": pid, "after_s": time.perf_counter() - killed_at}


def ray_actor_after_kill(ray: Any, folder: str, restarts: int, task_retries: int,
                         task_s: float) -> dict[str, Any]:
    """Kill an actor's process in the middle of a method call; time until that call
    returns or raises, and until the actor answers a new call (if it ever does)."""
    actor = ray.remote(Worker).options(
        max_restarts=restarts, max_task_retries=task_retries,
        scheduling_strategy=on_this_node(ray)).remote(folder)
    try:
        first_pid = ray.get(actor.pid.remote(), timeout=WAIT_S)
        ref = actor.work.remote(task_s)
        pid, killed_at = kill_first_worker(folder)
        try:
            seen: dict[str, Any] = {"returned_by": ray.get(ref, timeout=WAIT_S)}
        except ray.exceptions.RayError as error:
            seen = {"raised": type(error).__name__}
        seen["after_s"] = time.perf_counter() - killed_at
        try:
            seen["next_call_pid"] = ray.get(actor.pid.remote(), timeout=WAIT_S)
            seen["answered_after_s"] = time.perf_counter() - killed_at
        except ray.exceptions.RayError as error:
            seen["next_call_raised"] = type(error).__name__
    finally:
        ray.kill(actor)
    return {**seen, "first_pid": first_pid, "killed_pid": pid}
# [end:ray-kill]


# ---------------------------------------------------------------------------------------
# Ctrl-C: what each way of running a pool does with SIGINT, and the pattern that stops.

# [start:interrupt-anti-patterns]
def pool_default(context: Context, folder: str, task_s: float, tasks: int) -> list[int]:
    """Default signal handling and a ``with`` block, which calls terminate() on the way out."""
    with context.Pool(processes=2) as pool:
        return pool.map(functools.partial(announce_and_work, folder), [task_s] * tasks,
                        chunksize=1)


def pool_close_join_in_finally(context: Context, folder: str, task_s: float,
                               tasks: int) -> list[int]:
    """Default signal handling, and close() + join() in a ``finally`` block."""
    pool = context.Pool(processes=2)
    try:
        return pool.map(functools.partial(announce_and_work, folder), [task_s] * tasks,
                        chunksize=1)
    finally:
        pool.close()
        pool.join()  # after Ctrl-C, waits for tasks whose workers died of it


def executor_default(context: Context, folder: str, task_s: float, tasks: int) -> list[int]:
    """Default signal handling and a ``with`` block, which calls shutdown(wait=True)."""
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        return list(executor.map(announce_and_work, [folder] * tasks, [task_s] * tasks,
                                 timeout=WAIT_S))
# [end:interrupt-anti-patterns]


# [start:interrupt-clean]
def ignore_sigint() -> None:
    """Initializer of every worker: ignore SIGINT, so only the parent acts on Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pool_stopping_cleanly(context: Context, folder: str, task_s: float,
                          tasks: int) -> list[int]:
    """Workers ignore SIGINT; the parent catches KeyboardInterrupt and terminates."""
    pool = context.Pool(processes=2, initializer=ignore_sigint)
    try:
        results = pool.map(functools.partial(announce_and_work, folder), [task_s] * tasks,
                           chunksize=1)
    except KeyboardInterrupt:
        pool.terminate()  # stop the workers now; queued tasks are dropped
        pool.join()
        raise
    pool.close()
    pool.join()
    return results


def pool_draining(context: Context, folder: str, task_s: float, tasks: int) -> list[int]:
    """Workers ignore SIGINT; on Ctrl-C the parent lets the queued tasks finish first."""
    pool = context.Pool(processes=2, initializer=ignore_sigint)
    pending = pool.map_async(functools.partial(announce_and_work, folder), [task_s] * tasks,
                             chunksize=1)
    try:
        return pending.get(timeout=WAIT_S)
    except KeyboardInterrupt:
        pool.close()  # no new tasks; the queued ones still run
        pool.join()  # bounded here: every task is alive, none died of the signal
        raise
    finally:
        pool.terminate()  # after join(), nothing is left to stop


def executor_stopping_cleanly(context: Context, folder: str, task_s: float,
                              tasks: int) -> list[int]:
    """Workers ignore SIGINT; the parent cancels what has not started, then waits."""
    executor = ProcessPoolExecutor(max_workers=2, mp_context=context,
                                   initializer=ignore_sigint)
    try:
        return list(executor.map(announce_and_work, [folder] * tasks, [task_s] * tasks,
                                 timeout=WAIT_S))
    except KeyboardInterrupt:
        executor.shutdown(wait=True, cancel_futures=True)  # running tasks still finish
        raise
    finally:
        executor.shutdown(wait=True)
# [end:interrupt-clean]


#: The ways of running a pool that the Ctrl-C demo interrupts, by the name results use.
INTERRUPTED_RUNS: dict[str, Callable[[Context, str, float, int], list[int]]] = {
    "pool_default": pool_default,
    "pool_close_join": pool_close_join_in_finally,
    "pool_clean": pool_stopping_cleanly,
    "pool_drain": pool_draining,
    "executor_default": executor_default,
    "executor_clean": executor_stopping_cleanly,
}
#: The runs whose parent catches KeyboardInterrupt (exit code 130 when it stops).
CATCHING_RUNS = ("pool_clean", "pool_drain", "executor_clean")
EXIT_INTERRUPTED = 130


def ray_driver(folder: str, task_s: float, tasks: int) -> list[int]:
    """A Ray driver (connected to the instance at ``RAY_ADDRESS``) waiting on tasks."""
    from parbook.shared.raysession import ray_session

    with ray_session() as ray:
        task = ray.remote(announce_and_work).options(scheduling_strategy=on_this_node(ray))
        return ray.get([task.remote(folder, task_s) for _ in range(tasks)], timeout=WAIT_S)


def alive(pids: Iterable[int]) -> list[int]:
    """The PIDs of ``pids`` whose processes still run (zombies count as gone)."""
    import psutil

    running = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
    return running


def wait_until_gone(pids: Callable[[], list[int]], wait_s: float) -> float | None:
    """Poll ``pids()`` until it is empty; seconds waited, or None if it never emptied."""
    began = time.perf_counter()
    while pids():
        if time.perf_counter() - began > wait_s:
            return None
        time.sleep(POLL_S)
    return time.perf_counter() - began


# [start:interrupt-group]
def interrupt_group(command: list[str], folder: str, workers: int, limit_s: float,
                    env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``command`` in a session of its own; once ``workers`` of its tasks have
    started, send SIGINT to its whole process group, as Ctrl-C at a terminal does to the
    foreground group. Time how long until the command exits and until no process of its
    session is left; past ``limit_s`` after the signal, kill whatever remains."""
    with interruptible_children(), subprocess.Popen(  # SIGINT not inherited as ignored
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, env=env if env is not None else child_env()) as child:
        session = child.pid  # a new session's leader: session id = group id = its PID
        try:
            task_pids = wait_for_tasks(folder, workers, gone=lambda: child.poll() is not None)
            in_group = session_members(session)
            sent = time.perf_counter()
            os.killpg(session, signal.SIGINT)
            try:
                output, errors = child.communicate(timeout=limit_s)
                exited_s: float | None = time.perf_counter() - sent
            except subprocess.TimeoutExpired:  # still running at the limit
                output, errors, exited_s = "", "", None
            remaining_s = max(0.0, limit_s - (time.perf_counter() - sent))
            empty = wait_until_gone(lambda: session_members(session), remaining_s)
            empty_s = None if empty is None else time.perf_counter() - sent
            left = session_members(session)
        finally:
            stop_session(session)  # only after the limit, or a failure
        if exited_s is None:
            output, errors = child.communicate(timeout=WAIT_S)
    return {"returncode": child.returncode, "exited_s": exited_s, "group_empty_s": empty_s,
            "in_group": len(in_group), "left_at_limit": len(left), "task_pids": task_pids,
            "output": output, "errors": errors, "limit_s": limit_s, "signalled_at": sent}
# [end:interrupt-group]


# ---------------------------------------------------------------------------------------
# Logging from workers.

RECORD = re.compile(r"^worker (\d+) record (\d+)$")


def log_records(worker: int, records: int) -> None:
    """Log ``records`` numbered INFO records as worker ``worker``."""
    logger = logging.getLogger("parbook.worker")
    for number in range(records):
        logger.info("worker %d record %d", worker, number)


# [start:queue-logging]
def send_records_to(queue: Any) -> None:
    """In a worker: every record goes on ``queue``, and nowhere else."""
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(queue)]
    root.setLevel(logging.INFO)


def worker_logging_to_queue(queue: Any, worker: int, records: int) -> None:
    """A worker process: log through the queue."""
    send_records_to(queue)
    log_records(worker, records)


def log_through_a_queue(context: Context, path: str, workers: int, records: int) -> None:
    """Workers put their records on one queue; a listener thread in the parent writes
    them to ``path``, the only process that does."""
    queue = context.Queue()
    handler = logging.FileHandler(path, mode="w")
    listener = logging.handlers.QueueListener(queue, handler)
    listener.start()
    try:
        run_processes(context, worker_logging_to_queue,
                      [(queue, worker, records) for worker in range(workers)])
    finally:
        listener.stop()  # handles every record still on the queue, then returns
        handler.close()
# [end:queue-logging]


# [start:file-per-worker]
def worker_logging_to_file(path: str, mode: str, worker: int, records: int) -> None:
    """A worker process: log to ``path`` through a FileHandler of its own."""
    root = logging.getLogger()
    root.handlers[:] = [logging.FileHandler(path, mode=mode)]
    root.setLevel(logging.INFO)
    log_records(worker, records)


def log_to_one_file_from_every_worker(context: Context, path: str, workers: int,
                                      records: int, mode: str) -> None:
    """The anti-pattern: every worker opens the same file with a FileHandler of its own."""
    run_processes(context, worker_logging_to_file,
                  [(path, mode, worker, records) for worker in range(workers)])
# [end:file-per-worker]


def run_processes(context: Context, target: Callable[..., None],
                  arguments: list[tuple[Any, ...]]) -> None:
    """Start one process per argument tuple, all at once, then join them (bounded)."""
    processes = [context.Process(target=target, args=args) for args in arguments]
    try:
        for process in processes:
            process.start()
    finally:
        for process in processes:
            if process.pid is None:
                continue
            process.join(WAIT_S)
            if process.is_alive():
                process.kill()
                process.join(WAIT_S)
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    if failed:
        raise RuntimeError(f"logging workers exited with codes {failed}")


def count_records(path: str, workers: int, records: int) -> dict[str, Any]:
    """What reached the log file: intact records per worker, whether each worker's came
    in order, and the lines that are no record at all (torn or overwritten)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    seen: dict[int, list[int]] = {worker: [] for worker in range(workers)}
    garbled = 0
    for line in text.splitlines():
        match = RECORD.match(line)
        if match and int(match.group(1)) in seen:
            seen[int(match.group(1))].append(int(match.group(2)))
        else:
            garbled += 1
    return {
        "expected": workers * records,
        "intact": sum(len(numbers) for numbers in seen.values()),
        "distinct": sum(len(set(numbers)) for numbers in seen.values()),
        "per_worker": [len(seen[worker]) for worker in range(workers)],
        "in_order": all(numbers == sorted(numbers) for numbers in seen.values()),
        "garbled_lines": garbled,
        "interleaved": _interleaved(text),
    }


def _interleaved(text: str) -> bool:
    """Whether records of different workers alternate in the file (rather than each
    worker's records forming one block)."""
    workers = [match.group(1) for line in text.splitlines() if (match := RECORD.match(line))]
    blocks = sum(1 for before, after in zip(workers, workers[1:], strict=False)
                 if before != after)
    return blocks >= len(set(workers))


#: The ways workers log, by the name results use.
LOGGING_WAYS = ("queue", "file_append", "file_write")


def logging_demo(method: str, folder: str, workers: int, records: int) -> dict[str, Any]:
    """Every way of :data:`LOGGING_WAYS` under ``method``, counted."""
    context = multiprocessing.get_context(method)
    counts = {}
    for way in LOGGING_WAYS:
        path = str(Path(folder, f"{method}-{way}.log"))
        if way == "queue":
            log_through_a_queue(context, path, workers, records)
        else:
            log_to_one_file_from_every_worker(context, path, workers, records,
                                              mode="a" if way == "file_append" else "w")
        counts[way] = count_records(path, workers, records)
    return counts
