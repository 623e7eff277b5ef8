"""Workloads of the threads chapter: starting, joining and collecting from threads.

Every wait here is bounded. Demonstrations that need a fresh interpreter (what happens
to daemon threads when the interpreter exits, what an uncaught exception in a bare thread
prints) run this module as a child process with a time limit, through
:func:`parbook.shared.child.run_module`; ``python -m parbook.chapters.threads.workload DEMO``
runs one by hand.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed

from parbook.shared.child import run_demo

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
_STARTED = time.perf_counter()


def _since_start() -> str:
    return f"{time.perf_counter() - _STARTED:.2f} s"


# [start:thread-function]
def fetch(name: str, delay_s: float, results: dict[str, str], *, attempt: int = 1) -> None:
    """Stand-in for waiting on a network or a disk: sleep, then store a result."""
    time.sleep(delay_s)
    worker = threading.current_thread().name
    results[name] = f"{name} fetched by {worker} after {delay_s} s (attempt {attempt})"


def start_with_a_function(delays: dict[str, float]) -> dict[str, str]:
    """Start one thread per name, passing arguments with ``args`` and ``kwargs``."""
    results: dict[str, str] = {}
    threads = [
        threading.Thread(target=fetch, args=(name, delay, results), kwargs={"attempt": 1},
                         name=f"fetch-{name}")
        for name, delay in delays.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)  # bounded: a stuck thread fails loudly below
    stuck = [thread.name for thread in threads if thread.is_alive()]
    if stuck:
        raise TimeoutError(f"threads still running after {WAIT_S} s: {stuck}")
    return results
# [end:thread-function]


# [start:thread-subclass]
class Fetcher(threading.Thread):
    """A thread whose work is its ``run`` method; it keeps its result on itself."""

    def __init__(self, name: str, delay_s: float) -> None:
        super().__init__(name=f"fetcher-{name}")
        self.item = name
        self.delay_s = delay_s
        self.result: str | None = None

    def run(self) -> None:
        time.sleep(self.delay_s)
        self.result = f"{self.item} fetched by {self.name} after {self.delay_s} s"


def start_subclasses(delays: dict[str, float]) -> list[str]:
    """Start one ``Fetcher`` per name, join them all, and collect their results."""
    fetchers = [Fetcher(name, delay) for name, delay in delays.items()]
    for fetcher in fetchers:
        fetcher.start()
    for fetcher in fetchers:
        fetcher.join(timeout=WAIT_S)
    return [fetcher.result or f"{fetcher.name} did not finish" for fetcher in fetchers]
# [end:thread-subclass]


# [start:join-timeout]
def join_with_timeout(work_s: float, patience_s: float) -> list[str]:
    """Show that ``join(timeout)`` returns when time is up, whether or not the thread ended."""
    thread = threading.Thread(target=time.sleep, args=(work_s,), name="slow")
    began = time.perf_counter()
    thread.start()
    thread.join(timeout=patience_s)
    waited = time.perf_counter() - began
    lines = [f"join(timeout={patience_s}) returned after {waited:.3f} s; "
             f"is_alive() = {thread.is_alive()}"]
    thread.join(timeout=work_s + WAIT_S)  # wait for the end, still with a bound
    waited = time.perf_counter() - began
    lines.append(f"second join returned after {waited:.3f} s; is_alive() = {thread.is_alive()}")
    return lines
# [end:join-timeout]


# [start:daemon-demo]
def sleeper(seconds: float) -> None:
    """Sleep, then say so: the line appears only if the thread is allowed to finish."""
    time.sleep(seconds)
    print(f"{threading.current_thread().name} finished at {_since_start()}", flush=True)


def daemon_demo(daemon: bool, sleeps: tuple[float, ...]) -> None:
    """Start sleepers and let the main thread run off the end without joining them."""
    for number, seconds in enumerate(sleeps, start=1):
        name = f"worker-{number}"
        threading.Thread(target=sleeper, args=(seconds,), name=name, daemon=daemon).start()
        print(f"MainThread started {name} (daemon={daemon}, sleeps {seconds} s)", flush=True)
    print(f"MainThread reached the end of the program at {_since_start()}", flush=True)
# [end:daemon-demo]


# [start:bare-thread-error]
def parse_setting(text: str) -> int:
    """Parse a setting; raises ValueError for text that is not an integer."""
    return int(text)


def bare_thread_error() -> None:
    """An exception in a plain Thread: printed by threading.excepthook, then lost."""
    thread = threading.Thread(target=parse_setting, args=("ten",), name="parser")
    thread.start()
    thread.join(timeout=WAIT_S)
    print(f"MainThread carries on: join() returned normally, is_alive() = {thread.is_alive()}",
          flush=True)
# [end:bare-thread-error]


# [start:excepthook]
@contextlib.contextmanager
def collect_thread_errors() -> Iterator[list[str]]:
    """Record exceptions that escape any thread's ``run`` instead of printing them."""
    errors: list[str] = []

    def record(args: threading.ExceptHookArgs) -> None:
        errors.append(f"{args.thread.name if args.thread else '?'}: {args.exc_value!r}")

    previous = threading.excepthook
    threading.excepthook = record
    try:
        yield errors
    finally:
        threading.excepthook = previous
# [end:excepthook]


def errors_through_excepthook(texts: list[str]) -> list[str]:
    """Parse each text in a bare thread, with :func:`collect_thread_errors` installed."""
    with collect_thread_errors() as errors:
        threads = [threading.Thread(target=parse_setting, args=(text,), name=f"parse-{text}")
                   for text in texts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT_S)
    return sorted(errors)


# [start:executor]
def fetch_one(name: str, delay_s: float) -> str:
    """Stand-in for one request: wait, then return what was fetched and by which thread."""
    time.sleep(delay_s)
    return f"{name} fetched by {threading.current_thread().name}"


def fetch_all(names: list[str], delay_s: float, workers: int) -> dict[str, str]:
    """Fetch every name on a pool of threads; results come back through futures."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pool") as pool:
        futures = {pool.submit(fetch_one, name, delay_s): name for name in names}
        return {futures[future]: future.result()
                for future in as_completed(futures, timeout=WAIT_S)}
# [end:executor]


# [start:future-error]
def parse_all(texts: list[str]) -> list[str]:
    """Parse texts on a pool; a task's exception comes back when its result is asked for."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(parse_setting, text) for text in texts]
    lines = []
    for text, future in zip(texts, futures, strict=True):
        try:
            lines.append(f"{text!r} -> {future.result(timeout=WAIT_S)}")
        except ValueError as error:  # re-raised here, in the thread that asked
            lines.append(f"{text!r} -> result() raised {type(error).__name__}: {error}")
    return lines
# [end:future-error]


# ---------------------------------------------------------------------------------------
# Measured cases: the cost of handing work to a thread.


def noop() -> None:
    """A thread target that does nothing: what is left is the cost of the thread."""


def call_directly(n: int) -> None:
    """Call ``noop`` ``n`` times in this thread (the floor)."""
    for _ in range(n):
        noop()


def start_and_join(n: int) -> None:
    """Start and join a new thread for each of ``n`` calls."""
    for _ in range(n):
        thread = threading.Thread(target=noop)
        thread.start()
        thread.join(timeout=WAIT_S)


def submit_to_pool(pool: ThreadPoolExecutor, n: int) -> None:
    """Submit ``n`` calls one at a time to a running pool, waiting for each result."""
    for _ in range(n):
        pool.submit(noop).result(timeout=WAIT_S)


def pool_per_call(n: int) -> None:
    """Create a one-thread pool for each of ``n`` calls (the anti-pattern)."""
    for _ in range(n):
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(noop).result(timeout=WAIT_S)


def sleeps_in_sequence(count: int, delay_s: float) -> None:
    """``count`` waits one after another."""
    for _ in range(count):
        time.sleep(delay_s)


def sleeps_on_pool(pool: ThreadPoolExecutor, count: int, delay_s: float) -> None:
    """``count`` waits spread over a running pool."""
    for future in [pool.submit(time.sleep, delay_s) for _ in range(count)]:
        future.result(timeout=WAIT_S)


DEMOS: dict[str, Callable[[list[str]], None]] = {
    "daemon": lambda argv: daemon_demo(True, tuple(float(a) for a in argv)),
    "non-daemon": lambda argv: daemon_demo(False, tuple(float(a) for a in argv)),
    "bare-thread-error": lambda argv: bare_thread_error(),
}


def main(argv: list[str]) -> int:
    """Run the demo named by ``argv[0]`` with the rest as its arguments."""
    return run_demo("parbook.chapters.threads.workload", DEMOS, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
