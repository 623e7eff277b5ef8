"""Workloads of the processes chapter: start, join, exit codes, daemons, names and PIDs.

Every function that starts processes takes the ``multiprocessing`` context to start them
with, so each demo runs the same under ``fork``, ``spawn`` and ``forkserver``; every
target is a module-level function, so a child started by ``spawn`` or ``forkserver`` can
import it. Every wait is bounded.

Demos that must be seen from outside a process (a program whose daemon child is still
running when it exits, a subclass of ``multiprocessing.Process`` under a chosen start
method, a sweep of children that end in different ways and print tracebacks) run this
module in a child interpreter with a time limit, through
:func:`parbook.shared.child.run_module`; ``python -m parbook.chapters.processes.workload DEMO
ARGS`` runs one by hand. The two scripts in ``scripts/`` (with and without the
``if __name__ == "__main__":`` guard) are run by path, ``python FILE METHOD``.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.context
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from parbook.shared.child import run_demo

Context = multiprocessing.context.BaseContext

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
#: The scripts run by path in the ``__main__`` guard demo.
SCRIPTS = Path(__file__).resolve().parent / "scripts"
UNGUARDED_SCRIPT = SCRIPTS / "unguarded.py"
GUARDED_SCRIPT = SCRIPTS / "guarded.py"


# [start:process-function]
def square(number: int, results: multiprocessing.Queue, *, label: str = "square") -> None:
    """Runs in the child: compute, then send a line back to the parent through a queue."""
    me = multiprocessing.current_process()
    results.put(f"{me.name} (pid {os.getpid()}): {label} of {number} is {number * number}")


def start_with_a_function(context: Context, numbers: Sequence[int]) -> list[str]:
    """Start one process per number, passing arguments with ``args`` and ``kwargs``."""
    results = context.Queue()
    workers = [
        context.Process(target=square, args=(number, results), kwargs={"label": "square"},
                        name=f"square-{number}")
        for number in numbers
    ]
    for worker in workers:
        worker.start()
    lines = [results.get(timeout=WAIT_S) for _ in workers]  # read results before joining
    for worker in workers:
        worker.join(timeout=WAIT_S)
        if worker.exitcode != 0:
            raise ChildProcessError(f"{worker.name} ended with exitcode {worker.exitcode}")
    results.close()
    results.join_thread()
    return lines
# [end:process-function]


# [start:process-subclass]
class SumOfSquares(multiprocessing.Process):
    """A process whose work is its ``run`` method; its inputs travel with it to the child."""

    def __init__(self, numbers: list[int], results: multiprocessing.Queue, **kwargs: Any
                 ) -> None:
        super().__init__(**kwargs)
        self.numbers = numbers
        self.results = results

    def run(self) -> None:
        total = sum(number * number for number in self.numbers)
        self.results.put(f"{self.name} (pid {os.getpid()}): sum of squares of "
                         f"{self.numbers} is {total}")


def start_subclasses(chunks: list[list[int]]) -> list[str]:
    """Start one ``SumOfSquares`` per chunk (the first one named), collect, then join."""
    results = multiprocessing.Queue()
    workers = [SumOfSquares(chunks[0], results, name="sums-first")]
    workers += [SumOfSquares(chunk, results) for chunk in chunks[1:]]  # default names
    for worker in workers:
        worker.start()
    lines = [results.get(timeout=WAIT_S) for _ in workers]
    for worker in workers:
        worker.join(timeout=WAIT_S)
    results.close()
    results.join_thread()
    return lines + [f"exit codes: {[worker.exitcode for worker in workers]}"]


def subclass_program(method: str) -> None:
    """A program's entry point: choose the start method once, then use the subclass."""
    multiprocessing.set_start_method(method)
    for line in start_subclasses([[1, 2, 3], [4, 5], [6]]):
        print(line, flush=True)
# [end:process-subclass]


# [start:memory-not-shared]
CALLS = 0  # a module global: every process has its own copy


def append_and_count(items: list[str], item: str, report: multiprocessing.Queue) -> None:
    """Runs in the child: change a list and a global, and say what the child sees."""
    global CALLS
    CALLS += 1
    items.append(item)
    report.put(f"child  sees items = {items}, CALLS = {CALLS}")


def memory_is_not_shared(context: Context) -> list[str]:
    """Let a child change a list and a global; then look at them in the parent."""
    items = ["from the parent"]
    report = context.Queue()
    child = context.Process(target=append_and_count, args=(items, "from the child", report))
    child.start()
    seen_by_child = report.get(timeout=WAIT_S)
    child.join(timeout=WAIT_S)
    report.close()
    report.join_thread()
    return [seen_by_child,
            f"parent sees items = {items}, CALLS = {CALLS} (child exitcode {child.exitcode})"]
# [end:memory-not-shared]


# [start:join-timeout]
def join_with_timeout(context: Context, work_s: float, patience_s: float) -> list[str]:
    """``join(timeout)`` returns when time is up; ``is_alive`` and ``exitcode`` say why."""
    child = context.Process(target=time.sleep, args=(work_s,), name="slow")
    began = time.perf_counter()
    child.start()
    child.join(timeout=patience_s)
    lines = [f"join(timeout={patience_s}) returned after {time.perf_counter() - began:.3f} s:"
             f" is_alive() = {child.is_alive()}, exitcode = {child.exitcode}"]
    child.join(timeout=work_s + WAIT_S)  # wait for the end, still with a bound
    lines.append(f"second join returned after {time.perf_counter() - began:.3f} s:"
                 f" is_alive() = {child.is_alive()}, exitcode = {child.exitcode}")
    return lines
# [end:join-timeout]


# ---------------------------------------------------------------------------------------
# How a child ended, as its parent sees it.

#: Ways a child can end, in the order the chapter's table lists them.
ENDINGS = ("return", "exit3", "exception", "terminate", "kill")


# [start:endings]
def end_as(ending: str, conn: Connection) -> None:
    """Runs in the child: say "ready", wait for the parent's word, then end as told.

    ``terminate()`` and ``kill()`` reach the child while it waits here.
    """
    conn.send("ready")
    if not conn.poll(WAIT_S):
        return
    conn.recv()
    if ending == "exit3":
        sys.exit(3)
    if ending == "exception":
        raise ValueError("the child gave up")
    # "return": the target simply returns


def end_child(context: Context, ending: str) -> tuple[int | None, float]:
    """Start a child, make it end as ``ending`` says; return its exitcode and the join wait."""
    parent_end, child_end = context.Pipe()
    child = context.Process(target=end_as, args=(ending, child_end), name=f"ends-by-{ending}")
    child.start()
    child_end.close()  # the child has its own copy
    if not parent_end.poll(WAIT_S):
        raise TimeoutError(f"{child.name} never said it was ready")
    parent_end.recv()
    began = time.perf_counter()
    if ending == "terminate":
        child.terminate()  # SIGTERM on POSIX
    elif ending == "kill":
        child.kill()  # SIGKILL on POSIX
    else:
        parent_end.send("go")
    child.join(timeout=WAIT_S)
    waited = time.perf_counter() - began
    parent_end.close()
    if child.is_alive():
        child.kill()
        child.join(timeout=WAIT_S)
        raise TimeoutError(f"{child.name} was still running after {WAIT_S} s")
    return child.exitcode, waited
# [end:endings]


def exit_code_sweep(context: Context, repeats: int, warmup: int) -> dict[str, Any]:
    """Every ending ``warmup + repeats`` times, round-robin; exit codes and join waits."""
    codes: dict[str, list[int | None]] = {ending: [] for ending in ENDINGS}
    waits: dict[str, list[float]] = {ending: [] for ending in ENDINGS}
    for index in range(warmup + repeats):
        for ending in ENDINGS:
            code, waited = end_child(context, ending)
            codes[ending].append(code)
            if index >= warmup:
                waits[ending].append(waited)
    return {"exitcodes": codes, "join_s": waits}


def exit_code_program(method: str, repeats: int, warmup: int) -> None:
    """Print the sweep as one JSON line; the children's tracebacks go to stderr."""
    sweep = exit_code_sweep(multiprocessing.get_context(method), repeats, warmup)
    print(json.dumps(sweep), flush=True)


# [start:finish]
def finish(processes: Sequence[multiprocessing.process.BaseProcess],
           timeout_s: float = WAIT_S) -> None:
    """Join every process within one deadline, kill the ones still running, check exitcodes.

    Raises ``ChildProcessError`` naming every process that did not exit with code 0.
    """
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(timeout=WAIT_S)
    failed = {process.name: process.exitcode for process in processes
              if process.exitcode != 0}
    if failed:
        raise ChildProcessError(f"processes that did not exit cleanly: {failed}")
# [end:finish]


def run_then_exit(started: multiprocessing.Queue, seconds: float, code: int) -> None:
    """A target that says it is running, sleeps ``seconds``, then exits with ``code``."""
    started.put(multiprocessing.current_process().name)
    time.sleep(seconds)
    sys.exit(code)


def finish_three(context: Context, patience_s: float) -> str:
    """Run :func:`finish` on a child that succeeds, one that fails and one that overstays.

    The deadline starts once all three are running, so a slow start (``spawn`` on a busy
    machine) cannot make the two quick children look stuck.
    """
    started = context.Queue()
    children = [
        context.Process(target=run_then_exit, args=(started, 0.0, 0), name="succeeds"),
        context.Process(target=run_then_exit, args=(started, 0.0, 3), name="fails"),
        context.Process(target=run_then_exit, args=(started, WAIT_S, 0), name="overstays"),
    ]
    for child in children:
        child.start()
    for _ in children:
        started.get(timeout=WAIT_S)
    try:
        finish(children, timeout_s=patience_s)
    except ChildProcessError as error:
        return f"{type(error).__name__}: {error}"
    finally:
        started.close()
        started.join_thread()
    return "finish() raised nothing"


# ---------------------------------------------------------------------------------------
# Daemon processes.


# [start:daemon-exit]
def nap(seconds: float, began: float, ready: Any) -> None:
    """Runs in the child: say so, sleep, then say so again (if it is allowed to finish)."""
    name = multiprocessing.current_process().name
    print(f"{name}: started at {time.monotonic() - began:.2f} s, sleeping {seconds} s",
          flush=True)
    ready.set()
    time.sleep(seconds)
    print(f"{name}: finished at {time.monotonic() - began:.2f} s", flush=True)


def leave_a_child_running(context: Context, daemon: bool, seconds: float) -> None:
    """Start a sleeping child and let the program end without joining it."""
    began = time.monotonic()
    ready = context.Event()
    child = context.Process(target=nap, args=(seconds, began, ready), name="napper",
                            daemon=daemon)
    child.start()
    ready.wait(timeout=WAIT_S)
    print(f"MainProcess: reached the end of the program at {time.monotonic() - began:.2f} s "
          f"(napper.daemon = {child.daemon})", flush=True)
# [end:daemon-exit]


# [start:daemon-orphan]
def die_without_cleaning_up(context: Context, seconds: float) -> None:
    """Leave a daemon child running, then die of SIGKILL: no exit handler gets to run."""
    leave_a_child_running(context, daemon=True, seconds=seconds)
    os.kill(os.getpid(), signal.SIGKILL)
# [end:daemon-orphan]


# [start:daemon-children]
def try_to_start_a_child(method: str, report: multiprocessing.Queue) -> None:
    """Runs in a daemon child: try to start a process of its own, report what happened."""
    try:
        grandchild = multiprocessing.get_context(method).Process(target=time.sleep,
                                                                 args=(0,))
        grandchild.start()
        grandchild.join(timeout=WAIT_S)
        report.put("started a child of its own")
    except AssertionError as error:
        report.put(f"{type(error).__name__}: {error}")


def daemon_with_a_child(context: Context) -> str:
    """Start a daemon process that tries to start a child; return what it reported."""
    report = context.Queue()
    child = context.Process(target=try_to_start_a_child,
                            args=(context.get_start_method(), report), daemon=True)
    child.start()
    outcome = report.get(timeout=WAIT_S)
    finish([child])
    report.close()
    report.join_thread()
    return outcome
# [end:daemon-children]


# ---------------------------------------------------------------------------------------
# Names and PIDs.


# [start:names-and-pids]
def introduce(report: multiprocessing.Queue) -> None:
    """Runs in the child: report its name, its PID and who it thinks its parent is."""
    parent = multiprocessing.parent_process()
    report.put({
        "name": multiprocessing.current_process().name,
        "pid": os.getpid(),
        "getppid": os.getppid(),
        "parent_name": parent.name if parent else None,
        "parent_pid": parent.pid if parent else None,
    })


def family(context: Context) -> dict[str, Any]:
    """Start a named and an unnamed child; return what each said and the parent's own facts."""
    report = context.Queue()
    children = [context.Process(target=introduce, args=(report,), name="worker-1"),
                context.Process(target=introduce, args=(report,))]  # a default name
    for child in children:
        child.start()
    said = [report.get(timeout=WAIT_S) for _ in children]
    finish(children)
    report.close()
    report.join_thread()
    me = multiprocessing.current_process()
    return {"parent": {"name": me.name, "pid": os.getpid(),
                       "parent_process": repr(multiprocessing.parent_process())},
            "children": sorted(said, key=lambda facts: facts["name"] != "worker-1")}
# [end:names-and-pids]


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "subclass": lambda argv: subclass_program(argv[0]),
    "exit-codes": lambda argv: exit_code_program(argv[0], int(argv[1]), int(argv[2])),
    "daemon-exit": lambda argv: _daemon_exit(argv[0], argv[1], float(argv[2])),
}


def _daemon_exit(method: str, kind: str, seconds: float) -> None:
    context = multiprocessing.get_context(method)
    if kind == "parent-killed":
        die_without_cleaning_up(context, seconds)
    else:
        leave_a_child_running(context, daemon=kind == "daemon", seconds=seconds)


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo("parbook.chapters.processes.workload", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
