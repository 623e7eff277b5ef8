"""The chapter ``book/processes-and-threads.md``: its code, experiment and analysis."""

TITLE = "Processes and threads: IO-bound and CPU-bound tasks"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: whether threads can compute CPU-bound Python in
#: parallel is the GIL's question (a free-threaded build says yes), and the process pools
#: use the default start method, which changed in 3.14: its page also runs it under every
#: interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
