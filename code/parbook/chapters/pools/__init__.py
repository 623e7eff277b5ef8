"""The chapter ``book/pools.md``: its code, experiment and analysis."""

TITLE = "Process pools: apply, map, chunksize, initializers and worker counts"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter: the start method its pools use (forkserver on
#: Linux from 3.14), the CPU count a default pool is sized by (3.13) and what pickling
#: each task costs changed with the version: its page also runs it under every
#: interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
