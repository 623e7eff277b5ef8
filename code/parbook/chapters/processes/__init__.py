"""The chapter ``book/processes.md``: its code, experiment and analysis."""

TITLE = "Processes: start, join, exit codes and the __main__ guard"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: the default start method (forkserver on Linux
#: from 3.14) and who imports the main script under forkserver (the fork server from
#: 3.13.8 and 3.14.1) decide what a script without the main guard does: its page also runs
#: it under every interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
