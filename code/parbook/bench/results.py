"""Results as JSON files with the machine's fingerprint inside.

A result holds raw samples only; summaries are recomputed when rendered, so a
downloaded file can be re-analysed without trusting our statistics. Files are
written atomically (to a temporary file, then renamed), so a failed or interrupted
run never replaces a good result.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parbook.bench import machine as _machine
from parbook.bench.stats import Summary, summarize

FORMAT = "parbook-result"
FORMAT_VERSION = 1
#: The largest result file :func:`load` reads. The biggest the book writes is well under
#: a megabyte; anything far larger is not a result (``/dev/zero``, a mistaken path).
MAX_FILE_BYTES = 64 * 1024**2
#: Permissions of a saved result: readable by everyone, like the rest of the site it is
#: published on (a temporary file would otherwise keep mkstemp's owner-only 0600).
FILE_MODE = 0o644

#: The shape of a result file, checked by :func:`load` with ``jsonschema`` before anything
#: is read from it, so a hand-edited or foreign file fails in one line instead of deep in
#: the analysis (and strings are not taken for timings: JSON Schema's "number" excludes
#: strings and booleans).
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "format_version", "experiment", "quick", "machine", "cases"],
    "properties": {
        "format": {"const": FORMAT},
        "format_version": {"const": FORMAT_VERSION},
        "experiment": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "quick": {"type": "boolean"},
        "created": {"type": "string"},
        "machine": {"type": "object", "required": list(_machine.REQUIRED_FIELDS)},
        "parameters": {"type": "object"},
        "values": {"type": "object"},
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["group", "params", "samples"],
                "properties": {
                    "group": {"type": "string"},
                    "params": {"type": "object"},
                    "unit": {"type": "string"},
                    "samples": {"type": "array", "minItems": 1, "items": {"type": "number"}},
                },
            },
        },
    },
}


class ResultError(ValueError):
    """A result file that cannot be read, is not JSON, or is not a parbook result."""


@dataclass
class Case:
    """One measured case: which group (table) it belongs to, its parameters, its samples.

    ``samples`` are in ``unit`` (seconds unless stated). Parameters are plain JSON values
    that identify the case within its group, e.g. ``{"body": "sleep_1ms", "workers": 5,
    "backend": "ray"}``.
    """

    group: str
    params: dict[str, Any]
    samples: list[float]
    unit: str = "s"

    @property
    def summary(self) -> Summary:
        """Median, quartiles, extremes and stability of this case's samples."""
        return summarize(self.samples)

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "params": self.params, "unit": self.unit,
                "samples": self.samples}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        try:
            samples = [float(x) for x in data["samples"]]
            case = cls(group=str(data["group"]), params=dict(data["params"]),
                       samples=samples, unit=str(data.get("unit", "s")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultError(f"malformed case {data!r:.80}: {exc}") from exc
        if not samples or not all(math.isfinite(x) for x in samples):
            raise ResultError(f"case {case.group}/{case.params} has no finite samples")
        return case


@dataclass
class Result:
    """Everything one run of an experiment produced."""

    experiment: str
    quick: bool
    cases: list[Case] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=_machine.fingerprint)
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    )

    def add(self, group: str, params: dict[str, Any], samples: list[float],
            unit: str = "s") -> Case:
        """Record the samples of one case and return it."""
        case = Case(group=group, params=dict(params), samples=list(samples), unit=unit)
        self.cases.append(case)
        return case

    def group(self, name: str) -> list[Case]:
        """The cases of one group, in the order they were measured."""
        return [case for case in self.cases if case.group == name]

    def case(self, group: str, **params: Any) -> Case:
        """The one case in ``group`` whose parameters include ``params``."""
        matches = [case for case in self.group(group)
                   if all(case.params.get(key) == value for key, value in params.items())]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} cases in group {group!r} match {params}")
        return matches[0]

    def median(self, group: str, **params: Any) -> float:
        """Median of the one case in ``group`` matching ``params``."""
        return self.case(group, **params).summary.median

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "experiment": self.experiment,
            "quick": self.quick,
            "created": self.created,
            "machine": self.machine,
            "parameters": self.parameters,
            "values": self.values,
            "cases": [case.to_json() for case in self.cases],
        }

    @classmethod
    def from_json(cls, data: Any, source: str = "<data>") -> Result:
        """A result from parsed JSON, checked against :data:`SCHEMA` first."""
        check_schema(data, source)
        machine = data["machine"]
        return cls(
            experiment=str(data.get("experiment", "")),
            quick=bool(data.get("quick", False)),
            cases=[Case.from_json(case) for case in data["cases"]],
            parameters=dict(data.get("parameters") or {}),
            values=dict(data.get("values") or {}),
            machine=machine,
            created=str(data.get("created", "")),
        )


def save(result: Result, path: str | os.PathLike[str]) -> Path:
    """Write ``result`` to ``path`` atomically and return the path.

    The JSON is written to a temporary file in the same folder and renamed over the
    target only once complete, so an existing file is never left half-written.
    """
    target = Path(path)
    if not result.cases:
        raise ResultError("refusing to save a result with no measured cases")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_json(), indent=1, allow_nan=False)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.chmod(tmp_name, FILE_MODE)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def check_schema(data: Any, source: str) -> None:
    """Raise :class:`ResultError`, in one line, if ``data`` is not a parbook result."""
    import jsonschema

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResultError(f"{source} is not a parbook result (no \"format\": \"{FORMAT}\")")
    if data.get("format_version") != FORMAT_VERSION:
        raise ResultError(
            f"{source} has result format version {data.get('format_version')!r:.40}; "
            f"this parbook reads version {FORMAT_VERSION}"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "the top level"
        raise ResultError(f"{source} is not a valid parbook result: at {where}, "
                          f"{error.message:.200}")


def load(path: str | os.PathLike[str]) -> Result:
    """Read a result file, raising :class:`ResultError` with a one-line reason if it is bad.

    Only a regular file of at most :data:`MAX_FILE_BYTES` is opened (a FIFO would block,
    ``/dev/zero`` never ends), and only JSON of the result's shape is believed.
    """
    source = Path(path)
    try:
        info = source.stat()
    except FileNotFoundError:
        raise ResultError(f"{source}: no such file") from None
    except OSError as exc:
        raise ResultError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ResultError(f"{source}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise ResultError(f"{source}: {info.st_size:,} bytes, more than a result file's "
                          f"limit of {MAX_FILE_BYTES:,}")
    try:
        with source.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultError(f"{source}: cannot be read ({exc.__class__.__name__}: {exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ResultError(f"{source}: more than a result file's limit of {MAX_FILE_BYTES:,} "
                          "bytes")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, 100,000 brackets
        raise ResultError(f"{source}: not valid result JSON ({exc.__class__.__name__}: "
                          f"{str(exc)[:120]})") from None
    return Result.from_json(data, source=str(source))
