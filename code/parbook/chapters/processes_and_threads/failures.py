"""What a failure ends: one faulty thread, or one faulty child process, beside healthy threads.

Each demonstration runs in a fresh interpreter (``python -m
parbook.chapters.processes_and_threads.failures WHERE HOW WORK_S WORKERS START_METHOD``),
started by the experiment through :func:`parbook.shared.child.run_module` with a time
limit, because a crash ends the interpreter that suffers it. The interpreter starts
``WORKERS`` healthy threads and one faulty thread (``WHERE`` = ``thread``) or child process
(``process``). All of them meet at a barrier, so the failure comes while the healthy
threads are at work; then the faulty one fails the way ``HOW`` names:

``raise``
    an exception escapes its function;
``exit``
    it calls ``os._exit(3)``, which ends its process at once, without clean-up;
``segfault``
    it reads memory at address 0 through ``ctypes``, and the operating system kills its
    process with a signal (SIGSEGV on Linux), as a crash inside a C extension would.

What each healthy thread got done, and whether the main thread reached its last line,
is printed as it happens; the experiment records the exit codes and those lines.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing
import os
import sys
import threading
import time
from typing import Any

from parbook.shared.child import run_demo

#: Bound on every wait (the barrier, every join), so a broken demo ends by itself.
WAIT_S = 20.0
#: The exit code the ``exit`` failure asks for.
EXIT_CODE = 3
#: What the demo prints when a healthy thread finishes and when the main thread reaches
#: its end, so that the experiment can read the facts back from its output.
FINISHED = " finished its work"
REACHED_END = "MainThread reached its end"
FAILURES = {
    "raise": "raises ValueError",
    "exit": f"calls os._exit({EXIT_CODE})",
    "segfault": "reads address 0 (a segmentation fault)",
}


def without_core_dump() -> None:
    """Keep a deliberate crash quiet and cheap: no faulthandler report, no core file."""
    faulthandler.disable()
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    if sys.platform.startswith("linux"):
        # Not dumpable: the kernel writes no core, even through a core_pattern pipe.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


# [start:fail]
def fail(how: str) -> None:
    """Fail the way ``how`` names."""
    if how == "raise":
        raise ValueError("a bug in one task")
    if how == "exit":
        os._exit(EXIT_CODE)  # ends the process now: no clean-up, no other thread runs on
    if how == "segfault":
        without_core_dump()
        ctypes.string_at(0)  # reads address 0: the operating system kills the process
# [end:fail]


# [start:one-fails]
def healthy(name: str, work_s: float, start: Any) -> None:
    """A healthy thread: meet the others, then work, then say so."""
    start.wait(WAIT_S)
    time.sleep(work_s)  # its work, under way when the faulty one fails
    print(f"{name} finished its work\n", end="", flush=True)  # one write: no interleaving


def faulty(how: str, start: Any) -> None:
    """Meet the others, then fail."""
    start.wait(WAIT_S)
    print(f"faulty {FAILURES[how]}\n", end="", flush=True)
    fail(how)


def one_fails(where: str, how: str, work_s: float, workers: int, start_method: str) -> None:
    """Run ``workers`` healthy threads beside one faulty thread or child process."""
    if where == "thread":
        start: Any = threading.Barrier(workers + 1)
        culprit: Any = threading.Thread(target=faulty, args=(how, start), name="faulty")
    else:
        context = multiprocessing.get_context(start_method)
        start = context.Barrier(workers + 1)
        culprit = context.Process(target=faulty, args=(how, start), name="faulty")
    culprit.start()  # before the healthy threads: never fork a process that runs threads
    threads = [threading.Thread(target=healthy, args=(f"worker-{n}", work_s, start))
               for n in range(1, workers + 1)]
    for thread in threads:
        thread.start()
    for thread in [*threads, culprit]:
        thread.join(WAIT_S)
    ending = "" if where == "thread" else f"; the faulty process's exitcode: {culprit.exitcode}"
    print(f"MainThread reached its end{ending}", flush=True)
# [end:one-fails]


DEMOS = {
    "thread": lambda argv: one_fails("thread", argv[0], float(argv[1]), int(argv[2]), argv[3]),
    "process": lambda argv: one_fails("process", argv[0], float(argv[1]), int(argv[2]),
                                      argv[3]),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` (``thread`` or ``process``) with its arguments."""
    return run_demo("parbook.chapters.processes_and_threads.failures", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
