"""Echo servers for measuring one round trip between two processes.

A round trip is: send a tiny message to another process, wait until it sends the
same message back. Its cost bounds how short a task can usefully be. The floor is a
raw ``os.pipe`` carrying one byte each way between two OS processes, with no
pickling and no Python-level machinery; everything else is measured against it.

Where the OS allows it, both ends are pinned: to one CPU, and to two different CPUs.
Left to the scheduler, a pair sometimes shares a CPU and sometimes not, and waking a
process on another CPU can cost more than all the Python-level work of a round trip,
so unpinned figures jump between runs.

Run as ``python -m parbook.shared.roundtrip READ_FD WRITE_FD`` this module is the
far end of that floor: a child started with :mod:`subprocess` (not multiprocessing,
so the floor is the same under every start method).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from parbook.shared.child import child_env


def placements() -> dict[str, tuple[int | None, int | None]]:
    """Where to put the two ends of a round trip: ``{name: (parent_cpu, child_cpu)}``.

    ``same_cpu`` shows the software cost alone; ``different_cpus`` adds waking a process
    on another CPU, which is what parallel workers pay. Where pinning is unavailable
    (no ``sched_setaffinity``, e.g. macOS), there is one placement, ``unpinned``.
    """
    if not hasattr(os, "sched_setaffinity"):
        return {"unpinned": (None, None)}
    cpus = sorted(os.sched_getaffinity(0))
    chosen = {"same_cpu": (cpus[0], cpus[0])}
    if len(cpus) >= 2:
        chosen["different_cpus"] = (cpus[0], cpus[1])
    return chosen


def pin_to(cpu: int | None) -> None:
    """Pin the calling process to ``cpu`` (no-op for None)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def pinned(cpu: int | None) -> Iterator[None]:
    """Pin this process to ``cpu`` for the duration of the block, then restore its affinity."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    pin_to(cpu)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# [start:os-pipe-echo]
def os_pipe_echo_loop(read_fd: int, write_fd: int) -> None:
    """Echo every byte read from ``read_fd`` back on ``write_fd`` until end of file."""
    while True:
        byte = os.read(read_fd, 1)
        if not byte:
            return
        os.write(write_fd, byte)
# [end:os-pipe-echo]


@contextlib.contextmanager
def raw_pipe_child(
    argv: Callable[[int, int], list[str]], timeout_s: float = 10.0
) -> Iterator[tuple[int, int]]:
    """Start a child over two raw ``os.pipe``s; yield ``(write_fd, read_fd)`` for the parent.

    ``argv(read_fd, write_fd)`` is the child's command line, naming the ends the child
    reads from and writes to. The child is a plain subprocess (not multiprocessing), so a
    floor measured through it is the same under every start method. Closing the parent's
    write end on exit is the child's end of file; a child that does not then exit within
    ``timeout_s`` is killed.
    """
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    child = subprocess.Popen(argv(to_child_r, from_child_w),
                             pass_fds=(to_child_r, from_child_w), env=child_env())
    os.close(to_child_r)
    os.close(from_child_w)
    try:
        yield to_child_w, from_child_r
    finally:
        os.close(to_child_w)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        os.close(from_child_r)


def os_pipe_echo(cpu: int | None = None, timeout_s: float = 10.0) -> Any:
    """Start a child echoing single bytes over raw pipes (:func:`raw_pipe_child`)."""
    return raw_pipe_child(
        lambda read_fd, write_fd: [sys.executable, "-m", "parbook.shared.roundtrip",
                                   str(read_fd), str(write_fd), "" if cpu is None else str(cpu)],
        timeout_s)


# [start:mp-echo]
def pipe_echo_loop(conn: Any, cpu: int | None = None) -> None:
    """Child side of a ``multiprocessing.Pipe``: send back each message until ``None``."""
    pin_to(cpu)
    while (message := conn.recv()) is not None:
        conn.send(message)


def queue_echo_loop(inbox: Any, outbox: Any, cpu: int | None = None) -> None:
    """Child side of two ``multiprocessing.Queue``s: echo each message until ``None``."""
    pin_to(cpu)
    while (message := inbox.get()) is not None:
        outbox.put(message)
# [end:mp-echo]


@contextlib.contextmanager
def pipe_worker(
    context: Any, target: Callable[..., None], args: tuple[Any, ...],
    stop: Callable[[Any], None], timeout_s: float = 10.0,
) -> Iterator[Any]:
    """Start ``target(child_end, *args)`` in a process; yield the parent's end of the Pipe.

    On exit, ``stop(parent_end)`` tells the child to return; a child that has not ended
    ``timeout_s`` later is killed.
    """
    parent_end, child_end = context.Pipe()
    child = context.Process(target=target, args=(child_end, *args), daemon=True)
    child.start()
    child_end.close()
    try:
        yield parent_end
    finally:
        with contextlib.suppress(OSError):
            stop(parent_end)
        _join_or_kill(child, timeout_s)
        parent_end.close()


def mp_pipe_echo(context: Any, cpu: int | None = None, timeout_s: float = 10.0) -> Any:
    """Start a child echoing over a ``Pipe``; yield the parent's end of it."""
    return pipe_worker(context, pipe_echo_loop, (cpu,), lambda end: end.send(None), timeout_s)


@contextlib.contextmanager
def mp_queue_echo(
    context: Any, cpu: int | None = None, timeout_s: float = 10.0
) -> Iterator[tuple[Any, Any]]:
    """Start a child echoing over two ``Queue``s; yield ``(inbox, outbox)`` seen from the parent."""
    to_child, from_child = context.Queue(), context.Queue()
    child = context.Process(
        target=queue_echo_loop, args=(to_child, from_child, cpu), daemon=True
    )
    child.start()
    try:
        yield to_child, from_child
    finally:
        to_child.put(None)
        _join_or_kill(child, timeout_s)
        for queue in (to_child, from_child):
            queue.close()
            queue.join_thread()


def time_calls(call: Any, n: int) -> float:
    """Seconds per call of ``call()``, averaged over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def echo(message: Any) -> Any:
    """Return the message: a task whose whole cost is getting there and back."""
    return message


class Echo:
    """An actor-style object whose ``ping`` returns its argument."""

    def ping(self, message: Any) -> Any:
        return message


def _join_or_kill(process: Any, timeout_s: float) -> None:
    """Join ``process`` within ``timeout_s``; kill it if it is still running, and fail if
    even SIGKILL did not end it within the same bound."""
    process.join(timeout_s)
    if process.is_alive():
        process.kill()
        process.join(timeout_s)
        if process.is_alive():
            raise TimeoutError(f"{process} survived SIGKILL for {timeout_s} s")


if __name__ == "__main__":
    pin_to(int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None)
    os_pipe_echo_loop(int(sys.argv[1]), int(sys.argv[2]))


def read_exactly(fd: int, buffer: memoryview) -> bool:
    """Fill ``buffer`` from ``fd``; False at end of file before the first byte."""
    got = 0
    while got < len(buffer):
        count = os.readv(fd, [buffer[got:]])
        if count == 0:
            if got == 0:
                return False
            raise EOFError(f"end of file after {got} of {len(buffer)} bytes")
        got += count
    return True


def write_all(fd: int, data: memoryview) -> None:
    """Write every byte of ``data`` to ``fd``."""
    sent = 0
    while sent < len(data):
        sent += os.write(fd, data[sent:])
