"""The chapter ``book/queues-and-pipes.md``: its code, experiment and analysis."""

TITLE = "Queues and pipes: passing messages between processes"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
