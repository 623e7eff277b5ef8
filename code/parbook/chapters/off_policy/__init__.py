"""The chapter ``book/off-policy.md``: its code, experiment and analysis."""

TITLE = "Off-policy learning: DQN with a replay buffer, three ways"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
