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

import pandas as pd

from parbook import sources
from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.chapters.start_methods import workload as work
from parbook.render import formatting, tables
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
_THREADS_LINE = re.compile(r"^(?P<who>parent|child)\s+pid=\d+: threads=(?P<threads>\d+), "
                           r"lock held=(?P<held>True|False)")


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
    threads = {}
    for line in output.splitlines():
        if match := _THREADS_LINE.match(line):
            threads[match["who"]] = (int(match["threads"]), match["held"] == "True")
    exit_code = re.search(r"child exit code (-?\d+)", output)
    warning = re.search(r"^parent: (\w+Warning) at start\(\): (.*)$", output, re.MULTILINE)
    return {
        "parent_threads": threads.get("parent", (None, None))[0],
        "child_threads": threads.get("child", (None, None))[0],
        "child_saw_lock_held": threads.get("child", (None, None))[1],
        "child_finished": "took the lock and finished" in output,
        "killed_after_patience": "still alive after" in output,
        "child_exit_code": int(exit_code[1]) if exit_code else None,
        "warning": f"{warning[1]}: {warning[2]}" if warning else None,
    }


# ---------------------------------------------------------------------------------------
# Analysis: derived only from a recorded result, so pages and `compare` agree.


def per_extra_process(result: Result, main: str, method: str) -> float:
    """Seconds each extra process added: the slope from the fewest to the most processes."""
    counts = sorted(c.params["processes"] for c in result.group("startup")
                    if c.params["main"] == main and c.params["method"] == method)
    low, high = counts[0], counts[-1]
    t_low = result.median("startup", main=main, method=method, processes=low)
    if high == low:
        return t_low
    t_high = result.median("startup", main=main, method=method, processes=high)
    return (t_high - t_low) / (high - low)


def article_rows(result: Result) -> list[dict[str, Any]]:
    """Article 000's Process column (macOS, spawn) beside this build's spawn timings."""
    rows = []
    for count in (1, 5, 10):
        theirs = sources.OVERHEAD_TABLE.lookup(body="return", workers=count, backend="processes")
        row: dict[str, Any] = {"processes": count, "article": theirs}
        for main in SCRIPTS:
            try:
                row[main] = result.median("startup", main=main, method="spawn", processes=count)
            except KeyError:
                row[main] = None
        rows.append(row)
    return rows


def article_verdict(light: float, heavy: float, article: float) -> str:
    """A sentence on whether the article's 1-process figure matches spawn's cost here."""
    def near(ours: float) -> bool:
        return 0.5 <= ours / article <= 2.0

    if near(light):
        return ("Yes: even a script with a light main module paid about as much for one "
                "spawned process here")
    if near(heavy):
        return ("Only with a heavy main module: a light script's spawned process cost a "
                "fraction of it here, while the script that imports numpy and "
                "matplotlib.pyplot at the top paid about as much as the article reports, "
                "because every spawned child imports the main module's imports again")
    if heavy < article:
        return ("Not on this machine: even the script with a heavy main module paid less "
                "for one spawned process than the article reports; its machine, its Python "
                "and what its script imported (Ray) all differ")
    return ("Not on this machine: a light script paid less and the heavy one more than "
            "the article reports; what the main module imports decides the cost")


def startup_figure(result: Result) -> Any:
    """Start-up time against process count, one line per method, one panel per script."""
    import matplotlib.pyplot as plt

    mains = list(SCRIPTS)
    figure, axes = plt.subplots(1, len(mains), figsize=(8.5, 3.8), layout="constrained",
                                sharey=True)
    for ax, main in zip(axes, mains, strict=True):
        for method in result.parameters["methods"]:
            cases = sorted((c for c in result.group("startup")
                            if c.params["main"] == main and c.params["method"] == method),
                           key=lambda c: c.params["processes"])
            counts = [c.params["processes"] for c in cases]
            values = [result.median("startup", **c.params) for c in cases]
            ax.plot(counts, values, marker="o", label=method)
        ax.set_yscale("log")
        ax.set_xlabel("processes started and joined")
        ax.set_title(MAIN_LABELS[main], fontsize="medium")
        ax.set_xticks(result.parameters["counts"][main])
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("seconds (median, log scale)")
    axes[0].yaxis.set_major_formatter(lambda value, _pos: formatting.format_seconds(value, 1))
    axes[-1].legend(title="start method", fontsize="small")
    return figure


def startup_table(result: Result) -> pd.DataFrame:
    """Medians per (script, method): the first process, then 1, 5, 10... processes."""
    counts = sorted({c.params["processes"] for c in result.group("startup")})
    count_labels = {n: f"{n} process" if n == 1 else f"{n} processes" for n in counts}
    records: dict[tuple[str, str], dict[str, str]] = {}
    for case in result.group("first_start"):
        key = (MAIN_LABELS[case.params["main"]], case.params["method"])
        records.setdefault(key, {})["first process"] = tables.time_cell(summarize(case.samples))
    for case in result.group("startup"):
        key = (MAIN_LABELS[case.params["main"]], case.params["method"])
        label = count_labels[case.params["processes"]]
        records.setdefault(key, {})[label] = tables.time_cell(summarize(case.samples))
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index = pd.MultiIndex.from_tuples(list(records), names=["script", "method"])
    return frame[["first process", *count_labels.values()]]


def article_table(result: Result) -> pd.DataFrame:
    """This build's spawn timings beside article 000's Process column, with ratios."""
    article = f"article {sources.OVERHEAD_TABLE.article.key} (macOS, spawn)"
    rows = {}
    for row in article_rows(result):
        cells: dict[tuple[str, str], str] = {}
        for main in SCRIPTS:
            ours = row[main]
            cells[(tables.THIS_BUILD, MAIN_LABELS[main])] = (
                "–" if ours is None else formatting.format_seconds(ours))
        cells[(article, "multiprocessing.Process")] = formatting.format_seconds(row["article"])
        for main in SCRIPTS:
            ours = row[main]
            cells[("ratio this build / article", MAIN_LABELS[main])] = (
                "–" if ours is None else formatting.format_ratio(ours / row["article"]))
        rows[row["processes"]] = cells
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "processes"
    return frame


def config_table(result: Result) -> pd.DataFrame:
    """Placement x method: how many children saw the settings, of how many started."""
    config = result.values["config"]
    records = {}
    for placement, label in PLACEMENTS.items():
        cells = {}
        for method, run in config[placement].items():
            saw, started = run["children_saw_settings"], len(run["children"])
            verdict = "yes" if saw == started else "no" if saw == 0 else "partly"
            cells[method] = f"{verdict} ({saw} of {started})"
        records[label] = cells
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index.name = "where the settings come from"
    return frame[[m for m in result.parameters["methods"] if m in frame.columns]]


def _forkserver_setup_sentence(run: dict[str, Any] | None) -> str:
    if run is None:
        return "is not available on this platform"
    child_pids = {child["pid"] for child in run["children"]}
    parent_pid = run["parent"]["pid"] if run["parent"] else None
    if child_pids and child_pids <= set(run["setup_pids"]):
        return ("ran again in every child too: each child imported the script after the "
                "server forked it")
    if any(pid not in child_pids and pid != parent_pid for pid in run["setup_pids"]):
        return "ran once more, in the server, and its forks inherited the result"
    return "did not run again in the children"


def _forkserver_vs_spawn_sentence(result: Result, methods: list[str]) -> str:
    if not {"forkserver", "spawn"} <= set(methods):
        return "this platform does not offer both forkserver and spawn to compare"
    forked = per_extra_process(result, "light", "forkserver")
    spawned = per_extra_process(result, "light", "spawn")
    if forked < 0.8 * spawned:
        return ("after that, each child, a fork of that small server, cost less than a "
                "whole new interpreter did under spawn")
    return ("after that, its children cost about as much as spawned ones here, so the "
            "server saved little on this machine")


def _heavy_verdict(result: Result, methods: list[str]) -> str:
    """Which re-importing methods paid the heavy imports again in their one child."""
    imports = result.median("heavy_import")
    paid = [m for m in ("spawn", "forkserver") if m in methods
            and result.median("startup", main="heavy", method=m, processes=1) >= 0.5 * imports]
    if len(paid) == 2:
        return "both paid the imports again in every child"
    if paid == ["spawn"]:
        return ("spawn paid the imports again in every child, while forkserver's children "
                "inherited them from its server")
    if paid:
        return f"{paid[0]} paid the imports again in every child"
    return "neither paid the imports in full again here"


def _fork_warning_sentence(python: str, warning: str | None) -> str:
    if warning:
        return f"This build's Python {python} did, in the demo above: {warning}"
    major, minor = (int(part) for part in python.split(".")[:2])
    if (major, minor) < (3, 12):
        return f"This build's Python {python} predates that warning, so the demo recorded none."
    return f"The demo above recorded no such warning under this build's Python {python}."


def findings(result: Result) -> dict[str, Any]:
    """The figures and facts the chapter's prose quotes, derived from one recorded result."""
    methods = result.parameters["methods"]
    startup = {(c.params["main"], c.params["method"], c.params["processes"]):
               result.median("startup", **c.params) for c in result.group("startup")}
    first = {(c.params["main"], c.params["method"]): result.median("first_start", **c.params)
             for c in result.group("first_start")}
    config = result.values["config"]
    saw = {placement: {method: run["children_saw_settings"] for method, run in runs.items()}
           for placement, runs in config.items()}
    children = {placement: {method: len(run["children"]) for method, run in runs.items()}
                for placement, runs in config.items()}
    re_importers = [m for m in methods if m != "fork"]
    expected = all(
        saw["passed"][m] == children["passed"][m] and saw["module"][m] == children["module"][m]
        and saw["guard"][m] == (children["guard"][m] if m == "fork" else 0)
        for m in methods
    )
    lock = result.values["fork_lock"]
    lock_expected = all(
        (run["killed_after_patience"] and not run["child_finished"]
         and run["child_saw_lock_held"] is True) if m == "fork"
        else (run["child_finished"] and run["child_exit_code"] == 0
              and run["child_saw_lock_held"] is False)
        for m, run in lock.items()
    )
    main_names_expected = all(
        child["main"] == ("__main__" if m == "fork" else "__mp_main__")
        for runs in config.values() for m, run in runs.items() for child in run["children"]
    )
    passed_setup_once = all(run["setup_pids"] == [run["parent"]["pid"]]
                            for run in config["passed"].values())
    guard_fork = config["guard"].get("fork")
    fork_shares_address = guard_fork is None or all(
        child["id"] == guard_fork["parent"]["id"] for child in guard_fork["children"])
    rows = article_rows(result)
    light_1, heavy_1, article_1 = rows[0]["light"], rows[0]["heavy"], rows[0]["article"]
    return {
        "methods": methods,
        "python": result.parameters["python"],
        "start_methods": result.parameters["start_methods"],
        "default_method": result.parameters["start_method"],
        "cpus": result.parameters["usable_cpus"],
        "startup": startup,
        "first": first,
        "most": {main: max(counts) for main, counts in result.parameters["counts"].items()},
        "per_extra": {(main, m): per_extra_process(result, main, m)
                      for main in SCRIPTS for m in methods},
        "heavy_import": result.median("heavy_import"),
        "modules_loaded": result.values["modules_loaded"],
        "article_rows": rows,
        "article_ratio_light": light_1 / article_1,
        "article_ratio_heavy": heavy_1 / article_1,
        "article_verdict": article_verdict(light_1, heavy_1, article_1),
        "config": config,
        "config_saw": saw,
        "config_children": children,
        "config_pattern_expected": expected,
        "guard_blind_children": sum(children["guard"][m] - saw["guard"][m]
                                    for m in re_importers),
        "guard_re_importer_children": sum(children["guard"][m] for m in re_importers),
        "setup_in_children": {m: config["module"][m]["setup_in_children"] for m in methods},
        "forkserver_setup_sentence": _forkserver_setup_sentence(
            config["module"].get("forkserver")),
        "fork_shares_address": fork_shares_address,
        "main_names_expected": main_names_expected,
        "passed_setup_once": passed_setup_once,
        "forkserver_vs_spawn_sentence": _forkserver_vs_spawn_sentence(result, methods),
        "heavy_verdict": _heavy_verdict(result, methods),
        "fork_lock": lock,
        "fork_lock_expected": lock_expected,
        "fork_warning_sentence": _fork_warning_sentence(
            result.parameters["python"], lock.get("fork", {}).get("warning")),
        "patience_s": result.parameters["patience_s"],
        "hold_s": result.parameters["hold_s"],
    }
