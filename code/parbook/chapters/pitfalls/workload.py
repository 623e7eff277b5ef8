"""Workloads of the pitfalls chapter: what goes wrong when work crosses to another process.

Four bugs, each reproduced under a start method chosen by the caller and then fixed:

* an environment that holds a live socket, handed to workers as an instance instead of
  as a factory;
* a class-level counter that each process keeps for itself;
* a worker function defined in a ``__main__`` that has no file (a notebook, ``python
  -c``), which ``spawn`` and ``forkserver`` workers cannot import;
* lambdas and local functions, which ``pickle`` refuses.

Then the two design rules of the chapter that need their own measurement: keep the parent
process light, and never let a worker wait idle. Every function that starts processes
takes the start method (or a context, or a pool made from one) as a parameter, bounds
every wait, and cleans up. The notebook-cell demo runs in a child interpreter with a time
limit (``python -c``), through :func:`run_notebook_cell`.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import multiprocessing.context
import multiprocessing.resource_sharer
import os
import pickle
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from parbook.shared.child import ChildRun, run_command
from parbook.shared.cpu import burn

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
#: Upper bound on all the process demos of one start method, run in a child interpreter.
DEMOS_LIMIT_S = 120.0


def _context(method: str) -> multiprocessing.context.BaseContext:
    return multiprocessing.get_context(method)


def error_record(error: BaseException) -> dict[str, str]:
    """An exception as data: its type's name and its message, for results and pages."""
    return {"error_type": type(error).__name__, "error": str(error)}


def _stop_processes(processes: Iterable[Any]) -> None:
    """Join every started process with a bound; kill any that is still running."""
    for process in processes:
        if process.pid is None:  # start() failed: there is nothing to join
            continue
        process.join(timeout=WAIT_S)
        if process.is_alive():
            process.kill()
            process.join(timeout=WAIT_S)


def _close_queue(results: Any) -> None:
    results.close()
    results.join_thread()


# ---------------------------------------------------------------------------------------
# Pitfall 1: an environment that holds a socket, passed as an instance.


# [start:simulator-env]
class SimulatorEnv:
    """An environment that opens a connection to its simulator when it is created.

    A real one connects to a game server or a physics engine on some port. This one
    opens a connected pair of local sockets and plays the simulator's side itself, so
    the demo needs no server; what matters is the same: each instance owns a live
    connection, and a connection is not data that can be copied.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._link, self._simulator = socket.socketpair()

    def step(self, action: int) -> int:
        """Send an action over the connection and read back the observation."""
        self._link.sendall(bytes([action]))
        request = self._simulator.recv(1)  # the simulator's side answers the request
        self._simulator.sendall(bytes([(request[0] + self.seed) % 256]))
        return self._link.recv(1)[0]

    def connection(self) -> str:
        """The kernel's name for the socket: equal names mean one connection."""
        return f"socket:[{os.fstat(self._link.fileno()).st_ino}]"

    def close(self) -> None:
        self._link.close()
        self._simulator.close()
# [end:simulator-env]


# [start:env-workers]
def step_given_env(env: SimulatorEnv) -> dict[str, Any]:
    """The bug: the worker receives an environment the parent created."""
    return {"pid": os.getpid(), "connection": env.connection(), "observation": env.step(1)}


def step_own_env(make_env: Callable[[], SimulatorEnv]) -> dict[str, Any]:
    """The fix: the worker receives a factory and builds its own environment."""
    env = make_env()
    try:
        return {"pid": os.getpid(), "connection": env.connection(),
                "observation": env.step(1)}
    finally:
        env.close()
# [end:env-workers]


# [start:library-wrapper]
class PickledByValue:
    """Wraps what a vectorised-env library is given, as its Process arguments.

    Stable-Baselines3's ``SubprocVecEnv`` and Gymnasium's ``AsyncVectorEnv`` wrap each
    entry of ``env_fns`` like this, with ``cloudpickle`` in place of ``pickle`` so that a
    lambda survives the trip. Either way, the contents are pickled by the standard
    protocol, which refuses sockets.
    """

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __getstate__(self) -> bytes:
        return pickle.dumps(self.payload)

    def __setstate__(self, state: bytes) -> None:
        self.payload = pickle.loads(state)


def library_worker(wrapped: PickledByValue, results: Any) -> None:
    """What a vectorised-env worker does first: get its environment, then step it."""
    payload = wrapped.payload
    report = step_own_env(payload) if callable(payload) else step_given_env(payload)
    results.put(report)
# [end:library-wrapper]


def process_worker(env: SimulatorEnv, results: Any) -> None:
    """A plain ``Process`` target handed an environment instance in its arguments."""
    results.put(step_given_env(env))


#: How an environment (or its factory) reaches a worker, in the chapter's order.
HAND_OVER = ("instance_process", "instance_pool", "instance_library",
             "factory_library", "factory_pool")


# [start:hand-over]
def hand_over(method: str, how: str) -> dict[str, Any]:
    """Give a worker an environment (or a factory for one) in one of the ways of HAND_OVER.

    Returns what happened: whether the worker ran, and if it did, whether its
    environment's connection is the parent's own (``same_connection``), or the error.
    """
    context = _context(method)
    env = SimulatorEnv(seed=0)
    outcome: dict[str, Any] = {"method": method, "how": how,
                               "parent_connection": env.connection()}
    try:
        if how.endswith("_pool"):
            argument = env if how == "instance_pool" else functools.partial(SimulatorEnv, 1)
            worker = step_given_env if how == "instance_pool" else step_own_env
            with context.Pool(1) as pool:
                report = pool.map(worker, [argument])[0]
        else:
            report = _run_in_process(context, how, env)
        outcome.update(ran=True, **report)
        outcome["same_connection"] = report["connection"] == env.connection()
    except Exception as error:  # the bug under study: record it as data
        outcome.update(ran=False, **error_record(error))
    finally:
        env.close()
        _stop_socket_sharer()
    return outcome
# [end:hand-over]


def _stop_socket_sharer() -> None:
    """Stop the helper thread that multiprocessing starts to pass a socket to a Pool worker.

    Its own pickler sends a socket by keeping a duplicate in a thread of the parent until
    the worker collects it; stopping it leaves the parent without threads before the
    next ``fork``.
    """
    multiprocessing.resource_sharer.stop(timeout=WAIT_S)


def _run_in_process(context: Any, how: str, env: SimulatorEnv) -> dict[str, Any]:
    if how not in ("instance_process", "instance_library", "factory_library"):
        raise ValueError(f"unknown hand-over {how!r}; known: {HAND_OVER}")
    results = context.Queue()
    if how == "instance_process":
        process = context.Process(target=process_worker, args=(env, results))
    elif how == "instance_library":
        process = context.Process(target=library_worker, args=(PickledByValue(env), results))
    else:
        factory = functools.partial(SimulatorEnv, 1)
        process = context.Process(target=library_worker,
                                  args=(PickledByValue(factory), results))
    try:
        process.start()  # spawn and forkserver pickle the arguments here
        return results.get(timeout=WAIT_S)
    finally:
        _stop_processes([process])
        _close_queue(results)


def plain_pickle_error() -> dict[str, str]:
    """What the standard ``pickle`` module says about an environment instance."""
    env = SimulatorEnv()
    try:
        pickle.dumps(env)
    except TypeError as error:
        return error_record(error)
    finally:
        env.close()
    raise AssertionError("pickle.dumps accepted a socket")


# ---------------------------------------------------------------------------------------
# Pitfall 2: a class-level counter.


# [start:class-counter]
class PortedEnv:
    """The bug: the next free port comes from a counter kept on the class."""

    BASE_PORT = 4100
    created = 0  # one copy per process, not one per program

    def __init__(self) -> None:
        PortedEnv.created += 1
        self.port = PortedEnv.BASE_PORT + PortedEnv.created
# [end:class-counter]


# [start:counter-fixes]
class RankedEnv:
    """Fix 1: the parent hands every environment its own number (its rank)."""

    def __init__(self, rank: int) -> None:
        self.port = PortedEnv.BASE_PORT + rank


class SharedCountEnv:
    """Fix 2: one counter in shared memory, read and incremented under its lock."""

    def __init__(self, counter: Any) -> None:
        with counter.get_lock():  # += on a Value is a read and a write: lock both
            counter.value += 1
            number = counter.value
        self.port = PortedEnv.BASE_PORT + number
# [end:counter-fixes]


# [start:counter-worker]
def make_envs(index: int, count: int, counter: Any, results: Any) -> None:
    """Worker ``index`` creates ``count`` environments of each kind and reports their ports."""
    first_rank = 1 + index * count  # rank 0 is the parent's own environment
    results.put({
        "worker": index,
        "pid": os.getpid(),
        "class_counter": [PortedEnv().port for _ in range(count)],
        "ranks": [RankedEnv(first_rank + j).port for j in range(count)],
        "shared_value": [SharedCountEnv(counter).port for _ in range(count)],
        "class_count_seen": PortedEnv.created,
    })
# [end:counter-worker]


def count_environments(method: str, workers: int, per_worker: int) -> dict[str, Any]:
    """The parent creates one environment of each kind, then ``workers`` workers create more.

    Returns every worker's report, the parent's own view of the class counter and of
    the shared ``Value`` afterwards, and for each kind how many ports were handed out
    and how many of them were distinct.
    """
    context = _context(method)
    counter = context.Value("i", 0)
    own = {"class_counter": PortedEnv().port, "ranks": RankedEnv(0).port,
           "shared_value": SharedCountEnv(counter).port}
    results = context.Queue()
    processes = [context.Process(target=make_envs, args=(i, per_worker, counter, results))
                 for i in range(workers)]
    try:
        for process in processes:
            process.start()
        reports = sorted((results.get(timeout=WAIT_S) for _ in processes),
                         key=lambda report: report["worker"])
    finally:
        _stop_processes(processes)
        _close_queue(results)
    ports = {kind: [port, *(p for report in reports for p in report[kind])]
             for kind, port in own.items()}
    outcome = {
        "method": method,
        "workers": workers,
        "per_worker": per_worker,
        "environments": 1 + workers * per_worker,
        "parent_class_count": PortedEnv.created,
        "parent_shared_value": counter.value,
        "reports": reports,
        "ports": ports,
        "distinct_ports": {kind: len(set(values)) for kind, values in ports.items()},
    }
    PortedEnv.created = 0  # leave this process as it was found, for the next method
    return outcome


# ---------------------------------------------------------------------------------------
# Pitfall 3: a worker function defined in a __main__ that has no file (a notebook).

# The cell below is run as ``python -c CELL METHOD``: like a notebook, its __main__
# module has no file that a spawn or forkserver worker could import again.
NOTEBOOK_CELL = """\
# [start:notebook-cell]
import multiprocessing
import sys

def work(x):
    return x * x

method = sys.argv[1]  # the start method under test: fork, spawn or forkserver
print(f"mapping work over a Pool started with {method}", flush=True)
with multiprocessing.get_context(method).Pool(2) as pool:
    print(pool.map(work, range(4)), flush=True)
print("done", flush=True)
# [end:notebook-cell]
"""

NOTEBOOK_CELL_FIXED = """\
# [start:notebook-cell-fixed]
import multiprocessing
import sys

from parbook.chapters.pitfalls.workload import square as work  # importable by every worker

method = sys.argv[1]
print(f"mapping work over a Pool started with {method}", flush=True)
with multiprocessing.get_context(method).Pool(2) as pool:
    print(pool.map(work, range(4)), flush=True)
print("done", flush=True)
# [end:notebook-cell-fixed]
"""

NOTEBOOK_CELLS = {"defined_in_main": NOTEBOOK_CELL, "imported": NOTEBOOK_CELL_FIXED}
#: What a worker prints when the function it is sent lives in an unimportable __main__.
MISSING_IN_MAIN = "AttributeError: Can't get attribute 'work' on <module '__main__'"


def square(x: int) -> int:
    """The notebook cell's worker function, where every worker can import it."""
    return x * x


def run_notebook_cell(cell: str, method: str, time_limit_s: float) -> ChildRun:
    """Run one of :data:`NOTEBOOK_CELLS` as ``python -c`` under ``method``, with a limit.

    A cell still running at its limit is interrupted as a notebook's Interrupt button
    does it, with SIGINT: ``pool.map`` raises ``KeyboardInterrupt``, and leaving the
    ``with`` block terminates the workers and releases the pool's semaphores. It gets
    up to :data:`WAIT_S` for that, so that a loaded machine does not turn the interrupt
    into a kill; only a child that ignores the interrupt is killed.
    """
    return run_command([sys.executable, "-c", NOTEBOOK_CELLS[cell], method],
                       time_limit_s=time_limit_s, interrupt_first=True,
                       interrupt_grace_s=WAIT_S)


def notebook_outcome(child: ChildRun) -> dict[str, Any]:
    """What a notebook-cell child did, as data: finished or stopped, errors seen.

    Every fact is taken from the child's whole output and exit code when it ends, so
    that nothing depends on which part of a long traceback a page or a report shows.
    ``interrupted`` means the cell was still running at its limit and ended on the
    ``KeyboardInterrupt`` that the interrupt raised: a Python program that lets one
    escape exits by SIGINT.
    """
    errors = [line for line in child.errors.splitlines() if line.startswith("AttributeError")]
    printed = [line for line in child.output.splitlines() if line.startswith("[")]
    return {**child.as_dict(), "attribute_errors": len(errors),
            "first_error": errors[0] if errors else None,
            "finished": child.returncode == 0 and "done" in child.output.split(),
            "interrupted": child.killed and child.returncode == -signal.SIGINT,
            "printed_result": printed[-1] if printed else None}


# ---------------------------------------------------------------------------------------
# Pitfall 4: lambdas and local functions.


double = lambda x: 2 * x  # noqa: E731 -- the pitfall on show: a lambda named at module level


# [start:lambdas]
def map_lambda(pool: Any, items: list[int]) -> list[int]:
    """The bug: a lambda as the task."""
    return pool.map(lambda x: 2 * x, items)


def map_local_function(pool: Any, items: list[int], factor: int) -> list[int]:
    """The bug: a function defined inside another function as the task."""
    def scale_by_factor(x: int) -> int:
        return factor * x

    return pool.map(scale_by_factor, items)
# [end:lambdas]


# [start:partial-fix]
def scale(x: int, factor: int) -> int:
    """A module-level function: pickled by name, so every worker can import it."""
    return factor * x


def map_partial(pool: Any, items: list[int], factor: int) -> list[int]:
    """The fix: fix the extra argument with functools.partial, not with a closure."""
    return pool.map(functools.partial(scale, factor=factor), items)
# [end:partial-fix]


def do_nothing() -> None:
    """A module-level Process target, for comparison with a lambda target."""


def pickle_errors() -> dict[str, dict[str, str]]:
    """What ``pickle.dumps`` says about a module-level lambda and a local function."""
    def local_function(x: int) -> int:
        return x

    found = {}
    for name, function in (("lambda", double), ("local_function", local_function)):
        try:
            pickle.dumps(function)
        except Exception as error:  # PicklingError or AttributeError, by Python version
            found[name] = error_record(error)
        else:
            raise AssertionError(f"pickle accepted a {name}")
    return found


#: The function-shaped tasks tried under each start method, in the chapter's order.
TASKS = ("lambda_pool", "local_pool", "lambda_process", "partial_pool")


def try_task(method: str, task: str) -> dict[str, Any]:
    """Hand one kind of function to a worker under ``method``; return what happened."""
    context = _context(method)
    items = [1, 2, 3]
    outcome: dict[str, Any] = {"method": method, "task": task}
    try:
        if task == "lambda_process":
            process = context.Process(target=lambda: None)
            try:
                process.start()  # spawn and forkserver pickle the target here
            finally:
                _stop_processes([process])
            outcome.update(ran=process.exitcode == 0, exitcode=process.exitcode)
            return outcome
        with context.Pool(2) as pool:
            if task == "lambda_pool":
                values = map_lambda(pool, items)
            elif task == "local_pool":
                values = map_local_function(pool, items, 3)
            elif task == "partial_pool":
                values = map_partial(pool, items, 3)
            else:
                raise ValueError(f"unknown task {task!r}; known: {TASKS}")
        outcome.update(ran=True, values=values)
    except Exception as error:
        outcome.update(ran=False, **error_record(error))
    return outcome


# ---------------------------------------------------------------------------------------
# Design rules: keep the parent light; never let a worker idle.


def timed_burn(iterations: int) -> tuple[float, float]:
    """A CPU-bound task that reports its wall time and its CPU time, in seconds."""
    wall, cpu = time.perf_counter(), time.thread_time()
    burn(iterations)
    return time.perf_counter() - wall, time.thread_time() - cpu


@dataclass
class PoolRun:
    """One timed run of tasks on a pool.

    ``busy_s`` is the wall time workers spent inside tasks (summed over tasks) and
    ``task_cpu_s`` the CPU time they got for them; ``parent_work_s`` is the wall time of
    the parent's own computation.
    """

    elapsed_s: float
    busy_s: float
    task_cpu_s: float
    parent_work_s: float
    workers: int

    @property
    def idle_fraction(self) -> float:
        """Share of the workers' time (workers x elapsed) not spent inside a task."""
        return max(0.0, 1.0 - self.busy_s / (self.workers * self.elapsed_s))


# [start:busy-parent]
def dispatch(pool: Any, workers: int, tasks: int, iterations: int,
             parent_iterations: int = 0) -> PoolRun:
    """Submit ``tasks`` CPU-bound tasks; between two submissions the parent computes.

    With ``parent_iterations=0`` the parent only dispatches and then waits, as a
    coordinator should; otherwise it also runs ``parent_iterations`` rounds of its own
    work (a learner's update, say) after every submission.
    """
    began = time.perf_counter()
    pending, parent_s = [], 0.0
    for _ in range(tasks):
        pending.append(pool.apply_async(timed_burn, (iterations,)))
        if parent_iterations:
            start = time.perf_counter()
            burn(parent_iterations)  # the parent's own CPU-bound work
            parent_s += time.perf_counter() - start
    timings = [result.get(timeout=WAIT_S) for result in pending]
    elapsed = time.perf_counter() - began
    return PoolRun(elapsed, sum(w for w, _ in timings), sum(c for _, c in timings),
                   parent_s, workers)
# [end:busy-parent]


def parent_work_alone(tasks: int, parent_iterations: int) -> PoolRun:
    """The parent's own work of :func:`dispatch`, with no pool: what it costs by itself."""
    began = time.perf_counter()
    for _ in range(tasks):
        burn(parent_iterations)
    elapsed = time.perf_counter() - began
    return PoolRun(elapsed, 0.0, 0.0, elapsed, 1)


def timed_wait(seconds: float) -> tuple[float, float]:
    """A task of a known length that needs no CPU: it sleeps, standing for work.

    Used where the question is only how tasks are spread over workers, so that the
    machine's other load cannot blur the answer. Returns wall and CPU time, as
    :func:`timed_burn` does.
    """
    wall, cpu = time.perf_counter(), time.thread_time()
    time.sleep(seconds)
    return time.perf_counter() - wall, time.thread_time() - cpu


def uneven_durations(short_tasks: int, long_tasks: int) -> list[str]:
    """Task kinds in submission order: the long ones first, as when episodes come sorted."""
    return ["long"] * long_tasks + ["short"] * short_tasks


# [start:uneven]
def run_uneven(pool: Any, workers: int, durations: list[float], how: str) -> PoolRun:
    """Run tasks of uneven length with ``map`` in big chunks or ``imap_unordered`` one by one.

    ``map_one_chunk_each`` cuts the list into one chunk per worker, so whichever worker
    gets the long tasks works alone at the end while the others wait; ``map_default``
    uses Pool's own chunk size (about a quarter of that); ``imap_unordered`` hands out one
    task at a time, so a worker that finishes takes the next task at once.
    """
    began = time.perf_counter()
    if how == "map_one_chunk_each":
        chunk = -(-len(durations) // workers)  # ceiling division
        timings = pool.map(timed_wait, durations, chunksize=chunk)
    elif how == "map_default":
        timings = pool.map(timed_wait, durations)
    elif how == "imap_unordered":
        timings = list(pool.imap_unordered(timed_wait, durations, chunksize=1))
    else:
        raise ValueError(f"unknown way {how!r}")
    elapsed = time.perf_counter() - began
    return PoolRun(elapsed, sum(w for w, _ in timings), sum(c for _, c in timings), 0.0,
                   workers)
# [end:uneven]


def run_demos(method: str, workers: int, per_worker: int) -> dict[str, Any]:
    """Every process demo of the chapter under ``method``, as data (JSON-ready)."""
    return {
        "hand_over": {how: hand_over(method, how) for how in HAND_OVER},
        "tasks": {task: try_task(method, task) for task in TASKS},
        "counters": count_environments(method, workers, per_worker),
    }


#: A ``python -c`` program that runs :func:`main`: its ``__main__`` has no file, so
#: ``spawn`` and ``forkserver`` workers import only this module, not a heavy main script.
DEMOS_PROGRAM = ("import sys; from parbook.chapters.pitfalls.workload import main; "
                 "sys.exit(main(sys.argv[1:]))")


def run_demos_in_child(method: str, workers: int, per_worker: int) -> dict[str, Any]:
    """:func:`run_demos` in a fresh interpreter with a time limit; its outcomes, or why not."""
    child = run_command([sys.executable, "-c", DEMOS_PROGRAM, "demos", method, str(workers),
                         str(per_worker)], time_limit_s=DEMOS_LIMIT_S)
    if child.returncode != 0 or child.killed:
        raise RuntimeError(f"the {method} demos failed (exit code {child.returncode}, "
                           f"killed={child.killed}):\n{child.errors[-4000:]}")
    return json.loads(child.output)


def main(argv: list[str]) -> int:
    """``demos METHOD WORKERS PER_WORKER``: run every process demo, print the outcomes as JSON."""
    if len(argv) == 4 and argv[0] == "demos" and argv[1] in multiprocessing.get_all_start_methods():
        print(json.dumps(run_demos(argv[1], int(argv[2]), int(argv[3]))))
        return 0
    print("usage: python -m parbook.chapters.pitfalls.workload demos METHOD WORKERS PER_WORKER",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

