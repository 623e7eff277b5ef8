"""The chapter ``book/pools.md``: its code, experiment and analysis."""

TITLE = "Process pools: apply, map, chunksize, initializers and worker counts"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
