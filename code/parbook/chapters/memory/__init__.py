"""The chapter ``book/memory.md``: what processes cost in memory, and copy-on-write that is not."""

TITLE = "What processes cost in memory"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
