"""The floors the Ray basics chapter measures Ray against: a raw ``os.pipe`` hand-off,
and copies of an array in this process.

Handing an array to another process and hearing back that it arrived costs, at the
least, pushing its bytes through the kernel: this floor sends ``size`` bytes down a raw
``os.pipe`` to a child, which reads them into one buffer and answers with one byte. No
pickling, no Python objects per message.

Putting an array in Ray's object store costs, at the least, one copy of its bytes. How
much a copy costs depends on where it writes and on how many threads do it, so there are
three copy floors: into memory this process has already written
(:func:`parbook.shared.shm.memcpy_floor`), into memory mapped just before, whose every page
faults on its first write (:func:`copy_into_fresh_memory`), and into written memory in six
parts at once, as ``ray.put`` splits a large buffer (:func:`split_copier`).

The child is a plain subprocess (:func:`parbook.shared.roundtrip.raw_pipe_child`), so
the floor is the same under every start method, and the experiment starts it before Ray,
so no process is forked while Ray's threads run. This module does not import Ray: the
child starts in a fraction of a second.

``python -m parbook.chapters.ray_basics.floors READ_FD WRITE_FD SIZE`` is the child.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from parbook.shared.roundtrip import raw_pipe_child, read_exactly, write_all

WAIT_S = 30.0
#: Ray copies a buffer larger than this on several threads (``kMemcopyDefaultThreshold``)
#: ...
RAY_MEMCOPY_THRESHOLD_BYTES = 1 << 20
#: ... on this many (``MEMCOPY_THREADS`` in Ray's ``python/ray/includes/serialization.pxi``;
#: the installed ``_raylet.so`` passes 6 to ``ray::parallel_memcopy`` too).
RAY_MEMCOPY_THREADS = 6


# [start:copy-floors]
def copy_into_fresh_memory(array: np.ndarray) -> None:
    """Copy the array into memory mapped just now: each page faults on its first write,
    and the kernel finds and zeroes a page for it."""
    with mmap.mmap(-1, max(1, array.nbytes)) as fresh:
        destination = np.frombuffer(fresh, dtype=array.dtype, count=array.size)
        np.copyto(destination, array)
        del destination  # the view pins the mapping: let go of it before the mapping closes


@contextlib.contextmanager
def split_copier(threads: int = RAY_MEMCOPY_THREADS,
                 threshold: int = RAY_MEMCOPY_THRESHOLD_BYTES
                 ) -> Iterator[Callable[[np.ndarray, np.ndarray], None]]:
    """Yield ``copy(destination, array)``, which copies as ``ray.put`` does: a buffer
    larger than ``threshold`` in ``threads`` parts at once (numpy lets go of the GIL while
    it copies), a smaller one in one piece. The threads are started once, here."""
    with ThreadPoolExecutor(max_workers=threads) as pool:

        def copy(destination: np.ndarray, array: np.ndarray) -> None:
            if array.nbytes <= threshold:
                np.copyto(destination, array)
                return
            step = -(-array.size // threads)
            parts = [pool.submit(np.copyto, destination[start:start + step],
                                 array[start:start + step])
                     for start in range(0, array.size, step)]
            for part in parts:
                part.result(timeout=WAIT_S)

        yield copy
# [end:copy-floors]


def page_faults() -> int:
    """Page faults this process has taken so far (minor and major)."""
    import resource  # Unix only

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def fault_and_cpu_counts(operation: Callable[[], Any], calls: int,
                         pages: int) -> tuple[float, float]:
    """Run ``operation`` ``calls`` times; return the page faults per page it wrote and the
    CPU seconds this process used per second of wall time (above 1: several threads ran)."""
    import time

    faults, cpu, wall = page_faults(), time.process_time(), time.perf_counter()
    for _ in range(calls):
        operation()
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    return (page_faults() - faults) / (calls * pages), cpu / wall


# [start:pipe-sink]
def pipe_sink_loop(read_fd: int, write_fd: int, size: int) -> None:
    """Read messages of exactly ``size`` bytes into one buffer; answer each with 1 byte."""
    buffer = memoryview(bytearray(size))
    while read_exactly(read_fd, buffer):
        os.write(write_fd, buffer[-1:])
# [end:pipe-sink]


@contextlib.contextmanager
def os_pipe_sink(size: int) -> Iterator[Callable[[memoryview], None]]:
    """Start a child that takes ``size``-byte messages; yield ``send(message)``.

    ``send`` writes the whole message and returns the child's one-byte answer (the
    message's last byte) once it has arrived, that is, once the child holds every byte.
    """
    def command(read_fd: int, write_fd: int) -> list[str]:
        return [sys.executable, "-m", "parbook.chapters.ray_basics.floors",
                str(read_fd), str(write_fd), str(size)]

    with raw_pipe_child(command, timeout_s=WAIT_S) as (to_child_w, from_child_r):

        def send(message: memoryview) -> bytes:
            write_all(to_child_w, message)
            answer = os.read(from_child_r, 1)
            if not answer:
                raise EOFError("the pipe child closed its end")
            return answer

        yield send


if __name__ == "__main__":
    pipe_sink_loop(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
