"""Workloads of the pools chapter: ``multiprocessing.Pool`` and ``ProcessPoolExecutor``.

Everything a worker runs is a module-level function of this module, so it pickles by
name and a worker started by ``spawn`` or ``forkserver`` can import it. Functions that
create pools take the multiprocessing context as a parameter; nothing here relies on the
global default start method. Every wait on a result is bounded.

Run as a program, the module hosts what must happen in a fresh interpreter:
``python -m parbook.chapters.pools.workload demos METHOD NAP_S`` runs the chapter's
demonstrations under one start method; ``blas-probe`` and ``blas-time`` look at the
threads of numpy's BLAS library inside pool workers. Each prints one JSON document.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import multiprocessing.context
import os
import pickle
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from parbook.bench.machine import cgroup_cpu_limit
from parbook.shared.child import child_env, run_command, run_demo
from parbook.shared.cpu import BLAS_VARIABLES, burn, one_blas_thread

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0

Context = multiprocessing.context.BaseContext


def _context(method: str) -> Context:
    return multiprocessing.get_context(method)


def worker_pid(_: object = None) -> dict[str, Any]:
    """Which worker ran this task (after a short pause, so one worker cannot take them all)."""
    time.sleep(0.002)
    return {"pid": os.getpid()}


def one_answer_per_worker(pool: Any, workers: int,
                          task: Callable[[object], dict[str, Any]] = worker_pid
                          ) -> list[dict[str, Any]]:
    """Run ``task`` on the pool until each of its ``workers`` has answered once.

    Also a warm-up: when it returns, every worker has started and imported what the
    task needs, so a measurement that follows does not time the pool's start-up.
    """
    answers: dict[int, dict[str, Any]] = {}
    deadline = time.perf_counter() + WAIT_S
    while len(answers) < workers and time.perf_counter() < deadline:
        for answer in pool.map(task, range(4 * workers), chunksize=1):
            answers.setdefault(answer["pid"], answer)
    if len(answers) < workers:
        raise TimeoutError(f"only {len(answers)} of {workers} workers answered in {WAIT_S} s")
    return sorted(answers.values(), key=lambda answer: answer["pid"])


# ---------------------------------------------------------------------------------------
# apply blocks; apply_async returns an AsyncResult at once.

# [start:apply]
def square_after(n: int, seconds: float) -> int:
    """Stand-in for a task that works for ``seconds``: sleep, then return ``n * n``."""
    time.sleep(seconds)
    return n * n


def apply_and_apply_async(pool: Any, seconds: float) -> dict[str, Any]:
    """Call ``square_after`` through ``apply`` and ``apply_async``; time what the caller sees."""
    seen: dict[str, Any] = {}
    began = time.perf_counter()
    seen["apply"] = pool.apply(square_after, (3, seconds))  # blocks until it is done
    seen["apply_s"] = time.perf_counter() - began

    began = time.perf_counter()
    pending = pool.apply_async(square_after, (4, seconds))  # returns at once
    seen["apply_async_s"] = time.perf_counter() - began
    seen["returned"] = type(pending).__name__
    seen["ready_at_once"] = pending.ready()
    seen["get"] = pending.get(timeout=WAIT_S)
    seen["get_s"] = time.perf_counter() - began

    slow = pool.apply_async(square_after, (5, 4 * seconds))
    try:
        slow.get(timeout=seconds)  # gives up waiting; the task itself carries on
    except multiprocessing.TimeoutError as error:
        seen["short_get"] = type(error).__name__
    seen["ready_after_short_get"] = slow.ready()
    seen["late_get"] = slow.get(timeout=WAIT_S)
    return seen
# [end:apply]


def describe_apply(seen: dict[str, Any]) -> list[str]:
    """What :func:`apply_and_apply_async` found, as lines for the page."""
    return [
        f"apply(...) returned {seen['apply']} after {seen['apply_s']:.3f} s: the caller waited",
        f"apply_async(...) returned an {seen['returned']} after "
        f"{seen['apply_async_s'] * 1e6:.0f} µs; "
        f"ready() = {seen['ready_at_once']}",
        f"get(timeout=...) returned {seen['get']} after {seen['get_s']:.3f} s",
        f"get(timeout=...) shorter than a task raised {seen.get('short_get', 'nothing')}; "
        f"ready() = {seen['ready_after_short_get']}",
        f"a second get(timeout=...) on that task returned {seen['late_get']}",
    ]


# ---------------------------------------------------------------------------------------
# The article's experiment: ten tasks on three workers, synchronously and asynchronously.

# [start:sync-async]
def run_synchronously(pool: Any, tasks: int, seconds: float) -> list[int]:
    """The anti-pattern: ``apply`` in a loop waits for each task before sending the next."""
    return [pool.apply(square_after, (n, seconds)) for n in range(tasks)]


def run_asynchronously(pool: Any, tasks: int, seconds: float) -> list[int]:
    """Send every task first, then collect: the workers run them side by side."""
    pending = [pool.apply_async(square_after, (n, seconds)) for n in range(tasks)]
    return [result.get(timeout=WAIT_S) for result in pending]


def run_with_map(pool: Any, tasks: int, seconds: float) -> list[int]:
    """The same in one call: ``map`` sends the tasks and waits for all of them."""
    return pool.map(functools.partial(square_after, seconds=seconds), range(tasks))
# [end:sync-async]


# ---------------------------------------------------------------------------------------
# map, imap, imap_unordered, starmap.

# [start:map-family]
def nap_and_return(seconds: float) -> float:
    """Sleep ``seconds``, then return it, so the order of results shows the finishing order."""
    time.sleep(seconds)
    return seconds


def power(base: int, exponent: int) -> int:
    """A function of two arguments, for ``starmap``."""
    return base**exponent


def map_family(pool: Any, naps: list[float]) -> dict[str, list[Any]]:
    """Run the same naps through ``map``, ``imap`` and ``imap_unordered``; then a starmap."""
    in_order = pool.map(nap_and_return, naps)  # blocks; a list in the order of naps
    lazily = pool.imap(nap_and_return, naps)  # an iterator at once; same order
    in_order_again = [lazily.next(timeout=WAIT_S) for _ in naps]
    as_finished = pool.imap_unordered(nap_and_return, naps)  # in the order tasks end
    by_finish = [as_finished.next(timeout=WAIT_S) for _ in naps]
    powers = pool.starmap(power, [(2, 3), (3, 2), (10, 0)])  # each tuple unpacked
    return {"map": in_order, "imap": in_order_again, "imap_unordered": by_finish,
            "starmap": powers}
# [end:map-family]


def describe_map_family(naps: list[float], seen: dict[str, list[Any]]) -> list[str]:
    """What :func:`map_family` returned, as lines for the page."""
    return [
        f"tasks (seconds each)          {naps}",
        f"map                           {seen['map']}",
        f"imap                          {seen['imap']}",
        f"imap_unordered                {seen['imap_unordered']}",
        f"starmap(power, [(2, 3), (3, 2), (10, 0)]) -> {seen['starmap']}",
    ]


# ---------------------------------------------------------------------------------------
# Several arguments.

# [start:arguments]
def scale_pair(pair: tuple[int, int]) -> int:
    """One argument that carries two: unpack the tuple inside the function."""
    value, factor = pair
    return value * factor


def scale(value: int, factor: int) -> int:
    """The same function with two real parameters."""
    return value * factor


def several_arguments(pool: Any, values: list[int], factor: int) -> dict[str, list[int]]:
    """Three ways to call a function of several arguments on a pool."""
    packed = pool.map(scale_pair, [(value, factor) for value in values])
    unpacked = pool.starmap(scale, [(value, factor) for value in values])
    fixed = pool.map(functools.partial(scale, factor=factor), values)
    return {"tuple": packed, "starmap": unpacked, "partial": fixed}
# [end:arguments]


# [start:lambda]
def map_a_lambda(pool: Any, values: list[int], factor: int) -> str:
    """Try to send a lambda to the workers; return the error it causes."""
    try:
        pool.map(lambda value: scale(value, factor), values)
    except (pickle.PicklingError, AttributeError) as error:  # which one: Python version
        return f"{type(error).__name__}: {error}"
    return "no error"
# [end:lambda]


# ---------------------------------------------------------------------------------------
# Shutting a pool down: close + join, and what the with block does.

# [start:shutdown]
def leave_with_block_early(context: Context, tasks: int, seconds: float) -> dict[str, Any]:
    """Submit tasks, then leave the ``with`` block without collecting their results."""
    began = time.perf_counter()
    with context.Pool(processes=2) as pool:
        pending = [pool.apply_async(square_after, (n, seconds)) for n in range(tasks)]
    # Pool.__exit__ called terminate(): workers killed, queued tasks dropped.
    left_after = time.perf_counter() - began
    finished = sum(result.ready() for result in pending)
    try:
        pending[-1].get(timeout=2 * seconds)  # with no timeout, this would wait forever
        late_get = "a value"
    except multiprocessing.TimeoutError as error:
        late_get = type(error).__name__
    return {"tasks": tasks, "finished": finished, "left_after_s": left_after,
            "late_get": late_get}


def close_and_join(context: Context, tasks: int, seconds: float) -> dict[str, Any]:
    """Submit tasks, then ``close()`` and ``join()``: every queued task runs first."""
    began = time.perf_counter()
    pool = context.Pool(processes=2)
    try:
        pending = [pool.apply_async(square_after, (n, seconds)) for n in range(tasks)]
        pool.close()  # no new tasks; workers exit once the queue is empty
        pool.join()  # wait for them to exit
    finally:
        pool.terminate()  # a no-op after a clean join; stops the workers after an error
    return {"tasks": tasks, "finished": sum(result.ready() for result in pending),
            "left_after_s": time.perf_counter() - began,
            "results": [result.get(timeout=0) for result in pending]}


def collect_inside_with_block(context: Context, tasks: int, seconds: float) -> dict[str, Any]:
    """The usual fix: collect every result before the ``with`` block ends."""
    began = time.perf_counter()
    with context.Pool(processes=2) as pool:
        pending = [pool.apply_async(square_after, (n, seconds)) for n in range(tasks)]
        results = [result.get(timeout=WAIT_S) for result in pending]
    return {"tasks": tasks, "finished": len(results),
            "left_after_s": time.perf_counter() - began, "results": results}
# [end:shutdown]


# ---------------------------------------------------------------------------------------
# concurrent.futures.ProcessPoolExecutor.

# [start:executor]
def parse_setting(text: str) -> int:
    """Parse a setting; raises ValueError for text that is not an integer."""
    return int(text)


def executor_demo(context: Context, naps: list[float]) -> dict[str, Any]:
    """submit + as_completed, map with several iterables, and an exception from a worker."""
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        futures = [pool.submit(nap_and_return, nap) for nap in naps]
        by_finish = [future.result() for future in as_completed(futures, timeout=WAIT_S)]
        powers = list(pool.map(power, [2, 3, 4], [2, 2, 2], timeout=WAIT_S, chunksize=2))
        failing = pool.submit(parse_setting, "ten")
        try:
            failing.result(timeout=WAIT_S)  # re-raises the worker's exception here
            error, remote = "no error", ""
        except ValueError as raised:
            error = f"{type(raised).__name__}: {raised}"
            remote = str(raised.__cause__)  # the worker's own traceback, as text
    return {"as_completed": by_finish, "map": powers, "error": error,
            "remote_traceback": remote}
# [end:executor]


# ---------------------------------------------------------------------------------------
# chunksize: many small tasks.

# [start:small-task]
def small_task(x: int) -> int:
    """A task of a few microseconds: far shorter than one trip to a worker and back."""
    total = 0
    for i in range(40):
        total += (x ^ i) & 3
    return total
# [end:small-task]


def default_chunksize(tasks: int, workers: int) -> int:
    """The chunksize ``Pool.map`` picks when given none: about four chunks per worker.

    The same rule as ``multiprocessing.pool.Pool._map_async`` (CPython 3.8 to 3.14).
    """
    chunksize, extra = divmod(tasks, workers * 4)
    return chunksize + 1 if extra else chunksize


def small_tasks_in_one_process(tasks: int) -> list[int]:
    """The reference: the same calls in a plain loop, no pool."""
    return [small_task(x) for x in range(tasks)]


def map_small_tasks(pool: Any, tasks: int, chunksize: int | None) -> list[int]:
    """``Pool.map`` (or ``Executor.map``) over the small tasks with the given chunksize."""
    if isinstance(pool, ProcessPoolExecutor):
        return list(pool.map(small_task, range(tasks), chunksize=chunksize or 1,
                             timeout=WAIT_S))
    return pool.map(small_task, range(tasks), chunksize=chunksize)


# ---------------------------------------------------------------------------------------
# Expensive per-worker set-up: per task, or once per worker in an initializer.

_VOCABULARY: dict[str, int] = {}  # one per worker process, filled by load_vocabulary


# [start:initializer]
def build_vocabulary(size: int) -> dict[str, int]:
    """The expensive set-up: a lookup table of ``size`` words and their ids."""
    return {f"word-{i:07d}": i for i in range(size)}


def word_id_building_each_time(word: str, size: int) -> int:
    """The anti-pattern: every task builds the table it needs, then uses it once."""
    return build_vocabulary(size).get(word, -1)


def load_vocabulary(size: int) -> None:
    """The initializer: runs once in each worker process, before its first task."""
    _VOCABULARY.clear()
    _VOCABULARY.update(build_vocabulary(size))


def word_id(word: str) -> int:
    """The task, using the table its worker loaded."""
    return _VOCABULARY.get(word, -1)


def look_up_building_per_task(context: Context, workers: int, words: list[str],
                              size: int) -> list[int]:
    with context.Pool(processes=workers) as pool:
        return pool.map(functools.partial(word_id_building_each_time, size=size), words,
                        chunksize=1)


def look_up_with_initializer(context: Context, workers: int, words: list[str],
                             size: int) -> list[int]:
    with context.Pool(processes=workers, initializer=load_vocabulary,
                      initargs=(size,)) as pool:
        return pool.map(word_id, words, chunksize=1)
# [end:initializer]


def time_vocabulary_build(size: int) -> float:
    """Seconds :func:`build_vocabulary` takes here (run in a worker, timed there)."""
    began = time.perf_counter()
    build_vocabulary(size)
    return time.perf_counter() - began


def words_to_look_up(count: int, size: int) -> list[str]:
    """``count`` words spread over a vocabulary of ``size``, all of them in it."""
    return [f"word-{(i * 7919) % size:07d}" for i in range(count)]


# ---------------------------------------------------------------------------------------
# How many workers: CPU-bound pure Python on 1..2x the usable CPUs.

def burn_in_one_process(iterations: int, tasks: int) -> list[int]:
    """The reference: every task one after another in this process."""
    return [burn(iterations) for _ in range(tasks)]


def burn_on_pool(pool: Any, iterations: int, tasks: int) -> list[int]:
    """The same tasks spread over a running pool, one task per message."""
    return pool.map(burn, [iterations] * tasks, chunksize=1)


# ---------------------------------------------------------------------------------------
# How many CPUs: what Python and the kernel each count.

# [start:cpu-counts]
def cpu_counts() -> dict[str, Any]:
    """Every count of CPUs this process can ask for (None: not on this interpreter or
    platform), and the override variable and option as this process was started with."""
    process_cpu_count = getattr(os, "process_cpu_count", None)  # Python 3.13+
    sched_getaffinity = getattr(os, "sched_getaffinity", None)  # Linux, some Unixes
    return {
        "os_cpu_count": os.cpu_count(),
        "process_cpu_count": process_cpu_count() if process_cpu_count else None,
        "affinity": len(sched_getaffinity(0)) if sched_getaffinity else None,
        "cgroup_quota": cgroup_cpu_limit(),
        "PYTHON_CPU_COUNT": os.environ.get("PYTHON_CPU_COUNT"),
        "-X cpu_count": sys._xoptions.get("cpu_count"),
    }
# [end:cpu-counts]


def default_pool_count() -> str:
    """The call ``Pool()`` with no size makes for its worker count on this interpreter,
    read from the standard library's own source (3.13 moved it to process_cpu_count)."""
    import inspect
    import multiprocessing.pool

    try:
        source = inspect.getsource(multiprocessing.pool.Pool.__init__)
    except (OSError, TypeError):
        return "os.process_cpu_count()" if hasattr(os, "process_cpu_count") else "os.cpu_count()"
    return "os.process_cpu_count()" if "process_cpu_count()" in source else "os.cpu_count()"


#: What a child interpreter prints: its own os.cpu_count().
PRINT_CPU_COUNT = "import os; print(os.cpu_count())"


def counts_under_override(override: int, time_limit_s: float = WAIT_S) -> dict[str, Any]:
    """``os.cpu_count()`` in child interpreters started with ``PYTHON_CPU_COUNT=override``
    and with ``-X cpu_count=override`` (None where the child failed, with its error)."""
    seen: dict[str, Any] = {"override": override}
    env = {**child_env(), "PYTHON_CPU_COUNT": str(override)}
    plain = {key: value for key, value in child_env().items() if key != "PYTHON_CPU_COUNT"}
    for how, command, environment in (
            ("env", [sys.executable, "-c", PRINT_CPU_COUNT], env),
            ("x_option", [sys.executable, "-X", f"cpu_count={override}", "-c",
                          PRINT_CPU_COUNT], plain)):
        child = run_command(command, time_limit_s=time_limit_s, env=environment)
        ok = child.returncode == 0 and not child.killed
        seen[how] = int(child.output.split()[-1]) if ok else None
        seen[f"{how}_error"] = None if ok else (child.errors.strip().splitlines() or ["?"])[-1]
    return seen


# ---------------------------------------------------------------------------------------
# BLAS threads inside workers.

# [start:blas-task]
def matrix_products(seed: int, size: int, products: int) -> float:
    """Multiply two random ``size`` x ``size`` matrices ``products`` times (numpy, BLAS)."""
    import numpy as np  # imported in the worker, which reads the BLAS variables now

    rng = np.random.default_rng(seed)
    a, b = rng.random((size, size)), rng.random((size, size))
    for _ in range(products):
        c = a @ b
    return float(c[0, 0])
# [end:blas-task]


def blas_threads(_: object = None) -> dict[str, Any]:
    """This worker's view: the BLAS variables it sees and its thread count after a product.

    A pool worker runs its tasks on one thread, so any further threads in its process
    belong to the BLAS library, which starts them when it loads.
    """
    import numpy as np
    import psutil

    a = np.ones((256, 256))
    a @ a  # noqa: B018 -- runs the BLAS library, so its threads exist by now
    return {"pid": os.getpid(),
            "limited": all(os.environ.get(name) == "1" for name in BLAS_VARIABLES),
            "threads": psutil.Process().num_threads()}


# [start:blas-env]
def workers_blas_threads(context: Context, workers: int) -> list[dict[str, Any]]:
    """Create a pool with the variables set around its creation; ask each worker."""
    with one_blas_thread(), context.Pool(processes=workers) as pool:
        return _one_answer_per_worker(pool, workers)
# [end:blas-env]


def _one_answer_per_worker(pool: Any, workers: int) -> list[dict[str, Any]]:
    """Ask the pool's workers for :func:`blas_threads` until each has answered once."""
    return one_answer_per_worker(pool, workers, blas_threads)


def without_blas_variables(environ: dict[str, str]) -> dict[str, str]:
    """``environ`` with every BLAS thread variable removed (the library's default)."""
    return {name: value for name, value in environ.items() if name not in BLAS_VARIABLES}


def noop() -> None:
    """A process target that does nothing (to start a fork server)."""


def blas_probe(workers: int) -> dict[str, Any]:
    """In a program that already imported numpy: does setting the variables around pool
    creation reach the workers, under each start method?"""
    import numpy as np

    a = np.ones((256, 256))
    a @ a  # noqa: B018 -- the parent's BLAS library is loaded, as in most programs
    found: dict[str, Any] = {"parent": blas_threads()}
    for method in multiprocessing.get_all_start_methods():
        context = _context(method)
        if method == "forkserver":
            # A program that has started any process this way has a fork server running.
            server_starter = context.Process(target=noop)
            server_starter.start()
            server_starter.join(timeout=WAIT_S)
        found[method] = workers_blas_threads(context, workers)
    return found


def time_matrix_products(method: str, workers: int, tasks: int, size: int, products: int,
                         repeats: int) -> dict[str, Any]:
    """Time ``tasks`` matrix-product tasks on ``workers`` processes, ``repeats`` times.

    Run in an interpreter whose BLAS variables were set (or removed) before it started,
    so every start method sees them.
    """
    task = functools.partial(matrix_products, size=size, products=products)
    with _context(method).Pool(processes=workers) as pool:
        answers = _one_answer_per_worker(pool, workers)  # also imports numpy in each worker
        pool.map(task, range(workers), chunksize=1)
        samples = []
        for _ in range(repeats):
            began = time.perf_counter()
            pool.map(task, range(tasks), chunksize=1)
            samples.append(time.perf_counter() - began)
    return {"samples": samples, "workers": answers}


# ---------------------------------------------------------------------------------------
# The demonstrations, run together under one start method (in a fresh interpreter).

# [start:run-demos]
def run_demos(method: str, nap_s: float) -> dict[str, Any]:
    """Every demonstration of the chapter under one start method, as plain data."""
    context = multiprocessing.get_context(method)
    naps, values = [2 * nap_s, 0.0, nap_s, nap_s / 2], [1, 2, 3]
    seen: dict[str, Any] = {"method": method, "map_naps": naps}
    with context.Pool(processes=3) as pool:
        one_answer_per_worker(pool, 3)  # wait until all three workers have started
        seen["apply"] = apply_and_apply_async(pool, nap_s)
        seen["map"] = map_family(pool, naps)
        seen["arguments"] = several_arguments(pool, values, factor=10)
        seen["lambda"] = map_a_lambda(pool, values, factor=10)
    seen["with_early"] = leave_with_block_early(context, 6, nap_s)
    seen["close_join"] = close_and_join(context, 6, nap_s)
    seen["with_collect"] = collect_inside_with_block(context, 6, nap_s)
    seen["executor"] = executor_demo(context, naps[:3])
    return seen
# [end:run-demos]


def _print_json(data: Any) -> None:
    print(json.dumps(data), flush=True)


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "demos": lambda argv: _print_json(run_demos(argv[0], float(argv[1]))),
    "blas-probe": lambda argv: _print_json(blas_probe(int(argv[0]))),
    "blas-time": lambda argv: _print_json(time_matrix_products(
        argv[0], *(int(a) for a in argv[1:6]))),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo("parbook.chapters.pools.workload", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
