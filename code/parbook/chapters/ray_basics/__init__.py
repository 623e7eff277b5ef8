"""The chapter ``book/ray-basics.md``: its code, experiment and analysis."""

TITLE = "Ray: tasks, actors and the object store"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
