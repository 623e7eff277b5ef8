"""Settings read from the environment, shared by pages, tests and the command line."""

from __future__ import annotations

import os

#: Set to 1 to run every experiment at its quick (test) size. Quick mode changes only
#: sizes and repeat counts, never the code path.
QUICK_ENV = "PARBOOK_QUICK"


def quick_from_env(environ: dict[str, str] | None = None) -> bool:
    """Return True when ``PARBOOK_QUICK`` asks for quick sizes (``1``, ``true``, ``yes``)."""
    value = (environ if environ is not None else os.environ).get(QUICK_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}
