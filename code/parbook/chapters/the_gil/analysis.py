"""What the GIL chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.claims import Judgement, Verdict
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
    sums_match: bool  # the three ways computed the same sums
    #: The interpreter pool's time (Python 3.14+), None when it did not run, and
    #: ``interpreter_pool``: "measured", "absent" (no InterpreterPoolExecutor), or
    #: "failed (why)".
    interpreters: float | None = None
    interpreter_pool: str = "measured"

    @property
    def thread_speedup(self) -> float:
        return self.sequential / self.threads

    @property
    def process_speedup(self) -> float:
        return self.sequential / self.processes

    @property
    def interpreter_speedup(self) -> float | None:
        return None if self.interpreters is None else self.sequential / self.interpreters


@dataclass(frozen=True)
class Release:
    """Hashing (releases the GIL) against a pure-Python loop, serially and on threads."""

    hashed_bytes: int
    sha_serial: float
    sha_threads: float
    python_serial: float
    python_threads: float
    digests_match: bool

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
            sums_match=values["loop_results_match"],
            interpreters=(result.median("article", backend="interpreters")
                          if result.group("article") and any(
                              case.params["backend"] == "interpreters"
                              for case in result.group("article")) else None),
            interpreter_pool=values["interpreter_pool"],
        ),
        release=Release(
            hashed_bytes=parameters["hash_chunks"] * parameters["hash_chunk_bytes"],
            sha_serial=result.median("release", workload="sha256", backend="serial"),
            sha_threads=result.median("release", workload="sha256", backend="threads"),
            python_serial=result.median("release", workload="python", backend="serial"),
            python_threads=result.median("release", workload="python", backend="threads"),
            digests_match=values["digests_match"],
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


def short_answer(article: ArticleRerun, release: Release) -> str:
    """The short answer's measured sentence: pure-Python loops and hashing on threads."""
    loops, sha = article.loops, format_ratio(release.sha_speedup)
    threads_gain = article.thread_speedup >= NO_GAIN_BELOW
    sha_gain = release.sha_speedup >= SHA_GAIN_FROM
    if not threads_gain and sha_gain:
        return (f"On this build, {loops} threads each running a pure-Python loop finished no "
                "sooner than the same loops run one after another, while threads hashing "
                f"large buffers ran {sha} as fast as one thread.")
    if not threads_gain:
        return (f"On this build, {loops} threads each running a pure-Python loop finished no "
                "sooner than the same loops run one after another, and threads hashing "
                f"large buffers ran only {sha} as fast as one thread; the sections below "
                "say why.")
    speedup = format_ratio(article.thread_speedup)
    if sha_gain:
        return (f"On this build, {loops} threads each running a pure-Python loop ran "
                f"{speedup} as fast as the same loops one after another, and threads "
                f"hashing large buffers ran {sha} as fast as one thread.")
    return (f"On this build, {loops} threads each running a pure-Python loop ran {speedup} as "
            "fast as the same loops one after another, but threads hashing large buffers "
            f"ran only {sha} as fast as one thread.")


def thread_verdict(article: ArticleRerun) -> str:
    """How the threads compared with one loop after another, as a whole sentence."""
    speedup = format_ratio(article.thread_speedup)
    if article.thread_speedup < NO_GAIN_BELOW:
        return f"The threads brought no gain here either (a speed-up of {speedup})."
    return (f"The threads ran {speedup} as fast as the loops one after another, so more "
            "than one of them ran Python at a time.")


def sha_verdict(release: Release) -> str:
    """Whether hashing on threads paid off here, as a whole sentence."""
    speedup = format_ratio(release.sha_speedup)
    if release.sha_speedup >= SHA_GAIN_FROM:
        return (f"Hashing on one thread per CPU ran {speedup} as fast as on one thread, "
                "because hashlib releases the GIL while it hashes.")
    return (f"Hashing on one thread per CPU ran only {speedup} as fast as on one thread, "
            "although hashlib releases the GIL while it hashes; the spread table shows "
            "whether other load on the machine got in the way.")


def wake_verdict(switch: SwitchInterval) -> str:
    """How long the sleeper waited beside a busy thread, in switch intervals."""
    waited = (switch.wake_up["default"] - switch.wake_floor) / switch.intervals["default"]
    if waited < 0.5:
        return ("So the sleeper hardly waited for the busy thread here: much less than one "
                "switch interval each time it woke up.")
    if waited <= 2:
        return ("So the sleeper waited about one switch interval each time it woke up, "
                "before it could run again.")
    return ("So the sleeper waited more than two switch intervals each time it woke up; "
            "other load on the machine may have added to the wait.")


def cost_verdict(switch: SwitchInterval) -> str:
    """What switching more often cost two CPU-bound threads, as a whole sentence."""
    ratio = format_ratio(switch.cost_ratio)
    if switch.cost_ratio > 1 + COST_TOLERANCE:
        return (f"That is {ratio} the default's time: switching "
                "more often cost time, which is why the default is not shorter.")
    if switch.cost_ratio < 1 - COST_TOLERANCE:
        return (f"That is {ratio} the default's time, so "
                "switching more often cost nothing measurable here; its cost is small next "
                "to the work, and varies between machines and runs.")
    return (f"That is {ratio} the default's time, within a few "
            "per cent of it.")


def sums_sentence(article: ArticleRerun) -> str:
    """Whether the three ways of running the loops computed the same sums."""
    if article.sums_match:
        return "All three ways computed the same sums; the run compares them."
    return ("The three ways did not all compute the same sums: something in this run went "
            "wrong, and its numbers should not be trusted.")


def digests_sentence(release: Release) -> str:
    """Whether the threads' digests equal the serial ones."""
    if release.digests_match:
        return "The threads' digests equal the serial ones; the run compares them."
    return ("The threads' digests did not all equal the serial ones: something in this run "
            "went wrong, and its numbers should not be trusted.")


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter measured, one line each, for the table after the short answer."""
    seconds, ratio = format_seconds, format_ratio
    interp, article, release, switch = (found.interpreter, found.article, found.release,
                                        found.switch)
    return [
        ("interpreter", status_text(interp)),
        ("usable CPUs", str(interp.cpus)),
        (f"{article.loops} pure-Python loops of {article.loop_iterations:,} iterations, one "
         "after another", seconds(article.sequential)),
        ("the same loops, one thread each",
         f"{seconds(article.threads)}, {ratio(article.thread_speedup)} as fast"),
        ("the same loops on a process pool",
         f"{seconds(article.processes)}, {ratio(article.process_speedup)} as fast"),
        (f"SHA-256 of {release.hashed_bytes / 2**20:,.0f} MiB, one thread per CPU",
         f"{ratio(release.sha_speedup)} as fast as one thread"),
        (f"a sleep of {seconds(switch.sleep)} beside a busy thread, default switch interval",
         f"{seconds(switch.wake_up['default'])} (alone: {seconds(switch.wake_floor)})"),
    ]


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
        "gil_short_answer": short_answer(article, release),
        "gil_reported_sequential": seconds(reported.lookup(backend="sequential")),
        "gil_reported_threads": seconds(reported.lookup(backend="threads")),
        "gil_reported_machine": reported.machine,
        "gil_sha_serial": seconds(release.sha_serial),
        "gil_sha_threads": seconds(release.sha_threads),
        "gil_sha_speedup": ratio(release.sha_speedup),
        "gil_sha_verdict": sha_verdict(release),
        "gil_digests_sentence": digests_sentence(release),
        "gil_sums_sentence": sums_sentence(article),
        "gil_python_speedup": ratio(release.python_speedup),
        "gil_hashed_mib": f"{release.hashed_bytes / 2**20:,.0f} MiB",
        "gil_sleep": seconds(switch.sleep),
        "gil_wake_floor": seconds(switch.wake_floor),
        "gil_cost_ratio": ratio(switch.cost_ratio),
        "gil_cost_verdict": cost_verdict(switch),
        "gil_wake_verdict": wake_verdict(switch),
    }
    for name in ("shortest", "default", "longest"):
        glued[f"gil_{name}_interval"] = seconds(switch.intervals[name])
        glued[f"gil_wake_{name}"] = seconds(switch.wake_up[name])
        glued[f"gil_cost_{name}"] = seconds(switch.switch_cost[name])
    return glued


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


def gil_threads_claim(interpreter: Interpreter, article: ArticleRerun) -> Judgement:
    """Article 001, section 2.1: because of the GIL, ten CPU-bound threads are no faster
    than the same ten loops one after another. Judged by this build's interpreter: on a
    free-threaded one, the threads may well be faster."""
    reported = sources.GIL_TABLE
    theirs = format_ratio(reported.lookup(backend="sequential")
                          / reported.lookup(backend="threads"))
    loops, speedup = article.loops, format_ratio(article.thread_speedup)
    times = (f"{format_seconds(article.threads)} against {format_seconds(article.sequential)} "
             "one after another")
    no_gain = article.thread_speedup < NO_GAIN_BELOW
    if interpreter.gil_enabled and no_gain:
        return Judgement(Verdict.HOLDS, (
            f"With the GIL on, {loops} threads running pure-Python loops took {times}, a "
            f"speed-up of {speedup} (the article's: {theirs} on an {reported.machine})."))
    if interpreter.gil_enabled:
        return Judgement(Verdict.FAILS, (
            f"With the GIL on, {loops} threads running pure-Python loops took {times}, a "
            f"speed-up of {speedup}, so more than one of them ran Python at a time."))
    if no_gain:
        return Judgement(Verdict.PARTLY, (
            f"This interpreter runs without the GIL, yet {loops} threads running pure-Python "
            f"loops took {times}, a speed-up of only {speedup}: no faster, as the article "
            "says, but not because of the GIL."))
    return Judgement(Verdict.FAILS, (
        f"This interpreter runs without the GIL, and {loops} threads running pure-Python "
        f"loops took {times}, a speed-up of {speedup}: the article's result belongs to "
        "builds with the GIL."))


#: Threads are "slower" than the loops one after another when their speed-up is below
#: this: below one by more than the few per cent repeated timings of one machine vary by.
SLOWER_BELOW = 1 - COST_TOLERANCE
#: A process-pool speed-up at or above this is the gain the article expects from processes:
#: the same bar threads must clear to count as faster.
PROCESS_GAIN_FROM = NO_GAIN_BELOW


def threads_slower_claim(interpreter: Interpreter, article: ArticleRerun) -> Judgement:
    """Article 001, sections 2.1 and 2.4: for CPU-bound work, because of the GIL, many
    threads can even be slower than one."""
    loops, speedup = article.loops, format_ratio(article.thread_speedup)
    times = (f"{format_seconds(article.threads)} against {format_seconds(article.sequential)} "
             "one after another")
    if not interpreter.gil_enabled:
        return Judgement(Verdict.UNMEASURED, (
            f"This interpreter runs without the GIL, so what threads do under it is not "
            f"measured in this build; here {loops} threads running pure-Python loops took "
            f"{times}, a speed-up of {speedup}."))
    if article.thread_speedup < SLOWER_BELOW:
        return Judgement(Verdict.HOLDS, (
            f"With the GIL on, {loops} threads running pure-Python loops took {times}, a "
            f"speed-up of {speedup}: slower than one thread."))
    if article.thread_speedup < NO_GAIN_BELOW:
        return Judgement(Verdict.PARTLY, (
            f"With the GIL on, {loops} threads running pure-Python loops took {times}, a "
            f"speed-up of {speedup}: no clear gain, as the article says, but not measurably "
            "slower than one thread."))
    return Judgement(Verdict.FAILS, (
        f"With the GIL on, {loops} threads running pure-Python loops took {times}, a "
        f"speed-up of {speedup}: faster than one thread, not slower."))


def use_processes_claim(interpreter: Interpreter, article: ArticleRerun) -> Judgement:
    """Article 001, section 2.4: to avoid the GIL, use processes instead of threads.
    Judged by the article's loops on a process pool against the same loops on threads."""
    loops, cpus = article.loops, interpreter.cpus
    processes, threads = (format_ratio(article.process_speedup),
                          format_ratio(article.thread_speedup))
    if not interpreter.gil_enabled:
        return Judgement(Verdict.PARTLY, (
            f"This interpreter runs without the GIL, so there was no GIL to avoid: the "
            f"{loops} pure-Python loops ran {processes} as fast as one after another on a pool "
            f"of {cpus} processes and {threads} on threads. What processes gain under the "
            "GIL is not measured in this build."))
    gained = article.process_speedup >= PROCESS_GAIN_FROM
    if gained and article.process_speedup > article.thread_speedup:
        return Judgement(Verdict.HOLDS, (
            f"With the GIL on, the {loops} pure-Python loops ran {processes} as fast as one "
            f"after another on a pool of {cpus} processes (start-up included), against "
            f"{threads} on threads."))
    if gained:
        return Judgement(Verdict.FAILS, (
            f"With the GIL on, the {loops} pure-Python loops ran {processes} as fast as one "
            f"after another on a pool of {cpus} processes, but {threads} on threads: the "
            "threads did as well, so there was nothing to avoid in this run."))
    return Judgement(Verdict.FAILS, (
        f"With the GIL on, the {loops} pure-Python loops ran only {processes} as fast as one "
        f"after another on a pool of {cpus} processes (start-up included), and {threads} on "
        "threads: at this size, starting the processes and sending them the work cost what "
        "computing in parallel saved."))


def switch_overhead_claim(switch: SwitchInterval) -> Judgement:
    """Article 001, section 1.3: too many threads waste time switching between them, so
    overall efficiency drops. Judged by two CPU-bound threads at the shortest switch
    interval (the most switches) against the default; the thread count is not varied."""
    shortest, default = switch.intervals["shortest"], switch.intervals["default"]
    times = (f"two CPU-bound threads took {format_seconds(switch.switch_cost['shortest'])} "
             f"when made to switch every {format_seconds(shortest)} and "
             f"{format_seconds(switch.switch_cost['default'])} at the default "
             f"{format_seconds(default)}")
    unvaried = "The number of threads is not varied here."
    if switch.cost_ratio > 1 + COST_TOLERANCE:
        return Judgement(Verdict.PARTLY, (
            f"Switching more often cost time: {times}, {format_ratio(switch.cost_ratio)} as "
            f"long. {unvaried}"))
    return Judgement(Verdict.FAILS, (
        f"Switching more often cost no more than the few per cent repeated timings vary by: "
        f"{times}, {format_ratio(switch.cost_ratio)} as long. {unvaried}"))


def gil_os_threads_claim() -> Judgement:
    """Article 003, section 2: the GIL exists because Python's threads are OS threads."""
    return Judgement(Verdict.UNMEASURED, (
        "Why the GIL exists is a question of design that no run can answer. CPython's "
        "threads are indeed the operating system's, but its documentation gives the reason "
        "as the interpreter's own: the GIL makes its object model, reference counts and "
        "built-in types such as dict safe against access from several threads at once."))


def gil_history_claim() -> Judgement:
    """Article 003, section 2: Python once could not run several processes on its own,
    3.6 made multiprocessing usable, and shared_memory came in 3.8 (3.9 elsewhere in it)."""
    return Judgement(Verdict.UNMEASURED, (
        "A history, not something a run can show. multiprocessing has been in the standard "
        "library since Python 2.6 and 3.0 (PEP 371), well before 3.6, and "
        "multiprocessing.shared_memory is new in Python 3.8, not 3.9."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    interpreter, article = found.interpreter, found.article
    return {
        "a001_gil_threads": gil_threads_claim(interpreter, article),
        "a001_threads_slower": threads_slower_claim(interpreter, article),
        "a001_gil_use_processes": use_processes_claim(interpreter, article),
        "a001_thread_switch_overhead": switch_overhead_claim(found.switch),
        "a003_gil_os_threads": gil_os_threads_claim(),
        "a003_gil_history": gil_history_claim(),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its
    side-by-side table."""
    seconds, ratio = format_seconds, format_ratio
    interp, article, release = found.interpreter, found.article, found.release
    pool = article.interpreter_speedup
    return {
        "GIL while the experiment ran": "on" if interp.gil_enabled else "off",
        f"{article.loops} loops, one after another": seconds(article.sequential),
        "the same loops, one thread each": (f"{seconds(article.threads)} "
                                            f"({ratio(article.thread_speedup)} as fast)"),
        "on a process pool": (f"{seconds(article.processes)} "
                              f"({ratio(article.process_speedup)} as fast)"),
        "on an interpreter pool": ("not available" if pool is None else
                                   f"{seconds(article.interpreters)} ({ratio(pool)} as fast)"),
        "SHA-256 on threads, against one thread": ratio(release.sha_speedup),
        "pure-Python loop on threads, against one thread": ratio(release.python_speedup),
    }


def threads_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """How the counting loops on threads compared with one after another under each
    interpreter, and what that says about the GIL of each."""
    present = interpreters.measured(runs)
    listed = interpreters.join_words(
        [f"{format_ratio(run.found.article.thread_speedup)} on {run.label}" for run in present])
    said = (f"Against the loops one after another, one thread per loop ran them {listed}.")
    free = [run for run in present if not run.found.interpreter.gil_enabled]
    if not free:
        one = len(present) == 1
        return (f"{said} {'This interpreter' if one else 'Every one of these interpreters'} "
                f"had {'its' if one else 'a'} GIL on, so only one thread ran Python at a time"
                " and any difference is noise.")
    gained = [run.label for run in free if run.found.article.thread_speedup >= NO_GAIN_BELOW]
    flat = [run.label for run in free if run.label not in gained]
    return f"{said} " + interpreters.clauses_sentence([
        f"with the GIL off, {interpreters.join_words(gained)} ran the threads on several "
        "CPUs at once" if gained else "",
        f"with the GIL off, {interpreters.join_words(flat)} still gained nothing here"
        if flat else ""])


def interpreter_pool_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """Where the interpreter pool ran, how it compared with the process pool, and why it
    did not run elsewhere."""
    present = interpreters.measured(runs)
    ran = [run for run in present if run.found.article.interpreter_speedup is not None]
    absent = [run.label for run in present if run.found.article.interpreter_pool == "absent"]
    failed = [f"on {run.label} it {run.found.article.interpreter_pool}" for run in present
              if run.found.article.interpreter_pool.startswith("failed")]
    sentences = []
    if ran:
        each = [f"{format_ratio(run.found.article.interpreter_speedup)} as fast as one after "
                f"another on {run.label} (its process pool: "
                f"{format_ratio(run.found.article.process_speedup)})" for run in ran]
        sentences.append(f"The interpreter pool ran the loops {interpreters.join_words(each)}.")
    if absent:
        verb = "has" if len(absent) == 1 else "have"
        sentences.append(f"{interpreters.join_words(absent)} {verb} no "
                         "InterpreterPoolExecutor (Python 3.14 added it)"
                         + (", so no interpreter pool was measured." if not ran else "."))
    if failed:
        sentences.append(f"The interpreter pool's trial run failed: "
                         f"{interpreters.join_words(failed)}.")
    return " ".join(sentences)


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"gil_interpreters_threads": threads_across_interpreters(runs),
            "gil_interpreters_pool": interpreter_pool_across_interpreters(runs)}
