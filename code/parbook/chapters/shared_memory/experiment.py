"""Shared memory: Value and Array, Manager proxies, shared_memory blocks and their lifetime.

Groups of cases in the result:

``counter_race``
    The final value of a shared ``Value`` after several processes each added one to it
    ``n`` times, without and with ``get_lock()`` held, under every start method (unit:
    ``count``). ``counter_contended`` holds each worker's seconds per update in the same
    runs.
``counter_cost``
    Seconds per update in one process, timed in turns: ``v.value += 1`` on a ``Value``,
    the same inside ``with v.get_lock():``, and on a ``RawValue``.
``manager_ops``
    Seconds per operation, timed in turns: storing into a local dict, storing into and
    reading from a ``Manager`` dict proxy, storing into a ``Value``.
``exchange``
    Seconds for several running workers to report ``n`` results each, and the parent to
    hold all of them: one message per result through a ``Queue``, one store per result
    into a ``Manager`` dict, and one batch per worker each way (timed in turns).
``handoff``
    Seconds to hand an array of each size to a running worker and get its sum back:
    pickled through a ``Pipe``, copied into a new ``SharedMemory`` block, made in shared
    memory (only the name travels), and kept mapped by the worker; beside a ``memcpy``
    of the same array and a local sum, all timed in turns.
``first_touch``
    The worker's first and second sum over a block it has just attached (page faults).

``values`` holds the demonstrations' outcomes: the counts per start method, the
correctness checks of every hand-off and exchange under every start method, the output
of the child interpreters (lifecycle, tracker), the SharedMemoryManager and queue-sharing
demos, and which Python (and so which ``track`` behaviour) ran.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.shared_memory import workload as work
from parbook.shared import run_setup
from parbook.shared.child import run_module

NAME = "shared-memory"
MODULE = work.MODULE
MIB = 2**20

COUNTER_LABELS = {
    "no_lock": "v.value += 1",
    "get_lock": "with v.get_lock(): v.value += 1",
}
COST_LABELS = {
    "value": "Value: v.value += 1 (wrong in processes)",
    "value_get_lock": "Value: with v.get_lock(): v.value += 1",
    "raw_value": "RawValue: v.value += 1 (no lock at all)",
}
OP_LABELS = {
    "local_set": "local dict: d[key] = i (floor)",
    "proxy_set": "Manager dict proxy: d[key] = i",
    "proxy_get": "Manager dict proxy: read d[key]",
    "value_set": "Value: v.value = i",
}
EXCHANGE_LABELS = {
    "queue_each": "Queue, one message per result",
    "manager_each": "Manager dict, one store per result",
    "queue_batch": "Queue, one list per worker",
    "manager_batch": "Manager dict, one update() per worker",
}
HANDOFF_LABELS = {
    "memcpy": "memcpy floor: np.copyto in this process",
    "local_sum": "the worker's sum, done here (no hand-off)",
    "by_value": "(a) pickled through a Pipe",
    "by_copy": "(b) copied into a new SharedMemory block",
    "by_name": "(c) made in shared memory: only the name travels",
    "kept": "(d) as (c), the worker keeps the block mapped",
}
SHARED_HANDOFFS = ("by_copy", "by_name", "kept")
TOUCH_LABELS = {"first": "first sum after attaching", "second": "second sum, same mapping"}
CHILD_TIME_LIMIT_S = 120.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    counter_n: int
    cost_n: int
    cost: Protocol
    ops_n: int
    ops: Protocol
    exchange_n: int
    exchange: Protocol
    handoff_mib: tuple[int, ...]
    handoff: Protocol
    touch_repeats: int


FULL = Sizes(counter_n=50_000, cost_n=20_000, cost=Protocol(repeats=5, warmup=1),
             ops_n=1_000, ops=Protocol(repeats=5, warmup=1),
             exchange_n=500, exchange=Protocol(repeats=5, warmup=1),
             handoff_mib=(16, 64, 128), handoff=Protocol(repeats=3, warmup=1),
             touch_repeats=3)
QUICK = Sizes(counter_n=20_000, cost_n=5_000, cost=Protocol(repeats=3, warmup=1),
              ops_n=300, ops=Protocol(repeats=3, warmup=1),
              exchange_n=200, exchange=Protocol(repeats=3, warmup=1),
              handoff_mib=(4, 16), handoff=Protocol(repeats=2, warmup=1),
              touch_repeats=2)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def counter_workers(cpus: int) -> int:
    """Processes in the counter race: at least two, at most four, else one per CPU."""
    return max(2, min(cpus, 4))


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result."""
    size = sizes(quick)
    env = run_setup.setup(progress)
    result = Result(experiment=NAME, quick=quick)
    methods = multiprocessing.get_all_start_methods()
    result.parameters.update(
        cpus=env.cpus, start_method=env.start_method, methods=methods,
        counter_workers=counter_workers(env.cpus), counter_n=size.counter_n,
        cost_n=size.cost_n, ops_n=size.ops_n, exchange_workers=2,
        exchange_n=size.exchange_n, handoff_mib=list(size.handoff_mib),
        python=sys.version.split()[0], has_track_parameter=work.HAS_TRACK_PARAMETER,
    )
    _demos(result, size, env, methods)
    _counter_cost(result, size, env)
    _manager(result, size, env)
    _handoff(result, size, env)
    return result


def _demos(result: Result, size: Sizes, env: run_setup.RunSetup, methods: list[str]) -> None:
    """Every start method's demonstrations, each set in a fresh child interpreter."""
    workers, n = counter_workers(env.cpus), size.counter_n
    children: dict[str, Any] = {}
    demos: dict[str, Any] = {}
    for method in methods:
        env.say(f"demos under {method}, in a child interpreter")
        child = run_module(MODULE, "demos", method, str(n), str(workers),
                           time_limit_s=CHILD_TIME_LIMIT_S)
        children[f"demos-{method}"] = child.as_dict()
        if child.returncode != 0:
            raise RuntimeError(f"demos under {method} failed:\n{child.errors[-3000:]}")
        demos[method] = json.loads(child.output.strip().splitlines()[-1])
        for how in COUNTER_LABELS:
            outcome = demos[method]["counter"][how]
            params = {"method": method, "how": how}
            result.add("counter_race", params, [outcome["counted"]], unit="count")
            result.add("counter_contended", params, [s / n for s in outcome["seconds"]])
        env.say(f"tracker: a worker started before the first block, {method}")
        children[f"worker-first-{method}"] = run_module(
            MODULE, "worker-first", method, time_limit_s=CHILD_TIME_LIMIT_S).as_dict()
    for variant, args in (("other-program", ()), ("other-program-untracked", ("untracked",))):
        env.say(f"tracker: {variant}")
        children[variant] = run_module(MODULE, "other-program", *args,
                                       time_limit_s=CHILD_TIME_LIMIT_S).as_dict()
    result.values["demos"] = demos
    result.values["children"] = children


def _counter_cost(result: Result, size: Sizes, env: run_setup.RunSetup) -> None:
    env.say(f"counter: cost per update, {size.cost_n} updates, in turns")
    value, raw = env.context.Value("q", 0), env.context.RawValue("q", 0)
    cases = {
        "value": lambda: work.bump(value, size.cost_n, hold_lock=False),
        "value_get_lock": lambda: work.bump(value, size.cost_n, hold_lock=True),
        "raw_value": lambda: work.bump(raw, size.cost_n, hold_lock=False),
    }
    for how, samples in measure_interleaved(
            {how: (lambda _state, case=case: case()) for how, case in cases.items()},
            size.cost).items():
        result.add("counter_cost", {"how": how}, [s / size.cost_n for s in samples])


def _manager(result: Result, size: Sizes, env: run_setup.RunSetup) -> None:
    n = size.ops_n
    with env.context.Manager() as manager:
        env.say(f"manager: {n} operations per case, in turns")
        proxy, local, value = manager.dict(step=0), {"step": 0}, env.context.Value("q", 0)
        cases = {
            "local_set": lambda: work.set_key(local, n),
            "proxy_set": lambda: work.set_key(proxy, n),
            "proxy_get": lambda: work.read_key(proxy, n),
            "value_set": lambda: work.set_value(value, n),
        }
        samples = measure_interleaved(
            {op: (lambda _state, case=case: case()) for op, case in cases.items()}, size.ops)
        for op, op_samples in samples.items():
            result.add("manager_ops", {"op": op}, [s / n for s in op_samples])

        workers, per_worker = result.parameters["exchange_workers"], size.exchange_n
        env.say(f"exchange: {workers} workers x {per_worker} results, in turns")
        with work.reporting_workers(env.context, manager, workers) as reporters:
            exchange = measure_interleaved(
                {how: (lambda _state, how=how: work.collect(reporters, how, per_worker))
                 for how in EXCHANGE_LABELS}, size.exchange)
        for how, how_samples in exchange.items():
            result.add("exchange", {"how": how, "workers": workers, "n": per_worker},
                       how_samples)


def _handoff(result: Result, size: Sizes, env: run_setup.RunSetup) -> None:
    largest = max(size.handoff_mib)
    for mib in size.handoff_mib:
        env.say(f"handoff: {mib} MiB, every way, in turns")
        samples, touches = _handoff_one_size(mib, size, env, touch=mib == largest)
        for how, how_samples in samples.items():
            result.add("handoff", {"mib": mib, "how": how}, how_samples)
        if touches:
            for index, touch in enumerate(TOUCH_LABELS):
                result.add("first_touch", {"mib": mib, "touch": touch},
                           [pair[index] for pair in touches])


def _handoff_one_size(mib: int, size: Sizes, env: run_setup.RunSetup, touch: bool
                      ) -> tuple[dict[str, list[float]], list[tuple[float, float]]]:
    array = np.random.default_rng(mib).random(mib * MIB // 8)
    destination = np.empty_like(array)
    destination.fill(0.0)  # touched now, so the floor pays no page faults
    touches: list[tuple[float, float]] = []
    # Blocks first, worker second: under fork the worker then shares our tracker.
    with work.SharedArray(array.shape, array.dtype) as born_shared, \
            work.SharedArray(array.shape, array.dtype) as kept:
        np.copyto(born_shared.array, array)
        np.copyto(kept.array, array)
        with work.summing_worker(env.context) as conn:
            work.keep_in_worker(conn, kept)
            cases = {
                "memcpy": lambda: work.memcpy_floor(destination, array),
                "local_sum": lambda: work.local_sum(array),
                "by_value": lambda: work.hand_over_by_value(conn, array),
                "by_copy": lambda: work.hand_over_by_copy(conn, array),
                "by_name": lambda: work.hand_over_by_name(conn, born_shared),
                "kept": lambda: work.hand_over_kept(conn, kept),
            }
            samples = measure_interleaved(
                {how: (lambda _state, case=case: case()) for how, case in cases.items()},
                size.handoff)
            if touch:
                env.say(f"handoff: the worker's first touch after attaching, {mib} MiB")
                touches = [work.first_touch_in_worker(conn, born_shared)
                           for _ in range(size.touch_repeats)]
    return samples, touches
