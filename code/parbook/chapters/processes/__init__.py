"""The chapter ``book/processes.md``: its code, experiment and analysis."""

TITLE = "Processes: start, join, exit codes and the __main__ guard"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
