"""The chapter ``book/overhead.md``: its code, experiment and analysis."""

TITLE = "Why is multiprocessing sometimes slower than one process?"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
