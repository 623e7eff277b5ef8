"""What the processes-and-threads chapter concludes from one result: findings per kind of
task, what each failure ended, and the texts (every sentence and number the page, and the
rules page, glue)."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import Any

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.processes_and_threads.experiment import (
    BACKEND_LABELS,
    FAILURE_KINDS,
    FAILURE_PLACES,
    KIND_LABELS,
    KINDS,
)
from parbook.chapters.processes_and_threads.failures import EXIT_CODE, FAILURES
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import format_ratio, format_seconds
from parbook.shared.child import shorten_paths

#: Pools the tasks ran on besides one after another, in the order tables and plots show them.
POOLS = ("threads", "processes")
#: Under the GIL, a best thread speed-up below this on CPU-bound tasks is "no gain" (and
#: the claims below count one at or above it, on either kind of task, as a gain).
NO_GAIN_BELOW = 1.5
#: A best process speed-up below this on CPU-bound tasks is "gained little".
PROCESS_GAIN_FROM = 1.2


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
class Failure:
    """One failure demonstration: healthy threads beside a faulty thread or child process,
    in a fresh interpreter (the program), and how everything ended."""

    where: str  # "thread" or "process": where the faulty code ran
    how: str    # "raise", "exit" or "segfault"
    workers: int  # healthy threads
    returncode: int | None  # the program's exit code (negative: killed by that signal)
    killed: bool  # stopped at its time limit
    elapsed_s: float
    finished: int  # healthy threads that finished their work
    reached_end: bool  # the main thread reached its last line
    culprit_exitcode: int | None  # the faulty child process's exit code (None for a thread)
    output: str
    errors: str

    @property
    def failed_process_code(self) -> int | None:
        """Exit code of the process the failure happened in: the program itself for a
        faulty thread, the child for a faulty process."""
        return self.returncode if self.where == "thread" else self.culprit_exitcode

    @property
    def code_as_expected(self) -> bool:
        """Whether that process ended as the failure should end it: code 1 for an uncaught
        exception, :data:`EXIT_CODE` for ``os._exit``, killed by a signal for a segfault."""
        code = self.failed_process_code
        if code is None:
            return False
        if self.how == "segfault":
            return code < 0
        return code == (EXIT_CODE if self.how == "exit" else 1)

    @property
    def others_went_on(self) -> bool:
        """The program ended normally (code 0), its main thread at its end, after every
        healthy thread finished."""
        return (not self.killed and self.returncode == 0 and self.reached_end
                and self.finished == self.workers)

    @property
    def took_everything_down(self) -> bool:
        """The failure ended the program with its own code, before any healthy thread
        finished and before the main thread reached its end."""
        return (not self.killed and self.code_as_expected and self.finished == 0
                and not self.reached_end)


@dataclass(frozen=True)
class Failures:
    """Every failure demonstration, by ``(where, how)``."""

    work_s: float  # how long each healthy thread worked after the failure
    runs: dict[tuple[str, str], Failure]

    def run(self, where: str, how: str) -> Failure:
        return self.runs[(where, how)]

    @property
    def thread_exception_stays_in_its_thread(self) -> bool:
        return self.run("thread", "raise").others_went_on

    @property
    def thread_crashes_end_the_process(self) -> bool:
        return all(self.run("thread", how).took_everything_down
                   for how in FAILURE_KINDS if how != "raise")

    def process_failure_stays_in_its_process(self, how: str) -> bool:
        run = self.run("process", how)
        return run.others_went_on and run.code_as_expected

    @property
    def process_crashes_stay_in_their_process(self) -> bool:
        return all(self.process_failure_stays_in_its_process(how)
                   for how in FAILURE_KINDS if how != "raise")

    def transcript(self) -> str:
        """What each demonstration printed, headed by how its program ended."""
        parts = []
        for (where, how), run in self.runs.items():
            parts.append(f"--- a faulty {where} that {FAILURES[how]}: the program "
                         f"{_ending(run)}\n{run.output}")
            if run.errors.strip():
                parts.append("    (its standard error, file paths shortened:)\n"
                             f"{shorten_paths(run.errors)}")
        return "".join(parts).rstrip("\n")


def _ending(run: Failure) -> str:
    if run.killed:
        return f"was stopped at its time limit after {run.elapsed_s:.2f} s"
    code = run.returncode
    if code is not None and code < 0:
        return (f"was killed by {signal_name(code)} (exit code {code}) after "
                f"{run.elapsed_s:.2f} s")
    return f"exited with code {code} after {run.elapsed_s:.2f} s"


@dataclass(frozen=True)
class Findings:
    setting: Setting
    batch: Batch
    io: KindTimes
    cpu: KindTimes
    failures: Failures

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
        failures=_failures(result),
    )


def _failures(result: Result) -> Failures:
    records = result.values["failures"]
    fields = set(Failure.__dataclass_fields__)
    runs = {(where, how): Failure(**{k: v for k, v in records[f"{where}/{how}"].items()
                                     if k in fields})
            for where in FAILURE_PLACES for how in FAILURE_KINDS}
    return Failures(work_s=result.parameters["failure_work_s"], runs=runs)


def signal_name(code: int) -> str:
    """The name of the signal a negative exit code stands for: ``-11`` -> ``SIGSEGV``."""
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def exit_code_cell(code: int | None, killed: bool) -> str:
    """An exit code as a table cell: ``0``, ``3``, ``-11 (SIGSEGV)``."""
    if killed:
        return "stopped at its time limit"
    if code is None:
        return "unknown"
    return f"{code} ({signal_name(code)})" if code < 0 else str(code)


def speedup_curves(found: Findings) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """Per ``(kind, pool)``, ``(workers, speed-up over one after another)`` at every count."""
    return {(kind, pool): found.kind(kind).curve(pool) for kind in KINDS for pool in POOLS}


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def results_sentence(batch: Batch) -> str:
    """Whether every pool returned what the serial run returned."""
    if batch.results_match:
        return ("Every run returned the same results as the serial run (the experiment "
                "compares them).")
    return ("Some runs did NOT return the serial run's results; the result file lists which "
            "(values, results_match_serial).")


def waits_beyond_cpus(setting: Setting, io: KindTimes, most: int) -> bool:
    """Whether the most threads sped the waiting tasks up more than the usable CPUs could
    have by computing in parallel: waits overlapped on CPUs that took turns."""
    return io.speedup("threads", most) > setting.cpus


def io_threads_sentence(setting: Setting, io: KindTimes, most: int) -> str:
    """Whether the waiting threads beat what the CPU count alone could give."""
    if waits_beyond_cpus(setting, io, most):
        return (f"That is more than {setting.cpus} usable CPUs could give to work that needs "
                "them: concurrency without parallelism, where the speed-up follows the number "
                "of threads rather than the number of CPUs.")
    return (f"That is no more than {setting.cpus} usable CPUs could give, so this run does not "
            "show the waits overlapping beyond the CPU count; the spread table shows how "
            "steady the timings were.")


def io_processes_sentence(io: KindTimes, most: int) -> str:
    """How processes did on the waiting tasks, against threads, at the most workers."""
    time, speedup = format_seconds(io.time("processes", most)), format_ratio(
        io.speedup("processes", most))
    if io.time("processes", most) > io.time("threads", most):
        return (f"Processes overlap the waiting too, but each one must be started, and each "
                f"task and result is pickled and sent through a pipe: with {most} processes "
                f"the batch took {time}, a speed-up of only {speedup}. For many waiting "
                "tasks, more threads (or asyncio) are the cheap answer.")
    return (f"Processes did as well here: with {most} processes the batch took {time}, a "
            f"speed-up of {speedup}, although each process had to be started and every task "
            "pickled.")


def cpu_threads_sentence(setting: Setting, cpu: KindTimes) -> str:
    """What threads did for CPU-bound tasks, given whether the interpreter has the GIL."""
    best = format_ratio(cpu.best("threads")[1])
    if not setting.gil_enabled and cpu.best("threads")[1] >= NO_GAIN_BELOW:
        return (f"On threads the best speed-up was {best}: this interpreter runs without the "
                "GIL, and its threads computed in parallel.")
    if not setting.gil_enabled:
        return (f"On threads the best speed-up was only {best}, although this interpreter "
                "runs without the GIL: its threads did not compute in parallel to any "
                "useful degree in this run; the spread table shows how steady the timings "
                "were.")
    if cpu.best("threads")[1] < NO_GAIN_BELOW:
        return (f"On threads the best speed-up was {best}: no gain, because under the GIL "
                "each task needs the lock for every step of its loop, so the threads only "
                "took turns on one interpreter.")
    return (f"On threads the best speed-up was {best}, a gain a build with the GIL rarely "
            "shows; the spread table shows whether other load on the machine slowed the "
            "serial run.")


def cpu_processes_sentence(setting: Setting, cpu: KindTimes, most: int) -> str:
    """Whether processes sped the CPU-bound tasks up, and whether they beat threads."""
    cpus = setting.cpus
    on_cpus = format_ratio(cpu.speedup("processes", cpus))
    on_most = format_ratio(cpu.speedup("processes", most))
    best = cpu.best("processes")[1]
    if best < PROCESS_GAIN_FROM:
        return (f"Processes gained little here: with {cpus} workers they reached {on_cpus}, "
                f"and with {most} workers {on_most}; on tasks this short, starting the "
                "processes and sending them the work can cost as much as computing in "
                "parallel saves.")
    if best > cpu.best("threads")[1]:
        return (f"Processes won: with {cpus} workers they reached {on_cpus}, and with {most} "
                f"workers, where the extra processes only take turns on the same CPUs and add "
                f"start-up cost, {on_most}.")
    return (f"Processes sped the tasks up, but threads did as well here: with {cpus} workers "
            f"the processes reached {on_cpus}, and with {most} workers {on_most}.")


# What the failure demonstrations showed: four cells of the comparison table, and a
# sentence for each thread failure and one for the child processes.


def exception_in_thread_cell(failures: Failures) -> str:
    if failures.thread_exception_stays_in_its_thread:
        return "ends that thread only; the other threads go on"
    return "did not stay within that thread in this build (see below)"


def exception_in_process_cell(failures: Failures) -> str:
    if failures.process_failure_stays_in_its_process("raise"):
        return "ends that process, with exit code 1; its parent goes on"
    return "did not end as usual in this build (see below)"


def crash_in_thread_cell(failures: Failures) -> str:
    if failures.thread_crashes_end_the_process:
        return "ends the whole process, every thread in it"
    return "did not end the whole process in this build (see below)"


def crash_in_process_cell(failures: Failures) -> str:
    if failures.process_crashes_stay_in_their_process:
        return "ends that process only; its parent goes on"
    return "reached beyond that process in this build (see below)"


def thread_raise_sentence(failures: Failures) -> str:
    if failures.thread_exception_stays_in_its_thread:
        return ("When the faulty thread raised ValueError, only that thread ended: Python "
                "printed its traceback, the healthy threads finished their work, the main "
                "thread reached its end, and the program exited with code 0.")
    return ("When the faulty thread raised ValueError, more than that thread was affected in "
            "this build; the table shows how the program ended.")


def thread_exit_sentence(failures: Failures) -> str:
    if failures.run("thread", "exit").took_everything_down:
        return (f"When it called os._exit({EXIT_CODE}) instead, the whole program ended at "
                f"once with exit code {EXIT_CODE}: no healthy thread finished its work, and "
                "the main thread never reached its end.")
    return (f"When it called os._exit({EXIT_CODE}) instead, the program did not simply end "
            "with that code in this build; the table shows how it ended.")


def thread_segfault_sentence(failures: Failures) -> str:
    run = failures.run("thread", "segfault")
    if run.took_everything_down and run.returncode is not None:
        code = run.returncode
        return (f"When it read address 0, the operating system killed the whole program with "
                f"{signal_name(code)}, which Python reports as exit code {code} (a shell "
                f"shows {128 - code}), and again no other thread finished.")
    return ("When it read address 0, the program was not killed by a signal before its "
            "other threads finished in this build; the table shows how it ended.")


def processes_sentence(failures: Failures) -> str:
    if all(failures.process_failure_stays_in_its_process(how) for how in FAILURE_KINDS):
        segfault = failures.run("process", "segfault").culprit_exitcode
        return ("In a child process the same three failures ended that process only: each "
                "time the parent's healthy threads finished and the parent exited with code 0, "
                "and Process.exitcode told it how the child had ended: 1 after the exception, "
                f"{EXIT_CODE} after os._exit({EXIT_CODE}), and "
                f"{exit_code_cell(segfault, False)} after the segfault.")
    return ("In a child process the same failures did not all stay within that process in "
            "this build; the table shows how each program ended.")


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key (``book/rules.md`` quotes
    some of them as ``processes-and-threads.md::KEY``)."""
    seconds, ratio = format_seconds, format_ratio
    setting, batch, io, cpu, failures = (found.setting, found.batch, found.io, found.cpu,
                                         found.failures)
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
        "pt_io_threads_best": ratio(io.best("threads")[1]),
        "pt_cpu_threads_most": ratio(cpu.speedup("threads", most)),
        "pt_cpu_processes_cpus": ratio(cpu.speedup("processes", setting.cpus)),
        "pt_cpu_processes_most": ratio(cpu.speedup("processes", most)),
        "pt_cpu_threads_best": ratio(cpu.best("threads")[1]),
        "pt_cpu_processes_best": ratio(best_cpu),
        "pt_cpu_processes_best_workers": best_cpu_workers,
        "pt_results_sentence": results_sentence(batch),
        "pt_io_threads_sentence": io_threads_sentence(setting, io, most),
        "pt_io_processes_sentence": io_processes_sentence(io, most),
        "pt_cpu_threads_sentence": cpu_threads_sentence(setting, cpu),
        "pt_cpu_processes_sentence": cpu_processes_sentence(setting, cpu, most),
        "pt_failure_work_s": seconds(failures.work_s),
        "pt_failure_workers": failures.run("thread", "raise").workers,
        "pt_exception_in_thread_cell": exception_in_thread_cell(failures),
        "pt_exception_in_process_cell": exception_in_process_cell(failures),
        "pt_crash_in_thread_cell": crash_in_thread_cell(failures),
        "pt_crash_in_process_cell": crash_in_process_cell(failures),
        "pt_thread_raise_sentence": thread_raise_sentence(failures),
        "pt_thread_exit_sentence": thread_exit_sentence(failures),
        "pt_thread_segfault_sentence": thread_segfault_sentence(failures),
        "pt_processes_failure_sentence": processes_sentence(failures),
    }


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: What the runs cannot check in article 001's account of the words (said with its verdict).
DEFINITIONS_UNMEASURED = ("The definitions of process, thread, concurrency and parallelism "
                          "are explained in the chapter, not measured.")


def concepts_claim(setting: Setting, io: KindTimes, cpu: KindTimes) -> Judgement:
    """Article 001, section 1: threads speed up IO-bound work but not CPU-bound work (the
    definitions around it are explained, not measured)."""
    io_best, cpu_best = io.best("threads")[1], cpu.best("threads")[1]
    io_gain, cpu_gain = io_best >= NO_GAIN_BELOW, cpu_best >= NO_GAIN_BELOW
    io_ratio, cpu_ratio = format_ratio(io_best), format_ratio(cpu_best)
    if io_gain and not cpu_gain:
        return Judgement(Verdict.HOLDS, (
            f"On {setting.cpus} usable CPUs, threads ran waiting tasks up to {io_ratio} as "
            f"fast as one after another, and CPU-bound tasks at best {cpu_ratio}. "
            f"{DEFINITIONS_UNMEASURED}"))
    if io_gain and not setting.gil_enabled:
        return Judgement(Verdict.PARTLY, (
            f"Threads ran waiting tasks up to {io_ratio} as fast as one after another, but on "
            f"this interpreter, which runs without the GIL, CPU-bound tasks too: up to "
            f"{cpu_ratio}. {DEFINITIONS_UNMEASURED}"))
    if io_gain:
        return Judgement(Verdict.PARTLY, (
            f"Threads ran waiting tasks up to {io_ratio} as fast as one after another, but "
            f"CPU-bound tasks too, up to {cpu_ratio}, although this interpreter has the GIL. "
            f"{DEFINITIONS_UNMEASURED}"))
    if not cpu_gain:
        return Judgement(Verdict.PARTLY, (
            f"Threads ran CPU-bound tasks at best {cpu_ratio} as fast as one after another, "
            f"no gain, but waiting tasks gained little either: at best {io_ratio}. "
            f"{DEFINITIONS_UNMEASURED}"))
    return Judgement(Verdict.FAILS, (
        f"Threads ran waiting tasks at best {io_ratio} as fast as one after another and "
        f"CPU-bound tasks up to {cpu_ratio}, the opposite of the claim on both counts. "
        f"{DEFINITIONS_UNMEASURED}"))


def _waiting_on_threads(setting: Setting, io: KindTimes, most: int) -> tuple[bool, str]:
    """Article 003's first half: whether threads overlapped more waits than the CPUs could
    have run at once, and the sentence that says so."""
    ratio = format_ratio(io.speedup("threads", most))
    if waits_beyond_cpus(setting, io, most):
        return True, (f"With {most} threads, waiting tasks ran {ratio} as fast as one after "
                      f"another, more than {setting.cpus} usable CPUs could give by "
                      "computing.")
    return False, (f"With {most} threads, waiting tasks ran {ratio} as fast as one after "
                   f"another, no more than {setting.cpus} usable CPUs could give, so this run "
                   "did not show waits overlapping on shared CPUs.")


def _computing_on_processes(setting: Setting, cpu: KindTimes) -> tuple[bool, str]:
    """Article 003's second half: whether processes, and not threads held back by the GIL,
    computed in parallel, and the sentence that says so."""
    processes, threads = cpu.best("processes")[1], cpu.best("threads")[1]
    on_processes, on_threads = format_ratio(processes), format_ratio(threads)
    threads_gain = threads >= NO_GAIN_BELOW
    if not setting.gil_enabled and threads_gain:
        return False, (f"This interpreter runs without the GIL, and on CPU-bound tasks its "
                       f"threads reached {on_threads} (processes {on_processes}): without the "
                       "GIL, Python did not need processes to compute in parallel.")
    if not setting.gil_enabled:
        return False, (f"This interpreter runs without the GIL, yet on CPU-bound tasks its "
                       f"threads reached only {on_threads}, and processes {on_processes}.")
    if threads_gain:
        return False, (f"On CPU-bound tasks threads reached {on_threads} although this "
                       f"interpreter has the GIL, and processes {on_processes}, so the GIL did "
                       "not hold the threads back in this run.")
    if processes < PROCESS_GAIN_FROM:
        return False, (f"On CPU-bound tasks threads reached only {on_threads} under the GIL, "
                       f"but processes gained little too, {on_processes}, on tasks this short.")
    return True, (f"On CPU-bound tasks processes reached {on_processes}, and threads, taking "
                  f"turns under the GIL, at best {on_threads}.")


def threads_processes_claim(setting: Setting, io: KindTimes, cpu: KindTimes,
                            most: int) -> Judgement:
    """Article 003, section 1: threads let one core juggle waiting tasks, processes let
    several cores compute, and the GIL is why Python needs processes for that."""
    waiting_held, waiting = _waiting_on_threads(setting, io, most)
    computing_held, computing = _computing_on_processes(setting, cpu)
    if waiting_held and computing_held:
        verdict = Verdict.HOLDS
    elif waiting_held or computing_held:
        verdict = Verdict.PARTLY
    else:
        verdict = Verdict.FAILS
    return Judgement(verdict, f"{waiting} {computing}")


def design_matters_claim(setting: Setting, batch: Batch, cpu: KindTimes) -> Judgement:
    """Article 003, section 1: only a well-designed multi-process scheme speeds computation
    up. The chapter runs one design (a pool started for each batch) at one task length, so
    it shows one side of the claim at most."""
    cpus, most = setting.cpus, batch.most_workers
    task = format_seconds(batch.task_s)
    on_cpus, on_most = (format_ratio(cpu.speedup("processes", cpus)),
                        format_ratio(cpu.speedup("processes", most)))
    if cpu.best("processes")[1] >= PROCESS_GAIN_FROM:
        return Judgement(Verdict.PARTLY, (
            f"A process pool started for the batch ran CPU-bound tasks of about {task} each "
            f"{on_cpus} as fast as one after another with {cpus} workers, one per usable CPU, "
            f"and {on_most} with {most}. The chapter records one task length and one way of "
            "using the pool, so that a worse design gains nothing is not measured here."))
    return Judgement(Verdict.PARTLY, (
        f"A process pool started for the batch ran CPU-bound tasks of about {task} each only "
        f"{on_cpus} as fast as one after another with {cpus} workers, one per usable CPU, "
        f"and {on_most} with {most}: starting the processes and sending them the work ate "
        "the gain of computing in parallel. The chapter records no longer tasks, so that a "
        "better design would pay off is not measured here."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    setting, io, cpu = found.setting, found.io, found.cpu
    return {
        "a001_concepts": concepts_claim(setting, io, cpu),
        "a003_threads_processes": threads_processes_claim(setting, io, cpu,
                                                          found.batch.most_workers),
        "a003_design_matters": design_matters_claim(setting, found.batch, cpu),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def best_cell(times: KindTimes, pool: str) -> str:
    """A pool's best speed-up over one after another, with the worker count that gave it."""
    workers, speedup = times.best(pool)
    return f"{format_ratio(speedup)} ({workers} worker{'s' if workers > 1 else ''})"


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. CPU-bound tasks on threads are what the GIL, or its absence, changes."""
    setting, io, cpu = found.setting, found.io, found.cpu
    return {
        "GIL while the experiment ran": "on" if setting.gil_enabled else "off",
        "start method of the process pools": setting.start_method,
        "IO-bound tasks, one after another": format_seconds(io.serial),
        "IO-bound tasks, best speed-up on threads": best_cell(io, "threads"),
        "IO-bound tasks, best speed-up on processes": best_cell(io, "processes"),
        "CPU-bound tasks, one after another": format_seconds(cpu.serial),
        "CPU-bound tasks, best speed-up on threads": best_cell(cpu, "threads"),
        "CPU-bound tasks, best speed-up on processes": best_cell(cpu, "processes"),
    }


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's tables name it, for the sentence on what changed between
    interpreters."""
    if group == "tasks":
        backend, workers = params["backend"], params["workers"]
        where = (BACKEND_LABELS[backend] if backend == "serial" else
                 f"on a {BACKEND_LABELS[backend]} of {workers} "
                 f"worker{'s' if workers > 1 else ''}")
        return f"the {KIND_LABELS[params['kind']]} tasks {where}"
    return interpreters.describe_case(group, params)


def cpu_threads_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """What threads did for the CPU-bound tasks under each interpreter, read against its
    GIL: with it on, one thread runs Python at a time, so a speed-up there is noise; with it
    off, threads can compute in parallel, and either did here or did not."""
    present = interpreters.measured(runs)

    def best(run: interpreters.InterpreterRun, pool: str = "threads") -> float:
        return run.found.cpu.best(pool)[1]

    def labels(group: list[interpreters.InterpreterRun]) -> str:
        return interpreters.join_words([run.label for run in group])

    listed = interpreters.join_words([f"{format_ratio(best(run))} on {run.label}"
                                      for run in present])
    sentences = [f"On the CPU-bound tasks, the best speed-up on threads was {listed}."]
    with_gil = [run for run in present if run.found.setting.gil_enabled]
    free = [run for run in present if not run.found.setting.gil_enabled]
    if with_gil:
        text = (f"With the GIL on ({labels(with_gil)}), threads only took turns at running "
                "Python")
        if noisy := [run for run in with_gil if best(run) >= NO_GAIN_BELOW]:
            where = (f"on {labels(noisy)}" if len(noisy) < len(with_gil)
                     else "there" if len(noisy) == 1 else "on each of them")
            text += (f"; that they still came out ahead {where} is noise under the GIL (other "
                     "load slowing the serial run, say), not parallel Python")
        sentences.append(text + ".")
    if parallel := [run for run in free if best(run) >= NO_GAIN_BELOW]:
        each = interpreters.join_words([
            f"{format_ratio(best(run))} against processes' "
            f"{format_ratio(best(run, 'processes'))} on {run.label}" for run in parallel])
        sentences.append(f"With the GIL off, threads computed in parallel ({each}): on a "
                         "free-threaded build, CPU-bound Python needs no processes.")
    if flat := [run for run in free if best(run) < NO_GAIN_BELOW]:
        sentences.append(f"Threads still gained nothing worth having in this run where the "
                         f"GIL was off ({labels(flat)}), although there they may compute in "
                         "parallel.")
    if not free:
        sentences.append("No interpreter here ran with the GIL off, so threads computing in "
                         "parallel are not measured in this build.")
    return " ".join(sentences)


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"pt_interpreters_cpu_threads": cpu_threads_across_interpreters(runs)}
