"""The vector-envs chapter: its quick run (every case, the demonstrations behave as the page
says), the chapter's workloads, and each of its data-dependent sentences, on the committed
result ``tests/results/vector-envs.json``."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys

import numpy as np
import pytest

from parbook.bench.results import Result, load
from parbook.chapters.vector_envs import analysis, layout, pool_sweep, views
from parbook.chapters.vector_envs import experiment as experiment
from parbook.chapters.vector_envs import workload as work
from parbook.render.formatting import format_ratio
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "vector-envs.json"


@pytest.fixture(scope="module")
def vector_quick(quick_results):
    """The experiment in quick mode, run once per session as the page runs it."""
    return quick_results["vector-envs"]


@pytest.fixture(scope="module")
def quick_found(vector_quick):
    return analysis.findings(vector_quick)


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


# --- the quick run -------------------------------------------------------------------------

def test_every_sweep_case_is_present_with_positive_finite_samples(vector_quick):
    sizes = experiment.QUICK
    keys = {(c.params["phase"], c.params["backend"], c.params["work_s"], c.params["envs"])
            for c in vector_quick.group("sweep")}
    expected = {("local", backend, w, n) for backend in ("loop", *work.BACKENDS)
                for w in sizes.work_s for n in sizes.env_counts}
    expected |= {("ray", backend, w, n) for backend in ("loop", "ray")
                 for w in sizes.work_s for n in sizes.env_counts}
    if vector_quick.values["envpool"]["available"]:
        lightest, most = min(sizes.work_s), max(sizes.env_counts)
        expected |= {("envpool", backend, w, n) for backend in ("loop", analysis.POOL_SYNC)
                     for w in sizes.work_s for n in sizes.env_counts
                     if w == lightest or n == most}
        expected |= {("envpool", analysis.POOL_ASYNC, lightest, n)
                     for n in sizes.env_counts if n >= 2}
    assert keys == expected
    for case in vector_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_every_backend_sampled_the_same_steps_at_each_point(vector_quick):
    steps: dict[tuple, set[int]] = {}
    for case in vector_quick.group("sweep"):
        key = (case.params["work_s"], case.params["envs"])
        steps.setdefault(key, set()).add(case.params["steps"])
    assert all(len(values) == 1 for values in steps.values()), steps


def test_creation_round_trips_and_where_ray_ran(vector_quick, quick_found):
    methods = {c.params["method"] for c in vector_quick.group("creation")}
    # The page compares fork with spawn.
    assert {"fork", "spawn"} <= methods
    assert {"fork", "spawn"} <= set(quick_found.start_methods.creation)
    assert methods == {c.params["method"] for c in vector_quick.group("method_steps")
                       if c.params["randomisation"] == "on"}
    channels = {c.params["channel"] for c in vector_quick.group("round_trip")}
    envpool = (set(experiment.ENVPOOL_ROUND_TRIP) if quick_found.envpool is not None
               else set())
    assert channels == set(experiment.ROUND_TRIP_LABELS) | envpool
    assert vector_quick.parameters["ray_address"] == "local"
    assert vector_quick.parameters["ray_cluster_cpus"] >= 1


def test_guard_demo_shows_the_bug_and_the_fix(vector_quick, quick_found):
    guard = quick_found.bugs.guard
    for method, demo in guard.items():
        assert demo.returncode == 0 and not demo.killed, (method, demo.errors)
    # What the page says happened: fork workers saw the guarded settings, the others not,
    # and passed settings reached every worker.
    assert quick_found.bugs.guard_as_expected, guard
    assert guard["spawn"].reading_global.main_modules == ("__mp_main__",)
    assert guard["fork"].reading_global.main_modules == ("__main__",)
    assert views.guard_table(vector_quick, quick_found).frame.shape == (len(guard), 2)
    printed = views.guard_demo(vector_quick, quick_found)
    assert [line.split(":")[0] for line in printed.splitlines() if line.startswith("---")] == [
        f"--- {method}" for method in guard]


def _system_randomises_addresses() -> bool:
    try:
        with open("/proc/sys/kernel/randomize_va_space") as setting:
            return setting.read().strip() != "0"
    except OSError:
        return False


def test_step_control_ran_the_workers_where_the_page_says(vector_quick, quick_found):
    # The control's three runs: every start method stepped round by round; forked workers
    # at the parent's addresses; on one CPU where the system allows pinning; and, with
    # randomisation off where the system allows it, every worker at the parent's addresses.
    sizes = experiment.QUICK
    methods = quick_found.start_methods
    scheduled = methods.scheduled
    assert set(scheduled.rounds) == set(work.start_methods())
    assert all(len(rounds) == sizes.layout_rounds for rounds in scheduled.rounds.values())
    assert scheduled.same_addresses["fork"] == scheduled.workers == layout.NUM_ENVS
    if _system_randomises_addresses():
        assert scheduled.same_addresses["spawn"] == 0
    reports = {(r["placement"], r["randomisation"]): r
               for r in vector_quick.values["layout"]}
    assert set(reports) == set(experiment.CONTROL_RUNS)
    assert reports[("scheduled", "on")]["cpu"] is None
    assert reports[("scheduled", "on")]["randomisation_off"] is False
    if hasattr(os, "sched_setaffinity"):
        assert methods.one_cpu is not None
        assert reports[("one CPU", "on")]["cpu"] in os.sched_getaffinity(0)
    if methods.fixed is None:
        assert methods.fixed_unavailable and not reports[("one CPU", "off")]["available"]
    else:
        assert reports[("one CPU", "off")]["randomisation_off"] is True
        assert set(methods.fixed.same_addresses.values()) == {layout.NUM_ENVS}
    table = views.step_control_table(vector_quick, quick_found).frame
    assert list(table.index) == list(scheduled.rounds) and table.shape[1] == 5
    for sentence in (analysis.scheduled_step_sentence(methods),
                     analysis.method_step_verdict(methods)):
        assert sentence.startswith("With ") and sentence.endswith(".")


def test_layout_program_pins_itself_to_one_cpu(monkeypatch):
    pinned = []
    monkeypatch.setattr(layout.os, "sched_setaffinity", lambda pid, cpus: pinned.append(cpus),
                        raising=False)
    monkeypatch.setattr(layout.os, "sched_getaffinity", lambda pid: {3, 1}, raising=False)
    assert layout.pin_to_one_cpu() == 1 and pinned == [{1}]
    monkeypatch.delattr(layout.os, "sched_setaffinity")
    assert "cannot be pinned" in layout.pin_to_one_cpu()


def test_layout_program_reports_why_it_cannot_switch_randomisation_off(monkeypatch):
    # Where personality() fails, the control measures nothing and says why, instead of
    # starting itself again.
    monkeypatch.setattr(layout, "_personality", lambda flags: -1)
    monkeypatch.setattr(layout.os, "execv", lambda *args: pytest.fail("must not exec"))
    reason = layout.restart_without_randomisation(["1", "1", layout.RANDOMISATION_OFF])
    assert "address randomisation" in reason
    assert layout.randomisation_is_off() is False


def test_findings_tables_and_figure(vector_quick, quick_found):
    found = quick_found
    assert found.bugs.instance_mistake.startswith("TypeError: ")
    assert "not callable" in found.bugs.instance_mistake
    assert found.round_trips.pipe > 0 and found.round_trips.ray_actor > 0
    for backend in experiment.PARALLEL:
        speedups = [found.sweep.speedups[backend][w][found.sweep.most]
                    for w in found.sweep.work_levels]
        assert len(speedups) == len(experiment.QUICK.work_s)
        assert all(math.isfinite(s) and s > 0 for s in speedups)
        assert isinstance(analysis.crossover_text(found.crossovers[backend]), str)
    envpool = experiment.ENVPOOL_LABELS if found.envpool is not None else {}
    table = views.throughput_table(vector_quick, found).frame
    assert table.shape == (len(experiment.QUICK.work_s) * len(experiment.QUICK.env_counts),
                           len(experiment.BACKEND_LABELS) + len(envpool))
    assert len(views.creation_table(vector_quick, found).frame) == len(
        found.start_methods.creation)
    summary = views.summary_table(vector_quick, found).frame
    assert summary.shape == (9 + (3 if envpool else 0), 1) and summary.notna().all().all()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for draw in (views.crossover_figure, views.envs_figure):
        figure = draw(vector_quick, found)
        assert len(figure.axes[0].lines) >= len(experiment.BACKEND_LABELS) + len(envpool)
        plt.close(figure)


# --- the chapter's code ----------------------------------------------------------------------

def test_sweep_point_sizes():
    point = experiment.sweep_point(5e-3, 100, 2e-5, 8, experiment.FULL)
    assert point.vector_steps >= experiment.FULL.min_vector_steps
    assert point.vector_steps == point.steps_per_call * point.calls
    light = experiment.sweep_point(0.0, 0, 2e-5, 1, experiment.FULL)
    assert light.steps <= experiment.FULL.max_steps + experiment.FULL.rollout_steps
    assert work.envs_per_actor(8, 3) == [3, 3, 2]


def test_every_vector_backend_steps_like_the_loop():
    rng = np.random.default_rng(0)
    env = work.make_env(10)
    try:
        env.reset(seed=0)
        single = work.sample_one_env(env, rng, 30)
    finally:
        env.close()
    assert single.shape == (30, 4)
    for backend in work.BACKENDS:
        envs = work.make_vector(backend, 2, 10, context="spawn")
        try:
            envs.set_attr("work_iterations", 5)
            assert envs.get_attr("work_iterations") == (5, 5)
            batch = work.sample_vector(envs, np.random.default_rng(0), 30)
        finally:
            work.close_vector(envs)
        assert batch.shape == (30, 2, 4) and np.isfinite(batch).all()


def test_env_runner_samples_a_stacked_batch_in_process():
    runner = work.EnvRunner(seed=1)
    try:
        assert runner.configure(3, 0) == 3
        runner.set_work(2)
        batch = runner.sample(7)
        assert batch.shape == (7, 3, 4)
        assert runner.ping("x") == "x"
    finally:
        runner.close()


def test_start_methods_keep_the_chapter_order():
    methods = work.start_methods()
    assert methods == [m for m in work.METHOD_ORDER if m in methods]
    assert "spawn" in methods


# --- each data-dependent sentence, every alternative ----------------------------------------

def with_light(sweep: analysis.Sweep, speedups: dict[str, float] | None = None,
               rates: dict[str, float] | None = None) -> analysis.Sweep:
    """``sweep`` with the given speed-ups and rates at no added work and the most envs."""
    def changed(table, new):
        table = {b: {w: dict(by_envs) for w, by_envs in by_work.items()}
                 for b, by_work in table.items()}
        for backend, value in (new or {}).items():
            table[backend][sweep.lightest][sweep.most] = value
        return table

    return dataclasses.replace(sweep, speedups=changed(sweep.speedups, speedups),
                               rates=changed(sweep.rates, rates))


@pytest.mark.parametrize(("speedups", "expected"), [
    ({"async_shm": 0.5, "async_pipe": 0.5, "ray": 0.5},
     "Every multi-process backend was slower than the loop."),
    ({"async_shm": 0.5, "async_pipe": 2.0, "ray": 0.9},
     "Some multi-process backends were slower than the loop (AsyncVectorEnv with shared memory "
     "and Ray actors)."),
    ({"async_shm": 1.5, "async_pipe": 2.0, "ray": 1.1},
     "Even here, every multi-process backend beat the loop."),
])
def test_light_verdict(found, speedups, expected):
    assert analysis.light_verdict(with_light(found.sweep, speedups=speedups)) == expected


@pytest.mark.parametrize(("ray_rate", "ahead"), [(1e9, True), (1.0, False)])
def test_ray_sentences_follow_which_backend_sampled_more(found, ray_rate, ahead):
    sweep = with_light(found.sweep, rates={"ray": ray_rate, "async_shm": 5000.0},
                       speedups={"ray": 0.25})
    rates = (f"With no added work, Ray actors took {ray_rate:,.0f} steps per second, 0.25× the "
             "loop's rate, against AsyncVectorEnv's 5,000: ")
    assert analysis.ray_vs_async_sentence(sweep) == rates + (
        "each Ray call carried many steps, where the vector env paid a round trip per step."
        if ahead else "here the cost of each Ray call outweighed the steps it carried.")
    cost = format_ratio(found.round_trips.ray_over_pipe)
    assert analysis.ray_design_verdict(sweep, found.round_trips) == (
        f"It is what let Ray actors, whose round trip cost {cost} a pipe's, sample cheap "
        "environments faster than AsyncVectorEnv did." if ahead else
        f"On this machine it did not make up for a Ray round trip that cost {cost} a pipe's: "
        "with cheap environments, AsyncVectorEnv sampled faster than the Ray actors.")


@pytest.mark.parametrize(("full_envs", "expected_tail"), [
    (4, " (Ray actors)."),
    (1, "; with 4, "),
])
def test_heavy_text_names_the_most_envs_only_when_they_differ(found, full_envs,
                                                              expected_tail):
    sweep = dataclasses.replace(found.sweep, full_envs=full_envs)
    assert sweep.most == 4
    text = analysis.heavy_text(sweep)
    assert text.startswith(f"With {full_envs} environments (enough for every usable CPU)")
    assert expected_tail in text and text.endswith(".")
    assert ("; with" in text) == (full_envs != sweep.most)


@pytest.mark.parametrize(("speedups", "expected"), [
    ({"async_shm": 0.5, "async_pipe": 0.25, "ray": 1.5},
     "True while a step is cheap: with plain CartPole, no backend that hands the observations "
     "back after every step kept up with one process (the best, AsyncVectorEnv with shared "
     "memory, reached 0.50× its rate)."),
    ({"async_shm": 0.5, "async_pipe": 1.5, "ray": 0.1},
     "Not on this machine: even with plain CartPole, AsyncVectorEnv without shared memory, "
     "which hands the observations back after every step, sampled 1.5× as fast as one "
     "process."),
])
def test_one_step_verdict(found, speedups, expected):
    assert analysis.one_step_verdict(with_light(found.sweep, speedups=speedups)) == expected


@pytest.mark.parametrize(("backend", "step_cost", "expected"), [
    ("async_shm", None,
     "at none of the step costs in this sweep (the dearest step measured cost 1.00 ms)"),
    ("ray", 2e-5, "already at the cheapest step measured"),
    ("async_pipe", 5e-4, "at a step cost of about 500 µs (10× one Pipe round trip)"),
    ("ray", 5e-4, "at a step cost of about 500 µs (5.0× one Ray actor call)"),
])
def test_crossover_text(backend, step_cost, expected):
    crossover = analysis.Crossover(backend=backend, step_cost=step_cost, cheapest_step=2e-5,
                                   dearest_step=1e-3,
                                   round_trip=1e-4 if backend == "ray" else 5e-5)
    assert analysis.crossover_text(crossover) == expected


@pytest.mark.parametrize(("backend", "step_cost", "expected"), [
    ("async_shm", None, "AsyncVectorEnv with shared memory did not beat the loop at any step "
                        "cost in this sweep; the dearest step measured cost 1.00 ms."),
    ("ray", 2e-5, "Ray actors beat the loop already at the cheapest step measured."),
    ("async_pipe", 5e-4, "AsyncVectorEnv without shared memory beat the loop from a step cost "
                         "of about 500 µs, 10× one Pipe round trip."),
    ("ray", 5e-4, "Ray actors beat the loop from a step cost of about 500 µs, 5.0× one Ray "
                  "actor call."),
])
def test_crossover_sentence(backend, step_cost, expected):
    crossover = analysis.Crossover(backend=backend, step_cost=step_cost, cheapest_step=2e-5,
                                   dearest_step=1e-3,
                                   round_trip=1e-4 if backend == "ray" else 5e-5)
    assert analysis.crossover_sentence(crossover) == expected


@pytest.mark.parametrize(("method", "expected"), [
    ("forkserver", "This build's Python already defaults to forkserver, so here such code "
                   "pays the forkserver row."),
    ("fork", "This build's Python defaults to fork, so here such code pays the fork row."),
])
def test_default_method_sentence(found, method, expected):
    build = dataclasses.replace(found.build, start_method=method)
    assert analysis.default_method_sentence(build) == expected


def control(medians: dict[str, float], same: dict[str, int] | None = None
            ) -> analysis.StepControl:
    """A step-control run of eight rounds whose rounds lie within 2% of each method's
    median, rising and falling together (as a burst of load moves every method)."""
    load = (0.98, 1.0, 1.02, 1.0, 0.99, 1.01, 1.0, 1.0)
    return analysis.StepControl(
        rounds={m: tuple(v * f for f in load) for m, v in medians.items()},
        same_addresses=same or {"fork": 2, "forkserver": 0, "spawn": 0}, workers=2)


GAP = {"fork": 200e-6, "forkserver": 310e-6, "spawn": 340e-6}
NO_GAP = {"fork": 200e-6, "forkserver": 201e-6, "spawn": 202e-6}
#: Within the tolerance: 5% slower, in every round.
SMALL_GAP = {"fork": 200e-6, "forkserver": 205e-6, "spawn": 210e-6}
ALL_SAME = {"fork": 2, "forkserver": 2, "spawn": 2}
ONE_CPU_GAP = "With the parent and its workers on one CPU, a step cost 200 µs under fork but " \
              "340 µs under spawn"
NOT_PINNABLE = "a process cannot be pinned to a CPU on darwin"
NO_PERSONALITY = "this system does not let a program switch address randomisation off"


def test_gap_is_judged_round_by_round():
    # A consistent gap counts; a gap within the tolerance does not; neither does a gap
    # that shows in the medians but not round by round.
    assert control(GAP).gap and not control(NO_GAP).gap and not control(SMALL_GAP).gap
    crossing = analysis.StepControl(
        rounds={"fork": (1.0, 3.0, 1.0, 3.0), "spawn": (3.0, 1.1, 3.2, 1.2)},
        same_addresses={"fork": 2, "spawn": 0}, workers=2)
    assert crossing.slowest == "spawn" and not crossing.gap


def with_control(found: analysis.Findings, scheduled=None, one_cpu=None, fixed=None
                 ) -> analysis.StartMethods:
    return dataclasses.replace(
        found.start_methods, scheduled=scheduled or control(NO_GAP), one_cpu=one_cpu,
        fixed=fixed, one_cpu_unavailable="" if one_cpu else NOT_PINNABLE,
        fixed_unavailable="" if fixed else NO_PERSONALITY)


@pytest.mark.parametrize(("scheduled", "expected"), [
    (control(GAP), "With the workers where the scheduler put them, one step of every "
                   "environment cost 200 µs under fork but 340 µs under spawn, and spawn was "
                   "more than 10% slower in at least three rounds out of four."),
    (control(SMALL_GAP), "With the workers where the scheduler put them, one step of every "
                         "environment cost between 200 µs and 210 µs under fork, forkserver "
                         "and spawn, and no method was more than 10% slower than another in "
                         "three rounds out of four."),
])
def test_scheduled_step_sentence(found, scheduled, expected):
    assert analysis.scheduled_step_sentence(with_control(found, scheduled)) == expected


@pytest.mark.parametrize(("one_cpu", "fixed", "expected"), [
    (None, None,
     "Where the workers ran was not varied here (a process cannot be pinned to a CPU on "
     "darwin), so what could make a step dearer under one start method is not measured."),
    (control(SMALL_GAP), control(NO_GAP, same=ALL_SAME),
     "With the parent and its workers on one CPU, a step cost between 200 µs and 210 µs "
     "under fork, forkserver and spawn, no method more than 10% slower than another in three "
     "rounds out of four: in this run, the start method made no difference to a step beyond "
     "the noise of the rounds."),
    (control(GAP), None,
     ONE_CPU_GAP + ". Whether the gap comes from where the workers' code was loaded is not "
     "measured here: this system does not let a program switch address randomisation off."),
    (control(GAP), control(NO_GAP, same=ALL_SAME),
     ONE_CPU_GAP + ", and switching address randomisation off closed the gap (200 µs under "
     "fork, 202 µs under spawn): what sets the start methods apart is where the workers' "
     "code was loaded, not the pipes. Why that matters is not measured here; a likely reason "
     "is that a CPU keeps state about recently run code by its address (in its branch "
     "predictors, for one), which a parent and a worker taking turns on one CPU share only "
     "when their addresses agree."),
    (control(GAP), control({"fork": 200e-6, "forkserver": 400e-6, "spawn": 210e-6},
                           same=ALL_SAME),
     ONE_CPU_GAP + ", and switching address randomisation off did not close the gap (200 µs "
     "under fork but 400 µs under forkserver): this run leaves it unexplained."),
    (control(GAP, same=ALL_SAME), control(NO_GAP, same=ALL_SAME),
     ONE_CPU_GAP + ". Switching address randomisation off closed the gap (200 µs under fork, "
     "202 µs under spawn), but the addresses the workers reported do not fit the control "
     "(see the table), so this run leaves the gap unexplained."),
])
def test_method_step_verdict(found, one_cpu, fixed, expected):
    methods = with_control(found, one_cpu=one_cpu, fixed=fixed)
    assert analysis.method_step_verdict(methods) == expected
    table = views.step_control_table(None, dataclasses.replace(found, start_methods=methods))
    assert (table.frame.iloc[:, 1] == views.NOT_MEASURED).all() == (one_cpu is None)
    assert (table.frame.iloc[:, 2] == views.NOT_MEASURED).all() == (fixed is None)


@pytest.mark.parametrize(("method", "global_saw", "passed_saw", "expected"), [
    ("fork", 2, 2, True), ("spawn", 0, 2, True), ("spawn", 2, 2, False),
    ("fork", 0, 2, False), ("forkserver", 0, 1, False),
])
def test_guard_demo_is_judged_as_the_page_describes_it(found, method, global_saw, passed_saw,
                                                       expected):
    demo = found.bugs.guard["spawn"]
    demo = dataclasses.replace(
        demo, method=method,
        reading_global=dataclasses.replace(demo.reading_global, saw_port=global_saw),
        passed=dataclasses.replace(demo.passed, saw_port=passed_saw))
    assert demo.as_expected is expected


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    assert texts["ve_light_verdict"] == analysis.light_verdict(found.sweep)
    assert texts["ve_guard_methods"] == "fork, forkserver and spawn"
    assert texts["ve_guard_blind_methods"] == "forkserver and spawn"
    assert texts["ve_instance_error"].startswith("TypeError")
    # Other pages quote these with :d and :s formats.
    assert isinstance(texts["ve_rollout_steps"], int)
    assert isinstance(texts["ve_base_step"], str)
    assert found.bugs.guard_as_expected


# --- EnvPool ------------------------------------------------------------------------------

#: Why EnvPool is missing, as the child program words it on a platform without a wheel.
NO_ENVPOOL = ("import envpool failed on darwin (ModuleNotFoundError: No module named "
              "'envpool'); EnvPool publishes wheels for Linux only")


def test_envpool_phase_ran_as_the_page_says(vector_quick, quick_found):
    report = vector_quick.values["envpool"]
    if pool_sweep.unavailable_reason() is not None:
        assert not report["available"] and report["reason"].startswith("import envpool failed")
        assert quick_found.envpool is None and quick_found.envpool_unavailable
        return
    pool = quick_found.envpool
    assert report["available"] and pool is not None
    cpus = vector_quick.parameters["usable_cpus"]
    for n in experiment.QUICK.env_counts:
        assert pool.num_threads[n] == min(n, cpus)
        assert pool.async_batch.get(n) == (n // 2 if n >= 2 else None)
    for case in vector_quick.group("sweep"):
        params = case.params
        if params["phase"] == "envpool" and params["backend"] != "loop":
            assert params["num_threads"] == pool.num_threads[params["envs"]]
            assert params["batch_size"] == (params["envs"] if params["backend"] ==
                                            analysis.POOL_SYNC else params["envs"] // 2)
    # Random actions end a CartPole episode within a few tens of steps: a few percent resets.
    assert 0 < pool.reset_share < 0.25
    assert pool.hand_off > 0
    assert analysis.texts(quick_found)["ve_envpool_status"] == (
        f"This build measured EnvPool {report['version']}.")


def test_envpool_threads_batches_and_points():
    assert [pool_sweep.threads_for(n, 2) for n in (1, 2, 8)] == [1, 2, 2]
    assert pool_sweep.threads_for(3, 16) == 3
    assert [pool_sweep.async_batch(n) for n in (1, 2, 8)] == [None, 1, 4]
    size = experiment.FULL
    points = {(w, n): experiment.sweep_point(w, 10, 2e-5, n, size)
              for w in size.work_s for n in size.env_counts}
    chosen = {(p.work_s, p.envs) for p in experiment.envpool_points(points, size)}
    assert chosen == ({(0.0, n) for n in size.env_counts}
                      | {(w, max(size.env_counts)) for w in size.work_s})
    plan = json.loads(experiment.pool_plan(list(points.values()), size, 2))
    assert plan["cpus"] == 2 and len(plan["points"]) == len(points)


def test_envpool_modes_step_every_environment():
    pytest.importorskip("envpool")
    rng = np.random.default_rng(0)
    sync, asynchronous = work.make_pool(4, 4, 2), work.make_pool(4, 2, 2)
    try:
        batch = work.sample_pool(sync, rng, 12, work_iterations=5)
        halves = work.sample_pool_async(asynchronous, rng, 12)
        share = work.pool_reset_share(sync, rng, 100)
    finally:
        del sync, asynchronous  # the pools' threads stop when the pools are freed
    assert batch.shape == (12, 4, 4) and np.isfinite(batch).all()
    assert halves.shape == (12, 2, 4) and np.isfinite(halves).all()
    assert 0 <= share < 0.5


def test_the_envpool_program_reports_a_failed_import(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "envpool", None)  # `import envpool` now fails
    assert pool_sweep.main(["not read when the import fails"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["available"] is False
    assert report["reason"].startswith(f"import envpool failed on {sys.platform} (")


def test_the_experiment_records_envpool_missing(tmp_path, monkeypatch):
    # A child interpreter in which `import envpool` really fails: a package of that name,
    # ahead of the installed one on the path, that raises ImportError.
    (tmp_path / "envpool").mkdir()
    (tmp_path / "envpool" / "__init__.py").write_text(
        'raise ImportError("no EnvPool wheel for this platform")\n')
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    result = Result(experiment="vector-envs", quick=True)
    point = experiment.sweep_point(0.0, 0, 2e-5, 2, experiment.QUICK)
    experiment._envpool_phase(result, experiment.QUICK, [point], 2, lambda _message: None)
    assert result.cases == []
    report = result.values["envpool"]
    assert report["available"] is False and "no EnvPool wheel" in report["reason"]


def result_without_envpool(committed: Result) -> Result:
    """The committed result as a build without EnvPool records it."""
    data = committed.to_json()
    data["cases"] = [case for case in data["cases"]
                     if case["params"].get("phase") != "envpool"
                     and case["params"].get("channel") not in experiment.ENVPOOL_ROUND_TRIP]
    data["values"]["envpool"] = {"available": False, "reason": NO_ENVPOOL}
    return Result.from_json(data)


def test_a_build_without_envpool_says_so_and_shows_no_envpool_rows():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = result_without_envpool(load(COMMITTED))
    found = analysis.findings(result)
    assert found.envpool is None and found.envpool_unavailable == NO_ENVPOOL
    texts = analysis.texts(found)
    assert texts["ve_envpool_status"] == (
        f"EnvPool was not measured in this build: {NO_ENVPOOL}. The tables and figures of "
        "this chapter have no EnvPool rows or lines.")
    table = views.throughput_table(result, found)
    assert list(table.frame.columns) == list(experiment.BACKEND_LABELS.values())
    assert "EnvPool" not in table.caption
    summary = views.summary_table(result, found).frame
    assert summary.shape == (9, 1) and not summary.index.str.contains("EnvPool").any()
    assert not views.sweep_spread(result, found).frame["phase"].eq("beside EnvPool").any()
    for draw in (views.crossover_figure, views.envs_figure):
        figure = draw(result, found)
        labels = figure.axes[0].get_legend_handles_labels()[1]
        assert not any("EnvPool" in label for label in labels)
        plt.close(figure)


def with_pool(found: analysis.Findings, rates=None, speedups=None, **fields
              ) -> analysis.Findings:
    """``found`` with EnvPool's figures changed: ``{(backend, work, envs): value}``."""
    def changed(table, new):
        table = {b: {w: dict(by_envs) for w, by_envs in by_work.items()}
                 for b, by_work in table.items()}
        for (backend, w, n), value in (new or {}).items():
            table.setdefault(backend, {}).setdefault(w, {})[n] = value
        return table

    pool = found.envpool
    return dataclasses.replace(found, envpool=dataclasses.replace(
        pool, rates=changed(pool.rates, rates), speedups=changed(pool.speedups, speedups),
        **fields))


def without_pool(found: analysis.Findings) -> analysis.Findings:
    return dataclasses.replace(found, envpool=None, envpool_unavailable=NO_ENVPOOL)


SYNC, ASYNC = analysis.POOL_SYNC, analysis.POOL_ASYNC


def test_the_committed_result_measured_envpool(found):
    # Every EnvPool sentence test below flips this result's EnvPool figures.
    assert found.envpool is not None and found.sweep.most == 4


@pytest.mark.parametrize(("sync", "asynchronous", "verdict"), [
    (2000.0, 1500.0, ": both modes beat Gymnasium's own one-process vector env."),
    (2000.0, 500.0, ": the synchronous mode beat Gymnasium's own one-process vector env, the "
                    "asynchronous one did not."),
    (500.0, 2000.0, ": the asynchronous mode beat Gymnasium's own one-process vector env, the "
                    "synchronous one did not."),
    (500.0, 800.0, ": on this machine neither mode beat Gymnasium's own one-process vector "
                   "env."),
])
def test_envpool_vs_sync_sentence(found, sync, asynchronous, verdict):
    light = found.sweep.lightest
    changed = dataclasses.replace(found, sweep=with_light(found.sweep, rates={"sync": 1000.0}))
    changed = with_pool(changed, rates={(SYNC, light, 4): sync, (ASYNC, light, 4): asynchronous})
    ratios = f"{format_ratio(sync / 1000)} as many steps per second as SyncVectorEnv, and " \
             f"its asynchronous mode {format_ratio(asynchronous / 1000)}"
    assert analysis.envpool_vs_sync_sentence(changed) == (
        f"With 4 environments and no added work, EnvPool's synchronous mode sampled {ratios}"
        + verdict)
    assert analysis.envpool_vs_sync_sentence(without_pool(found)) == (
        f"EnvPool was not measured in this build: {NO_ENVPOOL}.")


@pytest.mark.parametrize(("asynchronous", "start"), [
    (1500.0, "The asynchronous mode beat the synchronous one here: with 4 environments it "
             "sampled 1.5× as many steps per second, the calling thread"),
    (800.0, "The asynchronous mode lost to the synchronous one here: with 4 environments it "
            "sampled 0.80× as many steps per second. Each call returned only half"),
    (1050.0, "The two modes sampled at about the same rate here (with 4 environments it "
             "sampled 1.1× as many steps per second in the asynchronous mode, within 10% of "
             "the synchronous)"),
])
def test_envpool_modes_sentence(found, asynchronous, start):
    light = found.sweep.lightest
    changed = with_pool(found, rates={(SYNC, light, 4): 1000.0, (ASYNC, light, 4): asynchronous})
    sentence = analysis.envpool_modes_sentence(changed)
    assert sentence.startswith(start) and sentence.endswith(".")
    assert analysis.envpool_modes_sentence(without_pool(found)) == (
        "Neither mode was measured here.")


@pytest.mark.parametrize(("parallel", "verdict"), [
    (1.9, ": the work ran serially in the calling thread, where the worker processes ran it "
          "in parallel. For a simulator written in Python, the pool's threads have nothing to "
          "step."),
    (1.05, ": the work ran serially in the calling thread, and on this machine the worker "
           "processes did no better with it."),
])
def test_envpool_heavy_sentence(found, parallel, verdict):
    heaviest = found.sweep.heaviest
    speedups = {b: {w: dict(e) for w, e in by_w.items()}
                for b, by_w in found.sweep.speedups.items()}
    speedups["async_shm"][heaviest][4] = parallel
    changed = dataclasses.replace(found, sweep=dataclasses.replace(found.sweep,
                                                                   speedups=speedups))
    changed = with_pool(changed, speedups={(SYNC, heaviest, 4): 1.0})
    assert analysis.envpool_heavy_sentence(changed) == (
        f"With {analysis.work_label(heaviest)} of work per step, run in Python after each "
        "batch, EnvPool's synchronous mode sampled 1.0× the plain loop's rate with 4 "
        f"environments, against {format_ratio(parallel)} for AsyncVectorEnv" + verdict)
    assert analysis.envpool_heavy_sentence(without_pool(found)) == (
        "EnvPool with added work was not measured here.")


@pytest.mark.parametrize(("speedup", "expected"), [
    (1.5, "EnvPool, one process whose C++ environments step on threads, takes the advice "
          "further: with 4 plain CartPoles its synchronous mode, which hands back every step's "
          "observations, sampled 1.5× as fast as the plain loop."),
    (0.5, "EnvPool, one process whose C++ environments step on threads, keeps to the advice, "
          "but with 4 plain CartPoles its synchronous mode sampled only 0.50× as fast as the "
          "plain loop on this machine."),
])
def test_envpool_design_sentence(found, speedup, expected):
    changed = with_pool(found, speedups={(SYNC, found.sweep.lightest, 4): speedup})
    assert analysis.envpool_design_sentence(changed) == expected
    assert analysis.envpool_design_sentence(without_pool(found)) == (
        "EnvPool, one process whose C++ environments step on threads, was not measured in "
        "this build.")


POOL_SUBJECT = ("EnvPool, whose C++ environments step on threads inside the process that "
                "needs their observations,")


def pool_speedups(found, sync_best, async_best):
    """No-work speed-ups of both modes, each mode's best at the most environments."""
    light, most = found.sweep.lightest, found.sweep.most
    counts = {SYNC: found.sweep.env_counts,
              ASYNC: list(found.envpool.speedups[ASYNC][light])}
    best = {SYNC: sync_best, ASYNC: async_best}
    return {(mode, light, n): best[mode] * n / most for mode in counts for n in counts[mode]}


@pytest.mark.parametrize(("sync_best", "async_best", "expected"), [
    (2.0, 0.5, f"{POOL_SUBJECT} sampled up to 2.0× as many steps per second as one "
               "environment in a loop (its synchronous mode with {most} environments); it "
               "steps only its own environments."),
    (0.5, 1.5, f"{POOL_SUBJECT} sampled up to 1.5× as many steps per second as one "
               "environment in a loop (its asynchronous mode with {most} environments); it "
               "steps only its own environments."),
    (0.5, 0.25, f"{POOL_SUBJECT} did not beat one environment in a loop here in either mode, "
                "with any number of environments measured (at best 0.50× its steps per "
                "second, its synchronous mode with {most} environments)."),
])
def test_envpool_answer(found, sync_best, async_best, expected):
    changed = with_pool(found, speedups=pool_speedups(found, sync_best, async_best))
    assert analysis.envpool_answer(changed) == expected.format(most=found.sweep.most)
    assert analysis.envpool_answer(without_pool(found)) == (
        f"{POOL_SUBJECT} was not measured in this build.")


@pytest.mark.parametrize(("hand_off", "ending"), [
    (10e-6, ", less than a bare Pipe round trip (20.0 µs); the rest is spent in Python, in "
            "the wrapper around those two calls and in the loop's own work of drawing "
            "actions and storing observations."),
    (30e-6, ", no less than a bare Pipe round trip (20.0 µs): on this machine a thread woke "
            "no faster than a process, so what the pool saves is the pickling and the worker's "
            "Python loop, not the wake-up."),
])
def test_envpool_call_sentence(found, hand_off, ending):
    sweep = with_light(found.sweep)
    rates = {b: {w: dict(e) for w, e in by_w.items()} for b, by_w in sweep.rates.items()}
    rates["async_shm"][sweep.lightest][sweep.fewest] = 5000.0  # 200 µs a step
    changed = dataclasses.replace(
        found, sweep=dataclasses.replace(sweep, rates=rates),
        round_trips=dataclasses.replace(found.round_trips, pipe=20e-6))
    changed = with_pool(changed, rates={(SYNC, sweep.lightest, sweep.fewest): 12500.0},
                        hand_off=hand_off)
    assert analysis.envpool_call_sentence(changed) == (
        "In the sampling loops here, one step of a one-environment pool cost 80.0 µs, against "
        "200 µs for a one-environment AsyncVectorEnv. Of that, the pool's own hand-off to its "
        "thread and back, timed without EnvPool's Python wrapper, cost "
        f"{hand_off * 1e6:.1f} µs" + ending)
    assert analysis.envpool_call_sentence(without_pool(found)) == (
        "This build did not measure EnvPool, so it cannot set these costs side by side.")


def test_envpool_resets_and_figures(found):
    changed = with_pool(found, reset_share=0.043)
    assert analysis.envpool_resets_sentence(changed) == (
        "EnvPool resets a finished environment on its next call and discards that call's "
        "action; 4% of its steps counted here were such resets (the Gymnasium backends reset "
        "within the step, so every one of their steps is a real step).")
    assert analysis.envpool_resets_sentence(without_pool(found)) == (
        "EnvPool resets a finished environment on its next call and discards that call's "
        "action; how many of its steps were such resets was not measured here.")
    figures = analysis.envpool_figures(found)
    assert all(value != analysis.NOT_MEASURED for value in figures.values())
    absent = analysis.envpool_figures(without_pool(found))
    assert set(absent) == set(figures)
    assert set(absent.values()) == {analysis.NOT_MEASURED}
    assert analysis.envpool_status(found).startswith("This build measured EnvPool ")


def with_scores(found, work_s, scores):
    """``found`` with the given speed-ups over the loop at ``work_s`` and the most envs."""
    sweep, most = found.sweep, found.sweep.most
    table = {b: {w: dict(by_envs) for w, by_envs in by_work.items()}
             for b, by_work in sweep.speedups.items()}
    for backend in analysis.COMPARED:
        table[backend][work_s][most] = scores.get(backend, 0.1)
    changed = dataclasses.replace(found, sweep=dataclasses.replace(sweep, speedups=table))
    pool = {(mode, work_s, most): scores.get(mode, 0.1)
            for mode in (SYNC, ASYNC) if most in found.envpool.speedups[mode].get(work_s, {})}
    return with_pool(changed, speedups=pool)


@pytest.mark.parametrize(("scores", "cell"), [
    ({"ray": 2.4, "async_shm": 2.0}, "Ray actors, at 1.2× the steps per second of "
                                     "AsyncVectorEnv with shared memory"),
    ({"sync": 1.05}, "SyncVectorEnv and the plain loop (one environment), level (within 10%)"),
    ({}, "The plain loop (one environment), at 10× the steps per second of "),
])
def test_decision_sampling(found, scores, cell):
    heaviest = found.sweep.heaviest
    changed = with_scores(found, heaviest, scores)
    assert analysis.decision_sampling(changed, heaviest).startswith(cell)
    why = analysis.decision_sampling_why(changed, heaviest)
    assert why.startswith(f"With {found.sweep.most} environments and ")
    assert "of CPU work added to every step" in why
    light = analysis.decision_sampling_why(changed, found.sweep.lightest)
    assert "no work added to CartPole's step" in light


def test_decision_sampling_without_envpool_names_no_pool(found):
    text = analysis.decision_sampling_why(without_pool(found), found.sweep.lightest)
    assert "EnvPool" not in text
    assert set(analysis.texts(without_pool(found))) >= {"decision_cheap_envs",
                                                         "decision_heavy_envs"}
