"""A local Ray session is private: its own temporary folder, removed afterwards, and a
token that every driver must present (Ray's servers listen on every interface)."""

import os
import subprocess
import sys
from pathlib import Path

from parbook.shared.raysession import ray_session

#: A driver that tries to join a cluster at the given GCS address without its token.
STRANGER = ("import sys, ray\n"
            "try:\n"
            "    ray.init(address=sys.argv[1], logging_level='ERROR')\n"
            "except ConnectionError:\n"
            "    sys.exit(3)\n"
            "print('joined', ray.cluster_resources())\n")


def test_a_local_session_is_private_and_leaves_nothing(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with ray_session(num_cpus=1) as ray:
        from ray._private import worker

        session_dir = Path(worker._global_node.get_session_dir_path())
        folder = session_dir.parent
        assert folder.name.startswith("parbook-ray-") and folder.is_dir()
        assert os.environ["RAY_AUTH_MODE"] == "token"
        gcs = ray.get_runtime_context().gcs_address
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        stranger = subprocess.run([sys.executable, "-c", STRANGER, gcs], env=env,
                                  capture_output=True, text=True, timeout=180)
        assert stranger.returncode == 3, stranger.stdout + stranger.stderr[-2000:]
        assert ray.get(ray.remote(lambda: 42).remote(), timeout=60) == 42
    assert not folder.exists()
    assert "RAY_AUTH_MODE" not in os.environ and "RAY_AUTH_TOKEN" not in os.environ
