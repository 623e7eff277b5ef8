"""The chapter ``book/races-and-locks.md``: its code, experiment and analysis."""

TITLE = "Races and locks"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
