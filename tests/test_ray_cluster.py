"""The ray-cluster experiment in quick mode, and the two-node cluster's start and stop.

The experiment runs once, through ``python -m parbook run`` in a child process (as the
page runs it), so Ray and the cluster's token never enter the test process. The cluster's
start and stop are checked once more through ``python -m parbook.chapters.ray_cluster.workload
up-and-down``, and from here: no process of either node may be left.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from parbook.bench.results import Result, load
from parbook.chapters.ray_cluster import experiment as experiment
from parbook.chapters.ray_cluster import workload as work
from parbook.shared.child import run_module
from tests.conftest import run_cli

pytestmark = pytest.mark.usefixtures("nothing_left_behind", "no_ray_left_behind")

#: Longest the quick experiment may take here before the test fails instead of hanging.
EXPERIMENT_LIMIT_S = 600
UP_AND_DOWN_LIMIT_S = 180


@pytest.fixture(scope="module")
def cluster_quick(tmp_path_factory: pytest.TempPathFactory) -> Result:
    out = tmp_path_factory.mktemp("ray-cluster") / "ray-cluster.json"
    completed = run_cli("run", "ray-cluster", "--quick", "--out", str(out),
                        timeout=EXPERIMENT_LIMIT_S)
    assert completed.returncode == 0, completed.stderr[-4000:]
    return load(out)


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
    found = experiment.findings(cluster_quick)
    head, worker = found["head_id"], found["worker_id"]
    assert head != worker
    assert found["processes_killed"] > 0
    # First the actor is unreachable (or already known dead): a RayActorError either way.
    assert "RayActorError" in found["first_error"]["is_a"]
    assert found["first_error"]["type"] in ("ActorUnavailableError", "ActorDiedError")
    # Once the node is declared dead, the actor without restarts is dead for good.
    assert found["died_error"]["type"] == "ActorDiedError"
    assert "RayActorError" in found["died_error"]["is_a"]
    # The retried task, the rebuilt object and the restarted actor all ran on the head.
    assert found["task_rerun"] == head and found["object_rebuilt"] == head
    assert found["restarted"] == [1, head]  # state lost: the count starts again
    assert found["failure"]["before"]["restartable"] == [2, worker]
    assert found["worker_entry"]["Alive"] is False
    worker_rows = [n for n in cluster_quick.values["nodes_after_failure"]
                   if n["node_id"] == worker]
    assert worker_rows and not worker_rows[0]["alive"]
    # Every consequence arrived within the bounds the demonstration waits for.
    for name in experiment.FAILURE_LABELS:
        assert 0 < found["failure"][name]["after_s"] < 2 * work.WAIT_S, name


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
    found = experiment.findings(cluster_quick)
    for key in ("gcs_port_open", "driver_connected", "two_nodes_alive", "largest_head",
                "largest_worker", "empty_head", "empty_worker", "teardown_s", "cli_s"):
        assert math.isfinite(found[key]) and found[key] > 0, key
    assert found["largest_mib"] == max(experiment.QUICK.transfer_mib)


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
    assert experiment.format_rate(None) == "n/a"
    assert experiment.format_rate(1e9) == "1,000 MB/s (8.0 Gbit/s)"
