"""The learning agent of the off-policy chapter: a small DQN for CartPole, in numpy.

Everything here runs in one process and knows nothing about parallelism; the three ways
of running it (:mod:`parbook.chapters.off_policy.workload`) differ only in where the
samplers live and how transitions and weights travel between them and the learner.

The Q-network is a multilayer perceptron (4 inputs, two hidden layers of
:data:`HIDDEN` ReLU units, one output per action) whose weights live in ONE flat float32
vector, so that publishing them is one copy of one array, whichever way they travel. The
learner is DQN (Mnih et al., 2015): a Huber loss on the one-step target
``r + gamma * max_a' Q_target(s', a')`` (no bootstrap after a terminal state; a time-limit
truncation is not terminal), a target network copied from the online one every
:data:`TARGET_SYNC` updates, and Adam. The samplers act epsilon-greedily, with epsilon
decaying linearly over the first :data:`EPSILON_DECAY_STEPS` environment steps of a run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ENV_ID = "CartPole-v1"
OBS_SIZE = 4
ACTIONS = 2
HIDDEN = 64
#: The discount. 0.98 rather than the usual 0.99: in trials on CartPole at this book's
#: budgets it learned as fast and fell back less often after its first peak.
GAMMA = 0.98
LEARNING_RATE = 5e-4
#: Transitions in every learner update.
MINIBATCH = 64
#: The target network is copied from the online network every this many updates.
TARGET_SYNC = 250
#: Huber loss: quadratic within this distance of the target, linear beyond.
HUBER_DELTA = 1.0
EPSILON_START = 1.0
EPSILON_END = 0.05
EPSILON_DECAY_STEPS = 10_000

#: (name, shape) of every weight array, in the order they sit in the flat vector.
LAYERS = (("w1", (OBS_SIZE, HIDDEN)), ("b1", (HIDDEN,)),
          ("w2", (HIDDEN, HIDDEN)), ("b2", (HIDDEN,)),
          ("w3", (HIDDEN, ACTIONS)), ("b3", (ACTIONS,)))
PARAMETERS = sum(int(np.prod(shape)) for _name, shape in LAYERS)

#: One transition as the replay buffer stores it (44 bytes).
TRANSITION = np.dtype([("obs", np.float32, (OBS_SIZE,)), ("action", np.int8),
                       ("reward", np.float32), ("next_obs", np.float32, (OBS_SIZE,)),
                       ("terminated", np.bool_), ("version", np.int32)])


def epsilon(env_steps: int) -> float:
    """The exploration rate after ``env_steps`` steps of a run: linear decay, then flat."""
    done = min(1.0, env_steps / EPSILON_DECAY_STEPS)
    return EPSILON_START + done * (EPSILON_END - EPSILON_START)


def views(flat: np.ndarray) -> dict[str, np.ndarray]:
    """The weight arrays of the network, as views into the flat vector ``flat``."""
    out, start = {}, 0
    for name, shape in LAYERS:
        size = int(np.prod(shape))
        out[name] = flat[start:start + size].reshape(shape)
        start += size
    return out


def initial_weights(seed: int) -> np.ndarray:
    """He-initialised weights (zero biases) as one flat float32 vector."""
    rng = np.random.default_rng(seed)
    flat = np.zeros(PARAMETERS, np.float32)
    for name, array in views(flat).items():
        if name.startswith("w"):
            array[:] = rng.normal(0.0, np.sqrt(2.0 / array.shape[0]), array.shape)
    return flat


# [start:network]
class QNetwork:
    """The Q-network over a flat weight vector: (n, 4) observations -> (n, 2) Q-values."""

    def __init__(self, flat: np.ndarray) -> None:
        self.flat = flat  # overwrite it in place to load new weights
        self.w1, self.b1, self.w2, self.b2, self.w3, self.b3 = views(flat).values()

    def hidden(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h1 = np.maximum(obs @ self.w1 + self.b1, 0.0)
        return h1, np.maximum(h1 @ self.w2 + self.b2, 0.0)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.hidden(obs)[1] @ self.w3 + self.b3

    def act(self, obs: np.ndarray, explore: float, rng: np.random.Generator
            ) -> np.ndarray:
        """Epsilon-greedy actions for a batch of observations."""
        greedy = self(obs).argmax(axis=1)
        random = rng.integers(ACTIONS, size=len(obs))
        return np.where(rng.random(len(obs)) < explore, random, greedy)
# [end:network]


# [start:learner]
class Learner:
    """DQN: Huber loss on one-step targets from a target network, Adam, in numpy."""

    def __init__(self, seed: int, learning_rate: float = LEARNING_RATE) -> None:
        self.online = QNetwork(initial_weights(seed))
        self.target = QNetwork(self.online.flat.copy())
        self.gradient = QNetwork(np.zeros(PARAMETERS, np.float32))
        self.version = 0  # how many updates the online weights have had
        self.learning_rate = learning_rate
        self.m = np.zeros(PARAMETERS, np.float32)  # Adam's running moments
        self.v = np.zeros(PARAMETERS, np.float32)

    @property
    def weights(self) -> np.ndarray:
        """The online network's weights, one flat vector (updated in place)."""
        return self.online.flat

    def update(self, batch: np.ndarray) -> None:
        """One gradient step on a minibatch of transitions."""
        obs, rows, actions = batch["obs"], np.arange(len(batch)), batch["action"]
        bootstrap = GAMMA * self.target(batch["next_obs"]).max(axis=1)
        target = batch["reward"] + np.where(batch["terminated"], 0.0, bootstrap)
        net, grad = self.online, self.gradient
        h1, h2 = net.hidden(obs)
        error = (h2 @ net.w3 + net.b3)[rows, actions] - target
        # The Huber loss's gradient is the error clipped to +-delta, on the taken action.
        d_q = np.zeros((len(batch), ACTIONS), np.float32)
        d_q[rows, actions] = np.clip(error, -HUBER_DELTA, HUBER_DELTA) / len(batch)
        np.matmul(h2.T, d_q, out=grad.w3)
        np.sum(d_q, axis=0, out=grad.b3)
        d_h2 = (d_q @ net.w3.T) * (h2 > 0)
        np.matmul(h1.T, d_h2, out=grad.w2)
        np.sum(d_h2, axis=0, out=grad.b2)
        d_h1 = (d_h2 @ net.w2.T) * (h1 > 0)
        np.matmul(obs.T, d_h1, out=grad.w1)
        np.sum(d_h1, axis=0, out=grad.b1)
        self._adam(grad.flat)
        if self.version % TARGET_SYNC == 0:
            self.target.flat[:] = self.online.flat

    def _adam(self, gradient: np.ndarray) -> None:
        self.version += 1
        self.m += 0.1 * (gradient - self.m)
        self.v += 0.001 * (gradient * gradient - self.v)
        step = self.learning_rate / (1 - 0.9**self.version)
        scale = np.sqrt(self.v / (1 - 0.999**self.version)) + 1e-8
        self.online.flat -= step * self.m / scale
# [end:learner]


# [start:replay]
class Replay:
    """A uniform replay buffer: a ring of transitions with a running count of writes.

    ``ring`` and ``count`` may be plain arrays (one process) or views into shared
    memory (several processes, which then pass a lock that guards both)."""

    def __init__(self, ring: np.ndarray, count: np.ndarray, lock: Any = None) -> None:
        self.ring, self.count, self.lock = ring, count, lock

    def add(self, transitions: np.ndarray) -> int:
        """Write transitions over the oldest slots; return the new count of writes."""
        with self.lock or _NO_LOCK:
            start = int(self.count[0])
            slots = (start + np.arange(len(transitions))) % len(self.ring)
            self.ring[slots] = transitions
            self.count[0] = start + len(transitions)
            return start + len(transitions)

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """A copy of ``size`` transitions drawn uniformly from the slots written."""
        with self.lock or _NO_LOCK:
            written = min(int(self.count[0]), len(self.ring))
            return self.ring[rng.integers(written, size=size)]
# [end:replay]


class _NoLock:
    """A stand-in for a lock in one process: entering and leaving do nothing."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


_NO_LOCK = _NoLock()


def local_replay(capacity: int) -> Replay:
    """A replay buffer in this process's own memory."""
    return Replay(np.zeros(capacity, TRANSITION), np.zeros(1, np.int64))


# [start:sampler]
class Sampler:
    """``envs`` CartPoles in Gymnasium's batched (numpy) vector environment, stepped
    epsilon-greedily by the Q-network; hands over transitions and ended episodes."""

    def __init__(self, envs: int, seed: int) -> None:
        import gymnasium

        self.env = gymnasium.make_vec(ENV_ID, num_envs=envs,
                                      vectorization_mode="vector_entry_point")
        self.obs, _ = self.env.reset(seed=seed)
        self.envs = envs
        self.rng = np.random.default_rng(seed)
        self.returns = np.zeros(envs)  # of the episodes running in each env
        # After an episode ends, the next step() resets that env and ignores its
        # action (Gymnasium's "next step" autoreset): that step is no transition.
        self.resetting = np.zeros(envs, bool)

    def sample(self, network: QNetwork, version: int, explore: float, steps: int
               ) -> tuple[np.ndarray, list[float]]:
        """Step every env ``steps`` times; return the transitions, stamped with the
        ``version`` of the weights that chose them, and the returns of ended episodes."""
        out = np.zeros((steps, self.envs), TRANSITION)
        valid = np.empty((steps, self.envs), bool)
        ended: list[float] = []
        for i in range(steps):
            actions = network.act(self.obs, explore, self.rng)
            next_obs, rewards, terminated, truncated, _ = self.env.step(actions)
            row = out[i]
            row["obs"], row["action"], row["reward"] = self.obs, actions, rewards
            row["next_obs"], row["terminated"] = next_obs, terminated
            valid[i] = ~self.resetting
            self.returns += np.where(valid[i], rewards, 0.0)
            self.resetting = terminated | truncated
            ended += self.returns[self.resetting].tolist()
            self.returns[self.resetting] = 0.0
            self.obs = next_obs
        out["version"] = version
        return out[valid], ended
# [end:sampler]

    def close(self) -> None:
        self.env.close()


def evaluate(weights: np.ndarray | None, episodes: int, seed: int) -> list[float]:
    """Returns of ``episodes`` seeded episodes played together: the greedy policy, or
    random actions when ``weights`` is None."""
    import gymnasium

    env = gymnasium.make_vec(ENV_ID, num_envs=episodes, vectorization_mode="vector_entry_point")
    rng = np.random.default_rng(seed)
    network = None if weights is None else QNetwork(weights)
    try:
        obs, _ = env.reset(seed=seed)
        returns = np.zeros(episodes)
        running = np.ones(episodes, bool)
        while running.any():
            if network is None:
                actions = rng.integers(ACTIONS, size=episodes)
            else:
                actions = network(obs).argmax(axis=1)
            obs, rewards, terminated, truncated, _ = env.step(actions)
            returns += np.where(running, rewards, 0.0)
            running &= ~(terminated | truncated)
    finally:
        env.close()
    return returns.tolist()

