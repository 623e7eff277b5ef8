"""What every experiment's ``run`` sets up first: CPUs, start method, progress reporting."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
from collections.abc import Callable
from dataclasses import dataclass

from parbook.bench import machine

Progress = Callable[[str], None]


def reporter(progress: Progress | None) -> Progress:
    """The progress callback to use: the caller's, or one that says nothing."""
    return progress or (lambda _message: None)


@dataclass(frozen=True)
class RunSetup:
    """The machine facts an experiment sizes itself from, and where it reports progress.

    ``context`` is an explicit multiprocessing context for the platform's default start
    method (forkserver on Linux from Python 3.14), so processes are never created through
    the global default, and the method used is recorded with the result.
    """

    cpus: int
    start_method: str
    context: multiprocessing.context.BaseContext
    say: Progress


def setup(progress: Progress | None = None) -> RunSetup:
    """Read the usable CPUs and the default start method, and make its context."""
    start_method = machine.default_start_method()
    return RunSetup(
        cpus=machine.usable_cpus(),
        start_method=start_method,
        context=multiprocessing.get_context(start_method),
        say=reporter(progress),
    )
