"""The back matter (glossary, sources, reproduce) against the chapters, the article registry
and the command line. Fast: reads the Markdown sources, builds nothing."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from parbook.__main__ import build_parser
from parbook.sources import ARTICLES

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BACK_MATTER = ("glossary", "sources", "reproduce")

LABEL = re.compile(r"^\(([\w-]+)\)=$", re.MULTILINE)
ROLE = r"\{%s\}`([^`]+)`"
CJK = re.compile(r"[\u4e00-\u9fff]")
ARTICLES_NOTE = "*In the articles:*"


def read(page: str) -> str:
    return (BOOK / f"{page}.md").read_text(encoding="utf-8")


def role_targets(role: str, text: str) -> list[str]:
    """Targets of every ``{role}`...``` in ``text``: the part in angle brackets if any."""
    targets = []
    for content in re.findall(ROLE % role, text):
        explicit = re.search(r"<([^<>]+)>\s*$", content)
        targets.append((explicit.group(1) if explicit else content).strip())
    return targets


def prose_lines(text: str) -> list[str]:
    """The lines of a MyST page outside fenced blocks (code cells, directives, code)."""
    lines, fence = [], None
    for line in text.splitlines():
        opening = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            lines.append(line)
    return lines


def glossary_entries(text: str) -> list[tuple[list[str], str]]:
    """``(terms, definition)`` for every entry of the ``{glossary}`` directive in ``text``.

    Consecutive unindented lines are the terms of one entry; the indented lines after them
    are its definition.
    """
    match = re.search(r"^(`{3,})\{glossary\}[^\n]*\n(.*?)^\1\s*$", text, re.MULTILINE | re.DOTALL)
    assert match, "no {glossary} directive"
    entries: list[tuple[list[str], str]] = []
    for line in match.group(2).splitlines():
        if not line.strip() or line.startswith(":"):  # blank, or a directive option
            continue
        if not line[0].isspace():
            if entries and not entries[-1][1].strip():
                entries[-1][0].append(line.strip())
            else:
                entries.append(([line.strip()], ""))
        else:
            assert entries, f"definition before any term: {line!r}"
            terms, definition = entries[-1]
            entries[-1] = (terms, definition + line.strip() + "\n")
    return entries


def articles_note(definition: str) -> str | None:
    """The 'In the articles' note of a definition, or None."""
    start = definition.find(ARTICLES_NOTE)
    if start < 0:
        return None
    return definition[start:].split("\n\n")[0]


def note_is_complete(note: str | None) -> bool:
    return note is not None and bool(CJK.search(note) or "English only" in note)


def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))


def chapters() -> list[str]:
    """The pages of every part except the reference part: the chapters."""
    return [entry["file"] for part in toc()["parts"] if part["caption"] != "Reference"
            for entry in part["chapters"]]


def book_labels() -> set[str]:
    return {label for path in BOOK.glob("*.md")
            for label in LABEL.findall(path.read_text(encoding="utf-8"))}


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


GLOSSARY = glossary_entries(read("glossary"))
TERMS = {term.lower(): terms[0] for terms, _ in GLOSSARY for term in terms}


# --- the helpers themselves, on small inputs, so that the checks below can fail -----------

SAMPLE_GLOSSARY = """\
```{glossary}
:sorted:

alpha
beta
  First entry.

  *In the articles:* 进程. See {ref}`x`.

gamma
  Second entry, without the note.
```
"""


def test_glossary_parser_groups_terms_and_finds_missing_notes():
    entries = glossary_entries(SAMPLE_GLOSSARY)
    assert [terms for terms, _ in entries] == [["alpha", "beta"], ["gamma"]]
    assert [note_is_complete(articles_note(body)) for _, body in entries] == [True, False]
    assert not note_is_complete("*In the articles:* see the chapter.")
    assert note_is_complete("*In the articles:* English only.")


def test_role_targets_and_prose_lines():
    text = "A {term}`Threads <thread>` and {term}`GIL`.\n```python\n{term}`hidden`\n```\nend"
    assert role_targets("term", text) == ["thread", "GIL", "hidden"]
    assert role_targets("term", "\n".join(prose_lines(text))) == ["thread", "GIL"]


# --- the glossary ---------------------------------------------------------------------------

def test_glossary_has_a_reasonable_number_of_entries():
    # Short enough to read through; the upper bound grew from 45 with Parts VI and VII.
    assert 25 <= len(GLOSSARY) <= 60, len(GLOSSARY)
    assert len(TERMS) == sum(len(terms) for terms, _ in GLOSSARY), "a term is defined twice"


@pytest.mark.parametrize("terms, definition", GLOSSARY, ids=[t[0] for t, _ in GLOSSARY])
def test_every_glossary_entry_gives_the_articles_term_and_a_section(terms, definition):
    note = articles_note(definition)
    assert note_is_complete(note), f"{terms[0]}: needs a Chinese term or 'English only'"
    refs = role_targets("ref", definition)
    assert refs, f"{terms[0]}: no {{ref}} to the section that explains it"
    assert set(refs) <= book_labels(), set(refs) - book_labels()


def test_every_glossary_term_is_referenced_by_a_chapter():
    referenced = {target.lower() for page in chapters()
                  for target in role_targets("term", "\n".join(prose_lines(read(page))))}
    missing = sorted(term for term in TERMS if term not in referenced)
    assert not missing, f"glossary terms no chapter references: {missing}"


@pytest.mark.parametrize("page", [*chapters(), *BACK_MATTER])
def test_term_references_resolve_and_stay_out_of_headings(page):
    lines = prose_lines(read(page))
    # The glossary's own cross-references sit inside its directive.
    text = read(page) if page == "glossary" else "\n".join(lines)
    unknown = [t for t in role_targets("term", text) if t.lower() not in TERMS]
    assert not unknown, f"{page}: {{term}} with no glossary entry: {unknown}"
    in_headings = [line for line in lines if line.startswith("#") and "{term}" in line]
    assert not in_headings, in_headings


# --- the sources page -----------------------------------------------------------------------

def sections(text: str) -> dict[str, str]:
    """Label -> the text from that label to the next one."""
    marks = list(LABEL.finditer(text))
    return {m.group(1): text[m.end():(marks[i + 1].start() if i + 1 < len(marks) else None)]
            for i, m in enumerate(marks)}


@pytest.mark.parametrize("key", sorted(ARTICLES))
def test_sources_credits_each_article_and_links_its_checks(key):
    article = ARTICLES[key]
    section = sections(read("sources")).get(f"sources-article-{key}")
    assert section is not None, f"no (sources-article-{key})= section"
    assert article.title in section, article.title
    assert article.file in section, article.file
    if CJK.search(article.title_original) and not article.title_original.startswith("("):
        assert article.title_original in section, article.title_original
    assert role_targets("ref", section), f"article {key}: no {{ref}} to a checking section"


def test_sources_covers_exactly_the_registered_articles():
    keys = {label.removeprefix("sources-article-") for label in sections(read("sources"))
            if label.startswith("sources-article-")}
    assert keys == set(ARTICLES)
    assert len(ARTICLES) == 5


# --- the reproduce page ---------------------------------------------------------------------

def test_reproduce_names_every_subcommand_and_run_option():
    text = read("reproduce")
    commands = subcommands()
    assert commands, "the parser defines no subcommand"
    for name in commands:
        assert f"parbook {name}" in text, f"reproduce.md never shows 'parbook {name}'"
    options = {option for action in commands["run"]._actions for option in action.option_strings
               if option.startswith("--") and option != "--help"}
    assert options, "'run' has no options"
    missing = sorted(option for option in options if option not in text)
    assert not missing, f"reproduce.md does not mention {missing}"


def test_reproduce_generates_the_experiment_list():
    text = read("reproduce")
    cells = re.findall(r"^```\{code-cell\} ipython3\n(.*?)^```$", text,
                       re.MULTILINE | re.DOTALL)
    listing = [cell for cell in cells if "reference.experiments_table()" in cell]
    assert listing, "the experiment list must come from chapter discovery"
    assert all(":tags: [remove-input]" in cell for cell in listing)
    # No process may start in the kernel that renders the page.
    code = "\n".join(line for cell in cells for line in cell.splitlines()
                     if not line.lstrip().startswith("#"))
    assert not re.search(r"subprocess|multiprocessing|run_experiment\(|ray\.init|Popen", code)


# --- all three pages ------------------------------------------------------------------------

@pytest.mark.parametrize("page", BACK_MATTER)
def test_back_matter_pages_label_every_heading(page):
    lines = prose_lines(read(page))
    for number, line in enumerate(lines):
        if line.startswith("#"):
            before = lines[number - 1] if number else ""
            assert LABEL.match(before), f"{page}: heading without a label: {line!r}"
    assert f"({page})=" in lines


@pytest.mark.parametrize("page", BACK_MATTER)
def test_back_matter_refs_resolve(page):
    missing = set(role_targets("ref", read(page))) - book_labels()
    assert not missing, f"{page}: {{ref}} to unknown labels {sorted(missing)}"


def test_reference_part_order():
    reference = [part for part in toc()["parts"] if part["caption"] == "Reference"]
    assert len(reference) == 1
    assert [entry["file"] for entry in reference[0]["chapters"]] == [
        "rules", "glossary", "sources", "reproduce", "build-machine", "machines"]
