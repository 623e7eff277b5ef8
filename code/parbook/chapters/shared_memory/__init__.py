"""The chapter ``book/shared-memory.md``: its code, experiment and analysis."""

TITLE = "Shared memory: Value, Array, Manager and shared_memory"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
