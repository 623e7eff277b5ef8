"""A light main module: nothing imported at the top but what the sweep itself needs.

Run by path: ``python light_main.py METHOD WORKERS`` starts WORKERS idle workers one at a
time and prints the program's memory after each, as one line of JSON.
"""

import os
import sys

MAIN_IMPORTED_IN = os.getpid()  # which process ran this file's top level

from parbook.chapters.memory.probes import sweep_main  # noqa: E402

if __name__ == "__main__":
    sweep_main(sys.argv[1:])
