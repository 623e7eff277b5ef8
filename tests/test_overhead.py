"""The overhead chapter: its quick run (every case present, every figure sane) and each of
its data-dependent sentences, on the committed result ``tests/results/overhead.json``."""

import dataclasses
import math
import multiprocessing

import pytest

from parbook.bench.results import load
from parbook.chapters.overhead import analysis, views
from parbook.chapters.overhead import experiment as overhead
from parbook.chapters.overhead import workload as work
from parbook.render import tables
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "overhead.json"
#: Glue keys book/rules.md quotes as overhead.md::KEY, with the type its format needs.
QUOTED_BY_RULES = {
    "overhead_startup_spawn": str, "overhead_startup_fork": str, "overhead_rt_pipe": str,
    "overhead_rt_ray_actor": str, "overhead_break_even_pool_per_task": str,
    "overhead_break_even_pool_map": str, "overhead_cpus": int, "overhead_best_overall": str,
}


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


def test_article_grid_is_complete(overhead_quick):
    cases = overhead_quick.group("article")
    keys = {(c.params["body"], c.params["workers"], c.params["backend"]) for c in cases}
    assert keys == {(body, workers, backend)
                    for body in overhead.TASK_BODIES
                    for workers in (1, 5, 10)
                    for backend in overhead.BACKENDS}
    assert len(cases) == 27


def test_every_sample_is_a_positive_finite_time(overhead_quick):
    for case in overhead_quick.cases:
        assert case.samples, case.params
        assert all(math.isfinite(s) and s > 0 for s in case.samples), case.params


def test_sleeping_tasks_take_at_least_their_sleep(overhead_quick):
    # A correctness check of the harness, not a speed claim: one process runs the
    # workers one after another, so N one-second sleeps cannot take under N seconds.
    for workers in (1, 5, 10):
        elapsed = overhead_quick.median("article", body="sleep_1s", workers=workers,
                                        backend="one_process")
        assert elapsed >= workers * 1.0


def test_comparison_table_has_all_27_cells_and_the_article_column(overhead_quick):
    frame = views.article_table(overhead_quick, analysis.findings(overhead_quick)).frame
    assert frame.shape == (9, 9)
    ours = frame.xs(tables.THIS_BUILD, axis=1, level=1)
    assert ours.size == 27 and ours.notna().all().all()
    article = frame.xs("article 000", axis=1, level=1)
    assert (article != "–").all().all()


def test_startup_and_round_trip_groups(overhead_quick):
    methods = {c.params["method"] for c in overhead_quick.group("startup")}
    assert "spawn" in methods
    channels = {c.params["channel"] for c in overhead_quick.group("round_trip")}
    assert channels == set(overhead.CHANNEL_LABELS)


def test_speedups_are_positive_and_finite(overhead_quick):
    curves = analysis.sweep_speedups(overhead_quick)
    assert set(curves) == set(overhead.SWEEP_LABELS) - {"serial"}
    for points in curves.values():
        assert len(points) == len(overhead.QUICK.sweep_durations_s)
        assert all(math.isfinite(s) and s > 0 for _, s in points)


def test_findings_cover_what_the_page_quotes(overhead_quick):
    found = analysis.findings(overhead_quick)
    assert found.setting.cpus >= 1
    assert set(found.startup.per_process) >= {"spawn"}
    trips = found.round_trips
    assert ("ray_actor", "unpinned") in trips.seconds
    assert ("os_pipe", trips.software_placement) in trips.seconds
    assert ("os_pipe", trips.parallel_placement) in trips.seconds


def test_break_even_interpolates_on_log_scales():
    assert analysis.break_even([(1e-4, 0.5), (1e-3, 2.0)]) == pytest.approx(1e-4 * 10 ** 0.5)
    assert analysis.break_even([(1e-4, 1.5), (1e-3, 2.0)]) == 1e-4
    assert analysis.break_even([(1e-4, 0.2), (1e-3, 0.5)]) is None


def test_a_stuck_worker_process_fails_the_run_instead_of_hanging_it(monkeypatch):
    # A worker that outlives the join's bound is killed and reported, not waited for.
    monkeypatch.setattr(work, "TIMEOUT_S", 0.2)
    with pytest.raises(RuntimeError, match="exit codes"):
        work.run_one_process_each(1, 30.0, multiprocessing.get_context("spawn"))


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("task", "actor", "expected"), [
    (0.003, 0.004, "both at or above that figure, so the claim holds here"),
    (0.001, 0.0005, "both below that figure: Ray's floor on this machine is lower than the "
                    "article found, though still far above a pipe's"),
    (0.003, 0.001, "a Ray task at or above that figure and an actor call below it, so the "
                   "claim holds only roughly here"),
    (0.001, 0.002, "an actor call at or above that figure and a Ray task below it, so the "
                   "claim holds only roughly here"),
])
def test_ray_claim_verdict(found, task, actor, expected):
    seconds = {**found.round_trips.seconds, ("ray_task", "unpinned"): task,
               ("ray_actor", "unpinned"): actor}
    trips = dataclasses.replace(found.round_trips, seconds=seconds, ray_claim=0.002)
    assert analysis.ray_claim_verdict(trips) == expected


@pytest.mark.parametrize(("speedups", "expected"), [
    ([(1e-4, 0.2), (1e-3, 0.5)], "none of the task lengths measured here"),
    ([(1e-4, 1.5), (1e-3, 2.0)], "100 µs or less (it already won at the shortest tasks "
                                 "measured)"),
    ([(1e-4, 0.5), (1e-3, 2.0)], "316 µs"),
])
def test_break_even_text(found, speedups, expected):
    sweep = dataclasses.replace(found.sweep, speedups={"pool_map": speedups})
    assert analysis.break_even_text(sweep, "pool_map") == expected


def test_texts_of_the_committed_result_keep_the_keys_and_types_other_pages_quote(found):
    texts = analysis.texts(found)
    for key, kind in QUOTED_BY_RULES.items():
        assert type(texts[key]) is kind, key
    assert texts["overhead_rt_ray_verdict"] == analysis.ray_claim_verdict(found.round_trips)
    for backend in found.sweep.speedups:
        assert texts[f"overhead_break_even_{backend}"] == analysis.break_even_text(
            found.sweep, backend)
    for method in ("fork", "forkserver", "spawn"):
        assert f"overhead_startup_{method}" in texts
    assert texts["overhead_rt_software_placement"] in overhead.PLACEMENT_LABELS.values()
