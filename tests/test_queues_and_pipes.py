"""The queues-and-pipes chapter: its quick run (every size and backend, every demo under
every start method ending as promised and within its bound, nothing left behind), the size
helpers and echo children, and each of its data-dependent sentences on the committed result
``tests/results/queues-and-pipes.json``."""

from __future__ import annotations

import dataclasses
import math
import multiprocessing

import pytest

from parbook import sources
from parbook.bench.results import load
from parbook.chapters.queues_and_pipes import analysis, experiment
from parbook.chapters.queues_and_pipes import workload as work
from parbook.render.formatting import format_rate, format_size
from tests.conftest import ROOT
from tests.leftovers import left_behind

METHODS = multiprocessing.get_all_start_methods()
COMMITTED = ROOT / "tests" / "results" / "queues-and-pipes.json"


@pytest.fixture(scope="module")
def queues_quick(quick_results):
    return quick_results["queues-and-pipes"]


@pytest.fixture(scope="module")
def found(queues_quick):
    return analysis.findings(queues_quick)


@pytest.fixture(scope="module")
def committed():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


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
    """What the page asserted while it was built: every outcome the prose promises."""
    checks = found.demos.checks(method)
    assert set(checks) >= set(experiment.DEMO_LABELS)
    recorded = found.demos.recorded[method]
    failed = [name for name, held in checks.items() if not held]
    assert not failed, (failed, {name: recorded[name] for name in failed if name in recorded})


@pytest.mark.parametrize("method", METHODS)
def test_blocking_demos_ended_within_their_bound(found, method):
    demos = found.demos.recorded[method]
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
        assert analysis.outcome_text(name, found.demos.recorded[method][name])


def test_nothing_left_running(found, shm_before):
    children, new_shm = left_behind(shm_before)
    assert not children, children
    # Each demo interpreter found no thread and no child process of its own left at its end.
    assert all(found.demos.checks(method)["nothing_left"] for method in found.demos.recorded)
    # Nor is a queue's semaphore (sem.mp-*) left in /dev/shm.
    assert not new_shm, sorted(new_shm)


def test_findings_ratios_and_verdicts(found):
    sweep = found.sweep
    for size in sweep.sizes:
        for ratio in (sweep.queue_over_pipe, sweep.queue_over_bytes, sweep.pipe_over_bytes):
            assert math.isfinite(ratio(size)) and ratio(size) > 0
        assert sweep.verdicts[size] == analysis.claim_verdict(sweep.queue_over_pipe(size))
    assert set(sweep.claim_holds) <= set(sweep.sizes)


def test_claim_comes_from_sources_and_verdicts_cover_every_case():
    assert sources.PIPE_VS_QUEUE_CLAIM.article.key == "003"
    assert (analysis.CLAIM_LOW, analysis.CLAIM_HIGH) == (1.5, 2.0)
    assert analysis.claim_verdict(0.8).startswith("no: the Queue")
    assert analysis.claim_verdict(1.2).endswith("by less")
    assert analysis.claim_verdict(1.7) == "yes"
    assert analysis.claim_verdict(3.0).endswith("by more")
    assert analysis.claim_verdict(1.49) == "yes"  # shown as 1.5x, the claim's precision
    assert set(analysis.CLAIM_MISSES) == {analysis.claim_verdict(r) for r in (0.8, 1.2, 3.0)}


def test_size_helpers():
    assert [format_size(s) for s in (8, 1024, 65536, 1 << 20)] == [
        "8 B", "1 KiB", "64 KiB", "1 MiB"]
    assert format_rate(2.5e6) == "2.5 MB/s"
    assert format_rate(1.5e9) == "1.5 GB/s"
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


# --- what the page prints from the recorded run ----------------------------------------------

def test_printed_output_is_each_demos_lines_under_its_heading(committed):
    shown = committed.demos.shown
    assert committed.demos.printed("basics").splitlines() == shown["basics"]["lines"]
    joined = committed.demos.printed("join_first_small", "join_first_large").splitlines()
    assert joined == ["--- 1 KiB item, join() first", *shown["join_first_small"]["lines"],
                      "--- 1 MiB item, join() first", *shown["join_first_large"]["lines"]]
    assert committed.demos.printed("drain_first_large").startswith(
        "--- 1 MiB item, get() first\n")
    everywhere = committed.demos.printed_under_every_method("child_one_end").splitlines()
    headings = [line for line in everywhere if line.startswith("--- ")]
    assert headings == [f"--- {method}: {experiment.DEMO_LABELS['child_one_end']}"
                        for method in committed.demos.recorded]


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("said_empty", "start"), [
    (7, "empty() answered True in 7 of them, although qsize() answered 1 in 200"),
    (0, "empty() happened to answer False every time"),
])
def test_hint_sentence(committed, said_empty, start):
    queue = dataclasses.replace(committed.queue, said_empty=said_empty, said_one=200)
    assert analysis.hint_sentence(queue).startswith(start)


@pytest.mark.parametrize(("fork_measured", "start"), [
    (True, "Under fork, the child that was given only its reading end never saw EOFError"),
    (False, "Fork is not available on this platform"),
])
def test_fork_child_sentence(committed, fork_measured, start):
    pipes = dataclasses.replace(committed.pipes, fork_measured=fork_measured)
    assert analysis.fork_child_sentence(pipes).startswith(start)


@pytest.mark.parametrize(("size", "expected"), [(65536, "64 KiB"), (None, "unknown")])
def test_buffer_text(size, expected):
    assert analysis.buffer_text(size) == expected


@pytest.mark.parametrize(("placement", "start"), [
    ("same_cpu", "Both processes were pinned to the same CPU"),
    ("os_placed", "This platform cannot pin processes to CPUs"),
])
def test_placement_sentence(committed, placement, start):
    sweep = dataclasses.replace(committed.sweep, placement=placement)
    assert analysis.placement_sentence(sweep).startswith(start)


def sweep_with_ratios(committed, queue_over_pipe: dict[int, float],
                      others: dict[tuple[int, str], float] | None = None):
    """The committed sweep with the Pipe's time 1 s at every size and the Queue's set so that
    Queue / Pipe is ``queue_over_pipe[size]`` (1.7, inside the claim, where not given);
    ``others`` sets more (size, backend) times."""
    times = dict(committed.sweep.times)
    for size in committed.sweep.sizes:
        times[(size, "pipe")] = 1.0
        times[(size, "queue")] = queue_over_pipe.get(size, 1.7)
    times.update(others or {})
    return dataclasses.replace(committed.sweep, times=times)


def test_claim_sentence_and_others_where_it_holds_everywhere(committed):
    sweep = sweep_with_ratios(committed, {})
    assert analysis.claim_sentence(sweep) == (
        "held at 8 B, 1 KiB, 64 KiB, 1 MiB and 8 MiB, that is, at every size measured")
    assert analysis.claim_others(sweep) == "nowhere did it fall outside that range"


def test_claim_sentence_and_others_where_it_holds_somewhere(committed):
    sweep = sweep_with_ratios(committed, {8: 3.0, 1024: 3.0, 65536: 1.2, 1 << 20: 0.5})
    assert analysis.claim_sentence(sweep) == "held at 8 MiB"
    assert analysis.claim_others(sweep) == (
        "at 8 B and 1 KiB the Pipe was faster by more than the claim; "
        "at 64 KiB the Pipe was faster by less than the claim; "
        "at 1 MiB the Queue was the faster of the two")


def test_claim_sentence_where_it_holds_nowhere(committed):
    sweep = sweep_with_ratios(committed, dict.fromkeys(committed.sweep.sizes, 1.1))
    assert analysis.claim_sentence(sweep) == "held at none of the sizes measured"


@pytest.mark.parametrize(("queue", "start"), [
    (1.3, "the Queue took 1.3× as long"),
    (0.8, "the Queue was faster (0.80× the Pipe's time), although it does more work"),
])
def test_small_verdict(committed, queue, start):
    sweep = sweep_with_ratios(committed, {committed.sweep.smallest: queue})
    assert analysis.small_verdict(sweep).startswith(start)


def test_bytes_sentence(committed):
    sizes = committed.sweep.sizes
    faster = sweep_with_ratios(committed, {}, {(s, "pipe_bytes"): 0.5 for s in sizes})
    assert analysis.bytes_sentence(faster) == (
        "Pickling showed: send_bytes was faster than send at every size")
    slower = sweep_with_ratios(committed, {}, {(s, "pipe_bytes"): 0.5 if s != sizes[0] else 2.0
                                               for s in sizes})
    assert analysis.bytes_sentence(slower).startswith(
        "Pickling did not show at every size: send took 0.50× (8 B), 2.0× (1 KiB)")


@pytest.mark.parametrize(("os_pipe", "start"), [
    (2.0, "At 8 MiB the raw os.pipe, which does no pickling at all, was slower than a Pipe "
          "(2.00 s against 1.00 s)"),
    (0.5, "At 8 MiB the raw os.pipe, which does no pickling, was still the fastest (500 ms)"),
])
def test_large_floor_sentence(committed, os_pipe, start):
    large = committed.sweep.largest
    sweep = sweep_with_ratios(committed, {}, {(large, "os_pipe"): os_pipe,
                                              (large, "pipe_bytes"): 1.5})
    assert analysis.large_floor_sentence(sweep).startswith(start)


def test_texts_of_the_committed_result(committed):
    texts = analysis.texts(committed)
    assert texts["qp_cpus"] == committed.setup.cpus and isinstance(texts["qp_cpus"], int)
    # book/rules.md quotes these with :s, so they must be strings.
    for key in ("qp_patience", "qp_full_wait", "qp_join_large_size", "qp_join_large_wait",
                "qp_drain_first_wait", "qp_small", "qp_small_pipe", "qp_small_pipe_bytes",
                "qp_small_queue", "qp_claim_low", "qp_claim_high", "qp_claim_sentence"):
        assert isinstance(texts[key], str), key
    assert (texts["qp_claim_low"], texts["qp_claim_high"]) == ("1.5×", "2.0×")
    assert texts["qp_too_few_stuck"] == " and ".join(committed.consumers.too_few_stuck)
    assert texts["qp_small"] == "8 B" and texts["qp_large"] == "8 MiB"
