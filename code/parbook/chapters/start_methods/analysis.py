"""What the start-methods chapter concludes from one result: findings per section, and the
texts (every sentence, number and demo output the page glues).

The demonstrations ran as scripts in child interpreters; the facts they printed (who saw
the settings, which PIDs ran ``setup()``, whether the child was stuck on the lock) were
parsed from their complete output while the experiment ran and recorded beside it, and
the verdicts here read those recorded facts.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from typing import Any

from parbook import interpreters, sources
from parbook.bench.results import Result
from parbook.chapters.start_methods.experiment import (
    CONFIG_SCRIPTS,
    MAIN_LABELS,
    METHOD_ORDER,
    SCRIPTS,
)
from parbook.claims import Judgement, Verdict, judge
from parbook.render.formatting import format_ratio, format_seconds, spoken_list

#: The article's one-process figure counts as "about as much" as ours between these ratios.
ARTICLE_NEAR = (0.5, 2.0)
#: forkserver's extra children are "cheaper" than spawn's below this fraction of their cost.
FORKSERVER_CHEAPER_BELOW = 0.8
#: A re-importing method "paid the imports again" when one child from the heavy script
#: cost at least this fraction of the time the imports took in the script itself.
PAID_IMPORTS_FROM = 0.5
#: The first Python that warns when a multi-threaded process forks.
FORK_WARNING_SINCE = (3, 12)
#: The start methods whose children import the main script again.
RE_IMPORTING = ("spawn", "forkserver")
#: Article 000 timed this many processes; the comparison keeps its rows.
ARTICLE_COUNTS = (1, 5, 10)
#: The first release of each minor version whose fork server preloads a main script run by
#: path, as it always meant to (CPython gh-126631 and gh-137996, in the changelogs of 3.13.8
#: and 3.14.1); earlier minor versions never got the fix, later ones have it from the start.
PRELOAD_FIXED_IN = {(3, 13): 8, (3, 14): 1}
PRELOAD_FIXED_FROM_MINOR = (3, 15)


@dataclass(frozen=True)
class Interpreter:
    """The interpreter and machine that ran the chapter."""

    python: str
    start_methods: tuple[str, ...]  # as get_all_start_methods() answered: default first
    default_method: str
    cpus: int
    methods: tuple[str, ...]  # the methods the chapter ran, in the book's order
    platform: str  # the operating system, as platform.platform() named it: "Linux-6.1-..."

    @property
    def system(self) -> str:
        """The operating system's name: ``Linux``, ``macOS`` (``Darwin`` before Python 3.8),
        ``Windows``."""
        return self.platform.split("-")[0]

    @property
    def version(self) -> tuple[int, int]:
        major, minor = (int(part) for part in self.python.split(".")[:2])
        return major, minor

    @property
    def micro(self) -> int:
        """The patch number: ``3.13.8`` -> 8, ``3.14.0rc1`` -> 0."""
        parts = self.python.split(".")
        digits = re.match(r"\d*", parts[2] if len(parts) > 2 else "")
        return int(digits.group() or 0)

    @property
    def preloads_main(self) -> bool:
        """Whether CPython of this version, as released, has its fork server import a main
        script run by path once, for all its children (see :data:`PRELOAD_FIXED_IN`)."""
        if self.version >= PRELOAD_FIXED_FROM_MINOR:
            return True
        fixed_in = PRELOAD_FIXED_IN.get(self.version)
        return fixed_in is not None and self.micro >= fixed_in


@dataclass(frozen=True)
class Startup:
    """Start-up timed from inside a light and a heavy script (medians, seconds)."""

    methods: tuple[str, ...]
    counts: dict[str, tuple[int, ...]]  # main -> process counts timed
    startup: dict[tuple[str, str, int], float]  # (main, method, processes)
    first: dict[tuple[str, str], float]  # (main, method): the script's first process
    heavy_import: float  # the heavy script's top-level imports, in its own process
    modules_loaded: dict[str, int]  # main -> modules the script had loaded

    def per_extra(self, main: str, method: str) -> float:
        """Seconds each extra process added: the slope from the fewest to the most."""
        counts = sorted(n for (m, meth, n) in self.startup if m == main and meth == method)
        low, high = counts[0], counts[-1]
        if high == low:
            return self.startup[(main, method, low)]
        return ((self.startup[(main, method, high)] - self.startup[(main, method, low)])
                / (high - low))

    @property
    def spawn_heavy_over_light(self) -> float:
        """One spawned process from the heavy script over one from the light script."""
        return self.startup[("heavy", "spawn", 1)] / self.startup[("light", "spawn", 1)]

    @property
    def forkserver_server(self) -> float:
        """What forkserver's first process cost beyond a later one: starting the server."""
        return max(0.0, self.first[("light", "forkserver")]
                   - self.startup[("light", "forkserver", 1)])


@dataclass(frozen=True)
class ArticleRow:
    """Article 000's time for N processes beside this build's spawn medians (None: not run)."""

    processes: int
    article: float
    light: float | None
    heavy: float | None


@dataclass(frozen=True)
class ArticleComparison:
    """Article 000's Process column (macOS, whose default is spawn) beside this build's
    spawn timings."""

    machine: str
    rows: tuple[ArticleRow, ...]

    @property
    def one(self) -> ArticleRow:
        """The one-process row, the only one both scripts ran."""
        return self.rows[0]


@dataclass(frozen=True)
class Report:
    """What one process of a settings demo printed about itself."""

    who: str
    pid: int
    main: str
    id: str
    settings: dict[str, Any]


@dataclass(frozen=True)
class ConfigRun:
    """One settings script run by path under one start method."""

    output: str
    errors: str
    returncode: int | None
    killed: bool
    parent: Report | None
    children: tuple[Report, ...]
    setup_pids: tuple[int, ...]
    children_saw_settings: int
    setup_in_children: int


@dataclass(frozen=True)
class Config:
    """Article 004's experiment: settings under the guard, at module level, or passed."""

    methods: tuple[str, ...]
    runs: dict[str, dict[str, ConfigRun]]  # placement -> method -> run

    def started(self, placement: str, method: str) -> int:
        return len(self.runs[placement][method].children)

    def saw(self, placement: str, method: str) -> int:
        return self.runs[placement][method].children_saw_settings

    @property
    def re_importers(self) -> list[str]:
        return [method for method in self.methods if method != "fork"]

    @property
    def guard_re_importer_children(self) -> int:
        """Children started by re-importing methods from the script with a guarded setup."""
        return sum(self.started("guard", method) for method in self.re_importers)

    @property
    def guard_blind_children(self) -> int:
        """Of those, the children that did not see the settings."""
        return sum(self.started("guard", method) - self.saw("guard", method)
                   for method in self.re_importers)

    @property
    def pattern_expected(self) -> bool:
        """Passed and module-level settings reached every child; guarded ones fork's only."""
        return all(
            self.saw("passed", m) == self.started("passed", m)
            and self.saw("module", m) == self.started("module", m)
            and self.saw("guard", m) == (self.started("guard", m) if m == "fork" else 0)
            for m in self.methods)

    @property
    def main_names_expected(self) -> bool:
        """Every child's main module was ``__main__`` under fork, ``__mp_main__`` otherwise."""
        return all(child.main == ("__main__" if method == "fork" else "__mp_main__")
                   for runs in self.runs.values() for method, run in runs.items()
                   for child in run.children)

    @property
    def passed_setup_once(self) -> bool:
        """With the settings passed, ``setup()`` ran in the parent only."""
        return all(run.parent is not None and run.setup_pids == (run.parent.pid,)
                   for run in self.runs["passed"].values())

    @property
    def fork_shares_address(self) -> bool:
        """Fork's children saw the parent's settings object at the parent's address."""
        run = self.runs["guard"].get("fork")
        return run is None or all(run.parent is not None and child.id == run.parent.id
                                  for child in run.children)


@dataclass(frozen=True)
class ForkserverMain:
    """Who imported the main script under forkserver, as the module-level settings script
    showed it (its top level prints ``setup() ran in pid N`` wherever it is imported)."""

    children: int
    children_imported: int
    children_reimported: bool  # every child imported the script itself
    server_preloaded: bool  # a process other than the parent and the children imported it


@dataclass(frozen=True)
class LockRun:
    """The fork-while-a-lock-is-held demo under one start method."""

    output: str
    errors: str
    returncode: int | None
    killed: bool
    elapsed_s: float
    parent_threads: int | None
    child_threads: int | None
    child_saw_lock_held: bool | None
    child_finished: bool
    killed_after_patience: bool
    child_exit_code: int | None
    warning: str | None

    @property
    def stuck(self) -> bool:
        """The child saw the lock taken, never got it, and was killed after the patience."""
        return (self.killed_after_patience and not self.child_finished
                and self.child_saw_lock_held is True)

    @property
    def finished_cleanly(self) -> bool:
        """The child found a free lock, took it and exited with 0."""
        return (self.child_finished and self.child_exit_code == 0
                and self.child_saw_lock_held is False)


@dataclass(frozen=True)
class ForkLock:
    """A child started while another thread of its parent held a lock."""

    hold_s: float
    patience_s: float
    runs: dict[str, LockRun]  # method -> run

    @property
    def as_expected(self) -> bool:
        """Stuck under fork, finished under every other method."""
        return all(run.stuck if method == "fork" else run.finished_cleanly
                   for method, run in self.runs.items())


@dataclass(frozen=True)
class ReadingProcess:
    """The process that turned the result into the page's texts: when the book is built,
    the notebook kernel, whose threads the page names."""

    threads: tuple[str, ...]


@dataclass(frozen=True)
class Findings:
    interpreter: Interpreter
    startup: Startup
    article: ArticleComparison
    config: Config
    forkserver_main: ForkserverMain | None  # None: no forkserver on this platform
    fork_lock: ForkLock
    reader: ReadingProcess


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result (and, for ``reader``, from
    the process that reads it)."""
    parameters, values = result.parameters, result.values
    methods = tuple(parameters["methods"])
    startup = {(c.params["main"], c.params["method"], c.params["processes"]): c.summary.median
               for c in result.group("startup")}
    return Findings(
        interpreter=Interpreter(
            python=parameters["python"], start_methods=tuple(parameters["start_methods"]),
            default_method=parameters["start_method"], cpus=parameters["usable_cpus"],
            methods=methods, platform=result.machine["os"],
        ),
        startup=Startup(
            methods=methods,
            counts={main: tuple(counts) for main, counts in parameters["counts"].items()},
            startup=startup,
            first={(c.params["main"], c.params["method"]): c.summary.median
                   for c in result.group("first_start")},
            heavy_import=result.median("heavy_import"),
            modules_loaded=dict(values["modules_loaded"]),
        ),
        article=ArticleComparison(
            machine=sources.OVERHEAD_TABLE.machine,
            rows=tuple(ArticleRow(
                processes=count,
                article=sources.OVERHEAD_TABLE.lookup(body="return", workers=count,
                                                      backend="processes"),
                light=startup.get(("light", "spawn", count)),
                heavy=startup.get(("heavy", "spawn", count)),
            ) for count in ARTICLE_COUNTS),
        ),
        config=Config(methods=methods, runs={
            placement: {method: _config_run(run) for method, run in runs.items()}
            for placement, runs in values["config"].items()}),
        forkserver_main=(ForkserverMain(**values["forkserver_main"])
                         if values["forkserver_main"] is not None else None),
        fork_lock=ForkLock(
            hold_s=parameters["hold_s"], patience_s=parameters["patience_s"],
            runs={method: _lock_run(run) for method, run in values["fork_lock"].items()},
        ),
        reader=ReadingProcess(threads=tuple(thread.name for thread in threading.enumerate())),
    )


def _report(record: dict[str, Any] | None) -> Report | None:
    return None if record is None else Report(**record)


def _lock_run(run: dict[str, Any]) -> LockRun:
    return LockRun(**{field.name: run[field.name] for field in dataclasses.fields(LockRun)})


def _config_run(run: dict[str, Any]) -> ConfigRun:
    return ConfigRun(
        output=run["output"], errors=run["errors"], returncode=run["returncode"],
        killed=run["killed"], parent=_report(run["parent"]),
        children=tuple(Report(**child) for child in run["children"]),
        setup_pids=tuple(run["setup_pids"]),
        children_saw_settings=run["children_saw_settings"],
        setup_in_children=run["setup_in_children"],
    )


# ---------------------------------------------------------------------------------------
# Sentences chosen by the data.


def heavy_verdict(startup: Startup) -> str:
    """Which re-importing methods paid the heavy imports again in their one child."""
    paid = [method for method in RE_IMPORTING if method in startup.methods
            and startup.startup[("heavy", method, 1)] >= PAID_IMPORTS_FROM * startup.heavy_import]
    if len(paid) == 2:
        return "So spawn and forkserver both paid the imports again for every child."
    if paid == ["spawn"]:
        return ("So spawn paid the imports again for every child, while forkserver's "
                "children inherited them from its server.")
    if paid:
        return f"So only {paid[0]} paid the imports again for every child here."
    return "So neither spawn nor forkserver paid the imports in full again here."


def forkserver_vs_spawn_sentence(startup: Startup) -> str:
    """Whether forkserver's later children were cheaper than spawn's."""
    if not {"forkserver", "spawn"} <= set(startup.methods):
        return "This platform does not offer both forkserver and spawn to compare."
    forked = startup.per_extra("light", "forkserver")
    spawned = startup.per_extra("light", "spawn")
    if forked < FORKSERVER_CHEAPER_BELOW * spawned:
        return ("After that, each child, a fork of that small server, cost less than a "
                "whole new interpreter did under spawn.")
    return ("After that, its children cost about as much as spawned ones here, so the "
            "server saved little on this machine.")


def article_verdict(article: ArticleComparison) -> str:
    """Whether the article's one-process figure matches what spawn costs here."""
    row = article.one
    low, high = ARTICLE_NEAR

    def near(ours: float | None) -> bool:
        return ours is not None and low <= ours / row.article <= high

    if near(row.light):
        return ("Yes: even a script with a light main module paid about as much for one "
                "spawned process here")
    if near(row.heavy):
        return ("Only with a heavy main module: a light script's spawned process cost a "
                "fraction of it here, while the script that imports numpy and "
                "matplotlib.pyplot at the top paid about as much as the article reports, "
                "because every spawned child imports the main module's imports again")
    if row.heavy is not None and row.heavy < row.article:
        return ("Not on this machine: even the script with a heavy main module paid less "
                "for one spawned process than the article reports; its machine, its Python "
                "and what its script imported (Ray) all differ")
    return ("Not on this machine: a light script paid less and the heavy one more than "
            "the article reports; what the main module imports decides the cost")


def forkserver_setup_sentence(main: ForkserverMain | None) -> str:
    """Where a module-level ``setup()`` ran again under forkserver."""
    if main is None:
        return "This platform offers no forkserver to compare."
    if main.children_reimported and main.server_preloaded:
        return "Under forkserver it ran in the fork server and again in every child."
    if main.children_reimported:
        return ("Under forkserver it ran again in every child too: each child imported the "
                "script after the server forked it.")
    if main.server_preloaded:
        return ("Under forkserver it ran once more, in the fork server, and the children "
                "inherited its result.")
    return "Under forkserver it did not run again at all."


def forkserver_main_sentence(interpreter: Interpreter, main: ForkserverMain | None) -> str:
    """Who imported the main script under forkserver in this build, read against what
    CPython of this version is documented to do."""
    python = interpreter.python
    if main is None:
        return ("This platform offers no forkserver start method, so this build could not "
                "see what its server imports.")
    if main.children_reimported and main.server_preloaded:
        return (f"On this build's Python {python}, the fork server imported the main script "
                "and every child imported it again as well.")
    if main.children_reimported and interpreter.preloads_main:
        return (f"On this build's Python {python}, each forkserver child imported the main "
                f"script itself, although CPython {python} as released has the server import "
                "it once; something in this interpreter kept the preload from happening.")
    if main.children_reimported:
        return (f"On this build's Python {python}, each forkserver child imported the main "
                "script itself after the server forked it, just as a spawned child does: on "
                "this version the server's preload of __main__ never happens.")
    if main.server_preloaded and not interpreter.preloads_main:
        return (f"On this build's Python {python}, the fork server imported the main script "
                "once, before forking, and every child inherited it, although CPython "
                f"{python} as released does not do that; this interpreter must carry the "
                "fix as a patch of its own.")
    if main.server_preloaded:
        return (f"On this build's Python {python}, the fork server imported the main script "
                "once, before forking, and every child inherited that import instead of "
                "repeating it.")
    return (f"On this build's Python {python}, neither the fork server nor its children "
            "imported the main script again, as far as the script's output shows.")


def fork_warning_sentence(interpreter: Interpreter, fork_lock: ForkLock) -> str:
    """What this build's Python said when the lock demo forked a multi-threaded process."""
    fork = fork_lock.runs.get("fork")
    warning = fork.warning if fork else None
    if warning:
        return f"This build's Python {interpreter.python} did, in the demo above: {warning}"
    if interpreter.version < FORK_WARNING_SINCE:
        return (f"This build's Python {interpreter.python} predates that warning, so the "
                "demo recorded none.")
    return ("The demo above recorded no such warning under this build's Python "
            f"{interpreter.python}.")


# ---------------------------------------------------------------------------------------
# The summary table's cells that say what happened, not how long it took.


def importers_cell(method: str, config: Config, main: ForkserverMain | None) -> str:
    """Who imported the main script again under ``method``, from the module-level run."""
    if method == "forkserver" and main is not None:
        if main.children_reimported and main.server_preloaded:
            return "the fork server, and each child again"
        if main.children_reimported:
            return "each child"
        if main.server_preloaded:
            return "the fork server, once; children inherit it"
        return "no process"
    run = config.runs["module"][method]
    started = len(run.children)
    if run.setup_in_children == started and started:
        return "each child"
    if run.setup_in_children == 0:
        return "no process: the child is a copy" if method == "fork" else "no process"
    return f"{run.setup_in_children} of {started} children"


def lock_cell(fork_lock: ForkLock, method: str) -> str:
    """What became of the child started while another thread held the lock."""
    run = fork_lock.runs[method]
    if run.stuck:
        return f"stuck on the lock; killed after {format_seconds(fork_lock.patience_s)}"
    if run.finished_cleanly:
        return "took a free lock and finished"
    return f"ended otherwise (exit code {run.child_exit_code})"


# ---------------------------------------------------------------------------------------
# What the demos printed, as the page shows it.


def config_output(config: Config, placement: str) -> str:
    """One settings script under every method: a header each, then what it printed."""
    return "".join(f"--- {method}: exit code {run.returncode}\n{run.output}"
                   for method, run in config.runs[placement].items())


def fork_lock_output(fork_lock: ForkLock) -> str:
    """The lock demo under every method: a header each, then what it printed."""
    return "".join(f"--- {method}: the demo exited with code {run.returncode} after "
                   f"{run.elapsed_s:.2f} s\n{run.output}"
                   for method, run in fork_lock.runs.items())


def counts_text(counts: tuple[int, ...]) -> str:
    """Process counts as prose: ``(1,)`` -> ``"1 process"``, ``(1, 5)`` -> ``"1 and 5
    processes"``."""
    return spoken_list(counts) + (" process" if tuple(counts) == (1,) else " processes")


def texts(found: Findings) -> dict[str, str | int | float]:
    """Every sentence, number and demo output the page glues, by glue key."""
    seconds = format_seconds
    interp, startup, article, config, lock = (found.interpreter, found.startup, found.article,
                                              found.config, found.fork_lock)
    glued: dict[str, str | int | float] = {
        "sm_python": interp.python,
        "sm_start_methods": ", ".join(interp.start_methods),
        "sm_default": interp.default_method,
        "sm_cpus": interp.cpus,
        "sm_heavy_import": seconds(startup.heavy_import),
        "sm_modules_light": startup.modules_loaded["light"],
        "sm_modules_heavy": startup.modules_loaded["heavy"],
        "sm_spawn_heavy_over_light": format_ratio(startup.spawn_heavy_over_light),
        "sm_heavy_verdict": heavy_verdict(startup),
        "sm_forkserver_vs_spawn": forkserver_vs_spawn_sentence(startup),
        "sm_forkserver_server": seconds(startup.forkserver_server),
        "sm_article_machine": article.machine,
        "sm_article_verdict": article_verdict(article),
        "sm_guard_blind": config.guard_blind_children,
        "sm_guard_re_import_children": config.guard_re_importer_children,
        "sm_children_per_run": config.started("guard", interp.methods[0]),
        "sm_forkserver_setup": forkserver_setup_sentence(found.forkserver_main),
        "sm_forkserver_main": forkserver_main_sentence(interp, found.forkserver_main),
        "sm_patience": seconds(lock.patience_s),
        "sm_hold": seconds(lock.hold_s),
        "sm_lock_parent_threads": lock.runs["fork"].parent_threads,
        "sm_lock_child_threads": lock.runs["fork"].child_threads,
        "sm_fork_warning": fork_warning_sentence(interp, lock),
        "sm_kernel_threads": len(found.reader.threads),
        "sm_kernel_thread_names": ", ".join(sorted(found.reader.threads)),
    }
    for (main, method, count), value in startup.startup.items():
        glued[f"sm_{main}_{method}_{count}"] = seconds(value)
    for (main, method), value in startup.first.items():
        glued[f"sm_first_{main}_{method}"] = seconds(value)
    for main in SCRIPTS:
        glued[f"sm_counts_{main}"] = counts_text(startup.counts[main])
        for method in interp.methods:
            glued[f"sm_extra_{main}_{method}"] = seconds(startup.per_extra(main, method))
    for row in article.rows:
        glued[f"sm_article_{row.processes}"] = seconds(row.article)
    return glued


#: The demonstrations' printouts the page shows (see :func:`outputs`).
OUTPUT_IDS = (*(f"start-methods-config-{placement}" for placement in CONFIG_SCRIPTS),
              "start-methods-fork-lock")


def outputs(found: Findings) -> dict[str, str]:
    """What each demonstration printed when the experiment ran, by output id."""
    printed = {f"start-methods-config-{placement}": config_output(found.config, placement)
               for placement in CONFIG_SCRIPTS}
    printed["start-methods-fork-lock"] = fork_lock_output(found.fork_lock)
    return printed


# The claims of the source articles this chapter judges, for the ledger in book/sources.md.

#: The default start method article 003 gives each platform: spawn on Windows and macOS
#: (``Darwin`` is macOS under Pythons before 3.8), fork on Linux and other Unix systems.
ARTICLE_DEFAULTS = {"Windows": "spawn", "macOS": "spawn", "Darwin": "spawn"}
ARTICLE_DEFAULT_ELSEWHERE = "fork"
#: spawn is "only slightly slower" to start than fork while one child costs at most this many
#: times as much under spawn: half as long again; beyond it the difference is not slight.
SLIGHTLY_SLOWER_WITHIN = 1.5


def one_child(startup: Startup, method: str) -> float:
    """Seconds to start and join one child under ``method``, from the light script."""
    return startup.startup[("light", method, 1)]


def fork_spawn_claim(startup: Startup, fork_lock: ForkLock) -> Judgement:
    """Article 003: fork starts children faster, spawn uses less memory and is safer, so
    long computations should prefer spawn. Memory and the advice are not measured here."""
    fork, spawn = one_child(startup, "fork"), one_child(startup, "spawn")
    faster = fork < spawn
    safer = fork_lock.runs["fork"].stuck and fork_lock.runs["spawn"].finished_cleanly
    if faster:
        start = (f"From a script with a light main module, fork started and joined one child "
                 f"in {format_seconds(fork)}, spawn in {format_seconds(spawn)}.")
    else:
        start = (f"From a script with a light main module, fork took {format_seconds(fork)} "
                 f"to start and join one child, no less than spawn's {format_seconds(spawn)}.")
    if safer:
        safety = ("A child started while another thread held a lock hung under fork and "
                  "finished under spawn.")
    else:
        safety = ("The demonstration of a child started while another thread held a lock did "
                  "not show fork hanging where spawn finished.")
    unmeasured = ("Memory use is judged in the next point, from the memory chapter; whether "
                  "long computations fare better under spawn is not measured.")
    verdict = Verdict.PARTLY if faster or safer else Verdict.FAILS
    return Judgement(verdict, f"{start} {safety} {unmeasured}")


def main_settings_claim(config: Config) -> Judgement:
    """Article 004: settings filled in under the main guard are missing in spawn and
    forkserver children, which import the main module again as ``__mp_main__``; fork
    children have them."""
    re_importers = spoken_list(config.re_importers)
    started, blind = config.guard_re_importer_children, config.guard_blind_children
    forked, fork_saw = config.started("guard", "fork"), config.saw("guard", "fork")
    if not (started and blind == started and forked and fork_saw == forked):
        return Judgement(Verdict.FAILS, (
            f"With the settings filled in under the main guard, {started - blind} of the "
            f"{started} children started by {re_importers} saw them and {fork_saw} of the "
            f"{forked} fork children did, not the split the article describes."))
    split = (f"With the settings filled in under the main guard, none of the {started} "
             f"children started by {re_importers} saw them, while the {forked} fork children "
             "all did")
    if config.main_names_expected:
        return Judgement(Verdict.HOLDS, (
            f"{split}; every re-importing child ran with __mp_main__ as its main module, "
            "every fork child with __main__."))
    return Judgement(Verdict.PARTLY, (
        f"{split}, but not every child reported the main module the article names "
        "(__mp_main__ under spawn and forkserver, __main__ under fork)."))


def module_level_claim(config: Config) -> Judgement:
    """Article 004's workaround: settings filled in at module level reach every child."""
    methods = spoken_list(config.methods)
    started = sum(config.started("module", method) for method in config.methods)
    saw = sum(config.saw("module", method) for method in config.methods)
    again = sum(1 for run in config.runs["module"].values() for pid in run.setup_pids
                if run.parent is None or pid != run.parent.pid)
    return judge(
        bool(started) and saw == started,
        f"With setup() called at module level, all {started} children under {methods} saw the "
        f"settings, though setup() ran {again} more times, in processes that imported the "
        "script again.",
        f"With setup() called at module level, only {saw} of the {started} children under "
        f"{methods} saw the settings.")


def thread_safe_start_claim(startup: Startup, fork_lock: ForkLock) -> Judgement:
    """Article 004, quoting SubprocVecEnv's documentation: forkserver and spawn are safe with
    threads, but cost more to start than fork."""
    others = [method for method in fork_lock.runs if method != "fork"]
    safe = (fork_lock.runs["fork"].stuck
            and all(fork_lock.runs[method].finished_cleanly for method in others))
    fork = one_child(startup, "fork")
    dearer = all(one_child(startup, method) > fork for method in others)
    if safe:
        safety = (f"A child started while another thread held a lock hung under fork and "
                  f"finished under {spoken_list(others)}.")
    else:
        safety = ("The demonstration of a child started while another thread held a lock did "
                  f"not show fork hanging where {spoken_list(others)} finished.")
    costs = spoken_list(f"{format_seconds(one_child(startup, method))} under {method}"
                        for method in others)
    if dearer:
        cost = (f"From a light script, one child cost {format_seconds(fork)} to start and "
                f"join under fork, against {costs}.")
    else:
        cost = (f"From a light script, one child cost {format_seconds(fork)} to start and "
                f"join under fork, against {costs}: fork was not the cheapest.")
    verdict = (Verdict.HOLDS if safe and dearer else
               Verdict.PARTLY if safe or dearer else Verdict.FAILS)
    return Judgement(verdict, f"{safety} {cost}")


def default_methods_claim(interpreter: Interpreter) -> Judgement:
    """Article 003: spawn is the default start method on Windows and macOS, fork on Linux.
    Judged on the one platform and Python that ran the build."""
    system, python, default = interpreter.system, interpreter.python, interpreter.default_method
    claimed = ARTICLE_DEFAULTS.get(system, ARTICLE_DEFAULT_ELSEWHERE)
    documented = ("CPython documents spawn as the default on Windows, and on macOS since "
                  "Python 3.8; on Linux and other POSIX systems the default is fork up to "
                  "Python 3.13 and forkserver from 3.14.")
    if default == claimed:
        return Judgement(Verdict.PARTLY, (
            f"On this build ({system}, Python {python}) the default start method was {default}, "
            f"as the article says; the other platforms are not run here. {documented}"))
    return Judgement(Verdict.FAILS, (
        f"On this build ({system}, Python {python}) the default start method was {default}, "
        f"not the {claimed} the article gives. {documented}"))


def spawn_slightly_slower_claim(startup: Startup) -> Judgement:
    """Article 003: spawn is only slightly slower than fork to start a child. Judged from
    one child started and joined from the light script and from the heavy one."""
    slower = {main: startup.startup[(main, "spawn", 1)] / startup.startup[(main, "fork", 1)]
              for main in SCRIPTS}
    slight = [main for main in SCRIPTS if slower[main] <= SLIGHTLY_SLOWER_WITHIN]
    figures = (f"One child took {format_ratio(slower['light'])} as long to start and join under "
               "spawn as under fork from a script with a light main module, and "
               f"{format_ratio(slower['heavy'])} from one that imports numpy and "
               "matplotlib.pyplot")
    within = format_ratio(SLIGHTLY_SLOWER_WITHIN)
    if len(slight) == len(SCRIPTS):
        return Judgement(Verdict.HOLDS, f"{figures}: within {within} from both.")
    if slight == ["light"]:
        return Judgement(Verdict.PARTLY, (
            f"{figures}: within {within} only from the light script, because every spawned "
            "child imports the main module's imports again."))
    if slight:
        return Judgement(Verdict.PARTLY, f"{figures}: within {within} only from the heavy one.")
    return Judgement(Verdict.FAILS, (
        f"{figures}: far beyond {within} from both, so spawn was much slower, not slightly."))


def fork_inherits_claim(fork_lock: ForkLock) -> Judgement:
    """Article 003: a forked child inherits every resource handle of its parent, a spawned
    one only those it needs. Judged from the lock demo, the one resource the chapter
    follows into the child; file descriptors and other handles are not recorded."""
    fork = fork_lock.runs["fork"]
    others = [method for method in fork_lock.runs if method != "fork"]
    held = [method for method in others if fork_lock.runs[method].child_saw_lock_held]
    unrecorded = ("Which file descriptors and other handles each child inherited is not "
                  "recorded.")
    if fork.child_saw_lock_held is not True:
        return Judgement(Verdict.FAILS, (
            "In the lock demonstration the forked child did not see the parent's lock held, "
            f"so it did not inherit the lock's state. {unrecorded}"))
    if held:
        return Judgement(Verdict.PARTLY, (
            "A child forked while another thread held a lock inherited the lock, still held, "
            f"but under {spoken_list(held)} the child's lock was held too, so that child was "
            f"not given a fresh one. {unrecorded}"))
    return Judgement(Verdict.PARTLY, (
        "A child forked while another thread held a lock inherited the lock, still held, "
        f"though not the thread holding it (it had {fork.child_threads} of the parent's "
        f"{fork.parent_threads} threads); under {spoken_list(others)} the child's lock was new "
        f"and free. {unrecorded}"))


def spawn_no_globals_claim(config: Config) -> Judgement:
    """Article 004: children started by forkserver or spawn do not inherit the parent's
    global state, so they cannot access globals defined in the parent. State set under the
    main guard is missing; module-level globals are re-created when the script is imported
    again."""
    names = spoken_list(config.re_importers)
    started, blind = config.guard_re_importer_children, config.guard_blind_children
    module_started = sum(config.started("module", method) for method in config.re_importers)
    module_saw = sum(config.saw("module", method) for method in config.re_importers)
    if not started or blind < started:
        return Judgement(Verdict.FAILS, (
            f"With the settings filled in under the main guard, {started - blind} of the "
            f"{started} children started by {names} saw them: those children did get the "
            "parent's state."))
    if module_started and module_saw == module_started:
        return Judgement(Verdict.PARTLY, (
            f"None of the {started} children started by {names} saw the settings the parent "
            "filled in under its main guard, but they could read module-level globals, "
            "re-created when they imported the script again: with setup() at module level, "
            f"all {module_started} saw the settings."))
    return Judgement(Verdict.HOLDS, (
        f"Children started by {names} saw neither the settings filled in under the main "
        f"guard (none of {started}) nor all those filled in at module level ({module_saw} of "
        f"{module_started})."))


def fork_same_address_claim(config: Config) -> Judgement:
    """Article 004: fork's children print the parent's id(config)."""
    runs = [runs["fork"] for runs in config.runs.values() if "fork" in runs]
    pairs = [(run.parent, child) for run in runs for child in run.children]
    if not pairs:
        return Judgement(Verdict.UNMEASURED, (
            "This platform offers no fork start method, so no forked child printed an id."))
    same = sum(parent is not None and child.id == parent.id for parent, child in pairs)
    return judge(
        same == len(pairs),
        f"Under fork, all {len(pairs)} children of the {len(runs)} settings scripts printed "
        "their parent's id(config): each child's config was the parent's object, at the "
        "same address in the child's copy of the parent's memory.",
        f"Under fork, only {same} of the {len(pairs)} children of the {len(runs)} settings "
        "scripts printed their parent's id(config).")


def forkserver_same_address_claim(config: Config) -> Judgement:
    """Article 004: under forkserver, the last two or three children always print the same
    address for config."""
    runs = [runs["forkserver"] for runs in config.runs.values()
            if "forkserver" in runs and len(runs["forkserver"].children) >= 2]
    if not runs:
        return Judgement(Verdict.UNMEASURED, (
            "This build started no two forkserver children from one settings script, so it "
            "could not compare their addresses."))
    repeated = sum(len({child.id for child in run.children}) < len(run.children)
                   for run in runs)
    children = sum(len(run.children) for run in runs)
    meaning = ("Equal ids in two processes would not mean one shared object anyway: each is "
               "an address in that process's own memory.")
    if repeated == len(runs):
        return Judgement(Verdict.HOLDS, (
            f"In each of the {len(runs)} settings scripts run under forkserver, two of its "
            f"children printed the same id(config). {meaning}"))
    if repeated:
        return Judgement(Verdict.PARTLY, (
            f"In {repeated} of the {len(runs)} settings scripts run under forkserver, two "
            f"children printed the same id(config), so the repeat the article saw every time "
            f"came only some of the time here. {meaning}"))
    return Judgement(Verdict.FAILS, (
        f"In none of the {len(runs)} settings scripts run under forkserver ({children} "
        "children in all) did two children print the same id(config): the repeat the "
        f"article saw every time did not happen here. {meaning}"))


def claims(found: Findings) -> dict[str, Judgement]:
    """The source articles' claims this chapter judges, by claim id."""
    return {
        "a003_default_methods": default_methods_claim(found.interpreter),
        "a003_fork_inherits_handles": fork_inherits_claim(found.fork_lock),
        "a003_fork_spawn": fork_spawn_claim(found.startup, found.fork_lock),
        "a003_spawn_slightly_slower": spawn_slightly_slower_claim(found.startup),
        "a004_fork_same_address": fork_same_address_claim(found.config),
        "a004_forkserver_same_address": forkserver_same_address_claim(found.config),
        "a004_main_settings": main_settings_claim(found.config),
        "a004_module_level": module_level_claim(found.config),
        "a004_spawn_no_globals": spawn_no_globals_claim(found.config),
        "a004_thread_safe_start": thread_safe_start_claim(found.startup, found.fork_lock),
    }


# ---------------------------------------------------------------------------------------
# Several interpreters side by side (PARBOOK_PYTHONS; parbook.interpreters).

#: A table cell for what a platform does not offer.
NOT_OFFERED = "not offered"


def interpreter_rows(found: Findings) -> dict[str, str]:
    """The chapter's headline numbers under one interpreter: a column of its side-by-side
    table. The default method, what the fork server imports and the fork warning are what
    changed between Python versions."""
    interp, startup, main = found.interpreter, found.startup, found.forkserver_main
    rows = {"default start method": interp.default_method}
    for method in METHOD_ORDER:
        took = startup.startup.get(("light", method, 1))
        rows[f"start and join one process, light script, {method}"] = (
            NOT_OFFERED if took is None else format_seconds(took))
    heavy = startup.startup.get(("heavy", "spawn", 1))
    rows["the same under spawn, script importing numpy, matplotlib"] = (
        NOT_OFFERED if heavy is None else format_seconds(heavy))
    rows["forkserver: starting its server, once"] = (
        format_seconds(startup.forkserver_server) if "forkserver" in interp.methods
        else NOT_OFFERED)
    rows["who imports the main script, forkserver"] = (
        NOT_OFFERED if main is None else importers_cell("forkserver", found.config, main))
    fork = found.fork_lock.runs.get("fork")
    rows["warning on fork with a second thread running"] = (
        NOT_OFFERED if fork is None else
        fork.warning.split(":", 1)[0] if fork.warning else "none")
    return rows


def describe_case(group: str, params: dict[str, Any]) -> str:
    """A case as the page's tables name it, for the sentence on what changed between
    interpreters."""
    if group == "startup":
        count = params["processes"]
        return (f"starting and joining {count} process{'es' if count > 1 else ''} under "
                f"{params['method']} ({MAIN_LABELS[params['main']]})")
    if group == "first_start":
        return f"the first process under {params['method']} ({MAIN_LABELS[params['main']]})"
    if group == "heavy_import":
        return "the heavy script's own imports of numpy and matplotlib.pyplot"
    return interpreters.describe_case(group, params)


def default_method_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """Which start method a bare ``multiprocessing.Process`` used under each interpreter."""
    groups = interpreters.grouped(runs, lambda found: found.interpreter.default_method)
    if len(groups) == 1:
        (method, labels), = groups
        if len(labels) == 1:
            return f"The default start method on {labels[0]} was {method}."
        return (f"The default start method was {method} under every interpreter here: a "
                "program that names no method started its processes the same way on each.")
    each = "; ".join(f"{method} on {interpreters.join_words(labels)}"
                     for method, labels in groups)
    return (f"The default start method differed: {each}. A program that names no method "
            "starts its processes differently depending on which of them runs it, so name "
            "one.")


#: Who imported a main script run by path under forkserver, as a clause.
_IMPORTERS = {
    (True, True): "the fork server imported the main script and every child imported it "
                  "again",
    (True, False): "every child imported the main script itself",
    (False, True): "the fork server imported the main script once and its children "
                   "inherited it",
    (False, False): "no process imported the main script again",
}


def forkserver_main_across_interpreters(runs: list[interpreters.InterpreterRun]) -> str:
    """Who imported the main script under forkserver under each interpreter, and whether
    that is what each version's changelog says (CPython gh-126631, 3.13.8 and 3.14.1)."""
    offered = [run for run in interpreters.measured(runs) if run.found.forkserver_main]
    if not offered:
        return "No interpreter here offered forkserver, so what its server imports is not shown."
    groups = interpreters.grouped(offered, lambda found: (
        found.forkserver_main.children_reimported, found.forkserver_main.server_preloaded))
    each = "; ".join(f"{_IMPORTERS[key]} on {interpreters.join_words(labels)}"
                     for key, labels in groups)
    text = f"Under forkserver, {each}."
    # As released, a version either has the server preload the script (and its children
    # inherit it) or has every child import it itself.
    unexpected = [run.label for run in offered
                  if (run.found.forkserver_main.children_reimported,
                      run.found.forkserver_main.server_preloaded)
                  != (not run.found.interpreter.preloads_main,
                      run.found.interpreter.preloads_main)]
    if unexpected:
        return (f"{text} On {interpreters.join_words(unexpected)} that is not what CPython "
                "of that version, as released, is documented to do (the changelog table "
                "above).")
    if len(groups) > 1:
        return (f"{text} Each is what its version's changelog says: the fix of gh-126631 "
                "is what separates them.")
    whose = "its version's" if len(offered) == 1 else "each version's"
    return f"{text} That is what {whose} changelog says."


def interpreter_texts(runs: list[interpreters.InterpreterRun]) -> dict[str, str]:
    """The chapter's own sentences about its interpreters (parbook.page glues them)."""
    return {"sm_interpreters_default": default_method_across_interpreters(runs),
            "sm_interpreters_forkserver": forkserver_main_across_interpreters(runs)}
