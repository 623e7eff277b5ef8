"""Every way the book writes a number or a list as text, in one place (as pyperf keeps its
formatting in ``pyperf/_formatter.py``): durations, ratios, percentages, sizes, rates,
counts, spoken lists, dates and machine summaries."""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from collections.abc import Iterable
from typing import Any

_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


def format_seconds(seconds: float, digits: int = 3) -> str:
    """Format a duration with a unit that keeps 1-3 integer digits: ``"12.3 ms"``."""
    if not math.isfinite(seconds):
        return "n/a"
    if seconds == 0:
        return "0 s"
    for index, (scale, unit) in enumerate(_TIME_UNITS):
        if abs(seconds) >= scale or unit == "ns":
            value = seconds / scale
            # 0.9996 ms rounds to "1,000 µs": say "1.00 ms" instead.
            if index and abs(float(f"{value:.{digits}g}")) >= 1000:
                larger_scale, larger_unit = _TIME_UNITS[index - 1]
                larger = float(f"{seconds / larger_scale:.{digits}g}")
                return f"{_significant(larger, digits)} {larger_unit}"
            return f"{_significant(value, digits)} {unit}"
    raise AssertionError("unreachable")


def format_ratio(ratio: float, digits: int = 2) -> str:
    """Format a ratio such as a speed-up: ``"3.4×"``."""
    if not math.isfinite(ratio):
        return "n/a"
    return f"{_significant(ratio, digits)}×"


def _significant(value: float, digits: int) -> str:
    magnitude = math.floor(math.log10(abs(value))) if value else 0
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def format_size(size: int) -> str:
    """``8 B``, ``64 KiB``, ``16 MiB``."""
    for scale, unit in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} B"


def format_bytes(n_bytes: float) -> str:
    """A memory size in binary units, three significant digits: ``"43.8 MiB"``."""
    if not math.isfinite(n_bytes):
        return "n/a"
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        # From 1,000 of the smaller unit on, so that 1,003 KiB reads "0.979 MiB".
        if abs(n_bytes) >= scale * 1000 / 1024:
            value = n_bytes / scale
            decimals = max(0, 2 - math.floor(math.log10(abs(value))))
            return f"{value:,.{decimals}f} {unit}"
    return f"{n_bytes:.0f} B"



def format_runs(count: int, statistic: str = "median") -> str:
    """A caption's account of its samples: ``"median of 3 runs"``, or ``"one run"``."""
    return "one run" if count == 1 else f"{statistic} of {count} runs"


def format_rate(bytes_per_s: float) -> str:
    """A data rate in decimal megabytes per second: ``"123 MB/s"``, ``"1.2 GB/s"``."""
    megabytes = bytes_per_s / 1e6
    if megabytes >= 1000:
        return f"{megabytes / 1000:.2g} GB/s".replace("e+00", "")
    if megabytes >= 10:
        return f"{megabytes:,.0f} MB/s"
    return f"{megabytes:.2g} MB/s"


def format_decimal_size(n_bytes: int) -> str:
    """A size in decimal units, as model weights are quoted: ``"40 bytes"``, ``"16 MB"``."""
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:g} {unit}"
    return f"{n_bytes} bytes"


def format_network_rate(bytes_per_s: float | None) -> str:
    """A transfer rate in the units networks are sold in: ``"450 MB/s (3.6 Gbit/s)"``."""
    if bytes_per_s is None:
        return "n/a"
    return f"{bytes_per_s / 1e6:,.0f} MB/s ({bytes_per_s * 8 / 1e9:,.1f} Gbit/s)"


def format_percent(share: float) -> str:
    """A share as a whole percentage: ``0.374`` -> ``"37%"``."""
    return f"{share:.0%}"


def format_count(value: float) -> str:
    """A count or a per-second rate as a whole number with thousands separators: ``"12,345"``."""
    return f"{value:,.0f}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun, plural unless the count is one (``plural``, or the noun with
    an added "s"): ``counted(1, "port")`` -> ``"1 port"``, ``counted(3, "thread")`` ->
    ``"3 threads"``, ``counted(2, "process", "processes")`` -> ``"2 processes"``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def sentence_start(text: str) -> str:
    """``text`` with its first letter capitalised and the rest unchanged (``str.capitalize``
    would lower the rest: "SyncVectorEnv" would become "Syncvectorenv")."""
    return text[:1].upper() + text[1:]


def format_per_second(rate: float) -> str:
    """A large rate in words: ``"3.2 million"``, ``"45.1 thousand"``, ``"812"``."""
    for scale, unit in ((1e9, " billion"), (1e6, " million"), (1e3, " thousand")):
        if rate >= scale:
            return f"{rate / scale:.3g}{unit}"
    return f"{rate:.3g}"


def spoken_list(items: Iterable[Any], empty: str = "none") -> str:
    """Items as prose: ``["fork", "spawn", "forkserver"]`` -> ``"fork, spawn and forkserver"``;
    ``empty`` for no items."""
    words = [str(item) for item in items]
    if not words:
        return empty
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def build_date(created: str) -> str:
    """An ISO timestamp as a reader wants it: ``2026-11-23 16:20 UTC``."""
    try:
        moment = _dt.datetime.fromisoformat(created)
    except ValueError:
        return created or "an unknown date"
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def machine_summary(fingerprint: dict[str, Any]) -> str:
    """One line describing the machine a result was measured on."""
    memory = fingerprint.get("memory_bytes")
    memory_text = f", {memory / 1024**3:.0f} GiB" if memory else ""
    return (
        f"{fingerprint.get('cpu_model', 'unknown CPU')}, "
        f"{fingerprint.get('usable_cpus')} usable CPUs of {fingerprint.get('logical_cpus')} "
        f"logical{memory_text}; {fingerprint.get('os')}; Python "
        f"{fingerprint.get('python_version')}"
    )


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), so that nothing read from a
    file or a measuring process can move the cursor, retitle the terminal or hide what is
    printed; newlines are kept."""
    return "".join(
        char if char == "\n" or unicodedata.category(char)[0] != "C"
        else char.encode("unicode_escape").decode("ascii")
        for char in text
    )
