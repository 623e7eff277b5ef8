"""The chapter ``book/start-methods.md``: its code, experiment and analysis."""

TITLE = "Start methods: fork, spawn and forkserver"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: the default start method (forkserver on Linux
#: from 3.14), what the fork server imports (fixed in 3.13.8 and 3.14.1) and the warning
#: on forking a process with threads (3.12) all changed with the Python version: its page
#: also runs it under every interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
