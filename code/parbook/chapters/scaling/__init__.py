"""The chapter ``book/scaling.md``: speed-up against the number of workers."""

TITLE = "Scaling with the number of workers"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
#: Its thread pool's line depends on the interpreter (a free-threaded build lets threads
#: scale): its page also runs it under every interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
