"""Workloads of the IO-bound chapter: a server that answers late, three kinds of client,
and an event loop that CPU work blocks.

The server (:func:`serve`) is an ``asyncio`` TCP server on 127.0.0.1. It reads request
lines and echoes each one back after a fixed delay, as a database or a remote API that
takes its time would; it runs in a child process of its own (:func:`delay_server`), so
that the clients measured share neither its GIL nor its event loop.

A client holds ``clients`` connections open at once (the concurrency) and sends
``rounds`` requests over each, one after another, checking that each answer echoes the
request's id. Three ways of holding them:

- :func:`on_threads`: one thread of a ``ThreadPoolExecutor`` per connection, each
  blocked in ``recv`` (which releases the GIL) while it waits;
- :func:`on_coroutines`: one coroutine per connection on one ``asyncio`` event loop;
- :func:`on_processes`: a ``ProcessPoolExecutor`` with one worker per usable CPU, each
  running its own event loop with its share of the connections. One blocking request per
  process would need a process per waiting request, a whole interpreter each; a few
  processes that each multiplex many connections are how servers and crawlers use
  processes for IO.

The second half is the event loop's own hazard: CPU work inside a coroutine stops every
other coroutine of its loop (:func:`heartbeat_during`), and the two ways out,
``asyncio.to_thread`` and a process pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing.connection
import multiprocessing.context
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"
#: Bound on every connection, every wait for an answer and every wait for a process.
TIMEOUT_S = 60.0
#: The line a client sends when it is done with its connection.
DONE = b"\n"

Context = multiprocessing.context.BaseContext


# ---------------------------------------------------------------------------------------
# The server.

# [start:server]
class DelayedEcho(asyncio.Protocol):
    """One connection to the server: every request line is echoed back ``delay_s`` after
    it arrived. An empty line says the client is done, and the server closes first, so
    that the closed connection's TIME_WAIT lands on the server's side and thousands of
    connections cannot use up the client's ephemeral ports."""

    def __init__(self, delay_s: float, stats: ServerStats) -> None:
        self.delay_s, self.stats, self.pending = delay_s, stats, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats.opened(self)

    def data_received(self, data: bytes) -> None:
        self.pending += data
        while b"\n" in self.pending:
            line, _, self.pending = self.pending.partition(b"\n")
            if not line:
                self.transport.close()
                return
            self.stats.requests += 1
            asyncio.get_running_loop().call_later(self.delay_s, self.answer, line)

    def answer(self, line: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(line + b"\n")
            self.stats.answered += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.stats.closed(self)
# [end:server]


@dataclass
class ServerStats:
    """What the server did: connections and requests seen, answers sent, and the most
    connections it held open at once."""

    connections: int = 0
    requests: int = 0
    answered: int = 0
    most_open: int = 0
    live: set[DelayedEcho] = field(default_factory=set)

    def opened(self, connection: DelayedEcho) -> None:
        self.connections += 1
        self.live.add(connection)
        self.most_open = max(self.most_open, len(self.live))

    def closed(self, connection: DelayedEcho) -> None:
        self.live.discard(connection)

    def as_dict(self) -> dict[str, int]:
        return {"connections": self.connections, "requests": self.requests,
                "answered": self.answered, "most_open": self.most_open}


def serve(delay_s: float, backlog: int, control: multiprocessing.connection.Connection
          ) -> None:
    """Run the server on 127.0.0.1 and a free port until ``control`` says stop (or its
    other end goes away); the port goes out through ``control`` first, the server's
    statistics last. Runs in a child process."""
    asyncio.run(_serve(delay_s, backlog, control))


async def _serve(delay_s: float, backlog: int,
                 control: multiprocessing.connection.Connection) -> None:
    loop = asyncio.get_running_loop()
    stats = ServerStats()
    server = await loop.create_server(lambda: DelayedEcho(delay_s, stats), HOST, 0,
                                      backlog=backlog)
    stop = loop.create_future()
    # The control pipe becomes readable when the parent asks to stop, and also when the
    # parent has died (end of file): either way the server goes.
    loop.add_reader(control.fileno(), lambda: stop.done() or stop.set_result(None))
    try:
        control.send(server.sockets[0].getsockname()[1])
        await stop
    finally:
        loop.remove_reader(control.fileno())
        server.close()
        for connection in list(stats.live):  # still open only if a client went wrong
            connection.transport.abort()
        await server.wait_closed()
        with contextlib.suppress(OSError):
            control.send(stats.as_dict())
        control.close()


@dataclass
class RunningServer:
    """The server as its starter sees it: its address and process, and once it has
    stopped, its statistics."""

    address: tuple[str, int]
    pid: int
    stats: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def delay_server(delay_s: float, context: Context, backlog: int = 4096
                 ) -> Iterator[RunningServer]:
    """Start the server in a child process made by ``context``; stop it when the block
    ends, and kill it if it will not stop."""
    here, there = context.Pipe()
    process = context.Process(target=serve, args=(delay_s, backlog, there),
                              name="parbook-delay-server", daemon=True)
    process.start()
    there.close()
    running = None
    try:
        if not here.poll(TIMEOUT_S):
            raise TimeoutError(f"the server did not start within {TIMEOUT_S:g} s")
        running = RunningServer(address=(HOST, here.recv()), pid=process.pid)
        yield running
    finally:
        with contextlib.suppress(OSError):
            here.send("stop")
        with contextlib.suppress(EOFError, OSError):
            if here.poll(TIMEOUT_S) and running is not None:
                running.stats = here.recv()
        process.join(TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join(TIMEOUT_S)
        here.close()


# ---------------------------------------------------------------------------------------
# Three kinds of client. Request ids are unique within a batch: client i sends
# i * rounds, ..., i * rounds + rounds - 1.

# [start:thread-client]
def blocking_client(address: tuple[str, int], first_id: int, rounds: int) -> int:
    """One connection and ``rounds`` requests, one after another; each waits in ``recv``,
    which releases the GIL. Returns how many answers echoed their request's id."""
    correct = 0
    with socket.create_connection(address, timeout=TIMEOUT_S) as conn, \
            conn.makefile("rb") as answers:
        for request_id in range(first_id, first_id + rounds):
            conn.sendall(b"%d\n" % request_id)
            correct += answers.readline() == b"%d\n" % request_id
        conn.sendall(DONE)
        answers.read()  # until the server has closed its end
    return correct


def on_threads(pool: ThreadPoolExecutor, address: tuple[str, int], clients: int,
               rounds: int) -> int:
    """``clients`` connections at once, one thread of ``pool`` each."""
    futures = [pool.submit(blocking_client, address, i * rounds, rounds)
               for i in range(clients)]
    return sum(future.result(timeout=TIMEOUT_S) for future in futures)
# [end:thread-client]


# [start:asyncio-client]
async def async_client(address: tuple[str, int], first_id: int, rounds: int) -> int:
    """The same client as a coroutine: while it awaits an answer, the event loop runs
    the other coroutines."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        correct = 0
        for request_id in range(first_id, first_id + rounds):
            writer.write(b"%d\n" % request_id)
            correct += await reader.readline() == b"%d\n" % request_id
        writer.write(DONE)
        await reader.read()  # until the server has closed its end
    finally:
        writer.close()
        await writer.wait_closed()
    return correct


async def on_coroutines(address: tuple[str, int], clients: int, rounds: int,
                        first_client: int = 0) -> int:
    """``clients`` connections at once, one coroutine each, on the running loop."""
    async with asyncio.timeout(TIMEOUT_S):
        counts = await asyncio.gather(*(
            async_client(address, (first_client + i) * rounds, rounds)
            for i in range(clients)))
    return sum(counts)
# [end:asyncio-client]


# [start:process-client]
_WORKER_LOOP: asyncio.AbstractEventLoop | None = None
_WORKER_GATE: Any = None


def start_worker_loop(gate: Any) -> None:
    """A process pool's initializer: give the worker an event loop of its own, kept for
    its life, and the barrier all the pool's workers meet at."""
    global _WORKER_LOOP, _WORKER_GATE
    _WORKER_LOOP, _WORKER_GATE = asyncio.new_event_loop(), gate


def meet_at_gate(_unused: Any = None) -> int:
    """Wait until every worker of the pool has reached this point; returns this pid. A
    worker waiting here takes no other task, so one such task each reaches every worker."""
    _WORKER_GATE.wait(TIMEOUT_S)
    return os.getpid()


def coroutines_in_worker(address: tuple[str, int], first_client: int, clients: int,
                         rounds: int) -> tuple[int, int]:
    """Run this worker's share of the connections on its loop, once every worker has its
    share; returns its pid and how many answers were right."""
    pid = meet_at_gate()
    correct = _WORKER_LOOP.run_until_complete(
        on_coroutines(address, clients, rounds, first_client))
    return pid, correct


def on_processes(pool: ProcessPoolExecutor, workers: int, address: tuple[str, int],
                 clients: int, rounds: int) -> tuple[int, int]:
    """``clients`` connections at once, one share for each of the ``workers`` processes;
    returns how many processes took a share and how many answers were right."""
    futures = [pool.submit(coroutines_in_worker, address, first, count, rounds)
               for first, count in shares(clients, workers)]
    done = [future.result(timeout=TIMEOUT_S) for future in futures]
    return len({pid for pid, _correct in done}), sum(correct for _pid, correct in done)
# [end:process-client]


def shares(clients: int, workers: int) -> list[tuple[int, int]]:
    """``clients`` split as evenly as possible among ``workers``: (first client, count)
    for each worker, in order (a count may be 0 when there are more workers)."""
    base, extra = divmod(clients, workers)
    split, first = [], 0
    for index in range(workers):
        count = base + (index < extra)
        split.append((first, count))
        first += count
    return split


# ---------------------------------------------------------------------------------------
# Getting each kind of client ready for ``clients`` connections: what the start-up costs.

def start_threads(clients: int) -> ThreadPoolExecutor:
    """A thread pool with all ``clients`` threads started: a pool starts a thread per
    submitted task until it has ``max_workers``, here each held at a barrier until all
    have started."""
    pool = ThreadPoolExecutor(max_workers=clients)
    started = threading.Barrier(clients + 1)
    try:
        for _ in range(clients):
            pool.submit(started.wait, TIMEOUT_S)
        started.wait(TIMEOUT_S)
    except BaseException:
        started.abort()
        pool.shutdown(wait=True)
        raise
    return pool


async def _tasks_started(count: int) -> None:
    """Start ``count`` tasks that wait at a gate, and return once all of them wait there."""
    gate, waiting = asyncio.Event(), 0
    all_waiting = asyncio.Event()

    async def wait_at_gate() -> None:
        nonlocal waiting
        waiting += 1
        if waiting == count:
            all_waiting.set()
        await gate.wait()

    tasks = [asyncio.create_task(wait_at_gate()) for _ in range(count)]
    await asyncio.wait_for(all_waiting.wait(), TIMEOUT_S)
    gate.set()
    await asyncio.gather(*tasks)


def start_loop(clients: int) -> asyncio.AbstractEventLoop:
    """A new event loop on which ``clients`` tasks have been started (and ended)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_tasks_started(clients))
    except BaseException:
        loop.close()
        raise
    return loop


def start_processes(workers: int, context: Context) -> ProcessPoolExecutor:
    """A process pool whose ``workers`` processes have all started and made their loops:
    one task each that waits at the workers' barrier (a pool starts its processes as
    tasks arrive, under some start methods one at a time)."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=start_worker_loop,
                               initargs=(context.Barrier(workers),))
    try:
        pids = list(pool.map(meet_at_gate, range(workers), timeout=TIMEOUT_S))
        if len(set(pids)) != workers:
            raise RuntimeError(f"{len(set(pids))} of the pool's {workers} workers started")
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    return pool


# ---------------------------------------------------------------------------------------
# CPU work inside a coroutine: a heartbeat that should tick every ``period_s``.

# [start:heartbeat]
async def heartbeat(period_s: float, beats: list[tuple[float, float]],
                    stop: asyncio.Event) -> None:
    """Tick every ``period_s`` until ``stop`` is set, recording (when each tick was due,
    how late it came). A tick comes late only when the loop was busy elsewhere."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + period_s
        await asyncio.sleep(period_s)
        beats.append((due, loop.time() - due))
# [end:heartbeat]


# [start:cpu-in-coroutine]
async def jobs_inline(job: Callable[[Any], Any], arguments: Sequence[Any],
                      pool: Executor | None = None) -> list[Any]:
    """The anti-pattern: call the work straight from the coroutine. Nothing else on the
    loop runs until it returns."""
    return [job(argument) for argument in arguments]


async def jobs_on_threads(job: Callable[[Any], Any], arguments: Sequence[Any],
                          pool: Executor | None = None) -> list[Any]:
    """Hand each job to a thread of the loop's default executor and await them all."""
    return list(await asyncio.gather(*(asyncio.to_thread(job, argument)
                                       for argument in arguments)))


async def jobs_on_processes(job: Callable[[Any], Any], arguments: Sequence[Any],
                            pool: Executor | None = None) -> list[Any]:
    """Hand each job to a process of ``pool`` and await them all."""
    loop = asyncio.get_running_loop()
    return list(await asyncio.gather(*(loop.run_in_executor(pool, job, argument)
                                       for argument in arguments)))
# [end:cpu-in-coroutine]


FIXES: dict[str, Callable[..., Awaitable[list[Any]]]] = {
    "inline": jobs_inline,
    "thread": jobs_on_threads,
    "process": jobs_on_processes,
}


@dataclass(frozen=True)
class Heartbeats:
    """One run of jobs beside a heartbeat: how late each tick due during the jobs came,
    how long the jobs took, and what they returned."""

    lateness: list[float]
    elapsed_s: float
    results: list[Any]


def heartbeat_during(fix: str, job: Callable[[Any], Any], arguments: Sequence[Any],
                     period_s: float, pool: Executor | None = None) -> Heartbeats:
    """Run the jobs the ``fix`` way on a fresh event loop while a heartbeat ticks."""
    async def main() -> Heartbeats:
        loop = asyncio.get_running_loop()
        beats: list[tuple[float, float]] = []
        stop = asyncio.Event()
        ticking = asyncio.create_task(heartbeat(period_s, beats, stop))
        await asyncio.sleep(3 * period_s)  # the heartbeat is ticking before the jobs come
        began = loop.time()
        results = await FIXES[fix](job, arguments, pool)
        ended = loop.time()
        await asyncio.sleep(2 * period_s)  # a tick due during the jobs may come after them
        stop.set()
        await asyncio.wait_for(ticking, TIMEOUT_S)
        # A tick counts if it was due before the jobs ended and came after they began:
        # the one pending when the jobs started, however late, and every one after it.
        during = [late for due, late in beats if due <= ended and due + late >= began]
        return Heartbeats(lateness=during, elapsed_s=ended - began, results=results)

    return asyncio.run(main())


# The jobs: pure-Python computing is parbook.shared.cpu.burn; these two wait or compute
# without the GIL.

def blocking_requests(address: tuple[str, int], rounds: int) -> int:
    """A blocking call as a synchronous client library makes one: ``rounds`` requests to
    the server over one connection. Returns how many answers were right."""
    return blocking_client(address, 0, rounds)


#: The buffer the hashing job hashes over and over (large enough that hashlib releases
#: the GIL for each update: it does from 2 KiB on).
HASH_CHUNK = bytes(range(256)) * 4096


def hash_rounds(rounds: int) -> str:
    """C code that releases the GIL: SHA-256 over ``rounds`` copies of a 1 MiB buffer."""
    digest = hashlib.sha256()
    for _ in range(rounds):
        digest.update(HASH_CHUNK)
    return digest.hexdigest()


def calibrate_hash(probe_rounds: int = 8, repeats: int = 3) -> float:
    """Seconds one :func:`hash_rounds` round takes here (best of ``repeats``)."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        hash_rounds(probe_rounds)
        best = min(best, time.perf_counter() - began)
    return best / probe_rounds
