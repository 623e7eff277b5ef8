"""The actor-learner chapter: one learning agent run four ways.

1. one process: collect a batch, update, repeat;
2. lock-step: Ray actors sample, the learner waits for all of them, updates, broadcasts;
3. asynchronous: worker processes sample without ever waiting for the learner, reading
   the newest weights from shared memory, and the learner updates from whatever batch
   arrives first;
4. vectorised: one process steps many environments at once through gymnasium's
   vector API.

The agent itself (policy, sampler, learner) is in
:mod:`parbook.chapters.actor_learner.agent`. Every way returns a :class:`RunRecord`
with its learning curve, throughput, staleness and final weights. Every wait is bounded;
every environment, process, queue and actor is closed, joined or killed in ``finally``.
The asynchronous way forks processes, so it must run before Ray is started in the same
process (the experiment runs it first).
"""

from __future__ import annotations

import contextlib
import queue as queue_module
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parbook.chapters.actor_learner.agent import (
    PARAMETERS,
    Batch,
    Learner,
    Sampler,
    VectorSampler,
)

#: Upper bound on any single wait (a queue read, a ray.get), so a broken run fails.
WAIT_S = 60.0
#: How long stopping workers may take before they are killed.
STOP_S = 10.0


@dataclass
class RunRecord:
    """What one training run did: throughput, staleness, its curve and its weights."""

    way: str
    seed: int
    samplers: int           # processes or environments sampling in parallel
    startup_s: float        # from creating the samplers to the first step
    wall_s: float = 0.0     # from the first step to the last update
    env_steps: int = 0      # steps in the batches the learner used
    updates: int = 0
    sample_s: float = 0.0   # time the samplers spent sampling those batches
    staleness: float = 0.0  # mean over the transitions used, in updates
    capped: bool = False    # stopped by the time limit before the step budget
    #: One row per update: seconds since the first step, env steps so far, episodes
    #: that ended in the batch, and the sum of their returns.
    curve: list[list[float]] = field(default_factory=list)
    theta: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Training:
    """The learner's side of every way: update on a batch, and keep the record."""

    def __init__(self, record: RunRecord, budget_steps: int, time_limit_s: float) -> None:
        self.record = record
        self.learner = Learner()
        self.budget_steps = budget_steps
        self.time_limit_s = time_limit_s
        self._staleness_sum = 0.0
        self._transitions = 0
        self.began = time.perf_counter()

    def start_clock(self) -> None:
        self.began = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def done(self) -> bool:
        """True once the step budget is spent or the time limit has passed."""
        if self.record.env_steps >= self.budget_steps:
            return True
        if self.elapsed() >= self.time_limit_s:
            self.record.capped = True
            return True
        return False

    def consume(self, batch: Batch) -> None:
        """Update on ``batch`` (skipped if no episode ended in it) and log the update."""
        record = self.record
        record.env_steps += batch.env_steps
        record.sample_s += batch.sample_s
        if batch.size == 0:
            return
        staleness = self.learner.update(batch)
        self._staleness_sum += staleness * batch.size
        self._transitions += batch.size
        record.updates += 1
        record.curve.append([self.elapsed(), record.env_steps, len(batch.episode_returns),
                             float(sum(batch.episode_returns))])

    def finish(self) -> RunRecord:
        record = self.record
        record.wall_s = self.elapsed()
        record.staleness = self._staleness_sum / max(1, self._transitions)
        record.theta = [float(x) for x in self.learner.theta]
        return record


def merge(batches: list[Batch]) -> Batch:
    """Several samplers' batches as one (the lock-step learner's single update)."""
    return Batch(
        obs=np.concatenate([b.obs for b in batches]),
        actions=np.concatenate([b.actions for b in batches]),
        behaviour_probs=np.concatenate([b.behaviour_probs for b in batches]),
        returns=np.concatenate([b.returns for b in batches]),
        versions=np.concatenate([b.versions for b in batches]),
        episode_returns=[r for b in batches for r in b.episode_returns],
        env_steps=sum(b.env_steps for b in batches),
        sample_s=sum(b.sample_s for b in batches),
    )


# ---------------------------------------------------------------------------------------
# 1. One process.


# [start:one-process]
def one_process(seed: int, batch_steps: int, budget_steps: int,
                time_limit_s: float) -> RunRecord:
    """Collect ``batch_steps`` steps, update, repeat, in this process."""
    began = time.perf_counter()
    sampler = Sampler(seed)
    record = RunRecord("one_process", seed, samplers=1, startup_s=time.perf_counter() - began)
    training = Training(record, budget_steps, time_limit_s)
    try:
        while not training.done():
            learner = training.learner
            training.consume(sampler.sample(learner.theta, batch_steps, learner.version))
    finally:
        sampler.close()
    return training.finish()
# [end:one-process]


# ---------------------------------------------------------------------------------------
# 4. One process, vectorised environment.


# [start:vectorised]
def vectorised(seed: int, batch_steps: int, budget_steps: int, time_limit_s: float,
               envs: int, mode: str) -> RunRecord:
    """Step ``envs`` environments together, ``batch_steps // envs`` steps each, update."""
    began = time.perf_counter()
    sampler = VectorSampler(envs, seed, mode)
    record = RunRecord(f"vectorised_{mode}", seed, samplers=envs,
                       startup_s=time.perf_counter() - began)
    training = Training(record, budget_steps, time_limit_s)
    try:
        while not training.done():
            learner = training.learner
            training.consume(sampler.sample(learner.theta, batch_steps // envs,
                                            learner.version))
    finally:
        sampler.close()
    return training.finish()
# [end:vectorised]


# ---------------------------------------------------------------------------------------
# 2. Lock-step: Ray actors and a learner that waits for all of them.


class SamplerActor:
    """A Ray actor holding one :class:`Sampler`. ``__init__`` does nothing expensive;
    ``reset`` builds the environment, so one set of actors serves several seeded runs."""

    def __init__(self) -> None:
        self.sampler: Sampler | None = None

    def reset(self, seed: int, index: int) -> int:
        if self.sampler is not None:
            self.sampler.close()
        self.sampler = Sampler(seed, index)
        return index

    def sample(self, theta: np.ndarray, steps: int, version: int) -> Batch:
        assert self.sampler is not None, "call reset first"
        return self.sampler.sample(theta, steps, version)

    def receive(self, weights: np.ndarray) -> int:
        """Take a weight array and do nothing with it: the cost of getting it here."""
        return int(weights.nbytes)


def remote_sampler_class() -> Any:
    """:class:`SamplerActor` as a Ray actor class (built lazily: importing Ray is slow)."""
    import ray

    return ray.remote(SamplerActor)


def sampler_seed(seed: int, index: int) -> int:
    """The environment seed of sampler ``index`` in the run seeded ``seed``."""
    return 1000 * (seed + 1) + index


def start_actors(ray: Any, count: int) -> list[Any]:
    """``count`` sampler actors, alive and answering."""
    actors = [remote_sampler_class().remote() for _ in range(count)]
    ray.get([actor.reset.remote(sampler_seed(0, i), i) for i, actor in enumerate(actors)],
            timeout=WAIT_S)
    return actors


# [start:lockstep]
def lockstep(ray: Any, actors: list[Any], seed: int, batch_steps: int, budget_steps: int,
             time_limit_s: float) -> RunRecord:
    """Broadcast the weights, let every actor sample its share, wait for all, update."""
    ray.get([a.reset.remote(sampler_seed(seed, i), i) for i, a in enumerate(actors)],
            timeout=WAIT_S)
    record = RunRecord("lockstep", seed, samplers=len(actors), startup_s=0.0)
    training = Training(record, budget_steps, time_limit_s)
    share = batch_steps // len(actors)
    waiting = 0.0  # summed over actors: round time not spent sampling
    while not training.done():
        learner = training.learner
        round_began = time.perf_counter()
        weights = ray.put(learner.theta)  # one copy in the object store, one ref for all
        batches = ray.get([a.sample.remote(weights, share, learner.version) for a in actors],
                          timeout=WAIT_S)
        training.consume(merge(batches))
        round_s = time.perf_counter() - round_began
        waiting += sum(round_s - b.sample_s for b in batches)
    record.extra["idle_s"] = waiting
    return training.finish()
# [end:lockstep]


# ---------------------------------------------------------------------------------------
# 3. Asynchronous: worker processes, weights in shared memory, batches through a queue.


# [start:async-worker]
def async_worker(index: int, seed: int, steps: int, shared: Any, batches: Any,
                 go: Any, stop: Any) -> None:
    """Sample with the newest published weights, hand the batch over, repeat, until
    ``stop``. It never waits for the learner except when the queue is full."""
    sampler = Sampler(seed, index)
    waited = 0.0
    try:
        batches.put(("ready", index, None), timeout=WAIT_S)
        if not go.wait(WAIT_S):
            return
        published = np.frombuffer(shared.get_obj())  # [theta..., version], no copy
        theta = np.empty(PARAMETERS)
        while not stop.is_set():
            with shared.get_lock():  # held for a copy of a few numbers
                theta[:] = published[:PARAMETERS]
                version = int(published[PARAMETERS])
            batch = sampler.sample(theta, steps, version)
            began = time.perf_counter()
            while not stop.is_set():
                try:
                    batches.put(("batch", index, batch), timeout=0.05)
                    break
                except queue_module.Full:
                    continue
            waited += time.perf_counter() - began
    finally:
        sampler.close()
        with contextlib.suppress(queue_module.Full):
            batches.put(("done", index, waited), timeout=STOP_S)
# [end:async-worker]


# [start:async-learner]
def asynchronous(context: Any, workers: int, seed: int, batch_steps: int,
                 budget_steps: int, time_limit_s: float) -> RunRecord:
    """Update on the first ``batch_steps`` steps to arrive, from whichever workers sent
    them, then publish the new weights and their version."""
    shared = context.Array("d", PARAMETERS + 1)  # weights and their version, with a lock
    published = np.frombuffer(shared.get_obj())
    batches = context.Queue(maxsize=2 * workers)
    go, stop = context.Event(), context.Event()
    processes = [
        context.Process(target=async_worker, name=f"sampler-{i}",
                        args=(i, sampler_seed(seed, i), batch_steps // workers, shared, batches,
                              go, stop))
        for i in range(workers)
    ]
    began = time.perf_counter()
    record = RunRecord("async", seed, samplers=workers, startup_s=0.0)
    done: dict[int, float] = {}
    try:
        for process in processes:
            process.start()
        for _ in range(workers):
            _expect(batches.get(timeout=WAIT_S), "ready")
        record.startup_s = time.perf_counter() - began
        training = Training(record, budget_steps, time_limit_s)
        go.set()
        while not training.done():
            arrived: list[Batch] = []  # the first batch_steps steps, from any workers
            while sum(b.env_steps for b in arrived) < batch_steps:
                kind, index, batch = batches.get(timeout=WAIT_S)
                _expect((kind, index, batch), "batch")
                arrived.append(batch)
            training.consume(merge(arrived))
            with shared.get_lock():
                published[:PARAMETERS] = training.learner.theta
                published[PARAMETERS] = training.learner.version
        training.finish()
    finally:
        stop.set()
        go.set()
        _drain(batches, done, workers)
        _join(processes)
        batches.close()
        batches.join_thread()
    record.extra["queue_wait_s"] = sum(done.values())
    return record
# [end:async-learner]


def _expect(message: tuple[str, int, Any], kind: str) -> None:
    if message[0] != kind:
        raise RuntimeError(f"expected a {kind!r} message, got {message[0]!r}")


def _drain(batches: Any, done: dict[int, float], workers: int) -> None:
    """Read (and drop) what the workers still send until each has said it is done:
    a process that has put data on a queue cannot exit until someone reads it."""
    deadline = time.monotonic() + STOP_S
    while len(done) < workers and time.monotonic() < deadline:
        try:
            kind, index, payload = batches.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue_module.Empty:
            break
        if kind == "done":
            done[index] = payload


def _join(processes: list[Any]) -> None:
    deadline = time.monotonic() + STOP_S
    for process in processes:
        if process.pid is not None:
            process.join(max(0.0, deadline - time.monotonic()))
    stuck = [p for p in processes if p.pid is not None and p.is_alive()]
    for process in stuck:
        process.kill()
        process.join(STOP_S)
    if stuck:
        raise TimeoutError(f"sampler processes still running after {STOP_S} s: {stuck}")


# ---------------------------------------------------------------------------------------
# Round length: what one sampling round costs when it is short.


def minibatch(size: int, seed: int = 0) -> Batch:
    """A fixed batch of ``size`` transitions, for a learner update of constant cost."""
    sampler = Sampler(seed)
    try:
        batch = sampler.sample(np.zeros(PARAMETERS), 40 * size, 0)
    finally:
        sampler.close()
    keep = slice(0, size)
    return Batch(batch.obs[keep], batch.actions[keep], batch.behaviour_probs[keep],
                 batch.returns[keep], batch.versions[keep], [], size, 0.0)


# [start:rounds]
def rounds_one_process(sampler: Sampler | VectorSampler, learner: Learner, update_on: Batch,
                       steps: int, rounds: int) -> int:
    """``rounds`` rounds of ``steps`` steps, each followed by one fixed-size update (with a
    ``VectorSampler``, ``steps`` steps of every environment)."""
    taken = 0
    for _ in range(rounds):
        taken += sampler.sample(learner.theta, steps, learner.version).env_steps
        learner.update(update_on)
    return taken


def rounds_lockstep(ray: Any, actors: list[Any], learner: Learner, update_on: Batch,
                    steps: int, rounds: int) -> int:
    """The same rounds on Ray actors: broadcast, every actor samples, gather, update."""
    taken = 0
    for _ in range(rounds):
        weights = ray.put(learner.theta)
        batches = ray.get([a.sample.remote(weights, steps, learner.version) for a in actors],
                          timeout=WAIT_S)
        taken += sum(b.env_steps for b in batches)
        learner.update(update_on)
    return taken
# [end:rounds]


# ---------------------------------------------------------------------------------------
# Broadcasting weights.


# [start:broadcast]
def broadcast_by_ref(ray: Any, actors: list[Any], weights: np.ndarray) -> None:
    """``ray.put`` once; every actor gets the same reference."""
    ref = ray.put(weights)
    ray.get([actor.receive.remote(ref) for actor in actors], timeout=WAIT_S)
    del ref


def broadcast_by_value(ray: Any, actors: list[Any], weights: np.ndarray) -> None:
    """Pass the array itself to every call: Ray stores one copy per call."""
    ray.get([actor.receive.remote(weights) for actor in actors], timeout=WAIT_S)


def publish_to_shared(shared: Any, weights: np.ndarray) -> None:
    """Copy the weights into a shared block under its lock, as the async learner does,
    and copy them out once, as each worker does."""
    view = np.frombuffer(shared.get_obj(), dtype=weights.dtype)
    with shared.get_lock():
        view[:] = weights
    with shared.get_lock():
        view.copy()
# [end:broadcast]


def timed(function: Callable[[], Any]) -> float:
    """Seconds one call of ``function`` took."""
    began = time.perf_counter()
    function()
    return time.perf_counter() - began
