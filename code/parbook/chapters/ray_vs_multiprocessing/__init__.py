"""The chapter ``book/ray-vs-multiprocessing.md``: its code, experiment and analysis."""

TITLE = "Ray against multiprocessing: the three workloads, measured fairly"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
