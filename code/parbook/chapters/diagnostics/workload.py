"""Workloads of the diagnostics chapter: timelines of tasks, a hung pool, and BLAS threads.

Three ways to see where a parallel program's time goes:

* every task records which process ran it and when it started and ended, on a clock all
  processes share (:func:`recorded`, :func:`pool_timeline`), and Ray records the same in
  its own trace (:func:`ray_task_rows`);
* a pool that hangs on purpose (:func:`hung_pool`, run in a child interpreter with a time
  limit), whose stuck worker writes its own stack through ``faulthandler``
  (:func:`dump_stack_if_slower_than`) and is read from outside by ``py-spy``
  (:func:`py_spy_dump`);
* each worker of a pool of numpy tasks reports its BLAS library's threads
  (``threadpoolctl``) and its involuntary context switches and CPU time (``psutil``)
  (:func:`oversubscribed_run`, run in a child interpreter started without the BLAS
  variables, so "default" means the library's own default).

Run ``python -m parbook.chapters.diagnostics.workload hang|oversubscribe ARGS`` for the
child-interpreter demos.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.shared.child import ChildRun, run_command, run_demo

MODULE = "parbook.chapters.diagnostics.workload"
#: Bound on every wait of the timeline runs, in seconds.
WAIT_S = 120.0
#: Microseconds per second: timelines are stored as whole microseconds.
US = 1_000_000


# ---------------------------------------------------------------------------------------
# Timelines: who ran each task, and when.

# [start:record-task]
def recorded(task: Callable[[Any], Any], argument: Any) -> tuple[int, float, float]:
    """Run ``task(argument)`` and say which process ran it and when it started and ended.

    ``time.monotonic()`` reads CLOCK_MONOTONIC on Linux, one clock for the whole machine,
    so the times of different worker processes (and of the parent) can be compared.
    """
    started = time.monotonic()
    task(argument)
    return os.getpid(), started, time.monotonic()
# [end:record-task]


def sleep_for(seconds: float) -> None:
    """A task that waits instead of computing: how long it takes does not depend on what
    else the machine runs, so only the way such tasks are spread over workers shows."""
    time.sleep(seconds)


@dataclass(frozen=True)
class Timeline:
    """One run's tasks: (worker, start, end) rows, and when the run began and ended, all
    on one clock in seconds. ``chunksize`` is how many consecutive tasks travelled
    together (0 when unknown); ``startup`` how long the workers took to start before the
    run began (not part of the rows)."""

    began: float
    ended: float
    rows: list[tuple[Hashable, float, float]]
    workers: int
    chunksize: int = 0
    startup: float = 0.0

    def compact(self) -> dict[str, Any]:
        """Rows as [worker number, start, end] in whole microseconds since the run began,
        workers numbered in the order they started their first task (small JSON)."""
        first: dict[Hashable, float] = {}
        for worker, start, _end in self.rows:
            first[worker] = min(start, first.get(worker, start))
        number = {worker: index for index, worker in
                  enumerate(sorted(first, key=first.__getitem__))}
        return {
            "workers": self.workers,
            "chunksize": self.chunksize,
            "startup_us": round(self.startup * US),
            "span_us": round((self.ended - self.began) * US),
            "rows": [[number[worker], round((start - self.began) * US),
                      round((end - self.began) * US)] for worker, start, end in self.rows],
        }


def report_ready(ready: Any) -> None:
    """Pool initializer: say when this worker is ready for tasks."""
    ready.put(time.monotonic())


# [start:pool-timeline]
def pool_timeline(context: Any, workers: int, task: Callable[[Any], Any],
                  arguments: Sequence[Any], chunksize: int) -> Timeline:
    """Run ``task`` once per argument through ``Pool.map`` on a new pool, each call
    ``recorded``, and return every task's row. The run begins once every worker has
    started; how long that took is kept as the pool's start-up."""
    ready = context.Queue()
    created = time.monotonic()
    with context.Pool(processes=workers, initializer=report_ready,
                      initargs=(ready,)) as pool:
        all_ready = max(ready.get(timeout=WAIT_S) for _ in range(workers))
        began = time.monotonic()
        pending = pool.map_async(functools.partial(recorded, task), arguments,
                                 chunksize=chunksize)
        rows = pending.get(timeout=WAIT_S)
        ended = time.monotonic()
    return Timeline(began, ended, rows, workers, chunksize, startup=all_ready - created)
# [end:pool-timeline]


def default_chunksize(tasks: int, workers: int) -> int:
    """The chunksize ``Pool.map`` picks when given none (CPython's own rule)."""
    chunks, extra = divmod(tasks, workers * 4)
    return chunks + 1 if extra else max(chunks, 1)


# [start:ray-trace]
def ray_task_rows(trace: Iterable[dict[str, Any]], function_name: str
                  ) -> list[tuple[str, float, float]]:
    """The (worker, start, end) rows of one remote function's tasks in ``ray.timeline()``.

    The trace is a list of Chrome trace events; each finished task is one complete
    event ("ph": "X") of category ``task::NAME`` on the worker that ran it ("tid"), with
    its start ("ts") and duration ("dur") in microseconds of the node's system clock.
    """
    return [(event["tid"], event["ts"] / US, (event["ts"] + event["dur"]) / US)
            for event in trace
            if event.get("ph") == "X" and event.get("cat") == f"task::{function_name}"]
# [end:ray-trace]


def ray_timeline(ray: Any, workers: int, task: Callable[[Any], Any],
                 arguments: Sequence[Any], trace_wait_s: float = 10.0) -> tuple[Timeline, int]:
    """Run ``task`` once per argument as Ray tasks, then read them back from Ray's own
    trace.

    Workers report their task events to Ray every second or so, so the trace is read
    again (for at most ``trace_wait_s``) until it holds every task. Returns the timeline
    and how many tasks were submitted.
    """
    remote_task = ray.remote(task)
    began = time.time()  # the trace's clock: the system clock, in microseconds
    refs = [remote_task.remote(argument) for argument in arguments]
    ray.get(refs, timeout=WAIT_S)
    ended = time.time()
    deadline = time.monotonic() + trace_wait_s
    while True:
        rows = ray_task_rows(ray.timeline(), task.__name__)
        if len(rows) >= len(refs) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return Timeline(began, ended, rows, workers), len(refs)


# ---------------------------------------------------------------------------------------
# A hung pool, and how to see where it is stuck.

#: How long one task may run before its worker writes its stack to stderr.
WATCHDOG_S = 1.0
#: The one item whose task hangs.
STUCK_ITEM = 3


# [start:watchdog]
def dump_stack_if_slower_than(seconds: float) -> Callable[[Callable], Callable]:
    """Decorate a task so that, should one call run longer than ``seconds``, its process
    writes the stack of every thread to stderr (and the call goes on running).

    ``faulthandler`` does this from a C-level timer thread, so it works even while the
    task's Python thread is blocked in a lock, a queue or a system call.
    """
    def decorate(task: Callable) -> Callable:
        @functools.wraps(task)
        def watched(*args: Any, **kwargs: Any) -> Any:
            faulthandler.dump_traceback_later(seconds, exit=False)
            try:
                return task(*args, **kwargs)
            finally:
                faulthandler.cancel_dump_traceback_later()
        return watched
    return decorate
# [end:watchdog]


# [start:stuck-task]
_TOTALS_LOCK = threading.Lock()
_totals: dict[int, int] = {}


def wait_for_a_lock_nobody_releases() -> None:
    """Take the totals lock: a threading.Lock is not re-entrant, so when the caller
    already holds it this waits for ever."""
    with _TOTALS_LOCK:
        _totals.clear()


@dump_stack_if_slower_than(WATCHDOG_S)
def add_to_totals(item: int) -> int:
    """A task: add ``item`` to this worker's totals. One rare item takes a path that
    takes the lock a second time, which is the bug."""
    with _TOTALS_LOCK:
        if item == STUCK_ITEM:
            wait_for_a_lock_nobody_releases()
        _totals[item] = _totals.get(item, 0) + item
        return _totals[item]
# [end:stuck-task]


def note_worker_pid(pid_file: str) -> None:
    """Pool initializer: append this worker's pid to ``pid_file`` (for the diagnosis)."""
    with open(pid_file, "a", encoding="utf-8") as handle:
        handle.write(f"{os.getpid()}\n")


# [start:hung-program]
def hung_pool(method: str, workers: int, items: int, pid_file: str) -> None:
    """A program that hangs: one task never returns, and the parent waits for the results
    of ``map`` without a timeout. It runs in a child interpreter with a time limit."""
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=note_worker_pid, initargs=(pid_file,)) as pool:
        print(pool.map(add_to_totals, range(items), chunksize=1))
# [end:hung-program]


def read_pids(pid_file: Path) -> list[int]:
    """The worker pids written so far to ``pid_file`` (none if it does not exist yet)."""
    try:
        text = pid_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [int(line) for line in text.split() if line.isdigit()]


def wait_for_pids(pid_file: Path, count: int, timeout_s: float) -> list[int]:
    """Wait (at most ``timeout_s``) until ``count`` workers have written their pids."""
    deadline = time.monotonic() + timeout_s
    pids = read_pids(pid_file)
    while len(pids) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = read_pids(pid_file)
    return pids


def py_spy_binary() -> str | None:
    """The py-spy executable: beside this interpreter (a virtual environment's bin), or
    on the PATH; None if neither has it."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


# [start:py-spy]
def py_spy_dump(pid: int, time_limit_s: float = 30.0) -> ChildRun | None:
    """Print the Python stack of every thread of process ``pid``, read from outside with
    ``py-spy dump`` (which attaches with ptrace, so it needs the permission to trace that
    process). None when py-spy is not installed."""
    binary = py_spy_binary()
    if binary is None:
        return None
    return run_command([binary, "dump", "--pid", str(pid)], time_limit_s=time_limit_s)
# [end:py-spy]


def ptrace_permission() -> dict[str, Any]:
    """What decides whether this process may trace another: root or not, and the Yama
    ptrace scope (None where the kernel has no Yama module)."""
    scope_file = Path("/proc/sys/kernel/yama/ptrace_scope")
    try:
        scope: int | None = int(scope_file.read_text().strip())
    except (OSError, ValueError):
        scope = None
    return {"root": os.geteuid() == 0, "ptrace_scope": scope}


# ---------------------------------------------------------------------------------------
# Oversubscription: BLAS threads in every worker.

#: What each worker measured when its set-up ended, subtracted from its later readings.
_baseline: dict[str, float] = {}


def worker_counters() -> dict[str, float]:
    """This process's involuntary context switches, summed over all its threads, and the
    CPU time all its threads used.

    ``psutil.Process().num_ctx_switches()`` reads /proc/PID/status, which on Linux counts
    the main thread only; a BLAS library's threads are the others, so each thread is read
    on its own (/proc/TID/status).
    """
    import psutil

    me = psutil.Process()
    involuntary = 0
    for thread in me.threads():
        try:
            involuntary += psutil.Process(thread.id).num_ctx_switches().involuntary
        except psutil.Error:  # the thread ended meanwhile
            continue
    cpu = me.cpu_times()
    return {"involuntary": involuntary, "cpu_s": cpu.user + cpu.system}


# [start:blas-setup]
def limit_blas_threads(limit: int) -> None:
    """Pool initializer: load numpy's BLAS library in this worker, then cap its threads at
    ``limit`` with threadpoolctl. It runs in the worker, after the library has loaded, so
    it works under every start method (environment variables do not: see pools-blas)."""
    import numpy  # noqa: F401 - threadpoolctl finds only libraries already loaded
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=limit, user_api="blas")


def blas_worker_setup(limit: int | None, reports: Any) -> None:
    """Pool initializer of the timed runs: load numpy and, with ``limit``, cap its BLAS
    threads; then report the worker's BLAS threads."""
    import numpy as np

    if limit is not None:
        limit_blas_threads(limit)
    np.ones((64, 64)) @ np.ones((64, 64))  # the library starts its threads on first use
    reports.put({"pid": os.getpid(), "blas": blas_threads()})
    _baseline.update(worker_counters())


def blas_threads() -> list[dict[str, Any]]:
    """The BLAS libraries loaded in this process, and their threads, as threadpoolctl
    sees them."""
    from threadpoolctl import threadpool_info

    return [{"library": pool["internal_api"], "version": pool.get("version"),
             "threads": pool["num_threads"]}
            for pool in threadpool_info() if pool["user_api"] == "blas"]
# [end:blas-setup]


def limited_threads_under(method: str, limit: int = 1) -> list[dict[str, Any]]:
    """The BLAS threads a worker started by ``method`` reports after
    :func:`limit_blas_threads` ran in its initializer (the caller has numpy loaded, with
    its default threads, as a real program would)."""
    context = multiprocessing.get_context(method)
    with context.Pool(1, initializer=limit_blas_threads, initargs=(limit,)) as pool:
        return pool.apply_async(blas_threads).get(timeout=WAIT_S)


def matrix_task(seed: int, size: int, products: int) -> dict[str, Any]:
    """``products`` matrix products of ``size`` x ``size``, then the worker's pid and its
    context switches and CPU time since its set-up ended."""
    import numpy as np

    matrix = np.random.default_rng(seed).random((size, size))
    for _ in range(products):
        matrix = matrix @ matrix
        matrix /= matrix.max()
    now = worker_counters()
    return {"pid": os.getpid(), **{key: now[key] - _baseline.get(key, 0.0) for key in now}}


def oversubscribed_run(method: str, workers: int, tasks: int, size: int, products: int,
                       limit: int | None) -> dict[str, Any]:
    """Time ``tasks`` matrix tasks on a new pool of ``workers`` (start-up not included),
    and return every worker's BLAS report with its counters after its last task. Run in
    an interpreter started without the BLAS variables, so that ``limit=None`` is the
    library's own default."""
    context = multiprocessing.get_context(method)
    reports = context.Queue()
    task = functools.partial(matrix_task, size=size, products=products)
    with context.Pool(workers, initializer=blas_worker_setup,
                      initargs=(limit, reports)) as pool:
        # Every worker reports once its set-up is done, so the timing starts with all ready.
        workers_seen = {report["pid"]: report for report in
                        (reports.get(timeout=WAIT_S) for _ in range(workers))}
        began = time.perf_counter()
        counters = pool.map_async(task, range(tasks), chunksize=1).get(timeout=WAIT_S)
        wall_s = time.perf_counter() - began
    latest: dict[int, dict[str, Any]] = {}
    for reading in counters:  # counters only grow: keep each worker's largest reading
        known = latest.get(reading["pid"])
        if known is None or reading["cpu_s"] >= known["cpu_s"]:
            latest[reading["pid"]] = reading
    no_task = {"involuntary": 0, "cpu_s": 0.0}
    return {"wall_s": wall_s,
            "workers": [{**report, **latest.get(pid, no_task)}
                        for pid, report in workers_seen.items()]}


def _print_json(data: Any) -> None:
    print(json.dumps(data), flush=True)


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "hang": lambda argv: hung_pool(argv[0], int(argv[1]), int(argv[2]), argv[3]),
    "oversubscribe": lambda argv: _print_json(oversubscribed_run(
        argv[0], *(int(a) for a in argv[1:5]), None if argv[5] == "default" else int(argv[5]))),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo(MODULE, DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
