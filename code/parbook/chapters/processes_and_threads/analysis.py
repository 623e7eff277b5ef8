"""What the processes-and-threads chapter concludes from one result: findings per kind of
task, and the texts (every sentence and number the page, and the rules page, glue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.processes_and_threads.experiment import KINDS
from parbook.render.formatting import format_ratio, format_seconds

#: Pools the tasks ran on besides one after another, in the order tables and plots show them.
POOLS = ("threads", "processes")
#: Under the GIL, a best thread speed-up below this on CPU-bound tasks is "no gain".
NO_GAIN_BELOW = 1.5


@dataclass(frozen=True)
class Setting:
    """The machine, start method and interpreter the chapter ran with."""

    cpus: int
    start_method: str
    gil_enabled: bool


@dataclass(frozen=True)
class Batch:
    """The batch of tasks every way of running them was given."""

    tasks: int
    task_s: float  # about how long one task takes alone
    worker_counts: tuple[int, ...]
    results_match: bool  # every run returned what the serial run returned

    @property
    def most_workers(self) -> int:
        return max(self.worker_counts)


@dataclass(frozen=True)
class KindTimes:
    """One kind of task (IO-bound or CPU-bound): the batch's time one after another and on
    each pool, by worker count (medians)."""

    serial: float
    threads: dict[int, float]
    processes: dict[int, float]

    def time(self, pool: str, workers: int) -> float:
        """The batch's time on ``pool`` ("threads" or "processes") with ``workers``."""
        return getattr(self, pool)[workers]

    def speedup(self, pool: str, workers: int) -> float:
        """Speed-up over one after another on ``pool`` with ``workers``."""
        return self.serial / self.time(pool, workers)

    def curve(self, pool: str) -> list[tuple[int, float]]:
        """``(workers, speed-up)`` at every worker count, fewest workers first."""
        return [(workers, self.speedup(pool, workers)) for workers in sorted(getattr(self, pool))]

    def best(self, pool: str) -> tuple[int, float]:
        """The worker count with the highest speed-up on ``pool``, and that speed-up."""
        return max(self.curve(pool), key=lambda point: point[1])


@dataclass(frozen=True)
class Findings:
    setting: Setting
    batch: Batch
    io: KindTimes
    cpu: KindTimes

    def kind(self, kind: str) -> KindTimes:
        """The times of ``kind`` ("io" or "cpu")."""
        return {"io": self.io, "cpu": self.cpu}[kind]


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters = result.parameters
    counts = tuple(parameters["worker_counts"])

    def kind_times(kind: str) -> KindTimes:
        def on(pool: str) -> dict[int, float]:
            return {w: result.median("tasks", kind=kind, backend=pool, workers=w)
                    for w in counts}

        return KindTimes(serial=result.median("tasks", kind=kind, backend="serial"),
                         threads=on("threads"), processes=on("processes"))

    return Findings(
        setting=Setting(cpus=parameters["usable_cpus"], start_method=parameters["start_method"],
                        gil_enabled=result.machine.get("gil_enabled", True)),
        batch=Batch(tasks=parameters["tasks"], task_s=parameters["task_s"],
                    worker_counts=counts,
                    results_match=all(result.values.get("results_match_serial", {}).values())),
        io=kind_times("io"),
        cpu=kind_times("cpu"),
    )


def speedup_curves(found: Findings) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Per ``(kind, pool)``, ``(workers, speed-up over one after another)`` at every count."""
    return {(kind, pool): found.kind(kind).curve(pool) for kind in KINDS for pool in POOLS}


def cpu_threads_verdict(setting: Setting, cpu: KindTimes) -> str:
    """What threads did for CPU-bound tasks, given whether the interpreter has the GIL."""
    if not setting.gil_enabled:
        return ("this interpreter runs without the GIL, so its threads can compute "
                "in parallel")
    if cpu.best("threads")[1] < NO_GAIN_BELOW:
        return "no gain: the threads took turns on one interpreter"
    return "a gain a GIL build rarely shows; see the spread table"


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key (``book/rules.md`` quotes
    some of them as ``processes-and-threads.md::KEY``)."""
    seconds, ratio = format_seconds, format_ratio
    setting, batch, io, cpu = found.setting, found.batch, found.io, found.cpu
    most = batch.most_workers
    best_cpu_workers, best_cpu = cpu.best("processes")
    return {
        "pt_cpus": setting.cpus,
        "pt_start_method": setting.start_method,
        "pt_tasks": batch.tasks,
        "pt_task_s": seconds(batch.task_s),
        "pt_most_workers": most,
        "pt_serial_io": seconds(io.serial),
        "pt_serial_cpu": seconds(cpu.serial),
        "pt_io_threads_most": ratio(io.speedup("threads", most)),
        "pt_io_processes_most": ratio(io.speedup("processes", most)),
        "pt_io_threads_time_most": seconds(io.time("threads", most)),
        "pt_io_processes_time_most": seconds(io.time("processes", most)),
        "pt_cpu_threads_most": ratio(cpu.speedup("threads", most)),
        "pt_cpu_processes_cpus": ratio(cpu.speedup("processes", setting.cpus)),
        "pt_cpu_processes_most": ratio(cpu.speedup("processes", most)),
        "pt_cpu_threads_best": ratio(cpu.best("threads")[1]),
        "pt_cpu_processes_best": ratio(best_cpu),
        "pt_cpu_processes_best_workers": best_cpu_workers,
        "pt_cpu_threads_verdict": cpu_threads_verdict(setting, cpu),
        "pt_results_match": "yes" if batch.results_match else "NO",
    }
