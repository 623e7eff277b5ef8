"""The learning agent of the actor-learner chapter: a policy-gradient learner for CartPole.

Everything here runs in one process and knows nothing about parallelism; the four ways
of running it (``parbook.chapters.actor_learner.workload``) only differ in where the samplers
live and how their batches and the learner's weights travel.

The policy is linear: with two actions, a softmax over two linear logits is the logistic
function of their difference, so the policy is five numbers ``theta`` (four weights and
a bias) and ``P(push right | s) = sigmoid(theta . [s, 1])``. The learner is REINFORCE
with discounted rewards-to-go, normalised per batch as the baseline, and Adam. Every
transition carries the version of the weights that chose its action and the probability
that version gave it, so the learner can weight each step's policy-gradient term by the
ratio of the current policy's probability to that one, cut at :data:`RHO_BAR` (truncated
importance sampling). That is the ratio IMPALA's V-trace applies to its policy gradient,
but only that: there is no value function, no bootstrapped V-trace target and no trace
cut (c-bar) on the returns, which are the behaviour policy's Monte Carlo returns.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ENV_ID = "CartPole-v1"
OBS_SIZE = 4
#: Four weights and a bias.
PARAMETERS = OBS_SIZE + 1
GAMMA = 0.99
LEARNING_RATE = 0.2
#: Importance weights above this are cut to it (as IMPALA cuts the policy-gradient ratio).
RHO_BAR = 1.0
#: Logits are clipped to +-CLIP before the sigmoid: math.exp overflows near 710, and a
#: probability of exactly 0 would make an importance weight infinite.
LOGIT_CLIP = 30.0


def make_env(seed: int) -> Any:
    """A seeded CartPole environment and its first observation."""
    import gymnasium

    env = gymnasium.make(ENV_ID)
    first, _info = env.reset(seed=seed)
    return env, first


def returns_to_go(rewards: np.ndarray, gamma: float = GAMMA) -> np.ndarray:
    """Discounted sum of the rewards from each step to the end of its episode."""
    out = np.empty(len(rewards), dtype=np.float32)
    running = 0.0
    for index in range(len(rewards) - 1, -1, -1):
        running = float(rewards[index]) + gamma * running
        out[index] = running
    return out


# [start:batch]
@dataclass
class Batch:
    """Complete episodes from one sampler, ready for one learner update.

    ``versions[i]`` is the version of the weights that chose action ``i`` and
    ``behaviour_probs[i]`` the probability it gave that action. ``env_steps`` counts the
    steps taken during this collection (episodes still running are kept by the sampler
    and handed over when they end).
    """

    obs: np.ndarray              # (n, 4) float32
    actions: np.ndarray          # (n,) int8: 0 = push left, 1 = push right
    behaviour_probs: np.ndarray  # (n,) float32
    returns: np.ndarray          # (n,) float32 discounted rewards-to-go
    versions: np.ndarray         # (n,) int32
    episode_returns: list[float]
    env_steps: int
    sample_s: float              # time spent sampling it
    sampler: int = 0
# [end:batch]

    @property
    def size(self) -> int:
        return len(self.actions)


def empty_batch(env_steps: int, sample_s: float, sampler: int) -> Batch:
    """A batch with no complete episode (the learner skips it)."""
    return Batch(np.empty((0, OBS_SIZE), np.float32), np.empty(0, np.int8),
                 np.empty(0, np.float32), np.empty(0, np.float32), np.empty(0, np.int32),
                 [], env_steps, sample_s, sampler)


@dataclass
class EpisodeStream:
    """One environment's transitions: keeps the running episode, hands out ended ones."""

    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add(self, obs: np.ndarray, actions: np.ndarray, probs: np.ndarray,
            rewards: np.ndarray, versions: np.ndarray, dones: np.ndarray
            ) -> list[tuple[np.ndarray, ...]]:
        """Append consecutive transitions; return the episodes that ended among them."""
        ended = []
        start = 0
        for stop in np.flatnonzero(dones) + 1:
            self.parts.append((obs[start:stop], actions[start:stop], probs[start:stop],
                               rewards[start:stop], versions[start:stop]))
            ended.append(tuple(np.concatenate(column) for column in zip(*self.parts, strict=True)))
            self.parts = []
            start = stop
        if start < len(actions):
            self.parts.append((obs[start:], actions[start:], probs[start:],
                               rewards[start:], versions[start:]))
        return ended


def to_batch(episodes: list[tuple[np.ndarray, ...]], env_steps: int, sample_s: float,
             sampler: int) -> Batch:
    """Stack ended episodes into one batch, with each step's reward-to-go."""
    if not episodes:
        return empty_batch(env_steps, sample_s, sampler)
    columns = zip(*episodes, strict=True)
    obs, actions, probs, rewards, versions = (np.concatenate(c) for c in columns)
    returns = np.concatenate([returns_to_go(episode[3]) for episode in episodes])
    return Batch(obs.astype(np.float32), actions.astype(np.int8), probs.astype(np.float32),
                 returns, versions.astype(np.int32),
                 [float(episode[3].sum()) for episode in episodes], env_steps, sample_s,
                 sampler)


# [start:sampler]
class Sampler:
    """One CartPole environment stepped by the linear policy, one step at a time."""

    def __init__(self, seed: int, sampler: int = 0) -> None:
        self.env, self.obs = make_env(seed)
        self.rng = np.random.default_rng(seed)
        self.stream = EpisodeStream()
        self.sampler = sampler

    def sample(self, theta: np.ndarray, steps: int, version: int) -> Batch:
        """Take ``steps`` steps with the weights ``theta``; return the episodes that ended."""
        began = time.perf_counter()
        weights, bias = np.asarray(theta[:OBS_SIZE], np.float64), float(theta[OBS_SIZE])
        uniforms = self.rng.random(steps)
        obs_buf = np.empty((steps, OBS_SIZE), np.float32)
        actions = np.empty(steps, np.int8)
        probs = np.empty(steps, np.float32)
        rewards = np.empty(steps, np.float32)
        dones = np.zeros(steps, bool)
        env, obs = self.env, self.obs
        for i in range(steps):
            logit = min(max(float(weights @ obs) + bias, -LOGIT_CLIP), LOGIT_CLIP)
            p_right = 1.0 / (1.0 + math.exp(-logit))
            action = 1 if uniforms[i] < p_right else 0
            obs_buf[i] = obs
            actions[i] = action
            probs[i] = p_right if action else 1.0 - p_right
            obs, reward, terminated, truncated, _ = env.step(action)
            rewards[i] = reward
            if terminated or truncated:
                dones[i] = True
                obs, _ = env.reset()
        self.obs = obs
        versions = np.full(steps, version, np.int32)
        ended = self.stream.add(obs_buf, actions, probs, rewards, versions, dones)
        return to_batch(ended, steps, time.perf_counter() - began, self.sampler)
# [end:sampler]

    def close(self) -> None:
        self.env.close()


# [start:vector-sampler]
class VectorSampler:
    """``envs`` CartPoles in one vectorised environment, stepped together.

    ``mode`` is gymnasium's ``vectorization_mode``: ``"sync"`` (a ``SyncVectorEnv``
    that steps one CartPole after another in Python) or ``"vector_entry_point"``
    (CartPole's own implementation, which steps all of them at once in numpy).
    """

    def __init__(self, envs: int, seed: int, mode: str = "sync") -> None:
        import gymnasium

        self.env = gymnasium.make_vec(ENV_ID, num_envs=envs, vectorization_mode=mode)
        self.obs, _ = self.env.reset(seed=seed)
        self.envs = envs
        self.rng = np.random.default_rng(seed)
        self.streams = [EpisodeStream() for _ in range(envs)]
        # After an episode ends, the next step() resets that env and ignores its action
        # (gymnasium's default "next step" autoreset); that step is not a transition.
        self.resetting = np.zeros(envs, bool)

    def sample(self, theta: np.ndarray, steps_per_env: int, version: int) -> Batch:
        """Step every env ``steps_per_env`` times; return the episodes that ended."""
        began = time.perf_counter()
        theta = np.asarray(theta, np.float64)
        n, envs = steps_per_env, self.envs
        obs_buf = np.empty((n, envs, OBS_SIZE), np.float32)
        actions = np.empty((n, envs), np.int8)
        probs = np.empty((n, envs), np.float32)
        rewards = np.empty((n, envs), np.float32)
        dones = np.zeros((n, envs), bool)
        valid = np.empty((n, envs), bool)
        uniforms = self.rng.random((n, envs))
        obs = self.obs
        for i in range(n):
            logits = np.clip(obs @ theta[:OBS_SIZE] + theta[OBS_SIZE], -LOGIT_CLIP, LOGIT_CLIP)
            p_right = 1.0 / (1.0 + np.exp(-logits))
            chosen = uniforms[i] < p_right
            obs_buf[i] = obs
            actions[i] = chosen
            probs[i] = np.where(chosen, p_right, 1.0 - p_right)
            valid[i] = ~self.resetting
            obs, reward, terminated, truncated, _ = self.env.step(chosen.astype(np.int64))
            rewards[i] = reward
            dones[i] = self.resetting = terminated | truncated
        self.obs = obs
        versions = np.full(n, version, np.int32)
        ended = []
        for env in range(envs):
            keep = valid[:, env]
            ended += self.streams[env].add(obs_buf[keep, env], actions[keep, env],
                                           probs[keep, env], rewards[keep, env],
                                           versions[keep], dones[keep, env])
        return to_batch(ended, int(valid.sum()), time.perf_counter() - began, 0)
# [end:vector-sampler]

    def close(self) -> None:
        self.env.close()


# [start:learner]
class Learner:
    """REINFORCE with a per-batch normalised baseline and Adam, on the linear policy."""

    def __init__(self, learning_rate: float = LEARNING_RATE) -> None:
        self.theta = np.zeros(PARAMETERS)
        self.version = 0  # how many updates these weights have had
        self.learning_rate = learning_rate
        self.m = np.zeros(PARAMETERS)  # Adam's running moments
        self.v = np.zeros(PARAMETERS)

    def update(self, batch: Batch) -> float:
        """One gradient step on ``batch``; returns its mean staleness in updates."""
        x = np.hstack([batch.obs, np.ones((batch.size, 1), np.float32)])
        p_right = 1.0 / (1.0 + np.exp(-np.clip(x @ self.theta, -LOGIT_CLIP, LOGIT_CLIP)))
        taken = batch.actions.astype(np.float64)
        p_taken = np.where(taken > 0, p_right, 1.0 - p_right)
        # Samples drawn by older weights are re-weighted by pi_now / pi_then, cut at 1.
        rho = np.minimum(p_taken / batch.behaviour_probs, RHO_BAR)
        advantage = (batch.returns - batch.returns.mean()) / (batch.returns.std() + 1e-8)
        # d log pi(a|s) / d theta = (a - P(right|s)) * x for the logistic policy.
        gradient = -((rho * advantage * (taken - p_right)) @ x) / batch.size
        staleness = float(np.mean(self.version - batch.versions))
        self.version += 1
        self.m = 0.9 * self.m + 0.1 * gradient
        self.v = 0.999 * self.v + 0.001 * gradient**2
        m_hat = self.m / (1 - 0.9**self.version)
        v_hat = self.v / (1 - 0.999**self.version)
        self.theta = self.theta - self.learning_rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        return staleness
# [end:learner]


def evaluate(theta: np.ndarray | None, episodes: int, seed: int) -> list[float]:
    """Returns of ``episodes`` seeded episodes: the greedy policy, or random actions
    when ``theta`` is None."""
    import gymnasium

    env = gymnasium.make(ENV_ID)
    rng = np.random.default_rng(seed)
    returns = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            total, done = 0.0, False
            while not done:
                if theta is None:
                    action = int(rng.integers(2))
                else:
                    action = int(float(theta[:OBS_SIZE] @ obs) + theta[OBS_SIZE] > 0)
                obs, reward, terminated, truncated, _ = env.step(action)
                total += float(reward)
                done = terminated or truncated
            returns.append(total)
    finally:
        env.close()
    return returns
