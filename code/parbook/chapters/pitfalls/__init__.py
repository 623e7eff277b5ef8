"""The chapter ``book/pitfalls.md``: its code, experiment and analysis."""

TITLE = "Pitfalls of multiprocessing, and design rules that avoid them"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
