"""Command line: ``python -m parbook list | run NAME|--all | machine | compare A.json B.json``.

Bad input gets one line on stderr and a non-zero exit. ``run`` checks that it can
write its output before measuring anything, and writes only after a complete run, so
a failed or interrupted run never replaces an existing result file. It measures in a
process tree of its own that it stops whole on every exit path, after a time limit, on
Ctrl-C and on SIGTERM (:mod:`parbook.supervise`).
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
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from parbook import chapters, supervise
from parbook.bench import machine
from parbook.bench.results import Result, ResultError, load
from parbook.bench.stats import summarize
from parbook.render import formatting

EXIT_USAGE = 2
EXIT_FAILED = 1


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not a usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


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
    run = commands.add_parser("run", help="run one experiment and save its result as JSON")
    run.add_argument("name", nargs="?", default=None,
                     help="the chapter's page name, e.g. the-gil (see 'parbook list')")
    run.add_argument("--all", action="store_true",
                     help="run every chapter's experiment, one after another")
    run.add_argument("--size", choices=("full", "quick"), default="full",
                     help="full (published) or quick (test) sizes; default full")
    run.add_argument("--quick", action="store_const", const="quick", dest="size",
                     help="same as --size quick")
    run.add_argument("--out", type=Path, default=None,
                     help="output file (default: results/NAME.json, or NAME-quick.json); "
                          "with --all, the folder for the files (default: results/)")
    run.add_argument("--time-limit", type=positive_seconds, default=supervise.DEFAULT_TIME_LIMIT_S,
                     metavar="SECONDS",
                     help="stop the run, and everything it started, after this long "
                          f"(default {supervise.DEFAULT_TIME_LIMIT_S:g})")
    run.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                     help="run the experiment's Ray cases on this cluster, given as its "
                          "GCS address or 'auto' (sets RAY_ADDRESS; default: $RAY_ADDRESS, "
                          "or a fresh local instance)")
    commands.add_parser("machine", help="print this machine's fingerprint as JSON")
    compare = commands.add_parser("compare", help="compare two results of one experiment")
    compare.add_argument("baseline", type=Path, help="result file A")
    compare.add_argument("other", type=Path, help="result file B (ratios are B / A)")
    return parser


#: How long ``run`` waits for a cluster's address to accept a connection before it
#: gives up; Ray itself would retry for minutes.
RAY_CONNECT_TIMEOUT_S = 5.0


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so nothing read from a file
    can move the cursor, retitle the terminal or hide what is printed."""
    return "".join(
        char if char == "\n" or unicodedata.category(char)[0] != "C"
        else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


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


def command_run_all(quick: bool, out_dir: Path | None, ray_address: str | None,
                    time_limit_s: float = supervise.DEFAULT_TIME_LIMIT_S) -> int:
    """Run every chapter's experiment; stop at the first that fails."""
    folder = out_dir or Path("results")
    for name in chapters.names():
        target = folder / (f"{name}-quick.json" if quick else f"{name}.json")
        code = command_run(name, quick, target, ray_address, time_limit_s)
        if code:
            return code
    return 0


def command_run(name: str, quick: bool, out: Path | None, ray_address: str | None = None,
                time_limit_s: float = supervise.DEFAULT_TIME_LIMIT_S) -> int:
    """Run one experiment under supervision (:mod:`parbook.supervise`) and save its result."""
    try:
        chapter = chapters.get(name)
    except chapters.UnknownChapter as exc:
        return fail(str(exc), EXIT_USAGE)
    if ray_address is None and chapter.ray == "session" and os.environ.get("RAY_ADDRESS"):
        ray_address = os.environ["RAY_ADDRESS"]
    if ray_address is not None:
        problem = check_ray_address(ray_address)
        if problem:
            return fail(problem, EXIT_USAGE)
        # ray.init reads RAY_ADDRESS, and parbook.shared.raysession passes it on; children
        # (multiprocessing workers, demo scripts) inherit it.
        os.environ["RAY_ADDRESS"] = ray_address.strip()
    target = out or Path("results") / (f"{name}-quick.json" if quick else f"{name}.json")
    problem = check_writable(target)
    if problem:
        return fail(problem, EXIT_USAGE)
    started = time.perf_counter()
    interactive = sys.stderr.isatty()

    def progress(message: str) -> None:
        if interactive:
            print(f"\r\033[K[{time.perf_counter() - started:6.1f} s] {printable(message)}",
                  end="", file=sys.stderr, flush=True)

    command = supervise.measuring_command(chapter.experiment.__name__, name, quick, target)
    try:
        outcome = supervise.supervise(command, time_limit_s, progress)
    finally:
        if interactive:
            print(file=sys.stderr)
    if outcome.returncode:
        return fail(f"{outcome.reason or name + ' failed'}; {target} left unchanged",
                    outcome.returncode)
    say(f"{name}: {outcome.cases} cases in {time.perf_counter() - started:.1f} s -> {target}")
    return 0


def command_machine() -> int:
    print(json.dumps(machine.fingerprint(), indent=2))
    return 0


def compare_rows(baseline: Result, other: Result) -> list[tuple[str, str, str, str, str]]:
    """Rows ``(group, case, median A, median B, B/A)`` for cases present in both results."""
    other_cases = {(c.group, json.dumps(c.params, sort_keys=True)): c for c in other.cases}
    rows = []
    for case in baseline.cases:
        key = (case.group, json.dumps(case.params, sort_keys=True))
        match = other_cases.get(key)
        if match is None:
            continue
        a, b = summarize(case.samples).median, summarize(match.samples).median
        params = ", ".join(f"{k}={v}" for k, v in case.params.items())
        ratio = formatting.format_ratio(b / a) if a > 0 else "n/a"
        rows.append((case.group, params, formatting.format_seconds(a), formatting.format_seconds(b),
                     ratio))
    return rows


def command_compare(baseline_path: Path, other_path: Path) -> int:
    try:
        baseline, other = load(baseline_path), load(other_path)
    except ResultError as exc:
        return fail(str(exc))
    if baseline.experiment != other.experiment:
        return fail(f"cannot compare different experiments: {baseline_path} is "
                    f"{baseline.experiment!r}, {other_path} is {other.experiment!r}")
    rows = compare_rows(baseline, other)
    if not rows:
        return fail("the two results have no case in common (different sizes?)")
    say(f"A: {baseline_path} ({'quick' if baseline.quick else 'full'}): "
          f"{formatting.machine_summary(baseline.machine)}")
    say(f"B: {other_path} ({'quick' if other.quick else 'full'}): "
          f"{formatting.machine_summary(other.machine)}")
    headers = ("group", "case", "median A", "median B", "B / A")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for line in (headers, tuple("-" * w for w in widths), *rows):
        say("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        return command_list()
    if args.command == "run":
        quick = args.size == "quick"
        if args.all == (args.name is not None):
            return fail("run takes one NAME or --all (see --help)", EXIT_USAGE)
        if args.all:
            return command_run_all(quick, args.out, args.ray_address, args.time_limit)
        return command_run(args.name, quick, args.out, args.ray_address, args.time_limit)
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
    os.register_at_fork(after_in_child=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
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
