"""Workloads of the Ray cluster chapter: a real two-node Ray cluster, started on this machine.

:class:`LocalCluster` starts a head node and a worker node with Ray's own command,
``ray start --block``, each in a session of its own, connects a driver to them through
``RAY_ADDRESS`` (as any experiment of the book can be), and tears down exactly those two
sessions at the end. It never runs ``ray stop``: that stops every Ray instance on the
machine, other people's and the reader's own included.

The functions below the cluster are what the chapter runs on it: where tasks and actors
land under each scheduling strategy, what fetching an object from the other node costs,
and what happens when the worker node dies while an actor lives there and a task runs
there. Their Ray versions are built lazily (importing Ray is slow).

Run as ``python -m parbook.chapters.ray_cluster.workload up-and-down``, this module starts a
cluster, waits for both nodes, tears it down and prints what it saw as JSON (the tests
use it to check that nothing survives a teardown).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parbook.shared.child import child_env, run_demo

#: Longest wait for the head's GCS port to open and for both nodes to register.
READY_TIMEOUT_S = 60.0
#: How long the ``ray start`` processes get to stop their node after SIGTERM before
#: whatever is left of their sessions is killed.
STOP_GRACE_S = 20.0
#: Upper bound on every ``ray.get`` and ``ray.wait`` in this module.
WAIT_S = 60.0
POLL_S = 0.1
#: Bound on the drain Ray 2.5x+ does when ``ray start --block`` gets SIGTERM (it waits for
#: the node to go idle; the default is 30 s, longer than a build should wait).
DRAIN_S = 3
#: A custom resource only the worker node advertises, to pin work there by capability.
WORKER_RESOURCE = "big_memory"
#: The ports each node listens on, pinned to free ones chosen at run time (see
#: :func:`free_ports`): what a firewall between real machines would have to let through.
NODE_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--runtime-env-agent-port",
                   "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                   "--metrics-export-port")


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that are free on every interface right now.

    All sockets stay bound until every port is chosen, so the ports differ from each
    other; another program could still take one before Ray binds it, which a start that
    fails its readiness deadline would show.
    """
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the process that started it dies.

    A driver killed mid-run (a build's time limit, a reader's Ctrl-C twice) then takes its
    cluster with it: ``ray start`` stops its node on SIGTERM. Linux only; elsewhere a
    killed driver leaves the nodes running until they are stopped by hand.
    """
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


@dataclass
class Node:
    """One ``ray start --block`` process: the leader of the session that is the node."""

    role: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def session(self) -> int:
        """The session id of every process of this node: the ``ray start`` process's pid."""
        assert self.process is not None, "node not started"
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ProcessInfo:
    """A live process of a node: what ``ps`` would show, shortened."""

    pid: int
    created: float
    label: str


def _label(command: list[str], name: str) -> str:
    """A short name for a node's process: ``ray start``, ``gcs_server``, ``ray::IDLE``..."""
    if command and command[0].startswith("ray::"):
        return command[0]
    if "start" in command and any("ray" in Path(part).name for part in command[:3]):
        return "ray start --block"
    joined = " ".join(command[:3])
    for fragment, label in (("runtime_env/agent", "ray::RuntimeEnvAgent"),
                            ("dashboard/agent", "ray::DashboardAgent")):
        if fragment in joined:  # an agent that has not renamed itself yet
            return label
    for part in command[:3]:
        if part.endswith(".py"):
            return Path(part).name
    return name


def session_processes(session: int) -> list[ProcessInfo]:
    """The live processes of one session (zombies, already dead, are left out)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "name", "cmdline", "status", "create_time"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE or os.getsid(proc.pid) != session:
                continue
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
        found.append(ProcessInfo(proc.info["pid"], proc.info["create_time"],
                                 _label(proc.info["cmdline"] or [], proc.info["name"])))
    return found


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of live processes whose command line contains ``text``."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        command = " ".join(proc.info["cmdline"] or ())
        if proc.info["status"] != psutil.STATUS_ZOMBIE and text in command:
            found.append((proc.info["pid"], command[:200]))
    return found


def still_alive(snapshot: list[ProcessInfo]) -> list[ProcessInfo]:
    """The processes of ``snapshot`` that still run (same pid and same start time)."""
    import psutil

    alive = []
    for info in snapshot:
        try:
            proc = psutil.Process(info.pid)
            if proc.create_time() == info.created and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(info)
        except psutil.Error:
            continue
    return alive


@dataclass
class LocalCluster:
    """A head node and a worker node, each ``ray start --block`` in a session of its own.

    Use it as a context manager; :meth:`connected` then yields the ``ray`` module with a
    driver connected to the cluster. ``health_check`` sets how often the head's GCS asks
    each node whether it is alive (``period_ms``) and after how many missed answers
    (``failure_threshold``) it declares the node dead.
    """

    cpus_per_node: int = 1
    object_store_bytes: int = 256 * 1024**2
    health_check: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    temp_dir: Path | None = None
    gcs_port: int = 0
    #: Nodes crashed on purpose by :meth:`kill_node`: their exit is no start-up failure.
    killed: set[str] = field(default_factory=set)
    #: Seconds from launching the head until its GCS port opened (set by :meth:`start`).
    start_timings: dict[str, float] = field(default_factory=dict)
    #: What :meth:`stop` found, once the ``with`` block has ended.
    teardown: dict[str, Any] = field(default_factory=dict)
    #: Token authentication: every node and every driver of this cluster must present it.
    token: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)

    @property
    def address(self) -> str:
        """What a driver or a joining node passes as ``--address`` / ``RAY_ADDRESS``."""
        return f"127.0.0.1:{self.gcs_port}"

    def auth_env(self) -> dict[str, str]:
        """The environment a driver of this cluster needs besides ``RAY_ADDRESS``."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    # [start:node-command]
    def node_command(self, role: str, ports: list[int]) -> list[str]:
        """The ``ray start`` command line of one node (``ports``: one per NODE_PORT_FLAGS)."""
        assert self.temp_dir is not None
        command = ["ray", "start", "--block",
                   "--node-ip-address=127.0.0.1",
                   f"--num-cpus={self.cpus_per_node}",
                   f"--object-store-memory={self.object_store_bytes}",
                   f"--temp-dir={self.temp_dir / role}",
                   "--disable-usage-stats"]
        if role == "head":
            command += ["--head", f"--port={self.gcs_port}", "--include-dashboard=false"]
            if _has_ray_client():
                command.append(f"--ray-client-server-port={free_ports(1)[0]}")
        else:
            command += [f"--address={self.address}",
                        f"--resources={json.dumps({WORKER_RESOURCE: 1})}"]
        command += [f"{flag}={port}" for flag, port in zip(NODE_PORT_FLAGS, ports, strict=True)]
        return command
    # [end:node-command]

    def node_env(self) -> dict[str, str]:
        """The environment of both ``ray start`` processes: the same on every node."""
        env = child_env({**self.auth_env(), "RAY_USAGE_STATS_ENABLED": "0",
                         "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": str(DRAIN_S)})
        env.update({f"RAY_health_check_{key}": str(value)
                    for key, value in self.health_check.items()})
        env.pop("RAY_ADDRESS", None)  # a node joins the cluster named on its command line
        return env

    # [start:start-node]
    def start_node(self, role: str) -> Node:
        """Launch ``ray start --block`` for one node, in a new session, logging to a file."""
        assert self.temp_dir is not None
        ports = free_ports(len(NODE_PORT_FLAGS))
        command = self.node_command(role, ports)
        node = Node(role, command, self.temp_dir / f"{role}.log")
        # `python -m ray.scripts.scripts` is the `ray` command of this very interpreter,
        # so both nodes run the driver's Python and Ray versions.
        argv = [sys.executable, "-m", "ray.scripts.scripts", *command[1:]]
        with open(node.log_path, "wb") as log:
            node.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.node_env(), start_new_session=True, preexec_fn=_die_with_parent)
        node.started_at = time.perf_counter()
        self.nodes[role] = node
        return node
    # [end:start-node]

    def start(self) -> dict[str, float]:
        """Start the head, then the worker; return seconds until the GCS port opened."""
        base = "/tmp" if os.path.isdir("/tmp") else None  # short: Ray's socket paths
        self.temp_dir = Path(tempfile.mkdtemp(prefix="parbook-ray-", dir=base))
        self.gcs_port = free_ports(1)[0]
        head = self.start_node("head")
        self.start_node("worker")  # it retries until the head's GCS answers
        self.wait_until(lambda: _port_open(self.gcs_port), "the head's GCS port to open")
        self.start_timings = {"gcs_port_open": time.perf_counter() - head.started_at}
        return self.start_timings

    def wait_until(self, ready: Callable[[], bool], what: str,
              timeout_s: float = READY_TIMEOUT_S) -> float:
        """Poll ``ready`` until it is true; fail with the nodes' logs if a node exits or
        the deadline passes. Returns the seconds waited."""
        began = time.monotonic()
        while not ready():
            for node in self.nodes.values():
                if (node.role not in self.killed and node.process is not None
                        and node.process.poll() is not None):
                    raise RuntimeError(f"the {node.role} node exited (code "
                                       f"{node.process.returncode}) while waiting for {what}:"
                                       f"\n{node.log_tail()}")
            if time.monotonic() - began > timeout_s:
                logs = "\n".join(f"--- {n.role}:\n{n.log_tail()}" for n in self.nodes.values())
                raise TimeoutError(f"no {what} after {timeout_s:.0f} s\n{logs}")
            time.sleep(POLL_S)
        return time.monotonic() - began

    # [start:connect]
    @contextlib.contextmanager
    def connected(self) -> Iterator[Any]:
        """Yield ``ray`` with a driver connected to this cluster through ``RAY_ADDRESS``.

        The driver goes through :func:`parbook.shared.raysession.ray_session`, exactly as every
        experiment of the book does when a reader sets ``RAY_ADDRESS``.
        """
        from parbook.shared.raysession import environment, ray_session

        with environment(RAY_ADDRESS=self.address, **self.auth_env()), ray_session() as ray:
            yield ray
    # [end:connect]

    def wait_for_nodes(self, ray: Any, count: int, timeout_s: float = READY_TIMEOUT_S) -> float:
        """Wait until ``ray.nodes()`` lists ``count`` alive nodes; return the seconds waited."""
        return self.wait_until(lambda: len(alive_nodes(ray)) >= count,
                               f"{count} alive nodes", timeout_s)

    def processes(self) -> dict[str, list[ProcessInfo]]:
        """The live processes of each node, by role."""
        return {role: session_processes(node.session) for role, node in self.nodes.items()}

    # [start:kill-node]
    def kill_node(self, role: str) -> int:
        """Crash a node: SIGKILL to every process of its session at once, as a machine
        that loses power would stop. Returns how many processes were killed."""
        victims = session_processes(self.nodes[role].session)
        self.killed.add(role)
        for info in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
        return len(victims)
    # [end:kill-node]

    # [start:stop]
    def stop(self) -> dict[str, Any]:
        """Stop both nodes: SIGTERM to each ``ray start`` (it stops its node's processes),
        SIGKILL to whatever is left of their sessions after STOP_GRACE_S, then check that
        no process of the cluster survives and remove the temporary folder."""
        snapshot = [info for infos in self.processes().values() for info in infos]
        began = time.perf_counter()
        deadline = time.monotonic() + STOP_GRACE_S
        # The head only once the worker has stopped: a stopping worker node reports to the
        # head's GCS, and one signalled together with its head could wait for that GCS
        # past the grace period (2 stops in 6 did, on a quiet machine).
        for role in ("worker", "head"):
            node = self.nodes.get(role)
            if node is not None and node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        while still_alive(snapshot) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        killed = still_alive(snapshot)
        for info in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, signal.SIGKILL)
        for node in self.nodes.values():
            if node.process is not None:
                node.process.wait(timeout=STOP_GRACE_S)
        seconds = time.perf_counter() - began
        survivors = still_alive(snapshot) + [
            info for node in self.nodes.values() for info in session_processes(node.session)]
        mentioning = processes_mentioning(str(self.temp_dir)) if self.temp_dir else []
        # Both nodes name their session folder after the cluster's session.
        sessions = sorted({path.name for path in self.temp_dir.glob("*/session_2*")}
                          ) if self.temp_dir else []
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
        return {
            "seconds": seconds,
            "processes_before": len(snapshot),
            "killed_after_grace": [info.label for info in killed],
            "survivors": [info.label for info in survivors],
            "processes_mentioning_temp_dir": mentioning,
            "session_dirs": sessions,
            "temp_dir_removed": self.temp_dir is not None and not self.temp_dir.exists(),
            "exit_codes": {role: node.process.returncode if node.process else None
                           for role, node in self.nodes.items()},
        }
    # [end:stop]

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.teardown = self.stop()


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _has_ray_client() -> bool:
    """Whether Ray Client's dependencies are installed: then the head opens its port
    (10001 by default), which ``ray start`` refuses to be given otherwise."""
    import importlib.util

    return importlib.util.find_spec("grpc") is not None


def alive_nodes(ray: Any) -> list[dict[str, Any]]:
    """The entries of ``ray.nodes()`` for nodes that are alive."""
    return [node for node in ray.nodes() if node.get("Alive")]


#: The resource Ray gives the head node only.
HEAD_MARKER = "node:__internal_head__"


def role_of(node: dict[str, Any]) -> str:
    """"head" or "worker", for one entry of ``ray.nodes()``."""
    return "head" if HEAD_MARKER in node.get("Resources", {}) else "worker"


def node_ids(ray: Any) -> dict[str, str]:
    """The id of each alive node, by role: ``{"head": ..., "worker": ...}``."""
    return {role_of(node): node["NodeID"] for node in alive_nodes(ray)}


def describe_nodes(ray: Any) -> list[dict[str, Any]]:
    """One row per node of ``ray.nodes()``: what the driver knows about each."""
    rows = []
    for node in ray.nodes():
        resources = node.get("Resources", {})
        custom = {name: value for name, value in resources.items()
                  if name not in ("CPU", "GPU", "memory", "object_store_memory")
                  and not name.startswith("node:") and not name.startswith("accelerator")}
        rows.append({
            "role": role_of(node),
            "node_id": node["NodeID"],
            "alive": bool(node.get("Alive")),
            "address": node.get("NodeManagerAddress"),
            "node_manager_port": node.get("NodeManagerPort"),
            "object_manager_port": node.get("ObjectManagerPort"),
            "cpus": resources.get("CPU", 0.0),
            "object_store_bytes": resources.get("object_store_memory", 0.0),
            "custom_resources": custom,
        })
    return sorted(rows, key=lambda row: row["role"] != "head")


# ---------------------------------------------------------------------------------------
# What runs on the cluster. Plain functions and classes in an importable module: each
# node's workers import this module by name, so every node must have it installed.


# [start:where]
def where_am_i() -> str:
    """The id of the node this task or actor runs on."""
    import ray

    return ray.get_runtime_context().get_node_id()


def work_then_report(seconds: float) -> str:
    """Stand-in for a real task: work for ``seconds``, then say where it ran."""
    time.sleep(seconds)
    return where_am_i()


class Locator:
    """An actor that reports the node it lives on."""

    def node(self) -> str:
        return where_am_i()
# [end:where]


# [start:transfer]
def nbytes_of(array: Any) -> int:
    """A task that receives an array and reads nothing of it: what it costs is getting
    the array onto the task's node (nothing, if it is already there) plus the task."""
    return int(array.nbytes)
# [end:transfer]


# [start:failure-remotes]
class Tally:
    """An actor with state: a count that lives only in its process's memory."""

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> tuple[int, str]:
        self.count += 1
        return self.count, where_am_i()


def slow_report(seconds: float) -> str:
    """A task still running (or queued) when its node dies."""
    time.sleep(seconds)
    return where_am_i()


def make_block(mib: int) -> tuple[str, Any]:
    """A task whose result is large enough to live in its node's object store."""
    import numpy as np

    return where_am_i(), np.ones(mib * 1024**2, dtype=np.uint8)
# [end:failure-remotes]


@functools.cache
def remote_versions() -> dict[str, Any]:
    """Ray remote versions of this module's functions and actors."""
    import ray

    return {
        "where_am_i": ray.remote(where_am_i),
        "work_then_report": ray.remote(work_then_report),
        "Locator": ray.remote(Locator),
        "nbytes_of": ray.remote(nbytes_of),
        "Tally": ray.remote(Tally),
        "slow_report": ray.remote(max_retries=2)(slow_report),
        "make_block": ray.remote(max_retries=2)(make_block),
    }


def on_node(node_id: str, soft: bool = False) -> dict[str, Any]:
    """``.options(...)`` that pin a task or an actor to one node."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=node_id, soft=soft)}


# [start:placement]
def placement_options(strategy: str, worker_id: str) -> dict[str, Any]:
    """The ``.options(...)`` of each way of placing work compared in the chapter."""
    if strategy == "default":
        return {}
    if strategy == "spread":
        return {"scheduling_strategy": "SPREAD"}
    if strategy == "node_affinity":
        return on_node(worker_id)
    if strategy == "custom_resource":
        return {"resources": {WORKER_RESOURCE: 0.01}}  # a fraction: several actors fit
    raise ValueError(f"unknown strategy {strategy!r}")


def place_tasks(strategy: str, worker_id: str, count: int, task_s: float) -> list[str]:
    """Submit ``count`` tasks at once with one strategy; return the node each ran on."""
    import ray

    task = remote_versions()["work_then_report"].options(
        **placement_options(strategy, worker_id))
    return ray.get([task.remote(task_s) for _ in range(count)], timeout=WAIT_S)


def place_actors(strategy: str, worker_id: str, count: int) -> list[str]:
    """Create ``count`` actors with one strategy; return the node each lives on."""
    import ray

    options = placement_options(strategy, worker_id)
    if "resources" in options:
        # An actor that names any resource holds 1 CPU for its whole life unless told
        # otherwise; on one-CPU nodes the second such actor would never start.
        options["num_cpus"] = 0
    actor_class = remote_versions()["Locator"].options(**options)
    actors = [actor_class.remote() for _ in range(count)]
    try:
        return ray.get([actor.node.remote() for actor in actors], timeout=WAIT_S)
    finally:
        for actor in actors:
            ray.kill(actor)
# [end:placement]


# [start:failure]
def exception_summary(error: BaseException) -> dict[str, Any]:
    """An exception as data: its type, the Ray error classes it is, its first line."""
    kinds = [cls.__name__ for cls in type(error).__mro__
             if cls.__module__.startswith("ray") and cls.__name__ != "RayError"]
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return {"type": type(error).__name__, "is_a": kinds, "message": first_line[:240]}


def outcome(ref: Any, timeout_s: float = WAIT_S,
            keep: Callable[[Any], Any] = lambda value: value) -> dict[str, Any]:
    """``ray.get(ref)`` as data: what it returned (passed through ``keep``) or the
    exception it raised."""
    import ray

    try:
        return {"returned": keep(ray.get(ref, timeout=timeout_s))}
    except Exception as error:  # the demonstration records whatever Ray raises
        return {"raised": exception_summary(error)}


def lose_the_worker_node(cluster: LocalCluster, ray: Any, head_id: str, worker_id: str,
                         task_s: float, block_mib: int) -> dict[str, Any]:
    """Crash the worker node while an actor lives there, a task runs there and a task's
    result is stored only there; record what the driver sees, and when."""
    remote = remote_versions()
    plain = remote["Tally"].options(**on_node(worker_id))  # max_restarts=0, the default
    restartable = remote["Tally"].options(**on_node(worker_id, soft=True), max_restarts=1,
                                          max_task_retries=1)
    tallies = {"plain": plain.remote(), "restartable": restartable.remote()}
    before = {name: ray.get([actor.add.remote(), actor.add.remote()], timeout=WAIT_S)[-1]
              for name, actor in tallies.items()}
    block = remote["make_block"].options(**on_node(worker_id, soft=True)).remote(block_mib)
    ray.wait([block], timeout=WAIT_S, fetch_local=False)  # made, and left on the worker
    running = remote["slow_report"].options(**on_node(worker_id, soft=True)).remote(task_s)
    time.sleep(min(0.5, task_s / 4))  # let it start there

    killed_at = time.perf_counter()
    events: dict[str, Any] = {"processes_killed": cluster.kill_node("worker")}

    def record(name: str, result: dict[str, Any]) -> None:
        events[name] = {**result, "after_s": time.perf_counter() - killed_at}

    record("plain_actor_first_call", outcome(tallies["plain"].add.remote(), timeout_s=30))
    declared = cluster.wait_until(
        lambda: worker_id not in {node["NodeID"] for node in alive_nodes(ray)},
        "the worker node to be declared dead")
    record("node_declared_dead", {"waited_s": declared})
    record("plain_actor_after_death", outcome(tallies["plain"].add.remote()))
    record("running_task", outcome(running))
    record("lost_object", outcome(block, keep=lambda made: made[0]))  # the node id
    record("restartable_actor", outcome(tallies["restartable"].add.remote()))
    for actor in tallies.values():
        ray.kill(actor)
    node = next(n for n in ray.nodes() if n["NodeID"] == worker_id)
    events["worker_node_entry"] = {"Alive": node.get("Alive"),
                                   "DeathReasonMessage": node.get("DeathReasonMessage", "")}
    events["before"] = before
    events["head_id"], events["worker_id"] = head_id, worker_id
    return events
# [end:failure]


def up_and_down() -> dict[str, Any]:
    """Start a cluster, wait for both nodes, tear it down; what was seen, as data."""
    with LocalCluster() as cluster, cluster.connected() as ray:
        cluster.wait_for_nodes(ray, 2)
        alive = len(alive_nodes(ray))
        sessions = {role: node.session for role, node in cluster.nodes.items()}
        processes = {role: [info.label for info in infos]
                     for role, infos in cluster.processes().items()}
        temp_dir = str(cluster.temp_dir)
    return {"alive_nodes": alive, "sessions": sessions, "processes": processes,
            "temp_dir": temp_dir, "teardown": cluster.teardown,
            "label_counts": {role: dict(Counter(labels)) for role, labels in processes.items()}}


def main(argv: list[str]) -> int:
    """``python -m parbook.chapters.ray_cluster.workload up-and-down``: print its JSON."""
    return run_demo("parbook.chapters.ray_cluster.workload",
                    {"up-and-down": lambda _argv: print(json.dumps(up_and_down()))}, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
