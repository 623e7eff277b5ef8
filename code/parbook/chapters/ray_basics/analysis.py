"""What the Ray basics chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.ray_basics.experiment import ANTI_PATTERN_LABELS, FIX, PROBLEM, SIZE_LABELS
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import (
    format_rate,
    format_ratio,
    format_seconds,
    format_size,
    spoken_list,
)
from parbook.shared.raysession import LOCAL_OBJECT_STORE_BYTES

#: A fix that gains less than this factor over its anti-pattern "gained little".
LITTLE_GAIN_BELOW = 1.1
#: ``ray.get`` "hardly grows with size" when its growth from the smallest to the largest
#: array is less than the ``memcpy``'s growth divided by this.
FLAT_GET_FACTOR = 10
#: An object size this close (bytes) to the documented inline limit counts as that limit:
#: the object size adds Ray's metadata to the serialised data.
LIMIT_TOLERANCE_BYTES = 64
#: A put that took at least this many page faults per page it wrote wrote into pages
#: the process did not have mapped yet; below it, into pages it already had.
FRESH_FAULTS_FROM = 0.5
#: The page faults of puts are classified from this size up; smaller puts write a page
#: or two, which the faults of everything else around them drown.
COUNTED_FROM_BYTES = 1 << 20
#: A put that used at least this many times the CPU seconds per wall second of the copy
#: it is compared with ran on several threads at once.
PARALLEL_FROM = 1.2
#: A copy split over threads that took within this fraction of the one-thread copy's time
#: took "about as long".
SPLIT_TOLERANCE = 0.1


@dataclass(frozen=True)
class Session:
    """Where the chapter's Ray ran and what starting it cost."""

    workers: int
    address: str
    nodes: int
    init_s: float
    object_store_bytes: int


@dataclass(frozen=True)
class TasksDemo:
    """The first tasks: what ``.remote()`` returns, how long it takes, where tasks run."""

    lines: tuple[str, ...]
    ref_type: str
    value: int
    values: tuple[int, ...]
    chained: int
    first_submit_s: float
    submitted_s: float
    got_s: float
    task_pids: tuple[int, ...]
    driver_pid: int


@dataclass(frozen=True)
class WaitDemo:
    """``ray.wait`` and a ``ray.get`` that times out."""

    lines: tuple[str, ...]
    ready: int
    pending: int
    polled: int
    timeout_error: str
    is_timeout_error: bool
    timeout_s: float
    waited_s: float
    late_value: float


@dataclass(frozen=True)
class ActorDemo:
    """Calls sent to one actor without waiting, and a second actor's separate state."""

    lines: tuple[str, ...]
    means: tuple[float, ...]
    seen: tuple[float, ...]
    other_seen: tuple[float, ...]
    pids: tuple[int, ...]
    driver_pid: int

    @property
    def ran_in_order(self) -> bool:
        """Whether the actor saw the values in the order they were sent."""
        return list(self.seen) == sorted(self.seen)


@dataclass(frozen=True)
class ZeroCopyDemo:
    """What ``ray.get`` of a put numpy array gives back."""

    lines: tuple[str, ...]
    writeable: bool
    owndata: bool
    two_gets_share_memory: bool
    shares_memory_with_original: bool
    write_error: str | None
    copy_writeable: bool
    task_error: str | None
    task_error_is_value_error: bool
    unchanged: bool

    @property
    def read_in_place(self) -> bool:
        """Whether two ``ray.get`` calls returned read-only views of the same memory."""
        return self.two_gets_share_memory and not self.owndata and not self.writeable


@dataclass(frozen=True)
class PlacedObject:
    """Where one object ended up: the owner's memory or the shared object store."""

    how: str            # "task result" | "ray.put"
    array_bytes: int
    object_bytes: int   # data plus Ray's metadata, as Ray counts it
    place: str          # "owner's memory" | "object store"


@dataclass(frozen=True)
class InlineLimit:
    """The largest task result kept in its owner's memory, found by bisection."""

    inline_array_bytes: int
    inline_object_bytes: int
    stored_array_bytes: int
    stored_object_bytes: int
    probes: int
    documented_bytes: int


@dataclass(frozen=True)
class ObjectPlacement:
    """Where task results and put objects live (section "ray.put and the object store")."""

    placed: tuple[PlacedObject, ...]
    limit: InlineLimit

    def place_of(self, how: str, array_bytes: int) -> str:
        """Where the object made ``how`` from an array of ``array_bytes`` bytes lived."""
        return next(row.place for row in self.placed
                    if row.how == how and row.array_bytes == array_bytes)


@dataclass(frozen=True)
class OutOfBand:
    """What pickle protocol 5 with a buffer callback does with one numpy array."""

    array_bytes: int
    stream_bytes: int
    buffers: int
    buffer_bytes: int
    buffer_is_the_array: bool
    restored_equal: bool
    in_band_bytes: int


@dataclass(frozen=True)
class Serialisation:
    """What Ray serialises with in this build's environment."""

    ray_version: str
    cloudpickle_version: str
    pyarrow_installed: bool
    out_of_band: OutOfBand


@dataclass(frozen=True)
class Calls:
    """Seconds per call of a tiny message (median), by way of calling."""

    ray_calls: int
    batch_calls: int
    seconds: dict[str, float]  # how (experiment.CALL_LABELS) -> seconds per call

    def over_pipe(self, how: str) -> float:
        """A call's cost as a multiple of the raw ``os.pipe`` round trip."""
        return self.seconds[how] / self.seconds["os_pipe"]

    @property
    def task_over_actor(self) -> float:
        return self.seconds["task"] / self.seconds["actor"]


@dataclass(frozen=True)
class SizeSweep:
    """Seconds per operation on an array (median), by size, and the store's warm-up; for
    the copies and ``ray.put``, their page faults per page written and CPU seconds per
    wall second (medians of a few untimed runs)."""

    sizes: tuple[int, ...]
    seconds: dict[tuple[int, str], float]  # (bytes, how in SIZE_LABELS) -> seconds
    warmup_bytes: int
    warmup_s: float
    faults_per_page: dict[tuple[int, str], float]  # (bytes, how in COUNTED) -> faults
    cpu_per_wall: dict[tuple[int, str], float]  # (bytes, how in COUNTED) -> CPU s per s
    memcopy_threads: int  # threads ray.put copies a large buffer on (Ray's source)
    memcopy_threshold: int  # bytes above which it does
    #: The fastest and slowest single ``ray.put`` of the largest array, in the warm store.
    put_largest_range: tuple[float, float]

    def put_fresh(self, size: int) -> bool:
        """Whether the put at ``size`` wrote into pages this process did not have mapped."""
        return self.faults_per_page[(size, "put")] >= FRESH_FAULTS_FROM

    @property
    def counted_sizes(self) -> tuple[int, ...]:
        """The sizes whose puts the page classifies by their page faults."""
        return tuple(size for size in self.sizes if size >= COUNTED_FROM_BYTES)

    @property
    def smallest(self) -> int:
        return min(self.sizes)

    @property
    def largest(self) -> int:
        return max(self.sizes)

    def over(self, how: str, floor: str, size: int) -> float:
        """Operation ``how`` at ``size`` as a multiple of ``floor`` at the same size."""
        return self.seconds[(size, how)] / self.seconds[(size, floor)]

    def growth(self, how: str) -> float:
        """How many times longer ``how`` took at the largest size than at the smallest."""
        return self.seconds[(self.largest, how)] / self.seconds[(self.smallest, how)]

    @property
    def size_growth(self) -> float:
        return self.largest / self.smallest

    @property
    def ref_wins_from(self) -> int | None:
        """The smallest size from which a task on a put ref beat passing the array by
        value at every larger size too; None if it never did."""
        return next((size for i, size in enumerate(self.sizes)
                     if all(self.seconds[(s, "task_ref")] < self.seconds[(s, "task_value")]
                            for s in self.sizes[i:])), None)

    @property
    def warmup_rate(self) -> float:
        """Bytes per second of the first puts into the fresh store."""
        return self.warmup_bytes / self.warmup_s

    @property
    def warmup_put_s(self) -> float:
        """Seconds per put of the largest array in the warm-up, into the fresh store."""
        return self.largest / self.warmup_rate

    @property
    def put_rate_largest(self) -> float:
        """Bytes per second of ``ray.put`` of the largest array, in a warm store."""
        return self.largest / self.seconds[(self.largest, "put")]


@dataclass(frozen=True)
class AntiPatterns:
    """Each documented anti-pattern against its fix: total seconds (median) and sizes."""

    seconds: dict[tuple[str, str], float]  # (pattern, how) -> seconds
    loop_tasks: int
    loop_task_s: float
    fine_items: int
    fine_item_s: float
    fine_batches: int
    large_bytes: int
    large_tasks: int
    results_agree: dict[str, bool]

    def problem(self, pattern: str) -> float:
        """Seconds of the anti-pattern's own way."""
        return self.seconds[(pattern, PROBLEM[pattern])]

    def fix(self, pattern: str) -> float:
        """Seconds of the documented fix."""
        return self.seconds[(pattern, FIX[pattern])]

    def gain(self, pattern: str) -> float:
        """The anti-pattern's time as a multiple of its fix's."""
        return self.problem(pattern) / self.fix(pattern)

    @property
    def fine_over_serial(self) -> float:
        """One task per item against the plain loop in the driver."""
        return (self.seconds[("fine_grained", "one_task_per_item")]
                / self.seconds[("fine_grained", "serial")])


@dataclass(frozen=True)
class Findings:
    """Everything the page says about one run, section by section."""

    session: Session
    tasks: TasksDemo
    wait: WaitDemo
    actor: ActorDemo
    zero_copy: ZeroCopyDemo
    objects: ObjectPlacement
    serialisation: Serialisation
    calls: Calls
    sweep: SizeSweep
    anti: AntiPatterns


def _extremes(samples: list[float]) -> tuple[float, float]:
    return min(samples), max(samples)


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    params, values = result.parameters, result.values
    demos = values["demos"]
    tasks, wait, actor, zero_copy = (demos["tasks"], demos["wait"], demos["actor"],
                                     demos["zero_copy"])
    limit = demos["inline_limit"]
    band = values["serialisation"]["out_of_band"]
    warmup = result.group("store_warmup")[0]
    pattern_params = {c.params["pattern"]: c.params for c in result.group("anti_pattern")}
    return Findings(
        session=Session(
            workers=params["workers"], address=params["ray_address"],
            nodes=params["ray_nodes"], init_s=result.median("ray_init"),
            object_store_bytes=LOCAL_OBJECT_STORE_BYTES,
        ),
        tasks=TasksDemo(
            lines=tuple(tasks["lines"]), ref_type=tasks["ref_type"], value=tasks["value"],
            values=tuple(tasks["values"]), chained=tasks["chained"],
            first_submit_s=tasks["first_submit_s"], submitted_s=tasks["submitted_s"],
            got_s=tasks["got_s"], task_pids=tuple(tasks["task_pids"]),
            driver_pid=tasks["driver_pid"],
        ),
        wait=WaitDemo(
            lines=tuple(wait["lines"]), ready=wait["ready"], pending=wait["pending"],
            polled=wait["polled"], timeout_error=wait["timeout_error"],
            is_timeout_error=wait["is_timeout_error"], timeout_s=wait["timeout_s"],
            waited_s=wait["timeout_waited_s"], late_value=wait["late_value"],
        ),
        actor=ActorDemo(
            lines=tuple(actor["lines"]), means=tuple(actor["means"]),
            seen=tuple(actor["seen"]), other_seen=tuple(actor["other_seen"]),
            pids=tuple(actor["pids"]), driver_pid=actor["driver_pid"],
        ),
        zero_copy=ZeroCopyDemo(
            lines=tuple(zero_copy["lines"]), writeable=zero_copy["writeable"],
            owndata=zero_copy["owndata"],
            two_gets_share_memory=zero_copy["two_gets_share_memory"],
            shares_memory_with_original=zero_copy["shares_memory_with_original"],
            write_error=zero_copy["write_error"], copy_writeable=zero_copy["copy_writeable"],
            task_error=zero_copy["task_error"],
            task_error_is_value_error=zero_copy.get("task_error_is_value_error", False),
            unchanged=zero_copy["unchanged"],
        ),
        objects=ObjectPlacement(
            placed=tuple(PlacedObject(**row) for row in demos["placements"]),
            limit=InlineLimit(**limit, documented_bytes=demos["documented_inline_limit"]),
        ),
        serialisation=Serialisation(
            ray_version=values["serialisation"]["ray_version"],
            cloudpickle_version=values["serialisation"]["cloudpickle_version"],
            pyarrow_installed=values["serialisation"]["pyarrow_installed"],
            out_of_band=OutOfBand(**band),
        ),
        calls=Calls(
            ray_calls=params["ray_calls"], batch_calls=params["batch_calls"],
            seconds={c.params["how"]: result.median("call", how=c.params["how"])
                     for c in result.group("call")},
        ),
        sweep=SizeSweep(
            sizes=tuple(params["array_sizes"]),
            seconds={(c.params["bytes"], c.params["how"]):
                     result.median("size_sweep", **c.params)
                     for c in result.group("size_sweep")},
            warmup_bytes=warmup.params["bytes"], warmup_s=warmup.samples[0],
            faults_per_page={(int(size), how): statistics.median(runs["faults_per_page"])
                             for size, counted in values["copy_counts"].items()
                             for how, runs in counted.items()},
            cpu_per_wall={(int(size), how): statistics.median(runs["cpu_per_wall"])
                          for size, counted in values["copy_counts"].items()
                          for how, runs in counted.items()},
            memcopy_threads=params["ray_memcopy_threads"],
            memcopy_threshold=params["ray_memcopy_threshold_bytes"],
            put_largest_range=_extremes(result.case(
                "size_sweep", bytes=max(params["array_sizes"]), how="put").samples),
        ),
        anti=AntiPatterns(
            seconds={(c.params["pattern"], c.params["how"]):
                     result.median("anti_pattern", pattern=c.params["pattern"],
                                   how=c.params["how"])
                     for c in result.group("anti_pattern")},
            loop_tasks=pattern_params["get_in_loop"]["tasks"],
            loop_task_s=pattern_params["get_in_loop"]["task_s"],
            fine_items=pattern_params["fine_grained"]["items"],
            fine_item_s=pattern_params["fine_grained"]["item_s"],
            fine_batches=pattern_params["fine_grained"]["batches"],
            large_bytes=pattern_params["large_argument"]["bytes"],
            large_tasks=pattern_params["large_argument"]["tasks"],
            results_agree=values["anti_pattern_results_agree"],
        ),
    )


def faster_or_slower(slow: float, fast: float) -> str:
    """How the second time compares with the first: ``"2.3× faster"`` or ``"1.2× slower"``."""
    if fast <= slow:
        return f"{format_ratio(slow / fast)} faster"
    return f"{format_ratio(fast / slow)} slower"


def task_actor_sentence(calls: Calls) -> str:
    """Which of one task and one actor call cost more, and why."""
    if calls.task_over_actor > 1:
        return (f"The task took {format_ratio(calls.task_over_actor)} as long as the actor "
                "call: each task asks the raylet for a worker to run on, while an actor's "
                "calls go straight to the process that holds it")
    return (f"The actor call took {format_ratio(1 / calls.task_over_actor)} as long as the "
            "task here, although its calls go straight to its process while each task "
            "asks the raylet for a worker")


def ref_sentence(sweep: SizeSweep) -> str:
    """From which array size a task given the put ref beat one given the array."""
    wins_from = sweep.ref_wins_from
    if wins_from is None:
        return ("Passing the put ref never beat passing the array by value at the sizes "
                "measured here, although by value a large array is put again for every "
                "call; the spread table shows how much the two varied between runs.")
    if wins_from == sweep.smallest:
        return ("A task given the put ref was faster at every size measured here, even at "
                f"{format_size(wins_from)}, where the array by value travels inside the "
                "task's message.")
    return (f"Below {format_size(wins_from)}, passing the array by value was the faster of "
            "the two here: a small value travels inside the task's message, while a ref "
            "makes the worker fetch the value from the store. From "
            f"{format_size(wins_from)} up, the put ref won.")


def get_lead(sweep: SizeSweep) -> str:
    """The bold lead of the ``ray.get`` reading: whether its time grew with the size."""
    if sweep.growth("get") * FLAT_GET_FACTOR < sweep.growth("memcpy"):
        return "hardly grows with size."
    return "grew with size here, though less than a copy did."


def pipe_sentence(sweep: SizeSweep) -> str:
    """A task given the array by value against the raw ``os.pipe`` hand-off."""
    largest, smallest = sweep.largest, sweep.smallest
    at_largest = sweep.over("task_value", "os_pipe", largest)
    at_smallest = sweep.over("task_value", "os_pipe", smallest)
    pipe_smallest = format_seconds(sweep.seconds[(smallest, "os_pipe")])
    task_smallest = format_seconds(sweep.seconds[(smallest, "task_value")])
    if at_largest < 1 <= at_smallest:
        return (
            f"A Ray task given the array by value took {format_ratio(at_largest)} that time: "
            "one copy into shared memory, which the worker then reads in place, beat two "
            "copies through the kernel. For tiny arrays the order reverses: the pipe took "
            f"{pipe_smallest}, a task given the array {task_smallest} "
            f"({format_ratio(at_smallest)}). Ray's cost per call is high and its cost per "
            "byte low.")
    if at_largest < 1:
        return (f"A Ray task given the array by value took {format_ratio(at_largest)} that "
                f"time, and at {format_size(smallest)} {format_ratio(at_smallest)} the "
                f"pipe's {pipe_smallest}: here Ray beat the raw pipe at every size.")
    return (f"A Ray task given the array by value took {format_ratio(at_largest)} that time: "
            "here one copy into shared memory did not beat two copies through the kernel. "
            f"At {format_size(smallest)} it took {format_ratio(at_smallest)} the pipe's "
            f"{pipe_smallest}.")


def put_pages_sentence(sweep: SizeSweep) -> str:
    """Whether the puts of large arrays wrote into pages this process had mapped already."""
    counted = sweep.counted_sizes
    start = format_size(COUNTED_FROM_BYTES)
    if not counted:
        return (f"No array measured here reached {start}, so which pages the puts wrote "
                "into is not measured here.")
    fresh = [size for size in counted if sweep.put_fresh(size)]
    touched = [size for size in counted if not sweep.put_fresh(size)]
    if not touched:
        return (f"Every put of {start} or more took about one page fault per page it wrote, "
                "like the copy into fresh memory: the store gave each new object pages this "
                "process did not have mapped yet.")
    if not fresh:
        return (f"No put of {start} or more took more than a few page faults: the store "
                "gave each new object pages this process had already touched, like the "
                "copy into touched memory.")
    return (f"Puts of {spoken_list(format_size(size) for size in fresh)} took about one page "
            "fault per page they wrote, like the copy into fresh memory; puts of "
            f"{spoken_list(format_size(size) for size in touched)} wrote into pages this "
            "process had already touched and took almost none. Where the store puts a new "
            "object decides which, and that is up to Ray's allocator.")


def put_floor_sentence(sweep: SizeSweep) -> str:
    """The put of the largest array against the copy that writes the same kind of pages:
    whether it beat that copy, and whether more threads explain it."""
    largest = sweep.largest
    at, put = format_size(largest), sweep.seconds[(largest, "put")]
    floor = "memcpy_fresh" if sweep.put_fresh(largest) else "memcpy"
    ratio = format_ratio(put / sweep.seconds[(largest, floor)])
    put_cpu, copy_cpu = sweep.cpu_per_wall[(largest, "put")], sweep.cpu_per_wall[(largest, floor)]
    cpu, cpu_copy = f"{put_cpu:.2f}", f"{copy_cpu:.2f}"
    slower = put >= sweep.seconds[(largest, floor)]
    split = put_cpu >= PARALLEL_FROM * copy_cpu and largest > sweep.memcopy_threshold
    threads = sweep.memcopy_threads
    if floor == "memcpy_fresh" and slower:
        return (f"At {at}, the put took {ratio} as long as the copy into fresh memory, which "
                "takes the same page faults.")
    if floor == "memcpy_fresh" and split:
        return (f"At {at}, the put took only {ratio} as long as the copy into fresh memory, "
                "which takes the same page faults on one thread: Ray copies a buffer this "
                f"large on {threads} threads, and the put used {cpu} seconds of CPU per "
                f"second against the copy's {cpu_copy}.")
    if floor == "memcpy_fresh":
        return (f"At {at}, the put took only {ratio} as long as the copy into fresh memory, "
                "which takes the same page faults, while using no more CPU per second "
                f"({cpu} seconds per second, against the copy's {cpu_copy}). Its faults were "
                "on the store's shared memory and the copy's on private memory; which of the "
                "two costs the kernel less per page is not measured here.")
    if slower:
        return (f"At {at}, the put took {ratio} as long as the copy into touched memory, "
                "which, like the put, takes almost no page faults.")
    if split:
        return (f"At {at}, the put took only {ratio} as long as the copy into touched memory, "
                "which, like the put, takes almost no page faults, but copies on one thread: "
                f"Ray copies a buffer this large on {threads} threads, and the put used {cpu} "
                f"seconds of CPU per second against the copy's {cpu_copy}.")
    return (f"At {at}, the put took only {ratio} as long as the copy into touched memory, "
            "which, like the put, takes almost no page faults, while using no more CPU per "
            f"second ({cpu} seconds per second, against the copy's {cpu_copy}): more threads "
            "do not explain the difference here, and what does is not measured here.")


def split_sentence(sweep: SizeSweep) -> str:
    """Whether splitting a plain copy of the largest array over threads made it faster."""
    largest, threads = sweep.largest, sweep.memcopy_threads
    at = format_size(largest)
    if largest <= sweep.memcopy_threshold:
        return (f"At {at}, the largest size here, ray.put copies on one thread, and so "
                "does the split copy.")
    ratio = sweep.over("memcpy_threads", "memcpy", largest)
    shown = format_ratio(ratio)
    if ratio < 1 - SPLIT_TOLERANCE:
        return (f"Split over {threads} threads, the plain copy of the {at} array took "
                f"{shown} as long as on one thread: on this machine one thread does not copy "
                "as fast as the memory allows.")
    if ratio <= 1 + SPLIT_TOLERANCE:
        return (f"Split over {threads} threads, the plain copy of the {at} array took about "
                f"as long as on one thread ({shown}): more threads did not copy faster here, "
                "either because one thread already copies as fast as the memory allows or "
                "because no other CPU was free.")
    return (f"Split over {threads} threads, the plain copy of the {at} array took {shown} as "
            "long as on one thread: handing out the parts and waiting for them cost more "
            "than the threads gained here.")


def limit_verdict(limit: InlineLimit) -> str:
    """Whether the inline limit found here is Ray's documented default."""
    if abs(limit.stored_object_bytes - limit.documented_bytes) <= LIMIT_TOLERANCE_BYTES:
        return ("within a few bytes of the documented default: the limit counts the "
                "serialised data, and the object size adds Ray's few bytes of metadata")
    return ("not the documented default: this Ray, or this cluster's configuration "
            "(RAY_max_direct_call_object_size), uses another limit")


def pyarrow_clause(serialisation: Serialisation) -> str:
    """Whether pyarrow was installed, and what that means for this page's measurements."""
    if not serialisation.pyarrow_installed:
        return ("pyarrow is not installed in this build's environment, so every measurement "
                "on this page ran without it")
    return ("pyarrow is installed in this build's environment, where Ray registers "
            "serialisers of its own for Arrow's types such as tables (in "
            "ray/_private/arrow_serialization.py); no run here records whether any of them ran")


def warm_up_outcome(sweep: SizeSweep) -> Verdict:
    """Whether the warm-up's puts of the largest array were slower than every later put of
    it (``HOLDS``), than their median only (``PARTLY``), or not even that (``FAILS``)."""
    cold = sweep.warmup_put_s
    if cold > sweep.put_largest_range[1]:
        return Verdict.HOLDS
    if cold > sweep.seconds[(sweep.largest, "put")]:
        return Verdict.PARTLY
    return Verdict.FAILS


def warmup_sentence(sweep: SizeSweep) -> str:
    """The warm-up's puts against the later puts of the same array, for the page."""
    largest = sweep.largest
    cold = (f"That is {format_seconds(sweep.warmup_put_s)} per {format_size(largest)} "
            "array")
    median = format_seconds(sweep.seconds[(largest, "put")])
    fastest, slowest = (format_seconds(s) for s in sweep.put_largest_range)
    outcome = warm_up_outcome(sweep)
    if outcome is Verdict.HOLDS:
        return (f"{cold}, slower than every later put of the same array into the warmed "
                f"store ({fastest} to {slowest}). The warm-up's own page faults are not "
                "counted, so whether the kernel supplying the store's pages on their first "
                "write made the difference is not measured here.")
    if outcome is Verdict.PARTLY:
        return (f"{cold}, slower than the median later put of the same array ({median}) but "
                f"within their spread (up to {slowest}): a cold store was not clearly slower "
                "here.")
    return (f"{cold}, no slower than the median later put of the same array into the warmed "
            f"store ({median}): a cold store was not slower here.")


def get_in_loop_result(anti: AntiPatterns, workers: int) -> str:
    """What submitting first gained over ``ray.get`` in the loop, on this many CPUs."""
    text = (f"{faster_or_slower(anti.problem('get_in_loop'), anti.fix('get_in_loop'))} "
            f"on {workers} CPUs")
    if anti.gain("get_in_loop") < LITTLE_GAIN_BELOW:
        text += (". In this run the fix gained little: with few CPUs, or CPUs busy with "
                 "other work, there is little left to run side by side")
    return text


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each."""
    calls, sweep, anti = found.calls, found.sweep, found.anti
    largest = format_size(sweep.largest)
    seconds = format_seconds

    def against_fix(pattern: str) -> str:
        return f"{format_ratio(anti.gain(pattern))} as long"

    return [
        ("a task: f.remote(), then ray.get, one at a time", seconds(calls.seconds["task"])),
        ("an actor call, one at a time", seconds(calls.seconds["actor"])),
        ("1 byte through a raw os.pipe to a process and back (the floor)",
         seconds(calls.seconds["os_pipe"])),
        (f"ray.get of a {largest} array already in the object store",
         seconds(sweep.seconds[(sweep.largest, "get")])),
        (f"copying the {largest} array into memory already written (memcpy)",
         seconds(sweep.seconds[(sweep.largest, "memcpy")])),
        (f"ray.put of the {largest} array", seconds(sweep.seconds[(sweep.largest, "put")])),
        (f"{anti.loop_tasks} tasks with ray.get inside the loop, against submitting all "
         "first", against_fix("get_in_loop")),
        (f"{anti.fine_items:,} tiny items as one task each, against a few batches",
         against_fix("fine_grained")),
        (f"the same {format_size(anti.large_bytes)} array by value to {anti.large_tasks} "
         "tasks, against one ray.put", against_fix("large_argument")),
    ]


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    session, calls, sweep, anti = found.session, found.calls, found.sweep, found.anti
    limit, band = found.objects.limit, found.serialisation.out_of_band
    smallest, largest = sweep.smallest, sweep.largest
    glued: dict[str, Any] = {
        "rb_workers": session.workers,
        "rb_address": session.address,
        "rb_nodes": session.nodes,
        "rb_init": seconds(session.init_s),
        "rb_store": f"{session.object_store_bytes / 1024**3:g} GiB",
        "rb_ray_calls": calls.ray_calls,
        "rb_batch_calls": calls.batch_calls,
        "rb_task_actor_sentence": task_actor_sentence(calls),
        "rb_task_batch_vs": faster_or_slower(calls.seconds["task"],
                                             calls.seconds["task_batch"]),
        "rb_actor_batch_vs": faster_or_slower(calls.seconds["actor"],
                                              calls.seconds["actor_batch"]),
        # Arrays by size.
        "rb_sizes": ", ".join(format_size(size) for size in sweep.sizes),
        "rb_smallest": format_size(smallest),
        "rb_largest": format_size(largest),
        "rb_put_over_memcpy_largest": ratio(sweep.over("put", "memcpy", largest)),
        "rb_get_over_memcpy_largest": ratio(sweep.over("get", "memcpy", largest)),
        "rb_get_growth": ratio(sweep.growth("get")),
        "rb_memcpy_growth": f"{sweep.growth('memcpy'):,.0f}×",
        "rb_size_growth": f"{sweep.size_growth:,.0f}×",
        "rb_put_rate_largest": format_rate(sweep.put_rate_largest),
        "rb_warmup_bytes": format_size(sweep.warmup_bytes),
        "rb_warmup_s": seconds(sweep.warmup_s),
        "rb_warmup_rate": format_rate(sweep.warmup_rate),
        "rb_warmup_sentence": warmup_sentence(sweep),
        "rb_ref_sentence": ref_sentence(sweep),
        "rb_put_pages_sentence": put_pages_sentence(sweep),
        "rb_put_floor_sentence": put_floor_sentence(sweep),
        "rb_split_sentence": split_sentence(sweep),
        "rb_memcopy_threads": sweep.memcopy_threads,
        "rb_memcopy_threshold": format_size(sweep.memcopy_threshold),
        "rb_get_lead": get_lead(sweep),
        "rb_pipe_sentence": pipe_sentence(sweep),
        # Where objects live, and what Ray serialises with.
        "rb_inline_array": f"{limit.inline_array_bytes:,}",
        "rb_inline_object": f"{limit.inline_object_bytes:,}",
        "rb_stored_object": f"{limit.stored_object_bytes:,}",
        "rb_inline_probes": limit.probes,
        "rb_documented_limit": f"{limit.documented_bytes:,}",
        "rb_documented_limit_kib": f"{limit.documented_bytes // 1024} KiB",
        "rb_limit_verdict": limit_verdict(limit),
        "rb_ray_version": found.serialisation.ray_version,
        "rb_cloudpickle_version": found.serialisation.cloudpickle_version,
        "rb_pyarrow": pyarrow_clause(found.serialisation),
        "rb_band_array": f"{band.array_bytes:,}",
        "rb_band_stream": f"{band.stream_bytes:,}",
        "rb_band_in_band": f"{band.in_band_bytes:,}",
        "rb_wait_timeout": seconds(found.wait.timeout_s),
        "rb_wait_waited": seconds(found.wait.waited_s),
        "rb_tasks_first_submit": seconds(found.tasks.first_submit_s),
        "rb_tasks_submitted": seconds(found.tasks.submitted_s),
        "rb_tasks_got": seconds(found.tasks.got_s),
        "rb_task_processes": len(found.tasks.task_pids),
        # Anti-patterns.
        "rb_get_in_loop_result": get_in_loop_result(anti, session.workers),
        "rb_loop_tasks": anti.loop_tasks,
        "rb_loop_task_s": seconds(anti.loop_task_s),
        "rb_fine_items": f"{anti.fine_items:,}",
        "rb_fine_item_s": seconds(anti.fine_item_s),
        "rb_fine_batches": anti.fine_batches,
        "rb_fine_serial": seconds(anti.seconds[("fine_grained", "serial")]),
        "rb_fine_over_serial": ratio(anti.fine_over_serial),
        "rb_fine_per_item": seconds(anti.seconds[("fine_grained", "one_task_per_item")]
                                    / anti.fine_items),
        "rb_batched_vs_serial": faster_or_slower(anti.seconds[("fine_grained", "serial")],
                                                 anti.seconds[("fine_grained", "batched")]),
        "rb_large_bytes": format_size(anti.large_bytes),
        "rb_large_tasks": anti.large_tasks,
    }
    for how, value in calls.seconds.items():
        glued[f"rb_call_{how}"] = seconds(value)
        glued[f"rb_call_{how}_x"] = ratio(calls.over_pipe(how))
    for edge, size in (("smallest", smallest), ("largest", largest)):
        for how in SIZE_LABELS:
            glued[f"rb_{how}_{edge}"] = seconds(sweep.seconds[(size, how)])
    for pattern in ANTI_PATTERN_LABELS:
        glued[f"rb_{pattern}_problem"] = seconds(anti.problem(pattern))
        glued[f"rb_{pattern}_fix"] = seconds(anti.fix(pattern))
        glued[f"rb_{pattern}_gain"] = ratio(anti.gain(pattern))
        glued[f"rb_{pattern}_vs"] = faster_or_slower(anti.problem(pattern), anti.fix(pattern))
    return glued


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

def arrow_plasma_claim(serialisation: Serialisation, zero_copy: ZeroCopyDemo) -> Judgement:
    """Article 002: Ray lays out and serialises data with Apache Arrow, into the Plasma
    shared-memory store. The build records whether pyarrow was there to use, and whether
    ``ray.get`` of a put array read the store's shared memory in place."""
    version = serialisation.ray_version
    in_place = zero_copy.read_in_place
    store = ("two ray.get calls of a put array returned read-only views of the same memory, "
             "not copies")
    if not serialisation.pyarrow_installed and in_place:
        return Judgement(Verdict.PARTLY, (
            f"The Arrow part does not hold: Ray {version} ran here without pyarrow installed. "
            f"The shared-memory store part does: {store}."))
    if not serialisation.pyarrow_installed:
        return Judgement(Verdict.FAILS, (
            f"Ray {version} ran here without pyarrow installed, and the reads were not from a "
            "shared-memory store either: two ray.get calls of a put array did not return "
            "read-only views of the same memory."))
    if in_place:
        return Judgement(Verdict.PARTLY, (
            f"The shared-memory store part holds: {store}. Whether Ray {version} used the "
            "pyarrow installed in this build is not recorded."))
    return Judgement(Verdict.FAILS, (
        "Two ray.get calls of a put array did not return read-only views of the same memory, "
        f"and whether Ray {version} used the pyarrow installed in this build is not "
        "recorded."))


def warm_up_claim(sweep: SizeSweep) -> Judgement:
    """Article 002's benchmark warms the object store up before timing, implying that the
    first puts into a fresh store are slower: the warm-up's puts against the later puts
    of the same array, in their median and their spread."""
    largest = sweep.largest
    median = sweep.seconds[(largest, "put")]
    fastest, slowest = sweep.put_largest_range
    first = (f"The first puts into the fresh object store took "
             f"{format_seconds(sweep.warmup_put_s)} per {format_size(largest)} array")
    outcome = warm_up_outcome(sweep)
    if outcome is Verdict.HOLDS:
        judged = Judgement(Verdict.HOLDS, (
            f"{first}, slower than every put of the same array into the warmed store "
            f"({format_seconds(fastest)} to {format_seconds(slowest)})."))
    elif outcome is Verdict.PARTLY:
        judged = Judgement(Verdict.PARTLY, (
            f"{first}, slower than the median put of the same array into the warmed store "
            f"({format_seconds(median)}) but within the warm puts' spread (up to "
            f"{format_seconds(slowest)}), so a cold store was not clearly slower."))
    else:
        judged = Judgement(Verdict.FAILS, (
            f"{first}, no slower than the median put of the same array into the warmed store "
            f"({format_seconds(median)})."))
    if largest < COUNTED_FROM_BYTES:
        return judged
    if sweep.put_fresh(largest):
        faults = ("Even warm, each put of that array took about one page fault per page it "
                  "wrote, so the warm-up did not spare later puts the kernel's page faults.")
    else:
        faults = ("Warm, the puts of that array took almost no page faults: they wrote into "
                  "pages the process had already touched.")
    return Judgement(judged.verdict, f"{judged.reason} {faults}")


def results_in_store_claim(objects: ObjectPlacement, zero_copy: ZeroCopyDemo) -> Judgement:
    """Article 002: a task's result is stored in shared memory too, and ``ray.get`` builds
    numpy arrays backed by that memory, without deserialising or copying the data. The
    build records where task results of a few sizes lived, the inline limit, and what
    ``ray.get`` of a put array returned; no run reads a task's result in place."""
    results = [row for row in objects.placed if row.how == "task result"]
    stored = [row.array_bytes for row in results if row.place == "object store"]
    kept = [row.array_bytes for row in results if row.place != "object store"]
    sizes = spoken_list(format_size(row.array_bytes) for row in results)
    limit = f"{objects.limit.inline_array_bytes:,} bytes"
    if stored and kept:
        where = (f"Task results of {spoken_list(format_size(size) for size in stored)} went "
                 f"to the shared-memory object store, but those of "
                 f"{spoken_list(format_size(size) for size in kept)} stayed in the caller's "
                 f"own memory: results up to the limit found here, {limit}, stay there.")
    elif stored:
        where = (f"Every task result measured here ({sizes}) went to the shared-memory "
                 "object store.")
    else:
        where = (f"No task result measured here ({sizes}) went to the shared-memory object "
                 "store: each stayed in the caller's own memory.")
    if zero_copy.read_in_place:
        read = ("Two ray.get calls of a put array returned read-only views of the same shared "
                "memory, not copies; whether a task's result is read the same way is not "
                "checked by a run here.")
    else:
        read = ("Two ray.get calls of a put array did not return read-only views of the same "
                "memory.")
    held = bool(stored) or zero_copy.read_in_place
    return Judgement(Verdict.PARTLY if held else Verdict.FAILS, f"{where} {read}")


def nested_arrays_claim() -> Judgement:
    """Article 002: what ``ray.put`` does for an array it does for objects holding arrays,
    such as a list of arrays. No run here puts such an object."""
    return Judgement(Verdict.UNMEASURED, (
        "No run here puts a list or a dict of arrays, so this is not measured. Ray's "
        "documentation (Serialization) describes zero-copy, read-only reads of numpy arrays "
        "and recommends \"numpy arrays or Python collections of numpy arrays for maximum "
        "performance\"."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a002_arrow_plasma": arrow_plasma_claim(found.serialisation, found.zero_copy),
        "a002_warm_up": warm_up_claim(found.sweep),
        "a002_results_in_store": results_in_store_claim(found.objects, found.zero_copy),
        "a002_nested_arrays": nested_arrays_claim(),
    }
