"""Recorded printouts as chapter views (``views.OUTPUTS``, shown by ``chapter.output(ID)``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from parbook.bench.results import Result


def printout_views(printouts: Callable[[Any], Mapping[str, str]], ids: Iterable[str]
                   ) -> dict[str, Callable[[Result, Any], str]]:
    """``OUTPUTS`` for a chapter whose analysis makes all its printouts at once: one view
    per id, each printing that entry of ``printouts(findings)`` as the run printed it."""
    return {output_id: (lambda result, found, output_id=output_id: printouts(found)[output_id])
            for output_id in ids}
