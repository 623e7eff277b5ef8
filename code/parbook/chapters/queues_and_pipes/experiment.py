"""Queues and pipes: the chapter's demonstrations, and what a message costs by size.

Groups of cases in the result:

``size_sweep``
    Seconds per round trip of one message of 8 B to 16 MiB (8 MiB in quick mode) to a
    running echo process, over a raw ``os.pipe`` (no pickling), a ``multiprocessing.Pipe``
    (``send``/``recv`` and ``send_bytes``/``recv_bytes``) and a pair of
    ``multiprocessing.Queue``s. The backends are timed in turns (interleaved) at each
    size, with both processes pinned to one CPU where the OS allows it.

``values["demos"]`` holds, per start method, what every demonstration printed and the
facts the chapter checks (which consumers finished, which were terminated, when
``EOFError`` came, which exceptions were raised). Each start method's demos run in a
fresh interpreter (``python -m parbook.chapters.queues_and_pipes.workload demos METHOD
PATIENCE``) with a time limit; ``values["demo_runs"]`` records how each of those interpreters ended.
:func:`run` fails when a demonstration ended otherwise than the page says
(:func:`demo_checks`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.queues_and_pipes import workload as work
from parbook.render.formatting import format_size
from parbook.shared import roundtrip, run_setup
from parbook.shared.child import run_module

NAME = "queues-and-pipes"
MODULE = "parbook.chapters.queues_and_pipes.workload"

BACKEND_LABELS = {
    "os_pipe": "raw os.pipe, no pickling",
    "pipe": "Pipe: send / recv",
    "pipe_bytes": "Pipe: send_bytes / recv_bytes",
    "queue": "Queue: put / get",
}
#: Demonstrations in the order the page shows them, with a label for the outcome table.
DEMO_LABELS = {
    "basics": "bounded Queue: put(timeout) when full, get(timeout) when empty",
    "no_sentinel": "one consumer, no sentinel",
    "too_few_sentinels": "3 consumers, 2 sentinels",
    "sentinel_each": "3 consumers, 3 sentinels",
    "join_first_small": "join() before get(), 1 KiB item",
    "join_first_large": "join() before get(), 1 MiB item",
    "drain_first_large": "get() before join(), 1 MiB item",
    "pipe_keep_copy": "parent keeps its copy of the child's sending end",
    "pipe_close_copy": "parent closes its copy of the child's sending end",
    "child_one_end": "child gets only its reading end",
    "child_both_ends": "child gets both ends and closes the sending one",
    "duplex": "duplex Pipe: poll(timeout), then ask and answer",
}
DEMO_TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    message_sizes: tuple[int, ...]
    #: Bytes carried each way per sample; the round trips per sample follow from it.
    bytes_per_sample: int
    min_round_trips: int
    max_round_trips: int
    sweep: Protocol
    patience_s: float


FULL = Sizes(message_sizes=(8, 1 << 10, 64 << 10, 1 << 20, 16 << 20),
             bytes_per_sample=32 << 20, min_round_trips=2, max_round_trips=1000,
             sweep=Protocol(repeats=5, warmup=1), patience_s=0.5)
QUICK = Sizes(message_sizes=(8, 1 << 10, 64 << 10, 1 << 20, 8 << 20),
              bytes_per_sample=2 << 20, min_round_trips=1, max_round_trips=100,
              sweep=Protocol(repeats=2, warmup=1), patience_s=0.3)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def round_trips_for(size: int, sizes_: Sizes) -> int:
    """Round trips per sample at one message size: about the same bytes at every size."""
    wanted = round(sizes_.bytes_per_sample / size)
    return max(sizes_.min_round_trips, min(sizes_.max_round_trips, wanted))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every demonstration and measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say = machine_setup.say
    methods = multiprocessing.get_all_start_methods()
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus, start_method=machine_setup.start_method,
        start_methods=methods, patience_s=size.patience_s,
        short_timeout_s=work.SHORT_TIMEOUT_S, idle_limit_s=work.IDLE_LIMIT_S,
        message_sizes=list(size.message_sizes), demo_time_limit_s=DEMO_TIME_LIMIT_S,
    )
    _demos(result, methods, size, say)
    result.values["buffers"] = buffer_sizes()
    _size_sweep(result, size, machine_setup.context, say)
    return result


def _demos(result: Result, methods: list[str], size: Sizes, say: Callable[[str], None]) -> None:
    # One fresh interpreter per start method, all at once: the demos mostly wait on
    # purpose, and a fresh interpreter has no threads of ours when it forks.
    say(f"demonstrations under {', '.join(methods)}")
    with ThreadPoolExecutor(max_workers=len(methods)) as pool:
        runs = dict(zip(methods, pool.map(
            lambda method: run_module(MODULE, "demos", method, str(size.patience_s),
                                      time_limit_s=DEMO_TIME_LIMIT_S), methods), strict=True))
    demos, ends = {}, {}
    for method, child in runs.items():
        ends[method] = {key: value for key, value in child.as_dict().items() if key != "output"}
        if child.killed or child.returncode != 0:
            raise RuntimeError(f"the {method} demos failed (killed={child.killed}, "
                               f"exit code {child.returncode}):\n{child.errors[-3000:]}")
        demos[method] = json.loads(child.output)
    result.values["demos"] = demos
    result.values["demo_runs"] = ends
    # The page describes how every demonstration ended; a run in which one ended
    # otherwise must fail the build rather than publish a page that says something else.
    failed = failed_demos(demos)
    if failed:
        raise RuntimeError(f"demonstrations that did not end as the page says: {failed}")


def buffer_sizes() -> dict[str, int | None]:
    """Bytes an ``os.pipe`` and a duplex ``Pipe``'s socket hold before a writer must wait."""
    found: dict[str, int | None] = {"os_pipe": None, "socket": None}
    read_fd, write_fd = os.pipe()
    try:
        with contextlib.suppress(AttributeError, OSError):  # F_GETPIPE_SZ is Linux-only
            found["os_pipe"] = fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    one, other = multiprocessing.Pipe()
    try:
        with socket.socket(fileno=os.dup(one.fileno())) as sock:
            found["socket"] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    except OSError:
        pass
    finally:
        one.close()
        other.close()
    return found


def _size_sweep(result: Result, size: Sizes, context: Any, say: Callable[[str], None]) -> None:
    placements = roundtrip.placements()
    # Both ends on one CPU: what each channel itself costs, without waking another CPU,
    # whose price depends on the machine and its load (the overhead chapter measures it).
    placement = "same_cpu" if "same_cpu" in placements else next(iter(placements))
    parent_cpu, child_cpu = placements[placement]
    result.parameters["placement"] = placement
    with (roundtrip.pinned(parent_cpu),
          roundtrip.mp_pipe_echo(context, child_cpu) as conn,
          work.mp_pipe_bytes_echo(context, child_cpu) as raw_conn,
          roundtrip.mp_queue_echo(context, child_cpu) as (inbox, outbox)):
        for message_size in size.message_sizes:
            n = round_trips_for(message_size, size)
            message = work.fill(message_size)
            say(f"size sweep: {format_size(message_size)}, {n} round trips per sample")
            with work.os_pipe_sized_echo(message_size, child_cpu) as os_pipe_round_trip:
                cases = {
                    "os_pipe": _repeat(os_pipe_round_trip, n),
                    "pipe": _repeat(lambda m=message: (conn.send(m), conn.recv()), n),
                    "pipe_bytes": _repeat(
                        lambda m=message: (raw_conn.send_bytes(m), raw_conn.recv_bytes()), n),
                    "queue": _repeat(
                        lambda m=message: (inbox.put(m), outbox.get(timeout=work.WAIT_S)), n),
                }
                samples = measure_interleaved(cases, size.sweep)
            for backend, backend_samples in samples.items():
                result.add("size_sweep", {"size": message_size, "backend": backend,
                                          "round_trips": n, "placement": placement},
                           [sample / n for sample in backend_samples])


def _repeat(call: Callable[[], Any], n: int) -> Callable[[Any], None]:
    def case(_state: Any) -> None:
        for _ in range(n):
            call()
    return case


def demo_checks(demos: dict[str, Any], method: str) -> dict[str, bool]:
    """Every outcome the chapter promises for one start method's demos: name -> held."""
    patience = demos["patience_s"]
    basics = demos["basics"]
    return {
        "basics": (basics["full_error"] == "queue.Full" and basics["empty_error"] == "queue.Empty"
                   and basics["got"] == ["apple", "pear", "plum"]),
        "no_sentinel": (demos["no_sentinel"]["terminated"] == ["consumer-1"]
                        and demos["no_sentinel"]["taken"] == 4),
        "too_few_sentinels": (len(demos["too_few_sentinels"]["finished"]) == 2
                              and len(demos["too_few_sentinels"]["terminated"]) == 1),
        "sentinel_each": (len(demos["sentinel_each"]["finished"]) == 3
                          and not demos["sentinel_each"]["terminated"]),
        "join_first_small": not demos["join_first_small"]["alive_after_join"],
        "join_first_large": (demos["join_first_large"]["alive_after_join"]
                             and demos["join_first_large"]["exit_code"] == 0),
        "drain_first_large": (not demos["drain_first_large"]["alive_after_join"]
                              and demos["drain_first_large"]["exit_code"] == 0),
        "pipe_keep_copy": demos["pipe_keep_copy"]["eof_after_s"] >= patience,
        "pipe_close_copy": demos["pipe_close_copy"]["eof_after_last_s"] < patience,
        # Under fork the child inherits every descriptor, the parent's sending end too.
        "child_one_end": demos["child_one_end"]["saw_eof"] == (method != "fork"),
        "child_both_ends": demos["child_both_ends"]["saw_eof"],
        "duplex": (demos["duplex"]["answers"] == [30, 3] and not demos["duplex"]["idle_poll"]
                   and demos["duplex"]["exit_code"] == 0),
        "nothing_left": demos["threads_left"] == 0 and demos["children_left"] == 0,
    }


def failed_demos(demos: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Start method -> the demonstrations that did not end as the page says (none, normally)."""
    failed = {method: [name for name, held in demo_checks(outcome, method).items() if not held]
              for method, outcome in demos.items()}
    return {method: names for method, names in failed.items() if names}
