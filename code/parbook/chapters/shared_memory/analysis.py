"""What the shared-memory chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues, and the demonstrations' printouts it
shows)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.shared_memory.experiment import (
    COUNTER_LABELS,
    EXCHANGE_LABELS,
    HANDOFF_LABELS,
    OP_LABELS,
    SHARED_HANDOFFS,
)
from parbook.claims import Judgement, Verdict, judge
from parbook.render.formatting import (
    format_count,
    format_percent,
    format_ratio,
    format_seconds,
    spoken_list,
)
from parbook.shared.child import shorten_paths

#: How the page names each shared-memory hand-off in its list: (a) to (d).
HANDOFF_LETTERS = {"by_value": "(a)", "by_copy": "(b)", "by_name": "(c)", "kept": "(d)"}
#: The best shared-memory hand-off is "within twice the cost" of a memcpy up to this
#: multiple, and "less than copying the data once" below 1.
BEST_WITHIN = 2.0
#: What the resource tracker prints when it cleans up blocks nobody unlinked.
LEAK_WARNING = "leaked shared_memory objects"


@dataclass(frozen=True)
class Setting:
    """The interpreter and machine that ran the chapter."""

    python: str
    cpus: int
    start_method: str
    methods: list[str]
    has_track_parameter: bool

    @property
    def version(self) -> tuple[int, int]:
        """The interpreter's major and minor version: ``3.11.7`` -> ``(3, 11)``."""
        major, minor = (int(part) for part in self.python.split(".")[:2])
        return major, minor


@dataclass(frozen=True)
class Counter:
    """Processes adding one to a shared Value, without and with its lock held."""

    workers: int
    n: int
    #: start method -> {"no_lock" | "get_lock" -> {"expected", "counted", "seconds"}}
    by_method: dict[str, dict[str, dict[str, Any]]]
    #: (start method, "no_lock" | "get_lock") -> each worker's median seconds per update
    contended: dict[tuple[str, str], float]

    @property
    def expected(self) -> int:
        return self.workers * self.n

    @property
    def lost(self) -> dict[str, int]:
        """Updates lost without the lock, by start method."""
        return {method: counts["no_lock"]["expected"] - counts["no_lock"]["counted"]
                for method, counts in self.by_method.items()}

    @property
    def locked_exact(self) -> bool:
        """Whether the count was exact with the lock held, under every start method."""
        return all(counts["get_lock"]["counted"] == counts["get_lock"]["expected"]
                   for counts in self.by_method.values())


@dataclass(frozen=True)
class CounterCost:
    """Seconds per update of a shared counter in one process."""

    value: float
    value_get_lock: float
    raw_value: float


@dataclass(frozen=True)
class ManagerOps:
    """Seconds per operation on a Manager dict proxy and its local equivalents."""

    ops: dict[str, float]  # the keys of OP_LABELS

    @property
    def proxy_over_local(self) -> float:
        return self.ops["proxy_set"] / self.ops["local_set"]

    @property
    def proxy_over_value(self) -> float:
        return self.ops["proxy_set"] / self.ops["value_set"]


@dataclass(frozen=True)
class Exchange:
    """Running workers reporting results through a Queue or a Manager dict."""

    workers: int
    n: int
    times: dict[str, float]  # the keys of EXCHANGE_LABELS

    @property
    def total(self) -> int:
        """Results the parent collects in each case."""
        return self.workers * self.n

    @property
    def manager_over_queue_each(self) -> float:
        return self.times["manager_each"] / self.times["queue_each"]

    @property
    def manager_over_queue_batch(self) -> float:
        return self.times["manager_batch"] / self.times["queue_batch"]

    @property
    def each_over_batch_queue(self) -> float:
        return self.times["queue_each"] / self.times["queue_batch"]

    @property
    def each_over_batch_manager(self) -> float:
        return self.times["manager_each"] / self.times["manager_batch"]


@dataclass(frozen=True)
class Handoff:
    """Handing arrays of each size to a running worker, beside a memcpy of them."""

    sizes_mib: list[int]
    times: dict[tuple[int, str], float]  # (MiB, the keys of HANDOFF_LABELS) -> median
    first_touch: float
    second_touch: float

    @property
    def largest(self) -> int:
        return max(self.sizes_mib)

    @property
    def multiple(self) -> dict[tuple[int, str], float]:
        """Each time as a multiple of the memcpy of the same array."""
        return {key: seconds / self.times[(key[0], "memcpy")]
                for key, seconds in self.times.items()}

    def at_largest(self, how: str) -> float:
        return self.times[(self.largest, how)]

    def multiple_at_largest(self, how: str) -> float:
        return self.multiple[(self.largest, how)]

    @property
    def best_shared(self) -> str:
        """The cheapest shared-memory hand-off at the largest size."""
        return min(SHARED_HANDOFFS, key=self.multiple_at_largest)

    @property
    def best_shared_multiple(self) -> float:
        return self.multiple_at_largest(self.best_shared)

    @property
    def fault_share_of_by_name(self) -> float:
        """The first touch's page faults as a share of hand-off (c)."""
        return (self.first_touch - self.second_touch) / self.at_largest("by_name")


@dataclass(frozen=True)
class Demos:
    """The demonstrations under each start method and the child interpreters' output."""

    methods: list[str]
    by_method: dict[str, dict[str, Any]]
    #: "demos-METHOD", "worker-first-METHOD", "other-program", "other-program-untracked"
    #: -> what that child interpreter printed and how it ended
    children: dict[str, dict[str, Any]]

    @property
    def demos_quiet(self) -> bool:
        """Whether every demonstration interpreter ended in time and printed no error."""
        return all(self.children[f"demos-{m}"]["errors"] == ""
                   and not self.children[f"demos-{m}"]["killed"] for m in self.methods)

    def _summed_and_gone(self, key: str) -> bool:
        return all(not self.by_method[m][key]["exists_after"]
                   and self.by_method[m][key]["total"] == self.by_method[m]["expected_total"]
                   for m in self.methods)

    @property
    def owner_clean(self) -> bool:
        """The owner's workers summed the block right, and the owner removed it."""
        return self._summed_and_gone("owner")

    @property
    def manager_clean(self) -> bool:
        """The same, with a SharedMemoryManager owning the block."""
        return self._summed_and_gone("shared_memory_manager")

    @property
    def segments_left(self) -> int:
        """Blocks the demonstrations left in /dev/shm, under every start method together."""
        return sum(len(self.by_method[m]["new_segments_at_end"]) for m in self.methods)

    @property
    def exchange_all_received(self) -> bool:
        return all(count == self.by_method[m]["exchange"]["expected"]
                   for m in self.methods
                   for count in self.by_method[m]["exchange"]["received"].values())

    @property
    def handoff_all_correct(self) -> bool:
        return all(all(self.by_method[m]["handoff"].values()) for m in self.methods)

    @property
    def queue_share_ok(self) -> bool:
        """Another process doubled the owner's array in place, under every method."""
        return all(self.by_method[m]["queue_share"]["all_doubled"]
                   and self.by_method[m]["queue_share"]["worker_pid"]
                   != self.by_method[m]["queue_share"]["owner_pid"] for m in self.methods)

    @property
    def worker_first_destroyed(self) -> dict[str, bool]:
        """Whether the block was gone after a worker started before it had exited."""
        return {m: "is GONE" in self.children[f"worker-first-{m}"]["output"]
                for m in self.methods}

    @property
    def worker_first_warned(self) -> dict[str, bool]:
        return {m: _warned(self.children[f"worker-first-{m}"]) for m in self.methods}

    @property
    def other_destroyed(self) -> bool:
        """Whether a separate program's tracker unlinked the block it only read."""
        return "exited: False" in self.children["other-program"]["output"]

    @property
    def owner_complained(self) -> bool:
        """Whether the owner's own tracker warned about a block it could no longer find."""
        return "No such file or directory" in self.children["other-program"]["errors"]

    @property
    def other_warned(self) -> bool:
        return LEAK_WARNING in self.children["other-program"]["output"]

    @property
    def untracked_survived(self) -> bool:
        """Whether the block survived a reader that attached it untracked."""
        return "exited: True" in self.children["other-program-untracked"]["output"]

    @property
    def untracked_quiet(self) -> bool:
        return not _warned(self.children["other-program-untracked"])


def _warned(child: dict[str, Any]) -> bool:
    return LEAK_WARNING in child["errors"] + child["output"]


@dataclass(frozen=True)
class Findings:
    """Everything the shared-memory page concludes from one result, by section."""

    setting: Setting
    counter: Counter
    counter_cost: CounterCost
    manager: ManagerOps
    exchange: Exchange
    handoff: Handoff
    demos: Demos


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    params, values = result.parameters, result.values
    methods, demos = params["methods"], values["demos"]
    return Findings(
        setting=Setting(python=params["python"], cpus=params["cpus"],
                        start_method=params["start_method"], methods=methods,
                        has_track_parameter=params["has_track_parameter"]),
        counter=Counter(
            workers=params["counter_workers"], n=params["counter_n"],
            by_method={m: demos[m]["counter"] for m in methods},
            contended={(m, how): result.median("counter_contended", method=m, how=how)
                       for m in methods for how in COUNTER_LABELS},
        ),
        counter_cost=CounterCost(
            value=result.median("counter_cost", how="value"),
            value_get_lock=result.median("counter_cost", how="value_get_lock"),
            raw_value=result.median("counter_cost", how="raw_value"),
        ),
        manager=ManagerOps(ops={op: result.median("manager_ops", op=op) for op in OP_LABELS}),
        exchange=Exchange(workers=params["exchange_workers"], n=params["exchange_n"],
                          times={how: result.median("exchange", how=how)
                                 for how in EXCHANGE_LABELS}),
        handoff=Handoff(
            sizes_mib=params["handoff_mib"],
            times={(mib, how): result.median("handoff", mib=mib, how=how)
                   for mib in params["handoff_mib"] for how in HANDOFF_LABELS},
            first_touch=result.median("first_touch", touch="first"),
            second_touch=result.median("first_touch", touch="second"),
        ),
        demos=Demos(methods=methods, by_method=demos, children=values["children"]),
    )


# --- data-dependent sentences ---------------------------------------------------------------


def lost_sentence(counter: Counter) -> str:
    """How many updates the bare ``v.value += 1`` lost, across the start methods."""
    lost = counter.lost.values()
    fewest, most = min(lost), max(lost)
    expected = format_count(counter.expected)
    if most == 0:
        return (f"The bare v.value += 1 lost none of the {expected} updates, under any start "
                "method: the processes never happened to interleave between a read and a "
                "write in this run.")
    if fewest == most:
        return (f"The bare v.value += 1 lost {format_count(most)} of the {expected} updates "
                "under every start method.")
    return (f"The bare v.value += 1 lost between {format_count(fewest)} and "
            f"{format_count(most)} of the {expected} updates, depending on how often the "
            "processes' reads and writes happened to interleave.")


def lost_cell(counter: Counter) -> str:
    """The summary table's cell for the updates the bare ``+=`` lost."""
    lost = counter.lost.values()
    fewest, most = min(lost), max(lost)
    if most == 0:
        return "none, under every start method"
    if fewest == most:
        return f"{format_count(most)} of {format_count(counter.expected)}, under every start method"
    return (f"{format_count(fewest)} to {format_count(most)} of "
            f"{format_count(counter.expected)} (fewest and most over the start methods)")


def locked_sentence(counter: Counter) -> str:
    """Whether the count was right with the lock held across the update."""
    if counter.locked_exact:
        return ("Holding get_lock() for the whole read-add-write made the count exactly right "
                "under every start method.")
    return ("Holding get_lock() for the whole read-add-write should make the count exact, yet "
            "in this run it did not under every start method: see the table.")


def exchange_each_sentence(exchange: Exchange) -> str:
    """Which channel was cheaper for results reported one at a time."""
    each = format_ratio(exchange.manager_over_queue_each)
    if exchange.manager_over_queue_each > 1:
        return (f"One result at a time, the queue was the cheaper of the two: the Manager dict "
                f"took {each} as long.")
    return (f"One result at a time, the Manager dict was the cheaper of the two, at {each} "
            "the time of the queue.")


def batch_sentence(exchange: Exchange) -> str:
    """What sending each worker's results as one batch changed, against the channel."""
    queue, manager = exchange.each_over_batch_queue, exchange.each_over_batch_manager
    channel = max(exchange.manager_over_queue_each, 1 / exchange.manager_over_queue_each)
    if min(queue, manager) > channel:
        return ("Sending each worker's results as one batch changed far more than the choice "
                f"of channel: it made the queue {format_ratio(queue)} faster and the dict "
                f"{format_ratio(manager)} faster.")
    if min(queue, manager) > 1:
        return (f"Sending each worker's results as one batch made the queue "
                f"{format_ratio(queue)} faster and the dict {format_ratio(manager)} faster.")
    return ("Sending each worker's results as one batch did not make both faster here: the "
            f"queue took {format_ratio(1 / queue)} and the dict {format_ratio(1 / manager)} "
            "of their times one result at a time.")


def advice_sentence(exchange: Exchange) -> str:
    """Whether article 000's advice (a Manager rather than a Queue) held here."""
    if exchange.manager_over_queue_each > 1:
        return "So the advice does not hold here for reporting results: a queue was cheaper."
    return "So the advice held here, even for results reported one by one."


def best_sentence(handoff: Handoff) -> str:
    """How the best shared-memory hand-off compares with copying the data once."""
    best = handoff.best_shared_multiple
    opening = (f"The best shared-memory hand-off, {HANDOFF_LETTERS[handoff.best_shared]}, came "
               f"to {format_ratio(best)} the memcpy floor")
    if best < 1:
        return f"{opening}: less than copying the data once in the parent."
    if best <= BEST_WITHIN:
        return f"{opening}: within twice the cost of copying the data once."
    return (f"{opening}: more than twice the cost of copying the data once, on this machine "
            "(see the spread table for how noisy the case was).")


def touch_sentence(handoff: Handoff) -> str:
    """What attaching anew cost in page faults, from the worker's first and second sums."""
    first, second = format_seconds(handoff.first_touch), format_seconds(handoff.second_touch)
    if handoff.first_touch > handoff.second_touch:
        return (f"Its first sum took {first} and its second {second}: the difference, the page "
                f"faults, was about {format_percent(handoff.fault_share_of_by_name)} of the "
                "time of hand-off (c).")
    return (f"Its first sum took {first} and its second {second}: here the page faults did "
            "not show above the variation between runs.")


def worker_first_sentence(demos: Demos) -> str:
    """Under which start methods a worker started before the first block destroyed it."""
    destroyed = [m for m, gone in demos.worker_first_destroyed.items() if gone]
    kept = [m for m in demos.methods if m not in destroyed]
    if destroyed == ["fork"] and kept:
        return ("In this build, under fork the block was gone within half a second of the "
                f"worker's exit and the tracker warned; under {spoken_list(kept)} it was still "
                "there and nothing was printed. A fork child of a parent without a running "
                "tracker starts its own when it first attaches a block, while spawn and "
                "forkserver children always get the parent's.")
    if destroyed and kept:
        return (f"In this build, under {spoken_list(destroyed)} the block was gone within half "
                f"a second of the worker's exit and the tracker warned; under "
                f"{spoken_list(kept)} it was still there and nothing was printed.")
    if destroyed:
        return (f"In this build, under every start method ({spoken_list(destroyed)}) the block "
                "was gone within half a second of the worker's exit.")
    return ("In this build the block was still there after the worker exited, under every "
            "start method: this Python shares the tracker with fork children too.")


def track_text(setting: Setting) -> str:
    """Which branch of ``attach_from_another_program`` this build's Python took."""
    if setting.has_track_parameter:
        return (f"This build runs Python {setting.python}, so the reader took the first "
                "branch and attached with track=False.")
    return (f"This build runs Python {setting.python}, whose SharedMemory has no track "
            "parameter, so the reader took the other branch: it attached normally and then "
            "unregistered the block from its own tracker.")


def other_program_sentence(demos: Demos) -> str:
    """What became of the block after another program read it, and who complained."""
    if not demos.other_destroyed:
        return ("This time the block was still there once the reader had exited: its tracker "
                "left it alone (see the printout).")
    destroyed = ("The reader's tracker warned about a \"leak\" and cleaned it up: once the "
                 "reader had exited, the block was gone, nobody could attach it by name any "
                 "more, and the owner's own unlink() failed.")
    if demos.owner_complained:
        return (f"{destroyed} The owner's tracker then warned as well, about a block it could "
                "no longer find.")
    return destroyed


def untracked_sentence(demos: Demos) -> str:
    """What became of the block after an untracked reader exited."""
    if demos.untracked_survived and demos.untracked_quiet:
        return ("With it, the same demonstration ends cleanly: the block was still there after "
                "the reader exited, and the owner unlinked it itself.")
    if demos.untracked_survived:
        return ("With it, the block was still there after the reader exited and the owner "
                "unlinked it itself, but a tracker warned all the same (see the printout).")
    return ("Even so, the block was gone after the reader exited (see the printout), which "
            "this workaround exists to prevent.")


def lifecycle_sentence(demos: Demos) -> str:
    """Whether the owner-unlinks pattern left anything behind or printed anything."""
    if demos.owner_clean and demos.segments_left == 0 and demos.demos_quiet:
        return ("Under every start method the workers' total was right, nothing was left in "
                "/dev/shm, and at every exit nothing was printed: no warnings from the resource "
                "tracker, which the next section is about.")
    if demos.owner_clean and demos.segments_left == 0:
        return ("Under every start method the workers' total was right and nothing was left "
                "in /dev/shm, but something was printed at exit (see the printout); the next "
                "section is about the resource tracker, which prints such warnings.")
    return ("In this run the pattern did not hold under every start method: the printout shows "
            "what was left behind or summed wrong.")


def queue_share_sentence(demos: Demos, method: str) -> str:
    """What travelled on the queue, and whether the owner's array changed in place."""
    shared = demos.by_method[method]["queue_share"]
    sizes = (f"The message on the queue was {format_count(shared['message_bytes'])} bytes for "
             f"{format_count(shared['array_bytes'])} bytes of data")
    if demos.queue_share_ok:
        return (f"{sizes}, and nothing was sent back: the owner's array had changed, under "
                "every start method.")
    return (f"{sizes}, but the owner's array had not changed under every start method (see "
            "the printout).")


def other_program_cell(demos: Demos) -> str:
    """The summary table's cell for the block another program read."""
    if demos.other_destroyed:
        return "gone: that program's resource tracker had unlinked it"
    return "still there"


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    seconds, ratio = format_seconds, format_ratio
    counter, handoff, manager, exchange = (found.counter, found.handoff, found.manager,
                                           found.exchange)
    return [
        (f"handing a {handoff.largest} MiB array to a running worker, pickled through a Pipe",
         f"{seconds(handoff.at_largest('by_value'))} "
         f"({ratio(handoff.multiple_at_largest('by_value'))} a memcpy of it)"),
        ("the same, with the array in a shared block the worker keeps mapped",
         f"{seconds(handoff.at_largest('kept'))} "
         f"({ratio(handoff.multiple_at_largest('kept'))} a memcpy of it)"),
        (f"updates lost, {counter.workers} processes each adding 1 to a Value "
         f"{format_count(counter.n)} times with v.value += 1", lost_cell(counter)),
        ("the same, holding v.get_lock() around each update",
         "none, under every start method" if counter.locked_exact
         else "some, which should not happen"),
        ("one store into a Manager dict",
         f"{seconds(manager.ops['proxy_set'])} "
         f"({ratio(manager.proxy_over_local)} a store into a local dict)"),
        (f"{format_count(exchange.total)} results reported one at a time, through a Queue",
         seconds(exchange.times["queue_each"])),
        ("the same, one store each into a Manager dict",
         seconds(exchange.times["manager_each"])),
        ("a block that a separate program attached, read and closed, after it exited",
         other_program_cell(found.demos)),
        ("blocks left in /dev/shm by the owner-unlinks pattern, every start method",
         str(found.demos.segments_left)),
    ]


def other_program_rule_text(demos: Demos) -> str:
    """What the other program's tracker did to the block, for the rules page."""
    return "unlinked it" if demos.other_destroyed else "left it alone"


# --- the demonstrations' printouts, as the page shows them -----------------------------------

def short_paths(text: str) -> str:
    """Tracebacks and warnings with file names instead of this machine's paths."""
    return re.sub(r"(?:/[^\s:'\"]+)+/([\w.]+\.py)", r"\1", shorten_paths(text))


def lifecycle_output(demos: Demos) -> str:
    """What ``owner_total`` did under each start method, and how its interpreter ended."""
    lines = []
    for method in demos.methods:
        demo = demos.by_method[method]
        owner, child = demo["owner"], demos.children[f"demos-{method}"]
        lines += [
            f"--- start method {method}",
            f"psm_ blocks before: {owner['before']}",
            f"the owner created {owner['name']} ({demo['block_mib']:.1f} MiB); "
            f"{owner['workers']} workers attached it by name and summed a slice each: total "
            f"{owner['total']:.0f} (expected {demo['expected_total']:.0f})",
            f"new psm_ blocks after: {owner['new_after']}",
            f"the child interpreter exited with code {child['returncode']}; "
            f"its standard error: {child['errors'] or '(nothing)'}",
        ]
    return "\n".join(lines)


def manager_output(demos: Demos) -> str:
    """What ``manager_total`` returned under each start method."""
    return "\n".join(
        f"{method:>10}: total {managed['total']:.0f}; {managed['name']} exists after the "
        f"manager shut down: {managed['exists_after']}"
        for method, managed in ((m, demos.by_method[m]["shared_memory_manager"])
                                for m in demos.methods))


def owner_and_reader_output(child: dict[str, Any]) -> str:
    """What an owner that ran another program as its reader printed, paths shortened."""
    errors = short_paths(child["errors"]) or "(nothing)"
    return (short_paths(child["output"]) + "--- owner's standard error:\n" + errors).rstrip("\n")


def worker_first_output(demos: Demos) -> str:
    """What ``worker_started_first`` printed under each start method."""
    parts = []
    for method in demos.methods:
        child = demos.children[f"worker-first-{method}"]
        errors = short_paths(child["errors"]).strip() or "(nothing)"
        parts.append(f"--- start method {method}: exit code {child['returncode']}\n"
                     f"{child['output']}standard error: {errors}")
    return "\n".join(parts)


def queue_share_output(demos: Demos) -> str:
    """What ``share_through_queue`` found under each start method."""
    return "\n".join(
        f"{method:>10}: the message was {shared['message_bytes']:,} bytes for an array of "
        f"{shared['array_bytes']:,} bytes; worker {shared['worker_pid']} doubled it in place; "
        f"the owner ({shared['owner_pid']}) now reads {shared['first_values']} ...; "
        f"all doubled: {shared['all_doubled']}"
        for method, shared in ((m, demos.by_method[m]["queue_share"]) for m in demos.methods))


def outputs(demos: Demos) -> dict[str, str]:
    """Each demonstration's printout, by output id."""
    return {
        "shared-memory-lifecycle": lifecycle_output(demos),
        "shared-memory-manager": manager_output(demos),
        "shared-memory-other-program": owner_and_reader_output(demos.children["other-program"]),
        "shared-memory-worker-first": worker_first_output(demos),
        "shared-memory-untracked": owner_and_reader_output(
            demos.children["other-program-untracked"]),
        "shared-memory-queue-share": queue_share_output(demos),
    }


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page (and the rules page) glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    setting, counter, cost = found.setting, found.counter, found.counter_cost
    manager, exchange, handoff, demos = found.manager, found.exchange, found.handoff, found.demos
    largest, ops, times = handoff.largest, manager.ops, exchange.times
    glued: dict[str, Any] = {
        "sm_python": setting.python,
        "sm_cpus": str(setting.cpus),
        "sm_start_method": setting.start_method,
        "sm_methods": spoken_list(setting.methods),
        # Value and Array.
        "sm_counter_workers": str(counter.workers),
        "sm_counter_n": format_count(counter.n),
        "sm_counter_expected": format_count(counter.expected),
        "sm_lost_sentence": lost_sentence(counter),
        "sm_locked_sentence": locked_sentence(counter),
        **{f"sm_contended_{how}": seconds(counter.contended[(setting.start_method, how)])
           for how in COUNTER_LABELS},
        "sm_cost_value": seconds(cost.value),
        "sm_cost_get_lock": seconds(cost.value_get_lock),
        "sm_cost_raw": seconds(cost.raw_value),
        # Manager.
        **{f"sm_op_{name}": seconds(value) for name, value in ops.items()},
        "sm_proxy_over_local": ratio(manager.proxy_over_local),
        "sm_proxy_over_value": ratio(manager.proxy_over_value),
        **{f"sm_exchange_{how}": seconds(value) for how, value in times.items()},
        "sm_exchange_workers": str(exchange.workers),
        "sm_exchange_n": format_count(exchange.n),
        "sm_exchange_total": format_count(exchange.total),
        "sm_exchange_each_sentence": exchange_each_sentence(exchange),
        "sm_batch_sentence": batch_sentence(exchange),
        "sm_exchange_batch_ratio": ratio(exchange.manager_over_queue_batch),
        "sm_advice_sentence": advice_sentence(exchange),
        # shared_memory hand-off.
        "sm_largest_mib": str(largest),
        "sm_sizes": ", ".join(f"{mib} MiB" for mib in handoff.sizes_mib),
        "sm_best_sentence": best_sentence(handoff),
        "sm_touch_sentence": touch_sentence(handoff),
        # Lifetime and the resource tracker.
        "sm_worker_first_sentence": worker_first_sentence(demos),
        "sm_track_text": track_text(setting),
        "sm_other_program_sentence": other_program_sentence(demos),
        "sm_untracked_sentence": untracked_sentence(demos),
        "sm_lifecycle_sentence": lifecycle_sentence(demos),
        "sm_queue_share_sentence": queue_share_sentence(demos, setting.start_method),
        # Quoted by the rules page.
        "sm_rule_by_value": f"{seconds(handoff.at_largest('by_value'))} "
                            f"({ratio(handoff.multiple_at_largest('by_value'))} a memcpy)",
        "sm_rule_kept": f"{seconds(handoff.at_largest('kept'))} "
                        f"({ratio(handoff.multiple_at_largest('kept'))} a memcpy)",
        "sm_rule_size": f"{largest} MiB",
        "sm_rule_other_program": other_program_rule_text(demos),
        "sm_rule_left": str(demos.segments_left),
        "sm_rule_proxy_set": f"{seconds(ops['proxy_set'])} "
                             f"({ratio(manager.proxy_over_local)} a store into a local dict)",
        "sm_rule_results": format_count(exchange.total),
        "sm_rule_manager_each": seconds(times["manager_each"]),
        "sm_rule_queue_each": seconds(times["queue_each"]),
    }
    for how in HANDOFF_LABELS:
        glued[f"sm_handoff_{how}"] = seconds(handoff.at_largest(how))
        glued[f"sm_handoff_{how}_x"] = ratio(handoff.multiple_at_largest(how))
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: The Python versions, first and last, that article 003 (quoting a Stack Overflow answer
#: of January 2021) says have the resource tracker's bug.
TRACKER_BUG_VERSIONS = ((3, 8), (3, 10))
#: A pickled hand-off "copies the array" when its time grew at least half as fast as the
#: array did, from the smallest size to the largest: costs that do not depend on the data
#: (the messages, the worker's wake-up) would not grow at all.
COPY_GROWTH_FROM = 0.5
#: A store into a Manager dict is "a message, not a memory store" when it costs at least
#: this many times a store into a Value, which is a store into shared memory behind a lock.
MESSAGE_NOT_MEMORY_FROM = 10.0


def manager_claim(exchange: Exchange) -> Judgement:
    """Article 000: share data through a Manager rather than a Queue, whose communication
    it calls expensive."""
    each, batch = exchange.manager_over_queue_each, exchange.manager_over_queue_batch
    figures = (f"Collecting {format_count(exchange.total)} results from "
               f"{exchange.workers} running workers, a Manager dict took {format_ratio(each)} "
               f"the time of a Queue with one result per message and {format_ratio(batch)} "
               "with one batch per worker")
    if each <= 1 and batch <= 1:
        return Judgement(Verdict.HOLDS, f"{figures}: the Manager was the cheaper channel.")
    if each <= 1 or batch <= 1:
        cheaper = "one result at a time" if each <= 1 else "in batches"
        return Judgement(Verdict.PARTLY, f"{figures}, so the Manager was cheaper only {cheaper}.")
    return Judgement(Verdict.FAILS, f"{figures}: the Queue was the cheaper channel both ways.")


def torch_no_copy_claim() -> Judgement:
    """Article 001: with ``share_memory_()``, ``torch.multiprocessing`` sends tensors to other
    processes without copying them."""
    return Judgement(Verdict.UNMEASURED, (
        "PyTorch is not a dependency of the book, so no run sends a tensor; the chapter only "
        "shows the same mechanism for a numpy array in a shared_memory block."))


def torch_advice_claim() -> Judgement:
    """Article 003: PyTorch users should use ``torch.multiprocessing`` and
    ``share_memory_()``."""
    return Judgement(Verdict.UNMEASURED, (
        "PyTorch is not a dependency of the book, so no run uses torch.multiprocessing or "
        "share_memory_(); the chapter describes them without measuring them."))


def shared_not_faster_claim(demos: Demos, exchange: Exchange, manager: ManagerOps,
                            method: str) -> Judgement:
    """Article 003: shared memory (Value, Array, a Manager) avoids copying the data, but is
    not automatically faster. A Manager, though, shares nothing in memory."""
    if not demos.queue_share_ok:
        return Judgement(Verdict.FAILS, (
            "In this build a worker handed a shared_memory block's name did not change the "
            "owner's array in place under every start method, so the demonstration did not "
            "show the copy avoided."))
    shared = demos.by_method[method]["queue_share"]
    avoided = (f"A shared_memory block avoided the copy: a message of "
               f"{format_count(shared['message_bytes'])} bytes handed a worker "
               f"{format_count(shared['array_bytes'])} bytes, which it changed in place")
    remote = ("A Manager is not shared memory, though: a store into its dict, a message to its "
              f"server process, cost {format_ratio(manager.proxy_over_value)} a store into a "
              "Value.")
    ratio = format_ratio(exchange.manager_over_queue_each)
    if exchange.manager_over_queue_each > 1:
        return Judgement(Verdict.PARTLY, (
            f"{avoided}, and sharing was not automatically faster: a Manager dict took {ratio} "
            f"the time of a Queue to collect the same results. {remote}"))
    return Judgement(Verdict.PARTLY, (
        f"{avoided}; a Manager dict collected results in {ratio} the time of a Queue, so this "
        f"build did not show sharing being slower. {remote}"))


def tracker_bug_claim(setting: Setting, demos: Demos) -> Judgement:
    """Article 003: in Python 3.8 to 3.10, the resource tracker can destroy a shared_memory
    block that other processes still use. Judged from the demonstration in which a separate
    program attaches the owner's block, reads it, closes it and exits."""
    (first_major, first_minor), (last_major, last_minor) = TRACKER_BUG_VERSIONS
    claimed = f"{first_major}.{first_minor} to {last_major}.{last_minor}"
    python = setting.python
    destroyed = ("a separate program that only attached, read and closed a block had it "
                 "unlinked by its resource tracker at exit, while the owner still needed it")
    kept = ("a separate program that attached, read and closed a block left it in place for "
            "its owner")
    if TRACKER_BUG_VERSIONS[0] <= setting.version <= TRACKER_BUG_VERSIONS[1]:
        return judge(demos.other_destroyed, f"On this build's Python {python}, {destroyed}.",
                     f"On this build's Python {python}, {kept}.")
    not_run = (f"This build ran Python {python}, not one of the versions the article names "
               f"({claimed}).")
    if demos.other_destroyed:
        return Judgement(Verdict.PARTLY, (
            f"{not_run} On it too, {destroyed}, so the bug is not confined to those versions."))
    return Judgement(Verdict.UNMEASURED, f"{not_run} On it, {kept}.")


def use_shared_memory_claim(handoff: Handoff, exchange: Exchange) -> Judgement:
    """Article 000's remedy: communicate less between processes, and use shared memory.
    Judged from the largest array handed to a running worker (kept mapped in shared memory
    against pickled through a Pipe) and from results sent to a Queue in batches."""
    mib = handoff.largest
    pickled, kept = handoff.at_largest("by_value"), handoff.at_largest("kept")
    batched = exchange.each_over_batch_queue
    shared_paid, less_paid = kept < pickled, batched > 1
    shared = (f"a {mib} MiB array that a running worker keeps mapped in shared memory took "
              f"{format_seconds(kept)} to hand over, against {format_seconds(pickled)} pickled "
              "through a Pipe")
    not_shared = (f"a {mib} MiB array that a running worker keeps mapped in shared memory took "
                  f"{format_seconds(kept)} to hand over, no less than {format_seconds(pickled)} "
                  "pickled through a Pipe")
    if shared_paid and less_paid:
        return Judgement(Verdict.HOLDS, (
            f"Shared memory and fewer messages both paid on this build: {shared}, and "
            f"sending results in one batch per worker made a Queue {format_ratio(batched)} "
            "faster than one message per result."))
    if shared_paid:
        return Judgement(Verdict.PARTLY, (
            f"Shared memory paid on this build: {shared}. Communicating less did not: one batch "
            f"per worker took {format_ratio(1 / batched)} the time of one message per result "
            "on a Queue."))
    if less_paid:
        return Judgement(Verdict.PARTLY, (
            f"Communicating less paid on this build: one batch per worker made a Queue "
            f"{format_ratio(batched)} faster than one message per result. Shared memory did "
            f"not: {not_shared}."))
    return Judgement(Verdict.FAILS, (
        f"Neither shared memory nor fewer messages paid on this build: {not_shared}, and "
        f"one batch per worker took {format_ratio(1 / batched)} the time of one message per "
        "result on a Queue."))


def copy_per_receiver_claim(handoff: Handoff) -> Judgement:
    """Article 003: a Pipe or a Queue deep-copies what it carries, so the more receivers,
    the more memory is used. Memory is not measured; the copying shows in the time of a
    pickled hand-off, if it grows with the array."""
    smallest, largest = min(handoff.sizes_mib), handoff.largest
    growth = handoff.at_largest("by_value") / handoff.times[(smallest, "by_value")]
    unmeasured = ("How much memory each receiver's copy takes, and how it adds up over "
                  "several receivers, is judged in the next point, from the memory chapter.")
    if growth >= COPY_GROWTH_FROM * largest / smallest:
        return Judgement(Verdict.PARTLY, (
            f"Pickled through a Pipe, a {largest} MiB array took {format_ratio(growth)} as long "
            f"to hand to a worker as a {smallest} MiB one, and "
            f"{format_ratio(handoff.multiple_at_largest('by_value'))} a memcpy of it: every "
            f"hand-off copies the whole array to its receiver. {unmeasured}"))
    return Judgement(Verdict.UNMEASURED, (
        f"Pickled through a Pipe, a {largest} MiB array took only {format_ratio(growth)} as "
        f"long to hand to a worker as a {smallest} MiB one, so the timings did not show the "
        f"copy growing with the data. {unmeasured}"))


def manager_is_shared_memory_claim(manager: ManagerOps) -> Judgement:
    """Article 003: a Manager creates a region of shared memory. Judged from what a store
    into a Manager dict costs against a store into a Value, which is in shared memory."""
    figures = (f"A store into a Manager dict took {format_seconds(manager.ops['proxy_set'])}, "
               f"{format_ratio(manager.proxy_over_value)} a store into a Value in shared memory "
               f"({format_seconds(manager.ops['value_set'])})")
    if manager.proxy_over_value >= MESSAGE_NOT_MEMORY_FROM:
        return Judgement(Verdict.FAILS, (
            f"{figures}: the cost of a message to another process, not of a memory store. A "
            "Manager keeps its objects in a server process, and every proxy call is a round "
            "trip to it."))
    return Judgement(Verdict.UNMEASURED, (
        f"{figures}, too close for the timings to tell a message from a memory store. The "
        "Python documentation describes a Manager as a server process that holds the objects, "
        "reached through proxies."))


def shared_memory_version_claim() -> Judgement:
    """Article 003: shared_memory is new in Python 3.9 (elsewhere in the article, 3.8)."""
    return Judgement(Verdict.UNMEASURED, (
        "A fact about Python's history, which no run can show: the multiprocessing."
        "shared_memory module was added in Python 3.8, as its documentation states, not in "
        "3.9; the article names both versions."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a000_manager": manager_claim(found.exchange),
        "a000_use_shared_memory": use_shared_memory_claim(found.handoff, found.exchange),
        "a001_torch": torch_no_copy_claim(),
        "a003_copy_per_receiver": copy_per_receiver_claim(found.handoff),
        "a003_manager_is_shared_memory": manager_is_shared_memory_claim(found.manager),
        "a003_shared_memory_version": shared_memory_version_claim(),
        "a003_shared_not_faster": shared_not_faster_claim(
            found.demos, found.exchange, found.manager, found.setting.start_method),
        "a003_tracker_bug": tracker_bug_claim(found.setting, found.demos),
        "a003_torch": torch_advice_claim(),
    }
