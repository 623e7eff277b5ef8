"""Run a demonstration in a fresh child interpreter, with a time limit.

Some things can only be seen from outside a process (what happens at interpreter exit,
what a deadlocked or blocked program does, what a child started by ``spawn`` imports),
and some demonstrations hang on purpose. Those run as ``python -m MODULE ARGS`` through
:func:`run_module`, which kills the child when its limit passes and returns what it
printed, how it ended and how long it took.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: How long to wait for a killed child's last output.
DRAIN_S = 30.0


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


def run_command(command: list[str], *, time_limit_s: float,
                env: dict[str, str] | None = None) -> ChildRun:
    """Run ``command``; kill it (and report ``killed=True``) if it outlives the limit.

    The child runs in a new session, so a kill reaches the grandchildren it started too
    (a blocked demo's worker processes must not survive it).
    """
    began = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env if env is not None else child_env(),
                          start_new_session=True) as child:
        try:
            output, errors = child.communicate(timeout=time_limit_s)
            killed = False
        except subprocess.TimeoutExpired:
            _kill_group(child)
            output, errors = child.communicate(timeout=DRAIN_S)
            killed = True
        elapsed = time.perf_counter() - began
    return ChildRun(command=command, output=output, errors=errors, returncode=child.returncode,
                    elapsed_s=elapsed, time_limit_s=time_limit_s, killed=killed)


def run_module(module: str, *args: str, time_limit_s: float,
               env: dict[str, str] | None = None) -> ChildRun:
    """Run ``python -u -m module args`` and kill it if it is still running after the limit."""
    return run_command([sys.executable, "-u", "-m", module, *args],
                       time_limit_s=time_limit_s, env=env)


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, 9)
    except (ProcessLookupError, PermissionError, AttributeError):
        child.kill()


def shorten_paths(text: str) -> str:
    """Replace absolute file paths in a traceback by file names (they differ per machine)."""
    return re.sub(r'File "[^"]*[\\/]([^"\\/]+)"', r'File "\1"', text)
