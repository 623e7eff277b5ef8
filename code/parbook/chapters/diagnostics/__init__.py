"""The chapter ``book/diagnostics.md``: its code, experiment and analysis."""

TITLE = "Seeing where the time goes"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
