"""A heavy main module: numpy and pandas imported at the top, as data scripts do.

Run by path: ``python heavy_main.py METHOD WORKERS``, like ``light_main.py``.
"""

# [start:script]
import os
import sys

MAIN_IMPORTED_IN = os.getpid()  # which process ran this file's top level

import numpy as np  # noqa: E402, F401  (the script's own work would use them)
import pandas as pd  # noqa: E402, F401

from parbook.chapters.memory.probes import sweep_main  # noqa: E402

if __name__ == "__main__":
    # With the forkserver_preload method, the fork server imports these once and every
    # worker it forks shares them.
    sweep_main(sys.argv[1:], preload=["numpy", "pandas"])
# [end:script]
