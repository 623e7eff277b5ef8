"""The IO-bound chapter: its quick run (every kind of client at every concurrency, every
answer echoing its request, the server gone and its port closed, the heartbeat late while
the loop computed, memory moving the way the page says, with wide margins), its building
blocks on real servers and processes, and each data-dependent sentence, decision cell and
claim verdict on the committed result ``tests/results/io-bound.json``."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from parbook.bench.results import load
from parbook.chapters.io_bound import analysis
from parbook.chapters.io_bound import experiment as iob
from parbook.chapters.io_bound import workload as work
from parbook.claims import Verdict
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "io-bound.json"
KIB = 2**10

pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def iob_quick(quick_results):
    return quick_results["io-bound"]


@pytest.fixture(scope="module")
def quick_found(iob_quick):
    return analysis.findings(iob_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each sentence test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run ------------------------------------------------------------------------

def test_every_kind_at_every_concurrency(iob_quick):
    levels = iob_quick.parameters["levels"]
    assert levels == sorted(levels) and levels[0] == iob.QUICK.levels[0]
    assert levels[-1] == iob_quick.parameters["top"]
    expected = {(kind, level) for kind in iob.KINDS for level in levels}
    for group in ("startup", "batch", "client_cpu", "server_cpu"):
        cases = iob_quick.group(group)
        assert {(c.params["kind"], c.params["concurrency"]) for c in cases} == expected, group
        assert all(len(c.samples) == iob_quick.parameters["repeats"] for c in cases), group
    for case in iob_quick.group("batch"):
        assert case.params["requests"] == case.params["concurrency"] * iob.QUICK.rounds


def test_every_answer_echoed_its_request(iob_quick, quick_found):
    answers = iob_quick.values["answers"]
    assert len(answers) == len(iob.KINDS) * len(iob_quick.parameters["levels"])
    for answer in answers:
        assert answer["correct"] == answer["requests"], answer
    workers = iob_quick.parameters["process_workers"]
    for level, used in quick_found.throughput.processes_used.items():
        assert used == workers, level  # every worker took its share of every batch
    assert quick_found.throughput.all_correct


def test_throughput_is_finite_and_positive(quick_found):
    through = quick_found.throughput
    for key, rate in through.rate.items():
        assert math.isfinite(rate) and rate > 0, key
        assert through.startup[key] > 0 and through.cpu_per_request[key] >= 0, key


def test_the_top_concurrency_stays_within_the_machines_limits(iob_quick):
    parameters, caps = iob_quick.parameters, iob_quick.values["caps"]
    assert parameters["top"] <= parameters["wanted_top"]
    assert all(parameters["top"] <= cap for cap in caps.values())
    assert parameters["top"] == min([parameters["wanted_top"], *caps.values()])


def test_the_server_answered_everything_and_is_gone(iob_quick, quick_found):
    server = quick_found.server
    assert server.requests == server.answered > 0
    assert iob_quick.parameters["levels"][0] <= server.most_open <= iob_quick.parameters["top"]
    assert server.gone
    # Checked again now, independently of what the run recorded.
    record = iob_quick.values["server"]
    assert not _alive(record["pid"])
    assert not iob.listening_on(record["port"], {record["pid"]})


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_loop_was_blocked_without_a_fix(quick_found):
    loop = quick_found.loop
    for kind in iob.WORKS:
        key = (kind, "inline")
        # Structural: the loop runs nothing while the work runs in the coroutine, so the one
        # tick pending when it started comes after it, about the whole work late.
        assert loop.ticks[key] == 1, kind
        assert loop.late_max[key] >= 0.5 * loop.elapsed[key], kind
        assert loop.late_max[key] >= 3 * loop.period_s, kind
    # With the blocking calls on threads, the loop is free: it ticks more than once.
    assert loop.ticks[("blocking", "thread")] >= 2
    assert all(loop.correct.values()), loop.correct


def test_memory_per_waiting_request(iob_quick, quick_found):
    memory = quick_found.memory
    # A thread adds its stack pages and bookkeeping to the same Python objects.
    assert memory.uss("threads") > memory.uss("asyncio") > 0
    # Each thread reserves address space for a whole stack, far more than it touches.
    assert memory.per_request[("threads", "vms")] >= 256 * KIB
    assert memory.per_request[("threads", "vms")] > 4 * memory.uss("threads")
    for kind in ("threads", "asyncio"):
        reading = iob_quick.values["memory"][kind]
        assert reading["count"] == memory.count
        # Every request was waiting at once, and none was answered while measured.
        assert reading["server"]["most_open"] == memory.count
        assert reading["server"]["answered"] == 0
        assert memory.per_request[(kind, "traced")] > 0
    assert memory.worker_uss > 0


# --- building blocks, on real servers and processes -------------------------------------

@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_three_clients_against_a_real_server(method):
    context = multiprocessing.get_context(method)
    clients, rounds = 6, 2
    with work.delay_server(0.02, context) as server:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            assert work.on_threads(pool, server.address, clients, rounds) == clients * rounds
        assert (asyncio.run(work.on_coroutines(server.address, clients, rounds))
                == clients * rounds)
        with work.start_processes(2, context) as pool:
            assert work.on_processes(pool, 2, server.address, clients, rounds) == (
                2, clients * rounds)
    assert server.stats["requests"] == server.stats["answered"] == 3 * clients * rounds
    assert not _alive(server.pid)
    assert not iob.listening_on(server.address[1], {server.pid, os.getpid()})


def test_thread_and_loop_start_up():
    before = threading.active_count()
    pool = work.start_threads(20)
    try:
        assert threading.active_count() - before == 20  # all started, none extra
    finally:
        pool.shutdown(wait=True)
    assert threading.active_count() == before
    loop = work.start_loop(50)
    try:
        assert not asyncio.all_tasks(loop)  # the tasks ran to their end
    finally:
        loop.close()


def test_heartbeat_comes_late_while_the_coroutine_computes():
    def spin(seconds: float) -> float:
        ends = time.perf_counter() + seconds
        while time.perf_counter() < ends:
            pass
        return seconds

    beats = work.heartbeat_during("inline", spin, [0.05], period_s=0.005)
    assert beats.results == [0.05] and len(beats.lateness) == 1
    assert beats.lateness[0] >= 0.025


@pytest.mark.parametrize(("clients", "workers", "expected"), [
    (10, 2, [(0, 5), (5, 5)]),
    (7, 3, [(0, 3), (3, 2), (5, 2)]),
    (2, 4, [(0, 1), (1, 1), (2, 0), (2, 0)]),
])
def test_shares(clients, workers, expected):
    assert work.shares(clients, workers) == expected


def test_caps_and_levels():
    limits = {"open_files": 1024, "open_files_hard": 4096, "threads_allowed": None,
              "threads_running": 0, "listen_backlog": 4096, "ephemeral_ports": 28232,
              "memory_available": 16 * 2**30, "stack_limit": 8 * 2**20}
    caps = iob.concurrency_caps(limits)
    assert caps["open files"] == 1024 - iob.FD_RESERVE and "threads" not in caps
    assert iob.top_concurrency(3000, caps) == (1024 - iob.FD_RESERVE, "open files")
    assert iob.top_concurrency(300, caps) == (300, "the size asked for")
    assert iob.concurrency_levels((10, 30, 100, 300, 1000, 3000), 960) == [
        10, 30, 100, 300, 960]
    with pytest.raises(RuntimeError):
        iob.top_concurrency(3000, {"open files": 5})


def test_read_limits_of_this_machine():
    limits = iob.read_limits()
    assert limits["memory_available"] > 0 and limits["threads_running"] > 0
    caps = iob.concurrency_caps(limits)
    assert caps and all(isinstance(cap, int) for cap in caps.values())


# --- the sentences, each alternative, on the committed result -----------------------------

def _through(found, rates, kept=True, cpu=None, busy=0.2):
    """The committed throughput with the given rates at the top (kind -> requests/s) and
    every lower level at the ideal, or far below it (``kept=False``)."""
    through = found.throughput
    top = through.top
    rate = {}
    for kind in iob.KINDS:
        for level in through.levels:
            ideal = through.ideal(level)
            rate[(kind, level)] = (rates[kind] if level == top
                                   else (0.9 if kept else 0.3) * ideal)
    cpu = cpu or {"threads": 300e-6, "asyncio": 80e-6, "processes": 80e-6}
    return dataclasses.replace(
        through, rate=rate,
        cpu_per_request={(kind, level): cpu[kind] for kind in iob.KINDS
                         for level in through.levels},
        server_busy={(kind, level): busy for kind in iob.KINDS for level in through.levels})


def test_kept_up_level_and_waiting_sentence(found):
    through = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000})
    assert analysis.kept_up_level(through) == through.levels[-2]
    assert "Beyond that" in analysis.waiting_sentence(through)
    low = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000}, kept=False)
    assert analysis.kept_up_level(low) is None
    assert analysis.waiting_sentence(low).startswith("Even at 10 requests at once")
    ideal = through.ideal(through.top)
    everywhere = _through(found, {kind: ideal for kind in iob.KINDS})
    assert analysis.kept_up_level(everywhere) == through.top
    assert "the waiting set the pace throughout" in analysis.waiting_sentence(everywhere)


def test_short_answer_and_top_sentence(found):
    top = found.throughput.top
    lead = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7500})
    led = dataclasses.replace(found, throughput=lead)
    assert analysis.short_answer(led).startswith(
        "On this build, every kind of client kept up with the waiting up to 100 requests")
    assert "a process pool served 1.2× the requests per second of asyncio" in (
        analysis.short_answer(led))
    assert analysis.top_sentence(lead) == (
        f"At {top:,}, a process pool led with 7,500 requests/s, 1.2× the 6,000 requests/s "
        "of asyncio; threads reached 3,000 requests/s.")
    tie = _through(found, {"threads": 6100, "asyncio": 6000, "processes": 2000}, kept=False)
    tied = dataclasses.replace(found, throughput=tie)
    assert analysis.short_answer(tied).startswith(
        f"On this build, at {top:,} requests at once, threads and asyncio served about as "
        "many")
    assert "a tie on a machine shared with other work" in analysis.top_sentence(tie)


@pytest.mark.parametrize(("threads", "loop", "says"), [
    (320e-6, 80e-6, "4.0× as much, spent handing the GIL"),
    (80e-6, 320e-6, "here the threads were the cheaper, the loop costing 4.0× as much"),
    (80e-6, 82e-6, ": about the same."),
])
def test_cpu_sentence(found, threads, loop, says):
    through = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000},
                       cpu={"threads": threads, "asyncio": loop, "processes": loop})
    assert says in analysis.cpu_sentence(through)


@pytest.mark.parametrize(("busy", "says"), [
    (0.9, "it, and not only the client, set the ceiling"),
    (0.3, "the clients' own costs, not the server, set the ceiling"),
])
def test_server_sentence(found, busy, says):
    through = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000},
                       busy=busy)
    assert says in analysis.server_sentence(through)


def _memory(found, thread_uss, coroutine_uss, stack_limit=8 * 2**20):
    per_request = dict(found.memory.per_request)
    per_request[("threads", "uss")] = thread_uss
    per_request[("asyncio", "uss")] = coroutine_uss
    return dataclasses.replace(found.memory, per_request=per_request,
                               stack_limit=stack_limit)


@pytest.mark.parametrize(("thread", "coroutine", "says"), [
    (24 * KIB, 8 * KIB, "3.0× as much for the thread."),
    (8 * KIB, 24 * KIB, "here the coroutine cost more."),
    (8 * KIB, 9 * KIB, "about the same."),
])
def test_memory_sentence(found, thread, coroutine, says):
    assert analysis.memory_sentence(_memory(found, thread, coroutine)).endswith(says)


def test_traced_sentence(found):
    per_request = dict(found.memory.per_request)
    per_request[("threads", "traced")], per_request[("asyncio", "traced")] = 5 * KIB, 5 * KIB
    same = dataclasses.replace(found.memory, per_request=per_request)
    assert analysis.traced_sentence(same).startswith(
        "The Python objects allocated for them were much the same either way, 5.00 KiB per "
        "thread and 5.00 KiB per coroutine")
    per_request[("threads", "traced")] = 12 * KIB
    differ = dataclasses.replace(found.memory, per_request=per_request)
    assert "so part of the difference lies in Python's own objects" in (
        analysis.traced_sentence(differ))


def test_address_space_sentence(found):
    assert "its stack, 8.00 MiB here" in analysis.address_space_sentence(
        _memory(found, 24 * KIB, 8 * KIB))
    assert "mostly its stack" in analysis.address_space_sentence(
        _memory(found, 24 * KIB, 8 * KIB, stack_limit=None))


def test_thread_costs_and_better_sentences(found):
    rates = {"threads": 3000, "asyncio": 6000, "processes": 7000}
    costly = dataclasses.replace(found, throughput=_through(found, rates),
                                 memory=_memory(found, 24 * KIB, 8 * KIB))
    assert analysis.thread_costs_sentence(costly).endswith(
        "on every count the threads cost more.")
    cheap = dataclasses.replace(
        found, memory=_memory(found, 8 * KIB, 8 * KIB),
        throughput=_through(found, rates, cpu={"threads": 80e-6, "asyncio": 80e-6,
                                               "processes": 80e-6}))
    assert analysis.thread_costs_sentence(cheap).endswith(
        "the threads did not cost more in memory and CPU time, so measure before rewriting "
        "a threaded client.")
    assert analysis.better_sentence(_through(found, rates)).startswith(
        "An event loop, or one per process")
    assert analysis.better_sentence(_through(
        found, {"threads": 6000, "asyncio": 6000, "processes": 7000})).startswith(
        "An event loop per process, which here beat one loop too")
    assert analysis.better_sentence(_through(
        found, {"threads": 3000, "asyncio": 6000, "processes": 3000})).startswith(
        "An event loop, which here did better alone")
    assert analysis.better_sentence(_through(
        found, {"threads": 6000, "asyncio": 6000, "processes": 6000})).startswith(
        "On this build the threads kept up with the event loops even there")


def _loop(found, **overrides):
    """The committed blocked-loop findings with (work, fix) entries replaced:
    ``late_python_thread=0.05`` sets late_max[("python", "thread")], ``median_...`` the
    median tick, ``took_...`` the jobs' time, ``ticks_...`` the ticks."""
    loop = found.loop
    fields = {name: dict(getattr(loop, name))
              for name in ("late_max", "late_median", "elapsed", "ticks", "correct")}
    for key, value in overrides.items():
        name, work_name, fix = key.rsplit("_", 2)
        field = {"late": "late_max", "median": "late_median", "took": "elapsed",
                 "ticks": "ticks"}[name]
        fields[field][(work_name, fix)] = value
    return dataclasses.replace(loop, period_s=0.01, switch_interval_s=0.005, **fields)


def test_inline_sentences(found):
    blocked = _loop(found, late_python_inline=0.3, took_python_inline=0.3,
                    ticks_python_inline=1)
    assert analysis.inline_sentence(blocked).endswith(
        "ticked once in that time, 300 ms late: the loop ran nothing else until the work "
        "was done.")
    loose = _loop(found, late_python_inline=0.02, took_python_inline=0.3,
                  ticks_python_inline=12)
    assert "ticked 12 times, at most 20.0 ms late" in analysis.inline_sentence(loose)
    both = _loop(found, late_blocking_inline=0.2, took_blocking_inline=0.2,
                 late_hashing_inline=0.25, took_hashing_inline=0.25)
    assert analysis.inline_others_sentence(both).endswith("still holds its loop.")
    neither = _loop(found, late_blocking_inline=0.01, took_blocking_inline=0.2,
                    late_hashing_inline=0.25, took_hashing_inline=0.25)
    assert "which this run cannot explain" in analysis.inline_others_sentence(neither)


@pytest.mark.parametrize(("thread", "process", "says"), [
    (0.3, 0.16, "The threads took turns at the GIL; the processes ran the jobs at the same"),
    (0.16, 0.16, "Both ran the jobs at the same time"),
    (0.16, 0.3, "The threads ran the jobs at the same time and the processes did not"),
    (0.3, 0.3, "Neither ran the jobs at the same time here"),
])
def test_python_fixes_sentence(found, thread, process, says):
    loop = _loop(found, took_python_inline=0.3, took_python_thread=thread,
                 took_python_process=process)
    sentence = analysis.python_fixes_sentence(loop)
    assert says in sentence and "5.00 ms here" in sentence


def test_waiting_jobs_sentences(found):
    good = _loop(found, took_blocking_inline=0.2, took_blocking_thread=0.1,
                 median_blocking_thread=0.001, took_hashing_inline=0.2,
                 took_hashing_thread=0.1, median_hashing_thread=0.005)
    assert analysis.waiting_jobs_verdict(good).startswith("Both let go of the GIL")
    assert analysis.waiting_jobs_sentence(good).startswith(
        "On threads, a blocking client call took 100 ms against 200 ms in the coroutine, "
        "the median tick 1.00 ms late")
    half = _loop(found, took_blocking_inline=0.2, took_blocking_thread=0.1,
                 median_blocking_thread=0.001, took_hashing_inline=0.2,
                 took_hashing_thread=0.3, median_hashing_thread=0.05)
    assert analysis.waiting_jobs_verdict(half).startswith(
        "On threads the blocking calls ran together and the loop kept ticking, but the "
        "hashing did not run together and let the median tick come 50.0 ms late in this "
        "run")
    bad = _loop(found, took_blocking_inline=0.2, took_blocking_thread=0.2,
                median_blocking_thread=0.001, took_hashing_inline=0.2,
                took_hashing_thread=0.3, median_hashing_thread=0.001)
    assert analysis.waiting_jobs_verdict(bad).startswith(
        "On threads the blocking calls did not run together and the hashing did not run "
        "together in this run")


def test_answers_sentence(found):
    assert analysis.answers_sentence(found).startswith("Every answer echoed its request's id")
    correct = dict(found.throughput.correct)
    correct[("threads", found.throughput.top)] = False
    broken = dataclasses.replace(found, throughput=dataclasses.replace(found.throughput,
                                                                        correct=correct))
    assert analysis.answers_sentence(broken).startswith(
        f"Not every answer echoed its request's id (threads at {found.throughput.top:,})")


# --- the decision-table cells ---------------------------------------------------------------

def test_decision_io_bound(found):
    top = found.throughput.top
    lead = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7500})
    assert analysis.decision_io_bound(lead) == (
        f"processes with an event loop each: 1.2× the throughput of asyncio at {top:,} "
        "requests at once")
    assert analysis.decision_io_bound_why(lead).startswith(
        "Up to 100 requests at once every kind kept up with the waiting")
    tie = _through(found, {"threads": 3000, "asyncio": 6000, "processes": 6300}, kept=False)
    assert analysis.decision_io_bound(tie) == (
        f"processes with an event loop each or asyncio: a tie (within 10%) at {top:,} "
        "requests at once")
    assert analysis.decision_io_bound_why(tie).startswith("No kind kept up with the waiting")


@pytest.mark.parametrize(("thread", "process", "took_thread", "cell"), [
    (0.008, 0.0005, 0.3, "a process pool: median heartbeat tick 500 µs late, against 300 ms"),
    (0.002, 0.0005, 0.1, "asyncio.to_thread: median heartbeat tick 2.00 ms late"),
    (0.05, 0.04, 0.3, "none kept the loop responsive; a process pool came closest: median "
                      "heartbeat tick 40.0 ms late"),
])
def test_decision_cpu_in_async(found, thread, process, took_thread, cell):
    loop = _loop(found, late_python_inline=0.3, median_python_inline=0.3,
                 took_python_inline=0.3, median_python_thread=thread,
                 median_python_process=process, took_python_thread=took_thread,
                 took_python_process=0.16)
    assert analysis.decision_cpu_in_async(loop).startswith(cell)
    why = analysis.decision_cpu_in_async_why(loop)
    assert why.startswith("Pure-Python work called in a coroutine stopped the event loop")
    assert why.endswith(".")


def test_kept_up_rule_sentence(found):
    assert "threads included, kept up with the waiting" in analysis.kept_up_rule_sentence(
        _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000}))
    assert "not every kind of client kept up" in analysis.kept_up_rule_sentence(
        _through(found, {"threads": 3000, "asyncio": 6000, "processes": 7000}, kept=False))


def test_summary_rows_and_texts(found):
    rows = dict(analysis.summary_rows(found))
    assert len(rows) == 4 and all(rows.values())
    texts = analysis.texts(found)
    for key in ("decision_io_bound", "decision_io_bound_why", "decision_cpu_in_async",
                "decision_cpu_in_async_why"):
        assert texts[key], key
    for key, value in texts.items():
        if key.endswith(("_sentence", "_answer", "_why", "_verdict", "_rule")):
            assert value[0].isupper() and value.endswith("."), key


# --- the claim this chapter judges --------------------------------------------------------

@pytest.mark.parametrize(("threads", "kept", "verdict", "says"), [
    (6500, True, Verdict.HOLDS, "at every concurrency from 10 to"),
    (3000, True, Verdict.PARTLY, "up to 100 requests at once, but at"),
    (3000, False, Verdict.FAILS, "already at 10 requests at once"),
])
def test_gil_io_claim(found, threads, kept, verdict, says):
    through = _through(found, {"threads": threads, "asyncio": 6000, "processes": 7000},
                       kept=kept)
    if not kept:  # threads far below the processes at every level
        rate = {key: (value * 0.5 if key[0] == "threads" else value)
                for key, value in through.rate.items()}
        through = dataclasses.replace(through, rate=rate)
    judged = analysis.gil_io_claim(through)
    assert judged.verdict is verdict and says in judged.reason


def test_claims_of_the_committed_result(found):
    assert analysis.claims(found) == {
        "a001_gil_io_small": analysis.gil_io_claim(found.throughput)}
