"""Races and locks: the lost update, what a lock costs, re-entrancy and deadlock.

Groups of cases in the result:

``race``
    The final count after one thread per increment (read, pause, write), without and
    with a lock, over several runs (unit: ``count``). ``race_time`` holds each run's
    wall time in seconds.
``no_pause``
    Increments lost per run (unit: ``count``) when a few threads, released together,
    each add one many times with no pause: ``counter.value += 1`` (``in_place``), and
    the same read and write with a call to an empty function between them
    (``call_between``). The interpreter's version, GIL status and switch interval are
    in ``values``.
``lock_cost``
    Seconds per increment: no lock, an uncontended ``Lock``, an uncontended ``RLock``
    (one thread), and one ``Lock`` shared by 2, 4 and 8 threads.
``reentry``
    Seconds until a method that re-takes the lock it holds gets through (``RLock``) or
    gives up at its timeout (``Lock``); the outcomes are in ``values["reentry"]``.
``deadlock``
    Wall time of a child process in which two threads move money between two accounts:
    locks taken in opposite orders (it hangs and is killed at the time limit), in one
    global order, and with ``acquire(timeout=...)`` plus back-off. What each child
    printed and how it ended are in ``values["deadlock"]``.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parbook.bench import machine
from parbook.bench.measure import Protocol, measure
from parbook.bench.results import Result
from parbook.chapters.races_and_locks import workload as work
from parbook.shared import run_setup

NAME = "races-and-locks"

COST_LABELS = {
    "no_lock": "no lock, 1 thread",
    "lock": "Lock, 1 thread (uncontended)",
    "rlock": "RLock, 1 thread (uncontended)",
    "contended_2": "one Lock shared by 2 threads",
    "contended_4": "one Lock shared by 4 threads",
    "contended_8": "one Lock shared by 8 threads",
}
CONTENDED_THREADS = (2, 4, 8)
NO_PAUSE_LABELS = {
    "in_place": "counter.value += 1",
    "call_between": "read, empty call, write",
}
STRATEGY_LABELS = {
    "opposite_order": "locks taken in opposite orders",
    "global_order": "fix 1: one global lock order",
    "timeout_backoff": "fix 2: acquire(timeout=...), back off, retry",
}
REENTRY_TIMEOUT_S = 0.3
#: The article's pause between read and write.
RACE_PAUSE_S = 0.001
#: How long a transfer holds its first lock before reaching for the second.
HOLD_S = 0.005


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    race_threads: int
    race_runs: int
    no_pause_threads: int
    no_pause_increments: int  # per thread; each thread's share lasts a few switch intervals
    no_pause_runs: int
    increments: int
    cost: Protocol
    transfer_rounds: int
    deadlock_limit_s: float


FULL = Sizes(race_threads=1000, race_runs=5, no_pause_threads=4,
             no_pause_increments=400_000, no_pause_runs=5, increments=200_000,
             cost=Protocol(repeats=5, warmup=1), transfer_rounds=20, deadlock_limit_s=3.0)
QUICK = Sizes(race_threads=200, race_runs=3, no_pause_threads=4,
              no_pause_increments=200_000, no_pause_runs=3, increments=50_000,
              cost=Protocol(repeats=3, warmup=1), transfer_rounds=10, deadlock_limit_s=2.0)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result."""
    size = sizes(quick)
    say = run_setup.reporter(progress)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        race_threads=size.race_threads, race_runs=size.race_runs, race_pause_s=RACE_PAUSE_S,
        increments=size.increments, transfer_rounds=size.transfer_rounds, hold_s=HOLD_S,
        deadlock_limit_s=size.deadlock_limit_s, reentry_timeout_s=REENTRY_TIMEOUT_S,
        no_pause_threads=size.no_pause_threads,
        no_pause_increments=size.no_pause_increments, no_pause_runs=size.no_pause_runs,
    )
    result.values.update(interpreter())
    _race(result, size, say)
    _no_pause(result, size, say)
    _lock_cost(result, size, say)
    _reentry(result, say)
    _deadlock(result, size, say)
    return result


def _race(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    for use_lock in (False, True):
        counts, seconds = [], []
        for run_index in range(size.race_runs):
            say(f"race: {size.race_threads} threads, lock={use_lock}, run {run_index + 1}")
            began = time.perf_counter()
            counts.append(work.count_with_threads(size.race_threads, RACE_PAUSE_S, use_lock))
            seconds.append(time.perf_counter() - began)
        # The page says the build checks that the lock makes every count exact.
        if use_lock and any(count != size.race_threads for count in counts):
            raise AssertionError(f"a locked race run counted {counts}, "
                                 f"not {size.race_threads} each time")
        params = {"lock": use_lock, "threads": size.race_threads}
        result.add("race", params, counts, unit="count")
        result.add("race_time", params, seconds)


def interpreter() -> dict[str, Any]:
    """What decides where threads may switch: the version, the GIL, the switch interval."""
    return {
        "python_version": platform.python_version(),
        "gil_enabled": machine.gil_enabled(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "switch_interval_s": sys.getswitchinterval(),
    }


def _no_pause(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    threads, n = size.no_pause_threads, size.no_pause_increments
    for body, loop in work.NO_PAUSE_BODIES.items():
        say(f"no pause: {threads} threads x {n} increments, {body}, {size.no_pause_runs} runs")
        lost = [work.lost_updates(loop, threads, n) for _ in range(size.no_pause_runs)]
        result.add("no_pause", {"body": body, "threads": threads, "increments": n}, lost,
                   unit="count")


def _lock_cost(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    n = size.increments

    def per_op(samples: list[float]) -> list[float]:
        return [sample / n for sample in samples]

    say(f"lock cost: {n} increments, no lock")
    samples = measure(lambda counter: work.increments_without_lock(counter, n), size.cost,
                      setup=work.Counter)
    result.add("lock_cost", {"case": "no_lock", "threads": 1}, per_op(samples))
    for case, factory in (("lock", threading.Lock), ("rlock", threading.RLock)):
        say(f"lock cost: {n} increments, {case}")
        lock = factory()
        samples = measure(lambda counter, lk=lock: work.increments_with_lock(counter, lk, n),
                          size.cost, setup=work.Counter)
        result.add("lock_cost", {"case": case, "threads": 1}, per_op(samples))
    for threads in CONTENDED_THREADS:
        say(f"lock cost: {n} increments over {threads} threads")
        totals: list[int] = []
        samples = measure(
            lambda _, t=threads, out=totals: out.append(work.increments_contended(t, n)),
            size.cost)
        if any(total != n for total in totals):
            raise AssertionError(f"a locked count came out wrong: {totals} (expected {n})")
        result.add("lock_cost", {"case": f"contended_{threads}", "threads": threads},
                   per_op(samples))


def _reentry(result: Result, say: Callable[[str], None]) -> None:
    outcomes = {}
    for name, factory in (("Lock", threading.Lock), ("RLock", threading.RLock)):
        say(f"re-entry with a {name}")
        outcome, elapsed = work.try_ledger(factory, REENTRY_TIMEOUT_S)
        outcomes[name] = outcome
        result.add("reentry", {"lock": name}, [elapsed])
    result.values["reentry"] = outcomes


def _deadlock(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    children = {}
    for strategy in work.STRATEGIES:
        say(f"deadlock demo: {strategy}, time limit {size.deadlock_limit_s} s")
        child = work.run_transfers(strategy, size.transfer_rounds, HOLD_S,
                                   size.deadlock_limit_s)
        children[strategy] = child.as_dict()
        result.add("deadlock", {"strategy": strategy}, [child.elapsed_s])
    result.values["deadlock"] = children
