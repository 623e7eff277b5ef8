"""The diagnostics chapter's tables, timeline figures and recorded outputs, by the ids the
page shows them under."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.diagnostics import analysis
from parbook.chapters.diagnostics.analysis import Findings, Timeline
from parbook.chapters.diagnostics.experiment import (
    BLAS_LABELS,
    CHUNK_RUNS,
    RUN_LABELS,
    STRAGGLER_RUNS,
)
from parbook.render.formatting import format_count, format_percent, format_seconds
from parbook.render.tables import Table, time_cell

#: Colours of the timeline bars: tasks, every other chunk, and a task much longer than
#: the median one (the straggler).
TASK_COLOUR = "#4C72B0"
OTHER_CHUNK_COLOUR = "#8FB3DE"
LONG_TASK_COLOUR = "#DD8452"
#: A task at least this many times the median task's length is drawn as a long one.
LONG_TASK_FROM = 3.0


# ---------------------------------------------------------------------------------------
# Generic drawing: a Gantt chart of one run, one row per worker, one bar per task.
# TO MOVE: render/figures.py, should another chapter draw timelines.

def gantt(axes: Any, rows: Sequence[tuple[int, float, float]], workers: int, span: float,
          colours: Sequence[str], title: str, worker_label: str = "worker",
          outlined: bool = True) -> None:
    """Draw one run on ``axes``: a row per worker (numbered from 0, shown from 1), a bar
    per (worker, start, end) row in seconds, in the colour of the same index, and a dashed
    line where the run ended. ``outlined`` draws a thin white edge round each bar, so that
    tasks back to back stay apart (leave it off for bars narrower than a pixel)."""
    bars: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for (worker, start, end), colour in zip(rows, colours, strict=True):
        bars.setdefault((worker, colour), []).append((start * 1e3, (end - start) * 1e3))
    for (worker, colour), spans in bars.items():
        axes.broken_barh(spans, (worker - 0.38, 0.76), facecolors=colour,
                         edgecolors="white", linewidth=0.8 if outlined else 0)
    axes.axvline(span * 1e3, color="0.3", linestyle="--", linewidth=1)
    axes.set_yticks(range(workers), [f"{worker_label} {n + 1}" for n in range(workers)])
    axes.set_ylim(workers - 0.5, -0.5)
    axes.set_title(title, fontsize="medium", loc="left")
    axes.grid(True, axis="x", alpha=0.3)
    axes.set_axisbelow(True)


def timeline_figure(panels: Sequence[tuple[Timeline, str, Sequence[str], str]],
                    outlined: bool = True) -> Any:
    """One Gantt chart per (timeline, title, colours, worker label), stacked, on a shared
    time axis in milliseconds since each run began."""
    import matplotlib.pyplot as plt

    heights = [0.5 * panel[0].workers + 0.6 for panel in panels]
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(8.0, sum(heights) + 0.8),
                                     sharex=True, layout="constrained",
                                     gridspec_kw={"height_ratios": heights}, squeeze=False)
    for axes, (timeline, title, colours, label) in zip(axes_list[:, 0], panels, strict=True):
        gantt(axes, timeline.rows, timeline.workers, timeline.span, colours, title, label,
              outlined)
    axes_list[-1, 0].set_xlim(0, max(panel[0].span for panel in panels) * 1e3 * 1.02)
    axes_list[-1, 0].set_xlabel("milliseconds since the tasks were submitted "
                                "(dashed: every result back)")
    return figure


def chunk_colours(timeline: Timeline) -> list[str]:
    """Every other chunk in a lighter shade, so that chunks show as blocks (the rows are
    in task order, and map cuts the tasks into consecutive chunks)."""
    size = max(1, timeline.chunksize)
    return [TASK_COLOUR if (index // size) % 2 == 0 or size == 1 else OTHER_CHUNK_COLOUR
            for index in range(timeline.tasks)]


def long_task_colours(timeline: Timeline) -> list[str]:
    """Tasks much longer than the median one stand out."""
    lengths = [end - start for _w, start, end in timeline.rows]
    typical = sorted(lengths)[len(lengths) // 2]
    return [LONG_TASK_COLOUR if length >= LONG_TASK_FROM * typical else TASK_COLOUR
            for length in lengths]


def _title(timeline: Timeline, found: Findings, run: str) -> str:
    parts = timeline.parts()
    chunks = f", chunks of {timeline.chunksize}" if run == "chunk_default" else ""
    return (f"{RUN_LABELS[run]}{chunks}: {timeline.tasks} tasks; of the workers' time, "
            f"{format_percent(parts['running'])} running tasks, "
            f"{format_percent(parts['after'])} idle at the end")


def _panels(found: Findings, runs: Sequence[str],
            colours: Callable[[Timeline], list[str]]) -> list:
    panels = []
    for run in runs:
        timeline = found.timelines.runs[run]
        label = "Ray worker" if run == "ray" else "worker"
        panels.append((timeline, _title(timeline, found, run), colours(timeline), label))
    return panels


def chunksize_figure(result: Result, found: Findings) -> Any:
    """The tiny tasks with chunksize=1 and with map's chunks."""
    return timeline_figure(_panels(found, CHUNK_RUNS, chunk_colours), outlined=False)


def straggler_figure(result: Result, found: Findings) -> Any:
    """Equal tasks, one long task sent last, and the same tasks longest first."""
    return timeline_figure(_panels(found, STRAGGLER_RUNS, long_task_colours))


def ray_figure(result: Result, found: Findings) -> Any:
    """The equal tasks on the pool and on Ray, the latter from Ray's own trace."""
    return timeline_figure(_panels(found, ("even", "ray"), long_task_colours))


# ---------------------------------------------------------------------------------------
# Tables.

GAP_COLUMNS = {
    "before": "before the first task",
    "running": "running tasks",
    "between": "between tasks",
    "after": "idle after the last task",
}


def gap_cell(gap_s: float) -> str:
    """A gap between tasks as the table shows it: the rows are stored in whole microseconds,
    so a gap that rounds to zero was shorter than one, not nothing."""
    return "under 1 µs" if gap_s < 1e-6 else format_seconds(gap_s)


def gaps_table(found: Findings, runs: Sequence[str], caption: str) -> Table:
    """Where the workers' time went in each run (one column per run): the four shares of
    it, the run's time, its start-up, and when the first task began."""
    columns = {}
    for run in runs:
        timeline = found.timelines.runs[run]
        label = RUN_LABELS[run]
        if run == "chunk_default":
            label += f" ({timeline.chunksize})"
        startup = found.timelines.ray_init if run == "ray" else timeline.startup
        columns[label] = {
            "tasks on workers": f"{timeline.tasks} on {timeline.workers}",
            "start-up before the run (not drawn)": format_seconds(startup),
            "time of the run": format_seconds(timeline.span),
            "first task began after": format_seconds(timeline.first_task),
            "median gap between two tasks of a worker": gap_cell(timeline.median_gap),
            **{f"worker time {title}": format_percent(timeline.parts()[part])
               for part, title in GAP_COLUMNS.items()},
        }
    frame = pd.DataFrame(columns)
    frame.columns.name = "run"
    return Table(frame, caption=caption)


def _median_note(found: Findings) -> str:
    repeats = found.timelines.repeats
    if repeats == 1:
        return "One run of each."
    return (f"Of {repeats} runs of each, taking turns, the one whose time was the median is "
            "shown.")


def chunksize_table(result: Result, found: Findings) -> Table:
    return gaps_table(found, CHUNK_RUNS, (
        f"Where the workers' time went during each run, from the recorded rows of the "
        f"timelines above (shares of workers × time of the run); each run began when "
        f"map was called, once every worker had started. {_median_note(found)}"))


def straggler_table(result: Result, found: Findings) -> Table:
    return gaps_table(found, STRAGGLER_RUNS, (
        f"Where the workers' time went in the three runs, which did the same total work. "
        f"{_median_note(found)}"))


def ray_table(result: Result, found: Findings) -> Table:
    return gaps_table(found, ("even", "ray"), (
        "The same equal tasks on a pool and on Ray, each timed from the first submission with "
        "the workers already started (Ray's rows from ray.timeline()); the start-up column "
        "is the pool's, and for Ray ray.init's."))


def summary_table(result: Result, found: Findings) -> Table:
    frame = pd.DataFrame(analysis.summary_rows(found), columns=["what was diagnosed",
                                                                "this build"])
    return Table(frame, index=False, caption=(
        f"What this chapter saw on the machine that built this page ({found.machine.cpus} "
        f"usable CPUs, start method {found.machine.start_method}); each line is explained "
        "in a section below."))


def hang_table(result: Result, found: Findings) -> Table:
    hang = found.hang
    py_spy = hang.py_spy
    rows = [
        ("time limit of the hung program", format_seconds(hang.limit_s)),
        ("it ran for", format_seconds(hang.elapsed_s)),
        ("stopped by the limit", "yes" if hang.killed else f"no (exit code {hang.returncode})"),
        ("faulthandler's watchdog, per task", format_seconds(hang.watchdog_s)),
        (f"faulthandler dump names {analysis.STUCK_FUNCTION}",
         "yes" if hang.dump_names_stuck else "no"),
    ]
    for pid, text in py_spy.dumps:
        rows.append((f"py-spy dump of worker {pid}", _py_spy_row(py_spy, text)))
    if not py_spy.dumps:
        rows.append(("py-spy dump", analysis.py_spy_cell(py_spy)))
    scope = "none (no Yama module)" if py_spy.ptrace_scope is None else str(py_spy.ptrace_scope)
    rows.append(("ptrace here: root / Yama ptrace_scope",
                 f"{'yes' if py_spy.root else 'no'} / {scope}"))
    return Table(pd.DataFrame(rows, columns=["what", "this build"]), index=False, caption=(
        "The hung program, run in a child interpreter with a time limit, and what each stack "
        "dump showed."))


def _py_spy_row(py_spy: analysis.PySpy, text: str) -> str:
    if py_spy.outcome != "dumped":
        return f"refused: {analysis.refusal_line(text)}"
    if analysis.STUCK_FUNCTION in text:
        return f"stack read: in {analysis.STUCK_FUNCTION}"
    if analysis.IDLE_FRAME in text:
        return f"stack read: idle in {analysis.IDLE_FRAME}"
    return "stack read"


def blas_table(result: Result, found: Findings) -> Table:
    """The two BLAS settings side by side: threads, time and the symptoms."""
    blas = found.blas
    columns = {}
    for threads, label in BLAS_LABELS.items():
        columns[label] = {
            "BLAS threads per worker": blas.threads[threads],
            "BLAS threads in all, on usable CPUs": (
                f"{blas.total_threads[threads]} on {blas.cpus}"),
            "time (median)": time_cell(result.case("blas_wall", threads=threads).summary),
            "involuntary context switches": format_count(blas.switches[threads]),
            "CPU time of the workers": format_seconds(blas.cpu[threads]),
        }
    frame = pd.DataFrame(columns)
    frame.columns.name = "BLAS threads"
    return Table(frame, caption=(
        f"{blas.tasks} tasks of {blas.products} products of {blas.size} × {blas.size} "
        f"matrices on {blas.workers} worker processes ({blas.library or 'no BLAS found'}), "
        "each case in a fresh interpreter without the BLAS variables, the two taking turns: "
        "medians; threads per worker as threadpool_info() reported them in each worker; "
        "context switches summed over every thread of every worker, from the end of its "
        "set-up to its last task."))


TABLES = {
    "diagnostics-summary": summary_table,
    "diagnostics-chunksize-table": chunksize_table,
    "diagnostics-straggler-table": straggler_table,
    "diagnostics-ray-table": ray_table,
    "diagnostics-hang-table": hang_table,
    "diagnostics-blas-table": blas_table,
}
FIGURES = {
    "diagnostics-chunksize-timeline": chunksize_figure,
    "diagnostics-straggler-timeline": straggler_figure,
    "diagnostics-ray-timeline": ray_figure,
}


# ---------------------------------------------------------------------------------------
# What the stack dumps printed, as printed (paths shortened, start-up frames left out).

def below_bootstrap(stack: str, frame_prefix: str) -> str:
    """``stack`` without the frames under each thread's ``_bootstrap`` frame (how the
    process was started; under fork, the parent's own frames), which are replaced by one
    line saying how many there were. Frame lines are those starting with
    ``frame_prefix``."""
    indent = frame_prefix[:len(frame_prefix) - len(frame_prefix.lstrip())]
    kept: list[str] = []
    skipped = 0
    for line in stack.splitlines():
        is_frame = line.startswith(frame_prefix)
        if skipped and is_frame:
            skipped += 1
            continue
        if skipped:
            kept.append(_skipped_line(indent, skipped - 1))
            skipped = 0
        kept.append(line)
        if is_frame and analysis.BOOTSTRAP in line:
            skipped = 1  # counts from one: the frames below are counted from the next
    if skipped:
        kept.append(_skipped_line(indent, skipped - 1))
    return "\n".join(kept)


def _skipped_line(indent: str, count: int) -> str:
    return f"{indent}[{count} more frames below: how this process was started]"


def faulthandler_output(result: Result, found: Findings) -> str:
    dump = found.hang.faulthandler_dump
    if not dump:
        return "(no stack dump was written before the time limit)"
    return below_bootstrap(dump, "  File ")


def py_spy_output(result: Result, found: Findings) -> str:
    py_spy = found.hang.py_spy
    if py_spy.outcome == "missing":
        return "py-spy: not installed"
    parts = []
    for pid, text in py_spy.dumps:
        lines = text.strip().splitlines()
        if lines and lines[0].startswith("Process ") and len(lines[0]) > analysis.HEADER_CHARS:
            lines[0] = lines[0][:analysis.HEADER_CHARS].rsplit(" ", 1)[0] + " …"
        parts.append(f"$ py-spy dump --pid {pid}\n" + below_bootstrap("\n".join(lines), "    "))
    return "\n\n".join(parts)


OUTPUTS = {
    "diagnostics-faulthandler": faulthandler_output,
    "diagnostics-py-spy": py_spy_output,
}
