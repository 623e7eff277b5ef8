"""What the Ray cluster chapter concludes from one result: findings per section, and the
texts (every sentence and number the page glues)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parbook import sources
from parbook.bench.results import Result
from parbook.chapters.ray_cluster.experiment import MIB, NETWORK_GBIT_S
from parbook.render.formatting import format_network_rate, format_ratio, format_seconds

#: The task on the other node "cost" more than one on the head only above this ratio of
#: their times (with no array to move); below it the extra hop is lost in the noise.
EXTRA_HOP_VISIBLE_ABOVE = 1.1
#: The error a call to an actor on a lost node raises while the cluster has not yet
#: decided whether the actor is gone or only unreachable.
UNDECIDED_ERROR = "ActorUnavailableError"
#: The time of a transfer "hardly depends" on the size below this ratio of the largest
#: array's time to the empty task's; from it on, it "grows with the size".
GROWS_FROM = 2.0
#: The address the node commands ask for.
LOOPBACK = "127.0.0.1"
#: How long an error message in the failure table may be before it is cut.
MESSAGE_CHARS = 110


@dataclass(frozen=True)
class NodeRow:
    """One node as ``ray.nodes()`` described it to the driver."""

    role: str
    node_id: str
    alive: bool
    address: str
    node_manager_port: int
    object_manager_port: int
    cpus: float
    object_store_bytes: float
    custom_resources: dict[str, float]


@dataclass(frozen=True)
class Teardown:
    """What stopping the cluster found."""

    seconds: float
    processes_before: int
    killed_after_grace: tuple[str, ...]
    survivors: tuple[str, ...]
    mentioning_temp_dir: int
    temp_dir_removed: bool


@dataclass(frozen=True)
class Cluster:
    """The two-node cluster: how it was started, what it was made of, how it stopped."""

    ray_version: str
    cpus_per_node: int
    object_store_mib: int
    commands: dict[str, tuple[str, ...]]   # role -> the `ray start` command line
    node_processes: dict[str, dict[str, int]]  # role -> process label -> count
    gcs_port_open_s: float
    driver_connected_s: float
    two_nodes_alive_s: float
    nodes: tuple[NodeRow, ...]
    alive_nodes: int
    cluster_cpus: float
    teardown: Teardown

    def processes_of(self, role: str) -> int:
        """How many processes the node ``role`` had right after start-up."""
        return sum(self.node_processes[role].values())


@dataclass(frozen=True)
class Placement:
    """Where each strategy put a batch of tasks and of actors, and how long each took."""

    tasks: int
    task_s: float
    counts: dict[str, dict[str, dict[str, int]]]  # kind -> strategy -> role -> count
    seconds: dict[tuple[str, str], float]          # (kind, strategy) -> wall time

    @property
    def actors(self) -> int:
        """How many actors each strategy placed (counted where they ran)."""
        return sum(self.counts["actors"]["default"].values())

    @property
    def affinity_over_spread(self) -> float:
        """The batch of tasks pinned to the worker against the batch spread over both."""
        return self.seconds[("tasks", "node_affinity")] / self.seconds[("tasks", "spread")]


@dataclass(frozen=True)
class TransferRow:
    """Receiving an array from the head's store, per array size (medians, seconds)."""

    mib: int
    head: float
    worker: float
    memcpy: float | None  # one in-process copy of the same bytes; None with no array

    @property
    def extra(self) -> float:
        """What the other node paid on top of the head."""
        return self.worker - self.head

    @property
    def bytes_per_s(self) -> float | None:
        """The transfer rate the extra time implies; None with no array or no extra."""
        return self.mib * MIB / self.extra if self.mib and self.extra > 0 else None


@dataclass(frozen=True)
class Transfer:
    """Moving objects between the nodes' stores."""

    rows: tuple[TransferRow, ...]

    @property
    def largest(self) -> TransferRow:
        return max(self.rows, key=lambda row: row.mib)

    @property
    def empty(self) -> TransferRow:
        """The row with no array at all (a tiny inline argument)."""
        return min(self.rows, key=lambda row: row.mib)

    @property
    def on_wire_s(self) -> dict[float, float]:
        """Seconds the largest array would take on each network link, before software."""
        return {gbit: self.largest.mib * MIB * 8 / (gbit * 1e9) for gbit in NETWORK_GBIT_S}


@dataclass(frozen=True)
class RaisedError:
    """An exception the driver saw, as data."""

    type: str
    is_a: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class FailureEvent:
    """One consequence of the crash, as the driver saw it."""

    after_s: float
    raised: RaisedError | None = None
    returned: Any = None  # a node id, or [count, node id] for the restarted actor


@dataclass(frozen=True)
class Failure:
    """Killing the worker node while an actor lived there and a task ran there."""

    processes_killed: int
    events: dict[str, FailureEvent]  # name (experiment.FAILURE_LABELS) -> event
    head_id: str
    worker_id: str
    worker_alive_after: bool
    death_reason: str
    count_before: int
    health_period_s: float
    health_threshold: int
    default_period_s: float
    default_threshold: int
    task_s: float

    @property
    def default_detection_s(self) -> float:
        """How long Ray's default health check takes to notice a dead node."""
        return self.default_period_s * self.default_threshold

    @property
    def first_error(self) -> RaisedError | None:
        return self.events["plain_actor_first_call"].raised

    @property
    def died_error(self) -> RaisedError | None:
        return self.events["plain_actor_after_death"].raised

    @property
    def restarted(self) -> tuple[int | None, str | None]:
        """(count, node id) the restarted actor returned; (None, None) if it raised."""
        returned = self.events["restartable_actor"].returned
        return (returned[0], returned[1]) if returned else (None, None)


@dataclass(frozen=True)
class CommandLine:
    """Another experiment of the book, run on the cluster with ``--ray-address``."""

    experiment: str
    command: str
    output: str
    returncode: int | None
    killed: bool
    ray_address: str | None
    ray_nodes: int | None
    ray_cluster_cpus: float | None
    seconds: float


@dataclass(frozen=True)
class Findings:
    """Everything the page says about one run, section by section."""

    cluster: Cluster
    placement: Placement
    transfer: Transfer
    failure: Failure
    cli: CommandLine


def _event(data: dict[str, Any]) -> FailureEvent:
    raised = data.get("raised")
    return FailureEvent(
        after_s=data["after_s"], returned=data.get("returned"),
        raised=RaisedError(raised["type"], tuple(raised["is_a"]), raised["message"])
        if raised else None,
    )


def findings(result: Result) -> Findings:
    """The chapter's findings, derived from one recorded result."""
    params, values = result.parameters, result.values
    failure, cli, teardown = values["failure"], values["cli_run"], values["teardown"]
    health, default = params["health_check"], params["ray_default_health_check"]
    placement_cases = result.group("placement")
    mibs = sorted({case.params["mib"] for case in result.group("transfer")})
    return Findings(
        cluster=Cluster(
            ray_version=result.machine["packages"]["ray"],
            cpus_per_node=params["cpus_per_node"],
            object_store_mib=params["object_store_mib"],
            commands={role: tuple(command) for role, command in values["commands"].items()},
            node_processes=values["node_processes"],
            gcs_port_open_s=result.median("cluster_start", step="gcs_port_open"),
            driver_connected_s=result.median("cluster_start", step="driver_connected"),
            two_nodes_alive_s=result.median("cluster_start", step="two_nodes_alive"),
            nodes=tuple(NodeRow(**node) for node in values["nodes"]),
            alive_nodes=params["ray_nodes"],
            cluster_cpus=params["ray_cluster_cpus"],
            teardown=Teardown(
                seconds=teardown["seconds"], processes_before=teardown["processes_before"],
                killed_after_grace=tuple(teardown["killed_after_grace"]),
                survivors=tuple(teardown["survivors"]),
                mentioning_temp_dir=len(teardown["processes_mentioning_temp_dir"]),
                temp_dir_removed=teardown["temp_dir_removed"],
            ),
        ),
        placement=Placement(
            tasks=placement_cases[0].params["count"],
            task_s=params["placement_task_s"],
            counts=values["placement"],
            seconds={(c.params["kind"], c.params["strategy"]): c.summary.median
                     for c in placement_cases},
        ),
        transfer=Transfer(rows=tuple(
            TransferRow(mib=mib, head=result.median("transfer", node="head", mib=mib),
                        worker=result.median("transfer", node="worker", mib=mib),
                        memcpy=result.median("memcpy", mib=mib) if mib else None)
            for mib in mibs)),
        failure=Failure(
            processes_killed=failure["processes_killed"],
            events={name: _event(data) for name, data in failure.items()
                    if isinstance(data, dict) and "after_s" in data},
            head_id=failure["head_id"], worker_id=failure["worker_id"],
            worker_alive_after=bool(failure["worker_node_entry"]["Alive"]),
            death_reason=failure["worker_node_entry"]["DeathReasonMessage"],
            count_before=failure["before"]["restartable"][0],
            health_period_s=health["period_ms"] / 1000,
            health_threshold=health["failure_threshold"],
            default_period_s=default["period_ms"] / 1000,
            default_threshold=default["failure_threshold"],
            task_s=params["failure_task_s"],
        ),
        cli=CommandLine(
            experiment=params["cli_experiment"], command=cli["command"],
            output=cli["output"], returncode=cli["returncode"], killed=cli["killed"],
            ray_address=cli["ray_address"], ray_nodes=cli["ray_nodes"],
            ray_cluster_cpus=cli["ray_cluster_cpus"],
            seconds=result.median("cli_run", experiment=params["cli_experiment"]),
        ),
    )


def placement_clause(kind: str, counts: dict[str, int]) -> str:
    """Where one strategy's tasks or actors ran: ``"all 4 tasks ran on the worker node"``."""
    head, worker = counts["head"], counts["worker"]
    noun = kind[:-1]
    if head + worker == 1:
        return f"the {noun} ran on the head" if head else f"the {noun} ran on the worker node"
    if not worker:
        return f"all {head} {kind} ran on the head"
    if not head:
        return f"all {worker} {kind} ran on the worker node"
    return f"{head} {noun if head == 1 else kind} ran on the head and {worker} on the worker node"


def actors_placed(placement: Placement) -> str:
    """How many actors each strategy placed: ``"one actor"`` or ``"2 actors"``."""
    return "one actor" if placement.actors == 1 else f"{placement.actors} actors"


def wire_verdict(transfer: Transfer) -> str:
    """Whether a real network link or Ray's own copying would set the pace."""
    extra = transfer.largest.extra
    slower = [f"{gbit:g} Gbit/s" for gbit, wire_s in transfer.on_wire_s.items() if wire_s > extra]
    faster = [f"{gbit:g} Gbit/s" for gbit, wire_s in transfer.on_wire_s.items()
              if wire_s <= extra]
    if slower and faster:
        return (f"On a {' or '.join(slower)} link the wire would be slower than Ray's copy "
                f"over loopback was here, and would set the pace; on a {' or '.join(faster)} "
                "link, Ray's own copying would.")
    if slower:
        return ("Every one of these links would be slower than Ray's copy over loopback was "
                "here, so on a real network the wire would set the pace.")
    return ("Every one of these links would carry the bytes faster than Ray copied them "
            "here, so Ray's own copying, not the wire, would set the pace.")


def sizes_sentence(transfer: Transfer) -> str:
    """Whether the time grew with the array's size on each node."""
    largest, empty = transfer.largest, transfer.empty
    head_grows = largest.head >= GROWS_FROM * empty.head
    worker_grows = largest.worker >= GROWS_FROM * empty.worker
    if worker_grows and not head_grows:
        return ("On the head, the time hardly depends on the size: the task maps the array "
                "that is already there. On the worker node it grows with the size.")
    if worker_grows:
        return ("Here the time grew with the size on both nodes (see the table), although on "
                "the head the task maps the array that is already there.")
    if head_grows:
        return ("Here the time grew with the size on the head but hardly on the worker node: "
                "see the table, and the spread table for how noisy these cases were.")
    return ("Here the time hardly grew with the size on either node (see the table): at these "
            "sizes, scheduling the task cost more than moving the array.")


def empty_verdict(transfer: Transfer) -> str:
    """What a task on the other node cost with no array to move, against one on the head."""
    empty = transfer.empty
    worker, head = format_seconds(empty.worker), format_seconds(empty.head)
    if empty.worker > EXTRA_HOP_VISIBLE_ABOVE * empty.head:
        return (f"Even with no array at all, a task on the other node took {worker} against "
                f"{head} on the head, since its request and its result pass through both "
                "raylets.")
    return (f"Even with no array at all, a task on the other node took {worker}, against "
            f"{head} on the head: here the extra hop was lost in the noise of scheduling any "
            "task at all.")


def address_sentence(cluster: Cluster) -> str:
    """Whether Ray kept the loopback address the commands asked for."""
    address = cluster.nodes[0].address
    if address != LOOPBACK:
        return (f"The commands ask for {LOOPBACK}, but Ray replaced it with this machine's own "
                f"address, {address}, because a loopback address means nothing to another "
                "machine. Packets between the two nodes still never left the machine.")
    return (f"The commands ask for {LOOPBACK}, and Ray kept it: both nodes and the driver run "
            "on this machine, so packets between them never leave it.")


def stop_sentence(teardown: Teardown) -> str:
    """Whether SIGTERM alone stopped the cluster's processes."""
    if not teardown.killed_after_grace:
        return ("SIGTERM alone stopped them, with none left over for the SIGKILL that follows "
                "the grace period.")
    return (f"SIGTERM did not stop them all: after the grace period, SIGKILL had to end "
            f"{len(teardown.killed_after_grace)} more.")


def leftover_sentence(teardown: Teardown) -> str:
    """Whether anything of the cluster was left once it had stopped."""
    if teardown.survivors:
        return (f"Even so, processes of the cluster were still there afterwards "
                f"({len(teardown.survivors)}; see the raw data).")
    if teardown.mentioning_temp_dir or not teardown.temp_dir_removed:
        return ("Afterwards no process of the cluster was left, but its folder was still in "
                "use or could not be deleted (see the raw data).")
    return ("Afterwards no process on the machine still referred to the cluster's folder, "
            "which was then deleted.")


def cli_sentence(cli: CommandLine, alive_nodes: int) -> str:
    """Whether the other experiment ran on the cluster, and what it recorded."""
    if cli.killed:
        return ("It was still running at its time limit and was stopped: see its output "
                "above.")
    if cli.returncode != 0:
        return f"It failed this time, with exit code {cli.returncode}: see its output above."
    if cli.ray_nodes != alive_nodes:
        return (f"It ran, but recorded {nodes_text(cli.ray_nodes)} instead of the cluster's "
                f"{alive_nodes}, so it did not run on the cluster this time.")
    cpus = f"{cli.ray_cluster_cpus:g}" if cli.ray_cluster_cpus else "an unknown number of"
    return (f"It connected to the cluster instead of starting a local Ray instance and "
            f"recorded {cli.ray_nodes} nodes with {cpus} CPUs, so its Ray tables describe the "
            "cluster, not this machine.")


def cli_cell(cli: CommandLine, alive_nodes: int) -> str:
    """The summary table's cell for the other experiment run on the cluster."""
    if cli.killed:
        return "stopped at its time limit"
    if cli.returncode != 0:
        return f"failed (exit code {cli.returncode})"
    if cli.ray_nodes != alive_nodes:
        return f"ran, but recorded {nodes_text(cli.ray_nodes)}"
    return f"ran unchanged; recorded {nodes_text(cli.ray_nodes)}"


def nodes_text(nodes: int | None) -> str:
    """A count of Ray nodes in words: ``"2 nodes"``, ``"a single node"``, ``"no node"``."""
    if not nodes:
        return "no node"
    return "a single node" if nodes == 1 else f"{nodes} nodes"


def summary_rows(found: Findings) -> list[tuple[str, str]]:
    """The chapter's headline results, one (what, this build) row each, for the table
    under the short answer; each row is explained in a section below."""
    seconds, ratio = format_seconds, format_ratio
    cluster, transfer, failure, cli = (found.cluster, found.transfer, found.failure,
                                       found.cli)
    largest, events = transfer.largest, failure.events
    return [
        ("from launching the head until the driver listed both nodes alive",
         seconds(cluster.two_nodes_alive_s)),
        (f"a task receiving a {largest.mib} MiB array, on the head that holds it",
         seconds(largest.head)),
        ("the same, on the worker node",
         f"{seconds(largest.worker)}, {ratio(largest.worker / largest.head)} as long: Ray "
         f"copied at about {format_network_rate(largest.bytes_per_s)}"),
        ("after the worker node was killed: a call to the actor living there",
         f"raised {_error_type(failure.first_error)} after "
         f"{seconds(events['plain_actor_first_call'].after_s)}"),
        ("the head declared the node dead",
         f"after {seconds(events['node_declared_dead'].after_s)}"),
        ("the task that had been running there",
         f"ran again, on {node_name(failure, events['running_task'].returned)}"),
        (f"this book's {cli.experiment} experiment, run with --ray-address",
         cli_cell(cli, cluster.alive_nodes)),
    ]


def first_error_meaning(failure: Failure) -> str:
    """What the first error of a call to the lost actor says about the cluster's knowledge."""
    first = failure.first_error
    if first is not None and first.type == UNDECIDED_ERROR:
        return ("Its connection to the actor's process failed, but the cluster had not yet "
                "decided whether the actor was gone or only unreachable (a network hiccup "
                "looks the same), so the error says that the actor may come back and that "
                "the call may have run.")
    return ("By the time the call failed, the cluster had already decided that the actor "
            "was gone.")


def node_name(failure: Failure, node_id: str | None) -> str:
    """``"the head"``, ``"the worker node"`` or ``"an unknown node"``."""
    return {failure.head_id: "the head",
            failure.worker_id: "the worker node"}.get(node_id, "an unknown node")


def what_happened(failure: Failure, event: FailureEvent) -> str:
    """One consequence of the crash as a table cell: what was raised or returned."""
    if event.raised is not None:
        kinds = " → ".join(event.raised.is_a)
        return f"raised {kinds}: {event.raised.message[:MESSAGE_CHARS]}"
    if isinstance(event.returned, list):
        count, node_id = event.returned
        return f"returned count {count}, from {node_name(failure, node_id)}"
    if event.returned is not None:
        return f"returned, computed on {node_name(failure, event.returned)}"
    return "the driver stopped seeing the node in ray.nodes() as alive"


def _error_type(error: RaisedError | None) -> str:
    return error.type if error is not None else "no error"


def texts(found: Findings) -> dict[str, Any]:
    """Every sentence and number the page glues, by glue key."""
    seconds, ratio = format_seconds, format_ratio
    cluster, placement, transfer, failure, cli = (found.cluster, found.placement,
                                                 found.transfer, found.failure, found.cli)
    largest = transfer.largest
    restarted_count, restarted_node = failure.restarted
    claim = sources.RAY_ROUND_TRIP_CLAIM_S
    events = failure.events
    glued: dict[str, Any] = {
        "rc_ray_version": cluster.ray_version,
        "rc_cpus_per_node": cluster.cpus_per_node,
        "rc_store_mib": cluster.object_store_mib,
        "rc_nodes": cluster.alive_nodes,
        "rc_cluster_cpus": f"{cluster.cluster_cpus:g}",
        "rc_address_sentence": address_sentence(cluster),
        "rc_gcs_port_open": seconds(cluster.gcs_port_open_s),
        "rc_driver_connected": seconds(cluster.driver_connected_s),
        "rc_two_nodes_alive": seconds(cluster.two_nodes_alive_s),
        "rc_teardown_s": seconds(cluster.teardown.seconds),
        "rc_teardown_processes": cluster.teardown.processes_before,
        "rc_stop_sentence": stop_sentence(cluster.teardown),
        "rc_leftover_sentence": leftover_sentence(cluster.teardown),
        "rc_head_processes": cluster.processes_of("head"),
        "rc_worker_processes": cluster.processes_of("worker"),
        # Where work runs.
        "rc_placement_tasks": placement.tasks,
        "rc_placement_actors": actors_placed(placement),
        "rc_task_s": seconds(placement.task_s),
        "rc_affinity_vs_spread": ratio(placement.affinity_over_spread),
        # Moving objects between nodes.
        "rc_largest_mib": largest.mib,
        "rc_largest_head": seconds(largest.head),
        "rc_largest_worker": seconds(largest.worker),
        "rc_largest_memcpy": seconds(largest.memcpy),
        "rc_rate": format_network_rate(largest.bytes_per_s),
        "rc_empty_head": seconds(transfer.empty.head),
        "rc_empty_worker": seconds(transfer.empty.worker),
        "rc_claim": seconds(claim.rows[0]["value"]),
        "rc_claim_machine": claim.machine,
        "rc_wire_verdict": wire_verdict(transfer),
        "rc_empty_verdict": empty_verdict(transfer),
        "rc_sizes_sentence": sizes_sentence(transfer),
        # When a node dies.
        "rc_processes_killed": failure.processes_killed,
        "rc_first_error": _error_type(failure.first_error),
        "rc_first_error_meaning": first_error_meaning(failure),
        "rc_death_reason": failure.death_reason,
        "rc_first_error_s": seconds(events["plain_actor_first_call"].after_s),
        "rc_declared_dead_s": seconds(events["node_declared_dead"].after_s),
        "rc_died_error": _error_type(failure.died_error),
        "rc_task_rerun_s": seconds(events["running_task"].after_s),
        "rc_task_rerun_node": node_name(failure, events["running_task"].returned),
        "rc_object_rebuilt_s": seconds(events["lost_object"].after_s),
        "rc_object_rebuilt_node": node_name(failure, events["lost_object"].returned),
        "rc_restarted_count": str(restarted_count),
        "rc_restarted_node": node_name(failure, restarted_node),
        "rc_restarted_s": seconds(events["restartable_actor"].after_s),
        "rc_count_before": failure.count_before,
        "rc_failure_task_s": seconds(failure.task_s),
        "rc_health_period": seconds(failure.health_period_s),
        "rc_health_threshold": failure.health_threshold,
        "rc_default_period": seconds(failure.default_period_s),
        "rc_default_threshold": failure.default_threshold,
        "rc_default_detection": seconds(failure.default_detection_s),
        # The book on the cluster.
        "rc_cli_experiment": cli.experiment,
        "rc_cli_s": seconds(cli.seconds),
        "rc_cli_nodes": str(cli.ray_nodes),
        "rc_cli_cpus": f"{cli.ray_cluster_cpus:g}" if cli.ray_cluster_cpus else "?",
        "rc_cli_sentence": cli_sentence(cli, cluster.alive_nodes),
    }
    for kind in ("tasks", "actors"):
        for strategy, counts in placement.counts[kind].items():
            glued[f"rc_{kind}_{strategy}"] = placement_clause(kind, counts)
    for gbit, wire_s in transfer.on_wire_s.items():
        glued[f"rc_wire_{gbit:g}"] = seconds(wire_s)
    return glued
