"""The queues experiment in quick mode, and its demos under every start method."""

from __future__ import annotations

import math
import multiprocessing

import pytest

from parbook import sources
from parbook.chapters.queues_and_pipes import experiment as experiment
from parbook.chapters.queues_and_pipes import workload as work
from tests.leftovers import left_behind

METHODS = multiprocessing.get_all_start_methods()


@pytest.fixture(scope="module")
def queues_quick():
    return experiment.run(quick=True)


@pytest.fixture(scope="module")
def found(queues_quick):
    return experiment.findings(queues_quick)


def test_every_size_and_backend_has_positive_finite_samples(queues_quick):
    cases = {(c.params["size"], c.params["backend"]) for c in queues_quick.group("size_sweep")}
    assert cases == {(size, backend) for size in experiment.QUICK.message_sizes
                     for backend in experiment.BACKEND_LABELS}
    for case in queues_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples)


def test_demos_ran_under_every_start_method_within_their_limit(queues_quick):
    assert set(queues_quick.values["demos"]) == set(METHODS)
    for method, run in queues_quick.values["demo_runs"].items():
        assert run["returncode"] == 0 and not run["killed"], (method, run["errors"])
        assert run["elapsed_s"] < run["time_limit_s"]


@pytest.mark.parametrize("method", METHODS)
def test_every_promised_outcome_held(found, method):
    checks = found["checks"][method]
    assert set(checks) >= set(experiment.DEMO_LABELS)
    failed = [name for name, held in checks.items() if not held]
    assert not failed, (failed, {name: found["all_demos"][method][name] for name in failed
                                 if name in found["all_demos"][method]})


@pytest.mark.parametrize("method", METHODS)
def test_blocking_demos_ended_within_their_bound(found, method):
    demos = found["all_demos"][method]
    patience = demos["patience_s"]
    # A blocked consumer costs one patience; nothing may wait anywhere near WAIT_S.
    for name in ("no_sentinel", "too_few_sentinels", "join_first_large", "pipe_keep_copy",
                 "child_one_end"):
        assert demos[name]["elapsed_s"] < 3 * patience + work.WAIT_S / 3, name
    assert demos["no_sentinel"]["exit_codes"] == {"consumer-1": -15}  # SIGTERM
    assert demos["join_first_large"]["joined_after_s"] >= patience
    assert demos["pipe_keep_copy"]["eof_after_s"] >= patience
    basics = demos["basics"]
    assert basics["full_wait_s"] >= work.SHORT_TIMEOUT_S * 0.9
    assert basics["empty_wait_s"] >= work.SHORT_TIMEOUT_S * 0.9


@pytest.mark.parametrize("method", METHODS)
def test_outcome_table_has_a_cell_for_every_demo(found, method):
    for name in experiment.DEMO_LABELS:
        assert experiment.outcome_text(name, found["all_demos"][method][name])


def test_nothing_left_running(found, shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    # Each demo interpreter found no thread and no child process of its own left at its end.
    assert all(checks["nothing_left"] for checks in found["checks"].values())
    # Nor is a queue's semaphore (sem.mp-*) left in /dev/shm.
    assert not new_shm, sorted(new_shm)


def test_findings_ratios_and_verdicts(found):
    for size in found["sizes"]:
        for key in ("queue_over_pipe", "queue_over_bytes", "pipe_over_bytes"):
            assert math.isfinite(found[key][size]) and found[key][size] > 0
        assert found["verdicts"][size] == experiment.claim_verdict(found["queue_over_pipe"][size])
    assert set(found["claim_holds"]) <= set(found["sizes"])


def test_claim_comes_from_sources_and_verdicts_cover_every_case():
    assert sources.PIPE_VS_QUEUE_CLAIM.article.key == "003"
    assert (experiment.CLAIM_LOW, experiment.CLAIM_HIGH) == (1.5, 2.0)
    assert experiment.claim_verdict(0.8).startswith("no: the Queue")
    assert experiment.claim_verdict(1.2).endswith("by less")
    assert experiment.claim_verdict(1.7) == "yes"
    assert experiment.claim_verdict(3.0).endswith("by more")
    assert experiment.claim_verdict(1.49) == "yes"  # shown as 1.5x, the claim's precision


def test_size_helpers():
    assert [experiment.format_size(s) for s in (8, 1024, 65536, 1 << 20)] == [
        "8 B", "1 KiB", "64 KiB", "1 MiB"]
    assert experiment.format_rate(2.5e6) == "2.5 MB/s"
    assert experiment.format_rate(1.5e9) == "1.5 GB/s"
    assert experiment.round_trips_for(8, experiment.FULL) == experiment.FULL.max_round_trips
    largest = max(experiment.FULL.message_sizes)
    assert experiment.round_trips_for(largest, experiment.FULL) == experiment.FULL.min_round_trips


def test_the_raw_pipe_floor_echoes_exact_bytes():
    with work.os_pipe_sized_echo(100_000) as round_trip:
        for _ in range(3):
            round_trip()


@pytest.mark.parametrize("method", METHODS)
def test_send_bytes_echo_returns_the_same_bytes(method):
    context = multiprocessing.get_context(method)
    with work.mp_pipe_bytes_echo(context) as conn:
        for size in (1, 70_000):
            conn.send_bytes(b"y" * size)
            assert conn.recv_bytes() == b"y" * size
