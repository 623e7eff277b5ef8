"""The chapter ``book/failures.md``: its code, experiment and analysis."""

TITLE = "Errors, dead workers, Ctrl-C and clean shutdown"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
