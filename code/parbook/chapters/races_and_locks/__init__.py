"""The chapter ``book/races-and-locks.md``: its code, experiment and analysis."""

TITLE = "Races and locks"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: where threads may switch, and so how many updates
#: an unlocked counter loses, changes with the version and with the GIL (a free-threaded
#: build runs the threads at the same instant): its page also runs it under every
#: interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
