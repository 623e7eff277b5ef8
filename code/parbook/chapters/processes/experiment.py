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
reported under every start method. ``values["forkserver_main"]`` records, as a fact read
from the guarded script's run under forkserver, whether its child imported the script
itself or another process (the fork server, which preloads ``__main__`` from Python
3.13.8 and 3.14.1 on) imported it before forking the child.
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

from parbook.bench.results import Result
from parbook.chapters.processes import workload as work
from parbook.shared import run_setup
from parbook.shared.child import run_command, run_module

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
#: How long the napping child of the daemon demo sleeps.
NAP_S = 0.4
JOIN_PATIENCE_S = 0.05
JOIN_WORK_S = 0.2
FINISH_PATIENCE_S = 0.3
CHILD_TIME_LIMIT_S = 60.0
#: What the guard-demo scripts print: at their top level wherever they are imported, and
#: in the child (only the guarded script's child gets that far).
_TOP_LEVEL_LINE = re.compile(r"^top level of the script runs as (?P<name>\S+) "
                             r"\(pid (?P<pid>\d+)\)$", re.MULTILINE)
_CHILD_LINE = re.compile(r"^child \(pid (?P<pid>\d+)\): hello", re.MULTILINE)


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
        finish_patience_s=FINISH_PATIENCE_S, python=sys.version.split()[0],
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
    forkserver = runs["guarded"].get("forkserver")
    result.values["forkserver_main"] = (forkserver_main_fact(forkserver["output"])
                                        if forkserver is not None else None)


def forkserver_main_fact(output: str) -> dict[str, Any]:
    """Who imported the guarded script under forkserver, from what it printed.

    Its top level prints ``top level of the script runs as NAME (pid N)`` in every process
    that imports it, and its child prints ``child (pid N): hello``. A ``__mp_main__`` line
    with the child's PID is the child importing the script itself; one with another PID is
    a process that imported it for the child: the fork server, preloading ``__main__``.
    """
    imports = [int(match["pid"]) for match in _TOP_LEVEL_LINE.finditer(output)
               if match["name"] == "__mp_main__"]
    child = _CHILD_LINE.search(output)
    child_pid = int(child["pid"]) if child else None
    return {
        "child_pid": child_pid,
        "import_pids": imports,
        "child_imported": child_pid is not None and child_pid in imports,
        "server_imported": any(pid != child_pid for pid in imports),
    }
