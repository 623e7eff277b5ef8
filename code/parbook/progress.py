"""What ``python -m parbook run`` shows while experiments run: a progress bar on a
terminal, plain lines anywhere else.

Both kinds of display are fed the same events by the command line: an experiment starts,
its measuring process sends a progress message (:mod:`parbook.supervise` passes each on as
it arrives), the clock ticks, an experiment ends with a line to print. The bar (tqdm) counts
experiments done out of those asked for, names the one running with its latest message,
and shows the time elapsed and tqdm's estimate of the time left (the average time per
finished experiment times the number left, so it means something from the second
experiment on). Plain lines are what a log, a pipe or a CI job gets: only the line each
experiment ends with, never a carriage return or an escape sequence.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from tqdm import tqdm

from parbook.render.formatting import printable


class PlainLines:
    """Progress for a log or a pipe: each experiment's closing line, nothing in between."""

    def started(self, name: str) -> None:
        """An experiment starts: nothing to print until it ends."""

    def message(self, text: str) -> None:
        """A progress message: a log keeps only what each run ended with."""

    def tick(self) -> None:
        """Time passes: a line, once printed, does not change."""

    def finished(self, line: str) -> None:
        """An experiment ended (saved or failed): print its line."""
        print(printable(line), flush=True)

    def close(self) -> None:
        """Nothing is left on screen to tidy."""


class _Bar(tqdm):
    # No monitor thread: the supervisor forks measuring processes, and a fork taken while
    # another thread runs can deadlock the child (the bar is redrawn by tick() instead).
    monitor_interval = 0


class ProgressBar:
    """A tqdm bar on standard error: experiments done / total, the running experiment and
    its latest message, elapsed time and time left. Lines that experiments end with go to
    standard output above the bar (``tqdm.write``), so the bar never mixes into them."""

    #: The shortest time between two redraws of the clock when nothing else happens.
    REDRAW_S = 1.0
    BAR_FORMAT = "{percentage:3.0f}%|{bar:20}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}] {desc}"

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.name = ""
        self.last_redraw = 0.0
        # smoothing=0: the estimate uses the average over all finished experiments; the
        # default (a moving average) would swing from one experiment's length to the next.
        # leave=False: once done, the bar goes, and the per-experiment lines stay.
        self.bar = _Bar(total=total, file=self.stream, unit="experiment", smoothing=0,
                        leave=False, bar_format=self.BAR_FORMAT, ncols=self._columns(),
                        mininterval=0)

    def _columns(self) -> int:
        # shutil, not tqdm's own probe: a terminal that reports no width (a fresh
        # pseudo-terminal) gets a sensible default instead of tqdm's width-0 fallback,
        # which ignores the bar format. Asked on every redraw, so a resized window fits.
        return shutil.get_terminal_size(fallback=(100, 24)).columns - 1

    def _redraw(self) -> None:
        self.bar.ncols = self._columns()
        self.bar.refresh()
        self.last_redraw = time.monotonic()

    def started(self, name: str) -> None:
        """Name the experiment that starts now."""
        self.name = printable(name)
        self.bar.set_description_str(self.name, refresh=False)
        self._redraw()

    def message(self, text: str) -> None:
        """Show the running experiment's latest progress message beside its name."""
        self.bar.set_description_str(f"{self.name}: {printable(text)}", refresh=False)
        self._redraw()

    def tick(self) -> None:
        """Keep the elapsed time moving while an experiment says nothing."""
        if time.monotonic() - self.last_redraw >= self.REDRAW_S:
            self._redraw()

    def finished(self, line: str) -> None:
        """Print the experiment's closing line above the bar and count it as done."""
        # Counted first, so that the bar redrawn under the line is already up to date.
        self.bar.set_description_str("", refresh=False)
        self.bar.update(1)
        self.bar.write(printable(line), file=sys.stdout)

    def close(self) -> None:
        """Remove the bar from the screen."""
        self.bar.close()


def display(total: int, stream: TextIO | None = None) -> PlainLines | ProgressBar:
    """A progress bar when ``stream`` (standard error) is a terminal, else plain lines."""
    stream = stream or sys.stderr
    if stream.isatty():
        return ProgressBar(total, stream)
    return PlainLines()
