"""Measures one case, then fails: what a crash half-way through a run looks like."""

from parbook.bench.results import Result

TITLE = "fails half-way"


def run(quick=False, progress=None):
    Result(experiment="failing", quick=quick).add("g", {}, [0.1])
    raise RuntimeError("worker died")
