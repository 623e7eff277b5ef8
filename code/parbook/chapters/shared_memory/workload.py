"""Workloads of the shared-memory chapter: shared ctypes, Manager proxies, shared_memory.

Every function that starts processes takes a multiprocessing context, so the same code
runs under fork, spawn and forkserver; every target is a module-level function. Every
wait is bounded, every process is joined (and killed if it outlives its limit), and
every shared-memory block is closed by each process that mapped it and unlinked once,
by its owner, in ``finally``.

What happens when an interpreter exits (the resource tracker's clean-up and its
warnings) can only be seen from outside it, so those demonstrations run this module in
a child interpreter with a time limit: ``python -m parbook.chapters.shared_memory.workload DEMO
ARGS`` (see :data:`DEMOS`).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.managers import SharedMemoryManager
from pathlib import Path
from typing import Any

import numpy as np

from parbook.shared.child import run_demo, run_module
from parbook.shared.shm import SharedArray, join_all, memcpy_floor  # noqa: F401

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
MODULE = "parbook.chapters.shared_memory.workload"
#: Where Linux keeps POSIX shared-memory blocks, as files.
SHM_DIR = Path("/dev/shm")
#: ``SharedMemory(..., track=False)`` exists from Python 3.13 on.
HAS_TRACK_PARAMETER = sys.version_info >= (3, 13)
#: How long to watch for a block to disappear after a process that attached it exits.
GRACE_S = 0.5
#: What the demonstrations write into a block, so readers can show they saw it.
MARKER = b"shared!!"
#: Sizes of the demonstrations that check correctness under every start method.
CHECK_ELEMENTS = 200_000
EXCHANGE_CHECK_N = 50
LIFECYCLE_WORKERS = 2
QUEUE_SHARE_ELEMENTS = 1_000_000


def psm_segments() -> set[str]:
    """Names of the blocks ``shared_memory`` created that exist now (empty off Linux)."""
    if not SHM_DIR.is_dir():
        return set()
    return {path.name for path in SHM_DIR.iterdir() if path.name.startswith("psm_")}


def block_exists(name: str) -> bool:
    """Whether a block of that name can still be found (attached) by name."""
    return (SHM_DIR / name.lstrip("/")).exists()


def wait_until_gone(name: str, limit_s: float) -> bool:
    """Watch for up to ``limit_s`` whether the block ``name`` disappears; True if it did."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if not block_exists(name):
            return True
        time.sleep(0.01)
    return not block_exists(name)


# ---------------------------------------------------------------------------------------
# Value and Array: shared ctypes.


# [start:counter]
def bump(counter: Any, n: int, hold_lock: bool) -> None:
    """Add one to ``counter.value`` ``n`` times, holding its lock around each update or not."""
    for _ in range(n):
        if hold_lock:
            with counter.get_lock():  # one lock around the read AND the write
                counter.value += 1
        else:
            counter.value += 1  # a locked read, then a locked write: two steps, not one


def count_worker(counter: Any, n: int, hold_lock: bool, start: Any, seconds: Any,
                 slot: int) -> None:
    """Wait for the others, bump the counter, and record how long it took in ``slot``."""
    start.wait(timeout=WAIT_S)  # every worker begins at the same moment
    began = time.perf_counter()
    bump(counter, n, hold_lock)
    seconds[slot] = time.perf_counter() - began  # its own slot of the Array: no lock needed


def count_in_processes(context: Any, workers: int, n: int, hold_lock: bool) -> dict[str, Any]:
    """``workers`` processes each add one ``n`` times to a shared ``Value``."""
    counter = context.Value("q", 0)  # 'q': a C long long; lock=True is the default
    seconds = context.Array("d", workers, lock=False)  # 'd': C doubles, one per worker
    start = context.Barrier(workers)
    processes = [context.Process(target=count_worker,
                                 args=(counter, n, hold_lock, start, seconds, slot))
                 for slot in range(workers)]
    for process in processes:
        process.start()
    join_all(processes)
    return {"expected": workers * n, "counted": counter.value, "seconds": list(seconds)}
# [end:counter]


# ---------------------------------------------------------------------------------------
# Manager: ordinary objects in a server process, reached through proxies.


# [start:manager-ops]
def set_key(mapping: Any, n: int) -> None:
    """Store ``n`` values under one key: for a proxy, each store is a round trip."""
    for i in range(n):
        mapping["step"] = i


def read_key(mapping: Any, n: int) -> int:
    """Read one key ``n`` times: for a proxy, each read is a round trip too."""
    step = 0
    for _ in range(n):
        step = mapping["step"]
    return step


def set_value(shared: Any, n: int) -> None:
    """Store ``n`` values in a shared ``Value``: a lock and a write in shared memory."""
    for i in range(n):
        shared.value = i
# [end:manager-ops]


# [start:report]
def report_each_through_queue(queue: Any, worker: int, n: int) -> None:
    """Send every result as its own message."""
    for i in range(n):
        queue.put((worker, i, i * i))


def report_each_through_manager(results: Any, worker: int, n: int) -> None:
    """Store every result in a Manager dict: one round trip to the manager each."""
    for i in range(n):
        results[(worker, i)] = i * i


def report_batch_through_queue(queue: Any, worker: int, n: int) -> None:
    """Send all results in one message."""
    queue.put([(worker, i, i * i) for i in range(n)])


def report_batch_through_manager(results: Any, worker: int, n: int) -> None:
    """Store all results with one ``update``: one round trip."""
    results.update({(worker, i): i * i for i in range(n)})
# [end:report]


#: How a worker reports: the function, and whether it writes to the queue or the dict.
REPORTERS: dict[str, tuple[Callable[[Any, int, int], None], str]] = {
    "queue_each": (report_each_through_queue, "queue"),
    "manager_each": (report_each_through_manager, "manager"),
    "queue_batch": (report_batch_through_queue, "queue"),
    "manager_batch": (report_batch_through_manager, "manager"),
}


def reporter(commands: Any, queue: Any, results: Any, worker: int) -> None:
    """A long-lived worker: on ``(how, n)`` report ``n`` results that way, then say done."""
    while (command := commands.recv()) is not None:
        how, n = command
        report, channel = REPORTERS[how]
        report(queue if channel == "queue" else results, worker, n)
        commands.send("done")


@dataclass
class Reporters:
    """Running reporter processes, the queue and the Manager dict they report through."""

    commands: list[Any]
    queue: Any
    results: Any


@contextlib.contextmanager
def reporting_workers(context: Any, manager: Any, workers: int) -> Iterator[Reporters]:
    """Start ``workers`` reporters; stop and join them, and close the queue, on the way out."""
    queue, results = context.Queue(), manager.dict()
    commands, processes = [], []
    for worker in range(workers):
        parent_end, child_end = context.Pipe()
        process = context.Process(target=reporter, args=(child_end, queue, results, worker))
        process.start()
        child_end.close()
        commands.append(parent_end)
        processes.append(process)
    try:
        yield Reporters(commands, queue, results)
    finally:
        for conn in commands:
            with contextlib.suppress(OSError):
                conn.send(None)
        join_all(processes)
        for conn in commands:
            conn.close()
        queue.close()
        queue.join_thread()


def collect(reporters: Reporters, how: str, n: int) -> dict[tuple[int, int], int]:
    """Ask every reporter for ``n`` results reported ``how``; return all of them."""
    for conn in reporters.commands:
        conn.send((how, n))
    collected: dict[tuple[int, int], int] = {}
    if REPORTERS[how][1] == "queue":
        messages = len(reporters.commands) * (n if how == "queue_each" else 1)
        for _ in range(messages):
            message = reporters.queue.get(timeout=WAIT_S)
            for worker, i, value in (message if isinstance(message, list) else [message]):
                collected[(worker, i)] = value
    for conn in reporters.commands:
        if not conn.poll(WAIT_S):
            raise TimeoutError(f"a reporter did not finish {how} within {WAIT_S} s")
        conn.recv()
    if REPORTERS[how][1] == "manager":
        collected = reporters.results.copy()  # one round trip brings the whole dict
        reporters.results.clear()
    return collected


# ---------------------------------------------------------------------------------------
# shared_memory: named blocks that any process can map.


def two_sums(array: Any) -> tuple[float, float]:
    """Seconds for two passes over ``array``: on a fresh mapping, the first pays page faults."""
    began = time.perf_counter()
    array.sum()
    first = time.perf_counter() - began
    began = time.perf_counter()
    array.sum()
    return first, time.perf_counter() - began


# [start:sum-worker]
def sum_worker(conn: Any) -> None:
    """Answer every array it is handed with its sum (or times two sums), until None."""
    kept: dict[str, SharedArray] = {}  # blocks this worker keeps mapped between messages
    try:
        while (message := conn.recv()) is not None:
            how, payload = message
            if how == "array":  # a plain array: it arrived pickled, as a copy
                total = float(payload.sum())
            elif how == "shared":  # a SharedArray: unpickling it attached the block
                with payload as shared:
                    total = float(shared.array.sum())
            elif how == "keep":  # attach once, and keep the mapping for later messages
                kept[payload.block.name] = payload
                total = 0.0
            elif how == "kept":  # only a name travels; the block is already mapped here
                total = float(kept[payload].array.sum())
            else:  # "touch": time a first and a second pass over a fresh mapping
                with payload as shared:
                    total = two_sums(shared.array)
            conn.send(total)
    finally:
        for shared in kept.values():
            shared.close()
# [end:sum-worker]


@contextlib.contextmanager
def summing_worker(context: Any) -> Iterator[Any]:
    """Start a :func:`sum_worker`; yield the parent's end of its Pipe; stop it on the way out.

    Create at least one block before entering (see :func:`worker_started_first`), so that
    under fork the worker shares this process's resource tracker.
    """
    parent_end, child_end = context.Pipe()
    process = context.Process(target=sum_worker, args=(child_end,), name="sum-worker")
    process.start()
    child_end.close()
    try:
        yield parent_end
    finally:
        with contextlib.suppress(OSError):
            parent_end.send(None)
        join_all([process])
        parent_end.close()


def answer(conn: Any) -> Any:
    """The worker's reply, or TimeoutError if none comes within :data:`WAIT_S`."""
    if not conn.poll(WAIT_S):
        raise TimeoutError(f"no answer within {WAIT_S} s")
    return conn.recv()


# [start:handoff]
def hand_over_by_value(conn: Any, array: Any) -> float:
    """(a) Pickle the array through the Pipe; the worker unpickles its own copy."""
    conn.send(("array", array))
    return answer(conn)


def hand_over_by_copy(conn: Any, array: Any) -> float:
    """(b) Copy the array into a new block; only the block's name travels."""
    with SharedArray(array.shape, array.dtype) as shared:
        np.copyto(shared.array, array)
        conn.send(("shared", shared))
        return answer(conn)


def hand_over_by_name(conn: Any, shared: SharedArray) -> float:
    """(c) The array was made in shared memory: send its name; the worker attaches."""
    conn.send(("shared", shared))
    return answer(conn)


def hand_over_kept(conn: Any, shared: SharedArray) -> float:
    """(d) The worker keeps the block mapped: the message is a name it already knows."""
    conn.send(("kept", shared.block.name))
    return answer(conn)
# [end:handoff]


def local_sum(array: Any) -> float:
    """The worker's work without any hand-off: the sum, in this process."""
    return float(array.sum())


def keep_in_worker(conn: Any, shared: SharedArray) -> None:
    """Have the worker attach ``shared`` once and keep it mapped (for :func:`hand_over_kept`)."""
    conn.send(("keep", shared))
    answer(conn)


def first_touch_in_worker(conn: Any, shared: SharedArray) -> tuple[float, float]:
    """The worker's first and second pass over a block it has just attached."""
    conn.send(("touch", shared))
    first, second = answer(conn)
    return first, second


def handoff_check(context: Any, elements: int) -> dict[str, bool]:
    """Hand one array over in every way; True for each way whose answer is the right sum."""
    array = np.arange(elements, dtype=np.float64)
    expected = float(array.sum())
    # The block exists before the worker starts, so under fork they share one tracker.
    with SharedArray(array.shape, array.dtype) as born_shared:
        np.copyto(born_shared.array, array)
        with summing_worker(context) as conn:
            keep_in_worker(conn, born_shared)
            return {
                "by_value": hand_over_by_value(conn, array) == expected,
                "by_copy": hand_over_by_copy(conn, array) == expected,
                "by_name": hand_over_by_name(conn, born_shared) == expected,
                "kept": hand_over_kept(conn, born_shared) == expected,
            }


# ---------------------------------------------------------------------------------------
# Lifetime: one owner creates and unlinks; every process closes.


# [start:lifecycle]
def slice_total(name: str, shape: tuple[int, ...], dtype: str, start: int, stop: int,
                results: Any) -> None:
    """Worker: attach to the block by name, sum one slice, close the mapping."""
    block = shared_memory.SharedMemory(name=name)  # attach: no create, no size
    try:
        view = np.ndarray(shape, dtype=dtype, buffer=block.buf)
        results.put((start, float(view[start:stop].sum())))
        del view  # numpy's view pins the mapping: drop it before close()
    finally:
        block.close()  # every process closes its own mapping...


def sum_in_workers(context: Any, name: str, shape: tuple[int, ...], dtype: str,
                   workers: int) -> float:
    """Start ``workers`` processes that each sum a slice of the block ``name``."""
    results = context.Queue()
    bounds = np.linspace(0, shape[0], workers + 1).astype(int)
    processes = [context.Process(target=slice_total,
                                 args=(name, shape, dtype, int(lo), int(hi), results))
                 for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    for process in processes:
        process.start()
    try:
        return sum(results.get(timeout=WAIT_S)[1] for _ in processes)
    finally:
        join_all(processes)
        results.close()
        results.join_thread()


def owner_total(context: Any, values: Any, workers: int) -> tuple[float, str]:
    """Put ``values`` in a new block, let workers sum it, and remove the block."""
    block = shared_memory.SharedMemory(create=True, size=values.nbytes)  # the owner creates
    try:
        view = np.ndarray(values.shape, dtype=values.dtype, buffer=block.buf)
        view[:] = values
        del view
        total = sum_in_workers(context, block.name, values.shape, values.dtype.str, workers)
        return total, block.name
    finally:
        block.close()
        block.unlink()  # ...and the owner alone unlinks, exactly once, in finally
# [end:lifecycle]


# [start:shared-memory-manager]
def manager_total(context: Any, values: Any, workers: int) -> tuple[float, str]:
    """The same, with a SharedMemoryManager owning the block."""
    with SharedMemoryManager(ctx=context) as manager:  # a server process owns the blocks
        block = manager.SharedMemory(size=values.nbytes)
        try:
            view = np.ndarray(values.shape, dtype=values.dtype, buffer=block.buf)
            view[:] = values
            del view
            total = sum_in_workers(context, block.name, values.shape, values.dtype.str,
                                   workers)
            return total, block.name
        finally:
            block.close()  # this process's mapping; the manager unlinks at shutdown
# [end:shared-memory-manager]


# ---------------------------------------------------------------------------------------
# The resource tracker.


# [start:untracked]
def attach_from_another_program(name: str) -> shared_memory.SharedMemory:
    """Attach to a block another program owns, without this process's resource tracker
    unlinking it when this process exits (a process multiprocessing did not start has
    a tracker of its own)."""
    if HAS_TRACK_PARAMETER:  # Python 3.13 and later
        return shared_memory.SharedMemory(name=name, track=False)
    block = shared_memory.SharedMemory(name=name)
    # Before 3.13, attaching always registers the block: take that back (gh-82300).
    resource_tracker.unregister(block._name, "shared_memory")
    return block
# [end:untracked]


# [start:reader]
def read_block(name: str, untracked: bool) -> None:
    """Another program: attach by name, read, close, exit. It never unlinks."""
    if untracked:
        block = attach_from_another_program(name)
    else:
        block = shared_memory.SharedMemory(name=name)
    try:
        print(f"reader: attached {name}, read {bytes(block.buf[:len(MARKER)])!r}")
    finally:
        block.close()
    print("reader: closed its mapping; exiting")
# [end:reader]


def owner_and_other_program(untracked: bool) -> None:
    """Own a block while another interpreter reads it; report whether the block survives."""
    block = shared_memory.SharedMemory(create=True, size=4096)
    try:
        block.buf[:len(MARKER)] = MARKER
        args = ["reader", block.name] + (["untracked"] if untracked else [])
        reader = run_module(MODULE, *args, time_limit_s=WAIT_S)
        print(f"owner: created {block.name}; ran the reader (exit code {reader.returncode})")
        print("--- reader's standard output:")
        print(reader.output, end="")
        print("--- reader's standard error:")
        print(reader.errors or "(nothing)\n", end="")
        print("---")
        print(f"owner: {block.name} exists after the reader exited: {block_exists(block.name)}")
        try:
            shared_memory.SharedMemory(name=block.name).close()
            print("owner: a new process could still attach it by name")
        except FileNotFoundError as error:
            print(f"owner: attaching by name now fails: {type(error).__name__}")
    finally:
        release_as_owner(block)


# [start:worker-first]
def release_as_owner(block: shared_memory.SharedMemory) -> None:
    """The owner's clean-up: close its mapping, unlink the block, say if it was gone."""
    block.close()
    try:
        block.unlink()
        print("owner: unlinked the block")
    except FileNotFoundError as error:
        print(f"owner: unlink() raised {type(error).__name__}: it was already gone")


def peek(conn: Any) -> None:
    """Worker: receive a block's name, attach, read, close, exit."""
    name = conn.recv()
    block = shared_memory.SharedMemory(name=name)
    try:
        conn.send(bytes(block.buf[:len(MARKER)]))
    finally:
        block.close()


def worker_started_first(context: Any) -> None:
    """Start a worker BEFORE this process creates its first block, then share one."""
    parent_end, child_end = context.Pipe()
    worker = context.Process(target=peek, args=(child_end,))
    worker.start()  # no block exists yet in this process
    block = shared_memory.SharedMemory(create=True, size=4096)
    try:
        block.buf[:len(MARKER)] = MARKER
        parent_end.send(block.name)
        print(f"owner: the worker read {answer(parent_end)!r} from {block.name}")
        join_all([worker])
        gone = wait_until_gone(block.name, GRACE_S)
        print(f"owner: {GRACE_S} s after the worker exited, the block is "
              f"{'GONE' if gone else 'still there'}")
    finally:
        release_as_owner(block)
# [end:worker-first]


# ---------------------------------------------------------------------------------------
# The numpy equivalent of sharing a tensor through torch.multiprocessing's Queue.


# [start:queue-share]
def double_in_place(inbox: Any, outbox: Any) -> None:
    """Worker: take a SharedArray from the queue and double it where it lies."""
    with inbox.get(timeout=WAIT_S) as shared:  # unpickling attached the owner's block
        shared.array *= 2  # writes the owner's memory: nothing needs sending back
        outbox.put(os.getpid())


def share_through_queue(context: Any, elements: int) -> dict[str, Any]:
    """Put a SharedArray on a Queue; a worker changes it in place; the owner sees it."""
    with SharedArray((elements,), np.float64) as shared:
        shared.array[:] = np.arange(elements)
        inbox, outbox = context.Queue(), context.Queue()
        worker = context.Process(target=double_in_place, args=(inbox, outbox))
        worker.start()
        try:
            inbox.put(shared)  # pickled by SharedArray.__reduce__: name, shape, dtype
            worker_pid = outbox.get(timeout=WAIT_S)
        finally:
            join_all([worker])
            for queue in (inbox, outbox):
                queue.close()
                queue.join_thread()
        return {
            "message_bytes": len(pickle.dumps(shared)),
            "array_bytes": shared.array.nbytes,
            "first_values": shared.array[:4].tolist(),
            "all_doubled": bool(np.array_equal(shared.array, 2 * np.arange(elements))),
            "worker_pid": worker_pid,
            "owner_pid": os.getpid(),
        }
# [end:queue-share]


def method_demos(method: str, counter_n: int, counter_workers: int) -> dict[str, Any]:
    """Run every demonstration that must hold under one start method; return plain data.

    Run in a child interpreter (``python -m parbook.chapters.shared_memory.workload demos
    METHOD N WORKERS``), so what the resource tracker prints at exit can be checked.
    """
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        # The server imports numpy once, so the children it forks need not.
        context.set_forkserver_preload(["numpy"])
    values = np.arange(CHECK_ELEMENTS, dtype=np.float64)
    before = psm_segments()
    counter = {how: count_in_processes(context, counter_workers, counter_n,
                                       hold_lock=how == "get_lock")
               for how in ("no_lock", "get_lock")}
    with context.Manager() as manager, reporting_workers(context, manager, 2) as reporters:
        exchange = {how: len(collect(reporters, how, EXCHANGE_CHECK_N)) for how in REPORTERS}
    handoff = handoff_check(context, CHECK_ELEMENTS)
    owned_total, owned_name = owner_total(context, values, LIFECYCLE_WORKERS)
    after_owner = psm_segments()
    managed_total, managed_name = manager_total(context, values, 1)
    queue_share = share_through_queue(context, QUEUE_SHARE_ELEMENTS)
    return {
        "method": method,
        "counter": counter,
        "exchange": {"expected": 2 * EXCHANGE_CHECK_N, "received": exchange},
        "handoff": handoff,
        "expected_total": float(values.sum()),
        "block_mib": values.nbytes / 2**20,
        "owner": {"total": owned_total, "name": owned_name, "workers": LIFECYCLE_WORKERS,
                  "before": sorted(before), "new_after": sorted(after_owner - before),
                  "exists_after": block_exists(owned_name)},
        "shared_memory_manager": {"total": managed_total, "name": managed_name,
                                  "exists_after": block_exists(managed_name)},
        "queue_share": queue_share,
        "new_segments_at_end": sorted(psm_segments() - before),
    }


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "demos": lambda argv: print(json.dumps(method_demos(argv[0], int(argv[1]), int(argv[2])))),
    "reader": lambda argv: read_block(argv[0], untracked=argv[1:] == ["untracked"]),
    "other-program": lambda argv: owner_and_other_program(untracked=argv == ["untracked"]),
    "worker-first": lambda argv: worker_started_first(multiprocessing.get_context(argv[0])),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo("parbook.chapters.shared_memory.workload", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
