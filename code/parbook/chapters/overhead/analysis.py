"""What the overhead chapter concludes from one result: findings per section, and the texts
(every sentence and number the page, and the rules page, glue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.bench.stats import break_even
from parbook.chapters.overhead.experiment import PLACEMENT_LABELS, SWEEP_LABELS
from parbook.render.formatting import format_ratio, format_seconds

#: The channels compared with the raw os.pipe floor in the round-trip section.
MP_CHANNELS = ("mp_pipe", "mp_queue", "pool_apply")
#: How the Ray verdict names each kind of Ray call, in the order the sentence lists them.
RAY_CALL_NAMES = {"ray_task": "a Ray task", "ray_actor": "an actor call"}


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
class Findings:
    setting: Setting
    article: ArticleRerun
    startup: Startup
    round_trips: RoundTrips
    sweep: Sweep


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
        sweep=Sweep(speedups=sweep_speedups(result)),
    )


def ray_claim_verdict(round_trips: RoundTrips) -> str:
    """Whether a Ray task and an actor call cost at least what article 000 claims."""
    measured = {"ray_task": round_trips.ray_task, "ray_actor": round_trips.ray_actor}
    above = [RAY_CALL_NAMES[call] for call, value in measured.items()
             if value >= round_trips.ray_claim]
    below = [name for name in RAY_CALL_NAMES.values() if name not in above]
    if not below:
        return "both at or above that figure, so the claim holds here"
    if not above:
        return ("both below that figure: Ray's floor on this machine is lower than the "
                "article found, though still far above a pipe's")
    return (f"{above[0]} at or above that figure and {below[0]} below it, so the claim "
            "holds only roughly here")


def break_even_text(sweep: Sweep, backend: str) -> str:
    """The task length at which ``backend`` broke even, said as the page's list says it."""
    crossing = sweep.break_even[backend]
    if crossing is None:
        return "none of the task lengths measured here"
    if crossing <= sweep.shortest_task:
        return (f"{format_seconds(crossing)} or less (it already won at the shortest tasks "
                "measured)")
    return format_seconds(crossing)


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
        glued[f"overhead_best_{backend}"] = ratio(sweep.best_speedup[backend])
    glued.update({
        "overhead_best_overall": ratio(max(sweep.best_speedup.values())),
        "overhead_sweep_shortest": seconds(sweep.shortest_task),
        "overhead_sweep_longest": seconds(sweep.longest_task),
    })
    return glued
