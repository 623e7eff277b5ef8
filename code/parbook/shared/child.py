"""Run a demonstration in a fresh child interpreter, with a time limit.

Some things can only be seen from outside a process (what happens at interpreter exit,
what a deadlocked or blocked program does, what a child started by ``spawn`` imports),
and some demonstrations hang on purpose. Those run as ``python -m MODULE ARGS`` through
:func:`run_module`, which kills the child when its limit passes and returns what it
printed, how it ended and how long it took.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil

#: How long to wait for a stopped child's last output and for its helpers to exit.
DRAIN_S = 30.0
#: How long an interrupted child gets to shut its workers down before it is killed.
INTERRUPT_GRACE_S = 3.0


@dataclass(frozen=True)
class ChildRun:
    """What a child process printed, how it ended and how long it ran."""

    command: list[str]
    output: str
    errors: str
    returncode: int | None
    elapsed_s: float
    time_limit_s: float
    killed: bool

    def as_dict(self) -> dict[str, Any]:
        return {"output": self.output, "errors": self.errors, "returncode": self.returncode,
                "elapsed_s": self.elapsed_s, "time_limit_s": self.time_limit_s,
                "killed": self.killed}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child interpreter that must import this very copy of parbook."""
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
    env.update(extra or {})
    return env


@contextlib.contextmanager
def interruptible_children() -> Iterator[None]:
    """Let the child interpreters started in the block take SIGINT as Python usually does.

    A process that ignores SIGINT (a background job of a non-interactive shell, some CI
    steps) passes that on to every program it starts, and a Python program that starts
    with SIGINT ignored never raises ``KeyboardInterrupt``: a demonstration of Ctrl-C (a
    notebook cell's interrupt, SIGINT to a pool's process group) would then show nothing
    being interrupted, and the child would be killed at its limit. Within the block this
    process handles SIGINT (Python's default handler), which a child does not inherit.
    Only the main thread may change it; elsewhere the block changes nothing.
    """
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    change = ignored and threading.current_thread() is threading.main_thread()
    if change:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if change:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_command(command: list[str], *, time_limit_s: float,
                env: dict[str, str] | None = None, interrupt_first: bool = False,
                interrupt_grace_s: float = INTERRUPT_GRACE_S) -> ChildRun:
    """Run ``command``; stop it (and report ``killed=True``) if it outlives the limit.

    A child still running at its limit is killed together with every process it started
    (it runs in a session of its own), except multiprocessing's resource tracker: that
    exits by itself once every process holding its pipe has gone, after unlinking the
    semaphores and shared memory they leaked; killing it would leave those in /dev/shm.
    With ``interrupt_first``, the child first gets SIGINT, as a notebook's Interrupt
    button sends, and ``interrupt_grace_s`` to shut its workers down by itself.
    """
    began = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env if env is not None else child_env(),
                          start_new_session=True) as child:
        try:
            output, errors = child.communicate(timeout=time_limit_s)
            killed = False
        except subprocess.TimeoutExpired:
            killed = True
            output, errors = _stop(child, interrupt_first, interrupt_grace_s)
        except BaseException:
            # Interrupted while waiting (Ctrl-C, or SIGTERM turned into one): the child's
            # session would outlive this process, so it goes first.
            _kill_group(child.pid, spare_tracker=True)
            raise
        elapsed = time.perf_counter() - began
        _wait_for_group(child.pid)
    return ChildRun(command=command, output=output, errors=errors, returncode=child.returncode,
                    elapsed_s=elapsed, time_limit_s=time_limit_s, killed=killed)


def run_module(module: str, *args: str, time_limit_s: float,
               env: dict[str, str] | None = None) -> ChildRun:
    """Run ``python -u -m module args``; stop it if it is still running after the limit."""
    return run_command([sys.executable, "-u", "-m", module, *args],
                       time_limit_s=time_limit_s, env=env)


def _stop(child: subprocess.Popen, interrupt_first: bool, grace_s: float) -> tuple[str, str]:
    """Stop a child past its limit (see :func:`run_command`); return its remaining output."""
    if interrupt_first:
        child.send_signal(signal.SIGINT)
        try:
            return child.communicate(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    _kill_group(child.pid, spare_tracker=True)
    return child.communicate(timeout=DRAIN_S)


def _members(ident: int, of: Callable[[int], int]) -> list[psutil.Process]:
    """Live processes (zombies, already dead, left out) whose ``of(pid)`` is ``ident``:
    a process group with ``os.getpgid``, a session with ``os.getsid``."""
    import psutil  # here, not at the top: demo scripts import this module and stay light

    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and of(process.pid) == ident:
                members.append(process)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


def _group_members(group: int) -> list[psutil.Process]:
    """Live processes of a process group."""
    return _members(group, os.getpgid)


def session_members(session: int) -> list[int]:
    """The PIDs of the live processes of the session led by process ``session`` (a child
    started with ``start_new_session=True``: its workers, helpers and their children)."""
    return [process.pid for process in _members(session, os.getsid)]


def stop_session(session: int) -> None:
    """Kill what is left of a session, multiprocessing's resource tracker last: it exits
    by itself once every other process has gone, after unlinking the semaphores they
    leaked, which killing it first would leave in /dev/shm. Whatever is still there after
    :data:`DRAIN_S` is killed too."""
    import psutil

    for process in _members(session, os.getsid):
        if not _is_resource_tracker(process):
            with contextlib.suppress(psutil.Error):
                process.kill()
    deadline = time.monotonic() + DRAIN_S
    while session_members(session) and time.monotonic() < deadline:
        time.sleep(0.02)
    for process in _members(session, os.getsid):
        with contextlib.suppress(psutil.Error):
            process.kill()


def _is_resource_tracker(process: psutil.Process) -> bool:
    import psutil

    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except psutil.Error:
        return False


def _kill_group(group: int, spare_tracker: bool) -> None:
    import psutil

    for process in _group_members(group):
        if not (spare_tracker and _is_resource_tracker(process)):
            with contextlib.suppress(psutil.Error):
                process.kill()


def _wait_for_group(group: int) -> None:
    """Wait for the child's helpers (resource tracker, fork server) to exit; then kill them."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        if not _group_members(group):
            return
        time.sleep(0.02)
    _kill_group(group, spare_tracker=False)


def shorten_paths(text: str) -> str:
    """Replace absolute file paths in a traceback by file names (they differ per machine)."""
    return re.sub(r'File "[^"]*[\\/]([^"\\/]+)"', r'File "\1"', text)


def run_demo(module: str, demos: dict[str, Callable[[list[str]], Any]], argv: list[str]) -> int:
    """The entry point of ``python -m MODULE DEMO ARGS``: run one demo of ``demos``.

    An unknown or missing demo name gets a one-line usage message and exit code 2.
    """
    if not argv or argv[0] not in demos:
        print(f"usage: python -m {module} {{{','.join(demos)}}} [ARGS]", file=sys.stderr)
        return 2
    demos[argv[0]](argv[1:])
    return 0
