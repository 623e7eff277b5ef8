"""Command line: ``python -m parbook list | run NAME...|--all | machine | compare A B``.

Bad input gets one line on stderr and a non-zero exit. ``run`` checks every name and
that it can write every output before measuring anything, and writes only after a
complete run, so a failed or interrupted run never replaces an existing result file. It
measures in a process tree of its own that it stops whole on every exit path, after a
time limit, on Ctrl-C and on SIGTERM (:mod:`parbook.supervise`). Several experiments
run one after another; one that fails does not stop the others, and each failure is
named at the end. On a terminal a progress bar follows the runs (:mod:`parbook.progress`).
``compare`` takes two result files, or two folders of them (:mod:`parbook.bench.compare`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parbook import chapters, progress, supervise
from parbook.bench import compare, machine
from parbook.bench.results import Result, ResultError, load
from parbook.bench.stats import UNSTABLE_RELATIVE_SPREAD
from parbook.render import formatting
from parbook.render.formatting import printable

EXIT_USAGE = 2
EXIT_FAILED = 1


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def names_a_folder(out: str | None) -> bool:
    """Whether ``--out`` names a folder: an existing one, or one written with a trailing
    separator (``results/machines/box/``, which ``Path`` would drop). One NAME then saves
    into it as NAME.json, as several names do."""
    return out is not None and (out.endswith(("/", os.sep)) or Path(out).is_dir())


def positive_seconds(text: str) -> float:
    """A time limit in seconds: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"not a positive number of seconds: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="parbook", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    commands.add_parser("list", help="list the experiments")
    run = commands.add_parser("run", help="run experiments and save each result as JSON")
    run.add_argument("names", nargs="*", default=[], metavar="NAME",
                     help="a chapter's page name, e.g. the-gil (see 'parbook list'); "
                          "several run one after another")
    run.add_argument("--all", action="store_true",
                     help="run every chapter's experiment, one after another")
    run.add_argument("--size", choices=("full", "quick"), default="full",
                     help="full (published) or quick (test) sizes; default full")
    run.add_argument("--quick", action="store_const", const="quick", dest="size",
                     help="same as --size quick")
    run.add_argument("--out", default=None, metavar="OUT",
                     help="output file of one NAME (default: results/NAME.json, or "
                          "NAME-quick.json); with several names or --all, or when it is "
                          "a folder or ends with '/', the folder for their files "
                          "(default: results/)")
    run.add_argument("--time-limit", type=positive_seconds, default=supervise.DEFAULT_TIME_LIMIT_S,
                     metavar="SECONDS",
                     help="stop the run, and everything it started, after this long "
                          f"(default {supervise.DEFAULT_TIME_LIMIT_S:g})")
    run.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                     help="run the experiment's Ray cases on this cluster, given as its "
                          "GCS address or 'auto' (sets RAY_ADDRESS; default: $RAY_ADDRESS, "
                          "or a fresh local instance)")
    commands.add_parser("machine", help="print this machine's fingerprint as JSON")
    compare_parser = commands.add_parser(
        "compare", help="compare two results of one experiment, or two folders of results")
    compare_parser.add_argument("baseline", type=Path, help="result file or folder A")
    compare_parser.add_argument("other", type=Path,
                                help="result file or folder B (ratios are B / A)")
    return parser


#: How long ``run`` waits for a cluster's address to accept a connection before it
#: gives up; Ray itself would retry for minutes.
RAY_CONNECT_TIMEOUT_S = 5.0


def say(text: str) -> None:
    """Print one line of output, control characters escaped."""
    print(printable(text))


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"parbook: error: {printable(message)}", file=sys.stderr)
    return code


def check_writable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or None if it can; checked before a long run.

    The target must be absent or a regular file (a run never replaces a link, a device or
    a folder). Nothing is created: the nearest existing folder above it must accept new
    files, which is tried for real with a temporary file when the target's own folder
    exists, since permission bits alone do not say so.
    """
    if path.is_symlink():
        return f"output path {path} is a symbolic link; give the file itself"
    if path.exists() and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        return f"output path {path} is {kind}"
    folder = path.parent
    while not folder.exists():
        if folder == folder.parent:
            break
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot write to {path.parent}: {folder} is not a directory"
    if folder != path.parent:
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"cannot create {path.parent}: {folder} is not writable"
        return None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        return f"cannot write to {folder}: {exc.strerror or exc}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"output file {path} is not writable"
    return None


def check_ray_address(address: str) -> str | None:
    """Why ``address`` is not a reachable Ray cluster, or None if it is one.

    Accepted: ``HOST:PORT`` (a cluster's GCS, as ``ray start --head`` prints it) and
    ``auto`` (the cluster ``ray start`` last started on this machine). Ray Client's
    ``ray://`` addresses need ``ray[client]``, which the book does not install. Checked
    before anything runs, with a bounded connection attempt, so a typo or a cluster that
    is down fails in one line instead of after Ray's minutes of retries.
    """
    text = address.strip()
    if text == "auto":
        return None
    if text.startswith("ray://"):
        return (f"--ray-address {address!r}: Ray Client (ray://) addresses are not "
                "supported; give the cluster's HOST:PORT")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"--ray-address {address!r} is not HOST:PORT or auto"
    try:
        with socket.create_connection((host.strip("[]"), int(port)),
                                      timeout=RAY_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        return (f"no Ray cluster answers at {text} ({exc.strerror or exc}; tried for "
                f"{RAY_CONNECT_TIMEOUT_S:g} s)")
    return None


def command_list() -> int:
    width = max(len(name) for name in chapters.names())
    for name in chapters.names():
        print(f"{name:{width}}  {chapters.get(name).title}")
    return 0


@dataclass(frozen=True)
class PlannedRun:
    """One experiment to run: its page name, its measuring module and its output file."""

    name: str
    module: str
    target: Path


def default_target(folder: Path, name: str, quick: bool) -> Path:
    """Where ``run`` saves ``name``'s result in ``folder``: ``NAME.json`` or ``NAME-quick.json``."""
    return folder / (f"{name}-quick.json" if quick else f"{name}.json")


def plan_runs(names: Sequence[str], quick: bool, out: Path | None,
              ray_address: str | None, out_is_folder: bool = False
              ) -> list[PlannedRun] | int:
    """Check everything a run needs before anything runs: every name, the cluster's
    address, and that every output can be written. Returns the runs, or the exit code
    after printing the one line that says what is wrong.

    One name saves to ``out`` as a file, unless ``out_is_folder`` (see
    :func:`names_a_folder`); several save into ``out`` as a folder.
    """
    found = {}
    for name in dict.fromkeys(names):  # a name given twice runs once
        try:
            found[name] = chapters.get(name)
        except chapters.UnknownChapter as exc:
            return fail(str(exc), EXIT_USAGE)
    if ray_address is None and os.environ.get("RAY_ADDRESS") and any(
            chapter.ray == "session" for chapter in found.values()):
        ray_address = os.environ["RAY_ADDRESS"]
    if ray_address is not None:
        problem = check_ray_address(ray_address)
        if problem:
            return fail(problem, EXIT_USAGE)
        # ray.init reads RAY_ADDRESS, and parbook.shared.raysession passes it on; children
        # (multiprocessing workers, demo scripts) inherit it.
        os.environ["RAY_ADDRESS"] = ray_address.strip()
    runs = []
    for name, chapter in found.items():
        if len(found) == 1 and out is not None and not out_is_folder:
            target = out
        else:
            target = default_target(out or Path("results"), name, quick)
        problem = check_writable(target)
        if problem:
            return fail(problem, EXIT_USAGE)
        runs.append(PlannedRun(name, chapter.experiment.__name__, target))
    return runs


def command_run(names: Sequence[str], quick: bool, out: Path | None,
                ray_address: str | None = None,
                time_limit_s: float = supervise.DEFAULT_TIME_LIMIT_S,
                out_is_folder: bool = False) -> int:
    """Run experiments one after another, each under supervision
    (:mod:`parbook.supervise`), and save each result.

    A failed experiment does not stop the others: its existing result file stays as it
    was, and it is named at the end, one line on stderr each, with a non-zero exit.
    Ctrl-C or SIGTERM stops the whole command.
    """
    runs = plan_runs(names, quick, out, ray_address, out_is_folder)
    if isinstance(runs, int):
        return runs
    several = len(runs) > 1
    failures: list[str] = []
    interrupted = False
    display = progress.display(len(runs))
    try:
        for index, planned in enumerate(runs):
            display.started(planned.name)
            started = time.perf_counter()
            command = supervise.measuring_command(planned.module, planned.name, quick,
                                                  planned.target)
            outcome = supervise.supervise(command, time_limit_s, display.message,
                                          tick=display.tick)
            took = time.perf_counter() - started
            if outcome.interrupted:
                interrupted = True
                not_run = [later.name for later in runs[index + 1:]]
                failures.append(f"interrupted; {planned.target} left unchanged" + (
                    f"; not run: {', '.join(not_run)}" if not_run else ""))
                break
            if outcome.returncode:
                reason = outcome.reason or f"{planned.name} failed"
                if several and not reason.startswith(planned.name):
                    reason = f"{planned.name}: {reason}"
                failures.append(f"{reason}; {planned.target} left unchanged")
                if several:
                    display.finished(f"{planned.name}: failed after {took:.1f} s "
                                     "(see the end)")
                continue
            cases = f"{outcome.cases} case{'' if outcome.cases == 1 else 's'}"
            display.finished(f"{planned.name}: {cases} in {took:.1f} s -> {planned.target}")
    finally:
        display.close()
    for failure in failures:
        fail(failure)
    if interrupted:
        return supervise.EXIT_INTERRUPTED
    return EXIT_FAILED if failures else 0


def command_machine() -> int:
    print(json.dumps(machine.fingerprint(), indent=2))
    return 0


def compare_table(comparisons: list[compare.CaseComparison]) -> list[str]:
    """The lines of a comparison table: one row per case, unstable cases flagged in the
    last column, and a note under the table when any is."""
    rows = []
    for case in comparisons:
        unstable = case.unstable_sides
        rows.append((case.group, ", ".join(f"{k}={v}" for k, v in case.params.items()),
                     formatting.format_seconds(case.baseline.median),
                     formatting.format_seconds(case.other.median),
                     formatting.format_ratio(case.ratio),
                     f"unstable in {' and '.join(unstable)}" if unstable else ""))
    headers = ("group", "case", "median A", "median B", "B / A", "note")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
             .rstrip() for line in (headers, tuple("-" * w for w in widths), *rows)]
    if any(case.unstable_sides for case in comparisons):
        lines.append("unstable: the spread of that side's samples (interquartile range, or "
                     "the whole range under four samples) is more than "
                     f"{formatting.format_percent(UNSTABLE_RELATIVE_SPREAD)} of its median, "
                     "so the ratio is uncertain")
    return lines


def describe(label: str, path: Path, result: Result) -> str:
    """``A: path (full): the machine it was measured on``."""
    return (f"{label}: {path} ({compare.size_name(result.quick)}): "
            f"{formatting.machine_summary(result.machine)}")


def compare_files(baseline_path: Path, other_path: Path) -> int:
    """Compare two result files of one experiment, case by case."""
    try:
        baseline, other = load(baseline_path), load(other_path)
    except ResultError as exc:
        return fail(str(exc))
    if baseline.experiment != other.experiment:
        return fail(f"cannot compare different experiments: {baseline_path} is "
                    f"{baseline.experiment!r}, {other_path} is {other.experiment!r}")
    comparisons = compare.compare_cases(baseline, other)
    if not comparisons:
        return fail("the two results have no case in common (different sizes?)")
    say(describe("A", baseline_path, baseline))
    say(describe("B", other_path, other))
    for line in compare_table(comparisons):
        say(line)
    return 0


def compare_folders(baseline_path: Path, other_path: Path) -> int:
    """Compare two folders of results: one table per experiment (and size) found in both,
    one line for each found on one side only.

    A file in either folder that is not a readable result is named on stderr, one line
    each, and the comparison goes on without it; the exit code is then 1, so a script
    notices. So it is when an experiment on both sides has no case in common, or when
    no experiment is on both sides.
    """
    try:
        baseline, other = compare.load_folder(baseline_path), compare.load_folder(other_path)
    except ResultError as exc:
        return fail(str(exc))
    skipped = baseline.problems + other.problems
    for problem in skipped:  # first, so a reader knows what the tables leave out
        fail(f"{problem}; skipped")
    problems = []
    pairing = compare.pair_folders(baseline, other)
    for experiment, quick in pairing.both:
        a_path, a = baseline.results[experiment, quick]
        b_path, b = other.results[experiment, quick]
        comparisons = compare.compare_cases(a, b)
        if not comparisons:
            problems.append(f"{a_path} and {b_path} have no case in common")
            continue
        say(f"== {experiment} ({compare.size_name(quick)}) ==")
        say(describe("A", a_path, a))
        say(describe("B", b_path, b))
        for line in compare_table(comparisons):
            say(line)
        say("")
    for label, keys, folder in (("A", pairing.only_baseline, baseline),
                                ("B", pairing.only_other, other)):
        for experiment, quick in keys:
            say(f"only in {label}: {experiment} ({compare.size_name(quick)}), "
                f"{folder.results[experiment, quick][0]}")
    if not pairing.both:
        problems.append(f"{baseline_path} and {other_path} have no experiment of the same "
                        "size in common")
    for problem in problems:
        fail(problem)
    return EXIT_FAILED if problems or skipped else 0


def command_compare(baseline_path: Path, other_path: Path) -> int:
    """Compare two result files, or two folders of result files (not one of each)."""
    for path in (baseline_path, other_path):
        if not os.path.lexists(path):
            return fail(f"{path}: no such file or folder")
    folders = [path.is_dir() for path in (baseline_path, other_path)]
    if all(folders):
        return compare_folders(baseline_path, other_path)
    if any(folders):
        folder, file = ((baseline_path, other_path) if folders[0]
                        else (other_path, baseline_path))
        return fail(f"compare takes two result files or two folders: {folder} is a folder "
                    f"and {file} is not")
    return compare_files(baseline_path, other_path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        return command_list()
    if args.command == "run":
        if args.all == bool(args.names):
            return fail("run takes experiment names or --all, not both and not neither "
                        "(see --help)", EXIT_USAGE)
        names = chapters.names() if args.all else args.names
        out = Path(args.out) if args.out is not None else None
        return command_run(names, args.size == "quick", out, args.ray_address,
                           args.time_limit, out_is_folder=names_a_folder(args.out))
    if args.command == "machine":
        return command_machine()
    return command_compare(args.baseline, args.other)


def stop_on_sigterm() -> None:
    """Make SIGTERM (what ``kill``, a CI runner or a page's time limit sends) stop a run
    the way Ctrl-C does: as a KeyboardInterrupt, which unwinds every ``with`` and
    ``finally`` that stops pools, children, shared memory and Ray."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A forked child (a pool worker) must not inherit this: it must die of SIGTERM at
    # once, as Pool.terminate() expects, even while blocked on a lock, where a Python
    # handler would never get to run.
    # SIGTERM waits (blocked in the forking thread, so in the child) until the child has
    # reset it: one that arrived before the reset would find no handler to run and be
    # lost, and the worker would live on (a pool worker not yet scheduled on a busy
    # machine survived Pool.terminate() and blocked the pool's join for good).
    blocked = {signal.SIGTERM}
    os.register_at_fork(
        before=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, blocked),
        after_in_parent=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked),
        after_in_child=lambda: (signal.signal(signal.SIGTERM, signal.SIG_DFL),
                                signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)))
    signal.signal(signal.SIGTERM, interrupt)


def entry_point() -> int:
    """``python -m parbook``: :func:`main`, with output errors and signals in one line."""
    stop_on_sigterm()
    try:
        code = main()
        sys.stdout.flush()  # here, not at exit, so a full disk is reported in one line
        return code
    except BrokenPipeError:  # output piped into a command that stopped reading (head)
        sys.stderr.close()
        return EXIT_FAILED
    except KeyboardInterrupt:
        return fail("interrupted", 130)
    except OSError as exc:  # stdout on a full disk (/dev/full), a closed terminal
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - nothing more is written
        return fail(f"cannot write the output: {exc.strerror or exc}")


if __name__ == "__main__":
    sys.exit(entry_point())
