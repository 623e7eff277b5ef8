"""What the overhead chapter concludes from one result: findings per section, and the texts
(every sentence and number the page, and the rules page, glue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.bench.stats import break_even
from parbook.chapters.overhead.experiment import PLACEMENT_LABELS, SWEEP_LABELS
from parbook.claims import Judgement, Verdict, judge
from parbook.render.formatting import format_ratio, format_seconds

#: The channels compared with the raw os.pipe floor in the round-trip section.
MP_CHANNELS = ("mp_pipe", "mp_queue", "pool_apply")
#: How the Ray verdict names each kind of Ray call, in the order the sentence lists them.
RAY_CALL_NAMES = {"ray_task": "a Ray task", "ray_actor": "an actor call"}
#: The backends whose break-even task length is compared with a round trip of the same
#: kind of call, for PAR002: backend -> (who, the round trip's channel, what it is called).
BREAK_EVEN_CALLS = {
    "pool_per_task": ("A Pool fed one task per message", "pool_apply", "Pool.apply round trip"),
    "ray_actors": ("Ray actors", "ray_actor", "actor call"),
}
#: A first use of one actor at most this share of the same created again is "cheaper".
FIRST_USE_CHEAPER_BELOW = 0.5


@dataclass(frozen=True)
class Setting:
    """The machine's usable CPUs and the start method the chapter ran with."""

    cpus: int
    start_method: str


@dataclass(frozen=True)
class ArticleRerun:
    """Article 000's workers, start-up included: one worker, and the most workers measured."""

    most_workers: int
    return_one_process: float
    return_process: float
    return_ray: float
    return_most_process: float
    return_most_ray: float
    sleep_one_one_process: float
    sleep_most_one_process: float
    sleep_most_process: float
    sleep_most_ray: float

    @property
    def return_process_ratio(self) -> float:
        """How many times longer one instant task took on a new process than in this one."""
        return self.return_process / self.return_one_process

    @property
    def sleep_most_process_speedup(self) -> float:
        return self.sleep_most_one_process / self.sleep_most_process

    @property
    def sleep_most_ray_speedup(self) -> float:
        return self.sleep_most_one_process / self.sleep_most_ray


@dataclass(frozen=True)
class Startup:
    """What one more process costs per start method, and what starting Ray costs."""

    per_process: dict[str, float]  # start method -> seconds each extra process adds
    ray_init: float


@dataclass(frozen=True)
class RoundTrips:
    """Seconds per round trip of a tiny message, by (channel, placement)."""

    seconds: dict[tuple[str, str], float]
    #: Where the software cost alone shows (both ends on one CPU, if pinning works).
    software_placement: str
    #: Where parallel workers run (two CPUs, if there are two to pin to).
    parallel_placement: str
    #: Article 000's claimed least cost of one Ray round trip.
    ray_claim: float

    def floor(self, placement: str) -> float:
        """The raw ``os.pipe`` round trip at ``placement``: the floor of every channel."""
        return self.seconds[("os_pipe", placement)]

    def over_floor(self, channel: str, placement: str) -> float:
        """``channel``'s round trip as a multiple of the floor at the same placement."""
        return self.seconds[(channel, placement)] / self.floor(placement)

    @property
    def pipe(self) -> float:
        """A ``multiprocessing.Pipe`` round trip between two parallel workers."""
        return self.seconds[("mp_pipe", self.parallel_placement)]

    @property
    def ray_task(self) -> float:
        return self.seconds[("ray_task", "unpinned")]

    @property
    def ray_actor(self) -> float:
        return self.seconds[("ray_actor", "unpinned")]

    @property
    def ray_actor_over_pipe(self) -> float:
        return self.ray_actor / self.pipe


@dataclass(frozen=True)
class Sweep:
    """Speed-up over one process against task length, per parallel backend."""

    speedups: dict[str, list[tuple[float, float]]]  # backend -> [(task_s, speed-up)]

    @property
    def shortest_task(self) -> float:
        return min(d for points in self.speedups.values() for d, _ in points)

    @property
    def longest_task(self) -> float:
        return max(d for points in self.speedups.values() for d, _ in points)

    @property
    def break_even(self) -> dict[str, float | None]:
        """Per backend, the task length at which it first matches one process (or None)."""
        return {backend: break_even(points) for backend, points in self.speedups.items()}

    @property
    def best_speedup(self) -> dict[str, float]:
        return {backend: max(s for _, s in points) for backend, points in self.speedups.items()}


@dataclass(frozen=True)
class RayFirstUse:
    """The article's Ray case, return at once, as a program meets it (the first actors
    after ``ray.init``, one run each) and as the article grid repeats it (new processes)."""

    #: Worker processes a fresh local instance starts in advance; None on a cluster.
    prestarted: int | None
    first: dict[int, float]  # workers -> seconds, the first actors of a fresh session
    again: dict[int, float]  # workers -> median seconds, each repeat on new processes

    @property
    def fewest(self) -> int:
        return min(self.first)

    @property
    def most(self) -> int:
        return max(self.first)


@dataclass(frozen=True)
class BreakEvenFactor:
    """One backend's break-even task length as a multiple of one round trip of the same
    kind of call, measured to a running worker."""

    backend: str
    crossing: float | None  # the break-even task length; None if it never broke even
    won_at_shortest: bool  # it already won at the shortest task: crossing is a bound
    round_trip: float
    round_trip_placement: str  # where the round trip's two ends ran
    longest_task: float

    @property
    def factor(self) -> float | None:
        return None if self.crossing is None else self.crossing / self.round_trip


@dataclass(frozen=True)
class Findings:
    setting: Setting
    article: ArticleRerun
    startup: Startup
    round_trips: RoundTrips
    sweep: Sweep
    first_use: RayFirstUse
    factors: dict[str, BreakEvenFactor]


def sweep_speedups(result: Result) -> dict[str, list[tuple[float, float]]]:
    """Per parallel backend, ``(task_s, speed-up over one process)`` at every sweep point.

    The baseline is the serial case of the same phase, measured interleaved with it.
    """
    durations = sorted({c.params["task_s"] for c in result.group("sweep")})
    phases = {c.params["backend"]: c.params["phase"] for c in result.group("sweep")
              if c.params["backend"] != "serial"}
    curves: dict[str, list[tuple[float, float]]] = {}
    for backend in SWEEP_LABELS:
        if backend not in phases:
            continue
        points = []
        for duration in durations:
            serial = result.median("sweep", task_s=duration, phase=phases[backend],
                                   backend="serial")
            parallel = result.median("sweep", task_s=duration, backend=backend)
            points.append((duration, serial / parallel))
        curves[backend] = points
    return curves


def startup_per_process(result: Result) -> dict[str, float]:
    """Seconds each extra process adds, per start method: the slope from 1 to the most."""
    slopes = {}
    for method in sorted({c.params["method"] for c in result.group("startup")}):
        counts = sorted(c.params["processes"] for c in result.group("startup")
                        if c.params["method"] == method)
        low, high = counts[0], counts[-1]
        t_low = result.median("startup", method=method, processes=low)
        t_high = result.median("startup", method=method, processes=high)
        slopes[method] = (t_high - t_low) / (high - low) if high > low else t_low
    return slopes


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    def article(body: str, workers: int, backend: str) -> float:
        return result.median("article", body=body, workers=workers, backend=backend)

    most = max(result.parameters["worker_counts"])
    round_trip = {
        (c.params["channel"], c.params["placement"]): result.median("round_trip", **c.params)
        for c in result.group("round_trip")
    }
    measured = {placement for _, placement in round_trip}
    # The software cost alone shows with both ends on one CPU; parallel workers also
    # pay for waking a process on another CPU. Unpinned is all a platform without
    # sched_setaffinity offers.
    software = "same_cpu" if "same_cpu" in measured else "unpinned"
    parallel = "different_cpus" if "different_cpus" in measured else software
    first = {c.params["workers"]: c.summary.median for c in result.group("ray_first_use")}
    sweep = Sweep(speedups=sweep_speedups(result))
    factors = {}
    for backend, (_who, channel, _call) in BREAK_EVEN_CALLS.items():
        placement = software if channel in MP_CHANNELS else "unpinned"
        crossing = sweep.break_even[backend]
        factors[backend] = BreakEvenFactor(
            backend=backend, crossing=crossing,
            won_at_shortest=crossing is not None and crossing <= sweep.shortest_task,
            round_trip=round_trip[(channel, placement)], round_trip_placement=placement,
            longest_task=sweep.longest_task,
        )
    return Findings(
        setting=Setting(cpus=result.parameters["usable_cpus"],
                        start_method=result.parameters["start_method"]),
        article=ArticleRerun(
            most_workers=most,
            return_one_process=article("return", 1, "one_process"),
            return_process=article("return", 1, "processes"),
            return_ray=article("return", 1, "ray_actors"),
            return_most_process=article("return", most, "processes"),
            return_most_ray=article("return", most, "ray_actors"),
            sleep_one_one_process=article("sleep_1s", 1, "one_process"),
            sleep_most_one_process=article("sleep_1s", most, "one_process"),
            sleep_most_process=article("sleep_1s", most, "processes"),
            sleep_most_ray=article("sleep_1s", most, "ray_actors"),
        ),
        startup=Startup(per_process=startup_per_process(result),
                        ray_init=result.median("ray_init")),
        round_trips=RoundTrips(
            seconds=round_trip, software_placement=software, parallel_placement=parallel,
            ray_claim=sources.RAY_ROUND_TRIP_CLAIM_S.rows[0]["value"],
        ),
        sweep=sweep,
        first_use=RayFirstUse(
            prestarted=result.parameters.get("ray_prestarted_workers"),
            first=first,
            again={workers: article("return", workers, "ray_actors") for workers in first},
        ),
        factors=factors,
    )


def reaches_claim(seconds: float, claim_s: float) -> bool:
    """Whether a measured round trip is at or above the article's figure. One printed as
    the figure (1.996 ms shows as 2.00 ms) counts as at it: the verdict is read beside both
    printed numbers."""
    return seconds >= claim_s or format_seconds(seconds) == format_seconds(claim_s)


def ray_claim_verdict(round_trips: RoundTrips) -> str:
    """Whether a Ray task and an actor call cost at least what article 000 claims."""
    measured = {"ray_task": round_trips.ray_task, "ray_actor": round_trips.ray_actor}
    above = [RAY_CALL_NAMES[call] for call, value in measured.items()
             if reaches_claim(value, round_trips.ray_claim)]
    below = [name for name in RAY_CALL_NAMES.values() if name not in above]
    if not below:
        return "both at or above that figure, so the claim holds here"
    if not above:
        return ("both below that figure: Ray's floor on this machine is lower than the "
                "article found, though still far above a pipe's")
    return (f"{above[0]} at or above that figure and {below[0]} below it, so the claim "
            "holds only roughly here")


def break_even_text(sweep: Sweep, backend: str) -> str:
    """The task length at which ``backend`` broke even, as a table cell, or after "broke
    even at tasks of" (the rules page quotes it so)."""
    crossing = sweep.break_even[backend]
    if crossing is None:
        return (f"over {format_seconds(sweep.longest_task)}, if at all (no task length "
                "measured here was long enough)")
    if crossing <= sweep.shortest_task:
        return (f"{format_seconds(crossing)} or less (it already won at the shortest tasks "
                "measured)")
    return format_seconds(crossing)


#: How the break-even sentences name each backend.
BACKEND_SUBJECTS = {
    "pool_per_task": "A Pool fed one task per message",
    "pool_map": "Pool.map, which sends the tasks in batches,",
    "ray_tasks": "Ray tasks",
    "ray_actors": "Ray actors",
}


def break_even_sentence(sweep: Sweep, backend: str) -> str:
    """Where ``backend`` broke even, as a whole sentence."""
    who, crossing = BACKEND_SUBJECTS[backend], sweep.break_even[backend]
    if crossing is None:
        return (f"{who} did not break even at any task length measured here, up to "
                f"{format_seconds(sweep.longest_task)}.")
    if crossing <= sweep.shortest_task:
        return (f"{who} already won at the shortest tasks measured, "
                f"{format_seconds(crossing)}.")
    return f"{who} broke even at tasks of about {format_seconds(crossing)}."


def times(ratio: float) -> str:
    """A multiple in words, as the rules say it: ``"3.0 times"``."""
    return f"{format_ratio(ratio).removesuffix('×')} times"


def break_even_factor_sentence(found: BreakEvenFactor) -> str:
    """Where one backend broke even, as a multiple of one round trip of its kind of call."""
    who, _channel, call = BREAK_EVEN_CALLS[found.backend]
    trip = format_seconds(found.round_trip)
    if found.round_trip_placement != "unpinned":
        trip = f"{trip}, {PLACEMENT_LABELS[found.round_trip_placement]}"
    if found.factor is None:
        return (f"{who} did not break even at any task length measured here, up to "
                f"{format_seconds(found.longest_task)}.")
    multiple = times(found.factor)
    if found.won_at_shortest:
        return (f"{who} already won at the shortest tasks measured, {multiple} as long as "
                f"one {call} ({trip}), so the break-even lies at or below that.")
    return f"{who} broke even at tasks {multiple} as long as one {call} ({trip})."


def par002_rule(factors: dict[str, BreakEvenFactor]) -> str:
    """Rule PAR002, with the factor this build's break-even points give it."""
    measured = [f.factor for f in factors.values() if f.factor is not None]
    if not measured:
        return ("A task sent to another process should take much longer than one round "
                "trip to that process.")
    factor = max(measured)
    if factor < 1:
        return ("A task sent to another process should take well over one round trip to "
                "that process.")
    return (f"A task sent to another process should take well over {times(factor)} as "
            "long as one round trip to that process.")


def first_use_one_sentence(first_use: RayFirstUse) -> str:
    """One actor as the first of a fresh Ray session, against one on a new process."""
    first, again = format_seconds(first_use.first[1]), format_seconds(first_use.again[1])
    if first_use.first[1] <= FIRST_USE_CHEAPER_BELOW * first_use.again[1]:
        return (f"Right after ray.init, one actor took {first} to create and call, against "
                f"{again} once it needed a new process: the first one ran in a worker "
                "process that Ray had started in advance.")
    return (f"Right after ray.init, one actor took {first} to create and call, against "
            f"{again} once it needed a new process: here the workers Ray starts in advance "
            "did not make the first one cheaper.")


def _worker_processes(count: int) -> str:
    return "one worker process" if count == 1 else f"{count} worker processes"


def first_use_most_sentence(first_use: RayFirstUse) -> str:
    """The most actors as the first of a fresh Ray session, and how many could find a
    worker started in advance."""
    most, prestarted = first_use.most, first_use.prestarted
    timed = (f"With {most} actors, the first use took {format_seconds(first_use.first[most])} "
             f"and a later use {format_seconds(first_use.again[most])}")
    if prestarted is None:
        return (f"{timed}; on a cluster, how many of them found a worker waiting depends on "
                "what ran there before.")
    started = (f"Ray starts {_worker_processes(prestarted)} in advance here, one per CPU "
               "it counts")
    if prestarted >= most:
        return f"{timed}: {started}, enough for all of them."
    if most - prestarted == 1:
        return f"{timed}: {started}, so one actor needed a new process even at first use."
    return (f"{timed}: {started}, so the other {most - prestarted} needed new processes "
            "even at first use.")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    seconds, ratio = format_seconds, format_ratio
    article, startup, trips, first_use = (found.article, found.startup, found.round_trips,
                                          found.first_use)
    rows = [
        ("one task that returns at once, run in this process",
         seconds(article.return_one_process)),
        ("the same task on a new multiprocessing.Process",
         f"{seconds(article.return_process)} ({ratio(article.return_process_ratio)} as long)"),
    ]
    rows += [(f"each extra process started with {method}", seconds(startup.per_process[method]))
             for method in ("fork", "forkserver", "spawn") if method in startup.per_process]
    rows += [
        (f"{article.most_workers} tasks that sleep 1 s, one after another",
         seconds(article.sleep_most_one_process)),
        ("the same tasks on one multiprocessing.Process each",
         f"{seconds(article.sleep_most_process)} (a speed-up of "
         f"{ratio(article.sleep_most_process_speedup)})"),
        ("one round trip to a running process over a multiprocessing.Pipe",
         seconds(trips.pipe)),
        ("one call to a running Ray actor", seconds(trips.ray_actor)),
        ("the first Ray actor after ray.init, and one created later",
         f"{seconds(first_use.first[1])} and {seconds(first_use.again[1])}"),
        ("break-even task length, Pool fed one task per message",
         break_even_text(found.sweep, "pool_per_task")),
        ("break-even task length, Ray actors", break_even_text(found.sweep, "ray_actors")),
    ]
    return rows


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key (``book/rules.md`` quotes
    some of them as ``overhead.md::KEY``; ``overhead_cpus`` stays an int for its ``:d``)."""
    seconds, ratio = format_seconds, format_ratio
    setting, article, startup, trips, sweep = (found.setting, found.article, found.startup,
                                               found.round_trips, found.sweep)
    glued: dict[str, Any] = {
        "overhead_cpus": setting.cpus,
        "overhead_start_method": setting.start_method,
        "overhead_most_workers": article.most_workers,
        "overhead_return_one_process": seconds(article.return_one_process),
        "overhead_return_process": seconds(article.return_process),
        "overhead_return_ray": seconds(article.return_ray),
        "overhead_return_process_ratio": ratio(article.return_process_ratio),
        "overhead_return_most_process": seconds(article.return_most_process),
        "overhead_return_most_ray": seconds(article.return_most_ray),
        "overhead_sleep_most_one_process": seconds(article.sleep_most_one_process),
        "overhead_sleep_most_process": seconds(article.sleep_most_process),
        "overhead_sleep_most_ray": seconds(article.sleep_most_ray),
        "overhead_sleep_most_process_speedup": ratio(article.sleep_most_process_speedup),
        "overhead_sleep_most_ray_speedup": ratio(article.sleep_most_ray_speedup),
        "overhead_ray_init": seconds(startup.ray_init),
    }
    for method, slope in startup.per_process.items():
        glued[f"overhead_startup_{method}"] = seconds(slope)

    for (channel, placement), value in trips.seconds.items():
        glued[f"overhead_rt_{channel}_{placement}"] = seconds(value)
    for name, placement in (("software", trips.software_placement),
                            ("parallel", trips.parallel_placement)):
        glued[f"overhead_rt_{name}_placement"] = PLACEMENT_LABELS[placement]
        glued[f"overhead_rt_{name}_floor"] = seconds(trips.floor(placement))
        for channel in MP_CHANNELS:
            glued[f"overhead_rt_{name}_{channel}"] = seconds(trips.seconds[(channel, placement)])
            glued[f"overhead_rt_{name}_{channel}_ratio"] = ratio(
                trips.over_floor(channel, placement))
    glued.update({
        "overhead_rt_pipe": seconds(trips.pipe),
        "overhead_rt_ray_actor": seconds(trips.ray_actor),
        "overhead_rt_ray_task": seconds(trips.ray_task),
        "overhead_rt_ray_claim": seconds(trips.ray_claim),
        "overhead_rt_ray_actor_over_pipe": ratio(trips.ray_actor_over_pipe),
        "overhead_rt_ray_verdict": ray_claim_verdict(trips),
    })

    for backend in sweep.speedups:
        glued[f"overhead_break_even_{backend}"] = break_even_text(sweep, backend)
        glued[f"overhead_break_even_sentence_{backend}"] = break_even_sentence(sweep, backend)
        glued[f"overhead_best_{backend}"] = ratio(sweep.best_speedup[backend])
    glued.update({
        "overhead_best_overall": ratio(max(sweep.best_speedup.values())),
        "overhead_sweep_shortest": seconds(sweep.shortest_task),
        "overhead_sweep_longest": seconds(sweep.longest_task),
        "overhead_par002_rule": par002_rule(found.factors),
    })
    for backend, factor in found.factors.items():
        glued[f"overhead_break_even_factor_{backend}"] = break_even_factor_sentence(factor)

    first_use = found.first_use
    glued.update({
        "overhead_first_use_one_sentence": first_use_one_sentence(first_use),
        "overhead_first_use_most_sentence": first_use_most_sentence(first_use),
    })

    # Article 000's middle rows: its header says one sleep, its code and figures another.
    reported, header_sleep = sources.OVERHEAD_TABLE, sources.OVERHEAD_TABLE_HEADER_SLEEP_S
    reported_most = max(row["workers"] for row in reported.rows)
    glued.update({
        "overhead_reported_most_workers": reported_most,
        "overhead_reported_header_sleep": seconds(header_sleep),
        "overhead_reported_short_most_one_process": seconds(reported.lookup(
            body="sleep_100us", workers=reported_most, backend="one_process")),
        "overhead_reported_header_total": seconds(reported_most * header_sleep),
    })
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: One process's time for the most workers' 1 s sleeps is "proportional" to the worker
#: count when it is within this share of the count times one worker's time.
PROPORTIONAL_WITHIN = 0.1
#: A new process is "expensive" when it costs at least this many round trips to one that
#: is already running.
EXPENSIVE_IN_ROUND_TRIPS = 10


def causes_claim(found: Findings) -> Judgement:
    """Article 000's four causes: the two this chapter measures, and the two it does not."""
    article, cpus = found.article, found.setting.cpus
    best = max(found.sweep.best_speedup.values())
    unmeasured = ("Locks are measured in the synchronization chapter; the memory many "
                  "processes take is measured in the memory chapter and judged in the next "
                  "point.")
    start_up = (f"an instant task took {format_ratio(article.return_process_ratio)} as long "
                "on a new process as in this one")
    ceiling = (f"the best speed-up on CPU-bound tasks was {format_ratio(best)} with {cpus} "
               "usable CPUs")
    if article.return_process_ratio > 1:
        return Judgement(Verdict.PARTLY, (
            f"Start-up and communication cost showed: {start_up}, and {ceiling}. "
            f"{unmeasured}"))
    return Judgement(Verdict.PARTLY, (
        f"Here {start_up}, so start-up cost did not show; {ceiling}. {unmeasured}"))


def experiment_claim(article: ArticleRerun) -> Judgement:
    """Article 000's experiment: the parallel versions lose on instant tasks and win on
    tasks of one second."""
    lose = (article.return_process > article.return_one_process
            and article.return_ray > article.return_one_process)
    win = article.sleep_most_process_speedup > 1 and article.sleep_most_ray_speedup > 1
    figures = (f"one instant task took {format_seconds(article.return_one_process)} in this "
               f"process, {format_seconds(article.return_process)} on a new process and "
               f"{format_seconds(article.return_ray)} on a new Ray actor; "
               f"{article.most_workers} one-second tasks ran "
               f"{format_ratio(article.sleep_most_process_speedup)} and "
               f"{format_ratio(article.sleep_most_ray_speedup)} faster on processes and on "
               "actors")
    if lose and win:
        return Judgement(Verdict.HOLDS, f"On this build {figures}.")
    if lose or win:
        missed = ("the parallel versions did not both win on the long tasks" if lose
                  else "the parallel versions did not both lose on the instant tasks")
        return Judgement(Verdict.PARTLY, f"On this build {figures}, so {missed}.")
    return Judgement(Verdict.FAILS, f"On this build {figures}.")


def proportional_claim(article: ArticleRerun) -> Judgement:
    """Article 000: one process's time grows in proportion to the number of workers."""
    expected = article.most_workers * article.sleep_one_one_process
    off = abs(article.sleep_most_one_process - expected) / expected
    return judge(
        off <= PROPORTIONAL_WITHIN,
        f"In one process, {article.most_workers} one-second tasks took "
        f"{format_seconds(article.sleep_most_one_process)}, {article.most_workers} times the "
        f"{format_seconds(article.sleep_one_one_process)} of one.",
        f"In one process, {article.most_workers} one-second tasks took "
        f"{format_seconds(article.sleep_most_one_process)}, not {article.most_workers} times "
        f"the {format_seconds(article.sleep_one_one_process)} of one.")


def ray_floor_claim(trips: RoundTrips) -> Judgement:
    """Article 000: a Ray round trip costs at least its figure (about 2 ms)."""
    figures = (f"A Ray task took {format_seconds(trips.ray_task)} and an actor call "
               f"{format_seconds(trips.ray_actor)} on this build, against the article's "
               f"{format_seconds(trips.ray_claim)}")
    at_least = [reaches_claim(value, trips.ray_claim) for value in (trips.ray_task,
                                                                     trips.ray_actor)]
    if all(at_least):
        return Judgement(Verdict.HOLDS, f"{figures}.")
    if any(at_least):
        return Judgement(Verdict.PARTLY, f"{figures}: only one of them reached it.")
    return Judgement(Verdict.FAILS, (
        f"{figures}: Ray's floor here is lower, though an actor call still took "
        f"{times(trips.ray_actor_over_pipe)} as long as a pipe's round trip."))


def actor_work_claim(factor: BreakEvenFactor) -> Judgement:
    """Article 000: give each actor call a lot of work (a light ``__init__``, the work in a
    long-running method), because a call's cost is paid per call."""
    call = format_seconds(factor.round_trip)
    if factor.factor is None:
        return Judgement(Verdict.HOLDS, (
            f"Ray actors did not break even at any task length measured, up to "
            f"{format_seconds(factor.longest_task)}, against {call} for one call: each call "
            "needs far more work than that."))
    if factor.won_at_shortest:
        return Judgement(Verdict.FAILS, (
            f"Ray actors already won at the shortest tasks measured, "
            f"{format_seconds(factor.crossing)}, against {call} for one call, so even light "
            "calls paid off here."))
    if factor.factor < 1:
        return Judgement(Verdict.PARTLY, (
            f"Ray actors broke even at tasks of {format_seconds(factor.crossing)}, shorter "
            f"than one call ({call}): calls need some work, but less than the article "
            "suggests."))
    return Judgement(Verdict.HOLDS, (
        f"Ray actors broke even only at tasks {times(factor.factor)} as long as one call "
        f"({call}), so each call must carry that much work before an actor pays off."))


def process_cost_claim(startup: Startup, trips: RoundTrips) -> Judgement:
    """Article 001: processes are expensive to create (against reusing a running one)."""
    method, cost = min(startup.per_process.items(), key=lambda item: item[1])
    multiple = cost / trips.pipe
    figures = (f"The cheapest start method here, {method}, cost {format_seconds(cost)} per "
               f"process, {times(multiple)} a round trip to a running one "
               f"({format_seconds(trips.pipe)})")
    return judge(multiple >= EXPENSIVE_IN_ROUND_TRIPS, f"{figures}.",
                 f"{figures}: starting one is not much dearer than using one.")


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a000_causes": causes_claim(found),
        "a000_experiment": experiment_claim(found.article),
        "a000_one_process_proportional": proportional_claim(found.article),
        "a000_ray_floor": ray_floor_claim(found.round_trips),
        "a000_actor_work": actor_work_claim(found.factors["ray_actors"]),
        "a001_process_cost": process_cost_claim(found.startup, found.round_trips),
    }
