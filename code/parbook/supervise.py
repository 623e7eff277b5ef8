"""Run one experiment in a process tree that is stopped whole, whatever happens.

``python -m parbook run NAME`` does not measure in its own process. It starts a
*measuring process* (``python -m parbook.supervise ...``) in a session of its own and
supervises it:

- Ctrl-C at a terminal reaches only the supervisor (the measuring process is not in the
  terminal's foreground group), which passes one SIGINT to the measuring process alone.
  That process unwinds as from any KeyboardInterrupt, stopping its pools, children,
  shared memory and Ray; its workers never see the signal, so no traceback of theirs
  reaches the terminal. SIGTERM to the supervisor (``kill``, a CI runner, a page's time
  limit) does the same.
- The supervisor is a *child subreaper* (Linux): a process started anywhere in the tree
  and orphaned there (a demo child in a session of its own, a Ray agent whose parent
  died) is re-parented to it instead of to init, so it can still find it. When the
  measuring process has ended, however it ended, the supervisor waits briefly for what
  is left to exit by itself (multiprocessing's resource tracker unlinks leaked segments
  as it goes) and kills the rest.
- A run that outlives its time limit is stopped the same way.

The measuring process writes the result file itself, atomically, only after a complete
run; its standard output carries one progress message per line, and its standard error,
which its children inherit, goes to a temporary log, of which the supervisor repeats
only the one-line reason for a failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: The longest one experiment may run unless ``--time-limit`` says otherwise: an hour,
#: far beyond what any full-size experiment takes on a two-core machine.
DEFAULT_TIME_LIMIT_S = 3600.0
#: How long the measuring process gets to unwind after SIGINT before its tree is killed.
STOP_GRACE_S = 20.0
#: How long what is left of the tree after the measuring process ended gets to exit by
#: itself (a resource tracker unlinking leaked segments, Ray's agents shutting down).
DRAIN_S = 10.0
POLL_S = 0.05
#: The longest the supervisor waits for the measuring process's output before it looks
#: at the clock again (time limit, stop request, ``tick``).
TICK_S = 0.2
#: Prefixes of the lines the measuring process writes to its standard output.
PROGRESS, FAILED, CASES = "progress\t", "failed\t", "cases\t"
EXIT_INTERRUPTED = 130
EXIT_FAILED = 1


@dataclass(frozen=True)
class Outcome:
    """How a supervised run ended: its exit code and, if it failed, why, in one line."""

    returncode: int
    reason: str | None = None
    interrupted: bool = False
    timed_out: bool = False
    #: How many cases the saved result holds (a successful run only).
    cases: int | None = None


_PR_SET_CHILD_SUBREAPER, _PR_GET_CHILD_SUBREAPER = 36, 37


def become_subreaper(on: bool = True) -> bool:
    """Make orphaned descendants of this process its children, or (``on=False``) stop
    doing so (Linux only); True if the setting took."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0


def is_subreaper() -> bool:
    """Whether this process adopts orphans (always False off Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    flag = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and bool(
        flag.value)


def _stop_with_parent(parent: int) -> Callable[[], None] | None:
    """For the measuring process, before it runs (Linux): SIGTERM when the supervisor dies,
    so that even a supervisor killed outright (SIGKILL) takes the measurement with it; the
    measuring process then stops its tree as on any SIGTERM."""
    if not sys.platform.startswith("linux"):
        return None

    def arrange() -> None:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before the line above ran
            os._exit(EXIT_INTERRUPTED)

    return arrange


def descendants() -> list:
    """This process's live descendants (zombies left out), as ``psutil.Process`` objects."""
    import psutil

    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


def reap_orphans(spare: frozenset[int] = frozenset()) -> None:
    """Collect the exit status of re-parented orphans that have ended (zombies), so that
    they do not pile up in the process table. ``spare``: children this process had before
    the run, whose status belongs to whoever started them (``subprocess``,
    ``multiprocessing``); the measuring process itself is waited for by ``subprocess``."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error, ChildProcessError):
            if child.pid not in spare and child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)


def stop_tree(drain_s: float, spare: frozenset[int] = frozenset()) -> int:
    """Give the remaining descendants ``drain_s`` to exit; kill the rest. Returns how many
    had to be killed. ``spare``: PIDs that were there before the run (a test process's
    own forkserver, say), which are not the run's to stop."""
    import psutil

    def left_of_run() -> list:
        return [process for process in descendants() if process.pid not in spare]

    deadline = time.monotonic() + drain_s
    while (left := left_of_run()) and time.monotonic() < deadline:
        reap_orphans(spare)
        time.sleep(POLL_S)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(left, timeout=5)
    reap_orphans(spare)
    return len(left)


def supervise(command: list[str], time_limit_s: float,
              progress: Callable[[str], None],
              tick: Callable[[], None] | None = None) -> Outcome:
    """Run ``command`` (a measuring process) under supervision; see the module docstring.

    ``progress`` gets each progress message of the measuring process as it arrives.
    ``tick``, if given, is called at least every :data:`TICK_S` seconds while the run goes
    on, messages or not, so that a progress bar can keep its clock moving through
    a long case that says nothing.
    """
    was_subreaper = is_subreaper()
    become_subreaper()
    stop = {"signal": None}

    def request_stop(signum: int, frame: object) -> None:
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Whatever this process had started before (zombies included: their status belongs to
    # whoever started them) is not the run's to stop or reap.
    import psutil

    already_there = frozenset(process.pid for process in psutil.Process().children(recursive=True))
    reason: str | None = None
    cases: int | None = None
    timed_out = False
    try:
        with tempfile.TemporaryFile(mode="w+", prefix="parbook-run-") as log:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                     stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True,
                                     preexec_fn=_stop_with_parent(os.getpid()))
            deadline = time.monotonic() + time_limit_s
            stop_sent_at: float | None = None
            with selectors.DefaultSelector() as selector:
                selector.register(child.stdout, selectors.EVENT_READ)
                while True:
                    if tick is not None:
                        tick()
                    # Adopted orphans that end become zombies of this process, and a zombie
                    # still looks alive to code that polls its PID (Ray's agents watch
                    # their raylet so): collect them as they come, as init would.
                    reap_orphans(already_there | {child.pid})
                    now = time.monotonic()
                    if stop_sent_at is None and (stop["signal"] is not None or now > deadline):
                        timed_out = stop["signal"] is None
                        child.send_signal(signal.SIGINT)
                        stop_sent_at = now
                    if stop_sent_at is not None and now - stop_sent_at > STOP_GRACE_S:
                        break
                    finished = child.poll() is not None
                    # Read what is there; once the measuring process has ended, only what
                    # is already there (an orphan could hold the pipe open for ever).
                    while selector.select(timeout=0 if finished else TICK_S):
                        line = child.stdout.readline()
                        if not line:
                            finished = True
                            break
                        kind, _, text = line.rstrip("\n").partition("\t")
                        if kind == "progress":
                            progress(text)
                        elif kind == "failed":
                            reason = text
                        elif kind == "cases" and text.isdigit():
                            cases = int(text)
                        if not finished:
                            break
                    if finished:
                        break
            try:
                child.wait(timeout=max(0.0, STOP_GRACE_S - (time.monotonic() - stop_sent_at))
                           if stop_sent_at is not None else None)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            stop_tree(DRAIN_S, spare=already_there)
            if reason is None and child.returncode != 0:
                reason = _last_error_line(log) or _describe_exit(child.returncode)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not was_subreaper:  # a program that calls this in-process gets its setting back
            become_subreaper(False)
    interrupted = stop["signal"] is not None
    if interrupted:
        return Outcome(EXIT_INTERRUPTED, "interrupted", interrupted=True)
    if timed_out:
        return Outcome(EXIT_FAILED, f"stopped after its time limit of {time_limit_s:g} s",
                       timed_out=True)
    if child.returncode != 0:
        return Outcome(EXIT_FAILED, reason)
    return Outcome(0, cases=cases)


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"the measuring process was ended by {signal.Signals(-returncode).name}"
    return f"the measuring process exited with code {returncode}"


def _last_error_line(log) -> str | None:
    """The last non-empty line of the measuring process's standard error, if any."""
    log.seek(0)
    lines = [line.strip() for line in log.read().splitlines() if line.strip()]
    return lines[-1][:300] if lines else None


def stop_children() -> None:
    """Kill the multiprocessing children this process still has. A demonstration that
    failed between starting a child and joining it leaves one behind, and at exit
    multiprocessing would wait for it without end."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
        child.join(STOP_GRACE_S)


def measure(module_name: str, name: str, quick: bool, target: Path) -> int:
    """The measuring process: run the experiment of ``module_name`` and save its result
    to ``target``; report progress and failure on standard output, one line each."""
    from parbook.__main__ import stop_on_sigterm
    from parbook.bench.results import ResultError, save

    stop_on_sigterm()

    def say(kind: str, text: str) -> None:
        print(kind + " ".join(text.split()), flush=True)

    try:
        module = importlib.import_module(module_name)
        result = module.run(quick=quick, progress=lambda message: say(PROGRESS, message))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - any failure is reported in one line
        say(FAILED, f"{name} failed ({exc.__class__.__name__}: {exc})")
        return EXIT_FAILED
    finally:
        stop_children()
    try:
        save(result, target)
    except (OSError, ResultError) as exc:
        say(FAILED, f"cannot write {target}: {exc}")
        return EXIT_FAILED
    print(f"{CASES}{len(result.cases)}", flush=True)
    return 0


def measuring_command(module_name: str, name: str, quick: bool, target: Path) -> list[str]:
    """The command line of a measuring process."""
    return [sys.executable, "-m", "parbook.supervise", module_name, name,
            "quick" if quick else "full", str(target)]


if __name__ == "__main__":
    module_arg, name_arg, size_arg, target_arg = sys.argv[1:5]
    sys.exit(measure(module_arg, name_arg, size_arg == "quick", Path(target_arg)))
