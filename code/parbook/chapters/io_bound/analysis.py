"""What the IO-bound chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues, the decision-table cells included)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.io_bound.experiment import FIX_LABELS, KINDS, WORKS
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    format_bytes,
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    spoken_list,
)

#: A client "kept up with the waiting" at a concurrency where its throughput was at least
#: this share of the ideal, concurrency / delay: the requests, not the client, set the pace
#: (each connection also costs a connect and a close, so even an idle machine stays below
#: the ideal).
KEPT_UP_SHARE = 0.7
#: Throughputs within this factor of each other are a tie: repeated batches on a shared
#: machine vary by about that much.
TIE_WITHIN = 1.10
#: The server "was the bottleneck" when it was busy for at least this share of a batch.
SERVER_BUSY_FROM = 0.8
#: One way of waiting "costs more memory" than another when it is at least this many
#: times the other per waiting request.
MEMORY_GAP = 1.5
#: The loop "stayed responsive" while its median heartbeat tick came at most this many
#: periods late. The median, not the latest tick: on a machine whose CPUs are all busy the
#: operating system may keep any process off the CPU now and then, while a loop that must
#: wait for the GIL is late on nearly every tick.
RESPONSIVE_PERIODS = 1.0
#: Two ways out whose median ticks both came within this share of a period are equally
#: responsive; the sooner finished work decides between them.
SAME_TICKS_WITHIN = 0.25
#: The loop "was blocked" when its latest tick came at least this share of the jobs'
#: time late: nothing ran on it for most of the work.
BLOCKED_SHARE = 0.5
#: Jobs on threads or processes "ran together" when they took at most this share of the
#: time the same jobs took one after another in the coroutine.
OVERLAPPED_BELOW = 0.75
#: Threads "kept within reach" of the processes when their throughput was at least this
#: share of the processes' (the article's "the GIL matters little").
GIL_SMALL_SHARE = 0.8

KIND_NAMES = {"threads": "threads", "asyncio": "asyncio", "processes": "a process pool"}
#: The decision table's names of the kinds of client.
DECISION_NAMES = {"threads": "threads", "asyncio": "asyncio",
                  "processes": "processes with an event loop each"}
FIX_NAMES = {"inline": "calling the work in the coroutine",
             "thread": "asyncio.to_thread", "process": "a process pool"}


def requests_per_s(rate: float) -> str:
    """A throughput as text: ``"3,912 requests/s"``."""
    # TO MOVE: render/formatting.py, should another chapter quote request rates.
    return f"{format_count(rate)} requests/s"


# ---------------------------------------------------------------------------------------
# Findings.

@dataclass(frozen=True)
class Setting:
    """The machine, its limits, and the sizes the run used."""

    cpus: int
    start_method: str
    python: str
    delay_s: float
    rounds: int
    top: int
    wanted_top: int
    bound_by: str
    caps: dict[str, int]
    process_workers: int


@dataclass(frozen=True)
class Throughput:
    """Every kind of client at every concurrency (medians)."""

    levels: tuple[int, ...]
    delay_s: float
    rate: dict[tuple[str, int], float]        # (kind, level) -> requests per second
    startup: dict[tuple[str, int], float]     # seconds to get ready
    cpu_per_request: dict[tuple[str, int], float]  # client CPU seconds per request
    server_busy: dict[tuple[str, int], float]  # server CPU time / batch time
    correct: dict[tuple[str, int], bool]
    processes_used: dict[int, int]

    @property
    def top(self) -> int:
        return self.levels[-1]

    def ideal(self, level: int) -> float:
        """What waiting alone allows: ``level`` requests every ``delay_s``."""
        return level / self.delay_s

    def ranking(self, level: int) -> list[str]:
        """The kinds from the highest throughput at ``level`` to the lowest."""
        return sorted(KINDS, key=lambda kind: -self.rate[(kind, level)])

    def lead(self, level: int) -> float:
        """The best kind's throughput over the next one's."""
        best, second = self.ranking(level)[:2]
        return self.rate[(best, level)] / self.rate[(second, level)]

    def kept_up(self, kind: str, level: int) -> bool:
        return self.rate[(kind, level)] >= KEPT_UP_SHARE * self.ideal(level)

    @property
    def all_correct(self) -> bool:
        return all(self.correct.values())


@dataclass(frozen=True)
class Server:
    """The server's own counts, and whether it was gone at the end."""

    connections: int
    requests: int
    answered: int
    most_open: int
    gone: bool


@dataclass(frozen=True)
class Memory:
    """What one waiting request cost (bytes), and what a pool worker costs by itself."""

    count: int
    per_request: dict[tuple[str, str], float]  # (kind, measure) -> bytes per request
    worker_uss: float
    worker_pss: float
    method: str
    stack_limit: int | None

    def uss(self, kind: str) -> float:
        return self.per_request[(kind, "uss")]

    @property
    def thread_over_coroutine(self) -> float:
        return self.uss("threads") / self.uss("asyncio")


@dataclass(frozen=True)
class BlockedLoop:
    """A heartbeat beside jobs run three ways (medians over the rounds)."""

    jobs: int
    job_s: float
    period_s: float
    switch_interval_s: float
    late_max: dict[tuple[str, str], float]     # (work, fix) -> latest tick, seconds late
    late_median: dict[tuple[str, str], float]
    ticks: dict[tuple[str, str], float]
    elapsed: dict[tuple[str, str], float]
    correct: dict[tuple[str, str], bool]

    def responsive(self, work: str, fix: str) -> bool:
        return self.late_median[(work, fix)] <= RESPONSIVE_PERIODS * self.period_s

    def blocked(self, work: str, fix: str) -> bool:
        return self.late_max[(work, fix)] >= BLOCKED_SHARE * self.elapsed[(work, fix)]

    def overlapped(self, work: str, fix: str) -> bool:
        return self.elapsed[(work, fix)] <= OVERLAPPED_BELOW * self.elapsed[(work, "inline")]


@dataclass(frozen=True)
class Findings:
    setting: Setting
    throughput: Throughput
    server: Server
    memory: Memory
    loop: BlockedLoop


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, values = result.parameters, result.values
    levels = tuple(parameters["levels"])
    return Findings(
        setting=Setting(
            cpus=parameters["usable_cpus"], start_method=parameters["start_method"],
            python=parameters["python"], delay_s=parameters["delay_s"],
            rounds=parameters["rounds"], top=parameters["top"],
            wanted_top=parameters["wanted_top"], bound_by=parameters["top_bound_by"],
            caps=dict(values["caps"]), process_workers=parameters["process_workers"]),
        throughput=_throughput(result, levels),
        server=_server(values["server"]),
        memory=_memory(result),
        loop=_loop(result),
    )


def _throughput(result: Result, levels: tuple[int, ...]) -> Throughput:
    rate, startup, cpu, busy = {}, {}, {}, {}
    for case in result.group("batch"):
        key = (case.params["kind"], case.params["concurrency"])
        batch = case.summary.median
        rate[key] = case.params["requests"] / batch
        startup[key] = result.median("startup", kind=key[0], concurrency=key[1])
        cpu[key] = (result.median("client_cpu", kind=key[0], concurrency=key[1])
                    / case.params["requests"])
        busy[key] = result.median("server_cpu", kind=key[0], concurrency=key[1]) / batch
    answers = result.values["answers"]
    return Throughput(
        levels=levels, delay_s=result.parameters["delay_s"], rate=rate, startup=startup,
        cpu_per_request=cpu, server_busy=busy,
        correct={(a["kind"], a["concurrency"]): a["correct"] == a["requests"]
                 for a in answers},
        processes_used={a["concurrency"]: a["processes"] for a in answers
                        if a["kind"] == "processes"},
    )


def _server(record: dict[str, Any]) -> Server:
    stats = record["stats"]
    return Server(connections=stats["connections"], requests=stats["requests"],
                  answered=stats["answered"], most_open=stats["most_open"],
                  gone=record["gone"])


def _memory(result: Result) -> Memory:
    per_request = {(case.params["kind"], case.params["measure"]): case.summary.median
                   for case in result.group("memory")}
    count = result.group("memory")[0].params["count"]
    uss = result.case("worker_memory", measure="uss")
    return Memory(count=count, per_request=per_request, worker_uss=uss.summary.median,
                  worker_pss=result.median("worker_memory", measure="pss"),
                  method=uss.params["method"],
                  stack_limit=result.values["limits"]["stack_limit"])


def _loop(result: Result) -> BlockedLoop:
    parameters = result.parameters
    groups = {name: {(c.params["work"], c.params["fix"]): c.summary.median
                     for c in result.group(name)}
              for name in ("late_max", "late_median", "ticks", "jobs_time")}
    correct = {(work, fix): ok for work, fixes in result.values["jobs_correct"].items()
               for fix, ok in fixes.items()}
    return BlockedLoop(jobs=parameters["jobs"], job_s=parameters["job_s"],
                       period_s=parameters["period_s"],
                       switch_interval_s=result.values["switch_interval_s"],
                       late_max=groups["late_max"],
                       late_median=groups["late_median"], ticks=groups["ticks"],
                       elapsed=groups["jobs_time"], correct=correct)


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.

def _kind(kind: str) -> str:
    return KIND_NAMES[kind]


def short_answer(found: Findings) -> str:
    """The short answer's measured sentence: how far every kind kept up, the best kind at
    the top, and a thread's memory against a coroutine's."""
    through, memory = found.throughput, found.memory
    top, level = through.top, kept_up_level(through)
    best, second = through.ranking(top)[:2]
    opening = ("On this build" if level is None else
               f"On this build, every kind of client kept up with the waiting up to "
               f"{level:,} requests at once")
    at = f"at {top:,}" if level is not None else f"at {top:,} requests at once"
    if through.lead(top) < TIE_WITHIN:
        result = (f"{at}, {_kind(best)} and {_kind(second)} served about as many "
                  f"requests per second (within {format_percent(TIE_WITHIN - 1)})")
    else:
        result = (f"{at}, {_kind(best)} served {format_ratio(through.lead(top))} the "
                  f"requests per second of {_kind(second)}, the next best")
    separator = ", " if level is None else "; "
    return (f"{opening}{separator}{result}, and a waiting request took "
            f"{format_ratio(memory.thread_over_coroutine)} the memory on a thread that it "
            "took as a coroutine.")


def kept_up_level(through: Throughput) -> int | None:
    """The highest concurrency at which every kind kept up with the waiting (None if
    none did at the lowest)."""
    kept = None
    for level in through.levels:
        if not all(through.kept_up(kind, level) for kind in KINDS):
            break
        kept = level
    return kept


def waiting_sentence(through: Throughput) -> str:
    """Up to which concurrency the waiting, not the client, set the pace."""
    share = format_percent(KEPT_UP_SHARE)
    level = kept_up_level(through)
    if level is None:
        low = through.levels[0]
        return (f"Even at {low} requests at once, not every kind of client reached "
                f"{share} of the ideal: something besides the waiting (a busy machine, the "
                "cost of each connection) held them back from the start.")
    if level == through.top:
        return (f"Every kind of client reached at least {share} of the ideal at every "
                f"concurrency up to {level:,}: the waiting set the pace throughout, and "
                "the machine never ran short of CPU.")
    return (f"Up to {level:,} requests at once, every kind of client reached at least "
            f"{share} of the ideal: the requests were waiting, and any way of waiting did. "
            "Beyond that, something besides the waiting held some of them back: the CPU "
            "time each request costs, and on a busy machine the wait for a free CPU.")


def kept_up_rule_sentence(through: Throughput) -> str:
    """For the rules page: up to which concurrency threads did as well as anything."""
    share, level = format_percent(KEPT_UP_SHARE), kept_up_level(through)
    ideal = f"at least {share} of the ideal, requests at once ÷ the server's delay"
    if level is None:
        return (f"In this build not every kind of client kept up with the waiting ({ideal}) "
                f"even at {through.levels[0]:,} requests at once.")
    return (f"In this build every kind of client, threads included, kept up with the "
            f"waiting ({ideal}) up to {level:,} requests at once.")


def top_sentence(through: Throughput) -> str:
    """Which kind led at the top concurrency, and by how much."""
    top = through.top
    ranking = through.ranking(top)
    best, second, last = ranking
    rates = {kind: requests_per_s(through.rate[(kind, top)]) for kind in ranking}
    if through.lead(top) < TIE_WITHIN:
        return (f"At {top:,}, {_kind(best)} ({rates[best]}) and {_kind(second)} "
                f"({rates[second]}) were within {format_percent(TIE_WITHIN - 1)} of each "
                f"other, a tie on a machine shared with other work; {_kind(last)} "
                f"reached {rates[last]}.")
    return (f"At {top:,}, {_kind(best)} led with {rates[best]}, "
            f"{format_ratio(through.lead(top))} the {rates[second]} of {_kind(second)}; "
            f"{_kind(last)} reached {rates[last]}.")


def cpu_sentence(through: Throughput) -> str:
    """What each request cost the client in CPU time at the top, threads against the loop."""
    top = through.top
    threads, loop = (through.cpu_per_request[("threads", top)],
                     through.cpu_per_request[("asyncio", top)])
    figures = (f"At {top:,} connections each request cost the threaded client "
               f"{format_seconds(threads)} of CPU time and the event loop "
               f"{format_seconds(loop)}")
    if threads >= TIE_WITHIN * loop:
        return (f"{figures}: {format_ratio(threads / loop)} as much, spent handing the GIL "
                "from thread to thread and switching between them.")
    if loop >= TIE_WITHIN * threads:
        return (f"{figures}: here the threads were the cheaper, the loop costing "
                f"{format_ratio(loop / threads)} as much.")
    return f"{figures}: about the same."


def server_sentence(through: Throughput) -> str:
    """Whether the server, sharing the machine, may have set the ceiling at the top."""
    top = through.top
    best = through.ranking(top)[0]
    busy = through.server_busy[(best, top)]
    share = format_percent(busy)
    if busy >= SERVER_BUSY_FROM:
        return (f"The server was busy {share} of the time of the fastest batch at {top:,}: "
                "on this machine it, and not only the client, set the ceiling there, and "
                "a faster server would have let the fastest client go faster.")
    return (f"The server was busy {share} of the time of the fastest batch at {top:,}, so "
            "the clients' own costs, not the server, set the ceiling.")


def startup_sentence(through: Throughput) -> str:
    """What getting ready for the top concurrency cost each kind."""
    top = through.top
    threads, loop, pool = (through.startup[(kind, top)] for kind in KINDS)
    return (f"Getting ready for {top:,} connections took {format_seconds(threads)} for the "
            f"threads (each one started and waiting), {format_seconds(loop)} for an event "
            f"loop with as many tasks, and {format_seconds(pool)} for the process pool, "
            "whatever the concurrency.")


def memory_sentence(memory: Memory) -> str:
    """A thread's memory per waiting request against a coroutine's."""
    thread, coroutine = format_bytes(memory.uss("threads")), format_bytes(memory.uss("asyncio"))
    ratio = memory.thread_over_coroutine
    if ratio >= MEMORY_GAP:
        return (f"Each request waiting on a thread added {thread} to the client's USS, "
                f"each waiting coroutine {coroutine}: {format_ratio(ratio)} as much for "
                "the thread.")
    if ratio <= 1 / MEMORY_GAP:
        return (f"Each request waiting on a thread added {thread} to the client's USS, "
                f"each waiting coroutine {coroutine}: here the coroutine cost more.")
    return (f"Each request waiting on a thread added {thread} to the client's USS, each "
            f"waiting coroutine {coroutine}: about the same.")


def traced_sentence(memory: Memory) -> str:
    """How the Python objects of a waiting request compared, thread against coroutine."""
    thread = memory.per_request[("threads", "traced")]
    coroutine = memory.per_request[("asyncio", "traced")]
    figures = (f"{format_bytes(thread)} per thread and {format_bytes(coroutine)} per "
               "coroutine (socket objects, frames, a thread's Thread object or a coroutine's "
               "task and streams)")
    outside = ("a thread's stack pages, its thread-local storage and the C library's "
               "bookkeeping for it")
    if 1 / MEMORY_GAP < thread / coroutine < MEMORY_GAP:
        return (f"The Python objects allocated for them were much the same either way, "
                f"{figures}: the difference lies outside Python, in {outside}.")
    return (f"The Python objects allocated for them came to {figures}, so part of the "
            f"difference lies in Python's own objects, and the rest outside Python, in "
            f"{outside}.")


def thread_costs_sentence(found: Findings) -> str:
    """The anti-pattern's why: what a thread per request cost against a coroutine."""
    through, memory = found.throughput, found.memory
    top = through.top
    ratios = {
        "memory": memory.thread_over_coroutine,
        "start-up": through.startup[("threads", top)] / through.startup[("asyncio", top)],
        "CPU time": (through.cpu_per_request[("threads", top)]
                     / through.cpu_per_request[("asyncio", top)]),
    }
    figures = (f"Against a coroutine, a waiting request on a thread took "
               f"{format_ratio(ratios['memory'])} the memory; at {top:,} connections the "
               f"threads took {format_ratio(ratios['start-up'])} as long to start as the "
               f"loop's tasks, and each request cost {format_ratio(ratios['CPU time'])} the "
               "CPU time")
    cheaper = [name for name, ratio in ratios.items() if ratio < TIE_WITHIN]
    if not cheaper:
        return f"{figures}: on every count the threads cost more."
    return (f"{figures}: on this build the threads did not cost more in "
            f"{spoken_list(cheaper)}, so measure before rewriting a threaded client.")


def better_sentence(through: Throughput) -> str:
    """The anti-pattern's better approach: the event loops against the threads at the top."""
    top = through.top
    rates = {kind: requests_per_s(through.rate[(kind, top)]) for kind in KINDS}
    figures = (f"at {top:,} requests at once the process pool served {rates['processes']} "
               f"and one loop {rates['asyncio']}, against {rates['threads']} for the threads")
    ahead = [kind for kind in ("asyncio", "processes")
             if through.rate[(kind, top)] >= TIE_WITHIN * through.rate[("threads", top)]]
    if len(ahead) == 2:
        return (f"An event loop, or one per process where one loop's CPU time is the limit: "
                f"{figures}.")
    if ahead == ["processes"]:
        return f"An event loop per process, which here beat one loop too: {figures}."
    if ahead:
        return f"An event loop, which here did better alone than one per process: {figures}."
    return (f"On this build the threads kept up with the event loops even there: {figures}; "
            "the loops' lower memory and start-up costs remain.")


def address_space_sentence(memory: Memory) -> str:
    """How much address space each thread reserved, against the stack limit."""
    reserved = memory.per_request[("threads", "vms")]
    if memory.stack_limit is None:
        return (f"Each thread also reserved {format_bytes(reserved)} of address space, "
                "mostly its stack, of which only the pages it touched count in the USS.")
    return (f"Each thread also reserved {format_bytes(reserved)} of address space: its "
            f"stack, {format_bytes(memory.stack_limit)} here (the stack limit, ulimit -s, "
            "unless threading.stack_size() says otherwise), of which only the pages it "
            "touched count in the USS.")


def _late(loop: BlockedLoop, work: str, fix: str) -> str:
    return format_seconds(loop.late_max[(work, fix)])


def _median_late(loop: BlockedLoop, work: str, fix: str) -> str:
    return format_seconds(loop.late_median[(work, fix)])


def _took(loop: BlockedLoop, work: str, fix: str) -> str:
    return format_seconds(loop.elapsed[(work, fix)])


def inline_sentence(loop: BlockedLoop) -> str:
    """What calling pure-Python work in the coroutine did to the heartbeat."""
    work = "python"
    ticks = round(loop.ticks[(work, "inline")])
    came = "once" if ticks == 1 else f"{ticks} times"
    if loop.blocked(work, "inline"):
        return (f"Called in the coroutine, the {loop.jobs} jobs took {_took(loop, work, 'inline')}"
                f", and the heartbeat ticked {came} in that time, {_late(loop, work, 'inline')} "
                "late: the loop ran nothing else until the work was done.")
    return (f"Called in the coroutine, the {loop.jobs} jobs took {_took(loop, work, 'inline')}, "
            f"and the heartbeat ticked {came}, at most {_late(loop, work, 'inline')} late: "
            "less blocked than expected, which this run cannot explain.")


def inline_others_sentence(loop: BlockedLoop) -> str:
    """Whether the blocking call and the hashing, called in the coroutine, held the loop
    as the computing did."""
    blocked = [work for work in WAITING_WORKS if loop.blocked(work, "inline")]
    late = {work: _late(loop, work, "inline") for work in WAITING_WORKS}
    if len(blocked) == len(WAITING_WORKS):
        return (f"The blocking calls and the hashing, called the same way, held it just as "
                f"long, their ticks {late['blocking']} and {late['hashing']} late: a call "
                "that waits without the GIL still holds its loop.")
    return (f"The blocking calls, called the same way, let a tick come {late['blocking']} "
            f"late and the hashing {late['hashing']}, less than the time they took, which "
            "this run cannot explain.")


def _share_of_inline(loop: BlockedLoop, work: str, fix: str) -> str:
    return format_ratio(loop.elapsed[(work, fix)] / loop.elapsed[(work, "inline")])


def python_fixes_sentence(loop: BlockedLoop) -> str:
    """What asyncio.to_thread and a process pool did for pure-Python work."""
    work = "python"
    thread = (f"With asyncio.to_thread the median tick came "
              f"{_median_late(loop, work, 'thread')} late and the latest "
              f"{_late(loop, work, 'thread')} (a thread waiting for the GIL asks for it after "
              f"the switch interval, {format_seconds(loop.switch_interval_s)} here), and the "
              f"jobs took {_took(loop, work, 'thread')}, "
              f"{_share_of_inline(loop, work, 'thread')} their time in the coroutine.")
    process = (f"With a process pool the median tick came "
               f"{_median_late(loop, work, 'process')} late and the latest "
               f"{_late(loop, work, 'process')}, and the jobs took "
               f"{_took(loop, work, 'process')}, {_share_of_inline(loop, work, 'process')}.")
    threads_together, processes_together = (loop.overlapped(work, "thread"),
                                            loop.overlapped(work, "process"))
    if processes_together and not threads_together:
        verdict = ("The threads took turns at the GIL; the processes ran the jobs at the "
                   "same time.")
    elif processes_together:
        verdict = ("Both ran the jobs at the same time: this interpreter ran Python on "
                   "several threads at once.")
    elif threads_together:
        verdict = ("The threads ran the jobs at the same time and the processes did not, "
                   "which this run cannot explain.")
    else:
        verdict = ("Neither ran the jobs at the same time here, so the machine had no CPU "
                   "free for a second job while they ran.")
    return f"{thread} {process} {verdict}"


WAITING_WORKS = ("blocking", "hashing")
WAITING_NAMES = {"blocking": "the blocking calls", "hashing": "the hashing"}


def waiting_jobs_sentence(loop: BlockedLoop) -> str:
    """What threads did for the blocking call and for hashing: the figures."""
    blocking, hashing = (
        f"{name} took {_took(loop, work, 'thread')} against {_took(loop, work, 'inline')} in "
        f"the coroutine, the median tick {_median_late(loop, work, 'thread')} late"
        for work, name in (("blocking", "a blocking client call"), ("hashing", "hashing")))
    return f"On threads, {blocking}; {hashing}."


def _threads_enough(loop: BlockedLoop, work: str) -> bool:
    return loop.overlapped(work, "thread") and loop.responsive(work, "thread")


def waiting_jobs_verdict(loop: BlockedLoop) -> str:
    """Whether threads were enough for the jobs that let go of the GIL."""
    enough = [work for work in WAITING_WORKS if _threads_enough(loop, work)]
    if len(enough) == len(WAITING_WORKS):
        return ("Both let go of the GIL while they wait or hash, so threads were enough for "
                "them: the loop kept ticking and the jobs ran together.")
    failures = []
    for work in WAITING_WORKS:
        if work in enough:
            continue
        problems = []
        if not loop.overlapped(work, "thread"):
            problems.append("did not run together")
        if not loop.responsive(work, "thread"):
            problems.append(f"let the median tick come {_median_late(loop, work, 'thread')} "
                            "late")
        failures.append(f"{WAITING_NAMES[work]} {' and '.join(problems)}")
    lead = "".join(f"On threads {WAITING_NAMES[work]} ran together and the loop kept "
                   "ticking, but " for work in enough)
    failed = spoken_list(failures)
    text = f"{lead}{failed}" if lead else f"On threads {failed}"
    return (f"{text} in this run, although both let go of the GIL: threads run such jobs "
            "together only when each finds a CPU free.")


def answers_sentence(found: Findings) -> str:
    """Whether every answer echoed its request, and the server's own count."""
    through, server = found.throughput, found.server
    held = (f"The server held up to {server.most_open:,} connections at once and answered "
            f"{server.answered:,} of the {server.requests:,} requests it received")
    if through.all_correct and server.answered == server.requests:
        return (f"Every answer echoed its request's id, in every batch. {held}; it was "
                f"{'gone, and its port closed,' if server.gone else 'still there'} when the "
                "run ended.")
    wrong = sorted(f"{_kind(kind)} at {level:,}" for (kind, level), ok
                   in through.correct.items() if not ok)
    return (f"Not every answer echoed its request's id ({spoken_list(wrong, 'none')}): "
            f"something in this run went wrong, and its numbers should not be trusted. "
            f"{held}.")


# ---------------------------------------------------------------------------------------
# The decision table's cells.

def decision_io_bound(through: Throughput) -> str:
    """The decision-table cell for IO-bound work: the best kind at the top concurrency."""
    top = through.top
    best, second = through.ranking(top)[:2]
    if through.lead(top) < TIE_WITHIN:
        return (f"{DECISION_NAMES[best]} or {DECISION_NAMES[second]}: a tie (within "
                f"{format_percent(TIE_WITHIN - 1)}) at {top:,} requests at once")
    return (f"{DECISION_NAMES[best]}: {format_ratio(through.lead(top))} the throughput of "
            f"{DECISION_NAMES[second]} at {top:,} requests at once")


def decision_io_bound_why(through: Throughput) -> str:
    """Why, as one sentence."""
    top = through.top
    best = through.ranking(top)[0]
    figure = requests_per_s(through.rate[(best, top)])
    level = kept_up_level(through)
    if level is None:
        return (f"No kind kept up with the waiting at any concurrency on this build, and at "
                f"{top:,} requests at once {_kind(best)} served the most, {figure}.")
    return (f"Up to {level:,} requests at once every kind kept up with the waiting; at "
            f"{top:,} the CPU each request costs decided, and {_kind(best)} served "
            f"{figure}.")


def cpu_in_async_choice(loop: BlockedLoop) -> tuple[str, bool]:
    """The way out that kept the loop most responsive while pure-Python work ran, and
    whether it counts as responsive: the one whose median tick came less late, or, where
    both came within :data:`SAME_TICKS_WITHIN` of a period, the one that finished the
    work sooner."""
    work, fixes = "python", ("thread", "process")
    close = SAME_TICKS_WITHIN * loop.period_s
    if all(loop.late_median[(work, fix)] <= close for fix in fixes):
        fix = min(fixes, key=lambda fix: loop.elapsed[(work, fix)])
    else:
        fix = min(fixes, key=lambda fix: loop.late_median[(work, fix)])
    return fix, loop.responsive(work, fix)


def decision_cpu_in_async(loop: BlockedLoop) -> str:
    """The decision-table cell for CPU work inside async code."""
    fix, responsive = cpu_in_async_choice(loop)
    ticks = (f"median heartbeat tick {_median_late(loop, 'python', fix)} late, against "
             f"{_late(loop, 'python', 'inline')} inline")
    if responsive:
        return f"{FIX_NAMES[fix]}: {ticks}"
    return f"none kept the loop responsive; {FIX_NAMES[fix]} came closest: {ticks}"


def decision_cpu_in_async_why(loop: BlockedLoop) -> str:
    """Why, as one sentence."""
    fix, responsive = cpu_in_async_choice(loop)
    other = "process" if fix == "thread" else "thread"
    versus = (f"{FIX_NAMES[other]} let the median tick come "
              f"{_median_late(loop, 'python', other)} late and finished the work in "
              f"{_took(loop, 'python', other)}")
    period = format_seconds(RESPONSIVE_PERIODS * loop.period_s)
    if responsive:
        return (f"Pure-Python work called in a coroutine stopped the event loop for as long "
                f"as it ran; with {FIX_NAMES[fix]} the median tick came "
                f"{_median_late(loop, 'python', fix)} late and the work finished in "
                f"{_took(loop, 'python', fix)}, while {versus}.")
    return (f"Pure-Python work called in a coroutine stopped the event loop for as long as it "
            f"ran, and on this build neither way out kept the median tick within {period}: "
            f"{FIX_NAMES[fix]} came closest, while {versus}.")


# ---------------------------------------------------------------------------------------
# Summary and texts.

def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """What the chapter measured, one line each, for the table after the short answer."""
    through, memory, loop = found.throughput, found.memory, found.loop
    top = through.top
    return [
        (f"requests per second at {top:,} at once: threads / asyncio / processes",
         " / ".join(format_count(through.rate[(kind, top)]) for kind in KINDS)),
        (f"getting ready for {top:,} connections: threads / asyncio / processes",
         " / ".join(format_seconds(through.startup[(kind, top)]) for kind in KINDS)),
        ("memory per waiting request (USS): thread / coroutine",
         f"{format_bytes(memory.uss('threads'))} / {format_bytes(memory.uss('asyncio'))}"),
        (f"how late a heartbeat tick came (median) while {loop.jobs} pure-Python jobs ran: "
         "in the coroutine / to_thread / process pool",
         " / ".join(_median_late(loop, "python", fix) for fix in FIX_LABELS)),
    ]


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    setting, through, memory, loop = (found.setting, found.throughput, found.memory,
                                      found.loop)
    top = through.top
    glued: dict[str, Any] = {
        "iob_short_answer": short_answer(found),
        "iob_cpus": setting.cpus,
        "iob_start_method": setting.start_method,
        "iob_delay": format_seconds(setting.delay_s),
        "iob_rounds": setting.rounds,
        "iob_levels": spoken_list(f"{level:,}" for level in through.levels),
        "iob_top": f"{top:,}",
        "iob_top_bound": setting.bound_by,
        "iob_process_workers": setting.process_workers,
        "iob_low": f"{through.levels[0]:,}",
        "iob_ideal_low": requests_per_s(through.ideal(through.levels[0])),
        "iob_ideal_top": requests_per_s(through.ideal(top)),
        "iob_waiting_sentence": waiting_sentence(through),
        "iob_kept_up_rule": kept_up_rule_sentence(through),
        "iob_threads_cpu_top": format_seconds(through.cpu_per_request[("threads", top)]),
        "iob_asyncio_cpu_top": format_seconds(through.cpu_per_request[("asyncio", top)]),
        "iob_blocking_thread_median_late": _median_late(loop, "blocking", "thread"),
        "iob_top_sentence": top_sentence(through),
        "iob_cpu_sentence": cpu_sentence(through),
        "iob_server_sentence": server_sentence(through),
        "iob_startup_sentence": startup_sentence(through),
        "iob_answers_sentence": answers_sentence(found),
        "iob_memory_count": f"{memory.count:,}",
        "iob_memory_sentence": memory_sentence(memory),
        "iob_traced_sentence": traced_sentence(memory),
        "iob_address_space_sentence": address_space_sentence(memory),
        "iob_thread_uss": format_bytes(memory.uss("threads")),
        "iob_coroutine_uss": format_bytes(memory.uss("asyncio")),
        "iob_thread_traced": format_bytes(memory.per_request[("threads", "traced")]),
        "iob_coroutine_traced": format_bytes(memory.per_request[("asyncio", "traced")]),
        "iob_worker_uss": format_bytes(memory.worker_uss),
        "iob_worker_method": memory.method,
        "iob_jobs": loop.jobs,
        "iob_job_s": format_seconds(loop.job_s),
        "iob_period": format_seconds(loop.period_s),
        "iob_inline_sentence": inline_sentence(loop),
        "iob_inline_others_sentence": inline_others_sentence(loop),
        "iob_thread_costs_sentence": thread_costs_sentence(found),
        "iob_better_sentence": better_sentence(through),
        "iob_python_fixes_sentence": python_fixes_sentence(loop),
        "iob_waiting_jobs_sentence": waiting_jobs_sentence(loop),
        "iob_waiting_jobs_verdict": waiting_jobs_verdict(loop),
        "iob_inline_late": _late(loop, "python", "inline"),
        "iob_thread_late": _late(loop, "python", "thread"),
        "iob_process_late": _late(loop, "python", "process"),
        "iob_thread_median_late": _median_late(loop, "python", "thread"),
        "iob_process_median_late": _median_late(loop, "python", "process"),
        "decision_io_bound": decision_io_bound(through),
        "decision_io_bound_why": decision_io_bound_why(through),
        "decision_cpu_in_async": decision_cpu_in_async(loop),
        "decision_cpu_in_async_why": decision_cpu_in_async_why(loop),
    }
    for kind in KINDS:
        glued[f"iob_{kind}_top_rate"] = requests_per_s(through.rate[(kind, top)])
        glued[f"iob_{kind}_top_startup"] = format_seconds(through.startup[(kind, top)])
    for work in WORKS:
        for fix in FIX_LABELS:
            glued[f"iob_{work}_{fix}_time"] = _took(loop, work, fix)
    return glued


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

def gil_io_claim(through: Throughput) -> Judgement:
    """Article 001, section 2.4: for IO-bound work such as a crawler, the GIL matters
    little. Judged by threads, which share one GIL, against processes, each with its own,
    at every concurrency: the GIL matters little where the threads keep within
    :data:`GIL_SMALL_SHARE` of the processes' throughput."""
    shares = {level: through.rate[("threads", level)] / through.rate[("processes", level)]
              for level in through.levels}
    kept = []
    for level in through.levels:
        if shares[level] < GIL_SMALL_SHARE:
            break
        kept.append(level)
    top, low = through.top, through.levels[0]
    cpu = (f"each request cost the threaded client "
           f"{format_seconds(through.cpu_per_request[('threads', top)])} of CPU time and "
           f"the event loop {format_seconds(through.cpu_per_request[('asyncio', top)])}")
    if len(kept) == len(through.levels):
        return Judgement(Verdict.HOLDS, (
            f"Threads, which share one GIL, served at least "
            f"{format_percent(GIL_SMALL_SHARE)} of the requests per second of processes, "
            f"each with its own, at every concurrency from {low:,} to {top:,} requests at "
            f"once; at {top:,}, {cpu}."))
    if kept:
        below = through.levels[len(kept)]
        return Judgement(Verdict.PARTLY, (
            f"Threads, which share one GIL, served at least "
            f"{format_percent(GIL_SMALL_SHARE)} of the processes' requests per second up to "
            f"{kept[-1]:,} requests at once, but at {below:,} only "
            f"{format_percent(shares[below])}; at {top:,}, {cpu}. The GIL matters little "
            "while the waiting dominates, and more as the requests add up."))
    return Judgement(Verdict.FAILS, (
        f"Threads, which share one GIL, served only {format_percent(shares[low])} of the "
        f"processes' requests per second already at {low:,} requests at once, and "
        f"{format_percent(shares[top])} at {top:,}, where {cpu}."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {"a001_gil_io_small": gil_io_claim(found.throughput)}
