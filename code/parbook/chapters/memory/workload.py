"""Workloads of the memory chapter: reading a process's memory, forked readers of inherited
data, idle workers of every start method, data handed to pool workers three ways, and a
task that leaks.

Only the standard library is imported at the top: a worker started by ``spawn`` or
``forkserver`` imports this module to find its target, and whatever it imports here would
count in every such worker's memory. ``psutil`` and ``numpy`` are imported where they are
used.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

#: Bound on every wait for a worker (to start, to report, to finish), so a stuck worker
#: fails the run instead of hanging it.
WAIT_S = 60.0
#: What a forked reader does with what it inherited: nothing, read every Python object,
#: read the numpy array, or run a full garbage collection.
READS = ("nothing", "objects", "array", "collect")
MIB = 2**20


# [start:read-memory]
def memory_of(pid: int) -> dict[str, int]:
    """RSS, USS and PSS of process ``pid``, in bytes (Linux reads them from /proc/PID/smaps).

    rss: every page the process has in memory, shared or not;
    uss: the pages only this process has (what ending it would give back);
    pss: uss, plus each shared page divided by the number of processes sharing it.
    """
    import psutil

    full = psutil.Process(pid).memory_full_info()
    return {"rss": full.rss, "uss": full.uss, "pss": full.pss}


def program_memory(pid: int | None = None) -> int:
    """The memory of a whole program: the PSS of a process and of all its descendants.

    PSS is the one measure that adds up: a page shared by n processes counts 1/n in each.
    """
    import psutil

    root = psutil.Process(pid)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):  # it ended since the listing
            total += process.memory_full_info().pss
    return total
# [end:read-memory]


# [start:records]
class Record:
    """One small Python object, as a list of samples, rows or transitions holds many."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


def make_records(count: int) -> list[Record]:
    """``count`` small objects in a list: a large pure-Python structure."""
    return [Record(float(i)) for i in range(count)]
# [end:records]


def make_array(n_bytes: int) -> Any:
    """A float64 numpy array of about ``n_bytes``, every page written (so it is in memory)."""
    import numpy as np

    return np.full(max(1, n_bytes // 8), 1.0)


# ---------------------------------------------------------------------------------------
# Workers that report once they are ready, then hold still until they are released, so
# that what the parent measures is stable.


def start_reporting(context: Any, target: Callable[..., None],
                    args: Sequence[Any]) -> tuple[Any, Any, Any]:
    """Start ``target(*args, conn)`` in a new process of ``context`` and wait for its report.

    Returns the process, the parent's end of its pipe (closing it releases the worker) and
    what the worker reported.
    """
    ours, theirs = context.Pipe()
    process = context.Process(target=target, args=(*args, theirs), daemon=True)
    try:
        process.start()
    finally:
        theirs.close()
    try:
        if not ours.poll(WAIT_S):
            raise TimeoutError(f"a worker did not report within {WAIT_S} s")
        return process, ours, ours.recv()
    except BaseException:
        release([(process, ours)])
        raise


def release(workers: Sequence[tuple[Any, Any]]) -> None:
    """Release workers started by :func:`start_reporting` and join them, each within a bound."""
    for _process, conn in workers:
        # A message, not only the end of the pipe: workers forked later inherited copies
        # of this end, so closing it here alone would not end the pipe.
        with contextlib.suppress(OSError):
            conn.send(None)
        conn.close()
    stuck = []
    for process, _conn in workers:
        process.join(WAIT_S)
        if process.is_alive():
            stuck.append(process)
            process.kill()
            process.join(WAIT_S)
    if stuck:
        raise TimeoutError(f"workers still running {WAIT_S} s after their release: {stuck}")


# [start:forked-reader]
def forked_reader(reads: str, records: list[Record], array: Any, conn: Any) -> None:
    """A worker started by fork: it inherited ``records`` and ``array`` without a copy.

    It reads one of them (or neither), reports, and waits until the parent has measured it.
    """
    if reads == "objects":
        total = 0.0
        for record in records:  # taking each object writes its reference count
            total += record.value
    elif reads == "array":
        array.sum()  # reads the array's pages, writes none of them
    elif reads == "collect":
        gc.collect()  # a full collection writes into every tracked object's header
    conn.send(os.getpid())
    conn.poll(WAIT_S)  # hold still until released
# [end:forked-reader]


# [start:freeze]
def start_forked_readers(context: Any, reads: Sequence[str], records: list[Record],
                         array: Any, freeze: bool) -> list[tuple[Any, Any, Any]]:
    """Fork one reader per entry of ``reads``, optionally with the parent's objects frozen."""
    if freeze:
        gc.freeze()  # move every tracked object into a generation no collection scans
    started: list[tuple[Any, Any, Any]] = []
    try:
        for what in reads:
            started.append(start_reporting(context, forked_reader, (what, records, array)))
    except BaseException:
        release([(process, conn) for process, conn, _pid in started])
        raise
    finally:
        if freeze:
            gc.unfreeze()  # the children keep their frozen copy; the parent collects again
    return started
# [end:freeze]


def forked_readers_in_a_child(records: int, array_mib: int,
                              time_limit_s: float = 120.0) -> dict[str, dict[str, int]]:
    """Run one forked reader of each kind in a fresh interpreter; return their memory.

    The readers are forked from a small parent that builds ``records`` objects and an
    array of ``array_mib`` MiB, not from the caller (a notebook's kernel has threads of its
    own, which fork does not mix well with). Returns reader -> rss/uss/pss in bytes.
    """
    from parbook.shared.child import run_module

    child = run_module("parbook.chapters.memory.probes", "cow", str(records),
                       str(array_mib * MIB), "1", time_limit_s=time_limit_s)
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"the readers' parent failed (exit {child.returncode}, "
                           f"killed={child.killed}):\n{child.errors[-2000:]}")
    measured = json.loads(child.output.strip().splitlines()[-1])
    return {case["reads"]: {key: case[key] for key in ("rss", "uss", "pss")}
            for case in measured["cases"] if not case["freeze"]}


# ---------------------------------------------------------------------------------------
# Idle workers of every start method, for what one worker costs.


# [start:preload]
def forkserver_preloading(modules: Sequence[str]) -> Any:
    """A forkserver context whose server imports ``modules`` once, before it forks any
    worker: every worker it forks shares those modules' pages instead of importing them."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(modules))
    return context
# [end:preload]


def main_imported_here() -> bool:
    """Whether this process ran the main module's top level itself (a spawn child, say),
    rather than inheriting it from a process that had (a fork child)."""
    main = sys.modules.get("__mp_main__") or sys.modules["__main__"]
    return getattr(main, "MAIN_IMPORTED_IN", None) == os.getpid()


def idle_worker(collect: bool, conn: Any) -> None:
    """A worker that does nothing: it reports, then waits to be released.

    With ``collect`` it first runs a full garbage collection, as any long-running worker
    that allocates will sooner or later.
    """
    if collect:
        gc.collect()
    conn.send((os.getpid(), main_imported_here()))
    conn.poll(WAIT_S)


def idle_thread(ready: threading.Event, released: threading.Event) -> None:
    """The thread version of :func:`idle_worker`."""
    ready.set()
    released.wait(WAIT_S)


# ---------------------------------------------------------------------------------------
# Data handed to pool workers: passed as a task argument, inherited, or shared.

#: The array a forked pool worker inherits (set by the parent before it creates the pool).
INHERITED: Any = None
_ready: Any = None
_released: Any = None


def handoff_initializer(ready: Any, released: Any) -> None:
    """Pool initializer: keep the parent's queue and event, and report this worker."""
    global _ready, _released
    _ready, _released = ready, released
    ready.put(os.getpid())


def hold_and_wait(total: float) -> float:
    """Report that this worker holds its data, wait until the parent has measured it."""
    _ready.put(os.getpid())
    if not _released.wait(WAIT_S):
        raise TimeoutError(f"not released within {WAIT_S} s")
    return total


# [start:handoff]
def use_passed(array: Any) -> float:
    """The array came as the task's argument: pickled into the task's message, and
    unpickled into a new array of the worker's own."""
    return hold_and_wait(float(array.sum()))


def use_inherited(_unused: Any = None) -> float:
    """The array is a module global the parent set before the pool forked this worker:
    the worker reads the parent's pages."""
    return hold_and_wait(float(INHERITED.sum()))


def use_shared(shared: Any) -> float:
    """A :class:`~parbook.shared.shm.SharedArray` came as the argument: only its name
    travelled, and the worker maps the same block of shared memory."""
    with shared:
        return hold_and_wait(float(shared.array.sum()))
# [end:handoff]


HANDOFF_TASKS: dict[str, Callable[[Any], float]] = {
    "passed": use_passed, "inherited": use_inherited, "shared": use_shared}


# ---------------------------------------------------------------------------------------
# A task that leaks, and pools that replace their workers.

# [start:leaky-task]
_CACHE: list[bytes] = []  # module level: it lives as long as the worker process


def leaky_task(leak_bytes: int) -> tuple[int, int]:
    """A task that keeps something after it returns, like a cache nobody empties.

    Returns the worker's pid and its USS after the task.
    """
    _CACHE.append(b"\x01" * leak_bytes)
    return os.getpid(), memory_of(os.getpid())["uss"]
# [end:leaky-task]


# [start:bounded-workers]
def leak_on_pool(context: Any, tasks: int, leak_bytes: int,
                 tasks_per_child: int | None) -> list[tuple[int, int]]:
    """Run the leaky tasks on a one-worker Pool; with ``maxtasksperchild`` the pool
    replaces its worker after that many tasks, and the leak goes with it."""
    with context.Pool(1, maxtasksperchild=tasks_per_child) as pool:
        pending = pool.map_async(leaky_task, [leak_bytes] * tasks, chunksize=1)
        return pending.get(WAIT_S)


def leak_on_executor(context: Any, tasks: int, leak_bytes: int,
                     tasks_per_child: int) -> list[tuple[int, int]]:
    """The same on a ProcessPoolExecutor with ``max_tasks_per_child`` (Python 3.11+; the
    executor refuses the fork start method). Each task is submitted once the previous one
    is done: with a backlog of queued tasks, an executor could stop replacing its workers
    until CPython fixed issue 115634 (the fix reached 3.13 and later, not 3.11 or 3.12)."""
    with ProcessPoolExecutor(1, mp_context=context,
                             max_tasks_per_child=tasks_per_child) as executor:
        return [executor.submit(leaky_task, leak_bytes).result(WAIT_S)
                for _ in range(tasks)]
# [end:bounded-workers]
