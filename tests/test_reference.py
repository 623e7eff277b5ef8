"""The reference pages' generated tables and the build-machine page's comparison with the
runner that builds the published site."""

from __future__ import annotations

import pytest

from parbook import chapters, reference
from parbook.bench import machine


def test_experiments_table_lists_every_chapter_with_its_page_and_result():
    table = reference.experiments_table()
    assert table.startswith('<table class="parbook-table" id="reproduce-experiments">')
    for name in chapters.names():
        assert f'href="{name}.html"' in table and f"{name}.json" in table
        assert reference.RAY_USE[chapters.get(name).ray] in table


def test_cli_table_lists_every_subcommand():
    table = reference.cli_table()
    for command in ("list", "run", "machine", "compare"):
        assert f"<code>{command}</code>" in table


@pytest.mark.parametrize(("cpus", "github", "start"), [
    (2, None, "This copy was built on 2 usable CPUs, fewer than the 4"),
    (4, None, "This copy was built on 4 usable CPUs, as many as the runner"),
    (16, None, "This copy was built on 16 usable CPUs, more than the 4"),
    (4, {"runner_os": "Linux"}, "This copy was built by GitHub Actions"),
])
def test_runner_sentence_for_every_kind_of_machine(cpus, github, start):
    sentence = reference.runner_sentence({"usable_cpus": cpus, "github": github})
    assert sentence.startswith(start) and sentence.endswith(".")


def test_runner_table_sets_this_machine_beside_the_documented_runner():
    table = reference.runner_table()
    assert 'id="build-machine-runner-table"' in table
    assert f"<td style=\"text-align: left\">{machine.usable_cpus()}</td>" in table
    assert f">{reference.PUBLISHED_RUNNER['cpus']}</td>" in table


def test_the_reproduce_page_quotes_the_limits_from_the_code():
    """Every time limit the reproduce page states is glued from where it is defined."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "book" / "reproduce.md").read_text()
    quoted = set(re.findall(r"\{glue:text\}`(cli_\w+)`", text))
    limits = reference.cli_limits()
    assert quoted == set(limits)
    assert all(value.endswith(" s") for value in limits.values())
