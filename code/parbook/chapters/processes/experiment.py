"""Processes: start, join, exit codes, daemon processes, names and the ``__main__`` guard.

Groups of cases in the result:

``exit``
    Seconds the parent's ``join()`` waited for a child that ended one of five ways
    (returned, ``sys.exit(3)``, an uncaught exception, ``terminate()``, ``kill()``),
    counted from the moment the parent told it to end (or signalled it), under every
    start method the platform offers. Each method's sweep runs in its own child
    interpreter, which captures the children's tracebacks; the exit codes the parent saw
    are in ``values["exit_codes"]``.
``daemon_exit``
    Wall time of a child interpreter whose main process ends while a child process it
    started still sleeps: with a daemon child, with a non-daemon child, and with a daemon
    child when the program kills itself instead of exiting (so no exit handler runs, and
    the wall time lasts until the orphaned child closes its end of the output pipe). What
    each printed is in ``values["children"]``.
``guard``
    Wall time of a script run by path, without and with the ``if __name__ ==
    "__main__":`` guard, under every start method; what each printed, its exit code and
    the error it met are in ``values["guard"]``.

``values["demos"]`` holds what the chapter's smaller demonstrations returned (run with
the default start method), and ``values["family"]`` the names and PIDs children
reported under every start method.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.processes import workload as work
from parbook.render.tables import time_cell
from parbook.shared import run_setup
from parbook.shared.child import run_command, run_module, shorten_paths

NAME = "processes"
MODULE = "parbook.chapters.processes.workload"

ENDING_LABELS = {
    "return": "the target returned",
    "exit3": "sys.exit(3)",
    "exception": "an uncaught ValueError",
    "terminate": "the parent called terminate()",
    "kill": "the parent called kill()",
}
#: What the parent should see for each ending on POSIX.
EXPECTED_EXIT_CODES = {"return": 0, "exit3": 3, "exception": 1,
                       "terminate": -signal.SIGTERM, "kill": -signal.SIGKILL}
DAEMON_LABELS = {"daemon": "daemon=True", "non-daemon": "daemon=False (the default)",
                 "parent-killed": "daemon=True, then the program killed itself (SIGKILL)"}
SCRIPT_LABELS = {"unguarded": "without the guard", "guarded": "with the guard"}
SCRIPTS = {"unguarded": work.UNGUARDED_SCRIPT, "guarded": work.GUARDED_SCRIPT}
#: The message multiprocessing gives a child that starts processes while importing main.
BOOTSTRAP_ERROR = ("An attempt has been made to start a new process before the current "
                   "process has finished its bootstrapping phase.")
#: How long the napping child of the daemon demo sleeps.
NAP_S = 0.4
#: The first line of an exception as a traceback ends with it: ``ValueError: ...``.
ERROR_LINE = re.compile(r"^\w+(Error|Exception)\b")
JOIN_PATIENCE_S = 0.05
JOIN_WORK_S = 0.2
FINISH_PATIENCE_S = 0.3
CHILD_TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    exit_repeats: int
    exit_warmup: int
    daemon_runs: int
    guard_runs: int


FULL = Sizes(exit_repeats=4, exit_warmup=1, daemon_runs=2, guard_runs=1)
QUICK = Sizes(exit_repeats=2, exit_warmup=1, daemon_runs=1, guard_runs=1)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def start_methods() -> list[str]:
    """The start methods this platform offers, the default first."""
    return multiprocessing.get_all_start_methods()


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter and return the raw result."""
    size = sizes(quick)
    setup = run_setup.setup(progress)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus=setup.cpus, start_method=setup.start_method, start_methods=start_methods(),
        exit_repeats=size.exit_repeats, exit_warmup=size.exit_warmup,
        daemon_runs=size.daemon_runs, guard_runs=size.guard_runs, nap_s=NAP_S,
        join_patience_s=JOIN_PATIENCE_S, join_work_s=JOIN_WORK_S,
        finish_patience_s=FINISH_PATIENCE_S,
    )
    result.values["children"] = {}
    _demos(result, setup)
    _family(result, setup.say)
    _exit_codes(result, size, setup.say)
    _daemon_exit(result, size, setup)
    _guard(result, size, setup.say)
    return result


def _demos(result: Result, setup: run_setup.RunSetup) -> None:
    context, say = setup.context, setup.say
    say(f"demos with the {setup.start_method} start method")
    result.values["demos"] = {
        "function": work.start_with_a_function(context, [2, 3, 4]),
        "memory": work.memory_is_not_shared(context),
        "join": work.join_with_timeout(context, JOIN_WORK_S, JOIN_PATIENCE_S),
        "finish": work.finish_three(context, FINISH_PATIENCE_S),
        "daemon_children": work.daemon_with_a_child(context),
    }
    say("a subclass of multiprocessing.Process, in a child interpreter")
    child = run_module(MODULE, "subclass", setup.start_method, time_limit_s=CHILD_TIME_LIMIT_S)
    result.values["children"]["subclass"] = child.as_dict()


def _family(result: Result, say: Callable[[str], None]) -> None:
    families = {}
    for method in start_methods():
        say(f"names and PIDs with {method}")
        families[method] = work.family(multiprocessing.get_context(method))
    result.values["family"] = families


def _exit_codes(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    codes, errors = {}, {}
    for method in start_methods():
        say(f"exit codes with {method}: {size.exit_warmup} + {size.exit_repeats} rounds")
        child = run_module(MODULE, "exit-codes", method, str(size.exit_repeats),
                           str(size.exit_warmup), time_limit_s=CHILD_TIME_LIMIT_S)
        if child.returncode != 0 or child.killed:
            raise RuntimeError(f"the exit-code sweep under {method} failed:\n{child.errors}")
        sweep = json.loads(child.output.strip().splitlines()[-1])
        for ending in work.ENDINGS:
            result.add("exit", {"ending": ending, "method": method}, sweep["join_s"][ending])
        codes[method] = sweep["exitcodes"]
        errors[method] = child.errors
    result.values["exit_codes"] = codes
    result.values["exit_errors"] = errors


def _daemon_exit(result: Result, size: Sizes, setup: run_setup.RunSetup) -> None:
    for kind in DAEMON_LABELS:
        samples = []
        for _ in range(size.daemon_runs):
            setup.say(f"a program that ends while its {kind} child sleeps")
            child = run_module(MODULE, "daemon-exit", setup.start_method, kind, str(NAP_S),
                               time_limit_s=CHILD_TIME_LIMIT_S)
            samples.append(child.elapsed_s)
            result.values["children"].setdefault(kind, child.as_dict())
        result.add("daemon_exit", {"kind": kind}, samples)


def _guard(result: Result, size: Sizes, say: Callable[[str], None]) -> None:
    runs: dict[str, dict[str, Any]] = {script: {} for script in SCRIPTS}
    for method in start_methods():
        for script, path in SCRIPTS.items():
            samples = []
            for _ in range(size.guard_runs):
                say(f"python {path.name} {method}")
                child = run_command([sys.executable, "-u", str(path), method],
                                    time_limit_s=CHILD_TIME_LIMIT_S)
                samples.append(child.elapsed_s)
                runs[script].setdefault(method, child.as_dict())
            result.add("guard", {"script": script, "method": method}, samples)
    result.values["guard"] = runs


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def error_summary(stderr: str) -> str | None:
    """The last exception a traceback in ``stderr`` ended with, on one line (None if none)."""
    lines = stderr.splitlines()
    starts = [index for index, line in enumerate(lines) if ERROR_LINE.match(line)]
    if not starts:
        return None
    first = starts[-1]
    text = " ".join(line.strip() for line in lines[first:])
    name, _, message = text.partition(":")
    message = " ".join(message.split())
    if BOOTSTRAP_ERROR in message:
        message = BOOTSTRAP_ERROR
    return f"{name}: {message}" if message else name


def first_traceback(stderr: str) -> str:
    """The first child traceback in ``stderr``, from its ``Process NAME:`` line to the error."""
    lines = shorten_paths(stderr).splitlines()
    begin = next((i for i, line in enumerate(lines) if line.startswith("Process ")), None)
    if begin is None:
        return ""
    end = next((i for i in range(begin + 1, len(lines))
                if ERROR_LINE.match(lines[i])), len(lines) - 1)
    return "\n".join(lines[begin:end + 1])


def script_lines(child: dict[str, Any]) -> list[str]:
    """What a guard-demo script printed, with the error it met summarised on one line."""
    lines = child["output"].splitlines()
    error = error_summary(child["errors"])
    if error:
        lines.append(f"(on stderr, from the child) {error}")
    return lines


def method_list(methods: list[str]) -> str:
    """Start-method names as prose: ``["fork", "spawn"]`` -> ``"fork and spawn"``."""
    if not methods:
        return "none"
    if len(methods) == 1:
        return methods[0]
    return ", ".join(methods[:-1]) + " and " + methods[-1]


def findings(result: Result) -> dict[str, Any]:
    """The figures the chapter's prose quotes, derived from one recorded result."""
    methods = result.parameters["start_methods"]
    default = result.parameters["start_method"]
    codes = result.values["exit_codes"]
    seen = {ending: sorted({code for method in methods for code in codes[method][ending]})
            for ending in work.ENDINGS}
    exit_as_expected = all(seen[ending] == [EXPECTED_EXIT_CODES[ending]]
                           for ending in work.ENDINGS)
    join = {(ending, method): result.median("exit", ending=ending, method=method)
            for ending in work.ENDINGS for method in methods}
    rounds = result.parameters["exit_repeats"] + result.parameters["exit_warmup"]
    tracebacks = {method: result.values["exit_errors"][method].count("Traceback (most recent")
                  for method in methods}

    children = result.values["children"]
    finished = {kind: children[kind]["output"].count(": finished at ") for kind in DAEMON_LABELS}

    guard = result.values["guard"]
    unguarded_errors = {method: error_summary(guard["unguarded"][method]["errors"])
                        for method in methods}
    bootstrap_failed = [method for method in methods
                        if unguarded_errors[method] == f"RuntimeError: {BOOTSTRAP_ERROR}"]
    child_exitcode = {
        (script, method): _reported_exitcode(guard[script][method]["output"])
        for script in SCRIPTS for method in methods
    }
    top_level_runs = {
        (script, method): guard[script][method]["output"].count("top level of the script runs")
        for script in SCRIPTS for method in methods
    }
    family = result.values["family"]
    ppid_is_parent = {method: all(child["getppid"] == family[method]["parent"]["pid"]
                                  for child in family[method]["children"])
                      for method in methods}
    parent_process_is_parent = {
        method: all(child["parent_pid"] == family[method]["parent"]["pid"]
                    for child in family[method]["children"])
        for method in methods}
    return {
        "cpus": result.parameters["cpus"],
        "start_method": default,
        "methods": methods,
        "exit_codes_seen": seen,
        "exit_as_expected": exit_as_expected,
        "join": join,
        "exit_rounds": rounds,
        "tracebacks": tracebacks,
        "first_traceback": first_traceback(result.values["exit_errors"][default]),
        "nap_s": result.parameters["nap_s"],
        "daemon_exit": result.median("daemon_exit", kind="daemon"),
        "non_daemon_exit": result.median("daemon_exit", kind="non-daemon"),
        "parent_killed_exit": result.median("daemon_exit", kind="parent-killed"),
        "finished_lines": finished,
        "children": children,
        "demos": result.values["demos"],
        "daemon_children_error": result.values["demos"]["daemon_children"],
        "guard": guard,
        "unguarded_errors": unguarded_errors,
        "bootstrap_failed": bootstrap_failed,
        "fork_available": "fork" in methods,
        "child_exitcode": child_exitcode,
        "top_level_runs": top_level_runs,
        "guard_time": {(script, method): result.median("guard", script=script, method=method)
                       for script in SCRIPTS for method in methods},
        "family": family,
        "ppid_is_parent": ppid_is_parent,
        "parent_process_is_parent": parent_process_is_parent,
    }


def _reported_exitcode(output: str) -> int | None:
    """The child's exitcode as a guard-demo script printed it (None if it never did)."""
    match = re.search(r"the child ended with exitcode (-?\d+)", output)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------
# Tables the chapter shows, built from a recorded result.


def exit_code_text(codes: list[int]) -> str:
    """The exit code(s) seen, with the signal's name for negative ones: ``-15 (-SIGTERM)``."""
    texts = []
    for code in codes:
        if code < 0:
            try:
                texts.append(f"{code} (-{signal.Signals(-code).name})")
            except ValueError:
                texts.append(str(code))
        else:
            texts.append(str(code))
    return " / ".join(texts)


def exit_table(result: Result) -> pd.DataFrame:
    """One row per ending: the exitcode the parent saw, and the join wait per start method."""
    found = findings(result)
    rows = []
    for ending in work.ENDINGS:
        row = {"how the child ended": ENDING_LABELS[ending],
               "exitcode": exit_code_text(found["exit_codes_seen"][ending])}
        for method in found["methods"]:
            case = result.case("exit", ending=ending, method=method)
            row[f"join wait, {method}"] = time_cell(summarize(case.samples))
        rows.append(row)
    return pd.DataFrame(rows)


def guard_table(result: Result) -> pd.DataFrame:
    """One row per script and start method: what happened, and the script's wall time."""
    found = findings(result)
    rows = []
    for script in SCRIPTS:
        for method in found["methods"]:
            child = found["guard"][script][method]
            error = error_summary(child["errors"])
            case = result.case("guard", script=script, method=method)
            rows.append({
                "script": SCRIPT_LABELS[script],
                "start method": method,
                "top level ran": f"{found['top_level_runs'][(script, method)]}×",
                "child's exitcode": found["child_exitcode"][(script, method)],
                "error in the child": error.split(":")[0] if error else "none",
                "script's exit code": child["returncode"],
                "wall time": time_cell(summarize(case.samples)),
            })
    return pd.DataFrame(rows)


def family_table(result: Result) -> pd.DataFrame:
    """One row per start method: the children's names and who they said their parent was."""
    found = findings(result)
    rows = []
    for method in found["methods"]:
        family = found["family"][method]
        named, unnamed = family["children"]
        rows.append({
            "start method": method,
            "name given with name=": named["name"],
            "name left to default": unnamed["name"],
            "os.getppid() is the parent's PID": _yes_no(found["ppid_is_parent"][method]),
            "parent_process().pid is the parent's PID":
                _yes_no(found["parent_process_is_parent"][method]),
        })
    return pd.DataFrame(rows)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"
