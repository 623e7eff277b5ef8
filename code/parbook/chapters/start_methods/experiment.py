"""Start methods: what fork, spawn and forkserver cost and copy, seen from real scripts.

Groups of cases in the result:

``startup``
    Seconds to start and join 1, 5, 10 processes whose target returns at once, per start
    method, timed inside a reader-style script run by path in a fresh interpreter: once
    with a light main module and once with a main module that imports numpy and
    matplotlib.pyplot at the top (``main`` = ``light`` | ``heavy``). Methods take turns.
``first_start``
    The first process each method starts in such a script, timed on its own (under
    forkserver it includes starting the server).
``heavy_import``
    How long the heavy script's top-level imports took in its own process.

Demonstrations, kept in ``values``: article 004's experiment (children report the
settings they see, with the settings filled in under the main guard, at module level, or
passed explicitly), and a child started while another thread holds a lock. Every one of
them runs as a child interpreter with a time limit.

``values["forkserver_main"]`` records, as a fact read from the module-level settings
script under forkserver (whose top level prints ``setup() ran in pid N`` wherever the
script is imported), whether each forkserver child imported the main script itself and
whether another process, the fork server, imported it before forking them. Which of the
two happens depends on the Python version (CPython gh-126631, fixed in 3.13.8 and 3.14.1).
"""

from __future__ import annotations

import ast
import json
import multiprocessing
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from parbook.bench.results import Result
from parbook.chapters.start_methods import workload as work
from parbook.shared import run_setup
from parbook.shared.child import child_env, run_command, run_module

NAME = "start-methods"
MODULE = "parbook.chapters.start_methods.workload"

METHOD_ORDER = ("fork", "forkserver", "spawn")
MAIN_LABELS = {
    "light": "light main module",
    "heavy": "main module imports numpy + matplotlib.pyplot",
}
SCRIPTS = {"light": "startup_light.py", "heavy": "startup_heavy.py"}
PLACEMENTS = {
    "guard": "setup() under the main guard",
    "module": "setup() at module level",
    "passed": "setup() under the guard, settings passed to children",
}
CONFIG_SCRIPTS = {"guard": "config_in_guard.py", "module": "config_at_module.py",
                  "passed": "config_passed.py"}
#: Time limit for one child interpreter (a script and everything it starts).
SCRIPT_LIMIT_S = 120.0
DEMO_LIMIT_S = 30.0

_REPORT_LINE = re.compile(
    r"^(?P<who>parent|child \d+)\s*: pid=(?P<pid>\d+) main module=(?P<main>\S+) "
    r"id\(config\)=(?P<id>0x[0-9a-f]+) settings=(?P<settings>\{.*\})$"
)
_SETUP_LINE = re.compile(r"^setup\(\) ran in pid (?P<pid>\d+)$")
#: What the lock demo's parent and child print about themselves. Both write to one pipe,
#: and under ``python -u`` a print is two writes (the text, then the newline), so the
#: parent's fork warning (Python 3.12+) and the forked child's first line can run together
#: on one line: these facts are found wherever they fall, not line by line.
_THREADS_FACT = re.compile(r"(?P<who>parent|child)\s+pid=\d+: threads=(?P<threads>\d+), "
                           r"lock held=(?P<held>True|False)")
_WARNING_FACT = re.compile(r"parent: (?P<category>\w+Warning) at start\(\): "
                           r"(?P<message>.*?)(?=child\s+pid=|$)", re.MULTILINE)


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    counts: dict[str, tuple[int, ...]]
    runs: dict[str, int]
    repeats: dict[str, int]
    hold_s: float
    patience_s: float


FULL = Sizes(counts={"light": (1, 5, 10), "heavy": (1, 2)}, runs={"light": 2, "heavy": 1},
             repeats={"light": 2, "heavy": 2}, hold_s=0.3, patience_s=1.5)
QUICK = Sizes(counts={"light": (1, 5), "heavy": (1,)}, runs={"light": 1, "heavy": 1},
              repeats={"light": 1, "heavy": 1}, hold_s=0.3, patience_s=1.0)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def available_methods() -> list[str]:
    """The start methods this platform offers, in the book's order."""
    offered = multiprocessing.get_all_start_methods()
    return [method for method in METHOD_ORDER if method in offered]


def script_env() -> dict[str, str]:
    """Environment for the scripts: this parbook importable, matplotlib without a display."""
    return child_env({"MPLBACKEND": "Agg"})


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Run every measurement and demonstration of the chapter; return the raw result."""
    size = sizes(quick)
    machine_setup = run_setup.setup(progress)
    say = machine_setup.say
    methods = available_methods()
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        usable_cpus=machine_setup.cpus,
        start_method=machine_setup.start_method,
        start_methods=multiprocessing.get_all_start_methods(),
        methods=methods,
        counts={main: list(counts) for main, counts in size.counts.items()},
        runs=size.runs,
        repeats=size.repeats,
        hold_s=size.hold_s,
        patience_s=size.patience_s,
        python=sys.version.split()[0],
    )
    _startup(result, size, methods, say)
    result.values["config"] = _config(methods, say)
    result.values["forkserver_main"] = forkserver_main_fact(
        result.values["config"]["module"].get("forkserver"))
    result.values["fork_lock"] = _fork_lock(methods, size, say)
    return result


def _startup(result: Result, size: Sizes, methods: list[str], say: Callable) -> None:
    first: dict[tuple[str, str], list[float]] = {}
    samples: dict[tuple[str, str, int], list[float]] = {}
    imports: list[float] = []
    modules: dict[str, int] = {}
    for run_index in range(max(size.runs.values())):
        turn = run_index % len(methods)
        order = [*methods[turn:], *methods[:turn]]  # a different method goes first each run
        for main in SCRIPTS:
            if run_index >= size.runs[main]:
                continue
            say(f"start-up from a script with a {main} main module, run {run_index + 1}")
            timings = run_startup_script(main, order, size.counts[main], size.repeats[main])
            modules[main] = timings["modules_loaded"]
            if timings["import_s"] is not None:
                imports.append(timings["import_s"])
            for method in methods:
                first.setdefault((main, method), []).append(timings["first"][method])
                for count in size.counts[main]:
                    samples.setdefault((main, method, count), []).extend(
                        timings["samples"][method][str(count)])
    for main in SCRIPTS:
        for method in methods:
            result.add("first_start", {"main": main, "method": method}, first[(main, method)])
        for count in size.counts[main]:
            for method in methods:
                result.add("startup", {"main": main, "method": method, "processes": count},
                           samples[(main, method, count)])
    result.add("heavy_import", {"main": "heavy"}, imports)
    result.values["modules_loaded"] = modules


def run_startup_script(main: str, methods: list[str], counts: tuple[int, ...],
                       repeats: int) -> dict[str, Any]:
    """Run one start-up script by path in a fresh interpreter; return the JSON it printed."""
    script = work.SCRIPTS_DIR / SCRIPTS[main]
    child = run_command(
        [sys.executable, str(script), ",".join(methods), ",".join(map(str, counts)),
         str(repeats)],
        time_limit_s=SCRIPT_LIMIT_S, env=script_env())
    if child.killed or child.returncode != 0:
        raise RuntimeError(f"{script.name} failed (exit {child.returncode}, "
                           f"killed={child.killed}):\n{child.errors[-2000:]}")
    return json.loads(child.output.strip().splitlines()[-1])


def _config(methods: list[str], say: Callable) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = {}
    for placement, script in CONFIG_SCRIPTS.items():
        for method in methods:
            say(f"config demo: {placement}, {method}")
            child = run_command([sys.executable, str(work.SCRIPTS_DIR / script), method],
                                time_limit_s=DEMO_LIMIT_S, env=script_env())
            runs.setdefault(placement, {})[method] = {**child.as_dict(),
                                                      **parse_config_output(child.output)}
    return runs


def parse_config_output(output: str) -> dict[str, Any]:
    """The parent's and each child's report, and which pids ran ``setup()``."""
    reports = []
    setup_pids = []
    for line in output.splitlines():
        if match := _REPORT_LINE.match(line):
            reports.append({"who": match["who"], "pid": int(match["pid"]),
                            "main": match["main"], "id": match["id"],
                            "settings": ast.literal_eval(match["settings"])})
        elif match := _SETUP_LINE.match(line):
            setup_pids.append(int(match["pid"]))
    parent = next((r for r in reports if r["who"] == "parent"), None)
    children = [r for r in reports if r["who"] != "parent"]
    return {
        "parent": parent,
        "children": children,
        "setup_pids": setup_pids,
        "children_saw_settings": sum("env_name" in r["settings"] for r in children),
        "setup_in_children": sum(r["pid"] in setup_pids for r in children),
    }


def forkserver_main_fact(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """Who imported the main script under forkserver, from the module-level script's run.

    That script calls ``setup()`` at its top level, so each ``setup() ran in pid N`` line
    marks one import of the script: the parent's own run, each child that imported it
    itself, and any other process that imported it (the fork server, when it preloads
    ``__main__``). ``None`` where the platform offers no forkserver.
    """
    if run is None:
        return None
    parent = run["parent"]["pid"] if run["parent"] else None
    children = {child["pid"] for child in run["children"]}
    imported_in = set(run["setup_pids"])
    return {
        "children": len(children),
        "children_imported": len(children & imported_in),
        "children_reimported": bool(children) and children <= imported_in,
        "server_preloaded": bool(imported_in - children - {parent}),
    }


def _fork_lock(methods: list[str], size: Sizes, say: Callable) -> dict[str, dict[str, Any]]:
    runs = {}
    for method in methods:
        say(f"starting a child while a thread holds a lock: {method}")
        child = run_module(MODULE, "fork-lock", method, str(size.hold_s), str(size.patience_s),
                           time_limit_s=DEMO_LIMIT_S)
        runs[method] = {**child.as_dict(), **parse_lock_output(child.output)}
    return runs


def parse_lock_output(output: str) -> dict[str, Any]:
    """What the lock demo printed, as facts: was the child stuck, what did it inherit."""
    threads: dict[str, tuple[int, bool]] = {}
    for match in _THREADS_FACT.finditer(output):
        threads.setdefault(match["who"], (int(match["threads"]), match["held"] == "True"))
    exit_code = re.search(r"child exit code (-?\d+)", output)
    warning = _WARNING_FACT.search(output)
    return {
        "parent_threads": threads.get("parent", (None, None))[0],
        "child_threads": threads.get("child", (None, None))[0],
        "child_saw_lock_held": threads.get("child", (None, None))[1],
        "child_finished": "took the lock and finished" in output,
        "killed_after_patience": "still alive after" in output,
        "child_exit_code": int(exit_code[1]) if exit_code else None,
        "warning": f"{warning['category']}: {warning['message'].strip()}" if warning else None,
    }
