"""Workloads of the processes-and-threads chapter: tasks that wait, and tasks that compute.

An IO-bound task here is a real network request: it connects to a small TCP server on
127.0.0.1, asks for one item and waits while the server takes a fixed time to answer.
The waiting happens in the kernel (a blocked ``recv``), exactly as it does for a web
request or a database query, not in a ``time.sleep`` in the client. A CPU-bound task is
:func:`parbook.shared.cpu.burn`: pure-Python arithmetic that never waits.

The server runs in its own process, started through an explicit ``multiprocessing``
context, so that the process measuring the clients shares neither its CPU time nor its
GIL with the server's threads. Everything here is importable, so it works under every
start method.
"""

from __future__ import annotations

import contextlib
import multiprocessing.context
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

HOST = "127.0.0.1"
#: Bound on every socket operation and every wait for the server, in seconds.
TIMEOUT_S = 30.0


class _DelayHandler(socketserver.StreamRequestHandler):
    """Answers one request line after the server's fixed delay, echoing the line back."""

    def handle(self) -> None:
        self.connection.settimeout(TIMEOUT_S)
        line = self.rfile.readline(1024)
        time.sleep(self.server.delay_s)  # the server is busy elsewhere (a disk, a database)
        self.wfile.write(b"done " + line)


class _DelayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, delay_s: float) -> None:
        super().__init__((HOST, 0), _DelayHandler)
        self.delay_s = delay_s


def serve(delay_s: float, port_out: Any, stop: Any) -> None:
    """Serve on 127.0.0.1 until ``stop`` is set; send the chosen port through ``port_out``.

    Runs in a child process. ``port_out`` is the sending end of a ``Pipe`` and ``stop``
    an ``Event`` from the same context.
    """
    with _DelayServer(delay_s) as server:
        port_out.send(server.server_address[1])
        port_out.close()
        watcher = threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True)
        watcher.start()
        server.serve_forever(poll_interval=0.05)


@contextlib.contextmanager
def delay_server(delay_s: float, context: multiprocessing.context.BaseContext
                 ) -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 answering each request after ``delay_s``; yields its address.

    The server runs in a child process and is stopped (and, if it will not stop, killed)
    when the block ends.
    """
    receive, send = context.Pipe(duplex=False)
    stop = context.Event()
    server = context.Process(target=serve, args=(delay_s, send, stop), daemon=True)
    server.start()
    send.close()
    try:
        if not receive.poll(TIMEOUT_S):
            raise TimeoutError(f"the delay server did not start within {TIMEOUT_S} s")
        port = receive.recv()
        yield HOST, port
    finally:
        stop.set()
        server.join(TIMEOUT_S)
        if server.is_alive():
            server.kill()
            server.join(TIMEOUT_S)
        receive.close()


# [start:io-task]
def fetch(address: tuple[str, int], item: int) -> int:
    """One IO-bound task: ask the server for ``item`` and wait for its answer."""
    with socket.create_connection(address, timeout=TIMEOUT_S) as conn:
        conn.sendall(f"{item}\n".encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(64)  # blocks, without the GIL, until the server answers
            if not chunk:
                raise ConnectionError("the server closed the connection early")
            reply += chunk
    return int(reply.split()[1])
# [end:io-task]


# [start:three-ways]
def run_serially(task: Callable[[Any], Any], inputs: Sequence[Any]) -> list[Any]:
    """Run every task one after another in this thread."""
    return [task(x) for x in inputs]


def run_on_threads(task: Callable[[Any], Any], inputs: Sequence[Any], workers: int) -> list[Any]:
    """Run the tasks on a new pool of ``workers`` threads in this process."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, inputs, timeout=TIMEOUT_S * len(inputs)))


def run_on_processes(task: Callable[[Any], Any], inputs: Sequence[Any], workers: int,
                     context: multiprocessing.context.BaseContext) -> list[Any]:
    """Run the tasks on a new pool of ``workers`` processes made by ``context``."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(task, inputs, timeout=TIMEOUT_S * len(inputs)))
# [end:three-ways]
