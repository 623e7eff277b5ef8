"""The chapter ``book/synchronization.md``: its code, experiment and analysis."""

TITLE = "Synchronizing processes: Lock, Semaphore, Event, Barrier"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
