"""Workloads of the Ray basics chapter: tasks, actors, the object store, anti-patterns.

Everything here runs inside a Ray session that the caller started (the experiment does
it with :func:`parbook.shared.raysession.ray_session`); nothing here starts or stops Ray.
Remote functions and actor classes are defined at module level, as Ray recommends: a
worker imports this module to find them, and each is exported to the cluster once.

Every ``ray.get`` and ``ray.wait`` is bounded with a timeout, so a broken worker fails the
run instead of hanging it, and every actor a demonstration creates is killed in
``finally``. The demonstrations return plain data (lines to print and the facts the
chapter checks), so the page shows what this build's run printed.
"""

from __future__ import annotations

import math
import os
import pickle
import time
from typing import Any

import numpy as np
import ray
from ray.experimental import get_object_locations

from parbook.shared.cpu import burn

#: Upper bound on any wait that should succeed, so a broken worker fails the run.
WAIT_S = 120.0
#: Ray's documented default for ``max_direct_call_object_size`` (``ray_config_def.h``):
#: results up to this size go back to the caller inline instead of to the object store.
DOCUMENTED_INLINE_LIMIT_BYTES = 100 * 1024


def _error(error: BaseException) -> str:
    """An exception as ``Type: first line of its message``."""
    message = str(error).strip().splitlines()
    return type(error).__name__ + (f": {message[0]}" if message else "")


# ---------------------------------------------------------------------------------------
# Tasks.


# [start:remote-function]
@ray.remote
def square(x: float) -> float:
    """A remote function: ``square.remote(x)`` runs it in a worker process."""
    return x * x


@ray.remote
def worker_pid(_: Any = None) -> int:
    """The process a task ran in."""
    return os.getpid()
# [end:remote-function]


# [start:tasks-demo]
def first_tasks(workers: int) -> dict[str, Any]:
    """Submit tasks, hold their ObjectRefs, get the values; chain one task into another."""
    began = time.perf_counter()
    ref = square.remote(4)                   # returns at once, before the task has run
    first_submit = time.perf_counter() - began   # includes exporting square to the workers
    value = ray.get(ref, timeout=WAIT_S)     # blocks until the value exists
    began = time.perf_counter()
    ref = square.remote(5)
    submitted = time.perf_counter() - began
    ray.get(ref, timeout=WAIT_S)
    got = time.perf_counter() - began
    refs = [square.remote(i) for i in range(5)]
    values = ray.get(refs, timeout=WAIT_S)   # a list of refs gives a list of values
    inner = square.remote(3)
    chained = ray.get(square.remote(inner), timeout=WAIT_S)  # Ray passes inner's value
    pids = ray.get([worker_pid.remote(i) for i in range(4 * workers)], timeout=WAIT_S)
    lines = [
        f"square.remote(4) returned an {type(ref).__name__} after {first_submit * 1e3:.2f} ms",
        f"ray.get of it returned {value}",
        f"square.remote(5) returned after {submitted * 1e3:.2f} ms; "
        f"its value was there {got * 1e3:.2f} ms after submission",
        f"ray.get([5 refs]) returned {values}",
        f"square.remote(square.remote(3)) gave {chained}: the inner ref was resolved first",
        f"{len(pids)} tasks ran in {len(set(pids))} worker processes; "
        f"this driver is process {os.getpid()}, not one of them: {os.getpid() not in pids}",
    ]
    return {"lines": lines, "ref_type": type(ref).__name__, "value": value,
            "values": values, "chained": chained, "first_submit_s": first_submit,
            "submitted_s": submitted, "got_s": got,
            "task_pids": sorted(set(pids)), "driver_pid": os.getpid()}
# [end:tasks-demo]


# [start:wait-demo]
@ray.remote
def nap(seconds: float) -> float:
    """A task that waits ``seconds`` (standing for slow work) and returns it."""
    time.sleep(seconds)
    return seconds


def wait_with_timeouts(short_s: float, long_s: float) -> dict[str, Any]:
    """ray.wait returns what is ready; ray.get(timeout=...) raises GetTimeoutError."""
    refs = [nap.remote(long_s), nap.remote(short_s)]
    began = time.perf_counter()
    ready, pending = ray.wait(refs, num_returns=1, timeout=WAIT_S)  # the first to finish
    first_after = time.perf_counter() - began
    lines = [f"ray.wait(2 refs, num_returns=1) after {first_after * 1e3:.0f} ms: "
             f"{len(ready)} ready, {len(pending)} pending; "
             f"the ready one slept {ray.get(ready[0], timeout=WAIT_S)} s"]
    polled, _ = ray.wait(pending, timeout=0)  # timeout=0: look, do not wait
    lines.append(f"ray.wait(pending, timeout=0) found {len(polled)} ready")
    began = time.perf_counter()
    try:
        ray.get(pending[0], timeout=short_s)
        timeout_error = None
    except ray.exceptions.GetTimeoutError as error:
        timeout_error = error
    waited = time.perf_counter() - began
    lines.append(f"ray.get(pending, timeout={short_s}) raised "
                 f"{type(timeout_error).__name__} after {waited * 1e3:.0f} ms "
                 f"(a TimeoutError: {isinstance(timeout_error, TimeoutError)})")
    value = ray.get(pending[0], timeout=WAIT_S)  # the task kept running meanwhile
    lines.append(f"ray.get(pending, timeout={WAIT_S:g}) returned {value}")
    return {"lines": lines, "first_after_s": first_after, "ready": len(ready),
            "pending": len(pending), "polled": len(polled),
            "timeout_error": type(timeout_error).__name__,
            "is_timeout_error": isinstance(timeout_error, TimeoutError),
            "timeout_s": short_s, "timeout_waited_s": waited, "late_value": value}
# [end:wait-demo]


# ---------------------------------------------------------------------------------------
# Actors.


# [start:actor]
@ray.remote
class RunningMean:
    """A stateful actor: one process that keeps a running mean between calls."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.seen: list[float] = []

    def add(self, value: float) -> float:
        self.count += 1
        self.total += value
        self.seen.append(value)
        return self.total / self.count

    def state(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "count": self.count, "seen": list(self.seen)}
# [end:actor]


# [start:actor-demo]
def actor_demo(calls: int) -> dict[str, Any]:
    """Send one actor many calls without waiting; they run one at a time, in order."""
    first, second = RunningMean.remote(), RunningMean.remote()
    try:
        means = [first.add.remote(value) for value in range(calls)]  # nothing waits here
        second.add.remote(100.0)
        means = ray.get(means, timeout=WAIT_S)
        one, other = ray.get([first.state.remote(), second.state.remote()], timeout=WAIT_S)
    finally:
        for actor in (first, second):
            ray.kill(actor)
    lines = [
        f"{calls} add() calls sent without waiting; the running means came back as "
        f"{[round(m, 2) for m in means]}",
        f"first actor (process {one['pid']}) saw {one['seen']}",
        f"second actor (process {other['pid']}) saw {other['seen']}: its own state",
    ]
    return {"lines": lines, "means": means, "seen": one["seen"], "other_seen": other["seen"],
            "pids": [one["pid"], other["pid"]], "driver_pid": os.getpid()}
# [end:actor-demo]


# ---------------------------------------------------------------------------------------
# The object store.


@ray.remote
def write_first(array: np.ndarray) -> float:
    """A task that tries to change the array it was given."""
    array[0] = -1.0
    return float(array[0])


# [start:zero-copy]
def zero_copy_demo(elements: int) -> dict[str, Any]:
    """What ray.get of a put numpy array gives back: a read-only view of shared memory."""
    original = np.arange(elements, dtype=np.float64)
    ref = ray.put(original)                  # one copy, into the object store
    first, second = ray.get(ref, timeout=WAIT_S), ray.get(ref, timeout=WAIT_S)
    facts: dict[str, Any] = {
        "writeable": bool(first.flags.writeable),
        "owndata": bool(first.flags.owndata),
        "two_gets_share_memory": bool(np.shares_memory(first, second)),
        "shares_memory_with_original": bool(np.shares_memory(first, original)),
    }
    try:
        first[0] = -1.0
        facts["write_error"] = None
    except ValueError as error:
        facts["write_error"] = _error(error)
    mine = first.copy()                      # a private, writeable copy
    mine[0] = -1.0
    facts["copy_writeable"] = bool(mine.flags.writeable)
    try:
        ray.get(write_first.remote(ref), timeout=WAIT_S)
        facts["task_error"] = None
    except ray.exceptions.RayTaskError as error:
        facts["task_error"] = type(error).__name__
        facts["task_error_is_value_error"] = isinstance(error, ValueError)
    facts["unchanged"] = bool(ray.get(ref, timeout=WAIT_S)[0] == original[0])
    del first, second, ref
    return facts
# [end:zero-copy]


def zero_copy_lines(facts: dict[str, Any]) -> list[str]:
    """The zero-copy demonstration's findings as lines for the page."""
    return [
        f"flags.writeable = {facts['writeable']}, flags.owndata = {facts['owndata']}",
        f"two ray.get calls share memory: {facts['two_gets_share_memory']}; "
        f"the result shares memory with the original: {facts['shares_memory_with_original']}",
        f"writing to it raised {facts['write_error']}",
        f"a .copy() is writeable: {facts['copy_writeable']}",
        f"a task writing to it raised {facts['task_error']} "
        f"(also a ValueError: {facts.get('task_error_is_value_error')})",
        f"the stored array is unchanged: {facts['unchanged']}",
    ]


# [start:out-of-band]
def out_of_band_demo(elements: int) -> dict[str, Any]:
    """Pickle protocol 5 with a buffer callback, as Ray's serialiser calls it."""
    array = np.arange(elements, dtype=np.float64)
    buffers: list[pickle.PickleBuffer] = []
    stream = ray.cloudpickle.dumps(array, protocol=5, buffer_callback=buffers.append)
    # The array's bytes are not in the stream: they stay in `buffers`, as views of the
    # array's own memory, for the caller to place (Ray copies them into its store).
    restored = pickle.loads(stream, buffers=buffers)
    in_place = np.frombuffer(buffers[0].raw(), dtype=np.float64)
    return {
        "array_bytes": array.nbytes,
        "stream_bytes": len(stream),
        "buffers": len(buffers),
        "buffer_bytes": buffers[0].raw().nbytes,
        "buffer_is_the_array": bool(np.shares_memory(in_place, array)),
        "restored_equal": bool(np.array_equal(restored, array)),
        "in_band_bytes": len(ray.cloudpickle.dumps(array, protocol=5)),
    }
# [end:out-of-band]


# [start:where-objects-live]
@ray.remote
def zeros(n_bytes: int) -> np.ndarray:
    """A task whose result is an array of ``n_bytes`` bytes."""
    return np.zeros(n_bytes, dtype=np.uint8)


def where_it_lives(ref: ray.ObjectRef) -> tuple[str, int]:
    """("object store" or "owner's memory", size in bytes) for a finished object."""
    ray.wait([ref], timeout=WAIT_S)
    location = get_object_locations([ref], timeout_ms=int(WAIT_S * 1000))[ref]
    # Nodes holding a copy in their shared-memory store; none for an inlined object.
    place = "object store" if location["node_ids"] else "owner's memory"
    return place, int(location["object_size"])
# [end:where-objects-live]


def placements(result_sizes: list[int], put_size: int) -> list[dict[str, Any]]:
    """Where task results of each size, and one small ``ray.put`` object, ended up."""
    rows = []
    for n_bytes in result_sizes:
        ref = zeros.remote(n_bytes)
        place, size = where_it_lives(ref)
        rows.append({"how": "task result", "array_bytes": n_bytes, "object_bytes": size,
                     "place": place})
        del ref
    ref = ray.put(np.zeros(put_size, dtype=np.uint8))
    place, size = where_it_lives(ref)
    rows.append({"how": "ray.put", "array_bytes": put_size, "object_bytes": size,
                 "place": place})
    return rows


def inline_limit(high_bytes: int = 1 << 20) -> dict[str, int]:
    """Bisect the largest task result that stays in the owner's memory.

    Returns the array sizes and object sizes (data plus Ray's metadata) on either side
    of the limit: the largest result kept inline and the smallest one stored.
    """
    low, high = 0, high_bytes
    sizes = {}
    for n_bytes in (low, high):
        sizes[n_bytes] = where_it_lives(zeros.remote(n_bytes))
    if sizes[low][0] != "owner's memory" or sizes[high][0] != "object store":
        raise RuntimeError(f"no inline limit between {low} and {high} bytes: {sizes}")
    while high - low > 1:
        middle = (low + high) // 2
        sizes[middle] = where_it_lives(zeros.remote(middle))
        if sizes[middle][0] == "owner's memory":
            low = middle
        else:
            high = middle
    return {"inline_array_bytes": low, "inline_object_bytes": sizes[low][1],
            "stored_array_bytes": high, "stored_object_bytes": sizes[high][1],
            "probes": len(sizes)}


# ---------------------------------------------------------------------------------------
# Costs: one call, and arrays by size.


# [start:echo]
@ray.remote
def echo(message: Any) -> Any:
    """A task whose whole cost is getting there and back."""
    return message


@ray.remote
class Echo:
    """An actor whose ``ping`` returns its argument."""

    def ping(self, message: Any) -> Any:
        return message
# [end:echo]


def calls(call: Any, n: int) -> None:
    """Make ``n`` calls one after another, each waiting for its answer."""
    for _ in range(n):
        call()


# [start:size-cases]
@ray.remote
def last_element(array: np.ndarray) -> float:
    """A task that receives an array and returns a scalar read from it."""
    return float(array[-1])


def put_only(array: np.ndarray) -> None:
    """ray.put; the ref is dropped at once, so the object is freed again."""
    ray.put(array)


def get_only(ref: ray.ObjectRef) -> None:
    """ray.get of an array already in the object store."""
    ray.get(ref, timeout=WAIT_S)


def task_on_ref(ref: ray.ObjectRef) -> float:
    """A task on an array already in the object store: only the ref travels."""
    return ray.get(last_element.remote(ref), timeout=WAIT_S)


def task_on_value(array: np.ndarray) -> float:
    """A task on an array passed by value: Ray serialises it for this call."""
    return ray.get(last_element.remote(array), timeout=WAIT_S)
# [end:size-cases]


# ---------------------------------------------------------------------------------------
# Anti-patterns.


# [start:get-in-loop]
@ray.remote
def crunch(iterations: int) -> int:
    """A CPU-bound task (pure-Python arithmetic)."""
    return burn(iterations)


def get_in_loop(iterations: int, tasks: int) -> list[int]:
    """Anti-pattern: wait for each task before submitting the next."""
    results = []
    for _ in range(tasks):
        results.append(ray.get(crunch.remote(iterations), timeout=WAIT_S))
    return results


def submit_then_get(iterations: int, tasks: int) -> list[int]:
    """Better: submit every task, then wait once for the list."""
    refs = [crunch.remote(iterations) for _ in range(tasks)]
    return ray.get(refs, timeout=WAIT_S)
# [end:get-in-loop]


# [start:fine-grained]
def tiny_work(iterations: int) -> int:
    """The work for one item: a few microseconds of arithmetic."""
    return burn(iterations)


@ray.remote
def one_item(iterations: int) -> int:
    return tiny_work(iterations)


@ray.remote
def many_items(items: list[int]) -> list[int]:
    return [tiny_work(item) for item in items]


def serial(items: list[int]) -> list[int]:
    """The baseline: a plain loop in this process."""
    return [tiny_work(item) for item in items]


def one_task_per_item(items: list[int]) -> list[int]:
    """Anti-pattern: one Ray task for every item."""
    return ray.get([one_item.remote(item) for item in items], timeout=WAIT_S)


def batched(items: list[int], batches: int) -> list[int]:
    """Better: a few tasks, each working through a contiguous slice of the items."""
    size = math.ceil(len(items) / batches)
    refs = [many_items.remote(items[i:i + size]) for i in range(0, len(items), size)]
    return [result for batch in ray.get(refs, timeout=WAIT_S) for result in batch]
# [end:fine-grained]


# [start:large-argument]
def by_value(array: np.ndarray, tasks: int) -> list[float]:
    """Anti-pattern: the same large array as an argument to every task."""
    return ray.get([last_element.remote(array) for _ in range(tasks)], timeout=WAIT_S)


def by_reference(array: np.ndarray, tasks: int) -> list[float]:
    """Better: ray.put it once and pass the ObjectRef."""
    ref = ray.put(array)
    return ray.get([last_element.remote(ref) for _ in range(tasks)], timeout=WAIT_S)
# [end:large-argument]
