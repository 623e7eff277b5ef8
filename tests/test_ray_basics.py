"""The Ray basics chapter: its quick run (through the command line, so Ray never runs in
the test process), its demonstrations' promised outcomes, the os.pipe floor, and each of
its data-dependent sentences, on the committed result ``tests/results/ray-basics.json``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from parbook.bench.results import load
from parbook.chapters.ray_basics import analysis, views
from parbook.chapters.ray_basics import experiment as experiment
from parbook.chapters.ray_basics.floors import (
    copy_into_fresh_memory,
    fault_and_cpu_counts,
    os_pipe_sink,
    split_copier,
)
from parbook.claims import Verdict
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "ray-basics.json"


@pytest.fixture(scope="module")
def ray_basics_quick(quick_results):
    return quick_results["ray-basics"]


@pytest.fixture(scope="module")
def quick_found(ray_basics_quick):
    return analysis.findings(ray_basics_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


@pytest.fixture(scope="module", params=["quick", "committed"])
def any_found(request, quick_found, found):
    """The findings of this session's quick run, then of the committed result."""
    return quick_found if request.param == "quick" else found


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
    counts = result.values["copy_counts"]
    assert set(counts) == {str(size) for size in experiment.QUICK.array_sizes}
    for counted in counts.values():
        assert set(counted) == set(experiment.COUNTED)
        for how, runs in counted.items():
            assert len(runs["faults_per_page"]) == len(runs["cpu_per_wall"]) == \
                experiment.COUNTED_RUNS_OF.get(how, experiment.COUNTED_RUNS)
            assert all(value >= 0 and math.isfinite(value)
                       for value in runs["faults_per_page"] + runs["cpu_per_wall"])


def _huge_pages_always() -> bool:
    """Whether the kernel backs fresh anonymous memory with huge pages unasked."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as setting:
            return "[always]" in setting.read()
    except OSError:
        return False


def test_copies_into_touched_and_fresh_memory_fault_as_the_page_says(any_found):
    """The page: a copy into touched memory takes no page faults, one into fresh memory
    one per page it writes (fewer where the kernel hands out huge pages unasked)."""
    sweep = any_found.sweep
    for size in sweep.counted_sizes:
        assert sweep.faults_per_page[(size, "memcpy")] < 0.05
        assert sweep.faults_per_page[(size, "memcpy_threads")] < 0.05
        if not _huge_pages_always():
            assert sweep.faults_per_page[(size, "memcpy_fresh")] >= analysis.FRESH_FAULTS_FROM


def test_the_result_says_where_ray_ran(ray_basics_quick):
    params = ray_basics_quick.parameters
    assert params["workers"] == int(params["ray_cluster_cpus"]) >= 1
    if params["ray_address"] == "local":  # not when RAY_ADDRESS names a cluster
        assert params["ray_nodes"] == 1
        assert params["ray_cluster_cpus"] == params["usable_cpus"]


def test_tasks_and_wait_demos(any_found):
    tasks = any_found.tasks
    assert tasks.ref_type == "ObjectRef"
    assert tasks.value == 16 and tasks.values == (0, 1, 4, 9, 16)
    assert tasks.chained == 81
    assert tasks.driver_pid not in tasks.task_pids
    wait = any_found.wait
    assert (wait.ready, wait.pending, wait.polled) == (1, 1, 0)
    assert wait.timeout_error == "GetTimeoutError" and wait.is_timeout_error
    assert wait.late_value == experiment.QUICK.nap_long_s


def test_actor_calls_run_in_order_and_keep_separate_state(any_found):
    actor = any_found.actor
    calls = experiment.QUICK.actor_calls
    assert actor.seen == tuple(range(calls)) and actor.ran_in_order
    assert actor.means == tuple(sum(range(k + 1)) / (k + 1) for k in range(calls))
    assert actor.other_seen == (100.0,)
    assert len(set(actor.pids)) == 2 and actor.driver_pid not in actor.pids


def test_put_arrays_come_back_as_read_only_shared_views(any_found):
    facts = any_found.zero_copy
    assert facts.writeable is False and facts.owndata is False
    assert facts.two_gets_share_memory and not facts.shares_memory_with_original
    assert facts.write_error.startswith("ValueError")
    assert facts.copy_writeable
    assert facts.task_error.startswith("RayTaskError") and facts.task_error_is_value_error
    assert facts.unchanged


def test_small_results_are_inlined_and_puts_go_to_the_store(any_found):
    objects = any_found.objects
    assert objects.place_of("task result", 8) == "owner's memory"
    assert objects.place_of("task result", 128 << 10) == "object store"
    assert objects.place_of("ray.put", 8) == "object store"
    # What the page says of the smallest and largest result, and of every put.
    assert objects.place_of("task result", min(experiment.PLACEMENT_SIZES)) == "owner's memory"
    assert objects.place_of("task result", max(experiment.PLACEMENT_SIZES)) == "object store"
    assert all(row.place == "object store" for row in objects.placed if row.how == "ray.put")
    limit = objects.limit
    assert limit.stored_array_bytes == limit.inline_array_bytes + 1
    assert limit.inline_object_bytes < limit.stored_object_bytes


def test_serialisation_facts(any_found):
    facts = any_found.serialisation
    assert facts.ray_version and facts.cloudpickle_version
    band = facts.out_of_band
    assert band.buffers == 1 and band.buffer_bytes == band.array_bytes
    assert band.buffer_is_the_array and band.restored_equal
    assert band.stream_bytes < band.array_bytes / 100 < band.in_band_bytes


def test_anti_patterns_and_fixes_compute_the_same_results(any_found):
    assert any_found.anti.results_agree == {
        pattern: True for pattern in experiment.ANTI_PATTERN_LABELS}


def test_findings_are_positive_and_finite(any_found):
    calls, sweep, anti = any_found.calls, any_found.sweep, any_found.anti
    ratios = [calls.over_pipe(how) for how in calls.seconds]
    ratios += [sweep.over(how, floor, size) for size in sweep.sizes
               for how, floor in (("put", "memcpy"), ("get", "memcpy"),
                                  ("task_value", "os_pipe"), ("task_ref", "os_pipe"))]
    ratios += [anti.gain(pattern) for pattern in experiment.ANTI_PATTERN_LABELS]
    ratios += [*calls.seconds.values(), any_found.session.init_s, sweep.warmup_rate,
               sweep.growth("get"), sweep.growth("memcpy")]
    assert all(math.isfinite(value) and value > 0 for value in ratios)


def test_size_figure_has_a_line_per_case(ray_basics_quick, quick_found):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = views.size_figure(ray_basics_quick, quick_found)
    assert len(figure.axes[0].lines) == len(experiment.MAIN_SIZE_CASES) + 1
    plt.close(figure)


def test_tables_have_a_row_per_size_and_the_summary_a_row_per_finding(ray_basics_quick,
                                                                      quick_found):
    sizes = len(experiment.QUICK.array_sizes)
    for table_id in ("ray-basics-size-table", "ray-basics-put-floor-table"):
        assert len(views.TABLES[table_id](ray_basics_quick, quick_found).frame) == sizes
    summary = views.TABLES["ray-basics-summary"](ray_basics_quick, quick_found).frame
    assert list(summary.columns) == ["what", "this build"]
    assert len(summary) == len(analysis.summary_rows(quick_found)) == 9
    assert summary["this build"].iloc[-1].endswith("× as long")
    assert summary["what"].iloc[-1].endswith("tasks, against one ray.put")


def test_sweep_calls_handle_about_the_same_bytes_per_sample():
    quick = experiment.QUICK
    assert experiment.sweep_calls(8, quick) == quick.max_sweep_calls
    assert experiment.sweep_calls(256 << 20, quick) == 1


def test_copy_floors_copy_and_count_page_faults():
    """The fresh copy faults on the pages it writes, a copy into touched memory does not,
    the split copy copies every byte, small and large; its threads end with the block."""
    import threading

    array = np.arange(4 << 20, dtype=np.uint8)
    pages = array.nbytes // 4096
    copy_into_fresh_memory(array)
    copy_into_fresh_memory(array[:8])
    threads_before = threading.active_count()
    with split_copier() as split_copy:
        for part in (array[:8], array):
            destination = np.ones_like(part)
            split_copy(destination, part)
            assert np.array_equal(destination, part)
        touched, _ = fault_and_cpu_counts(lambda: split_copy(destination, array), 3, pages)
    assert threading.active_count() == threads_before
    assert touched < 0.05
    fresh, cpu = fault_and_cpu_counts(lambda: copy_into_fresh_memory(array), 3, pages)
    assert cpu > 0
    if not _huge_pages_always():
        assert fresh >= analysis.FRESH_FAULTS_FROM


@pytest.mark.parametrize("size", [1, 100_000, 1 << 20])
def test_os_pipe_sink_takes_whole_messages(size):
    """Each message arrives whole and in order: the child answers every one with the last
    byte it read, which differs from message to message here."""
    with os_pipe_sink(size) as send:
        for shift in range(3):
            message = memoryview((np.arange(size) + shift).astype(np.uint8))
            assert send(message) == bytes(message[-1:])


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("slow", "fast", "expected"), [(2.0, 1.0, "2.0× faster"),
                                                        (1.0, 1.5, "1.5× slower")])
def test_faster_or_slower(slow, fast, expected):
    assert analysis.faster_or_slower(slow, fast) == expected


@pytest.mark.parametrize(("task", "start"), [(2.0, "The task took 2.0× as long as the actor"),
                                             (0.5, "The actor call took 2.0× as long as the")])
def test_task_actor_sentence(found, task, start):
    calls = dataclasses.replace(found.calls, seconds={**found.calls.seconds, "task": task,
                                                      "actor": 1.0})
    assert analysis.task_actor_sentence(calls).startswith(start)


def _sweep(found, cases):
    """The committed sweep with the medians of some (size, how) cases replaced."""
    return dataclasses.replace(found.sweep, seconds={**found.sweep.seconds, **cases})


def _ref_and_value(sizes, ref_faster_from):
    """Medians of task_ref and task_value at every size, the ref winning from the size at
    index ``ref_faster_from`` on (None: at no size)."""
    start = len(sizes) if ref_faster_from is None else ref_faster_from
    cases = {}
    for i, size in enumerate(sizes):
        cases[(size, "task_value")] = 1.0
        cases[(size, "task_ref")] = 0.5 if i >= start else 2.0
    return cases


@pytest.mark.parametrize(("ref_faster_from", "expected"), [
    (None, "Passing the put ref never beat passing the array by value at the sizes measured "
           "here, although by value a large array is put again for every call; the spread "
           "table shows how much the two varied between runs."),
    (0, "A task given the put ref was faster at every size measured here, even at 8 B, "
        "where the array by value travels inside the task's message."),
    (2, "Below 64 KiB, passing the array by value was the faster of the two here: a small "
        "value travels inside the task's message, while a ref makes the worker fetch the "
        "value from the store. From 64 KiB up, the put ref won."),
])
def test_ref_sentence(found, ref_faster_from, expected):
    sweep = _sweep(found, _ref_and_value(found.sweep.sizes, ref_faster_from))
    assert analysis.ref_sentence(sweep) == expected


def test_ref_sentence_needs_the_ref_to_win_at_every_larger_size(found):
    cases = _ref_and_value(found.sweep.sizes, 1)
    cases[(found.sweep.largest, "task_ref")] = 2.0  # the ref loses again at the top
    assert analysis.ref_sentence(_sweep(found, cases)).startswith("Passing the put ref never")


@pytest.mark.parametrize(("get_largest", "expected"), [
    (2.0, "hardly grows with size."),
    (1000.0, "grew with size here, though less than a copy did."),
])
def test_get_lead(found, get_largest, expected):
    sweep = found.sweep
    sweep = _sweep(found, {(sweep.smallest, "get"): 1.0, (sweep.largest, "get"): get_largest,
                           (sweep.smallest, "memcpy"): 1.0, (sweep.largest, "memcpy"): 100.0})
    assert analysis.get_lead(sweep) == expected


@pytest.mark.parametrize(("value_largest", "value_smallest", "expected"), [
    (0.5, 2.0, "A Ray task given the array by value took 0.50× that time: one copy into "
               "shared memory, which the worker then reads in place, beat two copies through "
               "the kernel. For tiny arrays the order reverses: the pipe took 1.00 s, a task "
               "given the array 2.00 s (2.0×). Ray's cost per call is high and its cost per "
               "byte low."),
    (0.5, 0.5, "A Ray task given the array by value took 0.50× that time, and at 8 B 0.50× "
               "the pipe's 1.00 s: here Ray beat the raw pipe at every size."),
    (2.0, 2.0, "A Ray task given the array by value took 2.0× that time: here one copy into "
               "shared memory did not beat two copies through the kernel. At 8 B it took "
               "2.0× the pipe's 1.00 s."),
])
def test_pipe_sentence(found, value_largest, value_smallest, expected):
    sweep = found.sweep
    sweep = _sweep(found, {(sweep.largest, "os_pipe"): 1.0, (sweep.smallest, "os_pipe"): 1.0,
                           (sweep.largest, "task_value"): value_largest,
                           (sweep.smallest, "task_value"): value_smallest})
    assert analysis.pipe_sentence(sweep) == expected


def _counted(found, sizes, fresh, put_cpu=1.0, copy_cpu=1.0):
    """The committed sweep with these sizes; the puts at the sizes in ``fresh`` took one
    page fault per page, the others none; the put and the copies used the CPU given."""
    sweep = found.sweep
    seconds = {(size, how): 1.0 for size in sizes for how in experiment.SIZE_LABELS}
    faults = {(size, how): 0.0 for size in sizes for how in experiment.COUNTED}
    faults.update({(size, "put"): 1.0 for size in fresh})
    faults.update({(size, "memcpy_fresh"): 1.0 for size in sizes})
    cpu = {(size, how): copy_cpu for size in sizes for how in experiment.COUNTED}
    cpu.update({(size, "put"): put_cpu for size in sizes})
    return dataclasses.replace(sweep, sizes=tuple(sizes), seconds=seconds,
                               faults_per_page=faults, cpu_per_wall=cpu)


MIB = 1 << 20


@pytest.mark.parametrize(("sizes", "fresh", "expected"), [
    ((8, 1024), (), "No array measured here reached 1 MiB, so which pages the puts wrote "
                    "into is not measured here."),
    ((8, MIB, 16 * MIB), (MIB, 16 * MIB),
     "Every put of 1 MiB or more took about one page fault per page it wrote, like the copy "
     "into fresh memory: the store gave each new object pages this process did not have "
     "mapped yet."),
    ((8, MIB, 16 * MIB), (8,),
     "No put of 1 MiB or more took more than a few page faults: the store gave each new "
     "object pages this process had already touched, like the copy into touched memory."),
    ((MIB, 16 * MIB, 128 * MIB, 256 * MIB), (MIB, 16 * MIB),
     "Puts of 1 MiB and 16 MiB took about one page fault per page they wrote, like the copy "
     "into fresh memory; puts of 128 MiB and 256 MiB wrote into pages this process had "
     "already touched and took almost none. Where the store puts a new object decides "
     "which, and that is up to Ray's allocator."),
    ((MIB, 16 * MIB, 256 * MIB), (16 * MIB,),
     "Puts of 16 MiB took about one page fault per page they wrote, like the copy into "
     "fresh memory; puts of 1 MiB and 256 MiB wrote into pages this process had already "
     "touched and took almost none. Where the store puts a new object decides which, and "
     "that is up to Ray's allocator."),
])
def test_put_pages_sentence(found, sizes, fresh, expected):
    assert analysis.put_pages_sentence(_counted(found, sizes, fresh)) == expected


SIZES = (8, MIB, 256 * MIB)


@pytest.mark.parametrize(("fresh", "put_s", "put_cpu", "expected"), [
    (True, 2.0, 1.0, "At 256 MiB, the put took 2.0× as long as the copy into fresh memory, "
                     "which takes the same page faults."),
    (True, 0.5, 1.8, "At 256 MiB, the put took only 0.50× as long as the copy into fresh "
                     "memory, which takes the same page faults on one thread: Ray copies a "
                     "buffer this large on 6 threads, and the put used 1.80 seconds of CPU "
                     "per second against the copy's 1.00."),
    (True, 0.5, 0.9, "At 256 MiB, the put took only 0.50× as long as the copy into fresh "
                     "memory, which takes the same page faults, while using no more CPU per "
                     "second (0.90 seconds per second, against the copy's 1.00). Its faults "
                     "were on the store's shared memory and the copy's on private memory; "
                     "which of the two costs the kernel less per page is not measured here."),
    (False, 1.5, 1.0, "At 256 MiB, the put took 1.5× as long as the copy into touched "
                      "memory, which, like the put, takes almost no page faults."),
    (False, 0.67, 1.8, "At 256 MiB, the put took only 0.67× as long as the copy into touched "
                       "memory, which, like the put, takes almost no page faults, but copies "
                       "on one thread: Ray copies a buffer this large on 6 threads, and the "
                       "put used 1.80 seconds of CPU per second against the copy's 1.00."),
    (False, 0.67, 1.1, "At 256 MiB, the put took only 0.67× as long as the copy into touched "
                       "memory, which, like the put, takes almost no page faults, while using "
                       "no more CPU per second (1.10 seconds per second, against the copy's "
                       "1.00): more threads do not explain the difference here, and what does "
                       "is not measured here."),
])
def test_put_floor_sentence(found, fresh, put_s, put_cpu, expected):
    sweep = _counted(found, SIZES, (256 * MIB,) if fresh else (), put_cpu=put_cpu)
    sweep = dataclasses.replace(sweep, seconds={**sweep.seconds, (256 * MIB, "put"): put_s},
                                memcopy_threads=6, memcopy_threshold=MIB)
    assert analysis.put_floor_sentence(sweep) == expected


def test_put_floor_sentence_needs_a_buffer_ray_splits(found):
    """Below Ray's threshold a put copies on one thread, so threads cannot be the reason."""
    sweep = _counted(found, (8, MIB), (), put_cpu=1.8)
    sweep = dataclasses.replace(sweep, seconds={**sweep.seconds, (MIB, "put"): 0.5},
                                memcopy_threads=6, memcopy_threshold=MIB)
    assert "more threads do not explain" in analysis.put_floor_sentence(sweep)


@pytest.mark.parametrize(("sizes", "split_s", "expected"), [
    ((8, MIB), 1.0, "At 1 MiB, the largest size here, ray.put copies on one thread, and so "
                    "does the split copy."),
    (SIZES, 0.6, "Split over 6 threads, the plain copy of the 256 MiB array took 0.60× as "
                 "long as on one thread: on this machine one thread does not copy as fast as "
                 "the memory allows."),
    (SIZES, 1.05, "Split over 6 threads, the plain copy of the 256 MiB array took about as "
                  "long as on one thread (1.1×): more threads did not copy faster here, "
                  "either because one thread already copies as fast as the memory allows or "
                  "because no other CPU was free."),
    (SIZES, 1.9, "Split over 6 threads, the plain copy of the 256 MiB array took 1.9× as "
                 "long as on one thread: handing out the parts and waiting for them cost "
                 "more than the threads gained here."),
])
def test_split_sentence(found, sizes, split_s, expected):
    sweep = _counted(found, sizes, ())
    sweep = dataclasses.replace(sweep, seconds={**sweep.seconds,
                                                (max(sizes), "memcpy_threads"): split_s},
                                memcopy_threads=6, memcopy_threshold=MIB)
    assert analysis.split_sentence(sweep) == expected


@pytest.mark.parametrize(("stored", "start"), [(102_406, "within a few bytes of the documented"),
                                               (50_000, "not the documented default")])
def test_limit_verdict(found, stored, start):
    limit = dataclasses.replace(found.objects.limit, stored_object_bytes=stored,
                                documented_bytes=102_400)
    assert analysis.limit_verdict(limit).startswith(start)


@pytest.mark.parametrize(("installed", "expected"), [
    (False, "pyarrow is not installed in this build's environment, so every measurement on "
            "this page ran without it"),
    (True, "pyarrow is installed in this build's environment, where Ray registers serialisers "
           "of its own for Arrow's types such as tables (in "
           "ray/_private/arrow_serialization.py); no run here records whether any of them ran"),
])
def test_pyarrow_clause(found, installed, expected):
    serialisation = dataclasses.replace(found.serialisation, pyarrow_installed=installed)
    assert analysis.pyarrow_clause(serialisation) == expected


@pytest.mark.parametrize(("in_loop", "expected"), [
    (3.0, "3.0× faster on 2 CPUs"),
    (1.04, "1.0× faster on 2 CPUs. In this run the fix gained little: with few CPUs, or CPUs "
           "busy with other work, there is little left to run side by side"),
])
def test_get_in_loop_result(found, in_loop, expected):
    anti = dataclasses.replace(found.anti, seconds={
        **found.anti.seconds, ("get_in_loop", "get_in_loop"): in_loop,
        ("get_in_loop", "submit_then_get"): 1.0})
    assert analysis.get_in_loop_result(anti, workers=2) == expected


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["rb_ref_sentence"] == analysis.ref_sentence(found.sweep)
    assert texts["rb_put_pages_sentence"] == analysis.put_pages_sentence(found.sweep)
    assert texts["rb_put_floor_sentence"] == analysis.put_floor_sentence(found.sweep)
    assert texts["rb_split_sentence"] == analysis.split_sentence(found.sweep)
    assert texts["rb_memcopy_threads"] == 6 and texts["rb_memcopy_threshold"] == "1 MiB"
    # rules.md quotes this one: it is the copy into touched memory at the largest size.
    assert texts["rb_memcpy_largest"] == analysis.format_seconds(
        found.sweep.seconds[(found.sweep.largest, "memcpy")])
    assert texts["rb_store"] == "1 GiB"
    assert texts["rb_smallest"] == "8 B"
    # Other pages quote these with ":d": they must stay integers.
    assert isinstance(texts["rb_loop_tasks"], int) and isinstance(texts["rb_large_tasks"], int)
    for how in experiment.CALL_LABELS:
        assert texts[f"rb_call_{how}"].endswith("s") and texts[f"rb_call_{how}_x"].endswith("×")


def test_demo_outputs_show_what_the_run_printed(ray_basics_quick, quick_found):
    for output_id, lines in (("ray-basics-tasks-demo", quick_found.tasks.lines),
                             ("ray-basics-wait-demo", quick_found.wait.lines),
                             ("ray-basics-actor-demo", quick_found.actor.lines),
                             ("ray-basics-zero-copy-demo", quick_found.zero_copy.lines)):
        printed = views.OUTPUTS[output_id](ray_basics_quick, quick_found)
        assert printed.splitlines() == list(lines), output_id
    placements = views.OUTPUTS["ray-basics-placements"](ray_basics_quick, quick_found)
    assert len(placements.splitlines()) == len(quick_found.objects.placed)
    assert all("bytes as stored" in line for line in placements.splitlines())


# --- the claims this chapter judges for the ledger in book/sources.md, each verdict reached --

def test_the_committed_results_claims(found):
    judged = analysis.claims(found)
    assert set(judged) == {"a002_arrow_plasma", "a002_warm_up", "a002_results_in_store",
                           "a002_nested_arrays"}
    assert found.serialisation.ray_version in judged["a002_arrow_plasma"].reason


@pytest.mark.parametrize(("installed", "in_place", "verdict", "says"), [
    (False, True, Verdict.PARTLY, "The Arrow part does not hold"),
    (False, False, Verdict.FAILS, "without pyarrow installed, and the reads were not"),
    (True, True, Verdict.PARTLY, "is not recorded"),
    (True, False, Verdict.FAILS, "did not return read-only views"),
])
def test_arrow_plasma_claim_every_verdict(found, installed, in_place, verdict, says):
    serialisation = dataclasses.replace(found.serialisation, pyarrow_installed=installed)
    zero_copy = dataclasses.replace(found.zero_copy, two_gets_share_memory=in_place,
                                    owndata=not in_place, writeable=not in_place)
    judged = analysis.arrow_plasma_claim(serialisation, zero_copy)
    assert judged.verdict is verdict and says in judged.reason


def _warmed(found, cold_s, sizes=(MIB, 16 * MIB), fresh=(16 * MIB,)):
    """A sweep whose warm puts took 1 s (median), 0.5 s to 2 s, and whose warm-up put the
    largest array three times at ``cold_s`` each."""
    largest = max(sizes)
    return dataclasses.replace(_counted(found, sizes, fresh), warmup_bytes=3 * largest,
                               warmup_s=3 * cold_s, put_largest_range=(0.5, 2.0))


@pytest.mark.parametrize(("cold_s", "verdict", "says"), [
    (3.0, Verdict.HOLDS, "took 3.00 s per 16 MiB array, slower than every put of the same "
                         "array into the warmed store (500 ms to 2.00 s)."),
    (1.5, Verdict.PARTLY, "within the warm puts' spread (up to 2.00 s)"),
    (0.8, Verdict.FAILS, "no slower than the median put of the same array into the warmed "
                         "store (1.00 s)."),
])
def test_warm_up_claim_every_verdict(found, cold_s, verdict, says):
    judged = analysis.warm_up_claim(_warmed(found, cold_s))
    assert judged.verdict is verdict and says in judged.reason
    assert judged.reason.endswith("did not spare later puts the kernel's page faults.")


def test_warm_up_claim_says_what_the_page_faults_showed(found):
    touched = analysis.warm_up_claim(_warmed(found, 3.0, fresh=()))
    assert touched.reason.endswith("they wrote into pages the process had already touched.")
    uncounted = analysis.warm_up_claim(_warmed(found, 3.0, sizes=(8, 1024), fresh=()))
    assert uncounted.verdict is Verdict.HOLDS and "page fault" not in uncounted.reason


@pytest.mark.parametrize(("cold_s", "expected"), [
    (3.0, "That is 3.00 s per 16 MiB array, slower than every later put of the same array "
          "into the warmed store (500 ms to 2.00 s). The warm-up's own page faults are not "
          "counted, so whether the kernel supplying the store's pages on their first write "
          "made the difference is not measured here."),
    (1.5, "That is 1.50 s per 16 MiB array, slower than the median later put of the same "
          "array (1.00 s) but within their spread (up to 2.00 s): a cold store was not "
          "clearly slower here."),
    (0.8, "That is 800 ms per 16 MiB array, no slower than the median later put of the same "
          "array into the warmed store (1.00 s): a cold store was not slower here."),
])
def test_warmup_sentence_agrees_with_the_warm_up_claim(found, cold_s, expected):
    sweep = _warmed(found, cold_s)
    assert analysis.warmup_sentence(sweep) == expected
    assert analysis.warm_up_outcome(sweep) is analysis.warm_up_claim(sweep).verdict


def _placed(found, stored_sizes, kept_sizes):
    """The committed placements with task results of these sizes in the store and in the
    caller's memory, and the put row as it was."""
    rows = [analysis.PlacedObject("task result", size, size + 251, "object store")
            for size in stored_sizes]
    rows += [analysis.PlacedObject("task result", size, size + 251, "owner's memory")
             for size in kept_sizes]
    puts = tuple(row for row in found.objects.placed if row.how == "ray.put")
    return dataclasses.replace(found.objects, placed=(*rows, *puts))


@pytest.mark.parametrize(("stored", "kept", "in_place", "verdict", "says"), [
    ((128 << 10, MIB), (8,), True, Verdict.PARTLY,
     "Task results of 128 KiB and 1 MiB went to the shared-memory object store, but those "
     "of 8 B stayed in the caller's own memory: results up to the limit found here, "
     "102,154 bytes, stay there. Two ray.get calls of a put array returned read-only views "
     "of the same shared memory, not copies; whether a task's result is read the same way "
     "is not checked by a run here."),
    ((MIB,), (), True, Verdict.PARTLY,
     "Every task result measured here (1 MiB) went to the shared-memory object store. Two "
     "ray.get calls"),
    ((MIB,), (), False, Verdict.PARTLY,
     "went to the shared-memory object store. Two ray.get calls of a put array did not "
     "return read-only views of the same memory."),
    ((), (8, 1024), True, Verdict.PARTLY,
     "No task result measured here (8 B and 1 KiB) went to the shared-memory object store: "
     "each stayed in the caller's own memory. Two ray.get calls of a put array returned"),
    ((), (8,), False, Verdict.FAILS,
     "each stayed in the caller's own memory. Two ray.get calls of a put array did not"),
])
def test_results_in_store_claim_every_verdict(found, stored, kept, in_place, verdict, says):
    zero_copy = dataclasses.replace(found.zero_copy, two_gets_share_memory=in_place)
    judged = analysis.results_in_store_claim(_placed(found, stored, kept), zero_copy)
    assert judged.verdict is verdict and says in judged.reason


def test_the_committed_results_in_store_claim(found):
    judged = analysis.claims(found)["a002_results_in_store"]
    assert judged.verdict is Verdict.PARTLY
    assert "stayed in the caller's own memory" in judged.reason


def test_nested_arrays_claim_is_not_measured():
    judged = analysis.nested_arrays_claim()
    assert judged.verdict is Verdict.UNMEASURED
    assert judged.reason.startswith("No run here puts a list or a dict of arrays")
