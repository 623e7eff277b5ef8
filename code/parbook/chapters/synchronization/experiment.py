"""Synchronization between processes: Lock, Semaphore, Event, Barrier, and what a lock costs.

Every demonstration starts real processes through an explicit context; the main ones run
under the platform's default start method, and a smaller version of each runs under
every other start method the platform offers. What the processes recorded (timestamps
from :func:`time.time`, counts, exception names) is kept in ``values``:

``values["shared_file"]``
    Writers appending multi-line records to one file, per ``hold_for`` (the lock held
    around nothing, around the write, around the work and the write): torn records,
    lost lines and the first lines of the file, from the last run.
``values["dead_holder"]``, ``values["pickled_lock"]``
    ``acquire(timeout=...)`` while another process holds the lock, and after that
    process was killed; what pickling a lock raises.
``values["semaphore"]``
    Visits with no semaphore and through ``Semaphore(places)``: most inside at once,
    mean wait, occupancy over time.
``values["traffic"]``
    The traffic light's recorded changes and every car's trips.
``values["barrier"]``, ``values["broken_barrier"]``
    Workers with uneven set-up meeting at a Barrier; the same with a party missing.
``values["start_methods"]``
    The verdicts of every demonstration under each start method.

Groups of timed cases:

``lock_cost``
    Seconds per operation, measured interleaved: one acquire + release of an
    uncontended ``threading.Lock``, ``multiprocessing.Lock`` and ``RLock`` and a
    ``Manager().Lock()`` proxy; a ``threading.Lock`` shared by 2 threads; a
    ``multiprocessing.Lock`` shared by 2 processes; and one hand-off of a semaphore
    between 2 processes that each wait for the other.
``shared_file``
    Wall time of the writers, from their common start to the last one's end, per
    ``hold_for``.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parbook.bench.measure import Protocol, measure_interleaved
from parbook.bench.results import Result
from parbook.chapters.synchronization import workload as work
from parbook.shared import run_setup

NAME = "synchronization"

COST_LABELS = {
    "thread_lock": "threading.Lock, 1 thread",
    "process_lock": "multiprocessing.Lock, 1 process",
    "process_rlock": "multiprocessing.RLock, 1 process",
    "threads_share": "threading.Lock shared by 2 threads",
    "processes_share": "multiprocessing.Lock shared by 2 processes",
    "handoff": "Semaphore handed back and forth between 2 processes (per hand-off)",
    "manager_lock": "Manager().Lock() proxy, 1 process",
}
#: The case every other lock-cost case is compared with.
COST_BASELINE = "thread_lock"
HOLD_LABELS = {
    "nothing": "no lock",
    "write": "lock around the write only",
    "work_and_write": "lock around the work and the write",
}
SHARING_PROCESSES = 2


@dataclass(frozen=True)
class DemoSizes:
    """The sizes of one pass through every demonstration."""

    writers: int
    plan: work.RecordPlan
    sem_workers: int
    places: int
    visits: int
    inside_s: float
    phase_s: float
    setups_s: tuple[float, ...]
    broken_timeout_s: float
    patience_s: float


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    demo: DemoSizes
    file_runs: int
    check: DemoSizes
    ops: int
    handoffs: int
    manager_ops: int
    cost: Protocol


#: Smaller demonstrations for the start methods other than the default: fewer processes,
#: since starting them is most of the cost under spawn.
_CHECK = DemoSizes(writers=2, plan=work.RecordPlan(records=5, lines=3, work_s=0.002,
                                                    line_pause_s=0.0005),
                   sem_workers=3, places=2, visits=2, inside_s=0.02, phase_s=0.05,
                   setups_s=(0.0, 0.05), broken_timeout_s=0.15, patience_s=0.1)
FULL = Sizes(
    demo=DemoSizes(writers=4, plan=work.RecordPlan(records=10, lines=4, work_s=0.004,
                                                   line_pause_s=0.0005),
                   sem_workers=6, places=2, visits=4, inside_s=0.02, phase_s=0.12,
                   setups_s=(0.0, 0.04, 0.08, 0.12), broken_timeout_s=0.3, patience_s=0.2),
    file_runs=3, check=_CHECK, ops=20_000, handoffs=2_000, manager_ops=200,
    cost=Protocol(repeats=5, warmup=1),
)
QUICK = Sizes(
    demo=DemoSizes(writers=4, plan=work.RecordPlan(records=6, lines=4, work_s=0.004,
                                                   line_pause_s=0.0005),
                   sem_workers=6, places=2, visits=3, inside_s=0.02, phase_s=0.08,
                   setups_s=(0.0, 0.04, 0.08, 0.12), broken_timeout_s=0.2, patience_s=0.15),
    file_runs=1, check=_CHECK, ops=5_000, handoffs=500, manager_ops=50,
    cost=Protocol(repeats=3, warmup=1),
)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result."""
    size = sizes(quick)
    setup = run_setup.setup(progress)
    context, say = setup.context, setup.say
    result = Result(experiment=NAME, quick=quick)
    demo = size.demo
    if "forkserver" in multiprocessing.get_all_start_methods():
        # The fork server imports the demos' module once and forks every child from
        # there; otherwise each child would import it again after starting.
        multiprocessing.get_context("forkserver").set_forkserver_preload([work.__name__])
    result.parameters.update(
        usable_cpus=setup.cpus, start_method=setup.start_method,
        start_methods=multiprocessing.get_all_start_methods(),
        writers=demo.writers, records=demo.plan.records, lines=demo.plan.lines,
        work_s=demo.plan.work_s, line_pause_s=demo.plan.line_pause_s,
        file_runs=size.file_runs, sem_workers=demo.sem_workers, places=demo.places,
        visits=demo.visits, inside_s=demo.inside_s, phase_s=demo.phase_s,
        light_cycles=work.LIGHT_CYCLES, car_trips=work.CAR_TRIPS,
        setups_s=list(demo.setups_s), broken_timeout_s=demo.broken_timeout_s,
        patience_s=demo.patience_s, ops=size.ops, handoffs=size.handoffs,
        manager_ops=size.manager_ops, sharing_processes=SHARING_PROCESSES,
        wait_s=work.WAIT_S,
    )
    _shared_file(result, size, context, say)
    _lock_cost(result, size, context, say)
    verdicts = {}
    say(f"demonstrations under {setup.start_method}")
    result.values.update(_demos(context, demo, baselines=True))
    verdicts[setup.start_method] = check_verdicts(result.values, demo)
    for method in multiprocessing.get_all_start_methods():
        if method != setup.start_method:
            say(f"smaller demonstrations under {method}")
            other = multiprocessing.get_context(method)
            values = _demos(other, size.check, baselines=False)
            values["shared_file"] = {hold: work.shared_file_demo(
                other, size.check.writers, size.check.plan, hold) for hold in ("nothing", "write")}
            verdicts[method] = check_verdicts(values, size.check)
    result.values["start_methods"] = verdicts
    failed = failed_claims(result.values)
    if failed:
        raise RuntimeError(f"claims of the chapter did not hold: {'; '.join(failed)}\n"
                           f"verdicts per start method: {verdicts}")
    return result


def _shared_file(result: Result, size: Sizes, context: Any, say: Callable[[str], None]) -> None:
    demo = size.demo
    elapsed: dict[str, list[float]] = {hold: [] for hold in work.HOLD_CHOICES}
    last: dict[str, Any] = {}
    # Modes take turns, run after run, so drift in the machine's speed hits all alike.
    for run_index in range(size.file_runs):
        for hold in work.HOLD_CHOICES:
            say(f"shared file: {demo.writers} writers, lock around {hold}, run {run_index + 1}")
            outcome = work.shared_file_demo(context, demo.writers, demo.plan, hold)
            elapsed[hold].append(outcome["elapsed_s"])
            torn = last.get(hold, {}).get("torn_per_run", []) + [outcome["torn"]]
            last[hold] = {**outcome, "torn_per_run": torn}
    for hold, samples in elapsed.items():
        result.add("shared_file", {"hold_for": hold, "writers": demo.writers}, samples)
    result.values["shared_file"] = last


def _demos(context: Any, demo: DemoSizes, baselines: bool) -> dict[str, Any]:
    """One pass through the Lock, Semaphore, Event and Barrier demonstrations.

    ``baselines`` adds the semaphore demo without a semaphore, which the page shows but
    which proves nothing about the start method.
    """
    semaphore = {"limited": work.semaphore_demo(context, demo.sem_workers, demo.visits,
                                                demo.inside_s, demo.places)}
    if baselines:
        semaphore["none"] = work.semaphore_demo(context, demo.sem_workers, demo.visits,
                                                demo.inside_s, None)
    return {
        "dead_holder": work.lock_with_a_dead_holder(context, demo.patience_s),
        "pickled_lock": work.pickle_a_lock(context),
        "semaphore": semaphore,
        "traffic": work.traffic_demo(context, demo.phase_s),
        "barrier": work.barrier_demo(context, demo.setups_s, timeout_s=work.WAIT_S),
        "broken_barrier": work.barrier_demo(context, demo.setups_s[:-1],
                                            timeout_s=demo.broken_timeout_s, missing=1),
    }


def _lock_cost(result: Result, size: Sizes, context: Any, say: Callable[[str], None]) -> None:
    n, handoffs, manager_ops = size.ops, size.handoffs, size.manager_ops
    thread_lock, process_lock, process_rlock = threading.Lock(), context.Lock(), context.RLock()
    shared, ping, pong = context.Lock(), context.Semaphore(0), context.Semaphore(0)
    sharers = [(work.acquire_release, (shared,))] * SHARING_PROCESSES
    relayers = [(work.relay, (ping, pong)), (work.relay, (pong, ping))]
    say("lock cost: starting the manager and the worker processes")
    with context.Manager() as manager, work.StandingWorkers(context, sharers) as sharing, \
            work.StandingWorkers(context, relayers) as relaying:
        proxy = manager.Lock()

        def hand_back_and_forth(_: Any = None) -> None:
            ping.release()               # the first token; the relay passes it on
            relaying.run(handoffs)
            if not ping.acquire(timeout=work.WAIT_S):  # take the last token back
                raise TimeoutError("the relay lost its token")

        cases = {
            "thread_lock": lambda _=None: work.acquire_release(thread_lock, n),
            "process_lock": lambda _=None: work.acquire_release(process_lock, n),
            "process_rlock": lambda _=None: work.acquire_release(process_rlock, n),
            "threads_share": lambda _=None: work.threads_share_a_lock(thread_lock, n, 2),
            "processes_share": lambda _=None: sharing.run(n),
            "handoff": hand_back_and_forth,
            "manager_lock": lambda _=None: work.acquire_release(proxy, manager_ops),
        }
        operations = {"thread_lock": n, "process_lock": n, "process_rlock": n,
                      "threads_share": 2 * n, "processes_share": SHARING_PROCESSES * n,
                      "handoff": 2 * handoffs, "manager_lock": manager_ops}
        say(f"lock cost: {len(cases)} cases, interleaved")
        samples = measure_interleaved(cases, size.cost)
    for case, values in samples.items():
        result.add("lock_cost", {"case": case, "operations": operations[case]},
                   [value / operations[case] for value in values])


# ---------------------------------------------------------------------------------------
# Verdicts: derived only from recorded values, during the run (for each start method)
# and again by the analysis, so pages, tests and `compare` agree.


def traffic_checks(traffic: dict[str, Any]) -> dict[str, Any]:
    """Which colour the light had when each car passed or gave up, and how long it waited."""
    changes = [tuple(change) for change in traffic["changes"]]
    spans = work.green_spans(changes)
    rows = []
    for trip in traffic["trips"]:
        passed = "passed" in trip
        moment = trip["passed"] if passed else trip["gave_up"]
        on_arrival = work.light_at(changes, trip["arrived"])
        row = {"car": trip["car"], "arrived": trip["arrived"], "light_on_arrival": on_arrival,
               "outcome": "passed" if passed else "gave up", "at": moment,
               "waited": moment - trip["arrived"], "light_then": work.light_at(changes, moment)}
        if passed and on_arrival == "red":
            # The green this car waited for: the first one that began after it arrived.
            row["after_green"] = moment - min(start for start, _ in spans
                                              if start >= trip["arrived"])
        rows.append(row)
    light_ended = max(moment for _, moment in changes)
    return {
        "rows": rows,
        "passed": sum(row["outcome"] == "passed" for row in rows),
        "gave_up": sum(row["outcome"] == "gave up" for row in rows),
        "passed_on_red": sum(row["outcome"] == "passed" and row["light_then"] == "red"
                             for row in rows),
        "gave_up_on_green": sum(row["outcome"] == "gave up" and row["light_then"] == "green"
                                for row in rows),
        "waited_for_green": [row["after_green"] for row in rows if "after_green" in row],
        "light_ended": light_ended,
        "last_event": max(row["at"] for row in rows),
        "ended_by_itself": not traffic["killed"] and all(code == 0
                                                         for code in traffic["exitcodes"]),
    }


def check_verdicts(values: dict[str, Any], demo: DemoSizes) -> dict[str, Any]:
    """The numbers that prove each demonstration's claim, from its recorded values."""
    files = values["shared_file"]
    semaphore = values["semaphore"]
    barrier, broken = values["barrier"], values["broken_barrier"]
    dead = values["dead_holder"]
    processes = [*files.values(), *semaphore.values(), values["traffic"], barrier, broken]
    return {
        "torn_without_lock": files["nothing"]["torn"],
        "torn_with_lock": files["write"]["torn"],
        "records": files["write"]["records"],
        "lost_lines": sum(info["expected_lines"] - info["lines"] for info in files.values()),
        "most_inside": semaphore["limited"]["most_inside"],
        "places": demo.places,
        "cars_on_red": traffic_checks(values["traffic"])["passed_on_red"],
        "barrier_skew_s": barrier["leave_skew_s"],
        "barrier_spread_s": barrier["arrival_spread_s"],
        "barrier_passed": barrier["outcomes"].count("passed"),
        "broken_barrier": broken["outcomes"].count("BrokenBarrierError"),
        "broken_started": broken["started"],
        "dead_holder_timed_out": sum(not attempt["acquired"] for attempt in dead),
        "dead_holder_attempts": len(dead),
        "all_exited_cleanly": all(not info["killed"] and all(code == 0
                                                             for code in info["exitcodes"])
                                  for info in processes),
    }


def verdicts_hold(verdict: dict[str, Any]) -> bool:
    """True when every claim of the chapter held in one pass through the demonstrations."""
    return (verdict["torn_with_lock"] == 0 and verdict["lost_lines"] == 0
            and verdict["most_inside"] <= verdict["places"]
            and verdict["cars_on_red"] == 0
            and verdict["barrier_skew_s"] < verdict["barrier_spread_s"]
            and verdict["broken_barrier"] == verdict["broken_started"]
            and verdict["dead_holder_timed_out"] == verdict["dead_holder_attempts"]
            and verdict["all_exited_cleanly"])


def failed_claims(values: dict[str, Any]) -> list[str]:
    """The page's claims that the recorded demonstrations contradict (none, normally).

    The page says every claim held under every start method and that the build fails if
    one does not: :func:`run` raises when this list is not empty.
    """
    files, semaphore = values["shared_file"], values["semaphore"]
    alive, dead = values["dead_holder"]
    traffic = traffic_checks(values["traffic"])
    barrier, broken = values["barrier"], values["broken_barrier"]
    claims = {
        "a lock around the write kept every record whole":
            all(files[hold]["torn"] == 0 for hold in ("write", "work_and_write")),
        "no line was lost or cut in half":
            all(info["lines"] == info["expected_lines"] and info["malformed_lines"] == 0
                for info in files.values()),
        "acquire(timeout=...) timed out while the holder ran":
            not alive["acquired"] and alive["holder_alive"],
        "acquire(timeout=...) timed out after the holder died":
            not dead["acquired"] and not dead["holder_alive"],
        "the semaphore let no more in than its places":
            semaphore["limited"]["most_inside"] <= semaphore["limited"]["places"],
        "no car passed on red and none gave up on green":
            traffic["passed_on_red"] == 0 and traffic["gave_up_on_green"] == 0,
        "the traffic light and its cars ended by themselves": traffic["ended_by_itself"],
        "every party passed the complete barrier":
            barrier["outcomes"] == ["passed"] * barrier["parties"],
        "every started party of the broken barrier raised BrokenBarrierError":
            broken["outcomes"] == ["BrokenBarrierError"] * broken["started"],
    }
    claims.update({f"every claim held under {method}": verdicts_hold(verdict)
                   for method, verdict in values["start_methods"].items()})
    return [claim for claim, held in claims.items() if not held]
