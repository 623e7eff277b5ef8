"""Environment sampling in one process and in parallel (the vector-envs chapter).

CartPole steps in microseconds, which is far less than any message to another process
costs. :class:`HeavyStep` adds a chosen amount of real CPU work to every step, so one
environment can stand for a simulator whose step costs 100 µs, 1 ms or 5 ms. Every
backend builds its environments with the same factory, :func:`make_env`, and samples
with actions drawn from a seeded generator: what is measured is the cost of stepping
environments, not of choosing actions.

Ray is imported lazily (only :func:`remote_runner` and :func:`sample_with_actors` use it),
so the child processes of a vector environment never import it. So is EnvPool (only
:func:`make_pool` imports it): it publishes wheels for Linux only, and everything else here
works without it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode, SyncVectorEnv

from parbook.shared.child import ChildRun, run_module
from parbook.shared.cpu import burn

ENV_ID = "CartPole-v1"
#: Seed of the first environment of a vector env (the others get SEED + 1, SEED + 2, ...).
SEED = 0
#: Longest any one step of a vector env, or any Ray call, may take before the run fails.
STEP_TIMEOUT_S = 120.0
#: How long closing a vector env may wait for its workers before they are terminated.
CLOSE_TIMEOUT_S = 30.0
BACKENDS = ("sync", "async_shm", "async_pipe")
#: Start methods, in the order the chapter shows them.
METHOD_ORDER = ("fork", "forkserver", "spawn")
#: The main-guard demonstration, run as a program of its own (``python -m MODULE METHOD``).
GUARD_MODULE = "parbook.chapters.vector_envs.guard"
#: Time limit of one run of the main-guard demonstration.
GUARD_LIMIT_S = 60.0
#: The EnvPool sweep, run as a program of its own (see pool_sweep.py).
POOL_MODULE = "parbook.chapters.vector_envs.pool_sweep"


# [start:heavy-step]
class HeavyStep(gymnasium.Wrapper):
    """An environment whose every step also burns ``work_iterations`` rounds of CPU work.

    It stands for a heavier simulator: the extra work is real computation, done in
    whichever process steps the environment.
    """

    def __init__(self, env: gymnasium.Env, work_iterations: int = 0) -> None:
        super().__init__(env)
        self.work_iterations = work_iterations

    def step(self, action: Any) -> tuple[Any, ...]:
        burn(self.work_iterations)
        return self.env.step(action)


def make_env(work_iterations: int = 0) -> gymnasium.Env:
    """The factory every backend uses: CartPole plus ``work_iterations`` of work per step."""
    return HeavyStep(gymnasium.make(ENV_ID), work_iterations)
# [end:heavy-step]


# [start:one-env-loop]
def sample_one_env(env: gymnasium.Env, rng: np.random.Generator, steps: int) -> np.ndarray:
    """Step one environment ``steps`` times with random actions; return the observations."""
    space = env.observation_space
    observations = np.empty((steps, *space.shape), dtype=space.dtype)
    for t in range(steps):
        observation, _reward, terminated, truncated, _info = env.step(
            int(rng.integers(env.action_space.n)))
        if terminated or truncated:
            observation, _info = env.reset()
        observations[t] = observation
    return observations
# [end:one-env-loop]


# [start:make-vector]
def make_vector(backend: str, num_envs: int, work_iterations: int,
                context: str | None = None, seed: int = SEED) -> gymnasium.vector.VectorEnv:
    """``num_envs`` environments behind one vector interface, reset and ready to step.

    ``backend`` is ``"sync"`` (one process, a loop over the environments), ``"async_shm"``
    (one worker process per environment, observations in shared memory) or
    ``"async_pipe"`` (the same, observations pickled through each worker's pipe).
    ``context`` names the start method of the worker processes.
    """
    factories = [functools.partial(make_env, work_iterations)] * num_envs
    # SAME_STEP: an environment whose episode ended is reset within the same call, so
    # every call of step() is one real step of every environment, as in the plain loop.
    if backend == "sync":
        envs = SyncVectorEnv(factories, autoreset_mode=AutoresetMode.SAME_STEP)
    else:
        envs = AsyncVectorEnv(factories, shared_memory=(backend == "async_shm"),
                              context=context, autoreset_mode=AutoresetMode.SAME_STEP)
    try:
        envs.reset(seed=seed)
    except BaseException:
        close_vector(envs)
        raise
    return envs
# [end:make-vector]


def close_vector(envs: gymnasium.vector.VectorEnv) -> None:
    """Close a vector env; worker processes that do not stop in time are terminated."""
    if isinstance(envs, AsyncVectorEnv):
        envs.close(timeout=CLOSE_TIMEOUT_S)
    else:
        envs.close()


# [start:vector-sample]
def sample_vector(envs: gymnasium.vector.VectorEnv, rng: np.random.Generator,
                  steps: int) -> np.ndarray:
    """Step every environment of ``envs`` ``steps`` times; return the stacked observations."""
    observations = np.empty((steps, *envs.observation_space.shape),
                            dtype=envs.observation_space.dtype)
    for t in range(steps):
        actions = rng.integers(envs.single_action_space.n, size=envs.num_envs)
        observations[t], *_rest = step_bounded(envs, actions)
    return observations


def step_bounded(envs: gymnasium.vector.VectorEnv, actions: np.ndarray) -> tuple[Any, ...]:
    """``envs.step(actions)``, with a time limit where the steps run in other processes."""
    if isinstance(envs, AsyncVectorEnv):
        envs.step_async(actions)  # sends ("step", action) down each worker's pipe
        return envs.step_wait(timeout=STEP_TIMEOUT_S)  # waits for every worker's reply
    return envs.step(actions)
# [end:vector-sample]


# [start:env-runner]
class EnvRunner:
    """A Ray actor's state: its own environments, sampled many steps per call."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.envs: gymnasium.vector.VectorEnv | None = None

    def configure(self, num_envs: int, work_iterations: int) -> int:
        """Own ``num_envs`` fresh environments (closing any previous ones)."""
        self.close()
        self.envs = make_vector("sync", num_envs, work_iterations, seed=self.seed)
        return num_envs

    def set_work(self, work_iterations: int) -> None:
        self.envs.set_attr("work_iterations", work_iterations)

    def sample(self, steps: int) -> np.ndarray:
        """``steps`` steps of every environment: an array (steps, envs, observation)."""
        return sample_vector(self.envs, self.rng, steps)

    def ping(self, message: Any) -> Any:
        return message

    def close(self) -> None:
        if self.envs is not None:
            self.envs.close()
            self.envs = None
# [end:env-runner]


@functools.cache
def remote_runner() -> Any:
    """:class:`EnvRunner` as a Ray actor class holding one CPU (built once, lazily)."""
    import ray

    return ray.remote(num_cpus=1)(EnvRunner)


def envs_per_actor(num_envs: int, actors: int) -> list[int]:
    """Split ``num_envs`` environments over ``actors`` actors as evenly as possible."""
    return [num_envs // actors + (1 if i < num_envs % actors else 0) for i in range(actors)]


# [start:ray-sample]
def sample_with_actors(actors: list[Any], steps_per_call: int, calls: int) -> list[np.ndarray]:
    """``calls`` rounds in which every actor samples ``steps_per_call`` steps of its envs."""
    import ray

    batches = []
    for _ in range(calls):
        batches.extend(ray.get([actor.sample.remote(steps_per_call) for actor in actors],
                               timeout=STEP_TIMEOUT_S))
    return batches
# [end:ray-sample]


# [start:make-pool]
def make_pool(num_envs: int, batch_size: int, num_threads: int, seed: int = SEED) -> Any:
    """EnvPool's own C++ CartPole, ``num_envs`` of them stepped by ``num_threads`` threads.

    ``batch_size == num_envs`` is its synchronous mode: ``step`` steps every environment
    and returns them all. With ``batch_size < num_envs`` (asynchronous), ``recv`` returns
    the first ``batch_size`` environments to finish while the others keep stepping.
    """
    import envpool  # Linux wheels only; where it is missing the chapter says so

    pool = envpool.make(ENV_ID, env_type="gymnasium", num_envs=num_envs,
                        batch_size=batch_size, num_threads=num_threads, seed=seed)
    if batch_size < num_envs:
        pool.async_reset()  # every environment starts resetting; recv collects them
    else:
        pool.reset()
    return pool
# [end:make-pool]


# [start:pool-sample]
def sample_pool(pool: Any, rng: np.random.Generator, steps: int,
                work_iterations: int = 0) -> np.ndarray:
    """Synchronous mode: ``steps`` steps of every environment, as :func:`sample_vector`.

    EnvPool's environments are C++; a Python ``HeavyStep`` cannot run inside its threads.
    ``work_iterations`` stands for it as well as anything can: the same work per step,
    done here, in the calling thread, one environment after another, after each batch.
    """
    observations = np.empty((steps, pool.num_envs, *pool.single_observation_space.shape),
                            dtype=pool.single_observation_space.dtype)
    for t in range(steps):
        actions = rng.integers(pool.single_action_space.n, size=pool.num_envs)
        observations[t], *_rest = pool.step(actions)  # threads step, the GIL released
        if work_iterations:
            burn(work_iterations * pool.num_envs)  # serial: Python work runs in this thread
    return observations


def sample_pool_async(pool: Any, rng: np.random.Generator, batches: int) -> np.ndarray:
    """Asynchronous mode: ``batches`` times, take the first environments to finish and
    send them their next actions while the rest are still stepping."""
    batch_size = pool.config["batch_size"]
    observations = np.empty((batches, batch_size, *pool.single_observation_space.shape),
                            dtype=pool.single_observation_space.dtype)
    for t in range(batches):
        observations[t], _reward, _terminated, _truncated, info = pool.recv()
        ready = info["env_id"]  # which environments this batch came from
        pool.send(rng.integers(pool.single_action_space.n, size=len(ready)), ready)
    return observations
# [end:pool-sample]


def pool_reset_share(pool: Any, rng: np.random.Generator, steps: int) -> float:
    """The share of a synchronous pool's steps that were resets, not steps.

    EnvPool resets a finished environment on its *next* call (Gymnasium's default,
    ``NEXT_STEP``), and that call's action is discarded; the vector envs here reset within
    the same call (``SAME_STEP``), so every one of their calls is a step.
    """
    resets = 0
    for _ in range(steps):
        *_rest, info = pool.step(rng.integers(pool.single_action_space.n, size=pool.num_envs))
        resets += int(np.count_nonzero(info["elapsed_step"] == 0))
    return resets / (steps * pool.num_envs)


def start_methods() -> list[str]:
    """The start methods of :data:`METHOD_ORDER` that this platform offers."""
    return [method for method in METHOD_ORDER
            if method in multiprocessing.get_all_start_methods()]


# ---------------------------------------------------------------------------------------
# Settings filled in by a setup() call, as in article 004 (see guard.py).

# [start:settings]
class SamplerSettings:
    """Settings with one field known at import time and the rest filled in by setup()."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {"env_id": ENV_ID}

    def setup(self, simulator_port: int) -> None:
        self.values["simulator_port"] = simulator_port


SETTINGS = SamplerSettings()


class SettingsProbe(gymnasium.Wrapper):
    """An environment that records, when it is built, which settings its process saw."""

    def __init__(self, env: gymnasium.Env, settings: dict[str, Any]) -> None:
        super().__init__(env)
        self.seen = {"pid": os.getpid(), "main_module": sys.modules["__main__"].__name__,
                     "settings": dict(settings)}


def make_env_reading_global() -> gymnasium.Env:
    """A factory that reads the module-level SETTINGS in whatever process runs it."""
    return SettingsProbe(gymnasium.make(SETTINGS.values["env_id"]), SETTINGS.values)


def make_env_with(settings: dict[str, Any]) -> gymnasium.Env:
    """A factory that is given its settings: bind them with functools.partial."""
    return SettingsProbe(gymnasium.make(settings["env_id"]), settings)
# [end:settings]


def instance_mistake() -> str:
    """What AsyncVectorEnv says when handed environments instead of factories.

    It calls the first entry to read the spaces before it starts any process, so the
    mistake fails at once, in the parent, whatever the start method.
    """
    envs = [make_env() for _ in range(2)]
    try:
        # [start:instances]
        AsyncVectorEnv(envs)  # wrong: instances, not functions that build them
        # [end:instances]
    except TypeError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        for env in envs:
            env.close()
    raise AssertionError("AsyncVectorEnv accepted environment instances")


def run_guard_demo(method: str, time_limit_s: float = GUARD_LIMIT_S) -> ChildRun:
    """Run the main-guard demonstration (``guard.py``) under start method ``method``, as
    a program of its own in a child interpreter that is killed after ``time_limit_s``:
    its main module must be a real ``__main__`` for the bug to show."""
    return run_module(GUARD_MODULE, method, time_limit_s=time_limit_s)
