"""The off-policy chapter: one DQN agent (:mod:`parbook.chapters.off_policy.agent`) run three
ways.

1. one process: a batched vector environment feeds the replay buffer, and the learner
   makes its updates between two vector steps;
2. Ape-X style: actor processes step their own vector environments and write transitions
   into a ring buffer in shared memory, while the learner (this process) samples from it
   and publishes its weights, with their version, in another shared block;
3. Ray: actors sample batches of transitions with the weights they were handed (one
   ``ray.put`` per handed-out call, shared by every call that starts with those weights),
   and the learner pulls the finished batches into its own replay buffer.

Every way keeps the same pace (:class:`Pace`): one update per ``steps_per_update``
environment steps, with samplers in other processes allowed a little way ahead, so that all
three learn from the same number of updates per step and differ only in how fast they get
through them. Every
run is bounded by an environment-step budget (the updates that budget pays for) and by a
time limit that a normal run should never reach. Every wait is bounded; every process,
shared-memory block and environment is stopped, unlinked or closed in ``finally``. The
Ape-X way forks processes, so it runs before Ray is started in the same process.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parbook.chapters.off_policy.agent import (
    MINIBATCH,
    PARAMETERS,
    TRANSITION,
    Learner,
    QNetwork,
    Replay,
    Sampler,
    epsilon,
    local_replay,
)
from parbook.shared.shm import SharedArray, join_all

#: Upper bound on any single wait (a barrier, a ray.get), so that a broken run fails.
WAIT_S = 60.0
#: How long a sampler or the learner sleeps when the pace holds it back.
PAUSE_S = 0.0005
#: Transitions the replay buffer holds (more than any run writes at the book's sizes).
CAPACITY = 100_000
#: Slots of the Ape-X control block.
WRITTEN, VERSION = 0, 1
#: Columns of each Ape-X actor's row of statistics (written by that actor only).
ENV_STEPS, STALENESS_SUM, STALENESS_MAX, SAMPLE_S, HELD_S, EPISODES, RETURN_SUM = range(7)
STAT_COLUMNS = 7

# [start:pace]
@dataclass(frozen=True)
class Pace:
    """One learner update per ``steps_per_update`` environment steps, after
    ``warmup_steps``.

    The learner never runs ahead of the steps written: it makes an update only when
    the steps pay for it. Samplers in other processes may run up to ``slack_steps``
    ahead of the learner, so that it finds transitions waiting, and no further: that
    keeps every way at the same ratio of updates to steps, whichever side is faster."""

    warmup_steps: int
    steps_per_update: int
    slack_steps: int = 0

    def lead(self, env_steps: int, updates: int) -> int:
        """Steps written beyond what ``updates`` pay for."""
        return env_steps - self.warmup_steps - self.steps_per_update * updates

    def may_sample(self, env_steps: int, updates: int) -> bool:
        return self.lead(env_steps, updates) < self.slack_steps

    def may_update(self, env_steps: int, updates: int) -> bool:
        return self.lead(env_steps, updates) >= self.steps_per_update

    def updates_for(self, budget_steps: int) -> int:
        """How many updates a budget of environment steps pays for."""
        return max(0, budget_steps - self.warmup_steps) // self.steps_per_update
# [end:pace]


@dataclass
class RunRecord:
    """What one training run did; ``snapshots`` and ``weights`` stay in memory (the
    experiment evaluates them and keeps only the returns)."""

    way: str
    seed: int
    samplers: int            # processes (or, in one process, 1) stepping environments
    envs: int                # environments each sampler steps
    startup_s: float = 0.0   # from creating the samplers until they are ready
    wall_s: float = 0.0      # from the first step to the last update
    env_steps: int = 0
    updates: int = 0
    staleness_mean: float = 0.0  # updates between acting and reaching the buffer
    staleness_max: float = 0.0
    sample_s: float = 0.0    # time the samplers spent stepping (summed over samplers)
    held_s: float = 0.0      # time the samplers were held back by the pace (summed)
    learner_wait_s: float = 0.0  # time the learner waited for transitions
    weight_puts: int = 0     # ray.put calls of the weights (Ray way)
    capped: bool = False     # stopped by the time limit before the budget was spent
    episodes: int = 0        # training episodes that ended (epsilon-greedy)
    episode_return_sum: float = 0.0
    snapshots: list[tuple[float, int, int, np.ndarray]] = field(default_factory=list)
    weights: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record without its weights, for the result file."""
        out = asdict(self)
        del out["snapshots"], out["weights"]
        return out


class Training:
    """The learner's side of every way: the budget, the clock and the snapshots."""

    def __init__(self, record: RunRecord, pace: Pace, budget_steps: int,
                 time_limit_s: float, snapshot_steps: int, seed: int) -> None:
        self.record, self.pace = record, pace
        self.learner = Learner(seed)
        self.rng = np.random.default_rng(seed)
        self.total_updates = pace.updates_for(budget_steps)
        self.budget_steps = budget_steps
        self.time_limit_s = time_limit_s
        self.snapshot_steps = snapshot_steps
        self.next_snapshot = 0
        self.stale_sum, self.stale_transitions = 0.0, 0
        self.began = time.perf_counter()

    def start_clock(self) -> None:
        self.began = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.began

    def done(self) -> bool:
        """True once the budget's updates are made or the time limit has passed."""
        if self.learner.version >= self.total_updates:
            return True
        if self.elapsed() >= self.time_limit_s:
            self.record.capped = True
            return True
        return False

    def update(self, replay: Replay) -> None:
        """One learner update on a minibatch sampled uniformly from ``replay``."""
        self.learner.update(replay.sample(MINIBATCH, self.rng))

    def snapshot(self, env_steps: int, last: bool = False) -> None:
        """Keep a copy of the weights each time another ``snapshot_steps`` steps are in
        (and, with ``last``, of the final weights)."""
        if env_steps >= self.next_snapshot or last:
            self.record.snapshots.append((self.elapsed(), env_steps, self.learner.version,
                                          self.learner.weights.copy()))
            self.next_snapshot = (env_steps // self.snapshot_steps + 1) * self.snapshot_steps

    def stale(self, lag: int, transitions: int) -> None:
        """Record that ``transitions`` reached the buffer ``lag`` updates after acting."""
        self.stale_sum += lag * transitions
        self.stale_transitions += transitions
        self.record.staleness_max = max(self.record.staleness_max, lag)

    def finish(self, env_steps: int) -> RunRecord:
        """Stop the clock and complete the record."""
        record = self.record
        record.wall_s = self.elapsed()
        record.env_steps = env_steps
        record.updates = self.learner.version
        record.weights = self.learner.weights.copy()
        if not record.snapshots or record.snapshots[-1][2] != record.updates:
            self.snapshot(env_steps, last=True)  # the final weights, if not kept already
        if self.stale_transitions:
            record.staleness_mean = self.stale_sum / self.stale_transitions
        return record


# ---------------------------------------------------------------------------------------
# 1. One process, a batched vector environment.


# [start:one-process]
def one_process(seed: int, envs: int, pace: Pace, budget_steps: int, time_limit_s: float,
                snapshot_steps: int) -> RunRecord:
    """Step ``envs`` environments at once, write the transitions, make the updates they
    pay for, repeat: nothing crosses a process boundary, and nothing is stale."""
    began = time.perf_counter()
    sampler, replay = Sampler(envs, seed), local_replay(CAPACITY)
    record = RunRecord("one_process", seed, samplers=1, envs=envs,
                       startup_s=time.perf_counter() - began)
    training = Training(record, pace, budget_steps, time_limit_s, snapshot_steps, seed)
    learner, written = training.learner, 0
    try:
        while not training.done():
            stepped = time.perf_counter()
            transitions, ended = sampler.sample(learner.online, learner.version,
                                                epsilon(written), steps=1)
            record.sample_s += time.perf_counter() - stepped
            written = replay.add(transitions)
            _count_episodes(record, ended)
            while pace.may_update(written, learner.version) and not training.done():
                training.update(replay)
            training.snapshot(written)
    finally:
        sampler.close()
    return training.finish(written)
# [end:one-process]


def sampler_seed(seed: int, index: int) -> int:
    """The environment seed of sampler ``index`` in the run seeded ``seed``."""
    return 1000 * (seed + 1) + index


def _count_episodes(record: RunRecord, ended: list[float]) -> None:
    record.episodes += len(ended)
    record.episode_return_sum += float(sum(ended))


# ---------------------------------------------------------------------------------------
# 2. Ape-X style: actor processes, a replay ring and the weights in shared memory.


@dataclass
class ApexShared:
    """The shared-memory blocks of one Ape-X run and the locks that guard them.

    ``ring`` holds the transitions; ``control`` the count of transitions written (under
    ``ring_lock``) and the version of the published weights (under ``weights_lock``);
    ``weights`` the learner's published weights; ``stats`` one row per actor, written
    only by that actor. Passed whole to each actor process: the blocks travel by name."""

    ring: SharedArray
    control: SharedArray
    weights: SharedArray
    stats: SharedArray
    ring_lock: Any
    weights_lock: Any

    def replay(self) -> Replay:
        """The ring as a replay buffer (the count of writes is control[WRITTEN])."""
        return Replay(self.ring.array,
                      self.control.array[WRITTEN:WRITTEN + 1], self.ring_lock)

    # [start:apex-weights]
    def publish(self, weights: np.ndarray, version: int) -> None:
        """The learner: copy its weights in, then their version, under the lock."""
        with self.weights_lock:
            self.weights.array[:] = weights
            self.control.array[VERSION] = version

    def read_weights(self, into: np.ndarray) -> int:
        """An actor: copy the newest weights out; return their version, read with
        them under the same lock."""
        with self.weights_lock:
            into[:] = self.weights.array
            return int(self.control.array[VERSION])
    # [end:apex-weights]

    def blocks(self) -> tuple[SharedArray, ...]:
        return (self.ring, self.control, self.weights, self.stats)


@contextlib.contextmanager
def apex_shared(context: Any, actors: int, capacity: int = CAPACITY) -> Any:
    """Create the blocks of an Ape-X run; close and unlink every one of them on exit."""
    with contextlib.ExitStack() as stack:
        yield ApexShared(
            ring=stack.enter_context(SharedArray((capacity,), TRANSITION)),
            control=stack.enter_context(SharedArray((2,), np.int64)),
            weights=stack.enter_context(SharedArray((PARAMETERS,), np.float32)),
            stats=stack.enter_context(SharedArray((actors, STAT_COLUMNS), np.float64)),
            ring_lock=context.Lock(), weights_lock=context.Lock(),
        )


# [start:apex-actor]
def apex_actor_loop(sampler: Sampler, chunk_steps: int, pace: Pace, budget_steps: int,
                    shared: ApexShared, row: np.ndarray, stop: Any) -> None:
    """Step the environments ``chunk_steps`` times with the newest published weights,
    append the transitions to the shared ring, repeat until ``stop``."""
    network = QNetwork(np.empty(PARAMETERS, np.float32))
    replay, control = shared.replay(), shared.control.array
    while not stop.is_set():
        written = int(control[WRITTEN])
        updates = int(control[VERSION])
        if written >= budget_steps or not pace.may_sample(written, updates):
            row[HELD_S] += pause()  # the learner is behind: let it catch up
            continue
        version = shared.read_weights(network.flat)
        began = time.perf_counter()
        transitions, ended = sampler.sample(network, version, epsilon(written),
                                            chunk_steps)
        row[SAMPLE_S] += time.perf_counter() - began
        replay.add(transitions)  # under the ring's lock: the slots, then the count
        lag = int(control[VERSION]) - version  # updates the learner made meanwhile
        row[ENV_STEPS] += len(transitions)
        row[STALENESS_SUM] += lag * len(transitions)
        row[STALENESS_MAX] = max(row[STALENESS_MAX], lag)
        row[EPISODES] += len(ended)
        row[RETURN_SUM] += sum(ended)
# [end:apex-actor]


def apex_actor(index: int, seed: int, envs: int, chunk_steps: int, pace: Pace,
               budget_steps: int, shared: ApexShared, start: Any, stop: Any) -> None:
    """An Ape-X actor process: build its environments, wait for the start, run
    :func:`apex_actor_loop`; close its mappings of the blocks (the learner unlinks them)."""
    try:
        sampler = Sampler(envs, seed)
        try:
            start.wait(WAIT_S)  # every actor ready, and the learner's clock about to start
            apex_actor_loop(sampler, chunk_steps, pace, budget_steps, shared,
                            shared.stats.array[index], stop)
        finally:
            sampler.close()
    finally:
        for block in shared.blocks():
            block.close()


def pause() -> float:
    """Sleep :data:`PAUSE_S`; return the seconds it really took."""
    began = time.perf_counter()
    time.sleep(PAUSE_S)
    return time.perf_counter() - began


def apex(context: Any, actors: int, seed: int, envs: int, chunk_steps: int, pace: Pace,
         budget_steps: int, time_limit_s: float, snapshot_steps: int) -> RunRecord:
    """An Ape-X run: the shared blocks, ``actors`` actor processes, and the learner
    (:func:`apex_learner`) in this process; every process joined, every block unlinked."""
    record = RunRecord("apex", seed, samplers=actors, envs=envs)
    training = Training(record, pace, budget_steps, time_limit_s, snapshot_steps, seed)
    with apex_shared(context, actors) as shared:
        start, stop = context.Barrier(actors + 1), context.Event()
        processes = [context.Process(
            target=apex_actor, name=f"apex-actor-{i}",
            args=(i, sampler_seed(seed, i), envs, chunk_steps, pace, budget_steps, shared,
                  start, stop)) for i in range(actors)]
        began = time.perf_counter()
        try:
            for process in processes:
                process.start()
            start.wait(WAIT_S)
            record.startup_s = time.perf_counter() - began
            apex_learner(training, shared, processes)
        finally:
            stop.set()
            start.abort()  # frees any actor still waiting at the start
            join_all([p for p in processes if p.pid is not None])
        _apex_stats(record, shared.stats.array)
        return training.finish(int(shared.control.array[WRITTEN]))


# [start:apex-learner]
def apex_learner(training: Training, shared: ApexShared, processes: list[Any]) -> None:
    """Sample from the shared ring, update, publish the weights and their version; wait
    only when the pace says the actors are behind."""
    learner, pace, record = training.learner, training.pace, training.record
    replay, control = shared.replay(), shared.control.array
    shared.publish(learner.weights, learner.version)
    training.start_clock()
    while not training.done():
        written = int(control[WRITTEN])
        if not pace.may_update(written, learner.version):
            _check_alive(processes)
            record.learner_wait_s += pause()  # the actors are behind
            continue
        training.update(replay)
        shared.publish(learner.weights, learner.version)
        training.snapshot(written)
# [end:apex-learner]


def _wait_for_one(ray: Any, calls: list[Any], record: RunRecord) -> list[Any]:
    """Wait (bounded) until one of ``calls`` has finished; count the wait as the learner's."""
    if not calls:
        raise RuntimeError("the learner waits for transitions, but no call is pending")
    began = time.perf_counter()
    ready, _ = ray.wait(calls, num_returns=1, timeout=WAIT_S)
    record.learner_wait_s += time.perf_counter() - began
    if not ready:
        raise TimeoutError(f"no sampler call finished within {WAIT_S} s")
    return ready


def _check_alive(processes: list[Any]) -> None:
    dead = [p.name for p in processes if not p.is_alive()]
    if dead:
        raise RuntimeError(f"Ape-X actors died: {dead}")


def _apex_stats(record: RunRecord, stats: np.ndarray) -> None:
    """Sum the actors' rows into the record (staleness is kept by the actors here)."""
    steps = float(stats[:, ENV_STEPS].sum())
    record.staleness_mean = float(stats[:, STALENESS_SUM].sum()) / max(1.0, steps)
    record.staleness_max = float(stats[:, STALENESS_MAX].max())
    record.sample_s = float(stats[:, SAMPLE_S].sum())
    record.held_s = float(stats[:, HELD_S].sum())
    record.episodes = int(stats[:, EPISODES].sum())
    record.episode_return_sum = float(stats[:, RETURN_SUM].sum())
    record.extra["actor_env_steps"] = [int(s) for s in stats[:, ENV_STEPS]]


# ---------------------------------------------------------------------------------------
# 3. Ray: actors sample batches, the learner pulls them and hands out the weights.


class RaySampler:
    """A Ray actor holding one :class:`Sampler`. ``__init__`` does nothing expensive;
    ``reset`` builds the environments, so one set of actors serves several seeded runs."""

    def __init__(self) -> None:
        self.sampler: Sampler | None = None
        self.network = QNetwork(np.empty(PARAMETERS, np.float32))

    def reset(self, envs: int, seed: int) -> int:
        if self.sampler is not None:
            self.sampler.close()
        self.sampler = Sampler(envs, seed)
        return seed

    def ping(self) -> int:
        """Nothing: a call's round trip, for timing."""
        return 0

    # [start:ray-sample]
    def sample(self, weights: np.ndarray, version: int, explore: float, steps: int
               ) -> tuple[np.ndarray, list[float], float]:
        """``steps`` steps of every environment with the weights handed in (read from
        the object store without a copy, then copied into this actor's network)."""
        assert self.sampler is not None, "call reset first"
        began = time.perf_counter()
        self.network.flat[:] = weights
        transitions, ended = self.sampler.sample(self.network, version, explore, steps)
        return transitions, ended, time.perf_counter() - began
    # [end:ray-sample]


def call_round_trips(ray: Any, actor: Any, times: int) -> None:
    """``times`` calls of an actor's empty method, one after another: what a round trip
    to a replay actor per minibatch would cost the learner."""
    for _ in range(times):
        ray.get(actor.ping.remote(), timeout=WAIT_S)


def put_weights(ray: Any, weights: np.ndarray, times: int) -> None:
    """``ray.put`` the weights ``times`` times, dropping each reference at once: what
    putting them after every update would cost the learner."""
    for _ in range(times):
        ray.put(weights)


def remote_sampler_class() -> Any:
    """:class:`RaySampler` as a Ray actor class (built lazily: importing Ray is slow)."""
    import ray

    return ray.remote(RaySampler)


def start_ray_actors(ray: Any, count: int) -> list[Any]:
    """``count`` sampler actors, alive and answering."""
    actors = [remote_sampler_class().remote() for _ in range(count)]
    ray.get([actor.reset.remote(1, i) for i, actor in enumerate(actors)], timeout=WAIT_S)
    return actors


# [start:ray-learner]
def ray_way(ray: Any, actors: list[Any], seed: int, envs: int, chunk_steps: int,
            pace: Pace, budget_steps: int, time_limit_s: float, snapshot_steps: int,
            updates_per_poll: int) -> RunRecord:
    """The learner pulls: it hands each idle actor a call with the newest weights, adds
    every finished batch to its own replay buffer, and updates in between."""
    ray.get([a.reset.remote(envs, sampler_seed(seed, i)) for i, a in enumerate(actors)],
            timeout=WAIT_S)
    record = RunRecord("ray", seed, samplers=len(actors), envs=envs)
    training = Training(record, pace, budget_steps, time_limit_s, snapshot_steps, seed)
    learner, replay = training.learner, local_replay(CAPACITY)
    pending: dict[Any, tuple[Any, int]] = {}  # call -> (its actor, the version it got)
    idle, written, weights_ref, put_version = list(actors), 0, None, -1
    try:
        while not training.done():
            promised = written + chunk_steps * envs * len(pending)  # at most
            while idle and promised < budget_steps and pace.may_sample(promised,
                                                                       learner.version):
                if put_version != learner.version:  # one put per new version handed out
                    weights_ref, put_version = ray.put(learner.weights), learner.version
                    record.weight_puts += 1
                actor = idle.pop()
                call = actor.sample.remote(weights_ref, put_version, epsilon(promised),
                                           chunk_steps)
                pending[call] = (actor, put_version)
                promised += chunk_steps * envs
            if pace.may_update(written, learner.version):  # look, but do not wait
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0)
            else:  # nothing left to learn from: wait for a call to finish
                ready = _wait_for_one(ray, list(pending), record)
            for call in ready:
                actor, version = pending.pop(call)
                transitions, ended, sample_s = ray.get(call, timeout=WAIT_S)
                written = replay.add(transitions)
                training.stale(learner.version - version, len(transitions))
                record.sample_s += sample_s
                _count_episodes(record, ended)
                idle.append(actor)
            for _ in range(updates_per_poll):
                if training.done() or not pace.may_update(written, learner.version):
                    break
                training.update(replay)
            training.snapshot(written)
    finally:
        if pending:  # let the last calls finish, so the actors are free for the next run
            ray.wait(list(pending), num_returns=len(pending), timeout=WAIT_S)
    return training.finish(written)
# [end:ray-learner]
