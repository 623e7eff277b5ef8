"""What the GIL chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.render.formatting import format_ratio, format_seconds

#: The switch-cost ratio (shortest interval over default) outside which the chapter says
#: switching more often cost, or did not cost, time; inside it, "within a few per cent".
COST_TOLERANCE = 0.05
#: Thread speed-ups below this are "no faster" for the pure-Python loops.
NO_GAIN_BELOW = 1.5
#: Hashing threads at or above this speed-up are "faster".
SHA_GAIN_FROM = 1.25


@dataclass(frozen=True)
class Interpreter:
    """The interpreter and machine that ran the chapter."""

    python_version: str
    gil_enabled: bool
    free_threaded_build: bool
    cpus: int
    start_method: str


@dataclass(frozen=True)
class ArticleRerun:
    """Article 001's ten counting loops: one after another, on threads, on processes."""

    loops: int
    loop_iterations: int
    sequential: float
    threads: float
    processes: float
    results_match: bool

    @property
    def thread_speedup(self) -> float:
        return self.sequential / self.threads

    @property
    def process_speedup(self) -> float:
        return self.sequential / self.processes


@dataclass(frozen=True)
class Release:
    """Hashing (releases the GIL) against a pure-Python loop, serially and on threads."""

    hashed_bytes: int
    sha_serial: float
    sha_threads: float
    python_serial: float
    python_threads: float

    @property
    def sha_speedup(self) -> float:
        return self.sha_serial / self.sha_threads

    @property
    def python_speedup(self) -> float:
        return self.python_serial / self.python_threads


@dataclass(frozen=True)
class SwitchInterval:
    """Wake-up latency and switching cost at the shortest, default and longest interval."""

    sleep: float
    wake_floor: float
    intervals: dict[str, float]   # "shortest" | "default" | "longest" -> seconds
    wake_up: dict[str, float]     # same keys -> median sleep with a busy thread
    switch_cost: dict[str, float]  # same keys -> two CPU-bound threads

    @property
    def cost_ratio(self) -> float:
        """Time of two busy threads at the shortest interval over the default's."""
        return self.switch_cost["shortest"] / self.switch_cost["default"]


@dataclass(frozen=True)
class Findings:
    interpreter: Interpreter
    article: ArticleRerun
    release: Release
    switch: SwitchInterval


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    values, parameters = result.values, result.parameters
    intervals = parameters["switch_intervals_s"]
    named = {"shortest": min(intervals), "default": values["default_switch_interval_s"],
             "longest": max(intervals)}
    return Findings(
        interpreter=Interpreter(
            python_version=values["python_version"], gil_enabled=values["gil_enabled"],
            free_threaded_build=values["free_threaded_build"],
            cpus=parameters["usable_cpus"], start_method=parameters["start_method"],
        ),
        article=ArticleRerun(
            loops=parameters["loops"], loop_iterations=parameters["loop_iterations"],
            sequential=result.median("article", backend="sequential"),
            threads=result.median("article", backend="threads"),
            processes=result.median("article", backend="processes"),
            results_match=values["digests_match"] and values["loop_results_match"],
        ),
        release=Release(
            hashed_bytes=parameters["hash_chunks"] * parameters["hash_chunk_bytes"],
            sha_serial=result.median("release", workload="sha256", backend="serial"),
            sha_threads=result.median("release", workload="sha256", backend="threads"),
            python_serial=result.median("release", workload="python", backend="serial"),
            python_threads=result.median("release", workload="python", backend="threads"),
        ),
        switch=SwitchInterval(
            sleep=parameters["sleep_s"],
            wake_floor=result.median("wake_up", busy=False),
            intervals=named,
            wake_up={name: result.median("wake_up", interval_s=interval, busy=True)
                     for name, interval in named.items()},
            switch_cost={name: result.median("switch_cost", interval_s=interval)
                         for name, interval in named.items()},
        ),
    )


def status_text(interpreter: Interpreter) -> str:
    """Which interpreter built the page, and whether its GIL was on."""
    if interpreter.gil_enabled and interpreter.free_threaded_build:
        return (f"Python {interpreter.python_version} with the GIL enabled (a free-threaded "
                "build running with the GIL switched back on)")
    if interpreter.gil_enabled:
        return f"Python {interpreter.python_version} with the GIL enabled"
    return f"a free-threaded Python {interpreter.python_version}, with the GIL disabled"


def thread_verdict(article: ArticleRerun) -> str:
    """How the ten threads compared with one loop after another."""
    if article.thread_speedup < NO_GAIN_BELOW:
        return "no faster than running them one after another"
    return f"{format_ratio(article.thread_speedup)} faster than one after another"


def sha_verdict(release: Release) -> str:
    """Whether hashing on threads paid off here."""
    if release.sha_speedup >= SHA_GAIN_FROM:
        return "faster, because hashing runs with the GIL released"
    return ("hardly faster here, although hashing runs with the GIL released; "
            "the spread table shows whether other load on the machine got in the way")


def cost_verdict(switch: SwitchInterval) -> str:
    """What switching more often cost two CPU-bound threads."""
    if switch.cost_ratio > 1 + COST_TOLERANCE:
        return "switching more often cost time, which is why the default is not shorter"
    if switch.cost_ratio < 1 - COST_TOLERANCE:
        return ("here the shortest interval was not slower; the cost of switching is "
                "small next to the work, and varies between machines and runs")
    return "here the difference was within a few per cent"


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    interp, article, release, switch = (found.interpreter, found.article, found.release,
                                        found.switch)
    reported = sources.GIL_TABLE
    glued: dict[str, Any] = {
        "gil_cpus": interp.cpus,
        "gil_start_method": interp.start_method,
        "gil_python_version": interp.python_version,
        "gil_status": status_text(interp),
        "gil_loops": article.loops,
        "gil_loop_iterations": f"{article.loop_iterations:,}",
        "gil_article_sequential": seconds(article.sequential),
        "gil_article_threads": seconds(article.threads),
        "gil_article_processes": seconds(article.processes),
        "gil_article_thread_speedup": ratio(article.thread_speedup),
        "gil_article_process_speedup": ratio(article.process_speedup),
        "gil_thread_verdict": thread_verdict(article),
        "gil_reported_sequential": seconds(reported.lookup(backend="sequential")),
        "gil_reported_threads": seconds(reported.lookup(backend="threads")),
        "gil_reported_machine": reported.machine,
        "gil_sha_serial": seconds(release.sha_serial),
        "gil_sha_threads": seconds(release.sha_threads),
        "gil_sha_speedup": ratio(release.sha_speedup),
        "gil_sha_verdict": sha_verdict(release),
        "gil_python_speedup": ratio(release.python_speedup),
        "gil_hashed_mib": f"{release.hashed_bytes / 2**20:,.0f} MiB",
        "gil_results_match": "yes" if article.results_match else "NO",
        "gil_sleep": seconds(switch.sleep),
        "gil_wake_floor": seconds(switch.wake_floor),
        "gil_cost_ratio": ratio(switch.cost_ratio),
        "gil_cost_verdict": cost_verdict(switch),
    }
    for name in ("shortest", "default", "longest"):
        glued[f"gil_{name}_interval"] = seconds(switch.intervals[name])
        glued[f"gil_wake_{name}"] = seconds(switch.wake_up[name])
        glued[f"gil_cost_{name}"] = seconds(switch.switch_cost[name])
    return glued
