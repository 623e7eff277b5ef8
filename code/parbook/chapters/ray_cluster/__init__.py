"""The chapter ``book/ray-cluster.md``: its code, experiment and analysis."""

TITLE = "Beyond one machine: a real Ray cluster"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "own cluster"
