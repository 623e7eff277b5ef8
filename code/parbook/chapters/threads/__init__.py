"""The chapter ``book/threads.md``: its code, experiment and analysis."""

TITLE = "Threads: start, join, pools and results"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
