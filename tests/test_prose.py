"""The prose rules of every page: a short answer of at most three glued figures, no
paragraph or list item quoting more than four, and no bold run longer than a clause."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
PAGES = sorted(path.stem for path in BOOK.glob("*.md"))
GLUE = re.compile(r"\{glue(?::\w+)?\}`")
#: Words a bold run may have: about one clause.
BOLD_WORDS = 12


def blocks(name: str) -> list[str]:
    """The page's prose blocks: paragraphs and list items, code and directives left out."""
    text = (BOOK / f"{name}.md").read_text(encoding="utf-8")
    text = re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.MULTILINE | re.DOTALL)
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        # Each list item (a line starting "- ", "1. " or ": ") counts on its own.
        items = re.split(r"\n(?=\s*(?:[-*]|\d+\.|:)\s)", paragraph)
        found.extend(item.strip() for item in items if item.strip())
    return found


@pytest.mark.parametrize("name", PAGES)
def test_short_answer_quotes_at_most_three_figures(name):
    answers = [block for block in blocks(name) if block.startswith("The short answer")]
    for answer in answers:
        assert len(GLUE.findall(answer)) <= 3, answer


@pytest.mark.parametrize("name", PAGES)
def test_no_block_quotes_more_than_four_figures(name):
    crowded = [block[:120] for block in blocks(name) if len(GLUE.findall(block)) > 4]
    assert not crowded, crowded


@pytest.mark.parametrize("name", PAGES)
def test_no_bold_run_longer_than_a_clause(name):
    text = "\n\n".join(blocks(name))
    long_runs = [run for run in re.findall(r"\*\*(.+?)\*\*", text, re.DOTALL)
                 if len(run.split()) > BOLD_WORDS]
    assert not long_runs, long_runs
