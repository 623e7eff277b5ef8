"""Measures three tiny cases, saying so before each and pausing briefly between them:
what a progress bar shows while an experiment runs (kept short, so tests stay fast)."""

import time

from parbook.bench.results import Result

TITLE = "reports its progress"
#: How long the experiment pauses after each progress message, so that a progress bar
#: has time to show it.
PAUSE_S = 0.4


def run(quick=False, progress=None):
    result = Result(experiment="steps", quick=quick)
    for step in range(1, 4):
        if progress:
            progress(f"step {step} of 3")
        time.sleep(PAUSE_S)
        result.add("g", {"step": step}, [0.001 * step, 0.0011 * step])
    return result
