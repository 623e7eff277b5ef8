"""Records the RAY_ADDRESS it was run with (``--ray-address`` sets it for the run)."""

import os

from parbook.bench.results import Result

TITLE = "records RAY_ADDRESS"


def run(quick=False, progress=None):
    result = Result(experiment="address", quick=quick)
    result.parameters["ray_address"] = os.environ.get("RAY_ADDRESS")
    result.add("g", {}, [0.1])
    return result
