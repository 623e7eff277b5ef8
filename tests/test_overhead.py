"""The overhead experiment in quick mode: every case present, every figure sane."""

import math

import pytest

from parbook import sources
from parbook.chapters.overhead import experiment as overhead
from parbook.render import tables


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
    frame = tables.comparison_table(
        overhead_quick, "article", sources.OVERHEAD_TABLE, rows=("body", "workers"),
        column="backend", row_labels={"body": overhead.BODY_LABELS.get},
        column_labels=overhead.BACKEND_LABELS,
    )
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
    curves = overhead.sweep_speedups(overhead_quick)
    assert set(curves) == set(overhead.SWEEP_LABELS) - {"serial"}
    for points in curves.values():
        assert len(points) == len(overhead.QUICK.sweep_durations_s)
        assert all(math.isfinite(s) and s > 0 for _, s in points)


def test_findings_cover_what_the_page_quotes(overhead_quick):
    found = overhead.findings(overhead_quick)
    assert found["cpus"] >= 1
    assert set(found["startup_per_process"]) >= {"spawn"}
    assert ("ray_actor", "unpinned") in found["round_trip"]
    assert ("os_pipe", found["software_placement"]) in found["round_trip"]
    assert ("os_pipe", found["parallel_placement"]) in found["round_trip"]


def test_break_even_interpolates_on_log_scales():
    assert overhead.break_even([(1e-4, 0.5), (1e-3, 2.0)]) == pytest.approx(1e-4 * 10 ** 0.5)
    assert overhead.break_even([(1e-4, 1.5), (1e-3, 2.0)]) == 1e-4
    assert overhead.break_even([(1e-4, 0.2), (1e-3, 0.5)]) is None
