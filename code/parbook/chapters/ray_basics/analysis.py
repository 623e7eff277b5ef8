"""What the Ray basics chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.ray_basics.experiment import ANTI_PATTERN_LABELS, FIX, PROBLEM, SIZE_LABELS
from parbook.render.formatting import format_rate, format_ratio, format_seconds, format_size
from parbook.shared.raysession import LOCAL_OBJECT_STORE_BYTES

#: A fix that gains less than this factor over its anti-pattern "gained little".
LITTLE_GAIN_BELOW = 1.1
#: ``ray.get`` "hardly grows with size" when its growth from the smallest to the largest
#: array is less than the ``memcpy``'s growth divided by this.
FLAT_GET_FACTOR = 10
#: An object size this close (bytes) to the documented inline limit counts as that limit:
#: the object size adds Ray's metadata to the serialised data.
LIMIT_TOLERANCE_BYTES = 64


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
    """Seconds per operation on an array (median), by size, and the store's warm-up."""

    sizes: tuple[int, ...]
    seconds: dict[tuple[int, str], float]  # (bytes, how in SIZE_LABELS) -> seconds
    warmup_bytes: int
    warmup_s: float

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
                "measured here")
    if wins_from == sweep.smallest:
        return "A task given the put ref was faster at every size measured here"
    return (f"Below {format_size(wins_from)}, passing the array by value was the faster "
            f"of the two here; from {format_size(wins_from)} up, the put ref won")


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
    if at_largest < 1 <= at_smallest:
        return (
            f"A Ray task given the array by value took {format_ratio(at_largest)} that time: "
            "one copy into shared memory, which the worker then reads in place, beat two "
            "copies through the kernel. For tiny arrays the order reverses: the pipe took "
            f"{pipe_smallest}, a task given the array "
            f"{format_seconds(sweep.seconds[(smallest, 'task_value')])} "
            f"({format_ratio(at_smallest)})")
    return (f"A Ray task given the array by value took {format_ratio(at_largest)} that time, "
            f"and at {format_size(smallest)} {format_ratio(at_smallest)} the pipe's "
            f"{pipe_smallest}")


def limit_verdict(limit: InlineLimit) -> str:
    """Whether the inline limit found here is Ray's documented default."""
    if abs(limit.stored_object_bytes - limit.documented_bytes) <= LIMIT_TOLERANCE_BYTES:
        return ("within a few bytes of the documented default: the limit counts the "
                "serialised data, and the object size adds Ray's few bytes of metadata")
    return ("not the documented default: this Ray, or this cluster's configuration "
            "(`RAY_max_direct_call_object_size`), uses another limit")


def pyarrow_clause(serialisation: Serialisation) -> str:
    """Whether pyarrow is installed, as the end of "in this build's environment pyarrow"."""
    if not serialisation.pyarrow_installed:
        return "is not installed"
    return "happens to be installed, but Ray's object path does not use it"


def get_in_loop_result(anti: AntiPatterns, workers: int) -> str:
    """What submitting first gained over ``ray.get`` in the loop, on this many CPUs."""
    text = (f"{faster_or_slower(anti.problem('get_in_loop'), anti.fix('get_in_loop'))} "
            f"on {workers} CPUs")
    if anti.gain("get_in_loop") < LITTLE_GAIN_BELOW:
        text += (". In this run the fix gained little: with few CPUs, or CPUs busy with "
                 "other work, there is little left to run side by side")
    return text


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
        "rb_ref_sentence": ref_sentence(sweep),
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
