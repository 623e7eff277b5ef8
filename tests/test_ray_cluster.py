"""The ray-cluster experiment in quick mode, the two-node cluster's start and stop, and
each of the chapter's data-dependent sentences, on the committed result
``tests/results/ray-cluster.json``.

The experiment runs once per test session, through ``python -m parbook run`` in a child
process (as the page runs it), so Ray and the cluster's token never enter the test
process. The cluster's start and stop are checked once more through ``python -m
parbook.chapters.ray_cluster.workload up-and-down``, and from here: no process of either
node may be left.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from parbook.bench.results import load
from parbook.chapters.ray_cluster import analysis, views
from parbook.chapters.ray_cluster import experiment as experiment
from parbook.chapters.ray_cluster import workload as work
from parbook.render import formatting
from parbook.shared.child import run_module
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

UP_AND_DOWN_LIMIT_S = 180
COMMITTED = ROOT / "tests" / "results" / "ray-cluster.json"


@pytest.fixture(scope="module")
def cluster_quick(quick_results):
    return quick_results["ray-cluster"]


@pytest.fixture(scope="module")
def found():
    """Findings of the committed result, which each verdict test changes to flip it."""
    return analysis.findings(load(COMMITTED))


@pytest.fixture(scope="module", params=["quick", "committed"])
def any_found(request, cluster_quick, found):
    """The findings of this session's quick run, then of the committed result."""
    return analysis.findings(cluster_quick) if request.param == "quick" else found


def test_every_case_is_present_with_positive_finite_samples(cluster_quick):
    size = experiment.QUICK
    groups = {case.group for case in cluster_quick.cases}
    assert groups == {"cluster_start", "placement", "transfer", "memcpy", "cli_run",
                      "failure", "teardown"}
    assert {c.params["step"] for c in cluster_quick.group("cluster_start")} == {
        "gcs_port_open", "driver_connected", "two_nodes_alive"}
    assert {(c.params["kind"], c.params["strategy"]) for c in cluster_quick.group("placement")
            } == {(kind, strategy) for kind in ("tasks", "actors")
                  for strategy in experiment.STRATEGY_LABELS}
    assert {(c.params["node"], c.params["mib"]) for c in cluster_quick.group("transfer")} == {
        (node, mib) for node in ("head", "worker") for mib in size.transfer_mib}
    for case in cluster_quick.group("transfer"):
        assert len(case.samples) == size.transfer.repeats
    assert {c.params["event"] for c in cluster_quick.group("failure")} == set(
        experiment.FAILURE_LABELS)
    for case in cluster_quick.cases:
        assert case.samples and all(math.isfinite(s) and s > 0 for s in case.samples), case


def test_the_driver_saw_two_alive_nodes_with_their_resources(cluster_quick):
    params = cluster_quick.parameters
    assert params["ray_nodes"] == 2
    assert params["ray_cluster_cpus"] == 2 * experiment.CPUS_PER_NODE
    assert params["ray_address"].startswith("127.0.0.1:")
    nodes = {node["role"]: node for node in cluster_quick.values["nodes"]}
    assert set(nodes) == {"head", "worker"} and all(n["alive"] for n in nodes.values())
    assert nodes["head"]["custom_resources"] == {}
    assert nodes["worker"]["custom_resources"] == {work.WORKER_RESOURCE: 1.0}
    processes = cluster_quick.values["node_processes"]
    assert "gcs_server" in processes["head"] and "gcs_server" not in processes["worker"]
    assert all("raylet" in labels for labels in processes.values())


def test_pinned_work_ran_on_the_worker_node(cluster_quick):
    placed = cluster_quick.values["placement"]
    size = experiment.QUICK
    for strategy in ("node_affinity", "custom_resource"):
        assert placed["tasks"][strategy] == {"head": 0, "worker": size.placement_tasks}
        assert placed["actors"][strategy] == {"head": 0, "worker": size.placement_actors}
    for kind, count in (("tasks", size.placement_tasks), ("actors", size.placement_actors)):
        for counts in placed[kind].values():
            assert counts["head"] + counts["worker"] == count


def test_failure_demo_produced_the_promised_errors(cluster_quick):
    failure = analysis.findings(cluster_quick).failure
    head, worker = failure.head_id, failure.worker_id
    assert head != worker
    assert failure.processes_killed > 0
    # First the actor is unreachable (or already known dead): a RayActorError either way.
    assert "RayActorError" in failure.first_error.is_a
    assert failure.first_error.type in ("ActorUnavailableError", "ActorDiedError")
    # Once the node is declared dead, the actor without restarts is dead for good.
    assert failure.died_error.type == "ActorDiedError"
    assert "RayActorError" in failure.died_error.is_a
    # The retried task, the rebuilt object and the restarted actor all ran on the head.
    assert failure.events["running_task"].returned == head
    assert failure.events["lost_object"].returned == head
    assert failure.restarted == (1, head)  # state lost: the count starts again
    assert cluster_quick.values["failure"]["before"]["restartable"] == [2, worker]
    assert failure.count_before == 2
    assert failure.worker_alive_after is False
    worker_rows = [n for n in cluster_quick.values["nodes_after_failure"]
                   if n["node_id"] == worker]
    assert worker_rows and not worker_rows[0]["alive"]
    # Every consequence arrived within the bounds the demonstration waits for.
    for name in experiment.FAILURE_LABELS:
        assert 0 < failure.events[name].after_s < 2 * work.WAIT_S, name


def test_the_page_claims_hold(any_found):
    """What the page says of every run, checked on this session's run and the committed one."""
    cluster, failure, cli = any_found.cluster, any_found.failure, any_found.cli
    assert cluster.alive_nodes == 2 and cli.returncode == 0 and cli.ray_nodes == 2
    assert "RayActorError" in failure.first_error.is_a
    assert failure.died_error.type == "ActorDiedError"
    assert failure.events["running_task"].returned == failure.head_id
    assert failure.events["lost_object"].returned == failure.head_id
    assert failure.restarted == (1, failure.head_id)
    assert not failure.worker_alive_after
    assert not cluster.teardown.survivors and cluster.teardown.temp_dir_removed
    assert any_found.placement.counts["tasks"]["node_affinity"]["head"] == 0
    assert any_found.placement.counts["tasks"]["custom_resource"]["head"] == 0


def test_the_command_line_run_used_the_cluster(cluster_quick):
    cli = cluster_quick.values["cli_run"]
    assert cli["returncode"] == 0 and not cli["killed"], cli["errors_tail"]
    assert cli["ray_nodes"] == 2
    assert cli["ray_address"] == cluster_quick.parameters["ray_address"]
    assert f"--ray-address {cluster_quick.parameters['ray_address']}" in cli["command"]


def test_teardown_left_no_process_and_removed_the_folder(cluster_quick):
    teardown = cluster_quick.values["teardown"]
    assert teardown["processes_before"] > 0
    assert teardown["survivors"] == []
    assert teardown["killed_after_grace"] == []  # SIGTERM to `ray start` was enough
    assert teardown["processes_mentioning_temp_dir"] == []
    assert teardown["temp_dir_removed"]
    assert len(teardown["session_dirs"]) == 1


def test_findings_are_positive(cluster_quick):
    found = analysis.findings(cluster_quick)
    cluster, transfer = found.cluster, found.transfer
    for name, value in (
            ("gcs_port_open", cluster.gcs_port_open_s),
            ("driver_connected", cluster.driver_connected_s),
            ("two_nodes_alive", cluster.two_nodes_alive_s),
            ("largest_head", transfer.largest.head), ("largest_worker", transfer.largest.worker),
            ("empty_head", transfer.empty.head), ("empty_worker", transfer.empty.worker),
            ("teardown_s", cluster.teardown.seconds), ("cli_s", found.cli.seconds)):
        assert math.isfinite(value) and value > 0, name
    assert transfer.largest.mib == max(experiment.QUICK.transfer_mib)


def test_cluster_starts_with_two_nodes_and_stops_without_a_trace():
    child = run_module("parbook.chapters.ray_cluster.workload", "up-and-down",
                       time_limit_s=UP_AND_DOWN_LIMIT_S)
    assert child.returncode == 0 and not child.killed, child.errors[-4000:]
    seen = json.loads(child.output.strip().splitlines()[-1])
    assert seen["alive_nodes"] == 2
    assert seen["label_counts"]["head"]["ray start --block"] == 1
    assert "gcs_server" in seen["label_counts"]["head"]
    teardown = seen["teardown"]
    assert teardown["survivors"] == [] and teardown["killed_after_grace"] == []
    assert teardown["processes_mentioning_temp_dir"] == []
    assert not Path(seen["temp_dir"]).exists()
    # Checked again from outside: neither node's session has a process left.
    for session in seen["sessions"].values():
        assert work.session_processes(session) == []
    assert work.processes_mentioning(seen["temp_dir"]) == []


def test_node_commands_pin_every_port_and_never_stop_other_clusters(tmp_path):
    cluster = work.LocalCluster(temp_dir=tmp_path, gcs_port=6399)
    ports = work.free_ports(len(work.NODE_PORT_FLAGS))
    assert len(set(ports)) == len(ports)
    head = cluster.node_command("head", ports)
    worker = cluster.node_command("worker", ports)
    assert head[:3] == ["ray", "start", "--block"] and "--head" in head
    assert "--port=6399" in head and "--address=127.0.0.1:6399" in worker
    assert f"--temp-dir={tmp_path / 'head'}" in head
    assert f"--temp-dir={tmp_path / 'worker'}" in worker
    for command in (head, worker):
        for flag, port in zip(work.NODE_PORT_FLAGS, ports, strict=True):
            assert f"{flag}={port}" in command
        assert "stop" not in command
        assert cluster.token not in " ".join(command)  # the token goes by environment
    assert any(part.startswith("--resources=") for part in worker)
    env = cluster.node_env()
    assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN"] == cluster.token
    assert "RAY_ADDRESS" not in env


def test_process_labels_and_exception_summaries():
    assert work._label(["/venv/bin/python", "/venv/bin/ray", "start", "--block"],
                       "python") == "ray start --block"
    assert work._label(["ray::IDLE"], "ray::IDLE") == "ray::IDLE"
    assert work._label(["/x/gcs_server", "--log_dir=/tmp"], "gcs_server") == "gcs_server"
    assert work._label(["/venv/bin/python", "-u", "/ray/_private/log_monitor.py"],
                       "python") == "log_monitor.py"

    class Custom(ValueError):
        pass

    summary = work.exception_summary(Custom("first line\nsecond"))
    assert summary == {"type": "Custom", "is_a": [], "message": "first line"}
    assert formatting.format_network_rate(None) == "n/a"
    assert formatting.format_network_rate(1e9) == "1,000 MB/s (8.0 Gbit/s)"


# --- each data-dependent sentence, every alternative ----------------------------------------

@pytest.mark.parametrize(("kind", "head", "worker", "expected"), [
    ("tasks", 1, 0, "the task ran on the head"),
    ("actors", 0, 1, "the actor ran on the worker node"),
    ("tasks", 3, 0, "all 3 tasks ran on the head"),
    ("tasks", 0, 4, "all 4 tasks ran on the worker node"),
    ("tasks", 2, 2, "2 tasks ran on the head and 2 on the worker node"),
    ("actors", 1, 3, "1 actor ran on the head and 3 on the worker node"),
])
def test_placement_clause(kind, head, worker, expected):
    assert analysis.placement_clause(kind, {"head": head, "worker": worker}) == expected


@pytest.mark.parametrize(("head", "worker", "expected"), [(0, 1, "one actor"),
                                                          (1, 1, "2 actors")])
def test_actors_placed(found, head, worker, expected):
    counts = {**found.placement.counts,
              "actors": {"default": {"head": head, "worker": worker}}}
    placement = dataclasses.replace(found.placement, counts=counts)
    assert analysis.actors_placed(placement) == expected


def _largest(found, head, worker):
    """The committed transfer with the largest array's medians replaced."""
    rows = [dataclasses.replace(row, head=head, worker=worker)
            if row.mib == found.transfer.largest.mib else row for row in found.transfer.rows]
    return dataclasses.replace(found.transfer, rows=tuple(rows))


@pytest.mark.parametrize(("extra_s", "expected"), [
    (1e-6, "Every one of these links would be slower than Ray's copy over loopback was here, "
           "so on a real network the wire would set the pace."),
    (0.1, "On a 1 Gbit/s link the wire would be slower than Ray's copy over loopback was "
          "here, and would set the pace; on a 10 Gbit/s or 100 Gbit/s link, Ray's own "
          "copying would."),
    (1000.0, "Every one of these links would carry the bytes faster than Ray copied them "
             "here, so Ray's own copying, not the wire, would set the pace."),
])
def test_wire_verdict(found, extra_s, expected):
    transfer = _largest(found, head=0.001, worker=0.001 + extra_s)
    assert analysis.wire_verdict(transfer) == expected


@pytest.mark.parametrize(("worker", "expected"), [
    (0.002, "Even with no array at all, a task on the other node took 2.00 ms against "
            "1.00 ms on the head, since its request and its result pass through both "
            "raylets."),
    (0.00105, "Even with no array at all, a task on the other node took 1.05 ms, against "
              "1.00 ms on the head: here the extra hop was lost in the noise of scheduling "
              "any task at all."),
])
def test_empty_verdict(found, worker, expected):
    rows = [dataclasses.replace(row, head=0.001, worker=worker) if row.mib == 0 else row
            for row in found.transfer.rows]
    transfer = dataclasses.replace(found.transfer, rows=tuple(rows))
    assert analysis.empty_verdict(transfer) == expected


@pytest.mark.parametrize(("head", "worker", "start"), [
    (0.0011, 0.1, "On the head, the time hardly depends on the size"),
    (0.01, 0.1, "Here the time grew with the size on both nodes"),
    (0.01, 0.0011, "Here the time grew with the size on the head but hardly on the worker"),
    (0.0011, 0.0011, "Here the time hardly grew with the size on either node"),
])
def test_sizes_sentence(found, head, worker, start):
    rows = [dataclasses.replace(row, head=0.001, worker=0.001) if row.mib == 0 else row
            for row in found.transfer.rows]
    transfer = dataclasses.replace(found.transfer, rows=tuple(rows))
    sentence = analysis.sizes_sentence(_largest_of(transfer, head, worker))
    assert sentence.startswith(start) and sentence.endswith(".")


def _largest_of(transfer, head, worker):
    largest = transfer.largest.mib
    rows = [dataclasses.replace(row, head=head, worker=worker) if row.mib == largest else row
            for row in transfer.rows]
    return dataclasses.replace(transfer, rows=tuple(rows))


@pytest.mark.parametrize(("error_type", "start"), [
    ("ActorUnavailableError", "Its connection to the actor's process failed"),
    ("ActorDiedError", "By the time the call failed, the cluster had already decided"),
])
def test_first_error_meaning(found, error_type, start):
    event = found.failure.events["plain_actor_first_call"]
    raised = dataclasses.replace(event.raised, type=error_type)
    events = {**found.failure.events,
              "plain_actor_first_call": dataclasses.replace(event, raised=raised)}
    failure = dataclasses.replace(found.failure, events=events)
    sentence = analysis.first_error_meaning(failure)
    assert sentence.startswith(start) and sentence.endswith(".")


@pytest.mark.parametrize(("address", "start"), [
    ("192.0.2.7", "The commands ask for 127.0.0.1, but Ray replaced it with this machine's "
                  "own address, 192.0.2.7, because"),
    ("127.0.0.1", "The commands ask for 127.0.0.1, and Ray kept it"),
])
def test_address_sentence(found, address, start):
    nodes = tuple(dataclasses.replace(node, address=address) for node in found.cluster.nodes)
    cluster = dataclasses.replace(found.cluster, nodes=nodes)
    assert analysis.address_sentence(cluster).startswith(start)


@pytest.mark.parametrize(("killed", "survivors", "mentioning", "removed", "stop", "leftover"), [
    ((), (), 0, True, "SIGTERM alone stopped them", "Afterwards no process on the machine"),
    (("raylet",), (), 0, True, "SIGTERM did not stop them all: after the grace period, "
                               "SIGKILL had to end 1 more.", "Afterwards no"),
    ((), ("raylet", "gcs_server"), 0, True, "SIGTERM alone",
     "Even so, processes of the cluster were still there afterwards (2; see"),
    ((), (), 1, True, "SIGTERM alone", "Afterwards no process of the cluster was left, but"),
    ((), (), 0, False, "SIGTERM alone", "Afterwards no process of the cluster was left, but"),
])
def test_teardown_sentences(found, killed, survivors, mentioning, removed, stop, leftover):
    teardown = dataclasses.replace(found.cluster.teardown, killed_after_grace=killed,
                                   survivors=survivors, mentioning_temp_dir=mentioning,
                                   temp_dir_removed=removed)
    assert analysis.stop_sentence(teardown).startswith(stop)
    assert analysis.leftover_sentence(teardown).startswith(leftover)


@pytest.mark.parametrize(("changes", "expected", "cell"), [
    ({}, "It connected to the cluster instead of starting a local Ray instance and recorded "
         "2 nodes with 2 CPUs, so its Ray tables describe the cluster, not this machine.",
     "ran unchanged; recorded 2 nodes"),
    ({"ray_cluster_cpus": None}, "It connected to the cluster instead of starting a local Ray "
     "instance and recorded 2 nodes with an unknown number of CPUs, so its Ray tables "
     "describe the cluster, not this machine.", "ran unchanged; recorded 2 nodes"),
    ({"ray_nodes": 1}, "It ran, but recorded a single node instead of the cluster's 2, so it "
                       "did not run on the cluster this time.", "ran, but recorded a single node"),
    ({"ray_nodes": None}, "It ran, but recorded no node instead of the cluster's 2, so it did "
                          "not run on the cluster this time.", "ran, but recorded no node"),
    ({"returncode": 1}, "It failed this time, with exit code 1: see its output above.",
     "failed (exit code 1)"),
    ({"killed": True, "returncode": -9}, "It was still running at its time limit and was "
                                         "stopped: see its output above.",
     "stopped at its time limit"),
])
def test_cli_sentence_and_cell(found, changes, expected, cell):
    cli = dataclasses.replace(found.cli, **changes)
    assert analysis.cli_sentence(cli, 2) == expected
    assert analysis.cli_cell(cli, 2) == cell


def test_summary_rows(found):
    rows = dict(analysis.summary_rows(found))
    assert len(rows) == 7 and all(rows.values())
    assert rows["the task that had been running there"] == "ran again, on the head"
    assert rows["this book's ray-basics experiment, run with --ray-address"] == (
        "ran unchanged; recorded 2 nodes")


def test_failed_claims_name_what_the_run_contradicts():
    values = load(COMMITTED).values
    assert experiment.failed_claims(values) == []
    values["failure"]["restartable_actor"]["returned"] = [3, values["failure"]["head_id"]]
    values["placement"]["tasks"]["node_affinity"]["head"] = 1
    assert experiment.failed_claims(values) == [
        "the restarted actor answered with its count started over",
        "pinned tasks ran only on the worker node"]


def test_node_name(found):
    failure = found.failure
    assert analysis.node_name(failure, failure.head_id) == "the head"
    assert analysis.node_name(failure, failure.worker_id) == "the worker node"
    assert analysis.node_name(failure, None) == "an unknown node"


def test_what_happened(found):
    failure = found.failure
    head = failure.head_id
    raised = analysis.RaisedError("ActorDiedError", ("ActorDiedError", "RayActorError"),
                                  "x" * 200)
    assert analysis.what_happened(failure, analysis.FailureEvent(1.0, raised=raised)) == (
        "raised ActorDiedError → RayActorError: " + "x" * analysis.MESSAGE_CHARS)
    assert analysis.what_happened(failure, analysis.FailureEvent(1.0, returned=[1, head])) == (
        "returned count 1, from the head")
    assert analysis.what_happened(failure, analysis.FailureEvent(1.0, returned=head)) == (
        "returned, computed on the head")
    assert analysis.what_happened(failure, analysis.FailureEvent(1.0)) == (
        "the driver stopped seeing the node in ray.nodes() as alive")


def test_texts_of_the_committed_result(found):
    texts = analysis.texts(found)
    # Other pages quote these with ":d" and ":s": the types must stay.
    assert isinstance(texts["rc_largest_mib"], int)
    assert isinstance(texts["rc_restarted_count"], str) and texts["rc_restarted_count"] == "1"
    assert texts["rc_task_rerun_node"] == "the head"
    assert texts["rc_cli_nodes"] == "2" and texts["rc_cli_cpus"] == "2"
    assert set(texts) >= {f"rc_wire_{gbit:g}" for gbit in experiment.NETWORK_GBIT_S}


def test_outputs_show_the_commands_run(cluster_quick):
    found = analysis.findings(cluster_quick)
    commands = views.OUTPUTS["ray-cluster-commands"](cluster_quick, found)
    headers = [line for line in commands.splitlines() if line.startswith("# the ")]
    assert headers == ["# the head node", "# the worker node"]
    starts = [line for line in commands.splitlines() if line.startswith("ray start")]
    assert len(starts) == 2 and all(line.startswith("ray start --block") for line in starts)
    printed = views.OUTPUTS["ray-cluster-cli-output"](cluster_quick, found)
    assert printed.splitlines()[0] == f"$ {found.cli.command}"
