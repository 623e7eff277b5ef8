"""The memory chapter: its quick run (every case, memory moving the way the page says, with
wide margins), its building blocks, and each of its data-dependent sentences and claim
verdicts on the committed result ``tests/results/memory.json``."""

import dataclasses
import multiprocessing
import os
import sys

import pytest

from parbook.bench.results import load
from parbook.chapters.memory import analysis
from parbook.chapters.memory import experiment as mem
from parbook.chapters.memory import workload as work
from parbook.claims import Verdict
from parbook.render.formatting import format_bytes
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "memory.json"
MIB = 2**20

pytestmark = pytest.mark.usefixtures("nothing_left_behind")


@pytest.fixture(scope="module")
def memory_quick(quick_results):
    return quick_results["memory"]


@pytest.fixture(scope="module")
def quick_found(memory_quick):
    return analysis.findings(memory_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run: every case, and the directions the page states ---------------------

def test_every_case_is_present(memory_quick):
    cow = {(c.params["freeze"], c.params["reads"], c.params["measure"])
           for c in memory_quick.group("cow")}
    assert cow == {(freeze, reads, measure) for freeze in (False, True)
                   for reads in mem.READS for measure in mem.MEASURES}
    workers = memory_quick.parameters["workers"]
    methods = memory_quick.parameters["methods"]
    programs = {(main, method) for main in mem.SCRIPTS for method in methods
                if not (main == "light" and method in mem.HEAVY_ONLY)}
    totals = {(c.params["main"], c.params["method"], c.params["workers"])
              for c in memory_quick.group("total")}
    assert totals == {(main, method, count) for main, method in programs
                      for count in range(workers + 1)}
    processes = {(main, method) for main, method in programs if method != "threads"}
    assert {(c.params["main"], c.params["method"]) for c in memory_quick.group("helpers")} \
        == processes
    for case in memory_quick.group("worker"):
        assert len(case.samples) == workers * memory_quick.parameters["repeats"]["sweep"]
    assert {c.params["way"] for c in memory_quick.group("handoff_uss")} == set(mem.HANDOFF_WAYS)
    leak = {(c.params["way"], c.params["task"]) for c in memory_quick.group("leak")}
    tasks = memory_quick.parameters["leak_tasks"]
    assert leak == {(way, task) for way in mem.LEAK_WAYS for task in range(1, tasks + 1)}
    assert all(c.unit == "bytes" for c in memory_quick.cases
               if c.group not in ("leak_time", "leak_workers"))


def test_forked_readers_copy_objects_and_share_the_array(quick_found):
    fork = quick_found.fork
    # Reading every object writes every reference count: most of the structure is copied.
    assert fork.copied("objects") >= 0.3 * fork.structure_bytes
    # Reading the array writes nothing: far less than the array is copied.
    assert fork.copied("array") < 0.1 * fork.array_bytes
    # A full collection copies the objects' pages; gc.freeze() takes them out of its reach.
    assert fork.copied("collect") >= 0.3 * fork.structure_bytes
    assert fork.copied("collect", frozen=True) < 0.5 * fork.copied("collect")
    # Freezing does nothing for reference counts.
    assert fork.copied("objects", frozen=True) >= 0.3 * fork.structure_bytes


def test_workers_cost_what_their_start_method_makes_them(quick_found):
    sweep = quick_found.sweep
    # A spawn worker imports the heavy main module again (pandas alone is tens of MiB).
    assert sweep.uss[("heavy", "spawn")] > sweep.uss[("light", "spawn")] + 5 * MIB
    # A fork worker shares what its parent imported.
    assert sweep.uss[("heavy", "fork")] < 0.5 * sweep.uss[("heavy", "spawn")]
    # Threads live in the parent: the program barely grows.
    threads = sweep.at("heavy", "threads") - sweep.at("heavy", "threads", 0)
    assert threads < sweep.uss[("heavy", "spawn")]
    assert sweep.at("heavy", "spawn") > sweep.at("heavy", "fork")
    assert sweep.main_imported[("heavy", "spawn")] is True
    assert sweep.main_imported[("heavy", "fork")] is False
    for key, uss in sweep.uss.items():
        assert 0 < uss <= sweep.pss[key] <= sweep.rss[key], key


def test_passed_data_is_copied_and_inherited_or_shared_data_is_not(quick_found):
    handoff = quick_found.handoff
    size = handoff.array_bytes
    assert handoff.worker_growth["passed"] >= 0.5 * size
    assert handoff.total_growth["passed"] >= 0.5 * handoff.receivers * size
    for way in ("inherited", "shared"):
        assert handoff.worker_growth[way] < 0.25 * size, way
        assert handoff.total_growth[way] < 0.5 * size, way


def test_a_limit_on_tasks_per_worker_bounds_the_leak(quick_found):
    leak = quick_found.leak
    assert leak.workers["pool"] == 1
    assert leak.workers["pool_limited"] >= 2 and leak.workers["executor_limited"] >= 2
    assert leak.growth("pool") >= 0.5 * (leak.tasks - 1) * leak.leak_bytes
    assert leak.peak("pool_limited") < leak.peak("pool")
    assert leak.growth("pool_limited") < 0.5 * leak.growth("pool")
    assert leak.growth("executor_limited") < 0.5 * leak.growth("pool")


def test_the_stall_check_ended_within_its_patience(memory_quick, quick_found):
    stall = quick_found.stall
    assert stall.python == sys.version.split()[0]
    assert 0 < stall.completed <= stall.tasks
    elapsed = memory_quick.values["stall"]["elapsed_s"]
    assert elapsed < stall.tasks * stall.patience_s + mem.PROBE_LIMIT_S


def test_the_run_stayed_within_its_memory_bound(quick_found):
    machine = quick_found.machine
    assert 0 < machine.budget <= mem.BUDGET_CAP
    assert machine.largest_total <= machine.budget


# --- building blocks ----------------------------------------------------------------

def test_memory_readings_of_this_process():
    mine = work.memory_of(os.getpid())
    assert 0 < mine["uss"] <= mine["pss"] <= mine["rss"]
    assert work.program_memory() >= mine["pss"] * 0.9


def test_records_and_array():
    records = work.make_records(1000)
    assert len(records) == 1000 and records[-1].value == 999.0
    array = work.make_array(MIB)
    assert array.nbytes == MIB and float(array.sum()) == MIB / 8


def test_a_reporting_worker_is_released_and_joined():
    context = multiprocessing.get_context("spawn")
    started = [work.start_reporting(context, work.idle_worker, (False,)) for _ in range(2)]
    pids = {report[0] for _process, _conn, report in started}
    assert len(pids) == 2 and os.getpid() not in pids
    work.release([(process, conn) for process, conn, _report in started])
    assert all(process.exitcode == 0 for process, _conn, _report in started)


def test_forked_readers_in_a_child():
    readers = work.forked_readers_in_a_child(records=50_000, array_mib=8)
    assert set(readers) == set(work.READS)
    assert readers["objects"]["uss"] > readers["array"]["uss"] + MIB


def test_leaking_pool_with_and_without_a_limit():
    context = multiprocessing.get_context(mem.executor_method("fork", ["spawn"]))
    unlimited = work.leak_on_pool(context, 4, 256 * 2**10, None)
    limited = work.leak_on_pool(context, 4, 256 * 2**10, 2)
    assert len({pid for pid, _uss in unlimited}) == 1
    assert len({pid for pid, _uss in limited}) == 2


def test_sizes_fit_the_budget():
    roomy = mem.fit(mem.FULL, cpus=2, budget=mem.BUDGET_CAP)
    assert (roomy.records, roomy.array_bytes) == (mem.FULL.records, mem.FULL.array_bytes)
    assert roomy.workers == 8 and roomy.receivers == 2
    tight = mem.fit(mem.FULL, cpus=64, budget=350 * MIB)
    assert tight.records < mem.FULL.records and tight.workers < mem.FULL.max_workers
    assert tight.handoff_bytes * (tight.receivers + 2) <= 350 * MIB
    with pytest.raises(RuntimeError, match="too small"):
        mem.fit(mem.FULL, cpus=2, budget=100 * MIB)
    assert mem.memory_budget(100 * 2**30) == mem.BUDGET_CAP
    assert mem.memory_budget(4 * 2**30) == int(0.4 * 2**30)


def test_executor_method_is_never_fork():
    assert mem.executor_method("fork", ["fork", "spawn", "forkserver"]) == "forkserver"
    assert mem.executor_method("fork", ["fork", "spawn"]) == "spawn"
    assert mem.executor_method("spawn", ["spawn"]) == "spawn"


@pytest.mark.parametrize(("n_bytes", "expected"), [
    (512, "512 B"), (2048, "2.00 KiB"), (43.75 * MIB, "43.8 MiB"), (128 * MIB, "128 MiB"),
    (23 * 2**30, "23.0 GiB"), (1003 * 2**10, "0.979 MiB"), (float("nan"), "n/a"),
])
def test_format_bytes(n_bytes, expected):
    assert format_bytes(n_bytes) == expected


# --- each data-dependent sentence, every alternative -------------------------------------

def _fork(found, **changes):
    return dataclasses.replace(found.fork, **changes)


def test_short_answer(found):
    plain = analysis.short_answer(found.fork, found.sweep)
    assert plain.startswith("Here a forked worker that only read 200,000 inherited Python "
                            "objects copied") and "numpy and pandas cost 43.8 MiB" in plain
    odd = _fork(found, uss={**found.fork.uss, "objects": found.fork.uss["nothing"]})
    assert analysis.short_answer(odd, found.sweep).endswith(
        "the section on fork says how that compares with what the kernel promises.")


def test_objects_and_array_sentences(found):
    assert analysis.objects_sentence(found.fork).endswith(
        "although it wrote nothing to any of them.")
    little = _fork(found, uss={**found.fork.uss, "objects": found.fork.uss["nothing"] + MIB})
    assert "copied only 1.00 MiB" in analysis.objects_sentence(little)
    assert analysis.array_sentence(found.fork).endswith("its buffer stayed shared with the "
                                                        "parent.")
    copied = _fork(found, uss={**found.fork.uss, "array": found.fork.uss["nothing"] + 8 * MIB})
    assert "8.00 MiB, 25% of it" in analysis.array_sentence(copied)


@pytest.mark.parametrize(("collect_frozen", "objects_frozen", "end"), [
    (0.1, 80, "So freezing saved the collector's copies and none of the reference counts'."),
    (0.1, 10, "So freezing saved the collector's copies, and here some of the reader's too."),
    (45, 80, "Here freezing did not save the collector's copies either; the spread table "
             "shows whether the runs agree."),
])
def test_freeze_sentence(found, collect_frozen, objects_frozen, end):
    base = 2 * MIB
    fork = _fork(found,
                 uss={"nothing": base, "objects": base + 80 * MIB, "array": base,
                      "collect": base + 50 * MIB},
                 uss_frozen={"nothing": base, "objects": base + objects_frozen * MIB,
                             "array": base, "collect": base + collect_frozen * MIB})
    sentence = analysis.freeze_sentence(fork)
    assert sentence.startswith("A reader that ran gc.collect() copied 50.0 MiB without "
                               "gc.freeze()") and sentence.endswith(end)


def _sweep(found, key, uss):
    return dataclasses.replace(found.sweep, uss={**found.sweep.uss, key: uss})


def test_imports_sentence(found):
    assert analysis.imports_sentence(found.sweep).endswith(
        "all of it the main module's imports, done again in every worker.")
    close = _sweep(found, ("heavy", "spawn"), found.sweep.uss[("light", "spawn")] * 1.1)
    assert "made little difference here, 1.1× as much." in analysis.imports_sentence(close)


@pytest.mark.parametrize(("imported", "start"), [
    (True, "On this Python every forkserver worker imported the main module itself"),
    (False, "On this Python the fork server imported the main module once"),
])
def test_forkserver_sentence(found, imported, start):
    sweep = dataclasses.replace(found.sweep, main_imported={
        **found.sweep.main_imported, ("heavy", "forkserver"): imported})
    assert analysis.forkserver_sentence(sweep).startswith(start)


def test_preload_sentence(found):
    assert analysis.preload_sentence(found.sweep).endswith(
        ": the workers share the server's imports.")
    same = _sweep(found, ("heavy", "forkserver_preload"),
                  found.sweep.uss[("heavy", "forkserver")])
    assert analysis.preload_sentence(same).endswith(": preloading saved little here.")
    totals = {key: value for key, value in found.sweep.totals.items()
              if key[1] != "forkserver_preload"}
    absent = dataclasses.replace(found.sweep, totals=totals)
    assert analysis.preload_sentence(absent) == ("This platform offers no forkserver, so "
                                                 "preloading was not measured.")


def test_totals_and_fork_gc_sentences(found):
    totals = analysis.totals_sentence(found.sweep)
    assert totals.startswith(f"With the heavy main module and {found.sweep.workers} workers, "
                             "the whole program held")
    assert " with fork, " in totals and " with threads; " in totals
    assert analysis.fork_gc_sentence(found.sweep).endswith("that the collector wrote to.")
    little = _sweep(found, ("heavy", "fork_gc"), found.sweep.uss[("heavy", "fork")] * 1.2)
    assert analysis.fork_gc_sentence(little).endswith(
        "the collection copied little of the parent's memory here.")


@pytest.mark.parametrize(("available", "end"), [
    (100 * 2**30, "too many processes cost time here well before they cost memory."),
    (200 * MIB, "On this machine, memory can run out before the CPUs do."),
])
def test_fill_sentence(found, available, end):
    machine = dataclasses.replace(found.machine, available=available)
    sentence = analysis.fill_sentence(dataclasses.replace(found, machine=machine))
    assert sentence.startswith("The costliest kind measured, a ") and sentence.endswith(end)


def test_swap_and_bound_sentences(found):
    none = dataclasses.replace(found.machine, swap_total=0)
    assert "the kernel's out-of-memory killer" in analysis.swap_sentence(none)
    some = dataclasses.replace(found.machine, swap_total=2 * 2**30)
    assert analysis.swap_sentence(some).startswith("This machine has 2.00 GiB of swap space")
    assert analysis.bound_sentence(found.machine).endswith("nothing here came near swapping.")
    over = dataclasses.replace(found.machine, largest_total=found.machine.budget + 1)
    assert "more than its bound of" in analysis.bound_sentence(over)


def _handoff(found, passed_each, shared_each=0.4 * MIB, passed_total=None):
    size = 40 * MIB
    return dataclasses.replace(
        found.handoff, array_bytes=size, receivers=2,
        worker_growth={"passed": passed_each * MIB, "inherited": 0.2 * MIB,
                       "shared": shared_each},
        total_growth={"passed": (passed_total or 2 * passed_each) * MIB,
                      "inherited": 0.8 * MIB, "shared": 1.3 * MIB})


def test_handoff_sentences(found):
    copied = analysis.passed_sentence(_handoff(found, 42))
    assert copied == ("Passed as the task argument, the 40.0 MiB array grew each of the 2 "
                      "workers by 42.0 MiB and the program by 84.0 MiB: each worker "
                      "unpickled a copy of its own.")
    assert analysis.passed_sentence(_handoff(found, 10)).endswith("less than a copy each.")
    assert analysis.kept_shared_sentence(_handoff(found, 42)).endswith(
        "every worker read the same pages.")
    grown = _handoff(found, 42, shared_each=20 * MIB)
    assert "which the spread table may explain" in analysis.kept_shared_sentence(grown)


def _leak(found, limited_peak):
    first = 7 * MIB
    steps = tuple(first + task * MIB for task in range(10))
    return dataclasses.replace(
        found.leak, tasks=10, tasks_per_child=3, leak_bytes=MIB,
        series={"pool": steps, "pool_limited": (first, limited_peak),
                "executor_limited": (first + MIB, first + 3 * MIB)},
        elapsed={"pool": 0.05, "pool_limited": 0.2, "executor_limited": 0.6},
        workers={"pool": 1, "pool_limited": 4, "executor_limited": 4})


def test_leak_sentences(found):
    bounded = analysis.leak_sentence(_leak(found, 9 * MIB))
    assert bounded == ("Without a limit, the worker's USS grew from 7.00 MiB after the first "
                       "task to 16.0 MiB after the 10th; with maxtasksperchild=3 no worker "
                       "passed 9.00 MiB, and with the executor's max_tasks_per_child=3, "
                       "10.0 MiB.")
    unbounded = analysis.leak_sentence(_leak(found, 15 * MIB))
    assert unbounded.endswith("a worker still reached 15.0 MiB: the limit did not bound it "
                              "here.")
    cost = analysis.leak_cost_sentence(_leak(found, 9 * MIB))
    assert cost.startswith("The price is a new worker every 3 tasks: the pool ran the 10 "
                           "tasks on 4 processes in 200 ms, against one process in 50.0 ms")


@pytest.mark.parametrize(("completed", "says"), [
    (2, "ran 2 of them and then nothing for 2.00 s"),
    (6, "ran every one of them"),
])
def test_stall_sentence(found, completed, says):
    stall = dataclasses.replace(found.stall, completed=completed, tasks=6, patience_s=2.0)
    assert says in analysis.stall_sentence(stall)


def test_summary_rows_and_texts(found):
    rows = dict(analysis.summary_rows(found))
    assert len(rows) == 8 and all(rows.values())
    texts = analysis.texts(found)
    for key, value in texts.items():
        if key.endswith(("_sentence", "_answer")):
            assert value[0].isupper() and value.endswith("."), key


@pytest.mark.parametrize(("fork_total", "spawn_total", "collect", "says"), [
    (300 * MIB, 30 * MIB, 50, "Here spawn did cost less: each fork worker"),
    (30 * MIB, 300 * MIB, 50, "Spawn comes out ahead only where fork workers write"),
    (30 * MIB, 300 * MIB, 1, "and even the reader that ran gc.collect() in the fork section "
                             "copied only 1.00 MiB"),
])
def test_spawn_fork_sentence(found, fork_total, spawn_total, collect, says):
    base = found.fork.uss["nothing"]
    fork = _fork(found, uss={**found.fork.uss, "collect": base + collect * MIB})
    sweep = _with_totals(found, fork_total, spawn_total)
    sentence = analysis.spawn_fork_sentence(dataclasses.replace(found, fork=fork, sweep=sweep))
    assert says in sentence and sentence.endswith(".")


# --- the claims this chapter judges, each verdict reached ---------------------------------

@pytest.mark.parametrize(("available", "says"), [
    (100 * 2**30, "far more of them than any pool sized to the 2 CPUs"),
    (200 * MIB, "enough forks can fill this machine's memory, as the article warns"),
])
def test_memory_pressure_claim(found, available, says):
    machine = dataclasses.replace(found.machine, available=available, cpus=2)
    judged = analysis.memory_pressure_claim(dataclasses.replace(found, machine=machine))
    assert judged.verdict is Verdict.PARTLY and says in judged.reason
    assert judged.reason.endswith("the run stays within a tenth of the available memory.")


def _with_totals(found, fork_total, spawn_total):
    sweep = found.sweep
    totals = dict(sweep.totals)
    totals[("heavy", "fork")] = (50 * MIB, 50 * MIB + fork_total / 3,
                                 50 * MIB + 2 * fork_total / 3, 50 * MIB + fork_total)
    totals[("heavy", "spawn")] = (50 * MIB, 50 * MIB + spawn_total / 3,
                                  50 * MIB + 2 * spawn_total / 3, 50 * MIB + spawn_total)
    return dataclasses.replace(sweep, totals=totals)


@pytest.mark.parametrize(("fork_total", "spawn_total", "collect", "verdict", "says"), [
    (300 * MIB, 30 * MIB, 50, Verdict.HOLDS, "Spawn used less, as the article says."),
    (30 * MIB, 300 * MIB, 50, Verdict.PARTLY, "a copy that gc.freeze() avoids."),
    (30 * MIB, 300 * MIB, 1, Verdict.FAILS, "copied only 1.00 MiB"),
])
def test_spawn_memory_claim(found, fork_total, spawn_total, collect, verdict, says):
    base = found.fork.uss["nothing"]
    fork = _fork(found, uss={**found.fork.uss, "collect": base + collect * MIB})
    sweep = _with_totals(found, fork_total, spawn_total)
    judged = analysis.spawn_memory_claim(dataclasses.replace(found, fork=fork, sweep=sweep))
    assert judged.verdict is verdict and says in judged.reason
    assert judged.reason.startswith("With the main module importing numpy and pandas")


@pytest.mark.parametrize(("each", "verdict", "says"), [
    (42, Verdict.HOLDS, "every worker unpickled a copy of its own"),
    (10, Verdict.FAILS, "grew each worker by only 10.0 MiB"),
])
def test_copy_memory_size_claim(found, each, verdict, says):
    judged = analysis.copy_memory_size_claim(_handoff(found, each))
    assert judged.verdict is verdict and says in judged.reason


@pytest.mark.parametrize(("total", "verdict", "says"), [
    (84, Verdict.HOLDS, "84.0 MiB to the program, 2.1 times its size: a copy for every"),
    (40, Verdict.FAILS, "only 40.0 MiB to the program, less than a copy per receiver"),
])
def test_copy_per_receiver_claim(found, total, verdict, says):
    judged = analysis.copy_per_receiver_claim(_handoff(found, 42, passed_total=total))
    assert judged.verdict is verdict and says in judged.reason


def test_claims_of_the_committed_result(found):
    assert analysis.claims(found) == {
        "a000_memory_pressure": analysis.memory_pressure_claim(found),
        "a002_copy_memory_size": analysis.copy_memory_size_claim(found.handoff),
        "a003_spawn_memory": analysis.spawn_memory_claim(found),
        "a003_copy_per_receiver_memory": analysis.copy_per_receiver_claim(found.handoff),
    }
