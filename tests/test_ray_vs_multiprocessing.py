"""The ray-vs-mp experiment in quick mode, and its workloads under every start method."""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from parbook import sources
from parbook.chapters.pools.workload import BLAS_VARIABLES
from parbook.chapters.ray_vs_multiprocessing import experiment as experiment
from parbook.chapters.ray_vs_multiprocessing import model as model_work
from parbook.chapters.ray_vs_multiprocessing import stateful as stateful_work
from parbook.chapters.ray_vs_multiprocessing import workload as work
from parbook.chapters.shared_memory.workload import SharedArray

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

TEMP = Path(tempfile.gettempdir())


def model_dirs() -> set[str]:
    return {path.name for path in TEMP.glob("parbook-model-*")}


@pytest.fixture(scope="module")
def quick_run():
    before = model_dirs()
    result = experiment.run(quick=True)
    return result, model_dirs() - before


def test_every_case_is_present_with_positive_finite_samples(quick_run):
    result, _ = quick_run
    runs = {(c.params["workload"], c.params["version"]) for c in result.group("runs")}
    assert runs == {(w, v) for w in experiment.WORKLOAD_LABELS for v in experiment.VERSION_LABELS}
    assert {c.params["what"] for c in result.group("startup")} == set(experiment.STARTUP_LABELS)
    assert result.group("model_load")
    for case in result.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_every_version_computed_the_same_answer(quick_run):
    result, _ = quick_run
    agree = result.values["agree"]
    assert agree["numerical"] is True
    assert agree["stateful"] is True
    assert agree["initialisation"] >= 0.999
    assert result.values["popular_prefixes"] > 0
    assert result.values["state_entries"] > 0 and result.values["state_bytes"] > 0


def test_the_run_recorded_where_it_ran_and_removed_its_model(quick_run):
    result, new_dirs = quick_run
    params = result.parameters
    assert params["ray_address"] == "local" and params["ray_nodes"] >= 1
    assert params["worker_start_method"] in multiprocessing.get_all_start_methods()
    assert params["workers"] >= 1
    assert not new_dirs  # the temporary model folder is gone


def test_findings_verdicts_and_tables(quick_run):
    result, _ = quick_run
    found = experiment.findings(result)
    for workload in experiment.WORKLOAD_LABELS:
        for version in experiment.VERSION_LABELS:
            assert found["speedup"][workload][version] > 0
        assert found["ray_over_fair"][workload] > 0
    assert found["speedup"]["numerical"]["serial"] == 1.0
    said = experiment.verdicts(found)
    assert {"claim_serial", "claim_mp", "claim_fair", "with_startup"} <= set(said)
    assert all(sentence and "n/a" not in sentence for sentence in said.values())
    for workload in experiment.WORKLOAD_LABELS:
        assert len(experiment.version_table(result, workload)) == len(experiment.VERSION_LABELS)
    table = experiment.article_table(result)
    assert len(table) == len(experiment.WORKLOAD_LABELS) * len(experiment.VERSION_LABELS)
    fair = table.xs(experiment.VERSION_LABELS["fair_mp"], level="version")
    assert (fair.filter(like="article 002") == "–").all().all()
    assert len(experiment.startup_table(result)) == len(experiment.STARTUP_LABELS)


def test_the_figure_draws_four_bars_per_workload(quick_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result, _ = quick_run
    figure = experiment.speedup_figure(experiment.findings(result))
    try:
        bars = [patch for patch in figure.axes[0].patches]
        assert len(bars) == len(experiment.WORKLOAD_LABELS) * len(experiment.VERSION_LABELS)
    finally:
        plt.close(figure)


def test_the_articles_figures_are_recorded_for_every_workload():
    figures = experiment.article_figures()
    assert set(figures) == set(experiment.WORKLOAD_LABELS)
    for versions in figures.values():
        assert set(versions) == {"serial", "naive_mp", "ray"}
    assert figures["numerical"] == {"ray": 0.84, "naive_mp": 7.5, "serial": 24.0}
    assert experiment.claim_bounds() == {"serial": (10.0, 30.0), "naive_mp": (5.0, 25.0)}
    assert sources.RAY_VS_MP_TABLE.article.key == "002"


def test_prefix_counter_matches_a_plain_count():
    documents = stateful_work.make_documents(3, 300)
    counter = stateful_work.StreamingPrefixCount()
    for document in documents:
        counter.add_document(document)
    counts = Counter(word[:end] for document in documents for word in document
                     for end in range(1, len(word)))
    expected = {prefix for prefix, n in counts.items() if n > stateful_work.POPULAR_ABOVE}
    assert counter.get_popular() == expected and expected
    counter.reset()
    assert counter.get_popular() == set() and not counter.prefix_count


def test_model_round_trip_and_forward_pass(tmp_path):
    path = tmp_path / "model.npz"
    parameters = model_work.save_model(path, hidden=(16, 8))
    assert parameters == 784 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10
    model = model_work.load_model(path)
    assert [w.shape for w, _ in model] == [(784, 16), (16, 8), (8, 10)]
    labels = model_work.classify(model, model_work.make_batches(1, 5)[0])
    assert labels.shape == (5,) and labels.max() < model_work.CLASSES
    assert model_work.timed_load(path) > 0


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_multiprocessing_versions_agree_with_serial(method, tmp_path):
    """Every naive and fair version gives the serial answer, under every start method."""
    context = multiprocessing.get_context(method)
    workers = 2
    image = work.make_image(64)
    filters = work.make_filters(workers)
    documents = stateful_work.make_documents(workers * 2, 200)
    path = tmp_path / "model.npz"
    model_work.save_model(path, hidden=(32,))
    batches = model_work.make_batches(workers * 2, 4)
    expected_sum = work.checksum(work.numerical_serial(image, filters, 2))
    expected_popular = stateful_work.stateful_serial(
        [stateful_work.StreamingPrefixCount() for _ in range(workers)], documents)
    expected_labels = model_work.model_serial(model_work.load_model(path), batches)

    with SharedArray(image.shape, image.dtype) as shared:  # before any worker starts
        with work.ready_pool(context, workers) as (plain, threads):
            assert len(threads) == workers
            assert work.checksum(work.numerical_naive(plain, image, filters, 2)) == expected_sum
            states: list = []
            assert stateful_work.stateful_naive(plain, workers, documents, states) == \
                expected_popular
            assert len(states) == workers
            labels = model_work.model_naive(plain, path, batches, workers)
            assert model_work.agreement(labels, expected_labels) == 1.0
        with work.ready_pool(context, workers, work.attach_image, (shared,)) as (pool, _):
            assert work.checksum(work.numerical_fair(pool, shared, image, filters, 2)) == \
                expected_sum
    with stateful_work.CountingWorkers(context, workers) as counting:
        assert stateful_work.stateful_fair(counting, documents) == expected_popular
        counting.ask_all("reset")
        assert stateful_work.stateful_fair(counting, documents[:workers]) <= expected_popular
    with work.ready_pool(context, workers, model_work.load_into_worker, (str(path),)) as (
            pool, _):
        labels = model_work.model_fair(pool, batches, workers)
        assert model_work.agreement(labels, expected_labels) == 1.0


def test_worker_count_is_capped_by_memory():
    gib = experiment.MEMORY_PER_WORKER_BYTES
    assert experiment.worker_count(8, available_bytes=64 * gib) == 8
    assert experiment.worker_count(8, available_bytes=3 * gib) == 3
    assert experiment.worker_count(8, available_bytes=0) == 1


def test_one_blas_thread_sets_and_restores_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with work.one_blas_thread():
        assert all(os.environ[name] == "1" for name in BLAS_VARIABLES)
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def test_time_versions_runs_a_warm_up_then_round_robin():
    calls: list[tuple[str, int]] = []
    versions = {
        name: experiment.Version(lambda r, n=name: calls.append((n, r)) or r,
                                 prepare=lambda n=name: calls.append((n, -1)))
        for name in ("a", "b")
    }
    samples, outputs = experiment.time_versions(versions, rounds=3, repeats=2)
    assert calls == [("a", -1), ("a", 1), ("b", -1), ("b", 1),
                     ("a", -1), ("a", 3), ("b", -1), ("b", 3),
                     ("a", -1), ("a", 3), ("b", -1), ("b", 3)]
    assert {name: len(s) for name, s in samples.items()} == {"a": 2, "b": 2}
    assert outputs == {"a": 3, "b": 3}
    assert np.all(np.array(samples["a"]) >= 0)
