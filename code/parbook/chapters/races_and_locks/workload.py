"""Workloads of the races-and-locks chapter: a lost update, locks, re-entrancy, deadlock.

The deadlock demonstration hangs on purpose, so it never runs in the caller's process:
:func:`run_transfers` runs this module as a child interpreter
(``python -m parbook.chapters.races_and_locks.workload transfers STRATEGY ...``) with a time
limit and kills it when the limit passes. Every other wait here is bounded.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from parbook.shared.child import ChildRun, run_module

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0


# [start:race]
class Counter:
    """A shared count that threads increment."""

    def __init__(self) -> None:
        self.value = 0


def unsafe_increment(counter: Counter, pause_s: float) -> None:
    """Read, pause, write: another thread may write in between, and its update is lost."""
    current = counter.value
    time.sleep(pause_s)  # any pause (I/O, a log call, a sleep) lets another thread run
    counter.value = current + 1


def locked_increment(counter: Counter, lock: threading.Lock, pause_s: float) -> None:
    """The same read, pause and write, with the lock held from the read to the write."""
    with lock:
        current = counter.value
        time.sleep(pause_s)
        counter.value = current + 1
# [end:race]


# [start:race-run]
def count_with_threads(n_threads: int, pause_s: float, use_lock: bool) -> int:
    """Start one thread per increment, join them all, and return the final count."""
    counter, lock = Counter(), threading.Lock()
    if use_lock:
        target, args = locked_increment, (counter, lock, pause_s)
    else:
        target, args = unsafe_increment, (counter, pause_s)
    threads = [threading.Thread(target=target, args=args) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"increment threads still running after {WAIT_S} s")
    return counter.value
# [end:race-run]


# ---------------------------------------------------------------------------------------
# The race without a pause: where may CPython switch threads inside ``counter.value += 1``?


# [start:no-pause]
def increments_without_lock(counter: Counter, n: int) -> None:
    """``n`` increments, no lock: a read and a write with no call between them."""
    for _ in range(n):
        counter.value += 1


def increments_with_a_call(counter: Counter, n: int) -> None:
    """The same read and write, with a call to an empty function between them."""
    for _ in range(n):
        current = counter.value
        do_nothing()
        counter.value = current + 1


def do_nothing() -> None:
    """An empty function: calling it still runs the check that can hand the GIL over."""
# [end:no-pause]


#: The loops of the race without a pause, by the name the result records them under.
NO_PAUSE_BODIES: dict[str, Callable[[Counter, int], None]] = {
    "in_place": increments_without_lock,
    "call_between": increments_with_a_call,
}


def lost_updates(body: Callable[[Counter, int], None], n_threads: int, n: int) -> int:
    """Run ``body(counter, n)`` on ``n_threads`` threads released together; return how many
    of the ``n_threads * n`` increments the final count is missing."""
    counter = Counter()
    start_together = threading.Barrier(n_threads, timeout=WAIT_S)

    def work() -> None:
        start_together.wait()
        body(counter, n)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"increment threads still running after {WAIT_S} s")
    return n_threads * n - counter.value


# ---------------------------------------------------------------------------------------
# The cost of locking: the same increment with no lock, an idle lock, a contended lock
# (the no-lock loop is ``increments_without_lock`` above).


def increments_with_lock(counter: Counter, lock: Any, n: int) -> None:
    """``n`` increments in this thread, each under ``lock``."""
    for _ in range(n):
        with lock:
            counter.value += 1


def increments_contended(n_threads: int, n: int) -> int:
    """``n`` increments shared out over ``n_threads`` threads and one lock; returns the count."""
    counter, lock = Counter(), threading.Lock()
    share, extra = divmod(n, n_threads)
    threads = [
        threading.Thread(target=increments_with_lock,
                         args=(counter, lock, share + (1 if i < extra else 0)))
        for i in range(n_threads)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    if any(thread.is_alive() for thread in threads):
        raise TimeoutError(f"contended increments still running after {WAIT_S} s")
    return counter.value


# ---------------------------------------------------------------------------------------
# Re-entrancy: a method that holds the lock calls another method that takes it again.


# [start:hold]
@contextlib.contextmanager
def hold(lock: Any, timeout_s: float) -> Iterator[None]:
    """Like ``with lock:``, but give up with TimeoutError instead of waiting forever."""
    if not lock.acquire(timeout=timeout_s):
        raise TimeoutError(f"gave up waiting for the lock after {timeout_s} s")
    try:
        yield
    finally:
        lock.release()
# [end:hold]


# [start:ledger]
class Ledger:
    """Entries recorded under a lock; ``record_many`` calls ``record`` with the lock held."""

    def __init__(self, lock: Any, timeout_s: float) -> None:
        self._lock = lock
        self._timeout_s = timeout_s
        self.entries: list[str] = []

    def record(self, entry: str) -> None:
        with hold(self._lock, self._timeout_s):
            self.entries.append(entry)

    def record_many(self, entries: list[str]) -> None:
        # Holding the lock across the loop keeps the batch together; each record()
        # takes the same lock again from the same thread.
        with hold(self._lock, self._timeout_s):
            for entry in entries:
                self.record(entry)
# [end:ledger]


def try_ledger(lock_factory: Callable[[], Any], timeout_s: float) -> tuple[str, float]:
    """Record a batch in a Ledger built on ``lock_factory()``; say what happened and how long."""
    ledger = Ledger(lock_factory(), timeout_s)
    began = time.perf_counter()
    try:
        ledger.record_many(["deposit 10", "withdraw 3"])
        outcome = f"recorded {ledger.entries}"
    except TimeoutError as error:
        outcome = f"TimeoutError: {error}"
    return outcome, time.perf_counter() - began


# ---------------------------------------------------------------------------------------
# Deadlock: two threads, two locks, taken in opposite orders. Runs in a child process.

STRATEGIES = ("opposite_order", "global_order", "timeout_backoff")


class Account:
    """A balance with its own lock; ``rank`` fixes the global order in which locks are taken."""

    def __init__(self, name: str, rank: int, balance: int) -> None:
        self.name, self.rank, self.balance = name, rank, balance
        self.lock = threading.Lock()


def _say(text: str) -> None:
    print(f"[{threading.current_thread().name}] {text}", flush=True)


# [start:deadlock]
def transfer_opposite_order(source: Account, target: Account, amount: int,
                            hold_s: float) -> int:
    """Lock the source, then the target: two opposite transfers can wait for each other."""
    with source.lock:
        _say(f"holds {source.name}, waiting for {target.name}")
        time.sleep(hold_s)  # some work while holding the first lock
        with target.lock:  # no timeout: if the other thread holds it, this waits forever
            source.balance -= amount
            target.balance += amount
    return 0
# [end:deadlock]


# [start:global-order]
def transfer_global_order(source: Account, target: Account, amount: int, hold_s: float) -> int:
    """Always lock the lower-ranked account first, whichever way the money goes."""
    first, second = sorted((source, target), key=lambda account: account.rank)
    with first.lock:
        time.sleep(hold_s)
        with second.lock:
            source.balance -= amount
            target.balance += amount
    return 0
# [end:global-order]


# [start:timeout-backoff]
def transfer_with_backoff(source: Account, target: Account, amount: int, hold_s: float,
                          patience_s: float = 0.01) -> int:
    """Take the second lock with a timeout; on failure, release everything, back off, retry.

    Returns how many times it had to retry.
    """
    retries = 0
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        with source.lock:
            time.sleep(hold_s)
            if target.lock.acquire(timeout=patience_s):
                try:
                    source.balance -= amount
                    target.balance += amount
                    return retries
                finally:
                    target.lock.release()
        retries += 1  # the first lock is released here, so the other thread can finish
        time.sleep(random.uniform(0, patience_s * 2 ** min(retries, 5)))
    raise TimeoutError(f"transfer {source.name} -> {target.name} gave up after {WAIT_S} s")
# [end:timeout-backoff]


TRANSFERS: dict[str, Callable[..., int]] = {
    "opposite_order": transfer_opposite_order,
    "global_order": transfer_global_order,
    "timeout_backoff": transfer_with_backoff,
}


def transfers(strategy: str, rounds: int, hold_s: float) -> None:
    """Two threads move money back and forth between two accounts, ``rounds`` times each.

    Thread A sends from the first account to the second, thread B the other way. Both
    start together, so their first transfers overlap. Prints what happens; with the
    ``opposite_order`` strategy it never returns (run it through :func:`run_transfers`).
    """
    transfer = TRANSFERS[strategy]
    first, second = Account("account-1", 1, 100), Account("account-2", 2, 100)
    start_together = threading.Barrier(2, timeout=WAIT_S)
    retries = {"A": 0, "B": 0}

    def worker(name: str, source: Account, target: Account) -> None:
        start_together.wait()
        for _ in range(rounds):
            retries[name] += transfer(source, target, 1, hold_s)
        _say(f"finished {rounds} transfers after {retries[name]} retries")

    threads = [
        threading.Thread(target=worker, args=("A", first, second), name="A", daemon=True),
        threading.Thread(target=worker, args=("B", second, first), name="B", daemon=True),
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        # A backstop only: the parent kills this process long before it passes. The
        # threads are daemons, so an interpreter whose threads deadlocked can still exit.
        thread.join(timeout=WAIT_S)
    if any(thread.is_alive() for thread in threads):
        _say(f"gave up waiting after {WAIT_S} s")
        sys.exit(3)
    total = first.balance + second.balance
    _say(f"all done in {time.perf_counter() - began:.3f} s; balances {first.balance} + "
         f"{second.balance} = {total}")


def run_transfers(strategy: str, rounds: int, hold_s: float, time_limit_s: float) -> ChildRun:
    """Run :func:`transfers` in a child interpreter, killed if it outlives ``time_limit_s``."""
    if strategy not in TRANSFERS:
        raise ValueError(f"unknown strategy {strategy!r}; known: {', '.join(TRANSFERS)}")
    module = __name__ if __name__ != "__main__" else "parbook.chapters.races_and_locks.workload"
    return run_module(module, "transfers", strategy, str(rounds), str(hold_s),
                      time_limit_s=time_limit_s)


def main(argv: list[str]) -> int:
    """``transfers STRATEGY ROUNDS HOLD_S``: run :func:`transfers` and print what happens."""
    if len(argv) != 4 or argv[0] != "transfers" or argv[1] not in TRANSFERS:
        print("usage: python -m parbook.chapters.races_and_locks.workload transfers "
              f"{{{','.join(TRANSFERS)}}} ROUNDS HOLD_S", file=sys.stderr)
        return 2
    transfers(argv[1], int(argv[2]), float(argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
