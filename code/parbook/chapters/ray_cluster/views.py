"""The Ray cluster chapter's tables and figure, by the ids the page shows them under."""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd

from parbook.bench.results import Result
from parbook.chapters.ray_cluster.analysis import (
    Findings,
    format_network_rate,
    summary_rows,
    what_happened,
)
from parbook.chapters.ray_cluster.experiment import (
    FAILURE_LABELS,
    MIB,
    NODE_LABELS,
    START_LABELS,
    STRATEGY_LABELS,
)
from parbook.render.formatting import format_seconds
from parbook.render.tables import Table, spread_table, time_cell

#: Characters of a node id the nodes table shows: enough to tell nodes apart.
SHORT_ID_CHARS = 8


def summary_table(result: Result, found: Findings) -> Table:
    """The chapter's headline results, shown under its short answer."""
    frame = pd.DataFrame(summary_rows(found), columns=["what", "this build"])
    return Table(frame, index=False, caption=(
        "What this chapter found on the machine that built this page, with two nodes over "
        "loopback: transfer times are medians, the rest single runs; each row is explained "
        "in a section below."))


def size_label(mib: int) -> str:
    """An array size as the transfer tables name it."""
    return "no array (a tiny inline argument)" if mib == 0 else f"{mib:,} MiB"


def commands(result: Result, found: Findings) -> str:
    """The ``ray start`` command of each node as this build ran it, wrapped for reading."""
    return "\n".join(
        f"# the {role} node\n" + textwrap.fill(" ".join(command), width=88,
                                              subsequent_indent="    ",
                                              break_on_hyphens=False, break_long_words=False)
        for role, command in found.cluster.commands.items())


def processes_table(result: Result, found: Findings) -> Table:
    rows = [{"node": role, "processes": found.cluster.processes_of(role),
             "what they are": ", ".join(f"{label} ×{count}" if count > 1 else label
                                        for label, count in labels.items())}
            for role, labels in found.cluster.node_processes.items()]
    return Table(pd.DataFrame(rows), caption="The processes of each node, right after "
                                             "start-up.", index=False)


def start_table(result: Result, found: Findings) -> Table:
    rows = [{"step": START_LABELS[case.params["step"]], "time": time_cell(case.summary)}
            for case in result.group("cluster_start")]
    rows.append({"step": START_LABELS["stop"],
                 "time": time_cell(result.group("teardown")[0].summary)})
    return Table(pd.DataFrame(rows), caption="Starting and stopping the two-node cluster "
                                             "(one run).", index=False)


def nodes_table(result: Result, found: Findings) -> Table:
    rows = [{"role": node.role, "node id": node.node_id[:SHORT_ID_CHARS] + "…",
             "alive": node.alive, "address": node.address,
             "node manager port": node.node_manager_port,
             "object manager port": node.object_manager_port,
             "CPUs": f"{node.cpus:g}",
             "object store": f"{node.object_store_bytes / MIB:,.0f} MiB",
             "custom resources": ", ".join(f"{name}={value:g}"
                                           for name, value in node.custom_resources.items())
                                 or "–"}
            for node in found.cluster.nodes]
    return Table(pd.DataFrame(rows), caption="ray.nodes() as the driver saw it once both "
                                             "nodes were up.", index=False)


def placement_table(result: Result, found: Findings) -> Table:
    times = {(case.params["kind"], case.params["strategy"]): case.summary
             for case in result.group("placement")}
    rows = []
    for strategy, label in STRATEGY_LABELS.items():
        row: dict[str, Any] = {"strategy": label}
        for kind in ("tasks", "actors"):
            counts = found.placement.counts[kind][strategy]
            row[f"{kind} on the head"] = counts["head"]
            row[f"{kind} on the worker"] = counts["worker"]
            row[f"{kind}: wall time"] = time_cell(times[(kind, strategy)])
        rows.append(row)
    return Table(pd.DataFrame(rows), caption="Where each task and actor ran, and how long the "
                                             "batch took (one run per strategy).", index=False)


def transfer_table(result: Result, found: Findings) -> Table:
    summaries = {(case.params["node"], case.params["mib"]): case.summary
                 for case in result.group("transfer")}
    rows = [{
        "array": size_label(row.mib),
        NODE_LABELS["head"]: time_cell(summaries[("head", row.mib)]),
        NODE_LABELS["worker"]: time_cell(summaries[("worker", row.mib)]),
        "extra on the other node": format_seconds(row.extra),
        "implied transfer rate": format_network_rate(row.bytes_per_s) if row.mib else "–",
        "one memcpy in the driver": format_seconds(row.memcpy) if row.memcpy is not None else "–",
    } for row in found.transfer.rows]
    return Table(pd.DataFrame(rows), caption="A task pinned to each node receives an array "
                                             "from the head's object store: time per task "
                                             "(median).", index=False)


def transfer_spread(result: Result, found: Findings) -> Table:
    frame = spread_table(result, "transfer", labels={"node": NODE_LABELS.get,
                                                     "mib": size_label})
    return Table(frame, caption="Every transfer case: N runs, interquartile range and "
                                "min-max of the time per task.", index=False)


def failure_table(result: Result, found: Findings) -> Table:
    failure = found.failure
    rows = [{"what the driver did": label,
             "seconds after the kill": format_seconds(failure.events[name].after_s),
             "what happened": what_happened(failure, failure.events[name])}
            for name, label in FAILURE_LABELS.items()]
    return Table(pd.DataFrame(rows), caption="Consequences of killing the worker node, in the "
                                             "order the driver asked (one run).", index=False)


def cli_output(result: Result, found: Findings) -> str:
    """The command this build ran against the cluster, and what it printed."""
    return f"$ {found.cli.command}\n{found.cli.output}"


def cli_table(result: Result, found: Findings) -> Table:
    cli = found.cli
    recorded = {"ray_address": cli.ray_address, "ray_nodes": cli.ray_nodes,
                "ray_cluster_cpus": cli.ray_cluster_cpus}
    rows = [{"recorded by the experiment": key,
             "value": f"{value:g}" if isinstance(value, float) else str(value)}
            for key, value in recorded.items()]
    rows.append({"recorded by the experiment": "wall time, including its local cases",
                 "value": format_seconds(cli.seconds)})
    return Table(pd.DataFrame(rows), caption="What the experiment run with --ray-address "
                                             "recorded about where it ran.", index=False)


def transfer_figure(result: Result, found: Findings) -> Any:
    """Seconds per task against array size, on each node, beside one memcpy."""
    import matplotlib.pyplot as plt

    measured = [row for row in found.transfer.rows if row.mib]
    sizes_mib = [row.mib for row in measured]
    figure, axes = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    for seconds, label, style in (
            ([row.worker for row in measured], NODE_LABELS["worker"], "o-"),
            ([row.head for row in measured], NODE_LABELS["head"], "s-"),
            ([row.memcpy for row in measured], "one memcpy of the same bytes (floor)", "^:")):
        axes.plot(sizes_mib, seconds, style, label=label)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.xaxis.set_major_formatter(lambda value, _pos: f"{value:g}")
    axes.set_xlabel("array size (MiB)")
    axes.set_ylabel("seconds per task (median)")
    axes.set_title("Receiving an array that lives in the head's object store")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize="small")
    return figure


TABLES = {
    "ray-cluster-summary": summary_table,
    "ray-cluster-processes-table": processes_table,
    "ray-cluster-start-table": start_table,
    "ray-cluster-nodes-table": nodes_table,
    "ray-cluster-placement-table": placement_table,
    "ray-cluster-transfer-table": transfer_table,
    "ray-cluster-transfer-spread": transfer_spread,
    "ray-cluster-failure-table": failure_table,
    "ray-cluster-cli-table": cli_table,
}
FIGURES = {"ray-cluster-transfer-sizes": transfer_figure}
OUTPUTS = {
    "ray-cluster-commands": commands,
    "ray-cluster-cli-output": cli_output,
}
