"""The reference pages' generated tables: the build machine's fingerprint, the list of
experiments (from chapter discovery) and the command line (from its own parser).

Each function returns an HTML table with a stable id; pages show one with a one-line
cell, e.g. ``display(HTML(reference.experiments_table()))``. Nothing here starts a process.
"""

from __future__ import annotations

import argparse
import html
import re
from typing import Any

import pandas as pd

from parbook import chapters
from parbook.bench import machine
from parbook.render.tables import to_html

#: The GitHub-hosted runner that builds the published site (``runs-on: ubuntu-24.04`` in
#: .github/workflows/book.yml), as GitHub documents the standard runner for public
#: repositories. Documented, not measured: the published build's own fingerprint is on
#: its build-machine page.
PUBLISHED_RUNNER = {"label": "ubuntu-24.04", "cpus": 4, "memory_gb": 16, "storage_gb": 14}
RUNNER_DOCS = "https://docs.github.com/en/actions/reference/runners/github-hosted-runners"

#: How each way of using Ray reads in the experiments table.
RAY_USE = {None: "no", "session": "yes: a local instance, or your cluster",
           "own cluster": "yes: starts its own cluster"}


def inline_html(markdown: str) -> str:
    """A heading's text as HTML: escaped, with `code` spans kept."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(markdown))


def text_table(table_id: str, rows: list[dict[str, str]]) -> str:
    """A table of text (cells already HTML), left-aligned, in the book's table style."""
    left = 'style="text-align: left"'
    head = "".join(f"<th {left}>{html.escape(header)}</th>" for header in rows[0])
    body = "".join(
        "<tr>" + "".join(
            f'<td style="text-align: left{"; white-space: nowrap" if i == 0 else ""}">{cell}</td>'
            for i, cell in enumerate(row.values())) + "</tr>"
        for row in rows)
    return (f'<table class="parbook-table" id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def experiments_table() -> str:
    """One row per discovered chapter: its experiment name, page, result file, use of Ray."""
    rows = []
    for name in chapters.names():
        chapter = chapters.get(name)
        rows.append({
            "experiment": f"<code>{html.escape(name)}</code>",
            "chapter": f'<a href="{html.escape(name)}.html">{inline_html(chapter.title)}</a>',
            "this build's result": (f'<a href="_static/results/{html.escape(name)}.json" '
                                    f"download>{html.escape(name)}.json</a>"),
            "uses Ray": RAY_USE[chapter.ray],
        })
    return text_table("reproduce-experiments", rows)


def cli_limits() -> dict[str, str]:
    """The command line's time limits, for the reproduce page's prose (glue key -> text),
    read from where they are defined so the page cannot drift from the code."""
    from parbook import page, supervise
    from parbook.__main__ import RAY_CONNECT_TIMEOUT_S
    from parbook.render.formatting import format_seconds

    return {
        "cli_ray_connect_timeout": format_seconds(RAY_CONNECT_TIMEOUT_S),
        "cli_default_time_limit": format_seconds(supervise.DEFAULT_TIME_LIMIT_S),
        "cli_page_time_limit": format_seconds(page.EXPERIMENT_TIMEOUT_S),
        "cli_stop_grace": format_seconds(supervise.STOP_GRACE_S),
    }


def cli_table() -> str:
    """Every subcommand with its help and usage line, read from the parser itself."""
    from parbook.__main__ import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    rows = [
        {"command": f"<code>{html.escape(name)}</code>",
         "what it does": html.escape(helps.get(name) or ""),
         "usage": "<code>" + html.escape(" ".join(subparser.format_usage().split()[1:]))
                  + "</code>"}
        for name, subparser in commands.choices.items()
    ]
    return text_table("reproduce-cli", rows)


def fingerprint_rows(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The build machine's fingerprint as labelled rows, in the order a reader scans them."""
    commit = fingerprint["commit"] or {}
    changes = " (with uncommitted changes)" if commit.get("dirty") else ""
    rows = {
        "built from commit": commit.get("sha", "none (not a git checkout)") + changes,
        "CPU model": fingerprint["cpu_model"],
        "logical CPUs": fingerprint["logical_cpus"],
        "physical cores": fingerprint["physical_cpus"],
        "CPUs in the affinity mask": fingerprint["affinity_cpus"],
        "cgroup CPU quota": fingerprint["cgroup_cpu_quota"] or "none",
        "usable CPUs (what experiments size from)": fingerprint["usable_cpus"],
        "memory": f"{fingerprint['memory_bytes'] / 1024**3:.1f} GiB",
        "operating system": fingerprint["os"],
        "Python": f"{fingerprint['python_implementation']} {fingerprint['python_version']} "
                  f"({fingerprint['python_build']})",
        "GIL enabled": fingerprint["gil_enabled"],
        # Fingerprints taken before these fields existed lack them.
        "free-threaded build": fingerprint.get("free_threaded_build", "not recorded"),
        "PYTHON_GIL": fingerprint.get("python_gil_env") or "not set",
        "InterpreterPoolExecutor": ("available" if fingerprint.get("interpreter_pool_executor")
                                    else "not available"),
        "default start method": fingerprint["default_start_method"],
        "available start methods": ", ".join(fingerprint["start_methods"]),
    }
    rows.update({f"{name} version": version or "not installed"
                 for name, version in fingerprint["packages"].items()})
    for key, value in (fingerprint["github"] or {}).items():
        rows[f"GitHub Actions: {key}"] = value
    if not fingerprint["github"]:
        rows["GitHub Actions"] = "no (built outside GitHub Actions)"
    return rows


def machine_table() -> str:
    """This machine's fingerprint, taken now, as the build-machine page shows it."""
    fingerprint = machine.fingerprint()
    rows = fingerprint_rows(fingerprint)
    frame = pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))
    return to_html(frame, table_id="build-machine-table",
                   caption=f"Fingerprint taken at {fingerprint['taken_at']}.")


def runner_sentence(fingerprint: dict[str, Any]) -> str:
    """How the machine that built this copy compares with the published site's runner."""
    cpus, runner_cpus = fingerprint["usable_cpus"], PUBLISHED_RUNNER["cpus"]
    if fingerprint.get("github"):
        return ("This copy was built by GitHub Actions, so its numbers come from a runner "
                "like the one below; CPU models still vary from one runner to the next.")
    if cpus < runner_cpus:
        return (f"This copy was built on {cpus} usable CPUs, fewer than the {runner_cpus} of "
                "the runner that builds the published site, so its parallel speed-ups top "
                "out lower than the published ones.")
    if cpus == runner_cpus:
        return (f"This copy was built on {cpus} usable CPUs, as many as the runner that "
                "builds the published site, so its speed-ups can be set beside the "
                "published ones (the CPU models may still differ).")
    return (f"This copy was built on {cpus} usable CPUs, more than the {runner_cpus} of the "
            "runner that builds the published site, so its parallel speed-ups can go higher "
            "than the published ones.")


def runner_table() -> str:
    """This machine beside the documented size of the runner that builds the published site."""
    fingerprint = machine.fingerprint()
    memory_gb = fingerprint["memory_bytes"] / 1e9
    rows = [
        {"": "usable CPUs", "this build": str(fingerprint["usable_cpus"]),
         "published site's runner (documented)": str(PUBLISHED_RUNNER["cpus"])},
        {"": "memory", "this build": f"{memory_gb:.0f} GB",
         "published site's runner (documented)": f"{PUBLISHED_RUNNER['memory_gb']} GB"},
    ]
    return text_table("build-machine-runner-table", rows)
