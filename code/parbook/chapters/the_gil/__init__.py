"""The chapter ``book/the-gil.md``: its code, experiment and analysis."""

TITLE = "The GIL"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = None
#: Its answers depend on the interpreter (GIL or free-threaded, 3.14's interpreter pool):
#: its page also runs it under every interpreter in PARBOOK_PYTHONS.
INTERPRETERS = True
