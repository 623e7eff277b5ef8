"""One check, shared by every test module, that a test run leaves nothing behind.

Nothing behind means: no live child process of the test process (multiprocessing's own
long-lived helpers aside) and no new entry in /dev/shm with a prefix this project's code
creates. Neither is always true the instant a demonstration returns: a pool's semaphores
are unlinked by finalizers when the Pool object is garbage-collected, and a child that
has been told to stop needs a moment to go. So ``left_behind`` collects garbage and gives
them a grace period; a real leak outlives it.

Only this test run's own leftovers count, so that another build or test run on the same
machine cannot fail these checks. The test process marks itself with an environment
variable holding a token of its own (:func:`mark_this_run`); every process it starts, and
every process those start, inherits it, down to a Ray worker started by a raylet whose
driver is long gone. A process counts as this run's if it carries the mark. A new
/dev/shm entry counts only if no process outside this run holds it open or mapped.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
import uuid
from pathlib import Path

import psutil

SHM = Path("/dev/shm")
#: /dev/shm names the project's code creates: ``shared_memory`` blocks (POSIX and
#: Windows-style names), multiprocessing's named semaphores, and Ray's object store.
SHM_PREFIXES = ("psm_", "wnsm_", "sem.mp", "plasma", "ray")
#: Helpers multiprocessing starts once and keeps until the test process exits: started by
#: an earlier test module, they are still there for every later one, and are no leftovers.
HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")
POLL_S = 0.05


#: The environment variable that marks every process of this test run.
RUN_MARK = "PARBOOK_TEST_RUN"


def mark_this_run() -> None:
    """Mark this process, and so everything it starts from now on, as this test run's."""
    os.environ.setdefault(RUN_MARK, f"{os.getpid()}-{uuid.uuid4().hex}")


def this_runs_processes() -> list[psutil.Process]:
    """Live processes that carry this run's mark (zombies and this process left out)."""
    mark = os.environ.get(RUN_MARK)
    found = []
    if mark is None:
        return found
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if (process.status() != psutil.STATUS_ZOMBIE
                    and process.environ().get(RUN_MARK) == mark):
                found.append(process)
    return found


def own_tree() -> set[int]:
    """PIDs of this process and every live process of this run."""
    return {os.getpid(), *(process.pid for process in this_runs_processes())}


def held_by_others(names: set[str]) -> set[str]:
    """The /dev/shm entries of ``names`` that a process outside this run's tree has open
    or mapped: another program's, created while this run was looking."""
    if not names:
        return set()
    ours, held = own_tree(), set()
    wanted = {str(SHM / name): name for name in names}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) in ours:
            continue
        with contextlib.suppress(OSError):
            for link in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(link)
                    if target in wanted:
                        held.add(wanted[target])
        with contextlib.suppress(OSError):
            for line in (pid_dir / "maps").read_text().splitlines():
                path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
                if path in wanted:
                    held.add(wanted[path])
    return held


def shm_entries() -> set[str]:
    """Names of the /dev/shm entries with one of ``SHM_PREFIXES`` that exist now."""
    if not SHM.is_dir():
        return set()
    return {path.name for path in SHM.iterdir() if path.name.startswith(SHM_PREFIXES)}


def lingering_children() -> list[list[str]]:
    """Command lines of this run's live processes, multiprocessing's helpers aside.

    Zombies (ended, not yet reaped) are not counted: they hold nothing but a process-table
    slot, and their parent reaps them when it next looks.
    """
    lingering = []
    for process in this_runs_processes():
        try:
            command = process.cmdline()
        except psutil.Error:  # it ended while we looked
            continue
        if not any(helper in " ".join(command) for helper in HELPERS):
            lingering.append(command)
    return lingering


def new_shm_entries(shm_before: set[str]) -> set[str]:
    """Entries created since ``shm_before`` that belong to this run (see the module)."""
    new = shm_entries() - shm_before
    return new - held_by_others(new)


def left_behind(shm_before: set[str], grace_s: float = 5.0
                ) -> tuple[list[list[str]], set[str]]:
    """What is left behind: (lingering children's command lines, new /dev/shm entries).

    Collects garbage first (finalizers unlink semaphores and shared memory), then waits up
    to ``grace_s`` for both to be empty, and returns them as they are at the end.
    """
    gc.collect()
    deadline = time.monotonic() + grace_s
    while True:
        children, new_shm = lingering_children(), new_shm_entries(shm_before)
        if (not children and not new_shm) or time.monotonic() >= deadline:
            return children, new_shm
        time.sleep(POLL_S)


#: Words in the command line of every process a Ray node runs: the GCS, the raylet, the
#: object-store and dashboard agents, the log monitor, and the workers ("ray::Name").
RAY_MARKERS = ("gcs_server", "raylet", "ray::", "default_worker.py", "dashboard/agent.py",
               "log_monitor.py", "ray/autoscaler", "runtime_env/agent", "ray/_private")


def ray_processes(ignore: set[int] = frozenset()) -> list[tuple[int, str]]:
    """(PID, command line) of every live Ray process of this run, except ``ignore``: the
    Ray node processes that outlive a driver that forgot ``ray.shutdown()`` still carry
    the run's mark. A Ray instance of another program on the machine is not counted."""
    found = []
    for process in this_runs_processes():
        try:
            if process.pid in ignore:
                continue
            command = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if any(marker in command for marker in RAY_MARKERS):
            found.append((process.pid, command))
    return found


def ray_left_behind(before: set[int], grace_s: float = 10.0) -> list[tuple[int, str]]:
    """Ray processes that appeared since ``before`` (a set of PIDs) and are still alive
    after up to ``grace_s`` (``ray.shutdown`` stops the node's processes asynchronously)."""
    deadline = time.monotonic() + grace_s
    while True:
        found = ray_processes(ignore=before)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(POLL_S * 4)
