"""Workloads of the start-methods chapter: what fork, spawn and forkserver copy and cost.

The chapter's demonstrations run as a reader would run them: plain scripts, kept in
``scripts/`` beside this module, executed by path in a child interpreter
with a time limit (:func:`parbook.shared.child.run_command`). Those scripts call the
helpers below. The fork-while-a-lock-is-held demo hangs on purpose under ``fork``; it
runs as ``python -m parbook.chapters.start_methods.workload fork-lock METHOD`` in a child with
a time limit, and bounds its own wait for the child it starts.

This module imports only the standard library, so a script that imports it stays light.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from parbook.shared.child import run_demo

#: The reader-style scripts the chapter runs by path.
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 60.0


# ---------------------------------------------------------------------------------------
# Start-up, timed from inside a script.


# [start:time-startups]
def start_and_join(context: Any, target: Callable[[], None], count: int) -> float:
    """Start ``count`` processes running ``target``, join them all; return the seconds."""
    began = time.perf_counter()
    processes = [context.Process(target=target) for _ in range(count)]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.join(WAIT_S)
    finally:
        for process in processes:
            if process.is_alive():  # only after a failure: never leave a child behind
                process.kill()
                process.join(WAIT_S)
    elapsed = time.perf_counter() - began
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"child processes failed with exit codes {failed}")
    return elapsed


def time_startups(target: Callable[[], None], methods: Sequence[str], counts: Sequence[int],
                  repeats: int) -> dict[str, Any]:
    """Time start + join of ``count`` processes per start method, methods taking turns.

    The first process each method starts in this script is timed on its own: under
    forkserver it includes starting the server. Then every repeat runs every count
    under every method in turn (the order rotating), so drift hits all methods alike.
    """
    contexts = {method: multiprocessing.get_context(method) for method in methods}
    first = {method: start_and_join(contexts[method], target, 1) for method in methods}
    samples: dict[str, dict[int, list[float]]] = {m: {c: [] for c in counts} for m in methods}
    for repeat in range(repeats):
        turn = repeat % len(methods)
        order = [*methods[turn:], *methods[:turn]]
        for count in counts:
            for method in order:
                samples[method][count].append(start_and_join(contexts[method], target, count))
    return {"first": first, "samples": samples, "modules_loaded": len(sys.modules)}
# [end:time-startups]


def startup_script_main(target: Callable[[], None], import_s: float | None = None) -> None:
    """What a start-up script runs under its main guard: time start-ups, print JSON.

    Arguments come from the command line: ``METHODS COUNTS REPEATS``, the first two
    comma-separated (``fork,spawn 1,5,10 3``).
    """
    methods = sys.argv[1].split(",")
    counts = [int(count) for count in sys.argv[2].split(",")]
    timings = time_startups(target, methods, counts, int(sys.argv[3]))
    timings["import_s"] = import_s
    print(json.dumps(timings))


# ---------------------------------------------------------------------------------------
# Children that report what they see (article 004's experiment).


# [start:start-one-by-one]
def start_one_by_one(method: str, target: Callable[..., None], names: Sequence[str]) -> None:
    """Start a child per name under ``method``, one after another, each with its name.

    Each child is joined before the next starts, so their printed lines come in order.
    """
    context = multiprocessing.get_context(method)
    for name in names:
        child = context.Process(target=target, args=(name,))
        child.start()
        child.join(WAIT_S)
        if child.is_alive():
            child.kill()
            child.join(WAIT_S)
            raise TimeoutError(f"{name} was still running after {WAIT_S} s")
# [end:start-one-by-one]


# ---------------------------------------------------------------------------------------
# Forking while another thread holds a lock.


# [start:fork-lock]
#: A module-level lock, as in a cache, a connection pool or a logging handler.
CACHE_LOCK = threading.Lock()


def hold_lock(held: threading.Event, hold_s: float) -> None:
    """A background thread's work: take the lock and keep it for a while (a slow write)."""
    with CACHE_LOCK:
        held.set()
        time.sleep(hold_s)


def use_cache() -> None:
    """The child's work: say what it inherited, then take the lock as any code in it might."""
    print(f"child  pid={os.getpid()}: threads={threading.active_count()}, "
          f"lock held={CACHE_LOCK.locked()}; taking the lock...", flush=True)
    with CACHE_LOCK:
        print(f"child  pid={os.getpid()}: took the lock and finished", flush=True)


def start_while_locked(method: str, hold_s: float, patience_s: float) -> None:
    """Start a child while a background thread holds ``CACHE_LOCK``; wait for it, bounded."""
    held = threading.Event()
    holder = threading.Thread(target=hold_lock, args=(held, hold_s), name="holder")
    holder.start()
    held.wait(WAIT_S)
    print(f"parent pid={os.getpid()}: threads={threading.active_count()}, "
          f"lock held={CACHE_LOCK.locked()}; starting a child with {method}", flush=True)
    with warnings.catch_warnings(record=True) as caught:  # Python 3.12+ warns here
        warnings.simplefilter("always")
        child = multiprocessing.get_context(method).Process(target=use_cache)
        child.start()
    for warning in caught:
        print(f"parent: {warning.category.__name__} at start(): {warning.message}", flush=True)
    child.join(patience_s)
    holder.join(WAIT_S)
    print(f"parent: the holder thread released its lock after {hold_s} s", flush=True)
    if child.is_alive():
        print(f"parent: the child is still alive after {patience_s} s; killing it", flush=True)
        child.kill()
        child.join(WAIT_S)
    print(f"parent: child exit code {child.exitcode}", flush=True)
# [end:fork-lock]


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "fork-lock": lambda argv: start_while_locked(argv[0], float(argv[1]), float(argv[2])),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo("parbook.chapters.start_methods.workload", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
