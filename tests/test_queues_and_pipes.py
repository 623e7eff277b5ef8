"""The queues-and-pipes chapter: its quick run (every size and backend, every demo under
every start method ending as promised and within its bound, nothing left behind), the size
helpers and echo children, and each of its data-dependent sentences on the committed result
``tests/results/queues-and-pipes.json``."""

from __future__ import annotations

import copy
import dataclasses
import math
import multiprocessing

import pytest

from parbook import sources
from parbook.bench.results import load
from parbook.chapters.queues_and_pipes import analysis, experiment
from parbook.chapters.queues_and_pipes import workload as work
from parbook.claims import Verdict
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


def test_size_helpers():
    assert [format_size(s) for s in (8, 1024, 65536, 1 << 20)] == [
        "8 B", "1 KiB", "64 KiB", "1 MiB"]
    assert format_rate(2.5e6) == "2.5 MB/s"
    assert format_rate(1.5e9) == "1.5 GB/s"
    assert experiment.round_trips_for(8, experiment.FULL) == experiment.FULL.max_round_trips
    largest = max(experiment.FULL.message_sizes)
    assert experiment.round_trips_for(largest, experiment.FULL) == experiment.FULL.min_round_trips


def test_the_raw_pipe_floor_echoes_exact_bytes():
    size = 100_000
    with work.os_pipe_sized_echo(size) as round_trip:
        for _ in range(3):
            echoed = round_trip()
            assert len(echoed) == size and bytes(echoed) == work.fill(size)


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

@pytest.mark.parametrize(("said_empty", "said_one", "expected"), [
    (7, 200, "In this build, asked right after a put, empty() answered True in 7 of 200 tries, "
             "although qsize() answered 1 every time."),
    (7, 150, "In this build, asked right after a put, empty() answered True in 7 of 200 tries, "
             "and qsize() answered 1 in only 150 of them."),
    (0, 200, "In this build, empty() happened to answer False in all 200 tries; nothing "
             "guarantees that, and another run may see True."),
])
def test_hint_sentence(committed, said_empty, said_one, expected):
    queue = dataclasses.replace(committed.queue, hint_trials=200, said_empty=said_empty,
                                said_one=said_one)
    assert analysis.hint_sentence(queue) == expected


@pytest.mark.parametrize(("fork_measured", "start"), [
    (True, "Under fork, the child that was given only its reading end never saw EOFError"),
    (False, "Fork is not available on this platform"),
])
def test_fork_child_sentence(committed, fork_measured, start):
    pipes = dataclasses.replace(committed.pipes, fork_measured=fork_measured)
    sentence = analysis.fork_child_sentence(pipes)
    assert sentence.startswith(start) and sentence.endswith(".")


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


def test_claim_sentences_where_it_holds_everywhere(committed):
    sweep = sweep_with_ratios(committed, {})
    assert analysis.claim_sentence(sweep) == "held at every size measured"
    assert analysis.claim_verdict_sentence(sweep) == (
        "On this build the claim held at every one of the 5 sizes.")
    assert analysis.claim_cell(sweep) == "held at every one of the 5 sizes measured"


def test_claim_sentences_where_it_holds_somewhere(committed):
    sweep = sweep_with_ratios(committed, {8: 3.0, 1024: 3.0, 65536: 1.2, 1 << 20: 0.5})
    assert analysis.claim_sentence(sweep) == "held at 8 MiB"
    assert analysis.claim_verdict_sentence(sweep) == (
        "On this build the claim held at 1 of the 5 sizes (8 MiB); where it missed, the last "
        "column of the table says on which side.")
    assert analysis.claim_cell(sweep) == "held at 1 of the 5 sizes measured"
    two = sweep_with_ratios(committed, {8: 3.0, 1024: 3.0, 65536: 1.2})
    assert analysis.claim_sentence(two) == "held at 1 MiB and 8 MiB"


def test_claim_sentences_where_it_holds_nowhere(committed):
    sweep = sweep_with_ratios(committed, dict.fromkeys(committed.sweep.sizes, 1.1))
    assert analysis.claim_sentence(sweep) == "held at none of the sizes measured"
    assert analysis.claim_verdict_sentence(sweep) == (
        "On this build the claim held at none of the 5 sizes; the last column of the table "
        "says on which side of it each one fell.")
    assert analysis.claim_cell(sweep) == "held at none of the 5 sizes measured"


@pytest.mark.parametrize(("queue", "expected"), [
    (1.3, "A Queue took 1.3× as long as the Pipe."),
    (0.8, "A Queue was faster here, at 0.80× the Pipe's time, although it does more work per "
          "message: something else, such as the scheduler, weighed more in this run (see the "
          "spread table)."),
])
def test_small_verdict(committed, queue, expected):
    sweep = sweep_with_ratios(committed, {committed.sweep.smallest: queue})
    assert analysis.small_verdict(sweep) == expected


def test_bytes_sentence(committed):
    sizes = committed.sweep.sizes
    faster = sweep_with_ratios(committed, {}, {(s, "pipe_bytes"): 0.5 for s in sizes})
    assert analysis.bytes_sentence(faster) == (
        "Skipping pickling showed at every size: send_bytes was faster than send.")
    some = sweep_with_ratios(committed, {}, {(s, "pipe_bytes"): 0.5 if s != sizes[0] else 2.0
                                             for s in sizes})
    assert analysis.bytes_sentence(some) == (
        "Skipping pickling did not pay at every size: send_bytes was faster than send at 4 of "
        "the 5 sizes (the ratio table below gives each), and where it was not, the copies that "
        "pickling adds cost less than whatever else varied between runs (see the spread "
        "table).")
    none = sweep_with_ratios(committed, {}, {(s, "pipe_bytes"): 2.0 for s in sizes})
    assert analysis.bytes_sentence(none) == (
        "Skipping pickling did not pay here: send was as fast as send_bytes, or faster, at "
        "every size, so the copies that pickling adds cost less than whatever else varied "
        "between runs (see the spread table).")


@pytest.mark.parametrize(("os_pipe", "expected"), [
    (2.0, "At 8 MiB the raw os.pipe, which does no pickling at all, was slower than a Pipe "
          "(2.00 s against 1.00 s): the copies were no longer what decided, the channel "
          "underneath was."),
    (0.5, "At 8 MiB the raw os.pipe, which does no pickling, was still the fastest (500 ms): "
          "fewer copies still beat a bigger buffer."),
])
def test_large_floor_sentence(committed, os_pipe, expected):
    large = committed.sweep.largest
    sweep = sweep_with_ratios(committed, {}, {(large, "os_pipe"): os_pipe,
                                              (large, "pipe_bytes"): 1.5})
    assert analysis.large_floor_sentence(sweep) == expected


def test_summary_rows_follow_the_data(committed):
    rows = dict(analysis.summary_rows(committed))
    assert rows["round trip of one 8 B message over a Pipe"].endswith("with send_bytes)")
    assert rows["a consumer that nobody told to stop"] == "still blocked after 300 ms: terminated"
    join_row = "join() before get(), on a child that put a 1 MiB item"
    assert rows[join_row].startswith("join() gave up after")
    recorded = {method: dict(demos) for method, demos in committed.demos.recorded.items()}
    shown = recorded[committed.demos.start_method]
    shown["no_sentinel"] = {**shown["no_sentinel"], "terminated": []}
    shown["join_first_large"] = {**shown["join_first_large"], "alive_after_join": False}
    other = dataclasses.replace(committed, demos=dataclasses.replace(committed.demos,
                                                                     recorded=recorded))
    rows = dict(analysis.summary_rows(other))
    assert rows["a consumer that nobody told to stop"] == "exited by itself"
    assert rows[join_row].startswith("child exited; join() returned after")


def test_a_demo_that_ends_otherwise_fails_the_run(committed):
    recorded = {method: dict(demos) for method, demos in committed.demos.recorded.items()}
    assert experiment.failed_demos(recorded) == {}
    method = committed.demos.start_method
    recorded[method]["join_first_large"] = {**recorded[method]["join_first_large"],
                                            "alive_after_join": False}
    assert experiment.failed_demos(recorded) == {method: ["join_first_large"]}


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


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def demos_with(demos, **changes):
    """The committed demos with, under every start method, ``demo=fields`` changed."""
    recorded = copy.deepcopy(demos.recorded)
    for outcome in recorded.values():
        for demo, fields in changes.items():
            outcome[demo].update(fields)
    return dataclasses.replace(demos, recorded=recorded)


def test_consumer_sentinels_claim_every_verdict(committed):
    setup, demos = committed.setup, committed.demos
    judged = analysis.consumer_sentinels_claim(setup, demos)
    assert judged.verdict is Verdict.HOLDS and "still blocked in get()" in judged.reason
    never_stuck = {"no_sentinel": {"terminated": [], "finished": ["consumer-1"]}}
    too_many = {"sentinel_each": {"terminated": ["consumer-1"]}}
    judged = analysis.consumer_sentinels_claim(setup, demos_with(demos, **too_many))
    assert judged.verdict is Verdict.PARTLY and "one signal each predicts" in judged.reason
    judged = analysis.consumer_sentinels_claim(setup, demos_with(demos, **never_stuck))
    assert judged.verdict is Verdict.PARTLY and "did not stay blocked" in judged.reason
    neither = demos_with(demos, **never_stuck, **too_many)
    assert analysis.consumer_sentinels_claim(setup, neither).verdict is Verdict.FAILS


def test_pipe_claim_every_verdict(committed):
    setup, pipes, demos = committed.setup, committed.pipes, committed.demos
    judged = analysis.pipe_claim(setup, pipes, demos)
    assert judged.verdict is Verdict.HOLDS and "every copy of the sending end" in judged.reason
    early = demos_with(demos, pipe_keep_copy={"eof_after_s": 0.0})
    judged = analysis.pipe_claim(setup, pipes, early)
    assert judged.verdict is Verdict.HOLDS and "once the sending end was closed" in judged.reason
    one_way = {"duplex": {"answers": []}}
    no_eof = {"child_both_ends": {"saw_eof": False}}
    judged = analysis.pipe_claim(setup, pipes, demos_with(demos, **no_eof))
    assert judged.verdict is Verdict.PARTLY and "did not always raise" in judged.reason
    judged = analysis.pipe_claim(setup, pipes, demos_with(demos, **one_way))
    assert judged.verdict is Verdict.PARTLY and "both ways" in judged.reason
    silent = demos_with(demos, pipe_close_copy={"lines": ["recv() -> 0"]}, **no_eof)
    assert analysis.pipe_claim(setup, pipes, silent).verdict is Verdict.FAILS


def test_pipes_faster_claim_every_verdict(committed):
    judged = analysis.pipes_faster_claim(sweep_with_ratios(committed, {}))
    assert judged.verdict is Verdict.HOLDS and "held at every size" in judged.reason
    some = sweep_with_ratios(committed, {8: 3.0, 1024: 0.5})
    judged = analysis.pipes_faster_claim(some)
    assert judged.verdict is Verdict.PARTLY and "0.50× to 3.0×" in judged.reason
    faster_by_more = sweep_with_ratios(committed, dict.fromkeys(committed.sweep.sizes, 3.0))
    judged = analysis.pipes_faster_claim(faster_by_more)
    assert judged.verdict is Verdict.PARTLY and "faster at every size" in judged.reason
    queue_wins = sweep_with_ratios(committed, {**dict.fromkeys(committed.sweep.sizes, 3.0),
                                               8: 0.8})
    judged = analysis.pipes_faster_claim(queue_wins)
    assert judged.verdict is Verdict.FAILS and "faster at 1 of the 5 sizes" in judged.reason


def test_queue_answers_and_polls_are_read_from_the_printed_lines(committed):
    basics = committed.demos.shown["basics"]["lines"]
    assert analysis.said(analysis.FULL_LINE, basics) is True
    assert analysis.said(analysis.EMPTY_LINE, basics) is True
    assert analysis.said(analysis.FULL_LINE, ["after 3 puts: qsize()=3, full()=False"]) is False
    assert analysis.said(analysis.EMPTY_LINE,
                         ["3 gets returned ['a', 'b', 'c']; empty()=False"]) is False
    assert analysis.said(analysis.FULL_LINE, ["after 3 puts: qsize()=(not implemented on this "
                                              "platform), full()=True"]) is True
    assert analysis.said(analysis.FULL_LINE, ["3 gets returned []; empty()=True"]) is None
    assert set(committed.answers) == set(committed.demos.recorded)
    waits = analysis.poll_waits([
        "poll(0.3) before asking: False after 300 ms",  # not a poll for an answer
        "sent (10, 20); poll(30) -> True after 0.6 ms; recv() -> 30",
        "sent (1, 2); poll(30) -> False after 30001 ms; recv() -> 3"])
    assert waits == (analysis.PollWait(timeout_s=30.0, ready=True, waited_s=0.0006),
                     analysis.PollWait(timeout_s=30.0, ready=False, waited_s=30.001))
    for method, polls in committed.polls.items():
        assert len(polls) == 2 and all(poll.ready for poll in polls), method


def test_queue_full_empty_claim_every_verdict(committed):
    answers, queue, method = committed.answers, committed.queue, committed.setup.start_method
    judged = analysis.queue_full_empty_claim(answers, queue, method)
    assert judged.verdict is Verdict.PARTLY
    assert f"empty() also said True in {queue.said_empty} of 200 tries" in judged.reason
    never = dataclasses.replace(queue, said_empty=0)
    judged = analysis.queue_full_empty_claim(answers, never, method)
    assert judged.verdict is Verdict.HOLDS and "never said True" in judged.reason
    last = list(answers)[-1]
    wrong = {**answers, last: analysis.QueueAnswers(full_after_puts=False,
                                                     empty_after_gets=True)}
    judged = analysis.queue_full_empty_claim(wrong, never, method)
    assert judged.verdict is Verdict.FAILS and judged.reason.startswith(f"Under {last},")
    silent = {**wrong, last: analysis.QueueAnswers(full_after_puts=True,
                                                    empty_after_gets=None)}
    judged = analysis.queue_full_empty_claim(silent, never, method)
    assert judged.verdict is Verdict.UNMEASURED and f"under {last}." in judged.reason


def test_poll_claim_every_verdict(committed):
    setup, pipes, polls = committed.setup, committed.pipes, committed.polls
    judged = analysis.poll_claim(setup, pipes, polls)
    assert judged.verdict is Verdict.FAILS
    assert "poll(30) returned True as soon as the answer arrived" in judged.reason
    assert "poll(0.3) waited 300 ms and returned False" in judged.reason

    def everywhere(*waited):
        return {method: tuple(analysis.PollWait(timeout_s=30.0, ready=True, waited_s=seconds)
                              for seconds in waited) for method in polls}

    judged = analysis.poll_claim(setup, pipes, everywhere(30.0, 29.5))
    assert judged.verdict is Verdict.HOLDS and "its whole timeout" in judged.reason
    judged = analysis.poll_claim(setup, pipes, everywhere(5.0, 12.0))
    assert judged.verdict is Verdict.PARTLY and "neither at once" in judged.reason
    judged = analysis.poll_claim(setup, pipes, dict.fromkeys(polls, ()))
    assert judged.verdict is Verdict.UNMEASURED


def test_unmeasured_pipe_claims():
    for judged in (analysis.pipe_before_process_claim(), analysis.pipe_shared_ends_claim()):
        assert judged.verdict is Verdict.UNMEASURED
    assert "Python 3.3" in analysis.pipe_before_process_claim().reason
    assert "corrupted" in analysis.pipe_shared_ends_claim().reason


def test_claims_of_the_committed_result(committed):
    assert set(analysis.claims(committed)) == {
        "a001_consumer_sentinels", "a001_pipe", "a001_queue_full_empty",
        "a001_pipe_before_process", "a003_pipes_faster", "a003_poll",
        "a003_pipe_shared_ends"}
