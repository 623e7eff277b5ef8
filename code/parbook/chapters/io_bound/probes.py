"""What one waiting request costs in memory, measured in a fresh interpreter.

``python -m parbook.chapters.io_bound.probes memory KIND COUNT METHOD`` starts a server of
its own (made with start method METHOD) that answers only after a long delay, holds
COUNT requests waiting for it, KIND ``threads`` (one thread of a ``ThreadPoolExecutor``
each, blocked in ``recv``) or ``asyncio`` (one coroutine each on one event loop), and
prints one line of JSON: this process's memory before and while it holds them (USS, RSS
and virtual size, from ``psutil``), and in a second pass the bytes of Python objects
allocated for them (``tracemalloc``). ``workers COUNT METHOD`` starts a process pool of
COUNT workers, each with its event loop, and prints each worker's memory.

A fresh interpreter, so that the reading holds this kind of waiting and nothing else;
the experiment runs it with a time limit. The holders do what the clients of
:mod:`.workload` do up to their first wait: connect, send one request, wait for its
answer, which here never comes until the probe lets them go.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import socket
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from parbook.chapters.io_bound import workload as work
from parbook.shared.child import run_demo

MODULE = "parbook.chapters.io_bound.probes"
#: Longer than any probe runs: the holders' answers must not come while they are read.
HOLD_S = 600.0
#: Children multiprocessing starts for itself (not pool workers), by command line.
HELPER_MARKS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
#: How long to let the last holders reach their wait after they have sent.
SETTLE_S = 0.1


def memory_now() -> dict[str, int]:
    """This process's USS, RSS and virtual size, in bytes, and its thread count."""
    import psutil

    me = psutil.Process()
    full = me.memory_full_info()
    return {"uss": full.uss, "rss": full.rss, "vms": full.vms, "threads": me.num_threads()}


class ThreadHolders:
    """``count`` requests waiting on threads: each thread connects, sends, and blocks in
    ``recv`` until :meth:`release` shuts its socket down."""

    def __init__(self, address: tuple[str, int], count: int) -> None:
        self.address, self.count = address, count
        self.sockets: list[socket.socket] = []
        self.guard = threading.Lock()
        self.sent = threading.Semaphore(0)
        self.pool = ThreadPoolExecutor(max_workers=count)

    def hold(self, request_id: int) -> bytes:
        conn = socket.create_connection(self.address, timeout=work.TIMEOUT_S)
        with self.guard:
            self.sockets.append(conn)
        conn.sendall(b"%d\n" % request_id)
        self.sent.release()
        return conn.recv(64)  # waits here, without the GIL

    def start(self) -> None:
        for request_id in range(self.count):
            self.pool.submit(self.hold, request_id)
        for _ in range(self.count):
            if not self.sent.acquire(timeout=work.TIMEOUT_S):
                raise TimeoutError("a holding thread did not send its request")
        time.sleep(SETTLE_S)

    def release(self) -> None:
        with self.guard:
            for conn in self.sockets:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # its recv returns at once
        self.pool.shutdown(wait=True)
        for conn in self.sockets:
            conn.close()


class CoroutineHolders:
    """``count`` requests waiting on coroutines of one event loop, each awaiting its
    answer until :meth:`release` aborts its connection."""

    def __init__(self, address: tuple[str, int], count: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.address, self.count, self.loop = address, count, loop
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task] = []

    async def hold(self, request_id: int, sent: Callable[[], None]) -> bytes:
        reader, writer = await asyncio.open_connection(*self.address)
        self.writers.append(writer)
        writer.write(b"%d\n" % request_id)
        await writer.drain()
        sent()
        return await reader.readline()  # waits here; the loop runs the others

    async def _start(self) -> None:
        all_sent, sent = asyncio.Event(), 0

        def one_sent() -> None:
            nonlocal sent
            sent += 1
            if sent == self.count:
                all_sent.set()

        self.tasks = [asyncio.create_task(self.hold(i, one_sent)) for i in range(self.count)]
        await asyncio.wait_for(all_sent.wait(), work.TIMEOUT_S)
        await asyncio.sleep(SETTLE_S)

    def start(self) -> None:
        self.loop.run_until_complete(self._start())

    async def _release(self) -> None:
        for writer in self.writers:
            writer.transport.abort()  # its readline returns at once
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True),
                               work.TIMEOUT_S)

    def release(self) -> None:
        self.loop.run_until_complete(self._release())


def _holders(kind: str, address: tuple[str, int], count: int,
             loop: asyncio.AbstractEventLoop) -> ThreadHolders | CoroutineHolders:
    if kind == "threads":
        return ThreadHolders(address, count)
    return CoroutineHolders(address, count, loop)


def memory(kind: str, count: int, method: str) -> dict[str, Any]:
    """Memory of this process before and while ``count`` requests of ``kind`` wait."""
    context = multiprocessing.get_context(method)
    loop = asyncio.new_event_loop()
    try:
        with work.delay_server(HOLD_S, context, backlog=count) as server:
            warm = _holders(kind, server.address, 2, loop)  # imports and first-use set-up
            warm.start()
            warm.release()
            gc.collect()
            before = memory_now()
            holders = _holders(kind, server.address, count, loop)
            holders.start()
            try:
                holding = memory_now()
            finally:
                holders.release()
            del holders
            gc.collect()
            # Second pass, for the Python objects alone: tracemalloc sees what Python's
            # allocators hand out (frames, sockets, tasks), not thread stacks.
            tracemalloc.start()
            try:
                traced_before = tracemalloc.get_traced_memory()[0]
                holders = _holders(kind, server.address, count, loop)
                holders.start()
                try:
                    traced_holding = tracemalloc.get_traced_memory()[0]
                finally:
                    holders.release()
            finally:
                tracemalloc.stop()
    finally:
        loop.close()
    return {"kind": kind, "count": count, "before": before, "holding": holding,
            "traced_before": traced_before, "traced_holding": traced_holding,
            "server": server.stats, "thread_stack_size": threading.stack_size()}


def pool_processes() -> list[Any]:
    """This process's descendants that are pool workers: not multiprocessing's helpers,
    the fork server (whose children the workers are, under forkserver) and the resource
    tracker, which are this process's own children."""
    import psutil

    me = psutil.Process()
    helpers = {child.pid for child in me.children()
               if any(mark in " ".join(child.cmdline()) for mark in HELPER_MARKS)}
    return [process for process in me.children(recursive=True) if process.pid not in helpers]


def workers(count: int, method: str) -> dict[str, Any]:
    """Each worker's memory in a process pool of ``count`` workers with their loops."""
    context = multiprocessing.get_context(method)
    pool = work.start_processes(count, context)
    try:
        readings = [process.memory_full_info() for process in pool_processes()]
    finally:
        pool.shutdown(wait=True)
    return {"count": count, "method": method,
            "workers": [{"uss": r.uss, "pss": r.pss, "rss": r.rss} for r in readings],
            "parent": os.getpid()}


DEMOS = {
    "memory": lambda argv: print(json.dumps(memory(argv[0], int(argv[1]), argv[2])),
                                 flush=True),
    "workers": lambda argv: print(json.dumps(workers(int(argv[0]), argv[1])), flush=True),
}


if __name__ == "__main__":
    sys.exit(run_demo(MODULE, DEMOS, sys.argv[1:]))
