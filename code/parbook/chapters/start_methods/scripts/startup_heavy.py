"""A heavy main module: numpy and matplotlib.pyplot imported at the top, as scripts do.

Run by path: ``python startup_heavy.py METHODS COUNTS REPEATS`` prints JSON timings,
with how long the top-level imports took in this process.
"""

# [start:script]
import time

began = time.perf_counter()
import matplotlib.pyplot as plt  # noqa: E402, F401  (a plotting script's usual first lines)
import numpy as np  # noqa: E402, F401

IMPORT_S = time.perf_counter() - began

from parbook.chapters.start_methods.workload import startup_script_main  # noqa: E402


def task() -> None:
    """The child's whole job: return at once, so what is timed is the process itself."""


if __name__ == "__main__":
    startup_script_main(task, IMPORT_S)
# [end:script]
