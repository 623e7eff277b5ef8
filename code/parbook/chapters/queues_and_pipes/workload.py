"""Workloads of the queues-and-pipes chapter: Queue, Pipe, producers, consumers, sentinels.

Every demonstration takes the start method's name and creates its processes through
``multiprocessing.get_context(method)``, so the same code runs under fork, spawn and
forkserver. Every wait is bounded: a demo that shows something blocking waits a fixed
``patience_s`` for it, reports what it found, and then ends it (terminates the stuck
process, or closes the pipe end that keeps it waiting). Each demo returns plain data
(lines to print and the facts the chapter checks).

``python -m parbook.chapters.queues_and_pipes.workload demos METHOD PATIENCE_S`` runs
every demo under one start method in a fresh interpreter and prints the outcomes as JSON
(the experiment runs it that way, with a time limit);
``python -m parbook.chapters.queues_and_pipes.workload echo-os-pipe ...`` is the far end
of the raw ``os.pipe`` floor used by the size sweep.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from parbook.shared.roundtrip import pin_to, pipe_worker, raw_pipe_child, read_exactly, write_all

#: Upper bound on any wait that should succeed, so a broken demo fails instead of hanging.
WAIT_S = 30.0
#: How long a consumer waits for an item before it gives up (far longer than any demo).
IDLE_LIMIT_S = 30.0
#: How long the put/get timeout demo waits before giving up.
SHORT_TIMEOUT_S = 0.1
#: What a demo calls a message that ends a stream.
SENTINEL = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _error(error: BaseException) -> str:
    """An exception as ``module.Type: message`` (``queue.Full``, not ``Full``)."""
    kind = type(error)
    module = {"builtins": "", "_queue": "queue."}.get(kind.__module__, f"{kind.__module__}.")
    message = str(error)
    return f"{module}{kind.__qualname__}" + (f": {message}" if message else "")


def _join_or_kill(process: Any) -> None:
    """Join a process that should exit; kill it and fail loudly if it does not."""
    process.join(timeout=WAIT_S)
    if process.is_alive():
        process.kill()
        process.join(timeout=WAIT_S)
        raise RuntimeError(f"{process.name} did not exit within {WAIT_S} s")


# [start:queue-basics]
def _close_queue(q: Any) -> None:
    """Close a queue and wait for its feeder thread, so no thread outlives the demo."""
    q.close()        # this process will put nothing more
    q.join_thread()  # wait until the feeder thread has written everything


def _qsize(q: Any) -> str:
    try:
        return str(q.qsize())
    except NotImplementedError:  # macOS has no sem_getvalue()
        return "(not implemented on this platform)"


def queue_basics(method: str, wait_s: float) -> dict[str, Any]:
    """put/get on a bounded Queue, what qsize/empty/full say, and the two timeouts."""
    context = multiprocessing.get_context(method)
    q = context.Queue(maxsize=3)
    lines = []
    for fruit in ("apple", "pear", "plum"):
        q.put(fruit)
    lines.append(f"after 3 puts: qsize()={_qsize(q)}, full()={q.full()}")
    began = time.perf_counter()
    try:
        q.put("fig", timeout=wait_s)  # no room: waits wait_s, then gives up
    except queue.Full as error:
        full_error, full_wait = _error(error), time.perf_counter() - began
        lines.append(f"put('fig', timeout={wait_s}) raised {full_error} after {_ms(full_wait)}")
    got = [q.get(timeout=WAIT_S) for _ in range(3)]  # first in, first out
    lines.append(f"3 gets returned {got}; empty()={q.empty()}")
    began = time.perf_counter()
    try:
        q.get(timeout=wait_s)  # nothing left: waits wait_s, then gives up
    except queue.Empty as error:
        empty_error, empty_wait = _error(error), time.perf_counter() - began
        lines.append(f"get(timeout={wait_s}) raised {empty_error} after {_ms(empty_wait)}")
    _close_queue(q)
    return {"lines": lines, "got": got, "full_error": full_error, "full_wait_s": full_wait,
            "empty_error": empty_error, "empty_wait_s": empty_wait}
# [end:queue-basics]


# [start:queue-hints]
def put_then_look(method: str, trials: int) -> dict[str, Any]:
    """Put one item, then ask empty() and qsize() at once; count what they answered."""
    q = multiprocessing.get_context(method).Queue()
    said_empty = said_one = 0
    for number in range(trials):
        q.put(number)
        said_empty += q.empty()      # is it in the pipe yet?
        said_one += _qsize(q) == "1"  # counted as soon as put() returned
        q.get(timeout=WAIT_S)
    _close_queue(q)
    lines = [f"right after put(): empty() said True {said_empty} times in {trials}, "
             f"qsize() said 1 {said_one} times in {trials}"]
    return {"lines": lines, "trials": trials, "said_empty": said_empty, "said_one": said_one}
# [end:queue-hints]


# [start:producer-consumer]
def _end_process(process: Any, patience_s: float) -> str:
    """Join with a timeout; terminate the process if it is still alive. Say which happened."""
    process.join(timeout=patience_s)  # returns None either way
    if not process.is_alive():
        return f"exited by itself (exit code {process.exitcode})"
    process.terminate()               # last resort: SIGTERM
    process.join(timeout=WAIT_S)
    return (f"still alive after join(timeout={patience_s}); terminated "
            f"(exit code {process.exitcode})")


def produce(work: Any, name: str, count: int) -> None:
    """Put ``count`` items on the work queue, then return (no end-of-work signal)."""
    for number in range(count):
        work.put(f"{name}-{number}")


def consume(work: Any, report: Any, name: str, pause_s: float) -> None:
    """Take items until a sentinel arrives; report each item taken."""
    while True:
        item = work.get(timeout=IDLE_LIMIT_S)  # raises queue.Empty if nothing comes
        if item is SENTINEL:
            return
        time.sleep(pause_s)  # stands for the work done on the item
        report.put(f"{name} took {item}")


def producers_and_consumers(method: str, producers: int, consumers: int, sentinels: int,
                            items_each: int, patience_s: float) -> dict[str, Any]:
    """Run producer and consumer processes; send ``sentinels`` sentinels once all is put."""
    context = multiprocessing.get_context(method)
    work, report = context.Queue(), context.Queue()
    making = [context.Process(target=produce, args=(work, f"p{n}", items_each))
              for n in range(1, producers + 1)]
    taking = [context.Process(target=consume, args=(work, report, f"consumer-{n}", 0.005),
                              name=f"consumer-{n}", daemon=True)
              for n in range(1, consumers + 1)]
    for process in making + taking:
        process.start()
    for process in making:
        _join_or_kill(process)        # the consumers are taking their items meanwhile
    for _ in range(sentinels):
        work.put(SENTINEL)            # one "no more work" per sentinel
    # Drain the reports before joining the consumers that wrote them.
    taken = [report.get(timeout=WAIT_S) for _ in range(producers * items_each)]
    outcomes = {process.name: _end_process(process, patience_s) for process in taking}
    for q in (work, report):
        _close_queue(q)
    return {"lines": taken + [f"{name}: {how}" for name, how in outcomes.items()],
            "finished": sorted(n for n, how in outcomes.items() if how.startswith("exited")),
            "terminated": sorted(n for n, how in outcomes.items() if "terminated" in how),
            "exit_codes": {p.name: p.exitcode for p in taking}, "taken": len(taken)}
# [end:producer-consumer]


# [start:join-order]
def put_one(q: Any, size: int, put_returned: Any) -> None:
    """Put one item of ``size`` bytes, say that put() returned, and end the process."""
    q.put(b"x" * size)
    put_returned.set()


def hand_back(method: str, size: int, drain_first: bool, patience_s: float) -> dict[str, Any]:
    """A child puts one item; the parent either joins it first or drains the queue first."""
    context = multiprocessing.get_context(method)
    q, put_returned = context.Queue(), context.Event()
    child = context.Process(target=put_one, args=(q, size, put_returned), daemon=True)
    child.start()
    put_returned.wait(timeout=WAIT_S)  # the child's put() has returned
    began = time.perf_counter()
    if drain_first:
        item = q.get(timeout=WAIT_S)
        child.join(timeout=WAIT_S)
        lines = [f"get() -> {len(item):,} bytes"]
    else:
        child.join(timeout=patience_s)  # wrong order: may wait for a child that cannot exit
        lines = []
    joined_after = time.perf_counter() - began
    alive_after_join = child.is_alive()
    lines.append(f"join() returned after {_ms(joined_after)}: is_alive() = {alive_after_join}")
    if not drain_first:
        item = q.get(timeout=WAIT_S)    # draining is what lets it exit
        lines.append(f"get() -> {len(item):,} bytes")
    _join_or_kill(child)
    lines.append(f"the child's exit code: {child.exitcode}")
    _close_queue(q)
    return {"lines": lines, "size": size, "drain_first": drain_first,
            "alive_after_join": alive_after_join, "joined_after_s": joined_after,
            "received": len(item), "exit_code": child.exitcode}
# [end:join-order]


# [start:one-way-pipe]
def send_numbers(writer: Any, count: int) -> None:
    """Child: send ``count`` numbers on the sending end, then return (closing it)."""
    for number in range(count):
        writer.send(number)
    writer.close()


def one_way_pipe(method: str, close_parent_copy: bool, patience_s: float) -> dict[str, Any]:
    """Receive from a child until EOFError, with or without closing our copy of its end."""
    context = multiprocessing.get_context(method)
    reader, writer = context.Pipe(duplex=False)  # reader only receives, writer only sends
    lines = []
    for end, misuse in ((reader, lambda: reader.send(0)), (writer, writer.recv)):
        try:
            misuse()
        except OSError as error:
            lines.append(f"{'reader' if end is reader else 'writer'}: {_error(error)}")
    child = context.Process(target=send_numbers, args=(writer, 3))
    child.start()
    began = last = time.perf_counter()
    watchdog = None
    if close_parent_copy:
        writer.close()  # the child has its own copy now
    else:  # forgotten; a watchdog closes it after patience_s so the demo ends
        watchdog = threading.Timer(patience_s, writer.close)
        watchdog.start()
    while True:
        try:
            lines.append(f"recv() -> {reader.recv()!r}")
            last = time.perf_counter()
        except EOFError as error:
            eof_after, after_last = time.perf_counter() - began, time.perf_counter() - last
            lines.append(f"recv() raised {_error(error)} {_ms(after_last)} after the last "
                         f"message, {_ms(eof_after)} after start()")
            break
    if watchdog is not None:
        watchdog.join()
    reader.close()
    _join_or_kill(child)
    return {"lines": lines, "eof_after_s": eof_after, "eof_after_last_s": after_last,
            "exit_code": child.exitcode, "close_parent_copy": close_parent_copy}
# [end:one-way-pipe]


# [start:child-eof]
def receive_until_eof(reader: Any, report: Any, unused_end: Any = None) -> None:
    """Child: receive until EOFError, telling the parent what arrived."""
    if unused_end is not None:
        unused_end.close()  # our copy of the sending end: without this, no EOF ever
    while True:
        try:
            report.send(f"child got {reader.recv()!r}")
        except EOFError:
            report.send("child: recv() raised EOFError; done")
            return


def child_reads_to_eof(method: str, pass_both_ends: bool, patience_s: float) -> dict[str, Any]:
    """The parent sends three items and closes its end; does the child see EOF?"""
    context = multiprocessing.get_context(method)
    reader, writer = context.Pipe(duplex=False)
    report_in, report_out = context.Pipe(duplex=False)
    args = (reader, report_out, writer) if pass_both_ends else (reader, report_out)
    child = context.Process(target=receive_until_eof, args=args, daemon=True)
    child.start()
    reader.close()      # the parent's copies of the child's ends
    report_out.close()
    for number in range(3):
        writer.send(number)
    writer.close()      # the parent's sending end: the child should now see EOF
    lines = [report_in.recv() for _ in range(3) if report_in.poll(WAIT_S)]
    if report_in.poll(patience_s):  # bounded: does the child report an EOFError?
        lines.append(report_in.recv())
    lines.append(f"child process: {_end_process(child, patience_s)}")
    report_in.close()
    return {"lines": lines, "saw_eof": any("EOFError" in line for line in lines),
            "pass_both_ends": pass_both_ends, "exit_code": child.exitcode}
# [end:child-eof]


# [start:duplex-poll]
def add_pairs(conn: Any, unused_end: Any) -> None:
    """Child: answer each (x, y) with x + y on the same connection, until EOFError."""
    unused_end.close()  # the parent's end, inherited under fork: close it or never see EOF
    while True:
        try:
            x, y = conn.recv()
        except EOFError:
            return
        conn.send(x + y)


def duplex_adder(method: str, wait_s: float) -> dict[str, Any]:
    """Ask a child to add numbers over one duplex Pipe, using poll() to wait with a bound."""
    context = multiprocessing.get_context(method)
    mine, theirs = context.Pipe()  # duplex=True: both ends send and receive
    child = context.Process(target=add_pairs, args=(theirs, mine))
    child.start()
    theirs.close()
    lines = [f"poll() before asking: {mine.poll()}"]
    began = time.perf_counter()
    waited = mine.poll(wait_s)
    idle_wait = time.perf_counter() - began
    lines.append(f"poll({wait_s}) before asking: {waited} after {_ms(idle_wait)}")
    answers = []
    for pair in ((10, 20), (1, 2)):
        mine.send(pair)
        began = time.perf_counter()
        ready = mine.poll(WAIT_S)  # True as soon as the answer is there
        answer_wait = time.perf_counter() - began
        answers.append(mine.recv())
        lines.append(f"sent {pair}; poll({WAIT_S:g}) -> {ready} after {_ms(answer_wait)}; "
                     f"recv() -> {answers[-1]}")
    mine.close()  # the child's recv() raises EOFError and it returns
    _join_or_kill(child)
    lines.append(f"closed our end; the child exited with code {child.exitcode}")
    return {"lines": lines, "answers": answers, "idle_poll": waited, "idle_wait_s": idle_wait,
            "exit_code": child.exitcode}
# [end:duplex-poll]


def run_demos(method: str, patience_s: float, hint_trials: int = 200) -> dict[str, Any]:
    """Every demonstration of the chapter under one start method; plain data only."""
    outcome: dict[str, Any] = {"method": method, "patience_s": patience_s}
    timed: list[tuple[str, Callable[[], Any]]] = [
        ("basics", lambda: queue_basics(method, SHORT_TIMEOUT_S)),
        ("hints", lambda: put_then_look(method, hint_trials)),
        ("no_sentinel", lambda: producers_and_consumers(method, 1, 1, 0, 4, patience_s)),
        ("too_few_sentinels", lambda: producers_and_consumers(method, 2, 3, 2, 4, patience_s)),
        ("sentinel_each", lambda: producers_and_consumers(method, 2, 3, 3, 4, patience_s)),
        ("join_first_small", lambda: hand_back(method, 1024, False, patience_s)),
        ("join_first_large", lambda: hand_back(method, 1 << 20, False, patience_s)),
        ("drain_first_large", lambda: hand_back(method, 1 << 20, True, patience_s)),
        ("pipe_keep_copy", lambda: one_way_pipe(method, False, patience_s)),
        ("pipe_close_copy", lambda: one_way_pipe(method, True, patience_s)),
        ("child_one_end", lambda: child_reads_to_eof(method, False, patience_s)),
        ("child_both_ends", lambda: child_reads_to_eof(method, True, patience_s)),
        ("duplex", lambda: duplex_adder(method, patience_s)),
    ]
    for name, demo in timed:
        began = time.perf_counter()
        outcome[name] = demo()
        outcome[name]["elapsed_s"] = time.perf_counter() - began
    outcome["threads_left"] = threading.active_count() - 1
    outcome["children_left"] = len(multiprocessing.active_children())
    return outcome


# ---------------------------------------------------------------------------------------
# The size sweep: round trips of one message of a given size.


def fill(size: int) -> bytes:
    """A message of ``size`` bytes, every byte value in turn (so a test can tell a
    message from a buffer of zeros, or from one shifted by a byte)."""
    return (bytes(range(256)) * (size // 256 + 1))[:size]




# [start:os-pipe-sized-echo]
def os_pipe_sized_echo_loop(read_fd: int, write_fd: int, size: int) -> None:
    """Read messages of exactly ``size`` bytes into one buffer and write each back."""
    buffer = memoryview(bytearray(size))
    while read_exactly(read_fd, buffer):
        write_all(write_fd, buffer)
# [end:os-pipe-sized-echo]


@contextlib.contextmanager
def os_pipe_sized_echo(size: int, cpu: int | None = None) -> Iterator[Callable[[], None]]:
    """Start a child echoing ``size``-byte messages over raw pipes; yield one round trip,
    which returns the echoed message.

    The child is a plain subprocess (:func:`parbook.shared.roundtrip.raw_pipe_child`),
    so the floor is the same under every start method.
    """
    def command(read_fd: int, write_fd: int) -> list[str]:
        return [sys.executable, "-m", "parbook.chapters.queues_and_pipes.workload", "echo-os-pipe",
                str(read_fd), str(write_fd), str(size), "" if cpu is None else str(cpu)]

    message, answer = memoryview(fill(size)), memoryview(bytearray(size))
    with raw_pipe_child(command, timeout_s=WAIT_S) as (to_child_w, from_child_r):

        def round_trip() -> memoryview:
            write_all(to_child_w, message)
            if not read_exactly(from_child_r, answer):
                raise EOFError("the echo child closed its pipe")
            return answer  # the echo, in a buffer reused by the next round trip

        yield round_trip


# [start:bytes-echo]
def pipe_bytes_echo_loop(conn: Any, cpu: int | None = None) -> None:
    """Child side of a Pipe carrying raw bytes: send each message back, until b''."""
    pin_to(cpu)
    while message := conn.recv_bytes():
        conn.send_bytes(message)
# [end:bytes-echo]


def mp_pipe_bytes_echo(context: Any, cpu: int | None = None) -> Any:
    """Start a child echoing raw bytes over a ``Pipe``; yield the parent's end of it."""
    return pipe_worker(context, pipe_bytes_echo_loop, (cpu,),
                       lambda end: end.send_bytes(b""), WAIT_S)


def main(argv: list[str]) -> int:
    """``demos METHOD PATIENCE_S`` or ``echo-os-pipe READ_FD WRITE_FD SIZE [CPU]``."""
    if len(argv) == 3 and argv[0] == "demos":
        print(json.dumps(run_demos(argv[1], float(argv[2]))))
        return 0
    if len(argv) in (4, 5) and argv[0] == "echo-os-pipe":
        pin_to(int(argv[4]) if len(argv) == 5 and argv[4] else None)
        os_pipe_sized_echo_loop(int(argv[1]), int(argv[2]), int(argv[3]))
        return 0
    print("usage: python -m parbook.chapters.queues_and_pipes.workload demos METHOD PATIENCE_S | "
          "echo-os-pipe READ_FD WRITE_FD SIZE [CPU]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
