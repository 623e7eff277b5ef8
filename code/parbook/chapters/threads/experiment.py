"""Threads: what handing work to a thread costs, and what daemon threads do at exit.

Groups of cases in the result:

``dispatch``
    Seconds per call of a function that does nothing: called directly, run on a new
    ``threading.Thread`` (start + join), submitted to a running ``ThreadPoolExecutor``
    (submit + result), and on a ``ThreadPoolExecutor`` created for the call.
``overlap``
    Several short waits (``time.sleep``, standing for I/O) one after another, and spread
    over a pool with one thread per wait.
``interpreter_exit``
    Wall time of a child interpreter whose main thread ends while worker threads still
    sleep, with daemon and with non-daemon workers. What each child printed is kept in
    ``values["children"]``, with the output of a bare thread that raised.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, measure
from parbook.bench.results import Result
from parbook.chapters.threads import workload as work
from parbook.shared import run_setup
from parbook.shared.child import run_module

NAME = "threads"
MODULE = "parbook.chapters.threads.workload"

DISPATCH_LABELS = {
    "direct": "plain function call (floor)",
    "new_thread": "new Thread: start + join",
    "running_pool": "running ThreadPoolExecutor: submit + result",
    "pool_per_call": "new ThreadPoolExecutor per call",
}
OVERLAP_LABELS = {"sequence": "one after another", "pool": "ThreadPoolExecutor, one thread each"}
EXIT_LABELS = {"daemon": "daemon=True", "non-daemon": "daemon=False (the default)"}
#: The article's demo slept 1 s and 5 s; the book keeps the ratio and shortens the waits.
EXIT_SLEEPS_S = (0.2, 1.0)
EXIT_TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    calls: int
    dispatch: Protocol
    waits: int
    wait_s: float
    overlap: Protocol
    exit_runs: int


FULL = Sizes(calls=2000, dispatch=Protocol(repeats=5, warmup=1), waits=8, wait_s=0.02,
             overlap=Protocol(repeats=5, warmup=1), exit_runs=2)
QUICK = Sizes(calls=300, dispatch=Protocol(repeats=3, warmup=1), waits=8, wait_s=0.02,
              overlap=Protocol(repeats=2, warmup=1), exit_runs=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    size = sizes(quick)
    say = run_setup.reporter(progress)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(calls=size.calls, waits=size.waits, wait_s=size.wait_s,
                             exit_sleeps_s=list(EXIT_SLEEPS_S),
                             exit_time_limit_s=EXIT_TIME_LIMIT_S)
    _dispatch(result, size, say)
    _overlap(result, size, say)
    _interpreter_exit(result, size, say)
    return result


def _per_call(samples: list[float], n: int) -> list[float]:
    return [sample / n for sample in samples]


def _dispatch(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    n = size.calls
    say(f"dispatch: {n} direct calls")
    result.add("dispatch", {"how": "direct"},
               _per_call(measure(lambda _: work.call_directly(n), size.dispatch), n))
    say(f"dispatch: {n} threads started and joined")
    result.add("dispatch", {"how": "new_thread"},
               _per_call(measure(lambda _: work.start_and_join(n), size.dispatch), n))
    say(f"dispatch: {n} calls submitted to a running pool")
    with ThreadPoolExecutor(max_workers=1) as pool:
        samples = measure(lambda _: work.submit_to_pool(pool, n), size.dispatch)
    result.add("dispatch", {"how": "running_pool"}, _per_call(samples, n))
    say(f"dispatch: {n} pools created, one per call")
    result.add("dispatch", {"how": "pool_per_call"},
               _per_call(measure(lambda _: work.pool_per_call(n), size.dispatch), n))


def _overlap(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    count, wait = size.waits, size.wait_s
    params = {"waits": count, "wait_s": wait}
    say(f"overlap: {count} waits of {wait} s in sequence")
    result.add("overlap", {**params, "how": "sequence"},
               measure(lambda _: work.sleeps_in_sequence(count, wait), size.overlap))
    say(f"overlap: {count} waits of {wait} s on a pool")
    with ThreadPoolExecutor(max_workers=count) as pool:
        samples = measure(lambda _: work.sleeps_on_pool(pool, count, wait), size.overlap)
    result.add("overlap", {**params, "how": "pool"}, samples)


def _interpreter_exit(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    children: dict[str, Any] = {}
    sleeps = [str(s) for s in EXIT_SLEEPS_S]
    for kind in EXIT_LABELS:
        samples = []
        for _ in range(size.exit_runs):
            say(f"interpreter exit with {kind} threads")
            child = run_module(MODULE, kind, *sleeps, time_limit_s=EXIT_TIME_LIMIT_S)
            samples.append(child.elapsed_s)
            children.setdefault(kind, child.as_dict())
        result.add("interpreter_exit", {"kind": kind}, samples)
    say("bare thread that raises")
    child = run_module(MODULE, "bare-thread-error", time_limit_s=EXIT_TIME_LIMIT_S)
    children["bare-thread-error"] = child.as_dict()
    result.values["children"] = children
