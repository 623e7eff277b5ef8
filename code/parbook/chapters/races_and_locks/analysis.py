"""What the races-and-locks chapter concludes from one result: findings per section, the
sentences that depend on them, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.chapters.races_and_locks.experiment import (
    CONTENDED_THREADS,
    COST_LABELS,
    NO_PAUSE_LABELS,
    STRATEGY_LABELS,
)
from parbook.chapters.races_and_locks.workload import STRATEGIES
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    format_per_second,
    format_percent,
    format_ratio,
    format_seconds,
)
from parbook.shared.child import ChildRun

#: What a thread of the transfers demo prints once it holds its first lock: its name,
#: the lock it holds and the one it waits for (``_say`` in the workload).
WAITING = re.compile(r"\[(\w+)\] holds [\w-]+, waiting for [\w-]+")
#: What a transfers child prints last when the money added up (two accounts of 100).
BALANCED_MARK = "= 200"


@dataclass(frozen=True)
class Race:
    """The final counts of one thread per increment, without and with a lock, run by run."""

    threads: int
    runs: int
    pause_s: float
    unlocked_counts: tuple[int, ...]
    locked_counts: tuple[int, ...]
    unlocked_time: float  # median seconds of one run
    locked_time: float

    @property
    def unlocked_min(self) -> int:
        return min(self.unlocked_counts)

    @property
    def unlocked_max(self) -> int:
        return max(self.unlocked_counts)

    @property
    def lost_share_max(self) -> float:
        """The largest share of increments lost in one unlocked run."""
        return 1 - self.unlocked_min / self.threads

    @property
    def lost_share_min(self) -> float:
        """The smallest share of increments lost in one unlocked run."""
        return 1 - self.unlocked_max / self.threads

    @property
    def locked_exact(self) -> bool:
        """Whether every locked run counted every increment."""
        return all(count == self.threads for count in self.locked_counts)

    @property
    def locked_slowdown(self) -> float:
        return self.locked_time / self.unlocked_time


@dataclass(frozen=True)
class NoPause:
    """Increments lost per run when threads add one many times with no pause, by loop
    (``in_place``: ``counter.value += 1``; ``call_between``: read, empty call, write),
    and what decides where this interpreter may switch threads."""

    threads: int
    increments: int  # per thread
    runs: int
    lost: dict[str, tuple[int, ...]]  # loop -> increments lost in each run
    python_version: str
    gil_enabled: bool
    switch_interval_s: float

    @property
    def total(self) -> int:
        """Increments every run should count: threads times increments per thread."""
        return self.threads * self.increments

    def runs_losing(self, loop: str) -> int:
        """How many runs of ``loop`` lost at least one update."""
        return sum(1 for lost in self.lost[loop] if lost > 0)

    def most_lost(self, loop: str) -> int:
        """The most updates ``loop`` lost in one run."""
        return max(self.lost[loop])


@dataclass(frozen=True)
class LockCost:
    """Seconds per increment of a shared counter, by case (``COST_LABELS`` of the experiment)."""

    increments: int
    seconds_per_op: dict[str, float]

    def ops_per_s(self, case: str) -> float:
        return 1 / self.seconds_per_op[case]

    @property
    def lock_over_none(self) -> float:
        return self.seconds_per_op["lock"] / self.seconds_per_op["no_lock"]

    @property
    def rlock_over_lock(self) -> float:
        return self.seconds_per_op["rlock"] / self.seconds_per_op["lock"]

    @property
    def lock_extra(self) -> float:
        """What an uncontended Lock adds to one increment, in seconds."""
        return self.seconds_per_op["lock"] - self.seconds_per_op["no_lock"]

    def contended_over_lock(self, threads: int) -> float:
        """One increment under a Lock shared by ``threads`` threads over an uncontended one."""
        return self.seconds_per_op[f"contended_{threads}"] / self.seconds_per_op["lock"]


@dataclass(frozen=True)
class Reentry:
    """``record_many`` on a ledger whose lock is a ``Lock`` or an ``RLock``."""

    timeout_s: float
    outcomes: dict[str, str]  # "Lock" | "RLock" -> what happened, as try_ledger said it
    seconds: dict[str, float]  # same keys -> how long it took

    def transcript(self) -> str:
        """One line per kind of lock: what happened and how long it took."""
        return "\n".join(f"{name:>5}: {self.outcomes[name]}  ({format_seconds(self.seconds[name])})"
                         for name in ("Lock", "RLock"))


def waiting_threads(run: ChildRun) -> frozenset[str]:
    """The threads of a transfers child that said they held one lock and waited for the other.

    Read from the whole output, by name: the two threads' lines may interleave, and a
    thread that got both locks in a first round announces itself again in the next.
    """
    return frozenset(WAITING.findall(run.output))


def balanced(run: ChildRun) -> bool:
    """Whether a transfers child ended by itself, cleanly, with the money adding up."""
    return (not run.killed and run.returncode == 0 and not run.errors
            and BALANCED_MARK in run.output)


def retries(run: ChildRun) -> int:
    """Total retries the threads of a transfers child reported
    (``finished N transfers after R retries``)."""
    total = 0
    for line in run.output.splitlines():
        if " retries" in line and "after " in line:
            total += int(line.rsplit("after ", 1)[1].split()[0])
    return total


@dataclass(frozen=True)
class Deadlock:
    """The transfers demo with each strategy of ``workload.STRATEGIES``, each in a child."""

    limit_s: float
    transfer_rounds: int
    opposite_order: ChildRun
    global_order: ChildRun
    timeout_backoff: ChildRun

    def transcript(self, strategy: str) -> str:
        """What the strategy's child printed, then how it ended."""
        run: ChildRun = getattr(self, strategy)
        if run.killed:
            outcome = (f"still running after {run.time_limit_s:g} s: killed, exit code "
                       f"{run.returncode}")
        else:
            outcome = f"finished by itself, exit code {run.returncode}"
        return f"{run.output}--- {outcome} ({run.elapsed_s:.2f} s)"


@dataclass(frozen=True)
class Findings:
    race: Race
    no_pause: NoPause
    lock_cost: LockCost
    reentry: Reentry
    deadlock: Deadlock


def race_counts(result: Result, use_lock: bool) -> list[int]:
    """The final counts of every race run, without or with the lock."""
    case = next(c for c in result.group("race") if c.params["lock"] is use_lock)
    return [int(value) for value in case.samples]


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, values = result.parameters, result.values
    # The experiment stored each child as ChildRun.as_dict, which leaves out the command.
    runs = {strategy: ChildRun(command=[], **values["deadlock"][strategy])
            for strategy in STRATEGIES}
    return Findings(
        race=Race(
            threads=parameters["race_threads"], runs=parameters["race_runs"],
            pause_s=parameters["race_pause_s"],
            unlocked_counts=tuple(race_counts(result, False)),
            locked_counts=tuple(race_counts(result, True)),
            unlocked_time=result.median("race_time", lock=False),
            locked_time=result.median("race_time", lock=True),
        ),
        no_pause=NoPause(
            threads=parameters["no_pause_threads"],
            increments=parameters["no_pause_increments"],
            runs=parameters["no_pause_runs"],
            lost={case.params["body"]: tuple(int(lost) for lost in case.samples)
                  for case in result.group("no_pause")},
            python_version=values["python_version"], gil_enabled=values["gil_enabled"],
            switch_interval_s=values["switch_interval_s"],
        ),
        lock_cost=LockCost(
            increments=parameters["increments"],
            seconds_per_op={case.params["case"]: case.summary.median
                            for case in result.group("lock_cost")},
        ),
        reentry=Reentry(
            timeout_s=parameters["reentry_timeout_s"], outcomes=dict(values["reentry"]),
            seconds={name: result.median("reentry", lock=name) for name in ("Lock", "RLock")},
        ),
        deadlock=Deadlock(limit_s=parameters["deadlock_limit_s"],
                          transfer_rounds=parameters["transfer_rounds"], **runs),
    )


def unlocked_range(race: Race) -> str:
    """The final counts without the lock, as a range or as the one value they all had."""
    if race.unlocked_min != race.unlocked_max:
        return f"between {race.unlocked_min:,} and {race.unlocked_max:,}"
    return f"{race.unlocked_min:,} every time"


def race_verdict(race: Race) -> str:
    """Whether the runs with a pause and no lock lost updates: all, some, or none."""
    losing = sum(1 for count in race.unlocked_counts if count < race.threads)
    if losing == race.runs and race.unlocked_min != race.unlocked_max:
        return (f"Without the lock, every run lost updates: the final count was between "
                f"{race.unlocked_min:,} and {race.unlocked_max:,} instead of "
                f"{race.threads:,}, so up to {format_percent(race.lost_share_max)} of the "
                "increments vanished.")
    if losing == race.runs:
        return (f"Without the lock, every run lost updates: the final count was "
                f"{race.unlocked_min:,} each time instead of {race.threads:,}.")
    if losing:
        return (f"Without the lock, {losing} of the {race.runs} runs lost updates; the "
                f"lowest final count was {race.unlocked_min:,} instead of {race.threads:,}.")
    return ("Without the lock, no run lost an update this time; with a pause between the "
            "read and the write, that is luck, not safety.")


def in_place_verdict(no_pause: NoPause) -> str:
    """How often the bare ``counter.value += 1`` loop lost updates on this build."""
    losing, most = no_pause.runs_losing("in_place"), no_pause.most_lost("in_place")
    runs, total = no_pause.runs, f"{no_pause.total:,}"
    if losing == 0:
        return (f"With the bare loop, none of the {runs} runs lost an update: each counted "
                f"all {total} increments.")
    if losing == 1:
        return (f"With the bare loop, one of the {runs} runs lost updates: {most:,} of its "
                f"{total} increments.")
    if losing == runs:
        return (f"With the bare loop, all {runs} runs lost updates, up to {most:,} of "
                f"{total} increments in one run.")
    return (f"With the bare loop, {losing} of the {runs} runs lost updates, up to {most:,} "
            f"of {total} increments in one run.")


def call_between_verdict(no_pause: NoPause) -> str:
    """How often the read, empty call, write loop lost updates on this build."""
    losing, most = no_pause.runs_losing("call_between"), no_pause.most_lost("call_between")
    runs, total = no_pause.runs, f"{no_pause.total:,}"
    if losing == 0:
        return (f"With an empty call between the read and the write, none of the {runs} "
                "runs lost an update.")
    if losing == 1:
        return (f"With an empty call between the read and the write, one of the {runs} runs "
                f"lost updates: {most:,} of its {total} increments.")
    if losing == runs:
        return (f"With an empty call between the read and the write, all {runs} runs lost "
                f"updates, up to {most:,} of {total} in one run.")
    return (f"With an empty call between the read and the write, {losing} of the {runs} "
            f"runs lost updates, up to {most:,} of {total} in one run.")


def no_pause_reading(no_pause: NoPause) -> str:
    """What the two loops without a pause show about where this build switches threads."""
    bare, called = no_pause.runs_losing("in_place"), no_pause.runs_losing("call_between")
    if not no_pause.gil_enabled:
        return ("This build ran with the GIL off, so its threads ran these loops at the same "
                "instant, with no check point needed to interleave them.")
    if bare:
        return ("So this build switched threads even between the bare loop's read and "
                "write, which the check points described above do not predict; treat the "
                "bare increment as unsafe here, as everywhere.")
    if called:
        return ("That is what the check points predict: the bare loop has none between "
                "its read and its write, and the call puts one there.")
    return ("Neither loop lost an update in these runs, so no switch landed between a read "
            "and its write; the threads may have overlapped too little to show it.")


def free_threaded_note(no_pause: NoPause) -> str:
    """What this build says, and does not say, about a free-threaded Python."""
    if no_pause.gil_enabled:
        return ("On a free-threaded build (Python 3.13t and later, with the GIL off) the "
                "threads run at the same instant and need no check point to interleave; "
                "how often the bare loop loses updates there is not measured by this "
                "build's own interpreter.")
    return ("How the bare loop behaves with the GIL on is not measured by this build's own "
            "interpreter.")


def lost_cell(no_pause: NoPause, loop: str) -> str:
    """A summary-table cell: in how many runs ``loop`` lost updates."""
    losing = no_pause.runs_losing(loop)
    if losing == 0:
        return f"no update lost in {no_pause.runs} runs"
    return (f"updates lost in {losing} of {no_pause.runs} runs "
            f"(up to {no_pause.most_lost(loop):,} of {no_pause.total:,})")


#: The threads of the transfers demo: a deadlock shows when both said they held one lock
#: and waited for the other (``workload.transfers`` names them A and B).
TRANSFER_THREADS = 2


def deadlock_shown(deadlock: Deadlock) -> bool:
    """Whether the locks taken in opposite orders deadlocked: both threads held one lock and
    waited for the other, and the process was still stuck at its time limit."""
    stuck = deadlock.opposite_order
    return stuck.killed and len(waiting_threads(stuck)) == TRANSFER_THREADS


def deadlock_sentence(deadlock: Deadlock) -> str:
    """What the transfers child with locks taken in opposite orders did, as its transcript
    shows it: stuck until killed with both threads waiting, or not."""
    stuck = deadlock.opposite_order
    took, code = format_seconds(stuck.elapsed_s), stuck.returncode
    if deadlock_shown(deadlock):
        return ("Both threads said which lock they held and which one they were waiting for, "
                f"and the process was still stuck when it was killed after {took} (exit code "
                f"{code}: a negative code is the signal that ended it).")
    if stuck.killed:
        return (f"The process was killed after {took} (exit code {code}), but not both threads "
                "said they held one lock and waited for the other, so this run did not show "
                "the deadlock as described; the transcript above shows what they printed.")
    return (f"This time the process ended by itself after {took}, with exit code {code}: the "
            "two threads did not deadlock in this run, and the transcript above shows what "
            "they printed.")


def rule_deadlock_sentence(deadlock: Deadlock) -> str:
    """The first sentence of PAR010's reason: what the locks taken in opposite orders did
    in this build."""
    if deadlock_shown(deadlock):
        return ("Two threads taking two locks in opposite orders were still deadlocked when "
                f"their process was killed after {format_seconds(deadlock.limit_s)}.")
    return ("Two threads taking two locks in opposite orders did not deadlock in this build's "
            "run, which shows that a deadlock depends on timing, not that it cannot happen.")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter measured, one line each, for the table after the short answer."""
    race, no_pause, cost, deadlock = (found.race, found.no_pause, found.lock_cost,
                                      found.deadlock)
    locked = (f"final count {race.threads:,} in every run" if race.locked_exact
              else f"final count between {min(race.locked_counts):,} and "
                   f"{max(race.locked_counts):,}")
    stuck = deadlock.opposite_order
    opposite = (f"stuck until killed after {format_seconds(stuck.elapsed_s)}" if stuck.killed
                else f"finished by itself in {format_seconds(stuck.elapsed_s)}")
    return [
        (f"{race.threads:,} threads: read, pause {format_seconds(race.pause_s)}, write; "
         "no lock", f"final count {unlocked_range(race)} (should be {race.threads:,})"),
        (f"the same {race.threads:,} threads with a Lock", locked),
        (f"{no_pause.threads} threads, no pause: {NO_PAUSE_LABELS['in_place']}",
         lost_cell(no_pause, "in_place")),
        (f"{no_pause.threads} threads, no pause: {NO_PAUSE_LABELS['call_between']}",
         lost_cell(no_pause, "call_between")),
        ("one increment under an uncontended Lock",
         f"{format_ratio(cost.lock_over_none)} the time without a lock"),
        ("two threads taking two locks in opposite orders", opposite),
        ("the same two threads, locks in one global order",
         f"finished in {format_seconds(deadlock.global_order.elapsed_s)}"),
    ]


def article_texts() -> dict[str, str]:
    """Article 001's race as the page quotes it: its thread count, pause, two final counts
    and machines, all from :data:`parbook.sources.RACE_TABLE`."""
    reported = sources.RACE_TABLE
    glued = {}
    for row in reported.rows:
        who = "author" if "author" in row["run"] else "followed"
        glued[f"locks_article_{who}"] = f"{row['value']:,}"
    glued["locks_article_threads"] = f"{reported.rows[0]['threads']:,}"
    glued["locks_article_pause"] = format_seconds(reported.rows[0]["pause_s"])
    glued["locks_article_machine"] = reported.machine
    return glued


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    race, cost, reentry, deadlock = found.race, found.lock_cost, found.reentry, found.deadlock
    no_pause = found.no_pause
    most = max(CONTENDED_THREADS)
    glued: dict[str, Any] = {
        "locks_threads": f"{race.threads:,}",
        "locks_runs": str(race.runs),
        "locks_pause": seconds(race.pause_s),
        "locks_unlocked_min": f"{race.unlocked_min:,}",
        "locks_unlocked_max": f"{race.unlocked_max:,}",
        "locks_unlocked_range": unlocked_range(race),
        "locks_lost_min": format_percent(race.lost_share_min),
        "locks_lost_max": format_percent(race.lost_share_max),
        "locks_unlocked_time": seconds(race.unlocked_time),
        "locks_locked_time": seconds(race.locked_time),
        "locks_locked_slowdown": ratio(race.locked_slowdown),
        "locks_race_verdict": race_verdict(race),
        "locks_no_pause_threads": str(no_pause.threads),
        "locks_no_pause_increments": f"{no_pause.increments:,}",
        "locks_no_pause_runs": str(no_pause.runs),
        "locks_switch_interval": seconds(no_pause.switch_interval_s),
        "locks_python_version": no_pause.python_version,
        "locks_in_place_verdict": in_place_verdict(no_pause),
        "locks_call_between_verdict": call_between_verdict(no_pause),
        "locks_no_pause_reading": no_pause_reading(no_pause),
        "locks_free_threaded_note": free_threaded_note(no_pause),
        **article_texts(),
        "locks_lock_over_none": ratio(cost.lock_over_none),
        "locks_rlock_over_lock": ratio(cost.rlock_over_lock),
        "locks_lock_extra": seconds(cost.lock_extra),
        "locks_increments": f"{cost.increments:,}",
        "locks_most_threads": str(most),
        "locks_contended_most_ratio": ratio(cost.contended_over_lock(most)),
        "locks_reentry_timeout": seconds(reentry.timeout_s),
        "locks_reentry_lock_time": seconds(reentry.seconds["Lock"]),
        "locks_reentry_rlock_time": seconds(reentry.seconds["RLock"]),
        "locks_deadlock_limit": seconds(deadlock.limit_s),
        "locks_deadlock_elapsed": seconds(deadlock.opposite_order.elapsed_s),
        "locks_deadlock_returncode": str(deadlock.opposite_order.returncode),
        "locks_deadlock_sentence": deadlock_sentence(deadlock),
        "locks_par010_deadlock": rule_deadlock_sentence(deadlock),
        "locks_global_order_time": seconds(deadlock.global_order.elapsed_s),
        "locks_backoff_time": seconds(deadlock.timeout_backoff.elapsed_s),
        "locks_backoff_retries": str(retries(deadlock.timeout_backoff)),
        "locks_transfer_rounds": str(deadlock.transfer_rounds),
    }
    for case, per_op in cost.seconds_per_op.items():
        glued[f"locks_cost_{case}"] = seconds(per_op)
        glued[f"locks_ops_{case}"] = format_per_second(cost.ops_per_s(case))
    return glued


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: The threads "lose most of their updates" when every unlocked run lost more than this
#: share of its increments: "most" read literally, as more than half.
MOST_LOST_SHARE = 0.5
#: How ``workload.try_ledger`` reports a batch that went through.
RECORDED = "recorded "


def locked_range(race: Race) -> str:
    """The final counts with the lock, as a range or as the one value they all had."""
    low, high = min(race.locked_counts), max(race.locked_counts)
    return f"between {low:,} and {high:,}" if low != high else f"{low:,} every time"


def race_lock_claim(race: Race) -> Judgement:
    """Article 001, section 2.3: threads that read a shared count, pause and write it back
    lose most of their updates, and a Lock makes the count exact."""
    threads, runs = f"{race.threads:,}", race.runs
    setup = (f"when {threads} threads each read a shared count, paused "
             f"{format_seconds(race.pause_s)} and wrote it back plus one")
    unlocked = f"the final count was {unlocked_range(race)}"
    locked = f"with a Lock every run counted exactly {threads}"
    most_lost = race.lost_share_min > MOST_LOST_SHARE
    if race.locked_exact and most_lost:
        return Judgement(Verdict.HOLDS, (
            f"Without a lock, {setup}, {unlocked} instead of {threads} in {runs} runs; "
            f"{locked}."))
    if race.locked_exact and race.unlocked_min < race.threads:
        return Judgement(Verdict.PARTLY, (
            f"Without a lock, {setup}, {unlocked} instead of {threads} in {runs} runs, so "
            f"at least one run kept more than half of its updates; {locked}."))
    if race.locked_exact:
        return Judgement(Verdict.PARTLY, (
            f"Without a lock, {setup}, no update was lost in {runs} runs this time; "
            f"{locked} too."))
    if most_lost:
        return Judgement(Verdict.PARTLY, (
            f"Without a lock, {setup}, {unlocked} instead of {threads}, but with a Lock it "
            f"was {locked_range(race)}, not always exact."))
    return Judgement(Verdict.FAILS, (
        f"Without a lock, {setup}, {unlocked} (of {threads}), so not every run lost most "
        f"updates, and with a Lock it was {locked_range(race)}, not always exact."))


def deadlock_rlock_claim(deadlock: Deadlock, reentry: Reentry) -> Judgement:
    """Article 001, section 2.3: threads that wait for each other's locks wait forever, and
    an RLock can be taken again by the thread that holds it."""
    stuck = format_seconds(deadlock.opposite_order.elapsed_s)
    took = format_seconds(reentry.seconds["RLock"])
    reentered = reentry.outcomes["RLock"].startswith(RECORDED)
    if deadlock_shown(deadlock) and reentered:
        return Judgement(Verdict.HOLDS, (
            f"Two threads taking two locks in opposite orders each held one and waited for "
            f"the other until their process was killed after {stuck}; a thread holding an "
            f"RLock took it again and finished its batch in {took}."))
    if reentered:
        return Judgement(Verdict.PARTLY, (
            f"Two threads taking two locks in opposite orders did not show a deadlock in this "
            f"run (their process ran {stuck}); a thread holding an RLock took it again and "
            f"finished its batch in {took}."))
    if deadlock_shown(deadlock):
        return Judgement(Verdict.PARTLY, (
            f"Two threads taking two locks in opposite orders each held one and waited for "
            f"the other until their process was killed after {stuck}, but a thread holding "
            f"an RLock could not take it again within {format_seconds(reentry.timeout_s)}."))
    return Judgement(Verdict.FAILS, (
        f"Two threads taking two locks in opposite orders did not show a deadlock in this run "
        f"(their process ran {stuck}), and a thread holding an RLock could not take it again "
        f"within {format_seconds(reentry.timeout_s)}."))


def race_faster_cpu_claim(race: Race) -> Judgement:
    """Article 001, section 2.3: the author's final count was lower than the post's (7
    against 69) because the author's CPU is faster. One build runs on one machine."""
    if race.unlocked_min != race.unlocked_max:
        counts = f"between {race.unlocked_min:,} and {race.unlocked_max:,}"
    else:
        counts = f"{race.unlocked_min:,} in every run"
    return Judgement(Verdict.UNMEASURED, (
        "Two machines cannot be compared within one build. The final count depends on how "
        "many threads read the same value while one of them pauses, that is on how fast "
        f"threads start compared with the pause (here the count of {race.threads:,} threads "
        f"each pausing {format_seconds(race.pause_s)} was {counts}): a CPU that starts threads "
        "faster fits more of them into each pause and keeps fewer updates, and so does a "
        "sleep that lasts longer than asked, so the author's lower count fits a faster CPU "
        "without proving it."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_race_lock": race_lock_claim(found.race),
        "a001_deadlock_rlock": deadlock_rlock_claim(found.deadlock, found.reentry),
        "a001_race_faster_cpu": race_faster_cpu_claim(found.race),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def lost_runs_cell(no_pause: NoPause, loop: str) -> str:
    """A short cell of the side-by-side table: how many runs of ``loop`` lost updates, and
    the most one lost."""
    losing = no_pause.runs_losing(loop)
    if losing == 0:
        return f"0 of {no_pause.runs}"
    return f"{losing} of {no_pause.runs} (up to {no_pause.most_lost(loop):,})"


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. The lost updates are what a GIL, or its absence, changes most."""
    race, no_pause, cost = found.race, found.no_pause, found.lock_cost
    per_op, most = cost.seconds_per_op, max(CONTENDED_THREADS)
    lost = f"no pause: runs that lost updates (of {no_pause.total:,} increments)"
    return {
        "GIL while the experiment ran": "on" if no_pause.gil_enabled else "off",
        f"{race.threads:,} threads: read, pause, write, no lock: final count "
        f"(of {race.threads:,})": unlocked_range(race),
        f"{NO_PAUSE_LABELS['in_place']}, {lost}": lost_runs_cell(no_pause, "in_place"),
        f"{NO_PAUSE_LABELS['call_between']}, {lost}": lost_runs_cell(no_pause,
                                                                    "call_between"),
        "one increment, no lock": format_seconds(per_op["no_lock"]),
        "one increment, uncontended Lock (against no lock)": (
            f"{format_seconds(per_op['lock'])} ({format_ratio(cost.lock_over_none)})"),
        "uncontended RLock, against Lock": format_ratio(cost.rlock_over_lock),
        f"one Lock shared by {most} threads, against uncontended":
            format_ratio(cost.contended_over_lock(most)),
    }


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's sections name it, for the sentence on what changed between
    interpreters."""
    if group == "lock_cost":
        return f"one increment ({COST_LABELS[params['case']]})"
    if group == "race_time":
        lock = "with" if params["lock"] else "without"
        return f"a run of {params['threads']:,} threads, read, pause, write, {lock} a lock"
    if group == "reentry":
        return f"a method re-taking its {params['lock']}"
    if group == "deadlock":
        return f"the transfers program ({STRATEGY_LABELS[params['strategy']]})"
    return interpreters.describe_case(group, params)


def _most_lost_on(runs: list[interpreters.InterpreterRun]) -> str:
    """``up to N of T on LABEL`` for each run, joined: the bare loop's worst run on each."""
    return interpreters.join_words([
        f"up to {run.found.no_pause.most_lost('in_place'):,} of "
        f"{run.found.no_pause.total:,} on {run.label}" for run in runs])


def lost_updates_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """Whether the bare ``counter.value += 1`` loop lost updates under each interpreter,
    read against its GIL: with the GIL on the check points protect it (or did not, here),
    with the GIL off nothing does."""
    present = interpreters.measured(runs)

    def labels(group: list[interpreters.InterpreterRun]) -> str:
        return interpreters.join_words([run.label for run in group])

    def lost(run: interpreters.InterpreterRun) -> bool:
        return run.found.no_pause.runs_losing("in_place") > 0

    with_gil = [run for run in present if run.found.no_pause.gil_enabled]
    free = [run for run in present if not run.found.no_pause.gil_enabled]
    sentences = []
    if clean := [run for run in with_gil if not lost(run)]:
        sentences.append(f"With the GIL on, the bare {NO_PAUSE_LABELS['in_place']} loop lost "
                         f"no update on {labels(clean)}: no check point lies between its "
                         "read and its write.")
    if losing := [run for run in with_gil if lost(run)]:
        sentences.append(f"With the GIL on, the bare loop still lost updates "
                         f"({_most_lost_on(losing)}), so switches landed between its read "
                         "and its write even there.")
    if losing_free := [run for run in free if lost(run)]:
        sentences.append(f"With the GIL off, the bare loop lost updates "
                         f"({_most_lost_on(losing_free)}): the threads ran it at the same "
                         "instant, and no check point was needed for that.")
    if clean_free := [run for run in free if not lost(run)]:
        sentences.append(f"The bare loop lost no update in these runs on "
                         f"{labels(clean_free)}: luck, not safety, since with the GIL off "
                         "nothing stops two threads from reading the same value.")
    if not free:
        sentences.append("No interpreter here ran with the GIL off, so what a free-threaded "
                         "build loses is not measured in this build.")
    return " ".join(sentences)


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"locks_interpreters_lost": lost_updates_across_interpreters(runs)}
