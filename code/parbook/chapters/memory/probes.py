"""The memory chapter's measurements, each run in a fresh interpreter of its own.

``python -m parbook.chapters.memory.probes SECTION ARGS`` runs one section and prints its
readings as one line of JSON; the experiment starts it with a time limit, so a stuck
worker cannot hang the run, and the child's whole process tree goes when it ends. The
sweep of idle workers runs from the scripts in ``scripts/`` instead, whose top-level
imports are what is being measured; they call :func:`sweep_main`.

Sections:

``cow RECORDS ARRAY_BYTES REPEATS``
    A parent builds RECORDS small objects and an array, forks one reader of each kind
    (:data:`workload.READS`), without and with ``gc.freeze()``, and reads their memory.
``handoff ARRAY_BYTES RECEIVERS REPEATS``
    A pool of RECEIVERS forked workers holds one array each: passed as the task argument,
    inherited from the parent, or shared through ``shared_memory``.
``leak LEAK_BYTES TASKS TASKS_PER_CHILD POOL_METHOD EXECUTOR_METHOD``
    Leaky tasks on a one-worker Pool without and with ``maxtasksperchild``, and on a
    ProcessPoolExecutor with ``max_tasks_per_child``, tasks submitted one at a time.
``stall TASKS TASKS_PER_CHILD METHOD PATIENCE_S``
    The executor again, with every task queued at once (the case CPython issue 115634 is
    about): whether every task finishes, each waited for at most PATIENCE_S.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from parbook.chapters.memory import workload as work

#: The sweep's ways of running workers: the multiprocessing start method each one uses
#: (``None``: threads in the parent).
SWEEP_METHODS: dict[str, str | None] = {
    "fork": "fork", "fork_gc": "fork", "spawn": "spawn", "forkserver": "forkserver",
    "forkserver_preload": "forkserver", "threads": None,
}
#: Direct children of a program that multiprocessing starts for itself, by command line.
HELPER_MARKS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def emit(readings: dict[str, Any]) -> None:
    """Print the readings as the one line of JSON the experiment reads."""
    print(json.dumps(readings), flush=True)


def cow(record_count: int, array_bytes: int, repeats: int) -> dict[str, Any]:
    """Forked readers of inherited objects and of an inherited array, without and with
    ``gc.freeze()``; each reader's memory, and what the objects added to the parent."""
    context = multiprocessing.get_context("fork")
    me = os.getpid()
    before = work.memory_of(me)["uss"]
    began = time.perf_counter()
    records = work.make_records(record_count)
    build_s = time.perf_counter() - began
    structure_bytes = work.memory_of(me)["uss"] - before
    array = work.make_array(array_bytes)
    cases, largest = [], 0
    for repeat in range(repeats):
        for freeze in (False, True):
            started = work.start_forked_readers(context, work.READS, records, array, freeze)
            try:
                for reads, (_process, _conn, pid) in zip(work.READS, started, strict=True):
                    cases.append({"repeat": repeat, "freeze": freeze, "reads": reads,
                                  **work.memory_of(pid)})
                largest = max(largest, work.program_memory())
            finally:
                work.release([(process, conn) for process, conn, _pid in started])
    return {"records": record_count, "structure_bytes": structure_bytes,
            "array_bytes": int(array.nbytes), "build_s": build_s, "cases": cases,
            "largest_total": largest}


# ---------------------------------------------------------------------------------------
# The sweep: idle workers started one at a time, the program's memory after each.


def _start_thread(_unused: Any = None) -> tuple[threading.Thread, threading.Event]:
    ready, released = threading.Event(), threading.Event()
    thread = threading.Thread(target=work.idle_thread, args=(ready, released), daemon=True)
    thread.start()
    if not ready.wait(work.WAIT_S):
        raise TimeoutError("a thread did not start")
    return thread, released


def _helpers(worker_pids: set[int]) -> list[Any]:
    """The program's processes that are not its workers (fork server, resource tracker)."""
    import psutil

    return [process for process in psutil.Process().children(recursive=True)
            if process.pid not in worker_pids]


def sweep(method: str, workers: int, preload: Sequence[str]) -> dict[str, Any]:
    """Start ``workers`` idle workers one at a time; the program's memory after each.

    Returns the totals (PSS of this process and its descendants) with 0..workers
    workers, each worker's memory and the helpers' PSS with all of them running, and
    whether each worker ran the main module's top level itself.
    """
    totals = [work.program_memory()]
    if SWEEP_METHODS[method] is None:
        threads: list[tuple[threading.Thread, threading.Event]] = []
        try:
            for _ in range(workers):
                threads.append(_start_thread())
                totals.append(work.program_memory())
        finally:
            for _thread, released in threads:
                released.set()
            for thread, _released in threads:
                thread.join(work.WAIT_S)
        return {"method": method, "totals": totals, "workers": [], "helpers": 0,
                "main_imported": [], "parent": work.memory_of(os.getpid())}

    if method == "forkserver_preload":
        context = work.forkserver_preloading(preload)
    else:
        context = multiprocessing.get_context(SWEEP_METHODS[method])
    started: list[tuple[Any, Any, Any]] = []
    try:
        for _ in range(workers):
            started.append(work.start_reporting(context, work.idle_worker,
                                                (method == "fork_gc",)))
            totals.append(work.program_memory())
        pids = {pid for _process, _conn, (pid, _imported) in started}
        return {
            "method": method, "totals": totals,
            "workers": [work.memory_of(pid) for pid in sorted(pids)],
            "helpers": sum(helper.memory_full_info().pss for helper in _helpers(pids)),
            "main_imported": [imported for _p, _c, (_pid, imported) in started],
            "parent": work.memory_of(os.getpid()),
        }
    finally:
        work.release([(process, conn) for process, conn, _report in started])


def sweep_main(argv: Sequence[str], preload: Sequence[str] = ()) -> None:
    """Entry point of the sweep scripts: ``SCRIPT METHOD WORKERS`` prints one JSON line."""
    method, workers = argv[0], int(argv[1])
    if method not in SWEEP_METHODS or (method == "forkserver_preload" and not preload):
        raise SystemExit(f"unknown sweep method for this script: {method!r}")
    emit(sweep(method, workers, preload))


# ---------------------------------------------------------------------------------------
# Data handed to pool workers.


def handoff_once(context: Any, way: str, array_bytes: int, receivers: int) -> dict[str, Any]:
    """One pool of ``receivers`` forked workers, each holding the array handed over
    ``way``: each worker's USS and the program's total before and while they hold it."""
    from parbook.shared.shm import SharedArray

    shared = SharedArray((max(1, array_bytes // 8),), "float64") if way == "shared" else None
    try:
        if shared is not None:
            shared.array[:] = 1.0
        array = None if shared is not None else work.make_array(array_bytes)
        # Set before the pool exists, so that its forked workers inherit it.
        work.INHERITED = array if way == "inherited" else None
        argument = {"passed": array, "inherited": None, "shared": shared}[way]
        ready, released = context.Queue(), context.Event()
        with context.Pool(receivers, initializer=work.handoff_initializer,
                          initargs=(ready, released)) as pool:
            idle_pids = sorted(ready.get(timeout=work.WAIT_S) for _ in range(receivers))
            idle = [work.memory_of(pid)["uss"] for pid in idle_pids]
            total_idle = work.program_memory()
            pending = pool.map_async(work.HANDOFF_TASKS[way], [argument] * receivers,
                                     chunksize=1)
            holders = sorted(ready.get(timeout=work.WAIT_S) for _ in range(receivers))
            if holders != idle_pids:
                raise RuntimeError(f"the pool's workers changed: {idle_pids} -> {holders}")
            holding = [work.memory_of(pid)["uss"] for pid in holders]
            total_holding = work.program_memory()
            released.set()
            pending.get(work.WAIT_S)
    finally:
        work.INHERITED = None
        if shared is not None:
            shared.__exit__(None, None, None)
    return {"way": way, "idle_uss": idle, "holding_uss": holding, "total_idle": total_idle,
            "total_holding": total_holding}


def handoff(array_bytes: int, receivers: int, repeats: int) -> dict[str, Any]:
    """Every way of handing the array over, ``repeats`` times."""
    context = multiprocessing.get_context("fork")
    runs = [handoff_once(context, way, array_bytes, receivers)
            for _repeat in range(repeats) for way in work.HANDOFF_TASKS]
    return {"array_bytes": array_bytes // 8 * 8, "receivers": receivers, "runs": runs,
            "largest_total": max(run["total_holding"] for run in runs)}


# ---------------------------------------------------------------------------------------
# The leaky task, and what bounding it costs.


def leak(leak_bytes: int, tasks: int, tasks_per_child: int, pool_method: str,
         executor_method: str) -> dict[str, Any]:
    """The worker's memory after every task, for each way of running the leaky tasks."""
    pool_context = multiprocessing.get_context(pool_method)
    executor_context = multiprocessing.get_context(executor_method)
    ways: dict[str, Callable[[], list[tuple[int, int]]]] = {
        "pool": lambda: work.leak_on_pool(pool_context, tasks, leak_bytes, None),
        "pool_limited": lambda: work.leak_on_pool(pool_context, tasks, leak_bytes,
                                                  tasks_per_child),
        "executor_limited": lambda: work.leak_on_executor(executor_context, tasks,
                                                          leak_bytes, tasks_per_child),
    }
    runs = {}
    for way, run in ways.items():
        began = time.perf_counter()
        series = run()
        runs[way] = {"elapsed_s": time.perf_counter() - began,
                     "pids": [pid for pid, _uss in series], "uss": [uss for _pid, uss in series]}
    return {"leak_bytes": leak_bytes, "tasks": tasks, "tasks_per_child": tasks_per_child,
            "pool_method": pool_method, "executor_method": executor_method, "runs": runs}


def worker_pid() -> int:
    """The stall check's task: which process ran it."""
    return os.getpid()


def stall(tasks: int, tasks_per_child: int, method: str, patience_s: float) -> None:
    """Queue every task on a one-worker executor with ``max_tasks_per_child``; report how
    many finished, each waited for at most ``patience_s``.

    If the executor stalls, this process prints its report and leaves at once with
    ``os._exit``: its executor would otherwise wait for the stuck tasks at interpreter exit.
    Any worker still alive is killed first; multiprocessing's own helpers (the fork server,
    the resource tracker) end by themselves once this process has gone.
    """
    context = multiprocessing.get_context(method)
    executor = ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=tasks_per_child)
    began = time.perf_counter()
    futures = [executor.submit(worker_pid) for _ in range(tasks)]
    pids = []
    try:
        for future in futures:
            pids.append(future.result(patience_s))
    except FutureTimeout:
        pass
    report = {"tasks": tasks, "tasks_per_child": tasks_per_child, "method": method,
              "patience_s": patience_s, "completed": len(pids),
              "workers": len(set(pids)), "elapsed_s": time.perf_counter() - began,
              "python": sys.version.split()[0]}
    if len(pids) == tasks:
        executor.shutdown()
        emit(report)
        return
    executor.shutdown(wait=False, cancel_futures=True)
    _kill_workers()
    emit(report)
    os._exit(0)


def _kill_workers() -> None:
    """Kill this process's descendants except multiprocessing's own helpers."""
    import psutil

    me = psutil.Process()
    for process in me.children(recursive=True):
        try:
            helper = (process.ppid() == me.pid
                      and any(mark in " ".join(process.cmdline()) for mark in HELPER_MARKS))
            if not helper:
                process.kill()
                process.wait(work.WAIT_S)
        except psutil.NoSuchProcess:
            pass


def main(argv: Sequence[str]) -> None:
    """``SECTION ARGS``: run one section and print its readings."""
    section, args = argv[0], argv[1:]
    if section == "cow":
        emit(cow(int(args[0]), int(args[1]), int(args[2])))
    elif section == "handoff":
        emit(handoff(int(args[0]), int(args[1]), int(args[2])))
    elif section == "leak":
        emit(leak(int(args[0]), int(args[1]), int(args[2]), args[3], args[4]))
    elif section == "stall":
        stall(int(args[0]), int(args[1]), args[2], float(args[3]))
    else:
        raise SystemExit(f"unknown section {section!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
