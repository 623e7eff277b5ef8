"""What the processes chapter concludes from one result: findings per section, and the
texts (every sentence, number and demo output the page glues).

The demonstrations ran inside the experiment or in child interpreters; what they printed
was recorded complete in the result, so every verdict here reads facts from that record
(exit codes, PIDs, counts of lines), never the shortened text the page displays.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass
from typing import Any

from parbook import interpreters
from parbook.bench.results import Result
from parbook.chapters.processes.experiment import (
    DAEMON_LABELS,
    ENDING_LABELS,
    EXPECTED_EXIT_CODES,
    SCRIPT_LABELS,
    SCRIPTS,
)
from parbook.chapters.processes.workload import ENDINGS
from parbook.claims import Judgement, Verdict
from parbook.render.formatting import format_seconds, spoken_list
from parbook.shared.child import shorten_paths

#: The message multiprocessing gives a child that starts processes while importing main.
BOOTSTRAP_ERROR = ("An attempt has been made to start a new process before the current "
                   "process has finished its bootstrapping phase.")
#: The first line of an exception as a traceback ends with it: ``ValueError: ...``.
ERROR_LINE = re.compile(r"^[\w.]+(Error|Exception)\b")
#: How much longer than the fastest method spawn's "return" join must wait before the page
#: explains the difference by spawn's interpreter shutdown.
SPAWN_SLOWER_FROM = 2.0
#: The endings the child chooses itself (the others are the parent's signals).
CHILD_ENDINGS = ("return", "exit3", "exception")
#: A line the guard-demo scripts print at their top level, and the one the parent prints
#: after joining its child.
TOP_LEVEL_LINE = "top level of the script runs"
CHILD_EXITCODE_LINE = re.compile(r"the child ended with exitcode (-?\d+)")
#: The line the napping child of the daemon demo prints if it is allowed to finish.
FINISHED_LINE = ": finished at "
#: What each child of the function demo sends back, and the subclass demo's last line.
SQUARE_LINE = re.compile(r"square of (?P<number>-?\d+) is (?P<square>-?\d+)")
EXIT_CODES_LINE = re.compile(r"^exit codes: \[(?P<codes>[-\d, ]*)\]$")
#: What the join demo prints after each join: whether the child still runs, its exitcode.
JOIN_LINE = re.compile(r"is_alive\(\) = (?P<alive>True|False), exitcode = (?P<code>\S+)$")
#: The end of the error ``start()`` raises in a daemon process that starts a child.
DAEMON_REFUSAL = "daemonic processes are not allowed to have children"


# ---------------------------------------------------------------------------------------
# Reading what a child printed.


def error_summary(stderr: str) -> str | None:
    """The last exception a traceback in ``stderr`` ended with, on one line (None if none)."""
    lines = stderr.splitlines()
    starts = [index for index, line in enumerate(lines) if ERROR_LINE.match(line)]
    if not starts:
        return None
    text = " ".join(line.strip() for line in lines[starts[-1]:])
    name, _, message = text.partition(":")
    message = " ".join(message.split())
    if BOOTSTRAP_ERROR in message:
        message = BOOTSTRAP_ERROR
    return f"{name}: {message}" if message else name


def errors_seen(stderr: str) -> list[str]:
    """Every traceback's closing error in ``stderr``, in order, each on one line: a
    script whose fork server failed prints the server's error first, then its own."""
    lines = stderr.splitlines()
    starts = [index for index, line in enumerate(lines)
              if line.startswith("Traceback (most recent call last)")]
    bounds = zip(starts, [*starts[1:], len(lines)][:len(starts)], strict=True)
    found = [error_summary("\n".join(lines[begin:end])) for begin, end in bounds]
    return [error for error in found if error]


def error_name(error: str) -> str:
    """``RuntimeError: An attempt...`` -> ``RuntimeError``; a dotted name loses its module
    (``multiprocessing.context.AuthenticationError`` -> ``AuthenticationError``)."""
    return error.split(":")[0].rsplit(".", 1)[-1]


def an(name: str) -> str:
    """An exception's name with its indefinite article: ``a RuntimeError``, ``an
    EOFError``."""
    return f"{'an' if name[:1] in 'AEIOU' else 'a'} {name}"


def met_bootstrap_error(stderr: str) -> bool:
    """Whether ``stderr`` holds multiprocessing's bootstrapping error, wherever it falls
    and however its lines were wrapped."""
    return BOOTSTRAP_ERROR in " ".join(stderr.split())


def first_traceback(stderr: str) -> str:
    """The first child traceback in ``stderr``, from its ``Process NAME:`` line to the error."""
    lines = shorten_paths(stderr).splitlines()
    begin = next((i for i, line in enumerate(lines) if line.startswith("Process ")), None)
    if begin is None:
        return ""
    end = next((i for i in range(begin + 1, len(lines))
                if ERROR_LINE.match(lines[i])), len(lines) - 1)
    return "\n".join(lines[begin:end + 1])


def reported_exitcode(output: str) -> int | None:
    """The child's exitcode as a guard-demo script printed it (None if it never did)."""
    match = CHILD_EXITCODE_LINE.search(output)
    return int(match.group(1)) if match else None


def exit_code_text(codes: list[int]) -> str:
    """The exit code(s) seen, with the signal's name for negative ones: ``-15 (-SIGTERM)``."""
    texts = []
    for code in codes:
        if code < 0:
            try:
                texts.append(f"{code} (-{signal.Signals(-code).name})")
                continue
            except ValueError:  # a signal number this platform has no name for
                pass
        texts.append(str(code))
    return " / ".join(texts)


# ---------------------------------------------------------------------------------------
# Findings, one small dataclass per section of the page.


@dataclass(frozen=True)
class Setup:
    """The machine's start methods; the in-process demos used the default one."""

    cpus: int
    start_method: str
    methods: tuple[str, ...]
    python: str


@dataclass(frozen=True)
class Demos:
    """What the smaller demonstrations returned or printed (default start method)."""

    function: tuple[str, ...]
    subclass: tuple[str, ...]
    memory: tuple[str, ...]
    join: tuple[str, ...]
    finish: str
    daemon_children: str
    join_work_s: float
    join_patience_s: float
    finish_patience_s: float

    @property
    def function_ran(self) -> bool:
        """Whether every child made from a target function sent back its number's square."""
        answers = [SQUARE_LINE.search(line) for line in self.function]
        return bool(answers) and all(
            answer is not None and int(answer["square"]) == int(answer["number"]) ** 2
            for answer in answers)

    @property
    def subclass_ran(self) -> bool:
        """Whether every ``Process`` subclass reported back and exited with code 0."""
        last = EXIT_CODES_LINE.match(self.subclass[-1]) if self.subclass else None
        if last is None:
            return False
        codes = [int(code) for code in last["codes"].split(",") if code.strip()]
        return bool(codes) and len(codes) == len(self.subclass) - 1 and set(codes) == {0}

    @property
    def join_waited(self) -> bool:
        """Whether the join demo's last ``join`` returned with the child ended, code 0."""
        last = JOIN_LINE.search(self.join[-1]) if self.join else None
        return last is not None and last["alive"] == "False" and last["code"] == "0"

    @property
    def daemon_refused_child(self) -> bool:
        """Whether a daemon process's ``start()`` of a child of its own was refused."""
        return DAEMON_REFUSAL in self.daemon_children


@dataclass(frozen=True)
class Endings:
    """Children that ended five ways, under every start method: exit codes and join waits."""

    methods: tuple[str, ...]
    default: str
    codes: dict[str, dict[str, tuple[int, ...]]]  # method -> ending -> every round
    join: dict[tuple[str, str], float]  # (ending, method) -> median seconds
    rounds: int
    tracebacks: dict[str, int]  # method -> tracebacks the sweep's children printed
    first_traceback: str

    def seen(self, ending: str) -> list[int]:
        """Every exit code seen for ``ending``, over all methods and rounds, sorted."""
        return sorted({code for method in self.methods for code in self.codes[method][ending]})

    @property
    def as_expected(self) -> bool:
        """Whether every ending gave exactly the POSIX exit code the page explains."""
        return all(self.seen(ending) == [EXPECTED_EXIT_CODES[ending]] for ending in ENDINGS)

    @property
    def return_slowest(self) -> str:
        """The start method whose returning child took longest to be joined."""
        return max(self.methods, key=lambda method: self.join[("return", method)])

    @property
    def return_fastest(self) -> str:
        """The start method whose returning child was joined soonest."""
        return min(self.methods, key=lambda method: self.join[("return", method)])

    @property
    def exception_slowest(self) -> bool:
        """Whether the exception cost the longest wait of the endings the child chose."""
        others = [ending for ending in CHILD_ENDINGS if ending != "exception"]
        return all(self.join[("exception", method)]
                   >= max(self.join[(ending, method)] for ending in others)
                   for method in self.methods)


@dataclass(frozen=True)
class DaemonExit:
    """A program that ended while a child slept: wall times, and what each run printed."""

    nap_s: float
    daemon_s: float
    non_daemon_s: float
    parent_killed_s: float
    runs: dict[str, dict[str, Any]]  # kind -> the first child interpreter's record

    @property
    def finished(self) -> dict[str, int]:
        """How many times the napping child said it finished, per kind of run."""
        return {kind: run["output"].count(FINISHED_LINE) for kind, run in self.runs.items()}


@dataclass(frozen=True)
class ScriptRun:
    """One guard-demo script run by path under one start method."""

    output: str
    errors: str
    returncode: int | None
    killed: bool
    wall_s: float

    @property
    def child_exitcode(self) -> int | None:
        return reported_exitcode(self.output)

    @property
    def top_level_runs(self) -> int:
        """How many processes ran the script's top level (the script and re-importers)."""
        return self.output.count(TOP_LEVEL_LINE)

    @property
    def bootstrap_failed(self) -> bool:
        return met_bootstrap_error(self.errors)

    @property
    def error(self) -> str | None:
        return error_summary(self.errors)

    @property
    def errors_seen(self) -> list[str]:
        return errors_seen(self.errors)

    @property
    def outcome(self) -> str:
        """``ran``, ``child failed`` (the parent saw a failed child's exitcode and went on),
        ``script failed`` (no child's exitcode was ever printed: the script itself failed)
        or ``stopped`` (killed at its time limit)."""
        if self.killed:
            return "stopped"
        if self.child_exitcode is None:
            return "script failed"
        return "ran" if self.child_exitcode == 0 else "child failed"


@dataclass(frozen=True)
class Guard:
    """The scripts without and with the ``__main__`` guard, under every start method."""

    methods: tuple[str, ...]
    runs: dict[tuple[str, str], ScriptRun]  # (script, method)
    runs_per_case: int

    @property
    def failed(self) -> list[str]:
        """The methods under which the unguarded script's child met the bootstrap error and
        the script went on after seeing the child's exitcode."""
        return [method for method in self.methods
                if self.runs[("unguarded", method)].outcome == "child failed"
                and self.runs[("unguarded", method)].bootstrap_failed]

    @property
    def script_failed(self) -> list[str]:
        """The methods under which the unguarded script itself failed, with no child's
        exitcode to report (its fork server died importing the script)."""
        return [method for method in self.methods
                if self.runs[("unguarded", method)].outcome == "script failed"]

    @property
    def fork_available(self) -> bool:
        return "fork" in self.methods


@dataclass(frozen=True)
class ChildFacts:
    """What one child said about itself."""

    name: str
    pid: int
    getppid: int
    parent_name: str | None
    parent_pid: int | None


@dataclass(frozen=True)
class Family:
    """A named and an unnamed child started under one method, and their parent."""

    parent_name: str
    parent_pid: int
    parent_process: str
    named: ChildFacts
    unnamed: ChildFacts

    @property
    def ppid_is_parent(self) -> bool:
        """Whether ``os.getppid()`` in every child was the starting program's PID."""
        return all(child.getppid == self.parent_pid for child in (self.named, self.unnamed))

    @property
    def parent_process_is_parent(self) -> bool:
        """Whether ``parent_process().pid`` in every child was the starting program's PID."""
        return all(child.parent_pid == self.parent_pid for child in (self.named, self.unnamed))


@dataclass(frozen=True)
class ForkserverImport:
    """Who imported the guarded script under forkserver: the child itself, or the fork
    server before forking it (from the PIDs on the script's top-level lines)."""

    child_imported: bool
    server_imported: bool


@dataclass(frozen=True)
class Findings:
    setup: Setup
    demos: Demos
    endings: Endings
    daemon: DaemonExit
    guard: Guard
    families: dict[str, Family]  # method -> family
    forkserver_main: ForkserverImport | None  # None: no forkserver on this platform


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    parameters, values = result.parameters, result.values
    methods = tuple(parameters["start_methods"])
    default = parameters["start_method"]
    demos, children = values["demos"], values["children"]
    return Findings(
        setup=Setup(cpus=parameters["cpus"], start_method=default, methods=methods,
                    python=parameters["python"]),
        demos=Demos(
            function=tuple(demos["function"]),
            subclass=tuple(children["subclass"]["output"].splitlines()),
            memory=tuple(demos["memory"]), join=tuple(demos["join"]),
            finish=demos["finish"], daemon_children=demos["daemon_children"],
            join_work_s=parameters["join_work_s"],
            join_patience_s=parameters["join_patience_s"],
            finish_patience_s=parameters["finish_patience_s"],
        ),
        endings=Endings(
            methods=methods, default=default,
            codes={method: {ending: tuple(codes) for ending, codes in by_ending.items()}
                   for method, by_ending in values["exit_codes"].items()},
            join={(ending, method): result.median("exit", ending=ending, method=method)
                  for ending in ENDINGS for method in methods},
            rounds=parameters["exit_repeats"] + parameters["exit_warmup"],
            tracebacks={method: values["exit_errors"][method].count("Traceback (most recent")
                        for method in methods},
            first_traceback=first_traceback(values["exit_errors"][default]),
        ),
        daemon=DaemonExit(
            nap_s=parameters["nap_s"],
            daemon_s=result.median("daemon_exit", kind="daemon"),
            non_daemon_s=result.median("daemon_exit", kind="non-daemon"),
            parent_killed_s=result.median("daemon_exit", kind="parent-killed"),
            runs={kind: children[kind] for kind in DAEMON_LABELS},
        ),
        guard=Guard(
            methods=methods,
            runs={(script, method): _script_run(result, script, method)
                  for script in SCRIPTS for method in methods},
            runs_per_case=parameters["guard_runs"],
        ),
        families={method: _family(values["family"][method]) for method in methods},
        forkserver_main=_forkserver_import(values["forkserver_main"]),
    )


def _forkserver_import(fact: dict[str, Any] | None) -> ForkserverImport | None:
    if fact is None:
        return None
    return ForkserverImport(child_imported=fact["child_imported"],
                            server_imported=fact["server_imported"])


def _script_run(result: Result, script: str, method: str) -> ScriptRun:
    run = result.values["guard"][script][method]
    return ScriptRun(output=run["output"], errors=run["errors"], returncode=run["returncode"],
                     killed=run["killed"],
                     wall_s=result.median("guard", script=script, method=method))


def _family(record: dict[str, Any]) -> Family:
    named, unnamed = (ChildFacts(**child) for child in record["children"])
    parent = record["parent"]
    return Family(parent_name=parent["name"], parent_pid=parent["pid"],
                  parent_process=parent["parent_process"], named=named, unnamed=unnamed)


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def return_verdict(endings: Endings) -> str:
    """Whether spawn's returning child took clearly longer to join, and why."""
    slowest, fastest = endings.return_slowest, endings.return_fastest
    if (slowest == "spawn" and endings.join[("return", slowest)]
            > SPAWN_SLOWER_FROM * endings.join[("return", fastest)]):
        return ("A child started by spawn is a whole interpreter, which shuts down the usual "
                "way when its target returns (exit handlers, module clean-up); one started by "
                "fork or forkserver leaves with os._exit as soon as its target is done.")
    return ("The methods differed less here than one might expect from how their children "
            "end: a spawned child shuts a whole interpreter down when its target returns, "
            "while a forked one leaves with os._exit at once.")


def exception_verdict(endings: Endings) -> str:
    """Whether the uncaught exception was the slowest ending the child chose itself."""
    if endings.exception_slowest:
        return ("It was the longest wait of the three endings the child chose itself, under "
                "every start method: the child formats and prints the traceback before it "
                "exits.")
    return ("It was not always the longest wait of the three endings the child chose itself "
            "in this run, although the child formats and prints a traceback before it exits.")


def guard_fork_verdict(guard: Guard) -> str:
    """What the unguarded script did under fork, if the platform offers it."""
    if guard.fork_available:
        return ("Under fork the same script ran without complaint: the child is a copy "
                "of the parent and never imports the script again.")
    return "This platform offers no fork start method, so no method spared it."


def forkserver_import_sentence(setup: Setup, main: ForkserverImport | None) -> str:
    """Who imported the guarded script under forkserver in this build."""
    python = setup.python
    if main is None:
        return "This platform offers no forkserver start method to show it."
    if main.child_imported and main.server_imported:
        return (f"In this build, on Python {python}, the fork server imported the script and "
                "the forkserver child imported it again.")
    if main.child_imported:
        return (f"In this build, on Python {python}, the forkserver child imported the "
                "script itself: the line that says __mp_main__ carries the child's PID.")
    if main.server_imported:
        return (f"In this build, on Python {python}, the fork server imported the script "
                "once, before forking the child: the line that says __mp_main__ carries a "
                "PID that is neither the script's nor the child's.")
    return (f"In this build, on Python {python}, the forkserver run showed no second "
            "import of the script.")


def guard_server_verdict(guard: Guard) -> str:
    """What became of the unguarded script under forkserver, the method whose behaviour
    changed with the Python version."""
    if "forkserver" not in guard.methods:
        return "This platform offers no forkserver start method to try it with."
    run = guard.runs[("unguarded", "forkserver")]
    names = [error_name(error) for error in run.errors_seen]
    if "forkserver" in guard.failed:
        return ("Under forkserver it was the child that failed, as under spawn: each "
                "forkserver child imported the script itself.")
    if run.outcome == "script failed" and len(names) >= 2:
        return (f"Under forkserver the script itself failed, with exit code {run.returncode}: "
                "the fork server imported the script to preload it and died of "
                f"{an(names[0])} at its top level before forking any child, and the "
                f"script's own start() then failed with {an(names[-1])}.")
    if run.outcome == "script failed":
        return (f"Under forkserver the script itself failed, with exit code {run.returncode}, "
                "before any child could report an exitcode.")
    if run.outcome == "stopped":
        return ("Under forkserver the script did not finish within its time limit and was "
                "stopped.")
    return "Under forkserver the script ran to its end here, child and all."


def ppid_verdict(families: dict[str, Family]) -> str:
    """Whether ``os.getppid()`` named the starting program under every method."""
    forked_by_server = [method for method, family in families.items()
                        if not family.ppid_is_parent]
    if forked_by_server:
        return (f"Under {spoken_list(forked_by_server)}, os.getppid() in the child was not "
                "the PID of the program that started it: the child was forked by the fork "
                "server, so that is its operating-system parent. parent_process() still "
                "named the program that created it.")
    return ("Under every method here, os.getppid() in the child was the PID of the program "
            "that started it.")


# ---------------------------------------------------------------------------------------
# The summary table's cells that say what happened.


def guard_outcome_cell(guard: Guard, method: str) -> str:
    """What the unguarded script did under ``method``, in a few words."""
    run = guard.runs[("unguarded", method)]
    names = [error_name(error) for error in run.errors_seen]
    if run.outcome == "ran":
        return f"ran without complaint; exit code {run.returncode}"
    if run.outcome == "child failed":
        error = an(names[0]) if names else "an error"
        return (f"the child died of {error} (exitcode {run.child_exitcode}); the script "
                f"went on and exited with code {run.returncode}")
    if run.outcome == "script failed" and method == "forkserver" and len(names) >= 2:
        return (f"the fork server died of {an(names[0])} importing the script; the script "
                f"failed with exit code {run.returncode}")
    if run.outcome == "script failed":
        return f"the script failed with exit code {run.returncode}"
    return "stopped at its time limit"


def daemon_cell(daemon: DaemonExit, kind: str) -> str:
    """How long a program took to exit while its child slept, and what became of the child."""
    if kind == "daemon":
        seconds = format_seconds(daemon.daemon_s)
        if daemon.finished["daemon"] == 0:
            return f"exited after {seconds}; the child was stopped mid-sleep"
        return f"exited after {seconds}; the child finished its sleep anyway"
    seconds = format_seconds(daemon.non_daemon_s)
    if daemon.finished["non-daemon"]:
        return f"exited after {seconds}, once the child had finished its sleep"
    return f"exited after {seconds}; the child never said it finished"


# ---------------------------------------------------------------------------------------
# What the demos printed, as the page shows it.


def daemon_output(daemon: DaemonExit) -> str:
    """The daemon and non-daemon runs: a header each, then what the program printed."""
    lines = []
    for kind in ("daemon", "non-daemon"):
        run = daemon.runs[kind]
        lines.append(f"--- child started with {DAEMON_LABELS[kind]}: the program exited with "
                     f"code {run['returncode']} after {run['elapsed_s']:.2f} s")
        lines += run["output"].splitlines()
    return "\n".join(lines)


def orphan_output(daemon: DaemonExit) -> str:
    """The run that killed itself, leaving its daemon child as an orphan."""
    run = daemon.runs["parent-killed"]
    return "\n".join([f"--- {DAEMON_LABELS['parent-killed']}: the program ended with code "
                      f"{run['returncode']}; its output closed after {run['elapsed_s']:.2f} s",
                      *run["output"].splitlines()])


def script_lines(run: ScriptRun) -> list[str]:
    """What a guard-demo script printed, with each error it met summarised on one line."""
    return [*run.output.splitlines(), *(f"(on stderr) {error}" for error in run.errors_seen)]


def guard_output(guard: Guard) -> str:
    """Both scripts under every method: a header each, then what the script printed."""
    lines = []
    for script, label in SCRIPT_LABELS.items():
        for method in guard.methods:
            run = guard.runs[(script, method)]
            lines.append(f"--- {label}, {method}: the script exited with code {run.returncode}")
            lines += script_lines(run)
    return "\n".join(lines)


def _joined(values: list[Any] | set[Any], unit: str = "") -> str:
    """Distinct values, sorted, as ``1 / 2`` (``n/a`` when there are none)."""
    return " / ".join(f"{value}{unit}" for value in sorted(values)) or "n/a"


def texts(found: Findings) -> dict[str, str | int | float]:
    """Every sentence, number and demo output the page glues, by glue key."""
    seconds = format_seconds
    setup, demos, endings, daemon, guard = (found.setup, found.demos, found.endings,
                                            found.daemon, found.guard)
    default, failed = setup.start_method, guard.failed
    slowest, fastest = endings.return_slowest, endings.return_fastest
    glued: dict[str, str | int | float] = {
        "processes_start_method": default,
        "processes_methods": spoken_list(setup.methods),
        "processes_exit_rounds": str(endings.rounds),
        "processes_nap": seconds(daemon.nap_s),
        "processes_daemon_exit": seconds(daemon.daemon_s),
        "processes_non_daemon_exit": seconds(daemon.non_daemon_s),
        "processes_parent_killed_exit": seconds(daemon.parent_killed_s),
        "processes_join_patience": seconds(demos.join_patience_s),
        "processes_join_work": seconds(demos.join_work_s),
        "processes_finish_patience": seconds(demos.finish_patience_s),
        "processes_guard_failed": spoken_list(failed),
        "processes_guard_child_exitcode": _joined(
            {guard.runs[("unguarded", method)].child_exitcode for method in failed}),
        "processes_guard_script_returncode": _joined(
            {guard.runs[("unguarded", method)].returncode for method in failed}),
        "processes_guarded_top_level_runs": _joined(
            {guard.runs[("guarded", method)].top_level_runs for method in failed}, "×"),
        "processes_guard_fork_verdict": guard_fork_verdict(guard),
        "processes_guard_server_verdict": guard_server_verdict(guard),
        "processes_forkserver_import": forkserver_import_sentence(setup,
                                                                  found.forkserver_main),
        "processes_return_slowest_method": slowest,
        "processes_return_slowest": seconds(endings.join[("return", slowest)]),
        "processes_return_fastest_method": fastest,
        "processes_return_fastest": seconds(endings.join[("return", fastest)]),
        "processes_return_verdict": return_verdict(endings),
        "processes_exception_verdict": exception_verdict(endings),
        "processes_ppid_verdict": ppid_verdict(found.families),
    }
    for ending in ENDINGS:
        glued[f"processes_exit_{ending}_code"] = exit_code_text(endings.seen(ending))
        glued[f"processes_{ending}_join"] = seconds(endings.join[(ending, default)])
    return glued


#: The demonstrations' printouts the page shows (see :func:`outputs`).
OUTPUT_IDS = tuple(f"processes-{demo}" for demo in (
    "function", "subclass", "memory", "join", "traceback", "finish", "daemon", "orphan",
    "daemon-children", "guard"))


def outputs(found: Findings) -> dict[str, str]:
    """What each demonstration printed when the experiment ran, by output id."""
    demos, endings, daemon, guard = found.demos, found.endings, found.daemon, found.guard
    return {
        "processes-function": "\n".join(demos.function),
        "processes-subclass": "\n".join(demos.subclass),
        "processes-memory": "\n".join(demos.memory),
        "processes-join": "\n".join(demos.join),
        "processes-traceback": endings.first_traceback,
        "processes-finish": demos.finish,
        "processes-daemon": daemon_output(daemon),
        "processes-orphan": orphan_output(daemon),
        "processes-daemon-children": demos.daemon_children,
        "processes-guard": guard_output(guard),
    }


# ---------------------------------------------------------------------------------------
# The claims of the source articles this chapter judges, for the ledger in book/sources.md.


def process_api_claim(demos: Demos, daemon: DaemonExit, start_method: str) -> Judgement:
    """Article 001: a process is made from a function or a subclass, waited for with
    ``join``, and can be a daemon, which ends with its program and may not start children."""
    shown = {
        "a child made from a function": demos.function_ran,
        "a child made from a Process subclass": demos.subclass_ran,
        "join waiting for a child's end": demos.join_waited,
        "a daemon child stopped when its program exited":
            daemon.finished["daemon"] == 0 and daemon.finished["non-daemon"] > 0,
        "a daemon refused a child of its own": demos.daemon_refused_child,
    }
    missed = [point for point, held in shown.items() if not held]
    if not missed:
        return Judgement(Verdict.HOLDS, (
            f"Under {start_method}, children made from a function and from a Process subclass "
            "ran and were joined, a daemon child was stopped mid-sleep when its program "
            f"exited {format_seconds(daemon.daemon_s)} in, and a daemon's own start() of a "
            "child raised AssertionError."))
    if len(missed) < len(shown):
        return Judgement(Verdict.PARTLY, (
            f"Under {start_method}, these did not show as the article says: "
            f"{spoken_list(missed)}; the rest of it did."))
    return Judgement(Verdict.FAILS, (
        f"Under {start_method}, none of it showed as the article says: no child made from a "
        "function or a subclass ran to its end, and no daemon behaved as described."))


def main_guard_claim(guard: Guard) -> Judgement:
    """Article 003: code that starts processes must sit under ``if __name__ ==
    "__main__":``, although a small example runs without it. Which of the two is true
    depends on the start method, so each method's run decides its half."""
    unguarded_ran = [method for method in guard.methods
                     if guard.runs[("unguarded", method)].outcome == "ran"]
    needed = [method for method in guard.methods if method not in unguarded_ran]
    guarded_failed = [method for method in guard.methods
                      if guard.runs[("guarded", method)].outcome != "ran"]
    if guarded_failed:
        return Judgement(Verdict.FAILS, (
            f"With the guard the script still did not run under {spoken_list(guarded_failed)}, "
            "so the guard alone did not make it work here."))
    if needed and unguarded_ran:
        return Judgement(Verdict.PARTLY, (
            f"Without the guard the small script did not work under {spoken_list(needed)} "
            f"and ran under {spoken_list(unguarded_ran)}; with it, it ran under every method. "
            "The guard is needed there, and what lets an example run without it is the start "
            "method, not the example's size."))
    if needed:
        return Judgement(Verdict.PARTLY, (
            "Without the guard the small script did not work under any start method offered "
            f"here ({spoken_list(needed)}), and with it, it ran: the guard is needed, but not "
            "even the small example ran without it."))
    return Judgement(Verdict.PARTLY, (
        "The small script ran without the guard under every start method offered here "
        f"({spoken_list(unguarded_ran)}), as the article allows, so nothing on this build "
        "needed the guard."))


#: The start methods that, by the SubprocVecEnv warning article 004 quotes, need the guard.
GUARD_METHODS = ("spawn", "forkserver")


def guard_exception(guard: Guard, method: str) -> str | None:
    """Why ``method`` does not bear out the warning (None where it does: the script failed
    without the guard and ran with it), as a clause that can stand after a semicolon."""
    if method not in guard.methods:
        return f"this platform offers no {method} start method"
    if guard.runs[("guarded", method)].outcome != "ran":
        return f"under {method} the script failed even with the guard"
    if guard.runs[("unguarded", method)].outcome == "ran":
        return f"under {method} the script ran without the guard too"
    return None


def guard_required_claim(guard: Guard) -> Judgement:
    """Article 004, quoting SubprocVecEnv's warning: under forkserver and spawn the code
    must sit in an ``if __name__ == "__main__":`` block. Each method's pair of guard-demo
    runs (without and with the guard) decides it for that method."""
    exceptions = {method: guard_exception(guard, method) for method in GUARD_METHODS}
    needed = [method for method, exception in exceptions.items() if exception is None]
    others = spoken_list(exception for exception in exceptions.values() if exception)
    if len(needed) == len(GUARD_METHODS):
        names = sorted({error_name(run.errors_seen[0]) for run in
                        (guard.runs[("unguarded", method)] for method in needed)
                        if run.errors_seen})
        raised = f", raising {spoken_list(an(name) for name in names)}" if names else ""
        fork = ("fork" in guard.methods
                and guard.runs[("unguarded", "fork")].outcome == "ran")
        spared = " Under fork it ran without the guard, which the warning does not ask for."
        return Judgement(Verdict.HOLDS, (
            "Without the guard the script failed under both spawn and forkserver when it was "
            f"imported again{raised}; with the guard it ran under both."
            f"{spared if fork else ''}"))
    if needed:
        return Judgement(Verdict.PARTLY, (
            f"Under {spoken_list(needed)} the script failed without the guard and ran with it, "
            f"as the warning says; {others}."))
    return Judgement(Verdict.FAILS, (
        f"Neither spawn nor forkserver bore out the warning here: {others}."))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a001_process_api": process_api_claim(found.demos, found.daemon,
                                              found.setup.start_method),
        "a003_main_guard": main_guard_claim(found.guard),
        "a004_guard_required": guard_required_claim(found.guard),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).

#: The start methods the side-by-side table has a row for, in the book's order.
TABLE_METHODS = ("fork", "forkserver", "spawn")
#: A table cell for what a platform does not offer.
NOT_OFFERED = "not offered"


def forkserver_import_cell(main: ForkserverImport | None) -> str:
    """Who imported the guarded script under forkserver, in a few words."""
    if main is None:
        return NOT_OFFERED
    if main.child_imported and main.server_imported:
        return "the fork server, and the child again"
    if main.child_imported:
        return "the child"
    if main.server_imported:
        return "the fork server, once, before forking"
    return "no second import seen"


def unguarded_forkserver_cell(guard: Guard) -> str:
    """What the script without the guard did under forkserver, in a few words: a short
    cell of the side-by-side table."""
    run = guard.runs[("unguarded", "forkserver")]
    names = [error_name(error) for error in run.errors_seen]
    if run.outcome == "child failed":
        return f"the child died ({names[0] if names else 'an error'}); the script went on"
    if run.outcome == "script failed" and len(names) >= 2:
        return f"the fork server died ({names[0]}); the script failed"
    if run.outcome == "script failed":
        return "the script failed"
    return "ran, child and all" if run.outcome == "ran" else "stopped at its time limit"


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. The default method (3.14) and what forkserver imports (3.13.8, 3.14.1) changed with
    the version; the scripts' wall times are what a start costs, interpreter start-up
    included."""
    guard = found.guard
    rows = {"default start method": found.setup.start_method}
    for method in TABLE_METHODS:
        rows[f"a script that starts one child under {method} (wall time)"] = (
            format_seconds(guard.runs[("guarded", method)].wall_s)
            if method in guard.methods else NOT_OFFERED)
    rows["join() after the child's target returned, spawn"] = (
        format_seconds(found.endings.join[("return", "spawn")])
        if "spawn" in found.endings.methods else NOT_OFFERED)
    rows["the script without the main guard, under forkserver"] = (
        unguarded_forkserver_cell(guard) if "forkserver" in guard.methods else NOT_OFFERED)
    rows["who imported the guarded script under forkserver"] = forkserver_import_cell(
        found.forkserver_main)
    rows["a program that ends while its daemon child sleeps"] = format_seconds(
        found.daemon.daemon_s)
    return rows


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's tables name it, for the sentence on what changed between
    interpreters."""
    if group == "exit":
        return (f"join() after {ENDING_LABELS[params['ending']]} "
                f"({params['method']})")
    if group == "daemon_exit":
        return f"the program whose child slept ({DAEMON_LABELS[params['kind']]})"
    if group == "guard":
        return f"the script {SCRIPT_LABELS[params['script']]} ({params['method']})"
    return interpreters.describe_case(group, params)


#: What the script without the guard did under forkserver, by :attr:`ScriptRun.outcome`,
#: as a clause.
_UNGUARDED_UNDER_FORKSERVER = {
    "child failed": "the child died importing the script itself, as under spawn",
    "script failed": "the script itself failed, before any child could report back",
    "ran": "the script ran to its end, child and all",
    "stopped": "the script was stopped at its time limit",
}


def guard_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """What the script without the main guard did under forkserver on each interpreter,
    with who imported the guarded one: the behaviour that changed with the version."""
    offered = [run for run in interpreters.measured(runs)
               if "forkserver" in run.found.guard.methods]
    if not offered:
        return ("No interpreter here offered forkserver, so the unguarded script was not run "
                "under it.")
    groups = dict(interpreters.grouped(
        offered, lambda found: found.guard.runs[("unguarded", "forkserver")].outcome))
    each = "; ".join(f"on {interpreters.join_words(labels)}, "
                     f"{_UNGUARDED_UNDER_FORKSERVER[outcome]}"
                     for outcome, labels in groups.items())
    text = f"Without the main guard, under forkserver: {each}."
    if len(groups) > 1:
        return (f"{text} What separates them is who imports the script, the child or the "
                "fork server (the table's row above): where the server does, the script's "
                "unguarded top level runs in the server.")
    return text


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"processes_interpreters_guard": guard_across_interpreters(runs)}
