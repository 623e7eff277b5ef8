"""The sweep's EnvPool phase, as a program of its own.

Run as ``python -m parbook.chapters.vector_envs.pool_sweep PLAN`` (the experiment does, in
a child interpreter with a time limit), where PLAN is the JSON that
:func:`parbook.chapters.vector_envs.experiment.pool_plan` writes.
For every number of environments it opens one EnvPool in its synchronous mode and, with
at least two environments, one in its asynchronous mode (half the environments per
batch), and times them interleaved with the plain loop at every sweep point, as the
experiment times the other backends. Then it times the pool's own hand-off of one step
to its thread and back, without EnvPool's Python wrapper. It prints one JSON line: the
samples of every case and of the hand-off, the threads and batch sizes used, and the
share of the pool's steps that were resets.

Why a child: EnvPool's ``recv`` waits in C++ for its threads with no time limit, and
Python cannot interrupt that wait, so the phase runs where a time limit can stop it; and
EnvPool's threads then never live in a process that later forks. Where ``import envpool``
fails (it publishes wheels for Linux only), the program prints why and measures nothing.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.measure import measure as timed
from parbook.chapters.vector_envs import workload as work
from parbook.chapters.vector_envs.experiment import ENVPOOL_ASYNC as ASYNC
from parbook.chapters.vector_envs.experiment import ENVPOOL_SYNC as SYNC
from parbook.chapters.vector_envs.experiment import Point, loop_case, plain_loop, warm_first

#: Steps of every environment of the largest pool that measure the share of resets.
RESET_SHARE_STEPS = 500


def threads_for(num_envs: int, cpus: int) -> int:
    """One thread per usable CPU, and no more threads than environments.

    EnvPool's default (``num_threads=0``) is ``min(batch_size, hardware_concurrency())``,
    and ``std::thread::hardware_concurrency`` counts the machine's processors, including
    CPUs this process may not use (an affinity mask, a container's quota); more threads
    than usable CPUs only take turns, and a thread with no environment to step idles.
    """
    return max(1, min(num_envs, cpus))


def async_batch(num_envs: int) -> int | None:
    """The asynchronous mode's batch: half the environments; None with fewer than two,
    where no batch is smaller than the pool."""
    return num_envs // 2 if num_envs >= 2 else None


def _pool_case(pool: Any, point: Point) -> Callable[[Any], Any]:
    rng = np.random.default_rng(work.SEED)
    return lambda _: work.sample_pool(pool, rng, point.vector_steps, point.work_iterations)


def _async_case(pool: Any, point: Point, batch: int) -> Callable[[Any], Any]:
    rng = np.random.default_rng(work.SEED)
    batches = math.ceil(point.steps / batch)
    return lambda _: work.sample_pool_async(pool, rng, batches)


def _sweep_envs(points: list[Point], protocol: Protocol, cpus: int) -> list[dict[str, Any]]:
    """Every case at one number of environments: the loop, the synchronous pool at every
    work level (the added work run after each batch), the asynchronous pool with no added
    work (it could run that work nowhere but in the calling thread). The pools, and so
    their threads, are freed when this returns, before the next ones start."""
    envs = points[0].envs
    threads, batch = threads_for(envs, cpus), async_batch(envs)
    pools = {SYNC: work.make_pool(envs, envs, threads)}
    if batch is not None:
        pools[ASYNC] = work.make_pool(envs, batch, threads)
    cases = []
    with plain_loop() as loop_env:
        for index, point in enumerate(points):
            timed = {"loop": loop_case(loop_env, point), SYNC: _pool_case(pools[SYNC], point)}
            if ASYNC in pools and point.work_iterations == 0:
                timed[ASYNC] = _async_case(pools[ASYNC], point, batch)
            samples = measure_interleaved(timed, warm_first(protocol, index))
            for backend, backend_samples in samples.items():
                params = point.params("envpool", backend)
                if backend != "loop":
                    params.update(num_threads=threads,
                                  batch_size=envs if backend == SYNC else batch)
                if backend == ASYNC:  # whole batches (the same steps when batch | steps)
                    params["steps"] = math.ceil(point.steps / batch) * batch
                cases.append({"params": params, "samples": backend_samples})
    return cases


def hand_off_s(round_trips: int, protocol: Protocol) -> list[float]:
    """Seconds per hand-off of one action to a one-environment pool's thread and back.

    ``_send`` and ``_recv`` are the pool's C++ methods (bound with pybind11, the GIL
    released inside) that the public ``send``, ``recv`` and ``step`` wrap: the action goes
    into the pool's queue, its thread steps the environment, the state comes back as
    arrays. Timing them alone leaves out what the wrapper does in Python on every call.
    """
    pool = work.make_pool(1, 1, 1)
    action = pool._from(np.zeros(1, dtype=np.int64), None)  # the wrapper's conversion, once
    samples = timed(lambda _: [(pool._send(action), pool._recv()) for _ in range(round_trips)],
                    protocol)
    return [s / round_trips for s in samples]


def measure(argument: str) -> dict[str, Any]:
    """Run the phase that ``argument`` (see ``experiment.pool_plan``) describes."""
    import envpool

    given = json.loads(argument)
    points = [Point(**p) for p in given["points"]]
    protocol, cpus = Protocol(**given["protocol"]), given["cpus"]
    latency, round_trips = Protocol(**given["latency"]), given["round_trips"]
    counts = sorted({p.envs for p in points})
    cases = []
    for envs in counts:
        cases.extend(_sweep_envs([p for p in points if p.envs == envs], protocol, cpus))
    most = max(counts)
    pool = work.make_pool(most, most, threads_for(most, cpus))
    share = work.pool_reset_share(pool, np.random.default_rng(work.SEED), RESET_SHARE_STEPS)
    del pool
    return {"available": True, "version": envpool.__version__, "cases": cases,
            "hand_off_s": hand_off_s(round_trips, latency),
            "reset_share": share, "reset_share_steps": RESET_SHARE_STEPS * most,
            "num_threads": {str(n): threads_for(n, cpus) for n in counts},
            "async_batch": {str(n): async_batch(n) for n in counts}}


def unavailable_reason() -> str | None:
    """Why EnvPool cannot be imported here, or None when it can."""
    try:
        import envpool  # noqa: F401
    except Exception as error:  # ImportError, or OSError from a missing shared library
        return (f"import envpool failed on {sys.platform} ({type(error).__name__}: {error}); "
                "EnvPool publishes wheels for Linux only")
    return None


def main(argv: list[str]) -> int:
    """``PLAN``: measure, print one JSON line."""
    reason = unavailable_reason()
    report = {"available": False, "reason": reason} if reason else measure(argv[0])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    from parbook.chapters.vector_envs import pool_sweep

    sys.exit(pool_sweep.main(sys.argv[1:]))
