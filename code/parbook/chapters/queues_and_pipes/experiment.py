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

from parbook import sources
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
#: Article 003's claim as a range of Queue time / Pipe time.
CLAIM_LOW, CLAIM_HIGH = (sources.PIPE_VS_QUEUE_CLAIM.lookup(bound=b) for b in ("low", "high"))
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


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def demo_checks(demos: dict[str, Any], method: str) -> dict[str, bool]:
    """Every outcome the chapter promises for one start method's demos: name -> held."""
    patience = demos["patience_s"]
    basics = demos["basics"]
    checks = {
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
    return checks


def outcome_text(name: str, demo: dict[str, Any]) -> str:
    """A table cell saying how one demonstration ended."""
    took = f" ({demo['elapsed_s'] * 1000:.0f} ms)"
    if name == "basics":
        return f"{demo['full_error']}, then {demo['empty_error']}"
    if name in ("no_sentinel", "too_few_sentinels", "sentinel_each"):
        finished, stuck = len(demo["finished"]), len(demo["terminated"])
        text = f"{finished} finished" if finished else "none finished"
        return text + (f", {stuck} still blocked: terminated" if stuck else "") + took
    if name.startswith(("join_first", "drain_first")):
        if demo["alive_after_join"]:
            return f"join timed out after {demo['joined_after_s'] * 1000:.0f} ms: child alive"
        return f"child exited; join returned in {demo['joined_after_s'] * 1000:.1f} ms"
    if name.startswith("pipe_"):
        return (f"EOFError {demo['eof_after_last_s'] * 1000:.0f} ms after the last message, "
                f"{demo['eof_after_s'] * 1000:.0f} ms after start()")
    if name.startswith("child_"):
        return ("child saw EOFError, exited" if demo["saw_eof"]
                else "child never saw EOF: terminated")
    if name == "duplex":
        return f"answers {demo['answers']}, idle poll {demo['idle_poll']}"
    raise KeyError(name)


def claim_verdict(ratio: float) -> str:
    """Where a measured Queue/Pipe ratio falls against article 003's 1.5-2x.

    The ratio is compared as the tables show it, to two significant digits, the precision
    of the claim itself.
    """
    ratio = float(f"{ratio:.2g}")
    if ratio < 1:
        return "no: the Queue was faster"
    if ratio < CLAIM_LOW:
        return "no: the Pipe was faster, by less"
    if ratio <= CLAIM_HIGH:
        return "yes"
    return "no: the Pipe was faster, by more"


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    params = result.parameters
    method = params["start_method"]
    demos = result.values["demos"]
    message_sizes = params["message_sizes"]
    times = {(c.params["size"], c.params["backend"]): result.median("size_sweep", **c.params)
             for c in result.group("size_sweep")}
    rates = {key: 2 * key[0] / seconds for key, seconds in times.items()}
    queue_over_pipe = {s: times[(s, "queue")] / times[(s, "pipe")] for s in message_sizes}
    queue_over_bytes = {s: times[(s, "queue")] / times[(s, "pipe_bytes")] for s in message_sizes}
    verdicts = {s: claim_verdict(r) for s, r in queue_over_pipe.items()}
    fastest = {s: min(BACKEND_LABELS, key=lambda b, s=s: times[(s, b)]) for s in message_sizes}
    smallest, largest = min(message_sizes), max(message_sizes)
    return {
        "cpus": params["usable_cpus"],
        "start_method": method,
        "start_methods": params["start_methods"],
        "patience_s": params["patience_s"],
        "short_timeout_s": params["short_timeout_s"],
        "idle_limit_s": params["idle_limit_s"],
        "placement": params["placement"],
        "demos": demos[method],
        "all_demos": demos,
        "checks": {m: demo_checks(demos[m], m) for m in demos},
        "buffers": result.values["buffers"],
        "sizes": message_sizes,
        "smallest": smallest,
        "largest": largest,
        "times": times,
        "rates": rates,
        "queue_over_pipe": queue_over_pipe,
        "queue_over_bytes": queue_over_bytes,
        "pipe_over_bytes": {s: times[(s, "pipe")] / times[(s, "pipe_bytes")]
                            for s in message_sizes},
        "verdicts": verdicts,
        "claim_holds": [s for s, v in verdicts.items() if v == "yes"],
        "queue_slowest_everywhere": all(
            times[(s, "queue")] >= max(times[(s, b)] for b in BACKEND_LABELS)
            for s in message_sizes),
        "fastest": fastest,
        "bytes_fastest_pipe_everywhere": all(
            times[(s, "pipe_bytes")] <= times[(s, "pipe")] for s in message_sizes),
        "os_pipe_beaten_large": times[(largest, "os_pipe")] > min(
            times[(largest, b)] for b in ("pipe", "pipe_bytes")),
    }


def size_figure(found: dict[str, Any]) -> Any:
    """Round-trip time against message size (log-log), and Queue/Pipe per size."""
    import matplotlib.pyplot as plt

    sizes_ = found["sizes"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    for backend, label in BACKEND_LABELS.items():
        left.plot(sizes_, [found["times"][(s, backend)] for s in sizes_], marker="o", label=label)
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("message size (bytes)")
    left.set_ylabel("round trip (seconds, median)")
    left.set_title("One round trip, by message size")
    left.grid(True, which="major", alpha=0.3)
    left.legend(fontsize="small")
    ticks = [format_size(s) for s in sizes_]
    left.set_xticks(sizes_, ticks)
    left.minorticks_off()

    right.axhspan(CLAIM_LOW, CLAIM_HIGH, color="0.85",
                  label=f"article 003's claim: {CLAIM_LOW:g}–{CLAIM_HIGH:g}× (machine not stated)")
    right.axhline(1.0, color="0.3", linestyle=":", linewidth=1, label="equal (1×)")
    right.plot(sizes_, [found["queue_over_pipe"][s] for s in sizes_], marker="o",
               label="Queue / Pipe send (this build)")
    right.plot(sizes_, [found["queue_over_bytes"][s] for s in sizes_], marker="s",
               label="Queue / Pipe send_bytes (this build)")
    right.set_xscale("log", base=2)
    right.set_xticks(sizes_, ticks)
    right.minorticks_off()
    right.set_ylim(bottom=0)
    right.yaxis.set_major_formatter(lambda value, _pos: f"{value:g}×")
    right.set_xlabel("message size (bytes)")
    right.set_ylabel("Queue time / Pipe time")
    right.set_title("How much slower a Queue is")
    right.grid(True, which="major", alpha=0.3)
    right.legend(fontsize="small")
    return figure
