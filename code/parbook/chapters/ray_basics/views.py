"""The Ray basics chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.ray_basics.analysis import Findings, summary_rows
from parbook.chapters.ray_basics.experiment import (
    ANTI_PATTERN_LABELS,
    ANTI_PATTERN_TITLES,
    CALL_LABELS,
    FIX,
    MAIN_SIZE_CASES,
    SIZE_LABELS,
)
from parbook.render.formatting import format_ratio, format_seconds, format_size
from parbook.render.tables import Table, spread_table, time_cell


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        f"What this chapter measured on the machine that built this page, with Ray given "
        f"{found.session.workers} CPUs: medians of N runs; each row is explained in a section "
        "below."))


def tasks_demo(result: Result, found: Findings) -> str:
    """What first_tasks printed in this build's run."""
    return "\n".join(found.tasks.lines)


def wait_demo(result: Result, found: Findings) -> str:
    """What wait_with_timeouts printed in this build's run."""
    return "\n".join(found.wait.lines)


def actor_demo(result: Result, found: Findings) -> str:
    """What actor_demo printed in this build's run."""
    return "\n".join(found.actor.lines)


def zero_copy_demo(result: Result, found: Findings) -> str:
    """What zero_copy_demo found in this build's run."""
    return "\n".join(found.zero_copy.lines)


def placements(result: Result, found: Findings) -> str:
    """Where each object lived once it existed (get_object_locations), one line each."""
    return "\n".join(
        f"{row.how:>11} of {format_size(row.array_bytes):>7} "
        f"({row.object_bytes:>9,} bytes as stored): {row.place}"
        for row in found.objects.placed)


def out_of_band_demo(result: Result, found: Findings) -> str:
    """What out_of_band_demo returned, one field a line (integers with separators)."""
    return "\n".join(
        f"{name}: {value:,}" if isinstance(value, int) and not isinstance(value, bool)
        else f"{name}: {value}"
        for name, value in vars(found.serialisation.out_of_band).items())


def call_table(result: Result, found: Findings) -> Table:
    rows = [{
        "call": CALL_LABELS[case.params["how"]],
        "time per call": time_cell(case.summary),
        "× os.pipe floor": format_ratio(found.calls.over_pipe(case.params["how"])),
    } for case in result.group("call")]
    return Table(pd.DataFrame(rows),
                 caption="Cost of one call of a tiny message (median per call).", index=False)


def call_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "call", labels={"how": CALL_LABELS.get, "calls": str})
    return Table(frame, caption="Spread of every call case (seconds per call): N runs, IQR, "
                                "min-max.", index=False)


def size_table(result: Result, found: Findings) -> Table:
    sweep = found.sweep
    rows = {}
    for size in sweep.sizes:
        row = {SIZE_LABELS[how]: time_cell(result.case("size_sweep", bytes=size,
                                                        how=how).summary)
               for how in MAIN_SIZE_CASES}
        row["put ÷ memcpy"] = format_ratio(sweep.over("put", "memcpy", size))
        row["get ÷ memcpy"] = format_ratio(sweep.over("get", "memcpy", size))
        row["by value ÷ os.pipe"] = format_ratio(sweep.over("task_value", "os_pipe", size))
        row["by ref ÷ os.pipe"] = format_ratio(sweep.over("task_ref", "os_pipe", size))
        rows[format_size(size)] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "array"
    return Table(frame, caption="Seconds per operation on a uint8 array, by size (median), "
                                "and ratios to the two floors.")


def put_floor_table(result: Result, found: Findings) -> Table:
    """ray.put beside the three copies, with page faults and CPU time of each."""
    sweep = found.sweep
    rows = {}
    for size in sweep.sizes:
        def cell(how: str, size: int = size) -> str:
            return time_cell(result.case("size_sweep", bytes=size, how=how).summary)

        def counted(values: dict[tuple[int, str], float], *hows: str,
                    size: int = size) -> str:
            return " / ".join(f"{values[(size, how)]:.2f}" for how in hows)

        rows[format_size(size)] = {
            "ray.put": cell("put"),
            "copy into touched memory": cell("memcpy"),
            "copy into fresh memory": cell("memcpy_fresh"),
            "copy split as ray.put splits it": cell("memcpy_threads"),
            "put ÷ touched copy": format_ratio(sweep.over("put", "memcpy", size)),
            "put ÷ fresh copy": format_ratio(sweep.over("put", "memcpy_fresh", size)),
            "page faults per page: put / touched / fresh":
                counted(sweep.faults_per_page, "put", "memcpy", "memcpy_fresh"),
            "CPU seconds per second: put / touched / fresh":
                counted(sweep.cpu_per_wall, "put", "memcpy", "memcpy_fresh"),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "array"
    return Table(frame, caption=(
        "ray.put beside three copies of the same array in the driver: seconds per operation "
        "(median of N runs); page faults per page written, and CPU seconds per wall second, "
        "of the put and of the one-thread copies (medians of a few untimed runs after the "
        f"timed ones). The split copy uses {sweep.memcopy_threads} threads above "
        f"{format_size(sweep.memcopy_threshold)}, as ray.put does."))


def size_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "size_sweep", labels={
        "bytes": format_size, "how": SIZE_LABELS.get, "calls": str})
    return Table(frame, caption="Every size-sweep case (seconds per operation): N runs, IQR, "
                                "min-max.", index=False)


def anti_pattern_table(result: Result, found: Findings) -> Table:
    anti = found.anti
    rows = []
    for pattern, cases in ANTI_PATTERN_LABELS.items():
        fix_time = anti.seconds[(pattern, FIX[pattern])]
        for how, label in cases.items():
            rows.append({
                "anti-pattern": ANTI_PATTERN_TITLES[pattern],
                "way": label,
                "time": time_cell(result.case("anti_pattern", pattern=pattern,
                                              how=how).summary),
                "× the fix": format_ratio(anti.seconds[(pattern, how)] / fix_time),
            })
    return Table(pd.DataFrame(rows).set_index(["anti-pattern", "way"]),
                 caption="Each anti-pattern and its fix: total time for the same work "
                         "(median), and as a multiple of the fix.")


def _way_label(how: str) -> str:
    return next(cases[how] for cases in ANTI_PATTERN_LABELS.values() if how in cases)


def anti_pattern_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "anti_pattern", labels={
        "pattern": ANTI_PATTERN_TITLES.get, "how": _way_label})
    return Table(frame, caption="Every anti-pattern case (seconds): N runs, IQR, min-max.",
                 index=False)


def size_figure(result: Result, found: Findings) -> Any:
    """Seconds per operation against array size (log-log), one line per case."""
    import matplotlib.pyplot as plt

    sweep = found.sweep
    sizes = list(sweep.sizes)
    figure, axes = plt.subplots(figsize=(7.5, 5.4), layout="constrained")
    floors = {"memcpy": {"color": "0.35", "linestyle": "--"},
              "memcpy_fresh": {"color": "0.5", "linestyle": "-."},
              "os_pipe": {"color": "0.6", "linestyle": ":"}}
    for how in (*MAIN_SIZE_CASES, "memcpy_fresh"):
        axes.plot(sizes, [sweep.seconds[(size, how)] for size in sizes], marker="o",
                  label=SIZE_LABELS[how], **floors.get(how, {}))
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(sizes, [format_size(size) for size in sizes], rotation=45, ha="right")
    axes.minorticks_off()
    axes.yaxis.set_major_formatter(lambda value, _pos: format_seconds(value))
    axes.set_xlabel("array size")
    axes.set_ylabel("time per operation (median)")
    axes.set_title("Moving a numpy array: Ray's object store against the floors")
    axes.grid(True, which="major", alpha=0.3)
    figure.legend(fontsize="small", loc="outside lower center", ncols=3)
    return figure


TABLES = {
    "ray-basics-summary": summary_table,
    "ray-basics-call-table": call_table,
    "ray-basics-call-spread": call_spread,
    "ray-basics-size-table": size_table,
    "ray-basics-put-floor-table": put_floor_table,
    "ray-basics-size-spread": size_spread,
    "ray-basics-anti-pattern-table": anti_pattern_table,
    "ray-basics-anti-pattern-spread": anti_pattern_spread,
}
FIGURES = {"ray-basics-size-sweep": size_figure}
OUTPUTS = {
    "ray-basics-tasks-demo": tasks_demo,
    "ray-basics-wait-demo": wait_demo,
    "ray-basics-actor-demo": actor_demo,
    "ray-basics-zero-copy-demo": zero_copy_demo,
    "ray-basics-placements": placements,
    "ray-basics-out-of-band-demo": out_of_band_demo,
}
