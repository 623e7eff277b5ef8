"""What the failures chapter runs in child interpreters, each with a time limit.

``python -m parbook.chapters.failures.demos DEMO ARGS`` runs one demo and prints its
outcome as JSON (one document per line). The demos live in :mod:`.workload`; this module
only parses arguments, so that the tasks pickle under their own module's name and never
as ``__main__``.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from parbook.chapters.failures import workload as work
from parbook.shared.child import run_demo

MODULE = "parbook.chapters.failures.demos"


def _print_json(data: Any) -> None:
    print(json.dumps(data), flush=True)


def executor_kills(method: str, task_s: float, repeats: int) -> list[dict[str, Any]]:
    """:func:`workload.executor_after_kill`, ``repeats`` times, each on a fresh executor."""
    context = multiprocessing.get_context(method)
    seen = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="parbook-failures-") as folder:
            seen.append(work.executor_after_kill(context, folder, task_s))
    return seen


def interrupted_run(run: str, method: str, folder: str, task_s: float, tasks: int) -> int:
    """Run one of :data:`workload.INTERRUPTED_RUNS` until it ends or is interrupted.

    A run that catches KeyboardInterrupt itself re-raises it after its clean-up; here,
    like the book's own command line, that ends the program with exit code 130 and one
    line. The others let KeyboardInterrupt end the program as Python does by default.
    """
    context = multiprocessing.get_context(method)
    if run not in work.CATCHING_RUNS:
        work.INTERRUPTED_RUNS[run](context, folder, task_s, tasks)
        return 0
    try:
        work.INTERRUPTED_RUNS[run](context, folder, task_s, tasks)
    except KeyboardInterrupt:
        print("interrupted: stopped cleanly", flush=True)
        return work.EXIT_INTERRUPTED
    return 0


DEMOS: dict[str, Callable[[list[str]], Any]] = {
    "process-errors": lambda argv: _print_json(work.process_errors(argv[0])),
    "pool-errors": lambda argv: _print_json(work.pool_and_executor_errors(
        argv[0], *(float(a) for a in argv[1:4]))),
    "executor-kills": lambda argv: _print_json(executor_kills(argv[0], float(argv[1]),
                                                              int(argv[2]))),
    "pool-map-kill": lambda argv: _print_json(work.pool_map_after_kill(
        multiprocessing.get_context(argv[0]), argv[1], float(argv[2]), int(argv[3]),
        _print_json)),
    "interrupt": lambda argv: sys.exit(interrupted_run(argv[0], argv[1], argv[2],
                                                       float(argv[3]), int(argv[4]))),
    "ray-driver": lambda argv: _print_json(work.ray_driver(argv[0], float(argv[1]),
                                                           int(argv[2]))),
    "logging": lambda argv: _print_json(work.logging_demo(argv[0], argv[1], int(argv[2]),
                                                          int(argv[3]))),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo(MODULE, DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
