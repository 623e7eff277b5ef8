"""A light main module: it imports only what it needs to start processes.

Run by path: ``python startup_light.py METHODS COUNTS REPEATS`` prints JSON timings.
"""

# [start:script]
from parbook.chapters.start_methods.workload import startup_script_main


def task() -> None:
    """The child's whole job: return at once, so what is timed is the process itself."""


if __name__ == "__main__":
    startup_script_main(task)
# [end:script]
