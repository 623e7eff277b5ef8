"""The chapter ``book/vector-envs.md``: its code, experiment and analysis."""

TITLE = "Parallel environment sampling: vector environments, measured"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
