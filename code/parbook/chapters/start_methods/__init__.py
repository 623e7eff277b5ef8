"""The chapter ``book/start-methods.md``: its code, experiment and analysis."""

TITLE = "Start methods: fork, spawn and forkserver"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
