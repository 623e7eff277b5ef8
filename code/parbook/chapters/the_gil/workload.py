"""Workloads of the GIL chapter: Python loops on threads, hashing on threads, switch interval.

Article 001 ran ten threads, each counting to a million in a pure-Python loop, and found
them no faster than the same ten loops run one after another. :func:`count_loop` is that
loop; :func:`hash_chunk` is work that releases the GIL (``hashlib`` drops it while it
hashes buffers larger than a few kilobytes), so threads running it can use several CPUs
at once. :func:`wake_up_latencies` measures how long a thread waits for the GIL after a
short sleep while another thread computes, which is what the switch interval governs.
"""

from __future__ import annotations

import hashlib
import multiprocessing.context
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

#: Bound on every join and wait, in seconds, so a stuck thread fails the run.
TIMEOUT_S = 120.0


# [start:count-loop]
def count_loop(iterations: int) -> int:
    """The article's CPU-bound task: a pure-Python loop that holds the GIL throughout."""
    total = 0
    for i in range(iterations):
        total += i
    return total
# [end:count-loop]


# [start:sequential-vs-threads]
def loops_one_after_another(loops: int, iterations: int) -> list[int]:
    """Run ``loops`` counting loops in this thread, one after another."""
    return [count_loop(iterations) for _ in range(loops)]


def loops_on_threads(loops: int, iterations: int) -> list[int]:
    """Run ``loops`` counting loops at once, one ``threading.Thread`` each."""
    results: list[int] = [0] * loops

    def work(index: int) -> None:
        results[index] = count_loop(iterations)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(loops)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
        if thread.is_alive():
            raise TimeoutError(f"a counting thread did not finish within {TIMEOUT_S} s")
    return results
# [end:sequential-vs-threads]


def loops_on_processes(loops: int, iterations: int, workers: int,
                       context: multiprocessing.context.BaseContext) -> list[int]:
    """Run ``loops`` counting loops on a new pool of ``workers`` processes made by ``context``."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(count_loop, [iterations] * loops, timeout=TIMEOUT_S * loops))


# [start:interpreter-pool]
def loops_on_interpreters(loops: int, iterations: int, workers: int) -> list[int]:
    """Run ``loops`` counting loops on a pool of ``workers`` sub-interpreters (Python
    3.14+): threads of one process, each interpreter with a GIL of its own."""
    from concurrent.futures import InterpreterPoolExecutor

    with InterpreterPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(count_loop, [iterations] * loops, timeout=TIMEOUT_S * loops))
# [end:interpreter-pool]


# [start:hash-chunk]
def hash_chunk(chunk: bytes) -> str:
    """SHA-256 of one buffer; hashlib releases the GIL while it hashes large buffers."""
    return hashlib.sha256(chunk).hexdigest()
# [end:hash-chunk]


def make_chunks(count: int, chunk_bytes: int) -> list[bytes]:
    """``count`` different buffers of ``chunk_bytes`` bytes each (deterministic)."""
    pattern = bytes(range(256)) * (chunk_bytes // 256 + 1)
    return [bytes([i % 256]) + pattern[: chunk_bytes - 1] for i in range(count)]


def map_on_threads(task: Callable[[Any], Any], inputs: Sequence[Any], workers: int) -> list[Any]:
    """Run the tasks on a ``ThreadPoolExecutor`` of ``workers`` threads; keep input order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, inputs, timeout=TIMEOUT_S))


@contextmanager
def switch_interval(seconds: float) -> Iterator[None]:
    """Set ``sys.setswitchinterval`` for the block, and always restore the old value."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


# [start:wake-up]
def wake_up_latencies(sleeps: int, sleep_s: float, busy: bool,
                      burn: Callable[[int], Any], burn_iterations: int) -> list[float]:
    """Seconds each of ``sleeps`` short sleeps really took, with or without a busy thread.

    A sleeping thread gives up the GIL. When it wakes, it must get the GIL back; if a
    CPU-bound thread holds it, the waker asks for it and waits up to one switch interval
    before the holder is made to let go.
    """
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            burn(burn_iterations)

    spinner = threading.Thread(target=spin, daemon=True) if busy else None
    if spinner is not None:
        spinner.start()
        time.sleep(0.01)  # let the spinner take the GIL
    try:
        latencies = []
        for _ in range(sleeps):
            start = time.perf_counter()
            time.sleep(sleep_s)
            latencies.append(time.perf_counter() - start)
        return latencies
    finally:
        stop.set()
        if spinner is not None:
            spinner.join(TIMEOUT_S)
# [end:wake-up]
