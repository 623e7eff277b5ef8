"""What the threads chapter concludes from one result: findings per section, and the texts
(every sentence and number the page glues)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.threads.experiment import (
    DISPATCH_LABELS,
    EXIT_LABELS,
    OVERLAP_LABELS,
)
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import format_ratio, format_seconds
from parbook.shared.child import ChildRun, shorten_paths

#: What a sleeper thread of the daemon demo prints when it was allowed to finish.
FINISHED_MARK = " finished at "
#: What the main thread of the bare-thread demo prints once its ``join()`` has returned.
JOINED = re.compile(r"join\(\) returned normally, is_alive\(\) = (True|False)")


@dataclass(frozen=True)
class Dispatch:
    """Seconds per call of a function that does nothing, by how the call was run."""

    calls: int
    direct: float
    new_thread: float
    running_pool: float
    pool_per_call: float

    @property
    def thread_over_pool(self) -> float:
        """A new thread per call over a call through a running pool."""
        return self.new_thread / self.running_pool

    @property
    def thread_over_direct(self) -> float:
        """A new thread per call over a plain function call."""
        return self.new_thread / self.direct


@dataclass(frozen=True)
class Overlap:
    """Short waits one after another and on a pool with one thread per wait."""

    waits: int
    wait_s: float
    sequence: float
    pool: float

    @property
    def speedup(self) -> float:
        return self.sequence / self.pool


def child_run(record: dict[str, Any]) -> ChildRun:
    """A demo's child run, from the dictionary the experiment stored (``ChildRun.as_dict``,
    which leaves out the command)."""
    return ChildRun(command=[], **record)


def finished_workers(run: ChildRun) -> int:
    """How many sleeper threads printed that they finished (the whole output counts)."""
    return run.output.count(FINISHED_MARK)


@dataclass(frozen=True)
class InterpreterExit:
    """A main thread that ends while its sleeping workers are daemons, or are not."""

    sleeps: tuple[float, ...]
    daemon: float       # median wall time of the child interpreter, start-up included
    non_daemon: float
    daemon_run: ChildRun      # the first run of each, shown on the page
    non_daemon_run: ChildRun

    @property
    def shortest_sleep(self) -> float:
        return min(self.sleeps)

    @property
    def longest_sleep(self) -> float:
        return max(self.sleeps)

    @property
    def daemons_cut_off(self) -> bool:
        """The program with daemon workers ended by itself, cleanly, with no worker
        finished: they were stopped mid-sleep when the main thread ended."""
        run = self.daemon_run
        return run.returncode == 0 and not run.killed and finished_workers(run) == 0

    @property
    def non_daemons_waited_for(self) -> bool:
        """The program with non-daemon workers ended cleanly only after every worker
        finished, and not before the longest sleep was over."""
        run = self.non_daemon_run
        return (run.returncode == 0 and not run.killed
                and finished_workers(run) == len(self.sleeps)
                and self.non_daemon >= self.longest_sleep)

    def transcript(self) -> str:
        """What each child printed, headed by how it ended, as the page shows it."""
        parts = []
        for label, run in zip(EXIT_LABELS.values(), (self.daemon_run, self.non_daemon_run),
                              strict=True):
            parts.append(f"--- worker threads with {label}: the process exited with code "
                         f"{run.returncode} after {run.elapsed_s:.2f} s\n{run.output}")
        return "".join(parts).rstrip("\n")


@dataclass(frozen=True)
class BareThreadError:
    """A plain Thread whose target raised, run in a fresh interpreter."""

    run: ChildRun

    @property
    def alive_after_join(self) -> bool | None:
        """What the main thread's ``is_alive()`` said once ``join()`` had returned, or
        ``None`` if the child printed no such line."""
        said = JOINED.search(self.run.output)
        return None if said is None else said.group(1) == "True"

    def transcript(self) -> str:
        """The child's exit code and both of its streams (file paths shortened)."""
        return (f"exit code: {self.run.returncode}\n--- standard output:\n{self.run.output}"
                "--- standard error (file paths shortened):\n"
                f"{shorten_paths(self.run.errors)}").rstrip("\n")


@dataclass(frozen=True)
class Findings:
    dispatch: Dispatch
    overlap: Overlap
    interpreter_exit: InterpreterExit
    bare_thread_error: BareThreadError


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, children = result.parameters, result.values["children"]

    def dispatch(how: str) -> float:
        return result.median("dispatch", how=how)

    return Findings(
        dispatch=Dispatch(calls=parameters["calls"], direct=dispatch("direct"),
                          new_thread=dispatch("new_thread"),
                          running_pool=dispatch("running_pool"),
                          pool_per_call=dispatch("pool_per_call")),
        overlap=Overlap(waits=parameters["waits"], wait_s=parameters["wait_s"],
                        sequence=result.median("overlap", how="sequence"),
                        pool=result.median("overlap", how="pool")),
        interpreter_exit=InterpreterExit(
            sleeps=tuple(parameters["exit_sleeps_s"]),
            daemon=result.median("interpreter_exit", kind="daemon"),
            non_daemon=result.median("interpreter_exit", kind="non-daemon"),
            daemon_run=child_run(children["daemon"]),
            non_daemon_run=child_run(children["non-daemon"]),
        ),
        bare_thread_error=BareThreadError(child_run(children["bare-thread-error"])),
    )


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def pool_per_call_sentence(dispatch: Dispatch) -> str:
    """Whether a pool created for every call cost the most of the ways measured."""
    took = format_seconds(dispatch.pool_per_call)
    if dispatch.pool_per_call > dispatch.new_thread:
        return (f"Creating a pool for every call, which pays for a new thread and for the "
                f"queue, cost the most: {took}.")
    return (f"Creating a pool for every call, which pays for a new thread and for the queue, "
            f"cost {took}, no more than a bare new thread in this run: next to starting a "
            "thread, the queue costs little.")


def daemon_sentence(exit_: InterpreterExit) -> str:
    """What the program with daemon workers did at its end."""
    took = format_seconds(exit_.daemon)
    if exit_.daemons_cut_off:
        return (f"With daemon=True, the program ended as soon as its main thread did, after "
                f"{took} (start-up included), and no worker printed that it finished: each "
                "was stopped mid-sleep.")
    return (f"With daemon=True, the program ran for {took}, but not as described here: "
            "the transcript above shows what its workers printed.")


def non_daemon_sentence(exit_: InterpreterExit) -> str:
    """What the program with non-daemon workers did at its end."""
    took = format_seconds(exit_.non_daemon)
    if exit_.non_daemons_waited_for:
        return (f"With non-daemon threads, the interpreter waited for every worker to finish "
                f"and exited after {took}, once the longest sleep had ended.")
    return (f"With non-daemon threads, the program ran for {took}, but not as described "
            "here: the transcript above shows what its workers printed.")


def bare_error_exit_sentence(bare: BareThreadError) -> str:
    """How the program whose bare thread raised ended, by its recorded exit code."""
    run = bare.run
    if run.killed:
        return (f"The program did not end within its limit of {run.time_limit_s:g} s and was "
                "stopped, so this build did not see its exit code.")
    if run.returncode == 0:
        return ("The program exited with code 0: whatever its threads raise, a program that "
                "ends this way reports success.")
    return (f"The program exited with code {run.returncode}, not 0; its standard error above "
            "says why.")


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    dispatch, overlap, exit_ = found.dispatch, found.overlap, found.interpreter_exit
    return {
        "threads_calls": f"{dispatch.calls:,}",
        "threads_direct": seconds(dispatch.direct),
        "threads_new_thread": seconds(dispatch.new_thread),
        "threads_running_pool": seconds(dispatch.running_pool),
        "threads_pool_per_call": seconds(dispatch.pool_per_call),
        "threads_thread_over_pool": ratio(dispatch.thread_over_pool),
        "threads_thread_over_direct": ratio(dispatch.thread_over_direct),
        "threads_waits": str(overlap.waits),
        "threads_wait_s": seconds(overlap.wait_s),
        "threads_overlap_sequence": seconds(overlap.sequence),
        "threads_overlap_pool": seconds(overlap.pool),
        "threads_overlap_speedup": ratio(overlap.speedup),
        "threads_exit_short": seconds(exit_.shortest_sleep),
        "threads_exit_long": seconds(exit_.longest_sleep),
        "threads_exit_daemon": seconds(exit_.daemon),
        "threads_exit_non_daemon": seconds(exit_.non_daemon),
        "threads_pool_per_call_sentence": pool_per_call_sentence(dispatch),
        "threads_daemon_sentence": daemon_sentence(exit_),
        "threads_non_daemon_sentence": non_daemon_sentence(exit_),
        "threads_bare_error_exit_code": str(found.bare_thread_error.run.returncode),
        "threads_bare_error_exit_sentence": bare_error_exit_sentence(found.bare_thread_error),
    }


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


def daemon_claim(exit_: InterpreterExit) -> Judgement:
    """Article 001, section 2.2: daemon threads end with the main thread, non-daemon threads
    keep the program alive until they finish."""
    daemon, non_daemon = format_seconds(exit_.daemon), format_seconds(exit_.non_daemon)
    sleeps = (f"workers sleeping {format_seconds(exit_.shortest_sleep)} and "
              f"{format_seconds(exit_.longest_sleep)}")
    if exit_.daemons_cut_off and exit_.non_daemons_waited_for:
        return Judgement(Verdict.HOLDS, (
            f"With daemon {sleeps}, the program ended after {daemon} (start-up included) with "
            f"no worker finished; with non-daemon ones it waited for every worker and ended "
            f"after {non_daemon}."))
    if exit_.daemons_cut_off:
        return Judgement(Verdict.PARTLY, (
            f"With daemon {sleeps}, the program ended after {daemon} with no worker finished, "
            f"but the program with non-daemon ones (it ran {non_daemon}) did not end cleanly "
            "after all of them finished."))
    if exit_.non_daemons_waited_for:
        return Judgement(Verdict.PARTLY, (
            f"With non-daemon {sleeps}, the program waited for every worker and ended after "
            f"{non_daemon}, but the program with daemon ones (it ran {daemon}) did not end "
            "cleanly with its workers cut off."))
    return Judgement(Verdict.FAILS, (
        f"Neither program ended as described: with daemon {sleeps} it ran {daemon}, with "
        f"non-daemon ones {non_daemon}; the chapter's transcript shows what they printed."))


#: What no recorded run shows of ``join()`` (said with its verdict).
JOIN_UNTIMED = ("No recorded run times a join() against a thread that is still working: the "
                "page's join(timeout=...) example shows one, but the result does not record it.")


def join_claim(bare: BareThreadError) -> Judgement:
    """Article 001, section 2.2: to make the main thread wait for other threads, call
    ``join()``. Judged by the bare-thread demo, whose main thread joins its thread and then
    prints whether it is still alive."""
    alive = bare.alive_after_join
    if alive is None:
        return Judgement(Verdict.UNMEASURED, (
            "The recorded demo that joins a thread printed nothing after its join(), so no "
            f"recorded run shows what join() does. {JOIN_UNTIMED}"))
    if alive:
        return Judgement(Verdict.FAILS, (
            "In the recorded bare-thread demo, the main thread's join() returned while the "
            "thread it joined was still alive."))
    return Judgement(Verdict.PARTLY, (
        "In the recorded bare-thread demo, when the main thread's join() returned, the thread "
        f"it joined had ended (is_alive() was False). {JOIN_UNTIMED}"))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_daemon": daemon_claim(found.interpreter_exit),
        "a001_join": join_claim(found.bare_thread_error),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. What a thread costs to start and to hand work to, and how long a program takes
    to end, are the interpreter's (a free-threaded build makes its own objects and locks
    thread-safe); the demonstrations' outcomes should not change."""
    dispatch, overlap, exit_ = found.dispatch, found.overlap, found.interpreter_exit
    return {
        "one call on a new Thread (start + join)": format_seconds(dispatch.new_thread),
        "one call through a running ThreadPoolExecutor": format_seconds(dispatch.running_pool),
        "one call on a new ThreadPoolExecutor": format_seconds(dispatch.pool_per_call),
        "a plain function call (floor)": format_seconds(dispatch.direct),
        f"{overlap.waits} waits of {format_seconds(overlap.wait_s)} on a pool, against one "
        "after another": f"{format_ratio(overlap.speedup)} as fast",
        "a program that ends while daemon workers sleep": format_seconds(exit_.daemon),
        "a program that ends while non-daemon workers sleep": format_seconds(
            exit_.non_daemon),
        "exit code of a program whose bare thread raised": str(
            found.bare_thread_error.run.returncode),
    }


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's tables name it, for the sentence on what changed between
    interpreters."""
    if group == "dispatch":
        return f"one call, {DISPATCH_LABELS[params['how']]}"
    if group == "overlap":
        return f"{params['waits']} waits, {OVERLAP_LABELS[params['how']]}"
    if group == "interpreter_exit":
        return f"the program whose workers slept ({EXIT_LABELS[params['kind']]})"
    return interpreters.describe_case(group, params)


def demos_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """Whether the daemon, non-daemon and bare-thread demonstrations did what the page
    says under every interpreter, or where they did not."""
    present = interpreters.measured(runs)
    failed = {
        "the program with daemon workers did not end cleanly with them cut off": [
            run.label for run in present if not run.found.interpreter_exit.daemons_cut_off],
        "the program with non-daemon workers did not end cleanly after all of them": [
            run.label for run in present
            if not run.found.interpreter_exit.non_daemons_waited_for],
        "the program whose bare thread raised exited with a code other than 0": [
            run.label for run in present if run.found.bare_thread_error.run.returncode != 0],
    }
    every = "this interpreter" if len(present) == 1 else "every interpreter here"
    if not any(failed.values()):
        return (f"The demonstrations behaved the same under {every}: daemon workers were cut "
                "off when the main thread ended, the program waited for its non-daemon "
                "workers, and the program whose bare thread raised still exited with code 0.")
    exceptions = "; ".join(f"{what} on {interpreters.join_words(labels)}"
                           for what, labels in failed.items() if labels)
    return f"Not every demonstration behaved as described: {exceptions}."


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"threads_interpreters_demos": demos_across_interpreters(runs)}
