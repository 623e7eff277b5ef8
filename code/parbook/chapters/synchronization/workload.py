"""Workloads of the synchronization chapter: Lock, Semaphore, Event and Barrier between
processes.

Every demonstration here starts real processes through the context it is given
(``multiprocessing.get_context(method)``), so it runs the same under fork, spawn and
forkserver: targets are module-level functions, arguments are picklable, and the
primitives reach the children as ``Process`` arguments, the way multiprocessing lets
a lock travel. Children report what they saw through a ``Queue`` (their output would not
reach a notebook), every wait is bounded, and every process is joined with a time limit
and killed if it is still alive.

Timestamps that are compared between processes come from :func:`time.time`, the wall
clock every process on the machine reads alike. The reference point of
:func:`time.monotonic` and :func:`time.perf_counter` is undefined by their documentation:
only differences taken within one process are promised to mean anything (on Linux both
happen to read one system-wide clock, but nothing guarantees that elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Upper bound on any single wait, so a broken demo fails instead of hanging.
WAIT_S = 30.0
#: How long a process that should already have ended gets before it is killed.
JOIN_S = 10.0


# [start:acquired]
@contextlib.contextmanager
def acquired(primitive: Any, timeout_s: float = WAIT_S) -> Iterator[None]:
    """``with lock:`` with a bound: acquire within ``timeout_s`` or raise TimeoutError.

    Works for anything with ``acquire(timeout=...)`` and ``release()``: a Lock, an RLock,
    a Semaphore, in a thread or a process.
    """
    if not primitive.acquire(timeout=timeout_s):
        raise TimeoutError(f"not acquired within {timeout_s} s")
    try:
        yield
    finally:
        primitive.release()
# [end:acquired]


def sleep_until(moment: float) -> None:
    """Sleep until the wall-clock time ``moment`` (return at once if it has passed)."""
    time.sleep(max(0.0, moment - time.time()))


@dataclass(frozen=True)
class Together:
    """What :func:`run_together` collected: one message per process, and how they ended."""

    started: float
    messages: list[dict[str, Any]]
    exitcodes: list[int | None]
    killed: int


#: A process to start: its target and the arguments after the common two.
Job = tuple[Callable[..., None], tuple[Any, ...]]


# [start:run-together]
def run_together(context: Any, jobs: Sequence[Job]) -> Together:
    """Start one process per (target, args) job, release them at once, collect reports.

    Each process runs ``target(start, reports, *args)``: it first waits at the ``start``
    barrier, where the parent waits too, so that process start-up (slow under spawn) is
    not part of what the demo records; at the end it puts one dict on ``reports``.
    """
    start = context.Barrier(len(jobs) + 1)
    reports = context.Queue()
    processes = [context.Process(target=target, args=(start, reports, *args))
                 for target, args in jobs]
    for process in processes:
        process.start()
    killed = 0
    try:
        start.wait(timeout=WAIT_S)
        started = time.time()
        # Read the reports before joining: a child whose report is still in the pipe
        # cannot exit, so joining first could wait forever.
        messages = [reports.get(timeout=WAIT_S) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=JOIN_S)
            if process.is_alive():
                process.kill()
                process.join(timeout=JOIN_S)
                killed += 1
        reports.close()
        reports.join_thread()
    return Together(started, messages, [p.exitcode for p in processes], killed)
# [end:run-together]


# ---------------------------------------------------------------------------------------
# Lock: whole records in one shared file.


@dataclass(frozen=True)
class RecordPlan:
    """What each writer does: ``records`` records of ``lines`` lines each.

    ``work_s`` is the time spent producing a record (standing for computing or fetching
    its content; it needs no shared resource); ``line_pause_s`` is a short pause after
    each line, which widens the gap between two write calls that exists anyway, so that
    the demo shows on any machine what a busy machine shows now and then.
    """

    records: int
    lines: int
    work_s: float
    line_pause_s: float


#: What the lock is held around in :func:`write_records`.
HOLD_CHOICES = ("nothing", "write", "work_and_write")
_LINE = re.compile(r"^writer (\d+) record (\d+) line (\d+)/(\d+)$")


# [start:writer]
def produce_record(writer: int, number: int, plan: RecordPlan) -> list[bytes]:
    """Make one multi-line record; the sleep stands for the work of producing it."""
    time.sleep(plan.work_s)
    return [f"writer {writer} record {number:02d} line {line}/{plan.lines}\n".encode()
            for line in range(1, plan.lines + 1)]


def append_lines(fd: int, lines: list[bytes], pause_s: float) -> None:
    """Append the lines one write call each, like a loop of print(..., flush=True)."""
    for line in lines:
        os.write(fd, line)
        time.sleep(pause_s)


def write_records(start: Any, reports: Any, path: str, writer: int, plan: RecordPlan,
                  lock: Any, hold_for: str) -> None:
    """One writer process: append ``plan.records`` records to the shared file."""
    start.wait(timeout=WAIT_S)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        for number in range(plan.records):
            if hold_for == "nothing":      # no lock: other writers' lines get in between
                append_lines(fd, produce_record(writer, number, plan), plan.line_pause_s)
            elif hold_for == "write":      # the lock covers the shared file only
                lines = produce_record(writer, number, plan)
                with acquired(lock):
                    append_lines(fd, lines, plan.line_pause_s)
            else:                          # anti-pattern: the lock covers the work too
                with acquired(lock):
                    append_lines(fd, produce_record(writer, number, plan),
                                 plan.line_pause_s)
    finally:
        os.close(fd)
    reports.put({"writer": writer, "finished": time.time()})
# [end:writer]


def check_records(text: str, writers: int, plan: RecordPlan) -> dict[str, int]:
    """Count the records whose lines are not together and in order, and lost lines.

    A record is *whole* when its lines follow one another in the file, first to last,
    with no line of another record in between; any other record is *torn*.
    """
    positions: dict[tuple[int, int], list[tuple[int, int]]] = {}
    malformed = 0
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _LINE.match(line)
        if not match:
            malformed += 1
            continue
        writer, record, number, _total = (int(group) for group in match.groups())
        positions.setdefault((writer, record), []).append((index, number))
    expected = writers * plan.records
    torn = 0
    for where in positions.values():
        indexes = [index for index, _ in where]
        numbers = [number for _, number in where]
        contiguous = indexes == list(range(indexes[0], indexes[0] + len(indexes)))
        if not (contiguous and numbers == list(range(1, plan.lines + 1))):
            torn += 1
    return {"records": expected, "records_seen": len(positions), "torn": torn,
            "lines": len(lines), "expected_lines": expected * plan.lines,
            "malformed_lines": malformed}


def shared_file_demo(context: Any, writers: int, plan: RecordPlan, hold_for: str,
                     excerpt_lines: int = 12) -> dict[str, Any]:
    """Run ``writers`` writer processes on one file, holding the lock around ``hold_for``.

    Returns the counts from :func:`check_records`, the wall time from the common start
    to the last writer's end, and the first lines of the file.
    """
    if hold_for not in HOLD_CHOICES:
        raise ValueError(f"hold_for must be one of {HOLD_CHOICES}, got {hold_for!r}")
    lock = None if hold_for == "nothing" else context.Lock()
    with tempfile.TemporaryDirectory(prefix="parbook-sync-") as folder:
        path = os.path.join(folder, "records.log")
        Path(path).touch()
        run = run_together(context, [(write_records, (path, writer, plan, lock, hold_for))
                                     for writer in range(writers)])
        text = Path(path).read_text(encoding="utf-8")
    finished = max(message["finished"] for message in run.messages)
    return {"hold_for": hold_for, "elapsed_s": finished - run.started,
            "exitcodes": run.exitcodes, "killed": run.killed,
            "excerpt": text.splitlines()[:excerpt_lines],
            **check_records(text, writers, plan)}


# [start:dead-holder]
def hold_until_killed(lock: Any, holding: Any, hold_s: float) -> None:
    """Take the lock, say so, and keep it (the parent kills this process meanwhile)."""
    with acquired(lock):
        holding.set()
        time.sleep(hold_s)


def lock_with_a_dead_holder(context: Any, patience_s: float) -> list[dict[str, Any]]:
    """Try ``acquire(timeout=...)`` while another process holds the lock, then after it died."""
    lock, holding = context.Lock(), context.Event()
    holder = context.Process(target=hold_until_killed, args=(lock, holding, WAIT_S))
    holder.start()
    attempts = []
    try:
        if not holding.wait(timeout=WAIT_S):
            raise TimeoutError("the holder never took the lock")
        for moment in ("while the holder runs", "after the holder was killed"):
            if moment.startswith("after"):
                holder.kill()                 # SIGKILL: as the OOM killer would do it
                holder.join(timeout=JOIN_S)
            began = time.perf_counter()
            got = lock.acquire(timeout=patience_s)
            waited = time.perf_counter() - began
            if got:
                lock.release()
            attempts.append({"when": moment, "acquired": got, "waited_s": waited,
                             "holder_alive": holder.is_alive(),
                             "holder_exitcode": holder.exitcode})
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join(timeout=JOIN_S)
    return attempts
# [end:dead-holder]


def pickle_a_lock(context: Any) -> str:
    """Pickle a lock, as a Queue, a Pipe or a Pool task does with what it sends."""
    try:
        pickle.dumps(context.Lock())
    except RuntimeError as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


# ---------------------------------------------------------------------------------------
# Semaphore: at most N inside at once.


# [start:semaphore]
def visit(start: Any, reports: Any, worker: int, visits: int, inside_s: float,
          places: Any) -> None:
    """Enter, stay ``inside_s``, leave, ``visits`` times; through ``places`` if given."""
    start.wait(timeout=WAIT_S)
    stays = []
    for _ in range(visits):
        asked = time.time()
        with acquired(places) if places is not None else contextlib.nullcontext():
            entered = time.time()
            time.sleep(inside_s)        # stands for using a GPU, a licence, a connection
            left = time.time()
        stays.append((asked, entered, left))
    reports.put({"worker": worker, "stays": stays})
# [end:semaphore]


def most_inside(stays: Sequence[Sequence[float]]) -> int:
    """The largest number of (entered, left) intervals that overlap at any moment.

    A leave and an enter at the same instant count as the leave first: a place is
    released before the next process can take it.
    """
    events = sorted([(entered, 1) for _, entered, _ in stays]
                    + [(left, -1) for _, _, left in stays])
    inside = most = 0
    for _, change in events:
        inside += change
        most = max(most, inside)
    return most


def occupancy(stays: Sequence[Sequence[float]], origin: float) -> list[tuple[float, int]]:
    """The number inside after each enter or leave, as (seconds since origin, count)."""
    events = sorted([(entered, 1) for _, entered, _ in stays]
                    + [(left, -1) for _, _, left in stays])
    inside, steps = 0, [(0.0, 0)]
    for moment, change in events:
        inside += change
        steps.append((moment - origin, inside))
    return steps


def semaphore_demo(context: Any, workers: int, visits: int, inside_s: float,
                   places: int | None) -> dict[str, Any]:
    """``workers`` processes visit a room ``visits`` times each; ``places`` limits it."""
    semaphore = None if places is None else context.Semaphore(places)
    run = run_together(context, [(visit, (worker, visits, inside_s, semaphore))
                                 for worker in range(workers)])
    stays = [stay for message in run.messages for stay in message["stays"]]
    return {"places": places, "workers": workers, "visits": len(stays),
            "most_inside": most_inside(stays),
            "elapsed_s": max(left for *_, left in stays) - run.started,
            "mean_wait_s": sum(entered - asked for asked, entered, _ in stays) / len(stays),
            "occupancy": occupancy(stays, run.started),
            "exitcodes": run.exitcodes, "killed": run.killed}


# ---------------------------------------------------------------------------------------
# Event: a traffic light that stops by itself.


# [start:traffic-light]
def traffic_light(start: Any, reports: Any, green: Any, phase_s: float, cycles: int) -> None:
    """Red for one phase, green for one phase, ``cycles`` times; then red, and exit."""
    start.wait(timeout=WAIT_S)
    began = time.time()
    changes = []
    for cycle in range(cycles):
        sleep_until(began + (2 * cycle + 1) * phase_s)
        changes.append(("green", time.time()))   # noted before set: covers the green
        green.set()
        sleep_until(began + (2 * cycle + 2) * phase_s)
        green.clear()
        changes.append(("red", time.time()))     # noted after clear: covers the green
    reports.put({"who": "light", "changes": changes})


def car(start: Any, reports: Any, name: str, green: Any, phase_s: float,
        trips: Sequence[tuple[float, float]]) -> None:
    """Arrive at the light at each (arrival, patience), in phases; pass on green or give up."""
    start.wait(timeout=WAIT_S)
    began = time.time()
    log = []
    for arrive, patience in trips:
        sleep_until(began + arrive * phase_s)
        arrived = time.time()
        if green.wait(timeout=patience * phase_s):   # True as soon as the light is green
            log.append({"arrived": arrived, "passed": time.time()})
        else:                                        # still red when patience ran out
            log.append({"arrived": arrived, "gave_up": time.time()})
    reports.put({"who": name, "trips": log})
# [end:traffic-light]


#: Each car's trips: (arrival, patience), in phases of the light, which is red in
#: [0, 1), green in [1, 2), red in [2, 3), ... and red for good from 2 * cycles on.
#: Arrivals sit well inside a phase; some cars wait for green, some find it green, one
#: runs out of patience at a red light and one arrives after the light has stopped.
CAR_TRIPS: dict[str, tuple[tuple[float, float], ...]] = {
    "car A": ((0.3, 3.0), (3.5, 3.0)),
    "car B": ((0.6, 3.0), (4.4, 3.0)),
    "car C": ((1.5, 3.0), (2.2, 0.4), (6.5, 1.0)),
}
LIGHT_CYCLES = 3


def traffic_demo(context: Any, phase_s: float, cycles: int = LIGHT_CYCLES,
                 trips: dict[str, tuple[tuple[float, float], ...]] | None = None
                 ) -> dict[str, Any]:
    """Run the light and the cars; return the light's changes and every car's trips."""
    trips = CAR_TRIPS if trips is None else trips
    green = context.Event()                       # created clear: the light starts red
    jobs: list[Job] = [(traffic_light, (green, phase_s, cycles))]
    jobs += [(car, (name, green, phase_s, plan)) for name, plan in trips.items()]
    run = run_together(context, jobs)
    by_who = {message["who"]: message for message in run.messages}
    changes = [(state, moment - run.started) for state, moment in by_who["light"]["changes"]]
    cars = []
    for name in trips:
        for trip in by_who[name]["trips"]:
            cars.append({"car": name, **{key: value - run.started for key, value in trip.items()}})
    cars.sort(key=lambda trip: trip["arrived"])
    return {"phase_s": phase_s, "changes": changes, "trips": cars,
            "exitcodes": run.exitcodes, "killed": run.killed}


def green_spans(changes: Sequence[tuple[str, float]]) -> list[tuple[float, float]]:
    """The (green from, green until) spans in the light's recorded changes."""
    spans, began = [], None
    for state, moment in changes:
        if state == "green":
            began = moment
        elif began is not None:
            spans.append((began, moment))
            began = None
    if began is not None:
        spans.append((began, float("inf")))
    return spans


def light_at(changes: Sequence[tuple[str, float]], moment: float) -> str:
    """The colour of the light at ``moment`` according to its recorded changes."""
    spans = green_spans(changes)
    return "green" if any(start <= moment <= end for start, end in spans) else "red"


# ---------------------------------------------------------------------------------------
# Barrier: leave together, or fail together after a timeout.


# [start:barrier]
def meet(start: Any, reports: Any, worker: int, setup_s: float, meeting: Any,
         timeout_s: float) -> None:
    """Set up for ``setup_s``, then wait at ``meeting`` for the others (bounded)."""
    start.wait(timeout=WAIT_S)
    time.sleep(setup_s)             # stands for loading a model or an environment
    arrived = time.time()
    try:
        meeting.wait(timeout=timeout_s)
        outcome = "passed"
    except threading.BrokenBarrierError as error:   # a party missing or too late
        outcome = type(error).__name__
    reports.put({"worker": worker, "setup_s": setup_s, "arrived": arrived,
                 "left": time.time(), "outcome": outcome})
# [end:barrier]


def barrier_demo(context: Any, setups: Sequence[float], timeout_s: float,
                 missing: int = 0) -> dict[str, Any]:
    """One process per set-up time meets at a Barrier sized for ``missing`` more parties."""
    meeting = context.Barrier(len(setups) + missing)
    run = run_together(context, [(meet, (worker, setup, meeting, timeout_s))
                                 for worker, setup in enumerate(setups)])
    workers = sorted(run.messages, key=lambda message: message["worker"])
    for message in workers:
        message["arrived"] -= run.started
        message["left"] -= run.started
    arrivals = [message["arrived"] for message in workers]
    leaves = [message["left"] for message in workers]
    return {"parties": len(setups) + missing, "started": len(setups), "timeout_s": timeout_s,
            "workers": workers, "arrival_spread_s": max(arrivals) - min(arrivals),
            "leave_skew_s": max(leaves) - min(leaves),
            "outcomes": [message["outcome"] for message in workers],
            "exitcodes": run.exitcodes, "killed": run.killed}


# ---------------------------------------------------------------------------------------
# What one acquire + release costs.


# [start:acquire-release]
def acquire_release(lock: Any, n: int) -> None:
    """Acquire and release ``lock`` ``n`` times, with nothing in between."""
    acquire, release = lock.acquire, lock.release
    for _ in range(n):
        acquire()
        release()
# [end:acquire-release]


def threads_share_a_lock(lock: Any, n: int, threads: int) -> None:
    """``threads`` threads of this process each acquire and release ``lock`` ``n`` times."""
    workers = [threading.Thread(target=acquire_release, args=(lock, n)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=WAIT_S)


# [start:relay]
def relay(wait_for: Any, then_release: Any, n: int) -> None:
    """``n`` times: wait until the other process releases ``wait_for``, then wake it back."""
    for _ in range(n):
        if not wait_for.acquire(timeout=WAIT_S):
            raise TimeoutError(f"the other process did not release within {WAIT_S} s")
        then_release.release()
# [end:relay]


def _repeat(connection: Any, job: Callable[..., None], args: tuple[Any, ...]) -> None:
    """A standing worker: on each number n received, run ``job(*args, n)`` and reply."""
    while connection.poll(WAIT_S):
        n = connection.recv()
        if n is None:
            return
        job(*args, n)
        connection.send(n)


class StandingWorkers:
    """Worker processes, started once, that each run their job when told to.

    Each job is ``(function, args)``; :meth:`run` makes every worker call
    ``function(*args, n)`` at the same time and waits until all have finished. Used as a
    context manager: the workers start on entry and are stopped, joined and, if need be,
    killed on exit. Nothing here is timed; the caller times :meth:`run`.
    """

    def __init__(self, context: Any, jobs: Sequence[Job]) -> None:
        self.context, self.jobs = context, list(jobs)
        self.connections: list[Any] = []
        self.processes: list[Any] = []

    def __enter__(self) -> StandingWorkers:
        try:
            for job, args in self.jobs:
                parent_end, child_end = self.context.Pipe()
                process = self.context.Process(target=_repeat, args=(child_end, job, args))
                process.start()
                child_end.close()
                self.connections.append(parent_end)
                self.processes.append(process)
        except BaseException:
            self.__exit__()
            raise
        return self

    def run(self, n: int) -> None:
        """Let every worker run its job with ``n``; wait until all have finished."""
        for connection in self.connections:
            connection.send(n)
        for connection in self.connections:
            if not connection.poll(WAIT_S):
                raise TimeoutError(f"a worker did not finish within {WAIT_S} s")
            connection.recv()

    def __exit__(self, *exc: object) -> None:
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.send(None)
        for process in self.processes:
            process.join(timeout=JOIN_S)
            if process.is_alive():
                process.kill()
                process.join(timeout=JOIN_S)
        for connection in self.connections:
            connection.close()
