"""A real Ray cluster: two nodes started with ``ray start`` on this machine, one driver.

The experiment starts its own cluster (a head node and a worker node, one CPU each, see
:class:`parbook.chapters.ray_cluster.workload.LocalCluster`), whatever ``RAY_ADDRESS`` says, and
connects to it as every Ray experiment of the book connects to a reader's cluster.

Groups of cases in the result (one sample each unless stated):

``cluster_start``
    Seconds from launching the head's ``ray start`` until its GCS port opened and until
    the driver saw two alive nodes, and how long ``ray.init`` took to connect.
``placement``
    Wall time of one batch of tasks or actors placed with each scheduling strategy;
    where each one ran is in ``values["placement"]``.
``transfer``
    Seconds for a task pinned to a node to receive an array the driver put in the head's
    object store, on the head itself and on the worker node, per array size (N samples,
    interleaved); ``memcpy`` is one in-process copy of the same bytes (the floor).
``cli_run``
    Wall time of another experiment of the book run with ``--ray-address`` against this
    cluster; what it recorded is in ``values["cli_run"]``.
``failure``
    Seconds after the worker node was killed until the driver saw each consequence; the
    exceptions and results are in ``values["failure"]``.
``teardown``
    Seconds from SIGTERM to both ``ray start`` processes until none of the cluster's
    processes was left; what was checked is in ``values["teardown"]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parbook.bench.measure import Protocol, time_once
from parbook.bench.results import Result, load
from parbook.chapters.ray_cluster import workload as work
from parbook.shared import run_setup
from parbook.shared.child import child_env, run_command
from parbook.shared.raysession import describe
from parbook.shared.shm import memcpy_floor

NAME = "ray-cluster"

MIB = 1024**2
CPUS_PER_NODE = 1
OBJECT_STORE_MIB = 256
#: Ray's own health check (src/ray/common/ray_config_def.h): the GCS asks each node every
#: 3 s and declares it dead after 5 missed answers in a row.
RAY_DEFAULT_HEALTH_CHECK = {"period_ms": 3000, "failure_threshold": 5}
#: What this chapter's head uses instead, so that the failure demonstration ends in
#: seconds. A crashed node refuses the connection at once; the generous timeout keeps a
#: node that is merely slow to answer on a busy build machine from being declared dead.
HEALTH_CHECK = {"period_ms": 1000, "failure_threshold": 3, "timeout_ms": 3000}
#: The experiment of the book run against the cluster from the command line (always at
#: its quick sizes: what it shows is that it runs there, not its numbers).
CLI_EXPERIMENT = "ray-basics"
CLI_TIME_LIMIT_S = 300.0
#: A network to compare the loopback transfer with, in Gbit/s (a common data-centre link).
NETWORK_GBIT_S = (1.0, 10.0, 100.0)

STRATEGY_LABELS = {
    "default": "default (no strategy)",
    "spread": 'scheduling_strategy="SPREAD"',
    "node_affinity": "NodeAffinitySchedulingStrategy(worker)",
    "custom_resource": f'resources={{"{work.WORKER_RESOURCE}": ...}}',
}
KIND_LABELS = {"tasks": "tasks", "actors": "actors"}
NODE_LABELS = {"head": "same node (head)", "worker": "other node (worker)"}
START_LABELS = {
    "gcs_port_open": "from launching the head until its GCS port opened",
    "driver_connected": "ray.init connecting the driver (its own duration)",
    "two_nodes_alive": "from launching the head until ray.nodes() listed both nodes alive",
    "stop": "stopping: from SIGTERM until no process of the cluster was left",
}
FAILURE_LABELS = {
    "plain_actor_first_call": "call to the actor on the lost node (max_restarts=0)",
    "node_declared_dead": "GCS declared the worker node dead",
    "plain_actor_after_death": "the same actor, called again",
    "running_task": "the task that was running there (max_retries=2)",
    "lost_object": "a result stored only on that node",
    "restartable_actor": "actor with max_restarts=1, max_task_retries=1",
}


@dataclass(frozen=True)
class Sizes:
    """Everything quick mode may change: sizes and repeat counts, never the code path."""

    placement_tasks: int
    placement_actors: int
    placement_task_s: float
    transfer_mib: tuple[int, ...]
    transfer: Protocol
    failure_task_s: float
    failure_block_mib: int


FULL = Sizes(placement_tasks=8, placement_actors=2, placement_task_s=0.1,
             transfer_mib=(0, 1, 8, 32, 128), transfer=Protocol(repeats=5, warmup=1),
             failure_task_s=1.0, failure_block_mib=4)
QUICK = Sizes(placement_tasks=4, placement_actors=1, placement_task_s=0.1,
              transfer_mib=(0, 1, 32), transfer=Protocol(repeats=3, warmup=1),
              failure_task_s=1.0, failure_block_mib=4)


def sizes(quick: bool) -> Sizes:
    """The sizes for a quick (test) or full (published) run."""
    return QUICK if quick else FULL


def run(quick: bool = False, progress: Callable[[str], None] | None = None) -> Result:
    """Start a two-node cluster, run every demonstration of the chapter on it, stop it."""
    size = sizes(quick)
    say = run_setup.reporter(progress)
    result = Result(experiment=NAME, quick=quick)
    result.parameters.update(
        cpus_per_node=CPUS_PER_NODE, object_store_mib=OBJECT_STORE_MIB,
        health_check=HEALTH_CHECK,
        ray_default_health_check=RAY_DEFAULT_HEALTH_CHECK, cli_experiment=CLI_EXPERIMENT,
        placement_task_s=size.placement_task_s, failure_task_s=size.failure_task_s,
        failure_block_mib=size.failure_block_mib,
    )
    say("starting a head node and a worker node with ray start")
    with work.LocalCluster(cpus_per_node=CPUS_PER_NODE, object_store_bytes=OBJECT_STORE_MIB * MIB,
                           health_check=HEALTH_CHECK) as cluster:
        started = cluster.nodes["head"].started_at
        result.add("cluster_start", {"step": "gcs_port_open"},
                   [cluster.start_timings["gcs_port_open"]])
        result.values["commands"] = {role: node.command for role, node in cluster.nodes.items()}
        began = time.perf_counter()
        with cluster.connected() as ray:
            result.add("cluster_start", {"step": "driver_connected"},
                       [time.perf_counter() - began])
            cluster.wait_for_nodes(ray, 2)
            result.add("cluster_start", {"step": "two_nodes_alive"},
                       [time.perf_counter() - started])
            result.parameters.update(describe(ray))
            result.values["nodes"] = work.describe_nodes(ray)
            result.values["node_processes"] = {
                role: dict(Counter(info.label for info in infos))
                for role, infos in cluster.processes().items()}
            ids = work.node_ids(ray)
            _warm_up(ray, ids)
            _placement(result, size, ray, ids, say)
            _transfer(result, size, ray, ids, say)
            _cli_run(result, cluster, say)
            say("failure: killing the worker node")
            events = work.lose_the_worker_node(cluster, ray, ids["head"], ids["worker"],
                                               size.failure_task_s, size.failure_block_mib)
            result.values["failure"] = events
            for name in FAILURE_LABELS:
                result.add("failure", {"event": name}, [events[name]["after_s"]])
            result.values["nodes_after_failure"] = work.describe_nodes(ray)
        say("stopping both nodes")
    result.values["teardown"] = cluster.teardown
    result.add("teardown", {"step": "stop"}, [cluster.teardown["seconds"]])
    # The page describes what the crash did and where pinned work ran; a run in which
    # something else happened must fail the build rather than publish that page.
    failed = failed_claims(result.values)
    if failed:
        raise RuntimeError(f"claims of the page that this run contradicts: {'; '.join(failed)}")
    return result


def failed_claims(values: dict[str, Any]) -> list[str]:
    """The page's fixed claims about the failure demonstration and pinned placement that
    the recorded run contradicts (none, normally); :func:`run` raises when there are any."""
    failure, placed = values["failure"], values["placement"]

    def raised(name: str) -> dict[str, Any]:
        return failure[name].get("raised") or {}

    restarted = failure["restartable_actor"].get("returned")
    claims = {
        "the first call to the lost actor raised a RayActorError":
            "RayActorError" in raised("plain_actor_first_call").get("is_a", []),
        "the same actor, called again, raised ActorDiedError":
            raised("plain_actor_after_death").get("type") == "ActorDiedError",
        "ray.nodes() listed the worker node as not alive":
            not failure["worker_node_entry"]["Alive"],
        "the running task ran again and returned":
            failure["running_task"].get("returned") is not None,
        "the lost result was rebuilt": failure["lost_object"].get("returned") is not None,
        "the restarted actor answered with its count started over":
            restarted is not None and restarted[0] < failure["before"]["restartable"][0],
        "pinned tasks ran only on the worker node":
            all(placed["tasks"][strategy]["head"] == 0
                for strategy in ("node_affinity", "custom_resource")),
    }
    return [claim for claim, held in claims.items() if not held]


def _warm_up(ray: Any, ids: dict[str, str]) -> None:
    """Run one task on each node first: a node starts its first worker process on demand."""
    where = work.remote_versions()["where_am_i"]
    ray.get([where.options(**work.on_node(node_id)).remote() for node_id in ids.values()],
            timeout=work.WAIT_S)


def _placement(result: Result, size: Sizes, ray: Any, ids: dict[str, str],
               say: Callable[[str], None]) -> None:
    roles = {node_id: role for role, node_id in ids.items()}
    placed: dict[str, dict[str, dict[str, int]]] = {"tasks": {}, "actors": {}}
    for strategy in STRATEGY_LABELS:
        say(f"placement: {size.placement_tasks} tasks, {strategy}")
        began = time.perf_counter()
        nodes = work.place_tasks(strategy, ids["worker"], size.placement_tasks,
                                 size.placement_task_s)
        result.add("placement", {"kind": "tasks", "strategy": strategy,
                                 "count": size.placement_tasks},
                   [time.perf_counter() - began])
        placed["tasks"][strategy] = _count_roles(nodes, roles)
        say(f"placement: {size.placement_actors} actors, {strategy}")
        began = time.perf_counter()
        nodes = work.place_actors(strategy, ids["worker"], size.placement_actors)
        result.add("placement", {"kind": "actors", "strategy": strategy,
                                 "count": size.placement_actors},
                   [time.perf_counter() - began])
        placed["actors"][strategy] = _count_roles(nodes, roles)
    result.values["placement"] = placed


def _count_roles(node_ids: list[str], roles: dict[str, str]) -> dict[str, int]:
    counts = Counter(roles.get(node_id, "unknown") for node_id in node_ids)
    return {role: counts.get(role, 0) for role in ("head", "worker")}


def _transfer(result: Result, size: Sizes, ray: Any, ids: dict[str, str],
              say: Callable[[str], None]) -> None:
    nbytes_of = work.remote_versions()["nbytes_of"]
    tasks = {role: nbytes_of.options(**work.on_node(ids[role])) for role in ("head", "worker")}
    for mib in size.transfer_mib:
        say(f"transfer: {mib} MiB to a task on each node")
        _transfer_one_size(result, size.transfer, ray, tasks, mib)


def _transfer_one_size(result: Result, protocol: Protocol, ray: Any, tasks: dict[str, Any],
                       mib: int) -> None:
    import numpy as np

    array = np.ones(mib * MIB, dtype=np.uint8)
    samples: dict[str, list[float]] = {role: [] for role in tasks}
    for repeat in range(protocol.warmup + protocol.repeats):
        for role, task in tasks.items():
            # A fresh object each time (put untimed): a node keeps a copy it fetched for
            # as long as the object lives, so a second fetch of the same one is free.
            seconds = time_once(
                lambda ref, task=task: ray.get(task.remote(ref), timeout=work.WAIT_S),
                setup=lambda: ray.put(array))
            if repeat >= protocol.warmup:
                samples[role].append(seconds)
    for role, role_samples in samples.items():
        result.add("transfer", {"node": role, "mib": mib}, role_samples)
    if mib:
        destination = np.zeros_like(array)
        copies = [time_once(lambda _: memcpy_floor(destination, array))
                  for _ in range(protocol.warmup + protocol.repeats)]
        result.add("memcpy", {"mib": mib}, copies[protocol.warmup:])


def _cli_run(result: Result, cluster: work.LocalCluster, say: Callable[[str], None]) -> None:
    """Run another experiment of the book on this cluster, from the command line."""
    say(f"command line: parbook run {CLI_EXPERIMENT} --quick --ray-address ...")
    with tempfile.TemporaryDirectory(prefix="parbook-cli-") as folder:
        out = Path(folder) / f"{CLI_EXPERIMENT}.json"
        command = [sys.executable, "-m", "parbook", "run", CLI_EXPERIMENT, "--quick",
                   "--ray-address", cluster.address, "--out", str(out)]
        # The token goes by environment, as it would to a reader's driver.
        child = run_command(command, time_limit_s=CLI_TIME_LIMIT_S,
                            env=child_env(cluster.auth_env()))
        recorded = load(out).parameters if child.returncode == 0 and out.exists() else {}
    shown = ["python", "-m", "parbook", "run", CLI_EXPERIMENT, "--quick",
             "--ray-address", cluster.address]
    result.values["cli_run"] = {
        "command": " ".join(shown), "returncode": child.returncode, "killed": child.killed,
        "output": child.output.strip(), "errors_tail": child.errors[-2000:],
        "ray_address": recorded.get("ray_address"), "ray_nodes": recorded.get("ray_nodes"),
        "ray_cluster_cpus": recorded.get("ray_cluster_cpus"),
    }
    result.add("cli_run", {"experiment": CLI_EXPERIMENT}, [child.elapsed_s])
