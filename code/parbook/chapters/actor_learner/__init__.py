"""The chapter ``book/actor-learner.md``: its code, experiment and analysis."""

TITLE = "Actors and a learner: a real learning loop, four ways"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
