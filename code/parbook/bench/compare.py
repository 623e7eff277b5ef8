"""Two results of one experiment, or two folders of results, set side by side (as pyperf
keeps its comparison in ``pyperf/_compare.py``).

Data only: which cases and which result files pair up, each case's summaries, their ratio
and whether either side is unstable. ``python -m parbook compare`` turns it into text.

Folders pair their results by what the files say, not by their names: the experiment and
its size (full or quick) recorded inside each file, since the two sizes measure different
cases and a renamed download must still find its partner. A folder's result files are its
``*.json`` files, not those of its sub-folders.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parbook.bench.results import Result, ResultError, load
from parbook.bench.stats import Summary

#: What identifies one result within a folder: the experiment's name and whether it is
#: the quick size.
ResultKey = tuple[str, bool]


def size_name(quick: bool) -> str:
    """``"quick"`` or ``"full"``."""
    return "quick" if quick else "full"


@dataclass(frozen=True)
class CaseComparison:
    """One case present in both results: its summaries on each side and B / A."""

    group: str
    params: dict[str, Any]
    baseline: Summary
    other: Summary

    @property
    def ratio(self) -> float:
        """Median of B over median of A (NaN when A's median is not positive)."""
        return self.other.median / self.baseline.median if self.baseline.median > 0 else math.nan

    @property
    def unstable_sides(self) -> tuple[str, ...]:
        """``("A",)``, ``("B",)``, ``("A", "B")`` or ``()``: where the spread is too large
        for the median to speak for the case (:attr:`Summary.unstable`), so the ratio is
        uncertain."""
        return tuple(side for side, summary in (("A", self.baseline), ("B", self.other))
                     if summary.unstable)


def compare_cases(baseline: Result, other: Result) -> list[CaseComparison]:
    """The cases present in both results (same group and parameters), in A's order."""
    other_cases = {(case.group, json.dumps(case.params, sort_keys=True)): case
                   for case in other.cases}
    found = []
    for case in baseline.cases:
        match = other_cases.get((case.group, json.dumps(case.params, sort_keys=True)))
        if match is not None:
            found.append(CaseComparison(case.group, case.params, case.summary, match.summary))
    return found


@dataclass
class Folder:
    """The results found in one folder, by experiment and size, and one line for each
    file left out (why it could not be used)."""

    path: Path
    results: dict[ResultKey, tuple[Path, Result]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def load_folder(path: Path) -> Folder:
    """Every result in ``path``, keyed by experiment and size.

    A file that is not a readable parbook result is named in :attr:`Folder.problems` and
    left out, so one bad download does not hide the comparison of the others; so is a
    second file of the same experiment and size, which would make the pairing ambiguous.
    Raises :class:`ResultError` when the folder itself cannot be listed, or holds no
    ``*.json`` file, or none that is a readable result.
    """
    try:
        candidates = sorted(entry for entry in path.iterdir()
                            # Hidden files are the temporary files of a save in progress.
                            if entry.suffix == ".json" and not entry.name.startswith(".")
                            and not entry.is_dir())
    except FileNotFoundError:
        raise ResultError(f"{path}: no such folder") from None
    except OSError as exc:
        raise ResultError(f"{path}: cannot be listed ({exc.strerror or exc})") from None
    if not candidates:
        raise ResultError(f"{path}: no result files (*.json) in this folder")
    folder = Folder(path)
    for candidate in candidates:
        try:
            result = load(candidate)
        except ResultError as exc:
            folder.problems.append(str(exc))
            continue
        key = (result.experiment, result.quick)
        if key in folder.results:
            earlier = folder.results[key][0]
            folder.problems.append(
                f"{candidate}: {earlier} already holds the {size_name(result.quick)} result "
                f"of {result.experiment} (compare the two as files)")
            continue
        folder.results[key] = (candidate, result)
    if not folder.results:
        more = f", and {len(folder.problems) - 1} more" if len(folder.problems) > 1 else ""
        raise ResultError(f"{path}: not one of its {len(candidates)} *.json files is a "
                          f"readable result ({folder.problems[0]}{more})")
    return folder


@dataclass(frozen=True)
class FolderPairing:
    """Which results of two folders pair up, and which have no partner."""

    both: list[ResultKey]
    only_baseline: list[ResultKey]
    only_other: list[ResultKey]


def pair_folders(baseline: Folder, other: Folder) -> FolderPairing:
    """Pair two folders' results by experiment and size, sorted by experiment name."""
    a, b = set(baseline.results), set(other.results)
    return FolderPairing(both=sorted(a & b), only_baseline=sorted(a - b),
                         only_other=sorted(b - a))
