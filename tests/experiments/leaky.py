"""Starts what a careless experiment leaves running, then waits far beyond any test's
patience: a Pool with busy workers, a child in a session of its own that would outlive
its parent, and a named semaphore in /dev/shm. Only the supervisor's clean-up can end it.

The session child's PID is written to the file named by ``PARBOOK_TEST_PID_FILE``, so a
test can check that it is gone.
"""

import multiprocessing
import os
import subprocess
import sys
import time

TITLE = "leaves processes behind"


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def run(quick=False, progress=None):
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(2)
    pool.map_async(_sleep, [600] * 2)
    semaphore = context.Semaphore(1)  # noqa: F841 - held open, like a pool's own
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                              start_new_session=True)
    pid_file = os.environ.get("PARBOOK_TEST_PID_FILE")
    if pid_file:
        with open(pid_file, "w") as handle:
            handle.write(str(orphan.pid))
    if progress:
        progress("everything started")
    time.sleep(600)
