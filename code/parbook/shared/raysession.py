"""Start and always stop Ray, locally or against a cluster named by ``RAY_ADDRESS``.

Every experiment that uses Ray goes through :func:`ray_session`, so a reader can
point the whole book at a cluster by setting ``RAY_ADDRESS`` (``ray.init`` reads it),
and a local instance is always sized for a small CI runner and shut down, even when
the code inside the ``with`` block fails.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
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

    A local instance is private to this session: its processes and sockets live in a
    temporary folder of their own, removed afterwards (Ray's default, ``/tmp/ray``, keeps
    every session's folder), and it requires a fresh random token from every driver and
    worker (Ray's token authentication). The token matters because Ray's servers listen on
    every network interface, even when told the node's address is 127.0.0.1.
    """
    import ray

    if ray.is_initialized():
        raise RuntimeError("Ray is already initialised; parbook starts and stops its own")
    if cluster_address() is not None:
        with _ray_connected(ray, init_kwargs) as connected:
            yield connected
        return
    folder = tempfile.mkdtemp(prefix="parbook-ray-", dir=_SHORT_TEMP)
    try:
        # The token is read by ray.init, and inherited by every Ray process.
        with environment(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=_SESSION_TOKEN):
            _reload_ray_config()
            with _ray_connected(ray, {"num_cpus": num_cpus, "_temp_dir": folder,
                                      **init_kwargs}) as connected:
                yield connected
    finally:
        _stop_stragglers(folder)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def environment(**settings: str) -> Iterator[None]:
    """Set environment variables for the ``with`` block; put back what was there after."""
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: The token of this process's local sessions. Ray would otherwise use the one it keeps in
#: ~/.ray/auth_token, which every program of the user (or anyone who can read the file)
#: could present. One per process, since Ray caches the token it has loaded.
_SESSION_TOKEN = secrets.token_hex(32)


def _reload_ray_config() -> None:
    """Make this process's Ray read its settings (the auth mode) from the environment
    again: Ray caches them when first loaded, and does this itself when it turns token
    authentication on."""
    from ray._raylet import Config

    Config.initialize("")


def _stop_stragglers(folder: str) -> None:
    """Kill what still runs of a local session after ``ray.shutdown()``: Ray's dashboard
    and runtime-env agents can outlive their raylet by a minute when the session is cut
    short. They are recognised by the files they hold open in the session's own folder
    (their logs), so nothing else on the machine is touched."""
    import psutil

    prefix = os.path.realpath(folder) + os.sep
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            if any(opened.path.startswith(prefix) for opened in process.open_files()):
                process.kill()
        except psutil.Error:
            continue


#: Where a local session's folder goes: Ray's socket paths must stay short (a Unix socket
#: path has at most 107 bytes), which a long $TMPDIR could break.
_SHORT_TEMP = "/tmp" if os.path.isdir("/tmp") else None


@contextlib.contextmanager
def _ray_connected(ray: Any, init_kwargs: dict[str, Any]) -> Iterator[Any]:
    """``ray.init`` with the book's options (see :func:`ray_session`); always shut down."""
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
