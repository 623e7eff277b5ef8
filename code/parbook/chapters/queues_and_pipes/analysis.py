"""What the queues-and-pipes chapter concludes from one result: findings per section, what
each demonstration printed and whether it ended as promised, and the texts (every sentence
and number the page glues)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.queues_and_pipes.experiment import BACKEND_LABELS, DEMO_LABELS, demo_checks
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    format_rate,
    format_ratio,
    format_seconds,
    format_size,
    spoken_list,
)

#: Article 003's claim as a range of Queue time / Pipe time.
CLAIM_LOW, CLAIM_HIGH = (sources.PIPE_VS_QUEUE_CLAIM.lookup(bound=b) for b in ("low", "high"))
#: The line the page prints above a demonstration's own lines, for those it heads.
HEADINGS = {
    "join_first_small": lambda demo: f"--- {format_size(demo['size'])} item, join() first",
    "join_first_large": lambda demo: f"--- {format_size(demo['size'])} item, join() first",
    "drain_first_large": lambda demo: f"--- {format_size(demo['size'])} item, get() first",
    "pipe_keep_copy": lambda demo: "--- parent keeps its copy of the child's end",
    "pipe_close_copy": lambda demo: "--- parent closes its copy of the child's end",
}


@dataclass(frozen=True)
class Setup:
    """The machine, the start methods and the bounds every demonstration used."""

    cpus: int
    start_method: str
    start_methods: tuple[str, ...]
    patience_s: float
    short_timeout_s: float
    idle_limit_s: float


@dataclass(frozen=True)
class Demos:
    """What every demonstration recorded, under each start method (plain data from the
    fresh interpreter that ran it); the page prints the default method's."""

    start_method: str
    recorded: dict[str, dict[str, Any]]   # start method -> demo name -> what it recorded

    @property
    def shown(self) -> dict[str, Any]:
        """The demonstrations under the default start method, which the text describes."""
        return self.recorded[self.start_method]

    def printed(self, *names: str) -> str:
        """What the named demonstrations printed under the default start method, each
        under its heading where the page gives it one."""
        lines = []
        for name in names:
            demo = self.shown[name]
            if name in HEADINGS:
                lines.append(HEADINGS[name](demo))
            lines.extend(demo["lines"])
        return "\n".join(lines)

    def printed_under_every_method(self, *names: str) -> str:
        """What the named demonstrations printed under each start method, headed by both."""
        return "\n".join(
            line
            for method, outcome in self.recorded.items()
            for name in names
            for line in (f"--- {method}: {DEMO_LABELS[name]}", *outcome[name]["lines"])
        )

    def checks(self, method: str) -> dict[str, bool]:
        """Every outcome the chapter promises for one start method: name -> held."""
        return demo_checks(self.recorded[method], method)


@dataclass(frozen=True)
class QueueBasics:
    """A bounded Queue's two timeouts, and what ``empty()`` says right after ``put()``."""

    full_wait_s: float
    empty_wait_s: float
    hint_trials: int
    said_empty: int        # times empty() answered True right after a put
    said_one: int          # times qsize() answered 1 right after a put


#: The basics demo's lines that say what full() answered after its three puts and what
#: empty() answered after its three gets (the demo records them in these lines only).
FULL_LINE = re.compile(r"^after 3 puts: .*\bfull\(\)=(?P<said>True|False)\b")
EMPTY_LINE = re.compile(r"^3 gets returned .*\bempty\(\)=(?P<said>True|False)\b")
#: The duplex demo's line for one question: how long ``poll(timeout)`` waited for the
#: answer, and what it returned (the wait is recorded in this line only, in ms).
POLL_LINE = re.compile(r"^sent .*\bpoll\((?P<timeout>\d+(?:\.\d+)?)\) -> "
                       r"(?P<ready>True|False) after (?P<ms>\d+(?:\.\d+)?) ms\b")


def said(pattern: re.Pattern[str], lines: list[str]) -> bool | None:
    """What the first line matching ``pattern`` says (None if no line does)."""
    found = next((match for match in map(pattern.match, lines) if match), None)
    return None if found is None else found["said"] == "True"


@dataclass(frozen=True)
class QueueAnswers:
    """What a Queue(3) said under one start method: full() after three puts, empty() after
    three gets (None where the demo's lines do not say)."""

    full_after_puts: bool | None
    empty_after_gets: bool | None


@dataclass(frozen=True)
class PollWait:
    """One ``poll(timeout)`` on the duplex Pipe after a question: what it returned and when."""

    timeout_s: float
    ready: bool
    waited_s: float


def poll_waits(lines: list[str]) -> tuple[PollWait, ...]:
    """The duplex demo's polls for an answer, read from its lines."""
    return tuple(PollWait(timeout_s=float(match["timeout"]), ready=match["ready"] == "True",
                          waited_s=float(match["ms"]) / 1000)
                 for match in map(POLL_LINE.match, lines) if match)


@dataclass(frozen=True)
class Consumers:
    """Consumers with no sentinel, too few sentinels (one per producer), one each."""

    no_sentinel_exit_code: int
    too_few_stuck: tuple[str, ...]
    too_few_finished: tuple[str, ...]


@dataclass(frozen=True)
class JoinOrder:
    """Joining a child that put one item before and after draining the queue."""

    small_size: int
    large_size: int
    small_join_first_s: float
    large_join_first_s: float
    large_drain_first_s: float


@dataclass(frozen=True)
class PipeEnds:
    """When ``EOFError`` came on a one-way pipe, and what ``poll`` waited on a duplex one."""

    keep_copy_eof_s: float            # after start(), the parent keeping its copy
    keep_copy_after_last_s: float     # after the last message, the parent keeping its copy
    close_copy_after_last_s: float    # after the last message, the parent closing its copy
    idle_poll_wait_s: float
    fork_measured: bool               # whether fork, where inherited ends stay open, ran


@dataclass(frozen=True)
class Buffers:
    """Bytes an OS pipe and a duplex Pipe's socket hold (None where the OS does not say)."""

    os_pipe: int | None
    socket: int | None


@dataclass(frozen=True)
class SizeSweep:
    """Median seconds per round trip of one message, per (size, backend)."""

    sizes: tuple[int, ...]
    times: dict[tuple[int, str], float]
    round_trips: tuple[int, ...]      # per sample, over every case
    placement: str

    @property
    def smallest(self) -> int:
        return min(self.sizes)

    @property
    def largest(self) -> int:
        return max(self.sizes)

    def rate(self, size: int, backend: str) -> float:
        """Bytes carried per second: the message there and back, per round trip."""
        return 2 * size / self.times[(size, backend)]

    def ratio(self, size: int, slower: str, faster: str) -> float:
        """One backend's time over another's at one size."""
        return self.times[(size, slower)] / self.times[(size, faster)]

    def queue_over_pipe(self, size: int) -> float:
        return self.ratio(size, "queue", "pipe")

    def queue_over_bytes(self, size: int) -> float:
        return self.ratio(size, "queue", "pipe_bytes")

    def pipe_over_bytes(self, size: int) -> float:
        return self.ratio(size, "pipe", "pipe_bytes")

    @property
    def verdicts(self) -> dict[int, str]:
        """Size -> where its Queue/Pipe ratio falls against article 003's claim."""
        return {size: claim_verdict(self.queue_over_pipe(size)) for size in self.sizes}

    @property
    def claim_holds(self) -> list[int]:
        return [size for size, verdict in self.verdicts.items() if verdict == "yes"]

    @property
    def bytes_faster_everywhere(self) -> bool:
        """Whether send_bytes beat send at every size."""
        return all(self.times[(s, "pipe_bytes")] <= self.times[(s, "pipe")] for s in self.sizes)

    @property
    def os_pipe_beaten_large(self) -> bool:
        """Whether a Pipe beat the raw os.pipe at the largest size."""
        return self.times[(self.largest, "os_pipe")] > self.fastest_pipe(self.largest)

    def fastest_pipe(self, size: int) -> float:
        return min(self.times[(size, "pipe")], self.times[(size, "pipe_bytes")])


@dataclass(frozen=True)
class Findings:
    """Everything the queues-and-pipes page concludes, one part per section."""

    setup: Setup
    demos: Demos
    queue: QueueBasics
    consumers: Consumers
    join_order: JoinOrder
    pipes: PipeEnds
    buffers: Buffers
    sweep: SizeSweep
    answers: dict[str, QueueAnswers]          # start method -> full()/empty() answers
    polls: dict[str, tuple[PollWait, ...]]    # start method -> polls for an answer


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    params, values = result.parameters, result.values
    method = params["start_method"]
    demos = Demos(start_method=method, recorded=values["demos"])
    shown = demos.shown
    too_few = shown["too_few_sentinels"]
    return Findings(
        setup=Setup(cpus=params["usable_cpus"], start_method=method,
                    start_methods=tuple(params["start_methods"]),
                    patience_s=params["patience_s"], short_timeout_s=params["short_timeout_s"],
                    idle_limit_s=params["idle_limit_s"]),
        demos=demos,
        queue=QueueBasics(full_wait_s=shown["basics"]["full_wait_s"],
                          empty_wait_s=shown["basics"]["empty_wait_s"],
                          hint_trials=shown["hints"]["trials"],
                          said_empty=shown["hints"]["said_empty"],
                          said_one=shown["hints"]["said_one"]),
        consumers=Consumers(no_sentinel_exit_code=shown["no_sentinel"]["exit_codes"]["consumer-1"],
                            too_few_stuck=tuple(too_few["terminated"]),
                            too_few_finished=tuple(too_few["finished"])),
        join_order=JoinOrder(small_size=shown["join_first_small"]["size"],
                             large_size=shown["join_first_large"]["size"],
                             small_join_first_s=shown["join_first_small"]["joined_after_s"],
                             large_join_first_s=shown["join_first_large"]["joined_after_s"],
                             large_drain_first_s=shown["drain_first_large"]["joined_after_s"]),
        pipes=PipeEnds(keep_copy_eof_s=shown["pipe_keep_copy"]["eof_after_s"],
                       keep_copy_after_last_s=shown["pipe_keep_copy"]["eof_after_last_s"],
                       close_copy_after_last_s=shown["pipe_close_copy"]["eof_after_last_s"],
                       idle_poll_wait_s=shown["duplex"]["idle_wait_s"],
                       fork_measured="fork" in demos.recorded),
        buffers=Buffers(os_pipe=values["buffers"]["os_pipe"], socket=values["buffers"]["socket"]),
        sweep=SizeSweep(
            sizes=tuple(params["message_sizes"]),
            times={(c.params["size"], c.params["backend"]): c.summary.median
                   for c in result.group("size_sweep")},
            round_trips=tuple(c.params["round_trips"] for c in result.group("size_sweep")),
            placement=params["placement"]),
        answers={method: QueueAnswers(full_after_puts=said(FULL_LINE, seen["basics"]["lines"]),
                                      empty_after_gets=said(EMPTY_LINE, seen["basics"]["lines"]))
                 for method, seen in demos.recorded.items()},
        polls={method: poll_waits(seen["duplex"]["lines"])
               for method, seen in demos.recorded.items()},
    )


# --- the sentences and cells that depend on the data -------------------------------------


def outcome_text(name: str, demo: dict[str, Any]) -> str:
    """A table cell saying how one demonstration ended."""
    took = f" ({demo['elapsed_s'] * 1000:.0f} ms)"
    if name == "basics":
        return f"{demo['full_error']}, then {demo['empty_error']}"
    if name in ("no_sentinel", "too_few_sentinels", "sentinel_each"):
        finished, stuck = len(demo["finished"]), len(demo["terminated"])
        text = f"{finished} finished" if finished else "none finished"
        return text + (f", {stuck} still blocked: terminated" if stuck else "") + took
    if name.startswith(("join_first", "drain_first")):
        if demo["alive_after_join"]:
            return f"join timed out after {demo['joined_after_s'] * 1000:.0f} ms: child alive"
        return f"child exited; join returned in {demo['joined_after_s'] * 1000:.1f} ms"
    if name.startswith("pipe_"):
        return (f"EOFError {demo['eof_after_last_s'] * 1000:.0f} ms after the last message, "
                f"{demo['eof_after_s'] * 1000:.0f} ms after start()")
    if name.startswith("child_"):
        return ("child saw EOFError, exited" if demo["saw_eof"]
                else "child never saw EOF: terminated")
    if name == "duplex":
        return f"answers {demo['answers']}, idle poll {demo['idle_poll']}"
    raise KeyError(name)


def claim_verdict(ratio: float) -> str:
    """Where a measured Queue/Pipe ratio falls against article 003's 1.5-2x.

    The ratio is compared as the tables show it, to two significant digits, the precision
    of the claim itself.
    """
    ratio = float(f"{ratio:.2g}")
    if ratio < 1:
        return "no: the Queue was faster"
    if ratio < CLAIM_LOW:
        return "no: the Pipe was faster, by less"
    if ratio <= CLAIM_HIGH:
        return "yes"
    return "no: the Pipe was faster, by more"


def hint_sentence(queue: QueueBasics) -> str:
    """What empty() answered right after put(), against qsize(), over every try."""
    if not queue.said_empty:
        return (f"In this build, empty() happened to answer False in all {queue.hint_trials} "
                "tries; nothing guarantees that, and another run may see True.")
    if queue.said_one == queue.hint_trials:
        return (f"In this build, asked right after a put, empty() answered True in "
                f"{queue.said_empty} of {queue.hint_trials} tries, although qsize() answered "
                "1 every time.")
    return (f"In this build, asked right after a put, empty() answered True in "
            f"{queue.said_empty} of {queue.hint_trials} tries, and qsize() answered 1 in "
            f"only {queue.said_one} of them.")


def fork_child_sentence(pipes: PipeEnds) -> str:
    """Whether fork's inherited sending end kept a child from seeing EOFError."""
    if pipes.fork_measured:
        return ("Under fork, the child that was given only its reading end never saw EOFError "
                "and had to be terminated; under the other start methods it saw EOFError and "
                "exited.")
    return ("Fork is not available on this platform, so every start method measured here gave "
            "the child only the ends passed to it, and it saw EOFError.")


def buffer_text(size: int | None) -> str:
    """A buffer's size, or "unknown" where the OS does not say."""
    return format_size(size) if size else "unknown"


def placement_sentence(sweep: SizeSweep) -> str:
    """Where the size sweep's two processes ran, and what that means for its times."""
    if sweep.placement == "same_cpu":
        return ("Both processes were pinned to the same CPU, so the table shows the work each "
                "channel does, without the cost of waking a process on another CPU, which "
                "depends on the machine and on what else runs on it (the overhead chapter "
                "measures it for small messages).")
    return ("This platform cannot pin processes to CPUs, so the OS placed them; each time "
            "includes whatever waking the other process cost.")


def claim_sentence(sweep: SizeSweep) -> str:
    """At which sizes article 003's claim held, as the end of a sentence that begins "the
    claim" (the rules page quotes it so)."""
    holds = sweep.claim_holds
    if not holds:
        return "held at none of the sizes measured"
    if len(holds) == len(sweep.sizes):
        return "held at every size measured"
    return f"held at {spoken_list(format_size(s) for s in holds)}"


def claim_verdict_sentence(sweep: SizeSweep) -> str:
    """Whether article 003's claim held at every size, at some, or at none."""
    holds, sizes = len(sweep.claim_holds), len(sweep.sizes)
    if holds == sizes:
        return f"On this build the claim held at every one of the {sizes} sizes."
    if holds == 0:
        return (f"On this build the claim held at none of the {sizes} sizes; the last "
                "column of the table says on which side of it each one fell.")
    return (f"On this build the claim held at {holds} of the {sizes} sizes "
            f"({spoken_list(format_size(s) for s in sweep.claim_holds)}); where it missed, "
            "the last column of the table says on which side.")


def small_verdict(sweep: SizeSweep) -> str:
    """How a Queue compared with a Pipe for the smallest message."""
    ratio = format_ratio(sweep.queue_over_pipe(sweep.smallest))
    if sweep.queue_over_pipe(sweep.smallest) >= 1:
        return f"A Queue took {ratio} as long as the Pipe."
    return (f"A Queue was faster here, at {ratio} the Pipe's time, although it does more "
            "work per message: something else, such as the scheduler, weighed more in this "
            "run (see the spread table).")


def bytes_sentence(sweep: SizeSweep) -> str:
    """Whether skipping pickling (send_bytes) showed at every size."""
    faster = sum(sweep.times[(s, "pipe_bytes")] <= sweep.times[(s, "pipe")]
                 for s in sweep.sizes)
    sizes = len(sweep.sizes)
    if faster == sizes:
        return "Skipping pickling showed at every size: send_bytes was faster than send."
    if faster == 0:
        return ("Skipping pickling did not pay here: send was as fast as send_bytes, or "
                "faster, at every size, so the copies that pickling adds cost less than "
                "whatever else varied between runs (see the spread table).")
    return (f"Skipping pickling did not pay at every size: send_bytes was faster than send "
            f"at {faster} of the {sizes} sizes (the ratio table below gives each), and where "
            "it was not, the copies that pickling adds cost less than whatever else varied "
            "between runs (see the spread table).")


def large_floor_sentence(sweep: SizeSweep) -> str:
    """Whether the raw os.pipe was still the fastest channel for the largest message."""
    large = sweep.largest
    os_pipe = format_seconds(sweep.times[(large, "os_pipe")])
    if sweep.os_pipe_beaten_large:
        return (f"At {format_size(large)} the raw os.pipe, which does no pickling at all, was "
                f"slower than a Pipe ({os_pipe} against "
                f"{format_seconds(sweep.fastest_pipe(large))}): the copies were no longer what "
                "decided, the channel underneath was.")
    return (f"At {format_size(large)} the raw os.pipe, which does no pickling, was still the "
            f"fastest ({os_pipe}): fewer copies still beat a bigger buffer.")


def claim_cell(sweep: SizeSweep) -> str:
    """At how many of the sizes article 003's claim held, for the summary table."""
    holds, sizes = len(sweep.claim_holds), len(sweep.sizes)
    if holds == sizes:
        return f"held at every one of the {sizes} sizes measured"
    if holds == 0:
        return f"held at none of the {sizes} sizes measured"
    return f"held at {holds} of the {sizes} sizes measured"


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    sweep, join, setup = found.sweep, found.join_order, found.setup
    seconds, ratio = format_seconds, format_ratio
    no_sentinel = found.demos.shown["no_sentinel"]
    join_large = found.demos.shown["join_first_large"]
    rows = []
    for size in (sweep.smallest, sweep.largest):
        pipe, queue = sweep.times[(size, "pipe")], sweep.times[(size, "queue")]
        rows += [
            (f"round trip of one {format_size(size)} message over a Pipe",
             f"{seconds(pipe)} ({seconds(sweep.times[(size, 'pipe_bytes')])} with send_bytes)"),
            ("the same over a Queue",
             f"{seconds(queue)} ({ratio(sweep.queue_over_pipe(size))} the Pipe's time)"),
        ]
    rows.append((f"article 003's claim: pipes {ratio(CLAIM_LOW)} to {ratio(CLAIM_HIGH)} "
                 "faster than queues", claim_cell(sweep)))
    rows.append(("a consumer that nobody told to stop",
                 f"still blocked after {seconds(setup.patience_s)}: terminated"
                 if no_sentinel["terminated"] else "exited by itself"))
    rows.append((f"join() before get(), on a child that put a {format_size(join.large_size)} "
                 "item",
                 f"join() gave up after {seconds(join.large_join_first_s)}, child still alive"
                 if join_large["alive_after_join"]
                 else f"child exited; join() returned after {seconds(join.large_join_first_s)}"))
    rows.append(("get() first, then join(), same item",
                 f"both done in {seconds(join.large_drain_first_s)}"))
    return rows


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page (and the rules page) glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    setup, queue, consumers = found.setup, found.queue, found.consumers
    join, pipes, sweep = found.join_order, found.pipes, found.sweep
    glued: dict[str, Any] = {
        "qp_cpus": setup.cpus,
        "qp_start_method": setup.start_method,
        "qp_methods": spoken_list(setup.start_methods),
        "qp_patience": seconds(setup.patience_s),
        "qp_short_timeout": seconds(setup.short_timeout_s),
        "qp_idle_limit": seconds(setup.idle_limit_s),
        "qp_full_wait": seconds(queue.full_wait_s),
        "qp_empty_wait": seconds(queue.empty_wait_s),
        "qp_hint_sentence": hint_sentence(queue),
        "qp_no_sentinel_code": str(consumers.no_sentinel_exit_code),
        "qp_too_few_stuck": spoken_list(consumers.too_few_stuck),
        "qp_too_few_finished": spoken_list(consumers.too_few_finished),
        "qp_join_small_size": format_size(join.small_size),
        "qp_join_large_size": format_size(join.large_size),
        "qp_join_small_wait": seconds(join.small_join_first_s),
        "qp_join_large_wait": seconds(join.large_join_first_s),
        "qp_drain_first_wait": seconds(join.large_drain_first_s),
        "qp_keep_copy_eof": seconds(pipes.keep_copy_eof_s),
        "qp_keep_copy_after_last": seconds(pipes.keep_copy_after_last_s),
        "qp_close_copy_eof": seconds(pipes.close_copy_after_last_s),
        "qp_idle_poll_wait": seconds(pipes.idle_poll_wait_s),
        "qp_fork_child_sentence": fork_child_sentence(pipes),
        "qp_os_pipe_buffer": buffer_text(found.buffers.os_pipe),
        "qp_socket_buffer": buffer_text(found.buffers.socket),
        "qp_most_round_trips": f"{max(sweep.round_trips):,}",
        "qp_fewest_round_trips": f"{min(sweep.round_trips):,}",
        "qp_placement_sentence": placement_sentence(sweep),
        "qp_claim_low": ratio(CLAIM_LOW),
        "qp_claim_high": ratio(CLAIM_HIGH),
        "qp_claim_machine": sources.PIPE_VS_QUEUE_CLAIM.machine,
        "qp_claim_sentence": claim_sentence(sweep),
        "qp_claim_verdict": claim_verdict_sentence(sweep),
        "qp_small_verdict": small_verdict(sweep),
        "qp_bytes_sentence": bytes_sentence(sweep),
        "qp_large_floor_sentence": large_floor_sentence(sweep),
    }
    for name, size in (("small", sweep.smallest), ("large", sweep.largest)):
        glued[f"qp_{name}"] = format_size(size)
        for backend in BACKEND_LABELS:
            glued[f"qp_{name}_{backend}"] = seconds(sweep.times[(size, backend)])
            glued[f"qp_{name}_{backend}_rate"] = format_rate(sweep.rate(size, backend))
        glued[f"qp_{name}_queue_over_pipe"] = ratio(sweep.queue_over_pipe(size))
        glued[f"qp_{name}_queue_over_bytes"] = ratio(sweep.queue_over_bytes(size))
        glued[f"qp_{name}_pipe_over_bytes"] = ratio(sweep.pipe_over_bytes(size))
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: The lines in which a one-way Pipe refused use in the wrong direction.
REFUSED_WRONG_WAY = ("reader: OSError", "writer: OSError")


def consumer_sentinels_claim(setup: Setup, demos: Demos) -> Judgement:
    """Article 001: a consumer never sent an end signal blocks in ``get`` for good, and
    several consumers need one end signal each (judged under every start method)."""
    methods = list(demos.recorded)
    blocked = [method for method in methods if demos.checks(method)["no_sentinel"]]
    one_each = [method for method in methods
                if demos.checks(method)["too_few_sentinels"]
                and demos.checks(method)["sentinel_each"]]
    each = demos.shown["sentinel_each"]
    consumers = len(each["finished"]) + len(each["terminated"])
    stuck = ("a consumer sent no end signal, with every item taken, was still blocked in get() "
             f"when a join of {format_seconds(setup.patience_s)} gave up, and had to be "
             "terminated")
    sorted_out = (f"with one signal too few, one of {consumers} consumers stayed blocked, and "
                  "with one each, all of them exited by themselves")
    if len(blocked) == len(one_each) == len(methods):
        return Judgement(Verdict.HOLDS, (
            f"Under every start method here ({spoken_list(methods)}), {stuck}; {sorted_out}."))
    if len(blocked) == len(methods):
        missed = spoken_list(m for m in methods if m not in one_each)
        return Judgement(Verdict.PARTLY, (
            f"Under every start method here, {stuck}; but under {missed} the consumers did "
            "not end as one signal each predicts."))
    if len(one_each) == len(methods):
        missed = spoken_list(m for m in methods if m not in blocked)
        return Judgement(Verdict.PARTLY, (
            f"Under every start method here, {sorted_out}; but under {missed} a consumer "
            "sent no end signal did not stay blocked in get()."))
    return Judgement(Verdict.FAILS, (
        "Neither held under every start method here: a consumer sent no end signal did not "
        f"always stay blocked in get() (it did under {spoken_list(blocked)}), and one signal "
        f"per consumer did not always end them all (it did under {spoken_list(one_each)})."))


def pipe_claim(setup: Setup, pipes: PipeEnds, demos: Demos) -> Judgement:
    """Article 001: a Pipe is duplex unless told otherwise, and its receiving end raises
    EOFError once the sending end is closed (judged under every start method)."""
    methods = list(demos.recorded)

    def duplex_held(method: str) -> bool:
        refused = [line for line in demos.recorded[method]["pipe_close_copy"]["lines"]
                   if line.startswith(REFUSED_WRONG_WAY)]
        return demos.checks(method)["duplex"] and len(refused) == len(REFUSED_WRONG_WAY)

    duplex = all(duplex_held(method) for method in methods)
    eof = all(demos.checks(method)["pipe_close_copy"] and demos.checks(method)["child_both_ends"]
              for method in methods)
    every_copy = all(demos.checks(method)["pipe_keep_copy"] for method in methods)
    where = f"Under every start method here ({spoken_list(methods)})"
    two_way = ("a default Pipe() carried messages both ways over each end, "
               "Pipe(duplex=False) refused the wrong direction")
    after_last = format_seconds(pipes.close_copy_after_last_s)
    if every_copy:
        closed = ("recv() raised EOFError once every copy of the sending end was closed. Under "
                  f"{setup.start_method} it came {after_last} after the last message, but only "
                  f"{format_seconds(pipes.keep_copy_eof_s)} after start() when the parent kept "
                  "its own copy open until then.")
    else:
        closed = ("recv() raised EOFError once the sending end was closed, under "
                  f"{setup.start_method} {after_last} after the last message.")
    if duplex and eof:
        return Judgement(Verdict.HOLDS, f"{where}, {two_way}, and {closed}")
    if duplex:
        return Judgement(Verdict.PARTLY, (
            f"{where}, {two_way}, but recv() did not always raise EOFError promptly once every "
            "copy of the sending end was closed."))
    if eof:
        return Judgement(Verdict.PARTLY, (
            f"{where}, {closed} But a default Pipe() did not always carry messages both ways, "
            "or a one-way Pipe did not refuse the wrong direction."))
    return Judgement(Verdict.FAILS, (
        "Neither held under every start method here: a default Pipe() did not always carry "
        "messages both ways, and recv() did not always raise EOFError once the sending end "
        "was closed."))


def pipes_faster_claim(sweep: SizeSweep) -> Judgement:
    """Article 003, quoting another author's benchmark: pipes are faster than queues, but
    only by 1.5 to 2 times."""
    ratios = [sweep.queue_over_pipe(size) for size in sweep.sizes]
    pipe_faster = [size for size, verdict in sweep.verdicts.items()
                   if not verdict.startswith("no: the Queue")]
    figures = (f"A Queue round trip took {format_ratio(min(ratios))} to "
               f"{format_ratio(max(ratios))} as long as a Pipe's, for messages of "
               f"{format_size(sweep.smallest)} to {format_size(sweep.largest)}")
    claim = f"article 003's claim of {format_ratio(CLAIM_LOW)} to {format_ratio(CLAIM_HIGH)}"
    held = len(sweep.claim_holds)
    if held == len(sweep.sizes):
        return Judgement(Verdict.HOLDS, f"{figures}: {claim} {claim_sentence(sweep)}.")
    if held:
        return Judgement(Verdict.PARTLY, f"{figures}, so {claim} {claim_sentence(sweep)}.")
    if len(pipe_faster) == len(sweep.sizes):
        return Judgement(Verdict.PARTLY, (
            f"{figures}: the Pipe was faster at every size, but {claim} "
            f"{claim_sentence(sweep)}."))
    return Judgement(Verdict.FAILS, (
        f"{figures}: the Queue was faster at {len(sweep.sizes) - len(pipe_faster)} "
        f"of the {len(sweep.sizes)} sizes, and {claim} {claim_sentence(sweep)}."))


def queue_full_empty_claim(answers: dict[str, QueueAnswers], queue: QueueBasics,
                           start_method: str) -> Judgement:
    """Article 001: a Queue(3) says full() after three puts and empty() after three gets.
    The hints demo shows what empty() is worth right after a put."""
    methods = list(answers)
    unsaid = [method for method, seen in answers.items()
              if seen.full_after_puts is None or seen.empty_after_gets is None]
    if unsaid:
        return Judgement(Verdict.UNMEASURED, (
            f"The basics demo's record does not say what full() or empty() answered under "
            f"{spoken_list(unsaid)}."))
    missed = [method for method, seen in answers.items()
              if not (seen.full_after_puts and seen.empty_after_gets)]
    if missed:
        return Judgement(Verdict.FAILS, (
            f"Under {spoken_list(missed)}, a Queue(3) did not say full() after three puts and "
            "empty() after three gets."))
    shown = (f"Under every start method here ({spoken_list(methods)}), a Queue(3) said full() "
             "after three puts and empty() after three gets")
    if queue.said_empty:
        return Judgement(Verdict.PARTLY, (
            f"{shown}; but right after a single put, empty() also said True in "
            f"{queue.said_empty} of {queue.hint_trials} tries under {start_method}, so its "
            "answer is a hint, as the documentation warns, not a fact to act on."))
    return Judgement(Verdict.HOLDS, (
        f"{shown}, and empty() never said True right after a put in {queue.hint_trials} tries "
        f"under {start_method}, though the documentation calls both answers unreliable."))


def pipe_before_process_claim() -> Judgement:
    """Article 001: a pipe must be created before the Process object. No run creates one
    afterwards; the documentation says what is possible."""
    return Judgement(Verdict.UNMEASURED, (
        "Every demo here creates its Pipe before the Process it hands an end to, and none "
        "tries it the other way. It is the simple way, not the only one: since Python 3.3 a "
        "Connection can itself be sent to a running process with another Connection's "
        "send()."))


#: A poll with an answer on its way "returned as soon as the answer arrived" when it
#: returned within this share of its timeout (1% of poll(30) is 300 ms, hundreds of times a
#: round trip); one that returned after ``POLL_WAITED_OUT`` of it waited its timeout out.
POLL_EARLY_SHARE = 0.01
POLL_WAITED_OUT = 0.9


def poll_claim(setup: Setup, pipes: PipeEnds, polls: dict[str, tuple[PollWait, ...]]
               ) -> Judgement:
    """Article 003: ``conn.poll(n)`` waits n seconds and then checks. The duplex demo polls
    for each answer with a long timeout, and once with nothing coming."""
    waits = [wait for method_waits in polls.values() for wait in method_waits]
    if not waits:
        return Judgement(Verdict.UNMEASURED, (
            "No recorded line of the duplex demo says how long poll() waited for an answer "
            "on its way, so this build does not show it."))
    early = {method: [wait for wait in method_waits
                      if wait.ready and wait.waited_s < POLL_EARLY_SHARE * wait.timeout_s]
             for method, method_waits in polls.items()}
    early_methods = [method for method, found in early.items() if found]
    timeout = f"poll({max(wait.timeout_s for wait in waits):g})"
    idle = (f"with nothing to read, poll({setup.patience_s:g}) waited "
            f"{format_seconds(pipes.idle_poll_wait_s)} and returned False")
    if early_methods:
        latest = max(wait.waited_s for found in early.values() for wait in found)
        return Judgement(Verdict.FAILS, (
            f"Under {spoken_list(early_methods)}, {timeout} returned True as soon as the "
            f"answer arrived, at most {format_seconds(latest)} after the question, and {idle}. "
            "poll(n) waits at most n seconds, as the documentation says, not n seconds "
            "before it looks."))
    shortest = min(wait.waited_s for wait in waits)
    if all(wait.waited_s >= POLL_WAITED_OUT * wait.timeout_s for wait in waits):
        return Judgement(Verdict.HOLDS, (
            f"With an answer on its way, {timeout} returned only after "
            f"{format_seconds(shortest)} or more, about its whole timeout, and {idle}."))
    return Judgement(Verdict.PARTLY, (
        f"With an answer on its way, {timeout} returned after {format_seconds(shortest)} to "
        f"{format_seconds(max(wait.waited_s for wait in waits))}, neither at once nor after "
        f"its whole timeout, and {idle}."))


def pipe_shared_ends_claim() -> Judgement:
    """Article 003: each end of a pipe can be given to several processes at once. No run
    has two processes use one end; the documentation warns against it."""
    return Judgement(Verdict.UNMEASURED, (
        "In the EOF demo two processes hold the sending end, the parent's copy unused, but "
        "no run has two processes use one end at once. The multiprocessing documentation "
        "warns that data in a pipe may be corrupted if two processes or threads read from or "
        "write to the same end at the same time; a Queue is made for that."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_consumer_sentinels": consumer_sentinels_claim(found.setup, found.demos),
        "a001_pipe": pipe_claim(found.setup, found.pipes, found.demos),
        "a001_queue_full_empty": queue_full_empty_claim(found.answers, found.queue,
                                                        found.setup.start_method),
        "a001_pipe_before_process": pipe_before_process_claim(),
        "a003_pipes_faster": pipes_faster_claim(found.sweep),
        "a003_poll": poll_claim(found.setup, found.pipes, found.polls),
        "a003_pipe_shared_ends": pipe_shared_ends_claim(),
    }
