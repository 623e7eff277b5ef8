"""The ray-basics experiment in quick mode (through the command line, so Ray never runs in
the test process), its demonstrations' promised outcomes, and the os.pipe floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parbook.bench.results import Result, load
from parbook.chapters.ray_basics import experiment as experiment
from parbook.chapters.ray_basics.floors import os_pipe_sink
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")


@pytest.fixture(scope="module")
def ray_basics_quick(tmp_path_factory: pytest.TempPathFactory) -> Result:
    out = tmp_path_factory.mktemp("ray-basics") / "ray-basics.json"
    completed = run_cli("run", "ray-basics", "--quick", "--out", str(out), timeout=300)
    assert completed.returncode == 0, completed.stderr
    return load(out)


def test_every_case_is_present_with_positive_finite_samples(ray_basics_quick):
    result = ray_basics_quick
    assert len(result.group("ray_init")) == 1
    assert len(result.group("store_warmup")) == 1
    assert {c.params["how"] for c in result.group("call")} == set(experiment.CALL_LABELS)
    sweep = {(c.params["bytes"], c.params["how"]) for c in result.group("size_sweep")}
    assert sweep == {(size, how) for size in experiment.QUICK.array_sizes
                     for how in experiment.SIZE_LABELS}
    anti = {(c.params["pattern"], c.params["how"]) for c in result.group("anti_pattern")}
    assert anti == {(pattern, how) for pattern, cases in experiment.ANTI_PATTERN_LABELS.items()
                    for how in cases}
    for case in result.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_the_result_says_where_ray_ran(ray_basics_quick):
    params = ray_basics_quick.parameters
    assert params["workers"] == int(params["ray_cluster_cpus"]) >= 1
    if params["ray_address"] == "local":  # not when RAY_ADDRESS names a cluster
        assert params["ray_nodes"] == 1
        assert params["ray_cluster_cpus"] == params["usable_cpus"]


def test_tasks_and_wait_demos(ray_basics_quick):
    demos = experiment.findings(ray_basics_quick)["demos"]
    tasks = demos["tasks"]
    assert tasks["ref_type"] == "ObjectRef"
    assert tasks["value"] == 16 and tasks["values"] == [0, 1, 4, 9, 16]
    assert tasks["chained"] == 81
    assert tasks["driver_pid"] not in tasks["task_pids"]
    wait = demos["wait"]
    assert (wait["ready"], wait["pending"], wait["polled"]) == (1, 1, 0)
    assert wait["timeout_error"] == "GetTimeoutError" and wait["is_timeout_error"]
    assert wait["late_value"] == experiment.QUICK.nap_long_s


def test_actor_calls_run_in_order_and_keep_separate_state(ray_basics_quick):
    actor = experiment.findings(ray_basics_quick)["demos"]["actor"]
    calls = experiment.QUICK.actor_calls
    assert actor["seen"] == list(range(calls))
    assert actor["means"] == [sum(range(k + 1)) / (k + 1) for k in range(calls)]
    assert actor["other_seen"] == [100.0]
    assert len(set(actor["pids"])) == 2 and actor["driver_pid"] not in actor["pids"]


def test_put_arrays_come_back_as_read_only_shared_views(ray_basics_quick):
    facts = experiment.findings(ray_basics_quick)["demos"]["zero_copy"]
    assert facts["writeable"] is False and facts["owndata"] is False
    assert facts["two_gets_share_memory"] and not facts["shares_memory_with_original"]
    assert facts["write_error"].startswith("ValueError")
    assert facts["copy_writeable"]
    assert facts["task_error"].startswith("RayTaskError") and facts["task_error_is_value_error"]
    assert facts["unchanged"]


def test_small_results_are_inlined_and_puts_go_to_the_store(ray_basics_quick):
    found = experiment.findings(ray_basics_quick)
    places = {(row["how"], row["array_bytes"]): row["place"]
              for row in found["demos"]["placements"]}
    assert places[("task result", 8)] == "owner's memory"
    assert places[("task result", 128 << 10)] == "object store"
    assert places[("ray.put", 8)] == "object store"
    limit = found["inline_limit"]
    assert limit["stored_array_bytes"] == limit["inline_array_bytes"] + 1
    assert limit["inline_object_bytes"] < limit["stored_object_bytes"]


def test_serialisation_facts(ray_basics_quick):
    facts = experiment.findings(ray_basics_quick)["serialisation"]
    assert facts["ray_version"] and facts["cloudpickle_version"]
    band = facts["out_of_band"]
    assert band["buffers"] == 1 and band["buffer_bytes"] == band["array_bytes"]
    assert band["buffer_is_the_array"] and band["restored_equal"]
    assert band["stream_bytes"] < band["array_bytes"] / 100 < band["in_band_bytes"]


def test_anti_patterns_and_fixes_compute_the_same_results(ray_basics_quick):
    assert experiment.findings(ray_basics_quick)["anti_results_agree"] == {
        pattern: True for pattern in experiment.ANTI_PATTERN_LABELS}


def test_findings_are_positive_and_finite(ray_basics_quick):
    found = experiment.findings(ray_basics_quick)
    for mapping in ("call", "call_over_pipe", "put_over_memcpy", "get_over_memcpy",
                    "value_over_pipe", "anti_gain"):
        assert all(math.isfinite(v) and v > 0 for v in found[mapping].values()), mapping
    for key in ("ray_init", "warmup_rate", "get_growth", "memcpy_growth"):
        assert math.isfinite(found[key]) and found[key] > 0, key


def test_size_figure_has_a_line_per_case(ray_basics_quick):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = experiment.size_figure(experiment.findings(ray_basics_quick))
    assert len(figure.axes[0].lines) == len(experiment.SIZE_LABELS)
    plt.close(figure)


def test_sweep_calls_handle_about_the_same_bytes_per_sample():
    quick = experiment.QUICK
    assert experiment.sweep_calls(8, quick) == quick.max_sweep_calls
    assert experiment.sweep_calls(256 << 20, quick) == 1


@pytest.mark.parametrize("size", [1, 100_000, 1 << 20])
def test_os_pipe_sink_takes_whole_messages(size):
    message = memoryview(np.arange(size, dtype=np.uint8))
    with os_pipe_sink(size) as send:
        for _ in range(3):
            send(message)
