"""Start and always stop Ray, locally or against a cluster named by ``RAY_ADDRESS``.

Every experiment that uses Ray goes through :func:`ray_session`, so a reader can
point the whole book at a cluster by setting ``RAY_ADDRESS`` (``ray.init`` reads it),
and a local instance is always sized for a small CI runner and shut down, even when
the code inside the ``with`` block fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

#: Object store size for a local instance: small enough for a 16 GB CI runner.
LOCAL_OBJECT_STORE_BYTES = 1 * 1024**3


def cluster_address() -> str | None:
    """The cluster address from ``RAY_ADDRESS``, or None for a local instance."""
    address = os.environ.get("RAY_ADDRESS", "").strip()
    return address or None


@contextlib.contextmanager
def ray_session(num_cpus: int | None = None, **init_kwargs: Any) -> Iterator[Any]:
    """Yield the ``ray`` module with Ray initialised; shut it down on exit.

    Locally, Ray gets ``num_cpus`` CPUs (default: what Ray detects), a bounded object
    store, no dashboard and no log forwarding (worker logs would land in the page).
    With ``RAY_ADDRESS`` set, it connects to that cluster instead, and local sizing
    arguments are not passed (a cluster's size is the cluster's).
    """
    import ray

    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised; parbook starts and stops its own")
    options: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": "ERROR",
        "configure_logging": True,
    }
    address = cluster_address()
    if address is None:
        # "local" always starts a fresh instance. With no address at all, ray.init would
        # join the last cluster started on this machine by `ray start` (it reads
        # /tmp/ray/ray_current_cluster), so a reader's own cluster, or the one the
        # cluster chapter starts, could silently run a local measurement.
        options.update(
            address="local",
            num_cpus=num_cpus,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        )
    else:
        options["address"] = address
    options.update(init_kwargs)
    ray.init(**options)
    try:
        yield ray
    finally:
        ray.shutdown()


def describe(ray: Any) -> dict[str, Any]:
    """Where a session's work runs, for a result's parameters: the address ("local" for
    a fresh local instance), the number of live nodes and the cluster's CPUs."""
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return {
        "ray_address": cluster_address() or "local",
        "ray_nodes": len(nodes),
        "ray_cluster_cpus": ray.cluster_resources().get("CPU", 0.0),
    }
