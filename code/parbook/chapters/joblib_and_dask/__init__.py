"""The chapter ``book/joblib-and-dask.md``: its code, experiment and analysis."""

TITLE = "joblib and Dask, beside multiprocessing and Ray"
#: Whether the experiment uses Ray: None, "session" (a fresh local instance, or the
#: cluster at RAY_ADDRESS) or "own cluster" (it starts a cluster of its own).
RAY = "session"
