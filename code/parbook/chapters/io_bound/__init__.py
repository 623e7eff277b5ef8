"""The chapter ``book/io-bound.md``: its code, experiment and analysis.

The package is ``io_bound``, not ``asyncio``: chapters map page ``a-b`` to package ``a_b``,
and a chapter package named like a module of the standard library would confuse readers
and tools, if not Python itself.
"""

TITLE = "IO-bound work: threads, asyncio and processes"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
