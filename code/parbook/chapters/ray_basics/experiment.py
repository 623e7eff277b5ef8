"""Ray basics: what a task, an actor call and the object store cost, and three anti-patterns.

Groups of cases in the result:

``ray_init``
    Seconds to start (or connect to) Ray through :func:`parbook.shared.raysession.ray_session`.
``store_warmup``
    One sample: the first ``ray.put`` calls into the fresh object store, which pay for
    mapping its pages, before anything else is timed.
``call``
    Seconds per call of a tiny message: a raw ``os.pipe`` round trip (the floor), a
    ``ray.put`` + ``ray.get`` in the driver, a Ray task and an actor call one at a time,
    and both again with every call submitted before one ``ray.get`` on the list. Timed in
    turns (interleaved).
``size_sweep``
    Seconds per operation on a uint8 array of 8 B to 256 MiB: three copies of it in this
    process (into memory already written, the floor; into freshly mapped memory; and
    split over threads as ``ray.put`` splits it), sending it down a raw ``os.pipe`` to a
    process that answers with one byte (floor), ``ray.put``, ``ray.get`` of a put array, a
    task given the put ref, and a task given the array by value. Timed in turns at each
    size. ``values["copy_counts"]`` holds, for the copies and ``ray.put`` at each size,
    the page faults per page written and the CPU seconds per wall second of a few untimed
    runs made after the timed ones.
``anti_pattern``
    Ray's documented anti-patterns against their fixes, each pair timed in turns:
    ``ray.get`` in a loop, one task per tiny item, the same large array passed by value.

``values["demos"]`` holds what the chapter's demonstrations printed and the facts it checks
(tasks, ``ray.wait`` and timeouts, actor order and state, read-only zero-copy arrays,
where objects live, and the inline limit found by bisection); ``values["serialisation"]``
the versions of Ray and its cloudpickle, whether pyarrow is installed, and what pickle
protocol 5 does with a numpy array.

Every process this experiment forks (the floors' pipe children) is started before Ray,
never while Ray's threads run, and all Ray cases share one Ray session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import mmap
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.ray_basics.floors import (
    RAY_MEMCOPY_THREADS,
    RAY_MEMCOPY_THRESHOLD_BYTES,
    copy_into_fresh_memory,
    fault_and_cpu_counts,
    os_pipe_sink,
    split_copier,
)
from parbook.render.formatting import format_size
from parbook.shared import roundtrip, run_setup
from parbook.shared.cpu import calibrate, iterations_for
from parbook.shared.raysession import describe, ray_session
from parbook.shared.shm import memcpy_floor

NAME = "ray-basics"

CALL_LABELS = {
    "os_pipe": "raw os.pipe, 1 byte there and back (floor)",
    "put_get": "ray.put + ray.get of a small object, in the driver",
    "task": "task: f.remote() + ray.get, one at a time",
    "actor": "actor call: a.f.remote() + ray.get, one at a time",
    "task_batch": "tasks: all submitted, then one ray.get",
    "actor_batch": "actor calls: all submitted, then one ray.get",
}
SIZE_LABELS = {
    "memcpy": "memcpy into touched memory (floor)",
    "memcpy_fresh": "memcpy into fresh memory",
    "memcpy_threads": "memcpy split as ray.put splits it",
    "os_pipe": "os.pipe to a process (floor)",
    "put": "ray.put",
    "get": "ray.get",
    "task_ref": "task given the put ref",
    "task_value": "task given the array by value",
}
#: The size-sweep cases the main size table shows (the other copies have a table of their own).
MAIN_SIZE_CASES = ("memcpy", "os_pipe", "put", "get", "task_ref", "task_value")
#: The operations whose page faults and CPU time the sweep counts, and how often at each
#: size: the fresh copy once (its page faults are the same every time, and it is the
#: slowest), the others a few times.
COUNTED = ("memcpy", "memcpy_fresh", "memcpy_threads", "put")
COUNTED_RUNS = 3
COUNTED_RUNS_OF = {"memcpy_fresh": 1}
#: Anti-pattern -> {case: label}; the first case is the anti-pattern, the last the fix.
ANTI_PATTERN_LABELS = {
    "get_in_loop": {
        "get_in_loop": "ray.get inside the loop",
        "submit_then_get": "submit all, then one ray.get",
    },
    "fine_grained": {
        "serial": "plain loop in the driver",
        "one_task_per_item": "one task per item",
        "batched": "one task per batch",
    },
    "large_argument": {
        "by_value": "array passed by value to each task",
        "by_reference": "ray.put once, pass the ref",
    },
}
ANTI_PATTERN_TITLES = {
    "get_in_loop": "Calling ray.get in a loop",
    "fine_grained": "Too fine-grained tasks",
    "large_argument": "Passing the same large argument by value",
}
PROBLEM = {"get_in_loop": "get_in_loop", "fine_grained": "one_task_per_item",
           "large_argument": "by_value"}
FIX = {"get_in_loop": "submit_then_get", "fine_grained": "batched",
       "large_argument": "by_reference"}
#: Sizes of task results whose location the chapter shows (around the inline limit).
PLACEMENT_SIZES = (8, 64 << 10, 128 << 10, 1 << 20)


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    ray_calls: int
    batch_calls: int
    pipe_calls: int
    call: Protocol
    array_sizes: tuple[int, ...]
    #: Bytes handled per sample in the size sweep; the calls per sample follow from it.
    bytes_per_sample: int
    max_sweep_calls: int
    sweep: Protocol
    warmup_copies: int
    loop_task_s: float
    loop_tasks_per_worker: int
    fine_items: int
    fine_item_s: float
    batches_per_worker: int
    large_argument_bytes: int
    large_argument_tasks: int
    anti: Protocol
    actor_calls: int
    nap_short_s: float
    nap_long_s: float
    zero_copy_elements: int


FULL = Sizes(
    ray_calls=50, batch_calls=100, pipe_calls=2000, call=Protocol(repeats=5, warmup=1),
    array_sizes=(8, 1 << 10, 64 << 10, 1 << 20, 16 << 20, 128 << 20, 256 << 20),
    bytes_per_sample=32 << 20, max_sweep_calls=10, sweep=Protocol(repeats=4, warmup=1),
    warmup_copies=3,
    loop_task_s=0.02, loop_tasks_per_worker=4,
    fine_items=2000, fine_item_s=20e-6, batches_per_worker=2,
    large_argument_bytes=16 << 20, large_argument_tasks=10,
    anti=Protocol(repeats=3, warmup=0),
    actor_calls=6, nap_short_s=0.05, nap_long_s=0.5, zero_copy_elements=1_000_000,
)
QUICK = Sizes(
    ray_calls=20, batch_calls=40, pipe_calls=200, call=Protocol(repeats=2, warmup=1),
    array_sizes=(8, 1 << 10, 64 << 10, 1 << 20, 16 << 20),
    bytes_per_sample=4 << 20, max_sweep_calls=5, sweep=Protocol(repeats=2, warmup=1),
    warmup_copies=3,
    loop_task_s=0.02, loop_tasks_per_worker=4,
    fine_items=300, fine_item_s=20e-6, batches_per_worker=2,
    large_argument_bytes=4 << 20, large_argument_tasks=10,
    anti=Protocol(repeats=2, warmup=0),
    actor_calls=6, nap_short_s=0.05, nap_long_s=0.3, zero_copy_elements=100_000,
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def sweep_calls(size: int, sizes_: Sizes) -> int:
    """Operations per sample at one array size: about the same bytes at every size."""
    return max(1, min(sizes_.max_sweep_calls, round(sizes_.bytes_per_sample / size)))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every demonstration and measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say = machine_setup.say
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus, array_sizes=list(size.array_sizes),
        ray_calls=size.ray_calls, batch_calls=size.batch_calls, pipe_calls=size.pipe_calls,
        loop_task_s=size.loop_task_s, fine_items=size.fine_items,
        fine_item_s=size.fine_item_s, large_argument_bytes=size.large_argument_bytes,
        large_argument_tasks=size.large_argument_tasks, page_bytes=mmap.PAGESIZE,
        ray_memcopy_threads=RAY_MEMCOPY_THREADS,
        ray_memcopy_threshold_bytes=RAY_MEMCOPY_THRESHOLD_BYTES,
    )
    say("calibrating the CPU-bound work")
    rate = calibrate()
    result.values["burn_iterations_per_s"] = rate

    # The floors' children are started now, before Ray: nothing is forked once Ray's
    # threads run. They wait on their pipes until their size comes up.
    with contextlib.ExitStack() as children:
        say("starting the os.pipe floors")
        sinks = {n: children.enter_context(os_pipe_sink(n)) for n in size.array_sizes}
        one_byte = children.enter_context(roundtrip.os_pipe_echo())
        say("starting Ray")
        began = time.perf_counter()
        with ray_session(num_cpus=machine_setup.cpus) as ray:
            result.add("ray_init", {}, [time.perf_counter() - began])
            where = describe(ray)
            result.parameters.update(where)
            workers = max(1, int(where["ray_cluster_cpus"]))
            result.parameters["workers"] = workers
            _demos(result, size, workers, say)
            _store_warmup(result, size, say)
            _calls(result, size, one_byte, say)
            _size_sweep(result, size, sinks, say)
            _anti_patterns(result, size, workers, rate, say)
    return result


def _demos(result: Result, size: Sizes, workers: int, say: Callable[[str], None]) -> None:
    from parbook.chapters.ray_basics import workload as work

    say("demonstrations: tasks, ray.wait, actors, zero-copy, where objects live")
    zero_copy = work.zero_copy_demo(size.zero_copy_elements)
    result.values["demos"] = {
        "tasks": work.first_tasks(workers),
        "wait": work.wait_with_timeouts(size.nap_short_s, size.nap_long_s),
        "actor": work.actor_demo(size.actor_calls),
        "zero_copy": {**zero_copy, "lines": work.zero_copy_lines(zero_copy)},
        "placements": work.placements(list(PLACEMENT_SIZES), put_size=8),
        "inline_limit": work.inline_limit(),
        "documented_inline_limit": work.DOCUMENTED_INLINE_LIMIT_BYTES,
    }
    result.values["serialisation"] = {
        "ray_version": work.ray.__version__,
        "cloudpickle_version": work.ray.cloudpickle.__version__,
        "pyarrow_installed": importlib.util.find_spec("pyarrow") is not None,
        "out_of_band": work.out_of_band_demo(size.zero_copy_elements),
    }


def _store_warmup(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    import ray

    largest = max(size.array_sizes)
    say(f"warming the object store: {size.warmup_copies} x {format_size(largest)}")
    array = np.ones(largest, dtype=np.uint8)
    began = time.perf_counter()
    refs = [ray.put(array) for _ in range(size.warmup_copies)]
    elapsed = time.perf_counter() - began
    del refs
    result.add("store_warmup", {"bytes": largest * size.warmup_copies}, [elapsed])


def _calls(result: Result, size: Sizes, one_byte: Any, say: Callable[[str], None]) -> None:
    import ray

    from parbook.chapters.ray_basics import workload as work

    write_fd, read_fd = one_byte
    actor = work.Echo.remote()
    n, batch, pipe_n = size.ray_calls, size.batch_calls, size.pipe_calls
    try:
        ray.get(actor.ping.remote(0), timeout=work.WAIT_S)
        say(f"call costs: {n} calls one at a time, {batch} submitted together")
        cases = {
            "os_pipe": lambda _: work.calls(
                lambda: (os.write(write_fd, b"x"), os.read(read_fd, 1)), pipe_n),
            "put_get": lambda _: work.calls(
                lambda: ray.get(ray.put(0), timeout=work.WAIT_S), n),
            "task": lambda _: work.calls(
                lambda: ray.get(work.echo.remote(0), timeout=work.WAIT_S), n),
            "actor": lambda _: work.calls(
                lambda: ray.get(actor.ping.remote(0), timeout=work.WAIT_S), n),
            "task_batch": lambda _: ray.get(
                [work.echo.remote(0) for _ in range(batch)], timeout=work.WAIT_S),
            "actor_batch": lambda _: ray.get(
                [actor.ping.remote(0) for _ in range(batch)], timeout=work.WAIT_S),
        }
        samples = measure_interleaved(cases, size.call)
    finally:
        ray.kill(actor)
    per_sample = {"os_pipe": pipe_n, "put_get": n, "task": n, "actor": n,
                  "task_batch": batch, "actor_batch": batch}
    for how, how_samples in samples.items():
        count = per_sample[how]
        result.add("call", {"how": how, "calls": count},
                   [sample / count for sample in how_samples])


def _size_sweep(result: Result, size: Sizes, sinks: dict[int, Any],
                say: Callable[[str], None]) -> None:
    counts: dict[str, dict[str, dict[str, list[float]]]] = {}
    with split_copier() as split_copy:
        for n_bytes in size.array_sizes:
            n = sweep_calls(n_bytes, size)
            say(f"size sweep: {format_size(n_bytes)}, {n} per sample")
            samples, counts[str(n_bytes)] = _sweep_one_size(
                n_bytes, n, sinks[n_bytes], split_copy, size.sweep)
            for how, how_samples in samples.items():
                result.add("size_sweep", {"bytes": n_bytes, "how": how, "calls": n},
                           [sample / n for sample in how_samples])
    result.values["copy_counts"] = counts


def _sweep_one_size(n_bytes: int, n: int, send: Callable[[memoryview], None],
                    split_copy: Callable[[np.ndarray, np.ndarray], None], protocol: Protocol
                    ) -> tuple[dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    """Every size-sweep case at one size, in turns, then a few untimed runs of the copies
    and the put that count page faults and CPU time; the array and its ref die on return."""
    import ray

    from parbook.chapters.ray_basics import workload as work

    array = np.ones(n_bytes, dtype=np.uint8)
    destination = np.ones_like(array)  # written now, so a copy into it takes no page faults
    message = memoryview(array)
    ref = ray.put(array)
    operations = {
        "memcpy": lambda: memcpy_floor(destination, array),
        "memcpy_fresh": lambda: copy_into_fresh_memory(array),
        "memcpy_threads": lambda: split_copy(destination, array),
        "os_pipe": lambda: send(message),
        "put": lambda: work.put_only(array),
        "get": lambda: work.get_only(ref),
        "task_ref": lambda: work.task_on_ref(ref),
        "task_value": lambda: work.task_on_value(array),
    }
    cases = {how: (lambda _, operation=operation: [operation() for _ in range(n)])
             for how, operation in operations.items()}
    samples = measure_interleaved(cases, protocol)
    pages = -(-n_bytes // mmap.PAGESIZE)
    counts: dict[str, dict[str, list[float]]] = {}
    for how in COUNTED:
        runs = [fault_and_cpu_counts(operations[how], n, pages)
                for _ in range(COUNTED_RUNS_OF.get(how, COUNTED_RUNS))]
        counts[how] = {"faults_per_page": [faults for faults, _ in runs],
                       "cpu_per_wall": [cpu for _, cpu in runs]}
    return samples, counts


def _anti_patterns(result: Result, size: Sizes, workers: int, rate: float,
                   say: Callable[[str], None]) -> None:
    from parbook.chapters.ray_basics import workload as work

    # Each case runs once, untimed, to check that it returns the same results as its
    # fix; that run is also its warm-up, so the timed protocol has none of its own.
    checks: dict[str, bool] = {}

    iterations = iterations_for(size.loop_task_s, rate)
    tasks = size.loop_tasks_per_worker * workers
    say(f"anti-pattern: ray.get in a loop, {tasks} tasks")
    expected = [work.burn(iterations)] * tasks
    cases = {
        "get_in_loop": lambda _: work.get_in_loop(iterations, tasks),
        "submit_then_get": lambda _: work.submit_then_get(iterations, tasks),
    }
    checks["get_in_loop"] = all(case(None) == expected for case in cases.values())
    _add_anti(result, "get_in_loop", {"tasks": tasks, "task_s": size.loop_task_s},
              measure_interleaved(cases, size.anti))

    items = [iterations_for(size.fine_item_s, rate)] * size.fine_items
    batches = size.batches_per_worker * workers
    say(f"anti-pattern: {len(items)} tiny tasks against {batches} batches")
    cases = {
        "serial": lambda _: work.serial(items),
        "one_task_per_item": lambda _: work.one_task_per_item(items),
        "batched": lambda _: work.batched(items, batches),
    }
    outputs = [case(None) for case in cases.values()]
    checks["fine_grained"] = all(output == outputs[0] for output in outputs)
    _add_anti(result, "fine_grained",
              {"items": len(items), "item_s": size.fine_item_s, "batches": batches},
              measure_interleaved(cases, size.anti))

    array = np.ones(size.large_argument_bytes, dtype=np.uint8)
    tasks = size.large_argument_tasks
    say(f"anti-pattern: a {format_size(array.nbytes)} argument to {tasks} tasks")
    cases = {
        "by_value": lambda _: work.by_value(array, tasks),
        "by_reference": lambda _: work.by_reference(array, tasks),
    }
    checks["large_argument"] = all(case(None) == [1.0] * tasks for case in cases.values())
    _add_anti(result, "large_argument", {"tasks": tasks, "bytes": array.nbytes},
              measure_interleaved(cases, size.anti))
    result.values["anti_pattern_results_agree"] = checks


def _add_anti(result: Result, pattern: str, params: dict[str, Any],
              samples: dict[str, list[float]]) -> None:
    for how, how_samples in samples.items():
        result.add("anti_pattern", {"pattern": pattern, "how": how, **params}, how_samples)
