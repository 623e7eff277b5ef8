"""What the synchronization chapter concludes from one result: findings per section, the
demonstrations' printed output, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.synchronization.experiment import (
    COST_BASELINE,
    COST_LABELS,
    HOLD_LABELS,
    traffic_checks,
    verdicts_hold,
)
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    format_percent,
    format_ratio,
    format_seconds,
    spoken_list,
)

#: A process lock at most this many times a thread lock's cost is "no dearer" than it.
NO_DEARER_UP_TO = 1.25
#: From this many times a thread lock's cost on, a process lock is "many times dearer".
MANY_TIMES_FROM = 10
#: Two processes hammering one lock "rarely" found it taken when an operation cost less
#: than this fraction of a hand-off (an acquire that always waits); else "often".
HANDOFF_SHARE_RARELY = 4
#: The lock scopes whose first lines of the file the page prints, in that order.
EXCERPT_HOLDS = ("nothing", "write")


@dataclass(frozen=True)
class Setup:
    """The machine and start methods the chapter ran with."""

    cpus: int
    start_method: str
    start_methods: tuple[str, ...]


@dataclass(frozen=True)
class FileRun:
    """Writers on one file with the lock held around one scope (``hold_for``)."""

    hold_for: str
    records: int                       # records per run, all writers together
    torn_per_run: tuple[int, ...]
    lines: int                         # lines in the file, last run
    expected_lines: int
    malformed_lines: int
    excerpt: tuple[str, ...]           # the first lines of the file, last run
    elapsed: float                     # median, common start to the last writer's end


@dataclass(frozen=True)
class SharedFile:
    """``Lock``: writers appending multi-line records to one file, per lock scope."""

    writers: int
    records_each: int
    lines_per_record: int
    work_s: float
    line_pause_s: float
    runs: dict[str, FileRun]           # hold_for -> its runs

    @property
    def write_lock_slowdown(self) -> float:
        """Time with the lock around the write only, over the time with no lock."""
        return self.runs["write"].elapsed / self.runs["nothing"].elapsed

    @property
    def one_after_another_s(self) -> float:
        """The time every record takes to make and write when the writers take turns: the
        work and the pauses between lines, added up over every writer's records."""
        per_record = self.work_s + self.lines_per_record * self.line_pause_s
        return self.writers * self.records_each * per_record

    @property
    def work_lock_slowdown(self) -> float:
        """Time with the lock around the work and the write, over around the write only."""
        return self.runs["work_and_write"].elapsed / self.runs["write"].elapsed

    def first_lines(self) -> str:
        """The first lines of the file without the lock and with it, as the page prints them."""
        return "\n".join(
            line
            for hold in EXCERPT_HOLDS
            for line in (f"--- {HOLD_LABELS[hold]}: the first lines of the file",
                         *self.runs[hold].excerpt)
        )


@dataclass(frozen=True)
class LockAttempt:
    """One ``acquire(timeout=...)`` on a lock that another process took."""

    when: str
    acquired: bool
    waited_s: float
    holder_alive: bool
    holder_exitcode: int | None


@dataclass(frozen=True)
class DeadHolder:
    """``acquire(timeout=...)`` while the holder runs, and after it was killed."""

    patience_s: float
    attempts: tuple[LockAttempt, ...]

    @property
    def after_death(self) -> LockAttempt:
        return self.attempts[-1]

    def report(self) -> str:
        """One line per attempt, as the page prints them."""
        return "\n".join(attempt_line(attempt) for attempt in self.attempts)


@dataclass(frozen=True)
class RoomVisits:
    """Processes visiting a room, with or without a semaphore (one run)."""

    workers: int
    visits: int                        # all processes together
    most_inside: int
    mean_wait_s: float
    elapsed_s: float                   # common start to the last exit
    occupancy: tuple[tuple[float, int], ...]   # (seconds since the start, number inside)


@dataclass(frozen=True)
class Semaphores:
    """``Semaphore(N)``: the same visits with no semaphore and through one of N places."""

    workers: int
    places: int
    visits_each: int
    inside_s: float
    unguarded: RoomVisits
    limited: RoomVisits


@dataclass(frozen=True)
class Trip:
    """One car's arrival at the light and how it ended (seconds since the common start)."""

    car: str
    arrived: float
    light_on_arrival: str
    outcome: str                       # "passed" | "gave up"
    at: float
    waited: float
    light_then: str


@dataclass(frozen=True)
class Traffic:
    """``Event``: a traffic light that changes a fixed number of times, and its cars."""

    phase_s: float
    cycles: int
    cars: int
    changes: tuple[tuple[str, float], ...]
    trips: tuple[Trip, ...]
    passed_on_red: int
    gave_up_on_green: int
    waited_for_green: tuple[float, ...]  # from green to moving off, for cars that waited
    light_ended: float
    ended_by_itself: bool

    @property
    def passed(self) -> int:
        return sum(trip.outcome == "passed" for trip in self.trips)

    @property
    def gave_up(self) -> int:
        return sum(trip.outcome == "gave up" for trip in self.trips)

    @property
    def last_trip(self) -> Trip:
        return max(self.trips, key=lambda trip: trip.at)

    def light_report(self) -> str:
        """The light's recorded changes in one line, as the page prints it."""
        lights = "; ".join(f"{state} at {format_seconds(moment)}"
                           for state, moment in self.changes)
        return f"the light (red from the start): {lights}; then its process ended"


@dataclass(frozen=True)
class BarrierWorker:
    """One worker at the barrier (seconds since the common start)."""

    worker: int
    setup_s: float
    arrived: float
    left: float
    outcome: str


@dataclass(frozen=True)
class BarrierRun:
    """Workers with uneven set-up meeting at a Barrier of ``parties`` parties."""

    parties: int
    started: int
    timeout_s: float
    workers: tuple[BarrierWorker, ...]
    arrival_spread_s: float
    leave_skew_s: float

    @property
    def outcomes(self) -> list[str]:
        return [worker.outcome for worker in self.workers]

    @property
    def skew_share(self) -> float:
        """How far apart the workers left, as a share of how far apart they arrived."""
        return self.leave_skew_s / self.arrival_spread_s

    @property
    def ended_after(self) -> float:
        """From the first arrival to the last worker leaving."""
        return (max(worker.left for worker in self.workers)
                - min(worker.arrived for worker in self.workers))


@dataclass(frozen=True)
class Barriers:
    """``Barrier``: every party present, and one party missing."""

    complete: BarrierRun
    missing_party: BarrierRun


@dataclass(frozen=True)
class LockCost:
    """Median seconds per acquire + release, per case of ``COST_LABELS``."""

    cost: dict[str, float]

    def ratio(self, case: str) -> float:
        """A case's cost relative to the baseline, an uncontended ``threading.Lock``."""
        return self.cost[case] / self.cost[COST_BASELINE]

    @property
    def handoff_vs_process(self) -> float:
        return self.cost["handoff"] / self.cost["process_lock"]

    @property
    def manager_vs_process(self) -> float:
        return self.cost["manager_lock"] / self.cost["process_lock"]


@dataclass(frozen=True)
class MethodVerdict:
    """The numbers that prove each demonstration's claim under one start method."""

    torn_without_lock: int
    torn_with_lock: int
    records: int
    lost_lines: int
    most_inside: int
    places: int
    cars_on_red: int
    barrier_skew_s: float
    barrier_spread_s: float
    barrier_passed: int
    broken_barrier: int
    broken_started: int
    dead_holder_timed_out: int
    dead_holder_attempts: int
    all_exited_cleanly: bool

    @property
    def holds(self) -> bool:
        """True when every claim of the chapter held under this start method."""
        return verdicts_hold(asdict(self))


@dataclass(frozen=True)
class Findings:
    """Everything the synchronization page concludes, one part per section."""

    setup: Setup
    shared_file: SharedFile
    dead_holder: DeadHolder
    semaphore: Semaphores
    traffic: Traffic
    barriers: Barriers
    lock_cost: LockCost
    start_methods: dict[str, MethodVerdict]

    @property
    def all_hold(self) -> bool:
        return all(verdict.holds for verdict in self.start_methods.values())


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    values, params = result.values, result.parameters
    return Findings(
        setup=Setup(cpus=params["usable_cpus"], start_method=params["start_method"],
                    start_methods=tuple(params["start_methods"])),
        shared_file=_shared_file(result),
        dead_holder=DeadHolder(
            patience_s=params["patience_s"],
            attempts=tuple(LockAttempt(**attempt) for attempt in values["dead_holder"])),
        semaphore=Semaphores(
            workers=params["sem_workers"], places=params["places"], visits_each=params["visits"],
            inside_s=params["inside_s"], unguarded=_visits(values["semaphore"]["none"]),
            limited=_visits(values["semaphore"]["limited"])),
        traffic=_traffic(values["traffic"], params),
        barriers=Barriers(complete=_barrier(values["barrier"]),
                          missing_party=_barrier(values["broken_barrier"])),
        lock_cost=LockCost(cost={case: result.median("lock_cost", case=case)
                                 for case in COST_LABELS}),
        start_methods={method: MethodVerdict(**verdict)
                       for method, verdict in values["start_methods"].items()},
    )


def _shared_file(result: Result) -> SharedFile:
    params = result.parameters
    runs = {
        hold: FileRun(hold_for=hold, records=info["records"],
                      torn_per_run=tuple(info["torn_per_run"]), lines=info["lines"],
                      expected_lines=info["expected_lines"],
                      malformed_lines=info["malformed_lines"], excerpt=tuple(info["excerpt"]),
                      elapsed=result.median("shared_file", hold_for=hold))
        for hold, info in result.values["shared_file"].items()
    }
    return SharedFile(writers=params["writers"], records_each=params["records"],
                      lines_per_record=params["lines"], work_s=params["work_s"],
                      line_pause_s=params["line_pause_s"], runs=runs)


def _visits(info: dict[str, Any]) -> RoomVisits:
    return RoomVisits(workers=info["workers"], visits=info["visits"],
                      most_inside=info["most_inside"], mean_wait_s=info["mean_wait_s"],
                      elapsed_s=info["elapsed_s"],
                      occupancy=tuple((moment, inside) for moment, inside in info["occupancy"]))


def _traffic(recorded: dict[str, Any], params: dict[str, Any]) -> Traffic:
    checked = traffic_checks(recorded)
    trip_fields = Trip.__dataclass_fields__
    return Traffic(
        phase_s=params["phase_s"], cycles=params["light_cycles"], cars=len(params["car_trips"]),
        changes=tuple((state, moment) for state, moment in recorded["changes"]),
        trips=tuple(Trip(**{key: row[key] for key in trip_fields}) for row in checked["rows"]),
        passed_on_red=checked["passed_on_red"], gave_up_on_green=checked["gave_up_on_green"],
        waited_for_green=tuple(checked["waited_for_green"]),
        light_ended=checked["light_ended"], ended_by_itself=checked["ended_by_itself"],
    )


def _barrier(info: dict[str, Any]) -> BarrierRun:
    return BarrierRun(
        parties=info["parties"], started=info["started"], timeout_s=info["timeout_s"],
        workers=tuple(BarrierWorker(**worker) for worker in info["workers"]),
        arrival_spread_s=info["arrival_spread_s"], leave_skew_s=info["leave_skew_s"],
    )


# --- the sentences that depend on the data ---------------------------------------------


def torn_sentence(shared_file: SharedFile) -> str:
    """How many records the writers tore without a lock, run after run."""
    torn_runs = shared_file.runs["nothing"].torn_per_run
    per_run = shared_file.runs["nothing"].records
    fewest, most = min(torn_runs), max(torn_runs)
    if most == 0:
        return ("Without the lock, no record was torn this time, which proves nothing: the gap "
                "between two writes is always there, and another run may hit it.")
    if fewest == 0:
        return (f"Without the lock, {most} of the {per_run} records were torn in the worst run "
                "and none in another, which shows how much luck decides.")
    if fewest == most == per_run:
        if len(torn_runs) == 1:
            return f"Without the lock, every one of the {per_run} records was torn."
        return f"Without the lock, every one of the {per_run} records was torn, in every run."
    if fewest == most:
        if len(torn_runs) == 1:
            return f"Without the lock, {most} of the {per_run} records were torn."
        return f"Without the lock, {most} of the {per_run} records were torn in every run."
    return (f"Without the lock, {fewest} to {most} of the {per_run} records were torn in "
            "each run.")


def torn_cell(shared_file: SharedFile, hold: str) -> str:
    """The summary table's cell for the records torn with the lock held around ``hold``."""
    torn_runs = shared_file.runs[hold].torn_per_run
    per_run = shared_file.runs[hold].records
    fewest, most = min(torn_runs), max(torn_runs)
    runs = "" if len(torn_runs) == 1 else f", in {len(torn_runs)} runs"
    if most == 0:
        return f"none of {per_run}{runs}"
    if fewest == most:
        return f"{most} of {per_run}{runs}"
    return f"{fewest} to {most} of {per_run} per run{runs}"


def semaphore_none_sentence(semaphore: Semaphores) -> str:
    """What the unguarded visits show about the time line that counts who is inside."""
    most = semaphore.unguarded.most_inside
    if most > semaphore.places:
        return (f"Without the semaphore, {most} processes were inside at once, which shows "
                "that the time line sees overlap when there is some.")
    return (f"Without the semaphore, no more than {most} processes happened to be inside at "
            "once, so this run cannot show that the time line would see too many.")


def trips_sentence(traffic: Traffic) -> str:
    """How the cars' trips ended (none passing on red is checked by the run)."""
    return (f"{traffic.passed} of the {len(traffic.trips)} trips passed and {traffic.gave_up} "
            "gave up, and no car passed while the light was red.")


def waited_sentence(traffic: Traffic) -> str:
    """How soon the cars that waited at red moved off once the light turned green."""
    waited = traffic.waited_for_green
    if not waited:
        return "No trip happened to arrive at red and wait for green in this run."
    if len(waited) == 1:
        return ("The one trip that arrived at red and waited was woken by the light's set() "
                f"and moved off {format_seconds(waited[0])} after it turned green.")
    return (f"The {len(waited)} trips that arrived at red and waited were woken by the "
            f"light's set() and moved off at most {format_seconds(max(waited))} after it "
            "turned green.")


def attempt_line(attempt: LockAttempt) -> str:
    """What one ``acquire(timeout=...)`` on the dead holder's lock returned, in one line."""
    state = ("alive" if attempt.holder_alive
             else f"dead, exit code {attempt.holder_exitcode}")
    return (f"{attempt.when} (holder {state}): acquire returned {attempt.acquired} "
            f"after {attempt.waited_s:.3f} s")


def light_end_sentence(traffic: Traffic) -> str:
    """When the light stopped and when, and how, the last trip ended."""
    last = traffic.last_trip
    how = "gave up, its patience spent" if last.outcome == "gave up" else "passed"
    return (f"The light stopped at {format_seconds(traffic.light_ended)}, and the last trip "
            f"ended at {format_seconds(last.at)}, when {last.car} {how}.")


def uncontended_sentence(lock_cost: LockCost) -> str:
    """How an uncontended process lock compares with a thread lock."""
    process_vs_thread = lock_cost.ratio("process_lock")
    if process_vs_thread <= NO_DEARER_UP_TO:
        return ("As long as nobody waits for it, a lock between processes is no dearer than "
                "one between threads.")
    if process_vs_thread < MANY_TIMES_FROM:
        return ("As long as nobody waits for it, a lock between processes is dearer than one "
                "between threads, but of the same order.")
    return ("Even when nobody waits for it, a lock between processes was many times dearer "
            "than one between threads here.")


def shared_sentence(lock_cost: LockCost) -> str:
    """Whether two processes hammering one lock often found it taken."""
    if lock_cost.cost["processes_share"] * HANDOFF_SHARE_RARELY < lock_cost.cost["handoff"]:
        return ("That is far less than a hand-off costs (below): a loop that holds the lock "
                "for no time at all rarely finds it taken.")
    return ("That is close to what a hand-off costs (below): the two loops often found the "
            "lock taken and had to wait for each other.")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    files, semaphore, lock_cost = found.shared_file, found.semaphore, found.lock_cost
    barrier, broken = found.barriers.complete, found.barriers.missing_party
    seconds, ratio = format_seconds, format_ratio
    return [
        (f"records torn, {files.writers} processes writing {files.lines_per_record}-line "
         "records to one file, no lock", torn_cell(files, "nothing")),
        ("the same, with a multiprocessing.Lock around each record's write",
         torn_cell(files, "write")),
        ("time with the lock around the work too, against around the write alone",
         f"{ratio(files.work_lock_slowdown)} as long"),
        (f"most of {semaphore.workers} processes inside at once, through a "
         f"Semaphore({semaphore.places})",
         f"{semaphore.limited.most_inside} (without it: {semaphore.unguarded.most_inside})"),
        ("cars that passed the Event traffic light on red", str(found.traffic.passed_on_red)),
        (f"workers leaving a Barrier, having arrived {seconds(barrier.arrival_spread_s)} apart",
         f"left within {seconds(barrier.leave_skew_s)} of each other"),
        ("a Barrier with one party missing, wait(timeout=...)",
         f"every worker raised BrokenBarrierError, the last {seconds(broken.ended_after)} "
         "after the first had arrived"),
        ("acquire(timeout=...) on a lock whose holder was killed",
         f"returned False after {seconds(found.dead_holder.after_death.waited_s)}"),
        ("one acquire and release of a free multiprocessing.Lock",
         f"{seconds(lock_cost.cost['process_lock'])} "
         f"({ratio(lock_cost.ratio('process_lock'))} a threading.Lock)"),
        ("one hand-off: an acquire that waits for another process to release",
         seconds(lock_cost.cost["handoff"])),
    ]


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page (and the rules page) glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    setup, files, dead = found.setup, found.shared_file, found.dead_holder
    semaphore, traffic, lock_cost = found.semaphore, found.traffic, found.lock_cost
    barrier, broken = found.barriers.complete, found.barriers.missing_party
    glued: dict[str, Any] = {
        "sync_cpus": str(setup.cpus),
        "sync_start_method": setup.start_method,
        "sync_methods": spoken_list(setup.start_methods),
        # Lock: the shared file.
        "sync_writers": str(files.writers),
        "sync_records_each": str(files.records_each),
        "sync_lines": str(files.lines_per_record),
        "sync_work_s": seconds(files.work_s),
        "sync_line_pause": seconds(files.line_pause_s),
        "sync_torn_sentence": torn_sentence(files),
        "sync_work_lock_slowdown": ratio(files.work_lock_slowdown),
        "sync_write_lock_slowdown": ratio(files.write_lock_slowdown),
        # acquire(timeout=...) and a holder that died.
        "sync_patience": seconds(dead.patience_s),
        "sync_dead_waited_dead": seconds(dead.after_death.waited_s),
        "sync_dead_exitcode": str(dead.after_death.holder_exitcode),
        # Semaphore.
        "sync_sem_workers": str(semaphore.workers),
        "sync_sem_places": str(semaphore.places),
        "sync_sem_visits": str(semaphore.visits_each),
        "sync_sem_inside": seconds(semaphore.inside_s),
        "sync_sem_none_sentence": semaphore_none_sentence(semaphore),
        "sync_sem_most_limited": str(semaphore.limited.most_inside),
        "sync_sem_time_none": seconds(semaphore.unguarded.elapsed_s),
        "sync_sem_time_limited": seconds(semaphore.limited.elapsed_s),
        "sync_sem_wait_limited": seconds(semaphore.limited.mean_wait_s),
        # Event.
        "sync_phase": seconds(traffic.phase_s),
        "sync_cycles": str(traffic.cycles),
        "sync_cars": str(traffic.cars),
        "sync_trips": str(len(traffic.trips)),
        "sync_trips_sentence": trips_sentence(traffic),
        "sync_waited_sentence": waited_sentence(traffic),
        "sync_light_end_sentence": light_end_sentence(traffic),
        # Barrier.
        "sync_barrier_parties": str(barrier.parties),
        "sync_barrier_spread": seconds(barrier.arrival_spread_s),
        "sync_barrier_skew": seconds(barrier.leave_skew_s),
        "sync_barrier_skew_share": format_percent(barrier.skew_share),
        "sync_broken_parties": str(broken.parties),
        "sync_broken_started": str(broken.started),
        "sync_broken_timeout": seconds(broken.timeout_s),
        "sync_broken_after": seconds(broken.ended_after),
        # What a lock costs.
        "sync_uncontended_sentence": uncontended_sentence(lock_cost),
        "sync_shared_sentence": shared_sentence(lock_cost),
        "sync_handoff_vs_process": ratio(lock_cost.handoff_vs_process),
        "sync_manager_vs_process": ratio(lock_cost.manager_vs_process),
    }
    for hold, run in files.runs.items():
        glued[f"sync_file_time_{hold}"] = seconds(run.elapsed)
    for case, value in lock_cost.cost.items():
        glued[f"sync_cost_{case}"] = seconds(value)
        glued[f"sync_ratio_{case}"] = ratio(lock_cost.ratio(case))
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


#: The primitives article 001 uses between processes, in the order it shows them.
PRIMITIVES = ("Lock", "Semaphore", "Event")


def primitive_failures(start_methods: dict[str, MethodVerdict]) -> dict[str, list[str]]:
    """The primitives (Lock, Semaphore, Event) that did not do their job under some start
    method: primitive -> those methods, in the order they ran."""
    failed = {
        "Lock": [method for method, seen in start_methods.items()
                 if seen.torn_with_lock or seen.lost_lines],
        "Semaphore": [method for method, seen in start_methods.items()
                      if seen.most_inside > seen.places],
        "Event": [method for method, seen in start_methods.items() if seen.cars_on_red],
    }
    return {primitive: methods for primitive, methods in failed.items() if methods}


def sync_primitives_claim(setup: Setup, start_methods: dict[str, MethodVerdict]
                          ) -> Judgement:
    """Article 001: Lock, Semaphore and Event (its traffic light) coordinate processes as
    they coordinate threads. The demonstrations ran with processes, under every start
    method; their thread twins are not run here."""
    methods = spoken_list(start_methods)
    failed = primitive_failures(start_methods)
    if not failed:
        default = start_methods[setup.start_method]
        return Judgement(Verdict.HOLDS, (
            f"Between processes, under every start method here ({methods}), a Lock kept every "
            "multi-line record whole, a Semaphore never let more processes in at once than it "
            "had places, and no car passed the Event traffic light on red. Under "
            f"{setup.start_method}, {default.torn_without_lock} of the {default.records} "
            "records were torn without the lock."))
    what_failed = spoken_list(f"the {primitive} under {spoken_list(where)}"
                              for primitive, where in failed.items())
    worked = [f"the {primitive}" for primitive in PRIMITIVES if primitive not in failed]
    if worked:
        return Judgement(Verdict.PARTLY, (
            f"Between processes, {spoken_list(worked)} did their job under every start method "
            f"here ({methods}), but {what_failed} did not."))
    return Judgement(Verdict.FAILS, (
        f"Between processes, none of the three did its job under every start method here: "
        f"{what_failed} failed."))


#: The writers "took turns" when, with the lock around the work and the write, they took at
#: least this share of the time their records take one after another; had they overlapped
#: fully they would have taken one writer's share of it (a quarter, with four writers).
SERIAL_FROM = 0.75


def lock_serialises_claim(shared_file: SharedFile) -> Judgement:
    """Article 001: a process lock turns concurrent work into serial work, which costs speed
    but avoids races (its example holds the lock around the whole of each task)."""
    runs = shared_file.runs
    around_work, unlocked = runs["work_and_write"], runs["nothing"]
    serial = around_work.elapsed >= SERIAL_FROM * shared_file.one_after_another_s
    whole = max(around_work.torn_per_run) == 0
    raced = max(unlocked.torn_per_run) > 0
    figures = (f"With a Lock held around each record's work and write, {shared_file.writers} "
               f"writer processes took {format_seconds(around_work.elapsed)}, against "
               f"{format_seconds(shared_file.one_after_another_s)} for their records one after "
               f"another and {format_seconds(unlocked.elapsed)} with no lock")
    scope = (f"Held around the write alone, it kept records whole at "
             f"{format_ratio(shared_file.write_lock_slowdown)} the no-lock time: only what the "
             "lock covers is serialised.")
    if not serial and not whole:
        return Judgement(Verdict.FAILS, (
            f"{figures}, and records were still torn: the lock neither serialised the "
            "writers nor kept their records whole."))
    if not whole:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: the lock serialised the writers, yet records were still torn "
            f"({max(around_work.torn_per_run)} in the worst run)."))
    if not serial:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: no record was torn, but the writers did not clearly take turns."))
    if not raced:
        return Judgement(Verdict.PARTLY, (
            f"{figures}, and no record was torn; but none was torn without the lock either, "
            "so this run shows the cost and not the race it avoids."))
    return Judgement(Verdict.HOLDS, (
        f"{figures}; no record was torn with it, {max(unlocked.torn_per_run)} of "
        f"{unlocked.records} without. {scope}"))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_sync_primitives": sync_primitives_claim(found.setup, found.start_methods),
        "a001_lock_serialises": lock_serialises_claim(found.shared_file),
    }
