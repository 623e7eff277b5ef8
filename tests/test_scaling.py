"""The scaling chapter: the sweep's helpers (worker counts, speed-ups, Amdahl's fit), its
quick run (every line at every count, correct results, nothing left running), a run
without Ray and scipy, every data-chosen sentence, and contributed machines drawn as extra
lines; analysis on the committed result ``tests/results/scaling.json``."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from parbook import machines
from parbook.bench.results import Result, load
from parbook.bench.scaling import (
    AmdahlFit,
    best_speedup,
    fit_amdahl,
    oversubscribed,
    speedups,
    worker_counts,
)
from parbook.chapters.scaling import analysis, views
from parbook.chapters.scaling import experiment as sweep
from parbook.chapters.scaling import workload as work
from parbook.shared.child import run_command
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

COMMITTED = ROOT / "tests" / "results" / "scaling.json"
NO_MACHINES = machines.Contributions()


@pytest.fixture(scope="module")
def scaling_quick(quick_results):
    return quick_results["scaling"]


@pytest.fixture(scope="module")
def committed():
    return load(COMMITTED)


@pytest.fixture(scope="module")
def found(committed):
    """Findings of the committed result, which the sentence tests change to flip them."""
    return analysis.findings(committed, NO_MACHINES)


# --- the sweep's helpers ---------------------------------------------------------------------

@pytest.mark.parametrize("cpus, counts", [
    (1, [1, 2]),
    (2, [1, 2, 4]),
    (3, [1, 2, 3, 6]),
    (5, [1, 2, 3, 4, 5, 10]),
    (16, [1, 2, 3, 4, 6, 8, 12, 16, 32]),
    (32, [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64]),
    (48, [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96]),
])
def test_worker_counts_go_to_the_usable_cpus_and_twice_as_many(cpus, counts):
    assert worker_counts(cpus) == counts
    assert oversubscribed(counts, cpus) == [2 * cpus]


def test_the_fit_recovers_the_serial_fraction_of_amdahls_law():
    for f in (0.0, 0.05, 0.3, 1.0):
        measured = {n: 1 / (f + (1 - f) / n) for n in (1, 2, 4, 8)}
        fit = fit_amdahl(measured, usable_cpus=8)
        assert fit is not None and math.isclose(fit.serial_fraction, f, abs_tol=1e-12)
        assert fit.fitted_counts == (2, 4, 8)


def test_the_fit_leaves_out_oversubscribed_points_and_clips_to_zero_and_one():
    # 16 workers on 8 CPUs: far below the law's curve, and not fitted.
    measured = {1: 1.0, 2: 2.0, 4: 4.0, 8: 8.0, 16: 1.0}
    assert fit_amdahl(measured, 8) == AmdahlFit(0.0, (2, 4, 8))
    assert fit_amdahl({1: 1.0, 2: 2.5}, 2).serial_fraction == 0.0  # superlinear
    assert fit_amdahl({1: 1.0, 2: 0.5}, 2).serial_fraction == 1.0  # slower than one
    assert fit_amdahl({1: 1.0, 2: 1.0}, 1) is None  # nothing between 2 and the CPUs
    assert fit_amdahl({1: 1.0}, 4) is None


def test_the_fit_predicts_its_ceiling():
    fit = AmdahlFit(0.1, (2,))
    assert math.isclose(fit.ceiling, 10) and fit.speedup(1) == 1
    assert fit.speedup(1e9) < fit.ceiling
    assert math.isinf(AmdahlFit(0.0, (2,)).ceiling)


def test_speedups_and_the_best_point():
    assert speedups({1: 2.0, 2: 1.0, 4: 1.25}) == {1: 1.0, 2: 2.0, 4: 1.6}
    assert speedups({2: 1.0}) == {}
    assert best_speedup({1: 1.0, 2: 2.0, 4: 1.6}) == (2, 2.0)
    assert best_speedup({}) is None


def test_split_work_keeps_the_total_and_evens_the_tasks():
    tasks = work.split_work(1001, 3, 4)
    assert len(tasks) == 12 and sum(tasks) == 1001 and max(tasks) - min(tasks) <= 1


def test_processes_and_threads_compute_the_same_sums():
    import multiprocessing

    tasks = work.split_work(20_000, 2, 2)
    with work.started_pool(multiprocessing.get_context("spawn"), 2) as pool, \
            ThreadPoolExecutor(2) as executor:
        assert work.on_processes(pool, tasks) == work.on_threads(executor, tasks)


def test_the_memory_cap_leaves_out_counts_it_cannot_hold():
    per_worker = sweep.MEMORY_PER_WORKER_BYTES
    assert sweep.counts_for(4, 100 * per_worker) == ([1, 2, 3, 4, 8], [])
    assert sweep.counts_for(4, 5 * per_worker) == ([1, 2, 3, 4], [8])


# --- the quick run -----------------------------------------------------------------------------

def test_every_line_is_measured_at_every_count(scaling_quick):
    counts = scaling_quick.parameters["counts"]
    cpus = scaling_quick.parameters["usable_cpus"]
    dropped = scaling_quick.values["memory_dropped_counts"]
    assert sorted(counts + dropped) == worker_counts(cpus)
    skipped = {(s["workload"], s["version"]) for s in scaling_quick.values["skipped"]}
    measured = {}
    for case in scaling_quick.group(sweep.GROUP):
        key = (case.params["workload"], case.params["version"])
        measured.setdefault(key, []).append(case.params["workers"])
    assert set(measured) | skipped == set(sweep.BACKEND_LABELS)
    assert all(sorted(workers) == counts for workers in measured.values()), measured


def test_every_version_computes_the_same_results(scaling_quick):
    assert all(scaling_quick.values["agree"].values()), scaling_quick.values["agree"]


def test_the_quick_result_has_a_line_and_a_fit_for_every_backend(scaling_quick):
    found = analysis.findings(scaling_quick, NO_MACHINES)
    assert {(line.workload, line.version) for line in found.lines} == {
        key for key in sweep.BACKEND_LABELS
        if key not in {(s["workload"], s["version"]) for s in scaling_quick.values["skipped"]}}
    for line in found.lines:
        assert line.at(1) == 1.0
        assert all(s > 0 for _, s in line.speedup)
        assert (line.fit is None) == (found.setting.cpus == 1)


def test_a_run_without_ray_and_scipy_says_what_it_left_out(tmp_path):
    """Under an interpreter whose environment has only the sweep's requirements (here:
    Ray, scipy, pandas and matplotlib made unimportable in a child), the sweep still runs
    the rest and records why it skipped what it did."""
    out = tmp_path / "scaling.json"
    script = (
        "import sys\n"
        "for name in ('ray', 'scipy', 'pandas', 'matplotlib'): sys.modules[name] = None\n"
        "from parbook.bench.results import save\n"
        "from parbook.chapters.scaling import experiment\n"
        "if __name__ == '__main__':\n"
        f"    save(experiment.run(quick=True), {str(out)!r})\n")
    child = run_command([sys.executable, "-c", script], time_limit_s=600)
    assert child.returncode == 0 and not child.killed, child.errors[-3000:]
    result = load(out)
    assert set(result.values["absent_modules"]) == {"ray", "scipy"}
    skipped = {(s["workload"], s["version"]) for s in result.values["skipped"]}
    assert skipped == {(w, "ray") for w in sweep.ARTICLE_WORKLOADS} | {
        ("numerical", v) for v in sweep.ARTICLE_VERSIONS}
    assert {c.params["workload"] for c in result.group(sweep.GROUP)} == {
        "cpu", "stateful", "initialisation"}
    found = analysis.findings(result, NO_MACHINES)
    said = analysis.texts(found)
    assert said["scaling_skipped"].startswith("Not run in this build: Ray's versions (ray ")
    assert "the numerical workload (scipy " in said["scaling_skipped"]
    assert said["scaling_article_fits"].startswith("Ray did not run in this build")
    views.FIGURES["scaling-speedup"](result, found)
    for make in views.TABLES.values():
        assert not make(result, found).frame.empty


# --- every sentence chosen by the data ------------------------------------------------------

def synthetic(times: dict[tuple[str, str], dict[int, float]], cpus: int = 2,
              gil: bool = True, absent: dict[str, str] | None = None,
              agree: dict[str, bool] | None = None, dropped: tuple[int, ...] = ()) -> Result:
    """A scaling result with the given median times (one sample each)."""
    counts = sorted({n for points in times.values() for n in points})
    result = Result(experiment="scaling", quick=True)
    result.parameters.update(
        usable_cpus=cpus, counts=counts, oversubscribed=oversubscribed(counts, cpus),
        start_method="fork", worker_start_method="forkserver", cpu_total_s=0.2,
        cpu_tasks_per_worker=4, tasks_per_round=max(counts), rounds=2, image_side=400,
        words=1200, batch=64, repeats=1)
    result.values.update(python_version="3.14.0", free_threaded_build=not gil,
                         gil_enabled=gil, absent_modules=absent or {}, skipped=[],
                         agree=agree or {"cpu": True}, memory_dropped_counts=list(dropped))
    for (workload, version), points in times.items():
        for workers, seconds in points.items():
            result.add(sweep.GROUP, {"workload": workload, "version": version,
                                     "workers": workers}, [seconds])
    return result


def amdahl_times(f: float, counts: tuple[int, ...], over: float | None = None,
                 cpus: int | None = None) -> dict[int, float]:
    """Times of a job with serial fraction ``f`` (one second on one worker); past ``cpus``
    the time is ``over`` times the time on ``cpus``."""
    cpus = cpus or max(counts)
    times = {n: f + (1 - f) / min(n, cpus) for n in counts}
    if over is not None:
        times.update({n: times[cpus] * over for n in counts if n > cpus})
    return times


def texts_of(result: Result, contributed: machines.Contributions = NO_MACHINES) -> dict:
    return analysis.texts(analysis.findings(result, contributed))


def cpu_result(processes_f: float, threads_f: float, cpus: int = 2, gil: bool = True,
               over: float = 1.0) -> Result:
    counts = tuple(worker_counts(cpus))
    return synthetic({("cpu", "processes"): amdahl_times(processes_f, counts, over, cpus),
                      ("cpu", "threads"): amdahl_times(threads_f, counts, over, cpus)},
                     cpus=cpus, gil=gil)


@pytest.mark.parametrize("result, expected", [
    (cpu_result(0.0, 1.0), "which share one GIL."),
    (cpu_result(0.0, 0.0), "unexpectedly with the GIL on"),
    (cpu_result(0.0, 0.0, gil=False), "of a Python with the GIL off."),
    (cpu_result(0.0, 1.0, cpus=1), "This build had one usable CPU"),
])
def test_short_answer(result, expected):
    assert expected in texts_of(result)["scaling_short_answer"]


@pytest.mark.parametrize("cpus, expected", [
    (1, "one usable CPU, so its sweep has no parallel point"),
    (2, "its lines cannot show what happens past 2 cores, let alone on the article's 48."),
    (64, "at least the article's 48 cores, so its sweep covers the article's scale"),
])
def test_reach_sentence_follows_the_measured_cpus(cpus, expected):
    assert expected in texts_of(cpu_result(0.1, 1.0, cpus=cpus))["scaling_reach"]


@pytest.mark.parametrize("f, cpus, expected", [
    (0.0, 4, "came close to ideal: 4.0× on 4 workers"),
    (0.3, 4, "gained, but less than ideal"),
    (1.0, 4, "gained nothing measurable here: 1.0× on 4 workers"),
    (0.0, 1, "With one CPU there is no parallel speed-up"),
])
def test_processes_sentence(f, cpus, expected):
    assert expected in texts_of(cpu_result(f, 1.0, cpus=cpus))["scaling_processes_sentence"]


@pytest.mark.parametrize("threads_f, gil, cpus, expected", [
    (1.0, True, 2, "with the GIL on, one thread at a time runs Python"),
    (0.0, True, 2, "which the GIL should not allow"),
    (0.0, False, 2, "With the GIL off, the thread pool reached 2.0×"),
    (1.0, False, 2, "Even with the GIL off"),
    (0.0, True, 1, "With one CPU, threads cannot compute at once"),
])
def test_threads_sentence(threads_f, gil, cpus, expected):
    said = texts_of(cpu_result(0.0, threads_f, cpus=cpus, gil=gil))["scaling_threads_sentence"]
    assert expected in said


@pytest.mark.parametrize("over, expected", [
    (1.5, ": slower, since"), (1.0, ": about the same"), (0.5, ": faster, which")])
def test_oversubscription_sentence(over, expected):
    said = texts_of(cpu_result(0.0, 1.0, over=over))["scaling_oversubscription"]
    assert said.startswith("Oversubscribed, 4 processes on 2 CPUs ran") and expected in said


def test_oversubscription_sentence_without_the_point():
    result = synthetic({("cpu", "processes"): {1: 1.0, 2: 0.5}, ("cpu", "threads"): {1: 1.0,
                                                                                    2: 1.0}})
    assert "no oversubscribed point" in texts_of(result)["scaling_oversubscription"]


@pytest.mark.parametrize("cpus, expected", [
    (1, "fits no serial fraction at all."),
    (2, "the fit rests on a single point, 2 workers"),
    (8, "the fit uses 5 worker counts, 2, 3, 4, 6 and 8."),
])
def test_fit_sentence(cpus, expected):
    assert expected in texts_of(cpu_result(0.1, 1.0, cpus=cpus))["scaling_fit_sentence"]


@pytest.mark.parametrize("f, cpus, expected", [
    (0.0, 4, "f came out at zero"),
    (1.0, 4, "f came out at 100%: by that fit, no number of workers"),
    (0.1, 4, "f came out at 10%, which would hold its speed-up to at most 10×"),
    (0.1, 1, "no fitted serial fraction in this build"),
])
def test_processes_fit_sentence(f, cpus, expected):
    assert expected in texts_of(cpu_result(f, 1.0, cpus=cpus))["scaling_processes_fit"]


def article_result(naive_f: float, fair_f: float, ray_f: float | None,
                   cpus: int = 4) -> Result:
    counts = tuple(worker_counts(cpus))
    times = {("cpu", "processes"): amdahl_times(0.0, counts, 1.0, cpus),
             ("cpu", "threads"): amdahl_times(1.0, counts, 1.0, cpus)}
    for workload in sweep.ARTICLE_WORKLOADS:
        times[(workload, "naive_mp")] = amdahl_times(naive_f, counts, 1.0, cpus)
        times[(workload, "fair_mp")] = amdahl_times(fair_f, counts, 1.0, cpus)
        if ray_f is not None:
            times[(workload, "ray")] = amdahl_times(ray_f, counts, 1.0, cpus)
    return synthetic(times, cpus=cpus,
                     absent=None if ray_f is not None else {"ray": "ray is not installed"})


@pytest.mark.parametrize("naive_f, fair_f, expected", [
    (0.5, 0.1, "larger serial fraction in every workload"),
    (0.1, 0.5, "did not have the larger serial fraction in any workload"),
])
def test_naive_against_fair_sentence(naive_f, fair_f, expected):
    said = texts_of(article_result(naive_f, fair_f, 0.0))["scaling_naive_against_fair"]
    assert expected in said


def test_naive_against_fair_sentence_in_some_workloads_and_in_none(found):
    lines = [dataclasses.replace(line, fit=AmdahlFit(
        0.5 if line.workload == "stateful" and line.version == "naive_mp" else 0.2, (2,)))
        for line in found.lines]
    said = analysis.naive_against_fair_sentence(dataclasses.replace(found, lines=lines))
    assert said.endswith("in 1 of 3 workloads (stateful computation).")
    no_fits = [dataclasses.replace(line, fit=None) for line in found.lines]
    assert analysis.naive_against_fair_sentence(dataclasses.replace(
        found, lines=no_fits)).startswith("No workload has a fitted serial fraction")


@pytest.mark.parametrize("ray_f, expected", [
    (0.5, "none of Ray's versions would reach the article's speed-up on 48 workers."),
    (0.0, "small enough to allow the article's speed-ups on 48 workers for every workload"),
    (None, "Ray did not run in this build (ray is not installed)"),
])
def test_article_fits_sentence(ray_f, expected):
    assert expected in texts_of(article_result(0.3, 0.1, ray_f))["scaling_article_fits"]


def test_article_fits_sentence_in_some_workloads_and_without_fits(found):
    # The article's Ray speed-ups fall from numerical to initialisation: a serial fraction
    # between their bounds reaches the smaller ones only.
    bound = {w: analysis.largest_serial_fraction(analysis.article_speedup(w), 48)
             for w in sweep.ARTICLE_WORKLOADS}
    middle = (bound["numerical"] + bound["stateful"]) / 2
    lines = [dataclasses.replace(line, fit=AmdahlFit(middle, (2,))) for line in found.lines]
    said = analysis.article_fits_sentence(dataclasses.replace(found, lines=lines))
    assert said.endswith("in 2 of 3 workloads.")
    no_fits = [dataclasses.replace(line, fit=None) for line in found.lines]
    assert analysis.article_fits_sentence(dataclasses.replace(
        found, lines=no_fits)).startswith("This build fitted no serial fraction for Ray")


def test_the_articles_bounds_follow_amdahls_law():
    for workload in sweep.ARTICLE_WORKLOADS:
        speedup = analysis.article_speedup(workload)
        f = analysis.largest_serial_fraction(speedup, 48)
        assert math.isclose(AmdahlFit(f, (48,)).speedup(48), speedup)


def test_skipped_and_agreement_sentences(found):
    setting = found.setting
    assert analysis.skipped_sentence(setting) == "Every case of the sweep ran."
    missing = dataclasses.replace(setting, absent=(("ray", "ray is not installed"),
                                                   ("scipy", "scipy is not installed")),
                                  memory_dropped=(64,))
    assert analysis.skipped_sentence(missing) == (
        "Not run in this build: Ray's versions (ray is not installed), the numerical "
        "workload (scipy is not installed) and 64 workers (not enough memory).")
    assert analysis.agreement_sentence(setting).startswith("At every worker count")
    wrong = dataclasses.replace(setting, disagreeing=("stateful",))
    assert "computation (prefix counts); their times" in analysis.agreement_sentence(wrong)


@pytest.mark.parametrize("gil, free_threaded, expected", [
    (True, False, "with the GIL enabled"), (True, True, "running with the GIL switched"),
    (False, True, "with the GIL disabled")])
def test_interpreter_text(found, gil, free_threaded, expected):
    setting = dataclasses.replace(found.setting, gil_enabled=gil,
                                  free_threaded_build=free_threaded)
    assert expected in analysis.interpreter_text(setting)


def test_format_share_keeps_two_significant_digits():
    assert [analysis.format_share(x) for x in (0, 0.0145, 0.123, 1.0)] == [
        "0%", "1.5%", "12%", "100%"]


def test_every_text_is_a_whole_sentence_or_a_value(found):
    for key, value in analysis.texts(found).items():
        assert value != "", key
        if isinstance(value, str) and " " in value and key.endswith(
                ("sentence", "answer", "reach", "fit", "fits", "skipped", "agreement",
                 "contributions", "oversubscription", "against_fair")):
            assert value[0].isupper() and value.endswith("."), (key, value)


# --- contributed machines ----------------------------------------------------------------------

def contribute(root, name: str, source, **fingerprint) -> None:
    """A machine folder ``root/name`` holding a copy of ``source`` whose fingerprint (and,
    for ``usable_cpus``, the sweep's own record) says another machine measured it."""
    data = json.loads(source.read_text())
    data["machine"].update(fingerprint)
    if "usable_cpus" in fingerprint:
        data["parameters"]["usable_cpus"] = fingerprint["usable_cpus"]
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "scaling.json").write_text(json.dumps(data))


def test_no_contributed_machine_reads_well(committed, tmp_path, monkeypatch):
    monkeypatch.setenv(machines.MACHINES_ENV, str(tmp_path / "none-here"))
    found = analysis.findings(committed)
    assert found.contributions == analysis.Contributions()
    said = analysis.texts(found)["scaling_contributions"]
    assert said.startswith("No reader has contributed") and "left out" not in said


def test_a_contributed_machine_is_drawn_and_named(committed, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    contribute(tmp_path, "epyc-64", COMMITTED, cpu_model="AMD EPYC 7763", usable_cpus=64,
               logical_cpus=128)
    (tmp_path / "epyc-64" / "broken.json").write_text("{not json")
    (tmp_path / "epyc-64" / "notes.json").write_text(json.dumps({"format": "other"}))
    monkeypatch.setenv(machines.MACHINES_ENV, str(tmp_path))
    found = analysis.findings(committed)
    assert [m.name for m in found.contributions.machines] == ["epyc-64"]
    assert found.contributions.machines[0].cpu_model == "AMD EPYC 7763"
    skipped = found.contributions.skipped
    assert len(skipped) == 2
    assert skipped[0].startswith("results/machines/epyc-64/broken.json: not valid JSON")
    assert skipped[1].startswith("results/machines/epyc-64/notes.json is not a parbook result")
    said = analysis.texts(found)["scaling_contributions"]
    assert "one contributed machine: epyc-64 (64 usable CPUs)." in said
    assert "names the 2 files left out of the contributed folders" in said
    alone = views.draw_speedup([("this build", committed)])
    both = views.FIGURES["scaling-speedup"](committed, found)
    try:
        legend = [text.get_text() for text in both.legends[0].get_texts()]
        assert "epyc-64, quick sizes (64 usable CPUs)" in legend
        assert len(both.axes[0].lines) > len(alone.axes[0].lines)
    finally:
        plt.close(alone)
        plt.close(both)


def test_a_contributed_result_this_version_cannot_read_is_left_out(committed, tmp_path):
    data = json.loads(COMMITTED.read_text())
    del data["parameters"]["usable_cpus"]
    folder = tmp_path / "odd-box"
    folder.mkdir()
    (folder / "scaling.json").write_text(json.dumps(data))
    found = analysis.findings(committed, machines.contributed(tmp_path))
    assert found.contributions.machines == ()
    assert found.contributions.skipped[0].startswith(
        "results/machines/odd-box: its scaling result cannot be read by this version")


def test_the_views_draw_several_labelled_results(committed):
    """One line per labelled result, as the page will draw one per interpreter."""
    import matplotlib.pyplot as plt

    other = Result.from_json(json.loads(COMMITTED.read_text()))
    other.machine = {**other.machine, "python_version": "3.14.0"}
    figure = views.draw_speedup([("3.11", committed), ("3.14t", other)])
    try:
        legend = [text.get_text() for text in figure.legends[0].get_texts()]
        assert legend[:2] == ["3.11 (2 usable CPUs)", "3.14t (2 usable CPUs)"]
    finally:
        plt.close(figure)




def test_contributions_sentence_for_several_machines_and_one_left_out(committed):
    two = tuple(analysis.Contributed(name, False, 32, "CPU", committed)
                for name in ("a", "b"))
    said = analysis.contributions_sentence(analysis.Contributions(
        machines=two, skipped=("results/machines/b/x.json: not valid JSON; left out",)))
    assert said == ("The figure also shows 2 contributed machines: a (32 usable CPUs) and b "
                    "(32 usable CPUs). The Machines page names the one file left out of the "
                    "contributed folders, with the reason.")


@pytest.mark.parametrize("rounds, expected", [(1, "for 1 round, on"), (2, "for 2 rounds, on")])
def test_job_sizes_sentence(found, rounds, expected):
    sizes = dataclasses.replace(found.sizes, rounds=rounds)
    assert expected in analysis.job_sizes_sentence(sizes)


# ---------------------------------------------------------------------------------------
# Several interpreters side by side.


def interpreter_run(found, version, gil_enabled=True, threads_at_cpus=1.0):
    """An interpreter's run whose findings are the committed ones, with the thread pool's
    speed-up at the usable CPUs and the GIL as given."""
    from parbook.interpreters import InterpreterRun

    cpus = found.setting.cpus
    lines = tuple(dataclasses.replace(line, speedup=((1, 1.0), (cpus, threads_at_cpus)))
                  if line.version == "threads" else line for line in found.lines)
    changed = dataclasses.replace(
        found, lines=lines, setting=dataclasses.replace(found.setting, gil_enabled=gil_enabled))
    result = Result(experiment="scaling", quick=True, machine={
        "python_implementation": "CPython", "python_version": version,
        "free_threaded_build": not gil_enabled, "gil_enabled": gil_enabled})
    return InterpreterRun(None, result=result, found=changed)


def test_threads_across_interpreters_every_case(found):
    if found.setting.cpus < 2:
        pytest.skip("the committed result has one usable CPU")
    gil = [interpreter_run(found, "3.12.1"), interpreter_run(found, "3.13.0", threads_at_cpus=0.9)]
    text = analysis.threads_across_interpreters(gil)
    assert text.startswith("At the usable CPUs, the CPU-bound thread pool reached 1.0× on "
                           "CPython 3.12.1 and 0.90× on CPython 3.13.0.")
    assert text.endswith("Every one of these interpreters had the GIL on, so its threads took "
                         "turns at running Python whatever the number of workers.")
    free = interpreter_run(found, "3.14.0", gil_enabled=False, threads_at_cpus=1.9)
    assert analysis.threads_across_interpreters([*gil, free]).endswith(
        "With the GIL off, CPython 3.14.0t scaled its threads like processes.")
    flat = interpreter_run(found, "3.14.0", gil_enabled=False, threads_at_cpus=1.0)
    assert analysis.threads_across_interpreters([flat]).endswith(
        "With the GIL off, CPython 3.14.0t still did not scale its threads here.")
    no_threads = dataclasses.replace(gil[0], found=dataclasses.replace(found, lines=()))
    assert analysis.threads_across_interpreters([no_threads]).startswith(
        "No interpreter this build ran measured the thread pool")


def test_interpreter_rows_give_every_line_and_the_gil(found):
    rows = analysis.interpreter_rows(found)
    assert rows["GIL while the sweep ran"] in ("on", "off")
    assert len(rows) == 1 + len(found.lines)
    assert all("serial fraction" in cell for key, cell in rows.items()
               if key != "GIL while the sweep ran")


def with_speedup(found, workload, version, speedup):
    """The committed findings with one line's speed-ups replaced."""
    lines = tuple(dataclasses.replace(line, speedup=speedup)
                  if (line.workload, line.version) == (workload, version) else
                  dataclasses.replace(line, speedup=((1, 1.0), (2, 1.5)))
                  for line in found.lines)
    return dataclasses.replace(found, lines=lines)


def test_beyond_ideal_sentence_every_case(found):
    plain = with_speedup(found, "cpu", "processes", ((1, 1.0), (2, 1.5)))
    assert analysis.beyond_ideal_sentence(plain).startswith(
        "No line ran faster than the ideal line")
    shrinking = with_speedup(found, "stateful", "naive_mp", ((1, 1.0), (2, 3.25), (4, 4.0)))
    text = analysis.beyond_ideal_sentence(shrinking)
    assert text.startswith("The article's stateful multiprocessing code ran 3.2× as fast on "
                           "2 workers as on one, faster than the ideal line")
    assert "the job itself shrinks" in text and "also ran" not in text
    other = with_speedup(found, "cpu", "processes", ((1, 1.0), (2, 2.5)))
    text = analysis.beyond_ideal_sentence(other)
    assert text.startswith("CPU-bound, process pool (2.5× on 2 workers) also ran faster than "
                           "the same work allows")
    assert "the job itself shrinks" not in text
