"""Ray versions of the overhead chapter's workloads, built lazily (importing Ray is slow)."""

from __future__ import annotations

import functools
from typing import Any

from parbook.shared.cpu import burn
from parbook.shared.roundtrip import Echo, echo


class Burner:
    """An actor that runs :func:`burn` on request, so calls reuse one live process."""

    def burn(self, iterations: int) -> int:
        return burn(iterations)


@functools.cache
def remote_versions() -> dict[str, Any]:
    """Ray remote versions of ``echo``, ``burn``, ``Echo`` and ``Burner``."""
    import ray

    return {
        "echo": ray.remote(echo),
        "burn": ray.remote(burn),
        "Echo": ray.remote(Echo),
        "Burner": ray.remote(Burner),
    }
