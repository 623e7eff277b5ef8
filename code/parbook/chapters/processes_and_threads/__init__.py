"""The chapter ``book/processes-and-threads.md``: its code, experiment and analysis."""

TITLE = "Processes and threads: IO-bound and CPU-bound tasks"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
