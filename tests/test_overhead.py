"""The overhead chapter: its quick run (every case present, every figure sane) and each of
its data-dependent sentences, on the committed result ``tests/results/overhead.json``."""

import dataclasses
import math
import multiprocessing

import pytest

from parbook import sources
from parbook.bench.results import load
from parbook.chapters.overhead import analysis, views
from parbook.chapters.overhead import experiment as overhead
from parbook.chapters.overhead import workload as work
from parbook.claims import Verdict
from parbook.render import tables
from tests.conftest import ROOT

COMMITTED = ROOT / "tests" / "results" / "overhead.json"
#: Glue keys book/rules.md quotes as overhead.md::KEY, with the type its format needs.
QUOTED_BY_RULES = {
    "overhead_startup_spawn": str, "overhead_startup_fork": str,
    "overhead_par002_rule": str, "overhead_break_even_factor_pool_per_task": str,
    "overhead_break_even_factor_ray_actors": str, "overhead_break_even_pool_per_task": str,
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


def test_the_middle_body_is_the_articles_code_not_its_header(overhead_quick):
    # The article's code sleeps 0.0001 s; its header says 0.001 s. Its own one-process
    # figures fit the code and cannot fit the header: N sleeps of 1 ms take at least N ms.
    assert overhead.TASK_BODIES["sleep_100us"] == 0.0001
    assert overhead.BODY_LABELS["sleep_100us"] == "sleep(0.0001)"
    for workers in (1, 5, 10):
        reported = sources.OVERHEAD_TABLE.lookup(body="sleep_100us", workers=workers,
                                                 backend="one_process")
        assert workers * 0.0001 <= reported < workers * sources.OVERHEAD_TABLE_HEADER_SLEEP_S
        # And this build's run of the same body sleeps at least that long.
        ours = overhead_quick.median("article", body="sleep_100us", workers=workers,
                                     backend="one_process")
        assert ours >= workers * 0.0001


def test_the_articles_machine_is_what_it_says():
    # The article names macOS 13.4.1 and a 2.6 GHz 6-core i7, never its start method.
    machine = sources.OVERHEAD_TABLE.machine
    assert "macOS 13.4.1" in machine and "2.6 GHz 6-core Intel Core i7" in machine
    assert "spawn" not in machine


def test_ray_first_use_is_one_run_of_the_first_actors_of_each_session(overhead_quick):
    cases = {c.params["workers"]: c for c in overhead_quick.group("ray_first_use")}
    assert set(cases) == {1, 10}
    assert all(len(case.samples) == 1 for case in cases.values())
    parameters = overhead_quick.parameters
    prestarted = parameters["ray_prestarted_workers"]
    local = parameters["ray_address"] == "local"
    assert prestarted == (int(parameters["ray_cluster_cpus"]) if local else None)
    found = analysis.findings(overhead_quick).first_use
    assert set(found.again) == {1, 10} and found.prestarted == prestarted


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
    # 1.996 ms is shown as 2.00 ms beside the claim's 2.00 ms: at the figure, not below.
    (0.001996, 0.0025, "both at or above that figure, so the claim holds here"),
])
def test_ray_claim_verdict(found, task, actor, expected):
    seconds = {**found.round_trips.seconds, ("ray_task", "unpinned"): task,
               ("ray_actor", "unpinned"): actor}
    trips = dataclasses.replace(found.round_trips, seconds=seconds, ray_claim=0.002)
    assert analysis.ray_claim_verdict(trips) == expected


@pytest.mark.parametrize(("speedups", "expected"), [
    ([(1e-4, 0.2), (1e-3, 0.5)], "over 1.00 ms, if at all (no task length measured here was "
                                 "long enough)"),
    ([(1e-4, 1.5), (1e-3, 2.0)], "100 µs or less (it already won at the shortest tasks "
                                 "measured)"),
    ([(1e-4, 0.5), (1e-3, 2.0)], "316 µs"),
])
def test_break_even_text(found, speedups, expected):
    # Also read after "broke even at tasks of", as the rules page (PAR003) quotes it.
    sweep = dataclasses.replace(found.sweep, speedups={"pool_map": speedups})
    assert analysis.break_even_text(sweep, "pool_map") == expected


@pytest.mark.parametrize(("speedups", "expected"), [
    ([(1e-4, 0.2), (1e-3, 0.5)], "Pool.map, which sends the tasks in batches, did not break "
                                 "even at any task length measured here, up to 1.00 ms."),
    ([(1e-4, 1.5), (1e-3, 2.0)], "Pool.map, which sends the tasks in batches, already won "
                                 "at the shortest tasks measured, 100 µs."),
    ([(1e-4, 0.5), (1e-3, 2.0)], "Pool.map, which sends the tasks in batches, broke even at "
                                 "tasks of about 316 µs."),
])
def test_break_even_sentence(found, speedups, expected):
    sweep = dataclasses.replace(found.sweep, speedups={"pool_map": speedups})
    assert analysis.break_even_sentence(sweep, "pool_map") == expected


def test_every_backend_has_a_break_even_sentence(found):
    texts = analysis.texts(found)
    for backend in found.sweep.speedups:
        assert texts[f"overhead_break_even_sentence_{backend}"].endswith(".")


# PAR002's factor: break-even over one round trip of the same kind of call.

def _factor(found, backend, crossing, won_at_shortest=False, round_trip=1e-4):
    return dataclasses.replace(found.factors[backend], crossing=crossing,
                               won_at_shortest=won_at_shortest, round_trip=round_trip,
                               longest_task=0.01)


@pytest.mark.parametrize(("backend", "crossing", "won", "expected"), [
    ("pool_per_task", 3e-4, False,
     "A Pool fed one task per message broke even at tasks 3.0 times as long as one "
     "Pool.apply round trip (100 µs, both on one CPU)."),
    ("pool_per_task", 1e-4, True,
     "A Pool fed one task per message already won at the shortest tasks measured, 1.0 times "
     "as long as one Pool.apply round trip (100 µs, both on one CPU), so the break-even "
     "lies at or below that."),
    ("ray_actors", None, False,
     "Ray actors did not break even at any task length measured here, up to 10.0 ms."),
    ("ray_actors", 6.7e-5, False,
     "Ray actors broke even at tasks 0.67 times as long as one actor call (100 µs)."),
])
def test_break_even_factor_sentence(found, backend, crossing, won, expected):
    factor = _factor(found, backend, crossing, won)
    if backend == "pool_per_task":
        factor = dataclasses.replace(factor, round_trip_placement="same_cpu")
    assert analysis.break_even_factor_sentence(factor) == expected


@pytest.mark.parametrize(("pool", "ray", "expected"), [
    (3e-4, 1.6e-4, "A task sent to another process should take well over 3.0 times as "
                   "long as one round trip to that process."),
    (None, 5e-5, "A task sent to another process should take well over one round trip "
                 "to that process."),
    (None, None, "A task sent to another process should take much longer than one round "
                 "trip to that process."),
])
def test_par002_rule_takes_its_factor_from_the_break_even(found, pool, ray, expected):
    factors = {"pool_per_task": _factor(found, "pool_per_task", pool),
               "ray_actors": _factor(found, "ray_actors", ray)}
    assert analysis.par002_rule(factors) == expected


def test_the_pool_factor_uses_the_software_round_trip_and_ray_its_actor_call(found):
    trips = found.round_trips
    pool, ray = found.factors["pool_per_task"], found.factors["ray_actors"]
    assert pool.round_trip == trips.seconds[("pool_apply", trips.software_placement)]
    assert ray.round_trip == trips.ray_actor
    assert pool.crossing == found.sweep.break_even["pool_per_task"]


# The first Ray actors after ray.init, against the same created again.

def _first_use(found, first_one, again_one=1.0, prestarted=2, most=10):
    return dataclasses.replace(found.first_use, prestarted=prestarted,
                               first={1: first_one, most: 2.0}, again={1: again_one, most: 3.0})


@pytest.mark.parametrize(("first", "expected"), [
    (0.03, "Right after ray.init, one actor took 30.0 ms to create and call, against 1.00 s "
           "once it needed a new process: the first one ran in a worker process that Ray "
           "had started in advance."),
    (0.9, "Right after ray.init, one actor took 900 ms to create and call, against 1.00 s "
          "once it needed a new process: here the workers Ray starts in advance did not "
          "make the first one cheaper."),
])
def test_first_use_one_sentence(found, first, expected):
    assert analysis.first_use_one_sentence(_first_use(found, first)) == expected


@pytest.mark.parametrize(("prestarted", "expected"), [
    (2, "With 10 actors, the first use took 2.00 s and a later use 3.00 s: Ray starts 2 "
        "worker processes in advance here, one per CPU it counts, so the other 8 needed new "
        "processes even at first use."),
    (9, "With 10 actors, the first use took 2.00 s and a later use 3.00 s: Ray starts 9 "
        "worker processes in advance here, one per CPU it counts, so one actor needed a new "
        "process even at first use."),
    (16, "With 10 actors, the first use took 2.00 s and a later use 3.00 s: Ray starts 16 "
         "worker processes in advance here, one per CPU it counts, enough for all of them."),
    (None, "With 10 actors, the first use took 2.00 s and a later use 3.00 s; on a cluster, "
           "how many of them found a worker waiting depends on what ran there before."),
])
def test_first_use_most_sentence(found, prestarted, expected):
    first_use = _first_use(found, 0.03, prestarted=prestarted)
    assert analysis.first_use_most_sentence(first_use) == expected


def test_one_worker_started_in_advance_is_said_in_the_singular(found):
    first_use = _first_use(found, 0.03, prestarted=1)
    assert "Ray starts one worker process in advance" in analysis.first_use_most_sentence(
        first_use)


def test_summary_rows_name_every_start_method_measured_and_the_break_evens(found):
    rows = dict(analysis.summary_rows(found))
    for method in found.startup.per_process:
        assert f"each extra process started with {method}" in rows
    assert rows["break-even task length, Ray actors"] == analysis.break_even_text(
        found.sweep, "ray_actors")


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
    assert texts["overhead_par002_rule"] == analysis.par002_rule(found.factors)
    assert texts["overhead_first_use_one_sentence"] == analysis.first_use_one_sentence(
        found.first_use)
    assert texts["overhead_first_use_most_sentence"] == analysis.first_use_most_sentence(
        found.first_use)
    # The article's middle rows: ten tasks in 1.4 ms, where ten sleeps of 1 ms take 10 ms.
    assert texts["overhead_reported_short_most_one_process"] == "1.40 ms"
    assert texts["overhead_reported_header_total"] == "10.0 ms"


# The claims this chapter judges for the ledger in book/sources.md, each verdict reached.

def test_causes_claim_is_in_part_either_way(found):
    judged = analysis.causes_claim(found)
    assert judged.verdict is Verdict.PARTLY and "judged in the next point" in judged.reason
    cheap = dataclasses.replace(found.article, return_process=found.article.return_one_process)
    judged = analysis.causes_claim(dataclasses.replace(found, article=cheap))
    assert judged.verdict is Verdict.PARTLY and "did not show" in judged.reason


def test_experiment_claim_every_verdict(found):
    article = found.article
    slow, fast = article.return_one_process * 100, article.return_one_process / 100
    holds = dataclasses.replace(article, return_process=slow, return_ray=slow,
                                sleep_most_process=article.sleep_most_one_process / 2,
                                sleep_most_ray=article.sleep_most_one_process / 2)
    assert analysis.experiment_claim(holds).verdict is Verdict.HOLDS
    no_win = dataclasses.replace(holds, sleep_most_ray=article.sleep_most_one_process * 2)
    judged = analysis.experiment_claim(no_win)
    assert judged.verdict is Verdict.PARTLY and "did not both win" in judged.reason
    no_loss = dataclasses.replace(holds, return_ray=fast)
    judged = analysis.experiment_claim(no_loss)
    assert judged.verdict is Verdict.PARTLY and "did not both lose" in judged.reason
    neither = dataclasses.replace(no_win, return_ray=fast)
    assert analysis.experiment_claim(neither).verdict is Verdict.FAILS


def test_proportional_claim_both_ways(found):
    article = found.article
    exact = dataclasses.replace(article, sleep_one_one_process=1.0,
                                sleep_most_one_process=float(article.most_workers))
    assert analysis.proportional_claim(exact).verdict is Verdict.HOLDS
    off = dataclasses.replace(exact, sleep_most_one_process=article.most_workers / 2)
    judged = analysis.proportional_claim(off)
    assert judged.verdict is Verdict.FAILS and "not" in judged.reason


def test_ray_floor_claim_every_verdict(found):
    trips, claim = found.round_trips, found.round_trips.ray_claim
    seconds = dict(trips.seconds)

    def with_ray(task, actor):
        seconds.update({("ray_task", "unpinned"): task, ("ray_actor", "unpinned"): actor})
        return analysis.ray_floor_claim(dataclasses.replace(trips, seconds=dict(seconds)))

    assert with_ray(claim * 2, claim).verdict is Verdict.HOLDS
    assert with_ray(claim * 2, claim / 2).verdict is Verdict.PARTLY
    # Just under the figure, but printed as it: at the figure.
    assert with_ray(claim * 0.998, claim * 2).verdict is Verdict.HOLDS
    judged = with_ray(claim / 2, claim / 3)
    assert judged.verdict is Verdict.FAILS and "as long as a pipe's" in judged.reason


def test_actor_work_claim_every_verdict(found):
    factor = found.factors["ray_actors"]
    trip = factor.round_trip
    never = dataclasses.replace(factor, crossing=None, won_at_shortest=False)
    assert analysis.actor_work_claim(never).verdict is Verdict.HOLDS
    late = dataclasses.replace(factor, crossing=trip * 5, won_at_shortest=False)
    judged = analysis.actor_work_claim(late)
    assert judged.verdict is Verdict.HOLDS and "5.0 times" in judged.reason
    early = dataclasses.replace(factor, crossing=trip / 2, won_at_shortest=False)
    assert analysis.actor_work_claim(early).verdict is Verdict.PARTLY
    at_once = dataclasses.replace(factor, crossing=trip / 2, won_at_shortest=True)
    assert analysis.actor_work_claim(at_once).verdict is Verdict.FAILS


def test_process_cost_claim_both_ways(found):
    trips = found.round_trips
    costly = dataclasses.replace(found.startup, per_process={"fork": trips.pipe * 50,
                                                             "spawn": trips.pipe * 90})
    judged = analysis.process_cost_claim(costly, trips)
    assert judged.verdict is Verdict.HOLDS and "fork" in judged.reason
    cheap = dataclasses.replace(costly, per_process={"fork": trips.pipe * 2})
    assert analysis.process_cost_claim(cheap, trips).verdict is Verdict.FAILS
