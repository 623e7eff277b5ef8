"""What the races-and-locks chapter concludes from one result: findings per section, the
sentences that depend on them, and the texts (every sentence and number the page glues)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.races_and_locks.experiment import CONTENDED_THREADS
from parbook.chapters.races_and_locks.workload import STRATEGIES
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
    """Whether the runs without the lock lost updates: all, some, or none of them."""
    lost = [count < race.threads for count in race.unlocked_counts]
    if all(lost):
        return "every run without the lock lost updates"
    if any(lost):
        return "some runs without the lock lost updates"
    return "no run lost an update this time, which proves nothing"


def article_texts() -> dict[str, str]:
    """Article 001's two final counts and its thread count, as the page quotes them."""
    glued = {}
    for row in sources.RACE_TABLE.rows:
        who = "author" if "author" in row["run"] else "followed"
        glued[f"locks_article_{who}"] = str(row["value"])
    glued["locks_article_threads"] = f"{sources.RACE_TABLE.rows[0]['threads']:,}"
    return glued


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    race, cost, reentry, deadlock = found.race, found.lock_cost, found.reentry, found.deadlock
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
        "locks_global_order_time": seconds(deadlock.global_order.elapsed_s),
        "locks_backoff_time": seconds(deadlock.timeout_backoff.elapsed_s),
        "locks_backoff_retries": str(retries(deadlock.timeout_backoff)),
        "locks_transfer_rounds": str(deadlock.transfer_rounds),
    }
    for case, per_op in cost.seconds_per_op.items():
        glued[f"locks_cost_{case}"] = seconds(per_op)
        glued[f"locks_ops_{case}"] = format_per_second(cost.ops_per_s(case))
    return glued
