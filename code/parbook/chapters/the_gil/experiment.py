"""The GIL, measured (source article 001 for the first experiment).

Four groups of cases:

``article``
    Article 001's experiment: ten pure-Python counting loops run one after another, then
    on ten threads at once; and, as the fix the article recommends, on a process pool of
    one process per usable CPU (start-up included); on Python 3.14+, also on an
    ``InterpreterPoolExecutor`` of one sub-interpreter per usable CPU (its absence, or its
    failure, is recorded in ``values["interpreter_pool"]``).
``release``
    Work that releases the GIL (SHA-256 of large buffers) against work that holds it (a
    pure-Python loop of about the same length per task), each run serially and on one
    thread per usable CPU.
``wake_up``
    How long a 1 ms sleep really takes when another thread is computing, at several
    switch intervals (and with no busy thread, the floor).
``switch_cost``
    Two CPU-bound threads run at once, at the same switch intervals: what switching more
    often costs in total time.

The interpreter's GIL status and the default switch interval are recorded in ``values``,
so a page built on a free-threaded Python shows that build's own numbers.
"""

from __future__ import annotations

import platform
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parbook.bench import machine
from parbook.bench.measure import Protocol, measure
from parbook.bench.results import Result
from parbook.chapters.the_gil import workload as work
from parbook.shared import run_setup
from parbook.shared.cpu import burn, calibrate, iterations_for

NAME = "the-gil"

ARTICLE_BACKENDS = ("sequential", "threads", "processes", "interpreters")
ARTICLE_LABELS = {
    "sequential": "one after another",
    "threads": "one thread each",
    "processes": "process pool (one process per CPU)",
    "interpreters": "interpreter pool (one sub-interpreter per CPU)",
}
RELEASE_WORKLOADS = {"sha256": "SHA-256 of large buffers (releases the GIL)",
                     "python": "pure-Python loop (holds the GIL)"}
RELEASE_BACKENDS = {"serial": "one after another", "threads": "threads (one per CPU)"}
#: Switch intervals tried, as multiples of the interpreter's default.
SWITCH_FACTORS = (0.1, 1.0, 4.0)


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    loops: int
    loop_iterations: int
    article: Protocol
    hash_bytes: int
    chunks_per_cpu: int
    release: Protocol
    sleeps: int
    sleep_s: float
    switch_task_s: float
    switch_cost: Protocol


FULL = Sizes(
    loops=10,
    loop_iterations=1_000_000,
    article=Protocol(repeats=5, warmup=1),
    hash_bytes=128 * 2**20,
    chunks_per_cpu=4,
    release=Protocol(repeats=5, warmup=1),
    sleeps=20,
    sleep_s=0.001,
    switch_task_s=0.1,
    switch_cost=Protocol(repeats=3, warmup=0),
)

QUICK = Sizes(
    loops=10,
    loop_iterations=100_000,
    article=Protocol(repeats=1, warmup=1, min_repeats=1),
    hash_bytes=16 * 2**20,
    chunks_per_cpu=2,
    release=Protocol(repeats=1, warmup=1, min_repeats=1),
    sleeps=5,
    sleep_s=0.001,
    switch_task_s=0.02,
    switch_cost=Protocol(repeats=1, warmup=0, min_repeats=1),
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def interpreter() -> dict[str, Any]:
    """What the running interpreter says about its GIL."""
    return {
        "python_version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": machine.gil_enabled(),
        "default_switch_interval_s": sys.getswitchinterval(),
    }


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement of the chapter and return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    cpus, start_method, context, say = (machine_setup.cpus, machine_setup.start_method,
                                        machine_setup.context, machine_setup.say)
    result = Result(experiment=NAME, quick=quick)
    result.values.update(interpreter())
    result.parameters.update(
        usable_cpus=cpus, start_method=start_method, loops=size.loops,
        loop_iterations=size.loop_iterations, sleep_s=size.sleep_s,
    )

    _article(result, size, cpus, context, say)
    rate = calibrate()
    result.values["burn_iterations_per_s"] = rate
    _release(result, size, cpus, rate, say)
    _switch(result, size, rate, say)
    if sys.getswitchinterval() != result.values["default_switch_interval_s"]:
        raise RuntimeError("the switch interval was not restored")
    return result


def _article(result: Result, size: Sizes, cpus: int, context: Any,
             say: Callable[[str], None]) -> None:
    loops, n = size.loops, size.loop_iterations
    expected = work.loops_one_after_another(loops, n)
    runs: dict[str, Callable[[], list[int]]] = {
        "sequential": lambda: work.loops_one_after_another(loops, n),
        "threads": lambda: work.loops_on_threads(loops, n),
        "processes": lambda: work.loops_on_processes(loops, n, cpus, context),
    }
    result.values["interpreter_pool"] = interpreter_pool_status(loops, n, cpus, expected)
    if result.values["interpreter_pool"] == POOL_MEASURED:
        runs["interpreters"] = lambda: work.loops_on_interpreters(loops, n, cpus)
    matches = True
    for backend, call in runs.items():
        say(f"article: {loops} loops of {n} iterations, {backend}")
        outputs: list[list[int]] = []
        samples = measure(lambda _, c=call, out=outputs: out.append(c()), size.article)
        matches = matches and all(out == expected for out in outputs)
        result.add("article", {"backend": backend, "loops": loops, "iterations": n}, samples)
    result.values["loop_results_match"] = matches


#: ``values["interpreter_pool"]``: the interpreter pool ran and was measured; this
#: interpreter has none (before 3.14); or, starting with "failed", why its trial run did.
POOL_MEASURED, POOL_ABSENT = "measured", "absent"


def interpreter_pool_status(loops: int, iterations: int, cpus: int,
                            expected: list[int]) -> str:
    """:data:`POOL_MEASURED` when this interpreter has ``InterpreterPoolExecutor`` and one
    trial run of the loops on it gave the right sums; :data:`POOL_ABSENT` when it has
    none; otherwise ``"failed (...)"`` with the reason. A new feature that fails here is
    a stated absence, never a failed page."""
    if not machine.interpreter_pool_executor():
        return POOL_ABSENT
    try:
        sums = work.loops_on_interpreters(loops, iterations, cpus)
    except Exception as exc:  # noqa: BLE001 - any failure of the new executor is reported
        return f"failed ({type(exc).__name__}: {str(exc)[:120]})"
    return POOL_MEASURED if sums == expected else "failed (wrong sums)"


def _release(result: Result, size: Sizes, cpus: int, rate: float,
             say: Callable[[str], None]) -> None:
    chunk_count = size.chunks_per_cpu * cpus
    chunk_bytes = max(2**16, size.hash_bytes // chunk_count)
    chunks = work.make_chunks(chunk_count, chunk_bytes)
    result.parameters.update(hash_chunks=chunk_count, hash_chunk_bytes=chunk_bytes)

    digests = [work.hash_chunk(chunk) for chunk in chunks]
    # The pure-Python tasks are sized to take as long as hashing one chunk does here.
    start = time.perf_counter()
    for chunk in chunks:
        work.hash_chunk(chunk)
    per_chunk_s = (time.perf_counter() - start) / chunk_count
    iterations = iterations_for(per_chunk_s, rate)
    result.parameters.update(python_task_s=per_chunk_s, python_task_iterations=iterations)
    tasks = {"sha256": (work.hash_chunk, chunks), "python": (burn, [iterations] * chunk_count)}

    outputs: dict[tuple[str, str], list[list]] = {}
    for workload, (task, inputs) in tasks.items():
        for backend, workers in (("serial", 1), ("threads", cpus)):
            say(f"release: {workload}, {backend}, {workers} workers")
            runs = outputs.setdefault((workload, backend), [])
            if backend == "serial":
                def case(_: Any, t=task, xs=inputs, out=runs) -> None:
                    out.append([t(x) for x in xs])
            else:
                def case(_: Any, t=task, xs=inputs, w=workers, out=runs) -> None:
                    out.append(work.map_on_threads(t, xs, w))
            samples = measure(case, size.release)
            result.add("release", {"workload": workload, "backend": backend,
                                   "workers": workers}, samples)
    result.values["digests_match"] = all(
        out == digests for out in outputs[("sha256", "serial")] + outputs[("sha256", "threads")]
    )


def _switch(result: Result, size: Sizes, rate: float, say: Callable[[str], None]) -> None:
    default = sys.getswitchinterval()
    intervals = [default * factor for factor in SWITCH_FACTORS]
    result.parameters["switch_intervals_s"] = intervals
    spin_iterations = iterations_for(1e-4, rate)  # the busy thread re-checks its stop flag

    say("wake-up: no busy thread")
    samples = work.wake_up_latencies(size.sleeps, size.sleep_s, False, burn, spin_iterations)
    result.add("wake_up", {"interval_s": default, "busy": False}, samples)
    for interval in intervals:
        say(f"wake-up: busy thread, switch interval {interval:g} s")
        with work.switch_interval(interval):
            samples = work.wake_up_latencies(size.sleeps, size.sleep_s, True, burn,
                                             spin_iterations)
        result.add("wake_up", {"interval_s": interval, "busy": True}, samples)

    iterations = iterations_for(size.switch_task_s, rate)
    for interval in intervals:
        say(f"switch cost: two CPU-bound threads, switch interval {interval:g} s")
        with work.switch_interval(interval):
            samples = measure(lambda _: work.map_on_threads(burn, [iterations] * 2, 2),
                              size.switch_cost)
        result.add("switch_cost", {"interval_s": interval, "threads": 2}, samples)
    result.parameters["switch_task_s"] = size.switch_task_s


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.
