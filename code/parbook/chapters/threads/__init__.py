"""The chapter ``book/threads.md``: its code, experiment and analysis."""

TITLE = "Threads: start, join, pools and results"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: what starting a thread and handing it work cost
#: is the interpreter's (its threading internals change between versions; a free-threaded
#: build locks its own objects), and so is how long a program takes to end: its page also
#: runs it under every interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
