"""The contract every discovered chapter keeps, checked on its quick result.

One parametrised test per property, over :func:`parbook.chapters.names`: adding a chapter
package adds it here without touching this file. A chapter's own test module checks what
is particular to it (its cases, its demos, each of its verdict sentences).
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from parbook import chapters, page
from parbook.render.tables import Table

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
NAMES = chapters.names()
#: Longest set-up cell a measured page may have (non-blank lines, comments included).
SETUP_LINES = 10
CELL = re.compile(r"^```\{code-cell\} ipython3\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SHOWN = re.compile(r'chapter\.(table|figure|output)\("([\w-]+)"\)')
#: A line a hidden cell after the set-up may hold: one call that shows something.
SHOW_LINE = re.compile(r'^chapter\.(table|figure|output|provenance)\(("[\w-]+")?\)$')


def page_text(name: str) -> str:
    return (BOOK / f"{name}.md").read_text(encoding="utf-8")


def cells(name: str) -> list[tuple[list[str], list[str]]]:
    """The page's code cells as (tags, code lines without the cell's options)."""
    found = []
    for body in CELL.findall(page_text(name)):
        lines = body.splitlines()
        tags = re.search(r"^:?\s*tags: \[([^\]]*)\]", body, re.MULTILINE)
        # Options are ":key: value" lines or a "---" YAML block at the top of the cell.
        if lines and lines[0] == "---":
            lines = lines[lines.index("---", 1) + 1:]
        code = [line for line in lines if line.strip() and not line.startswith(":")]
        found.append(([t.strip() for t in tags.group(1).split(",")] if tags else [], code))
    return found


def quoted_glue_keys(name: str) -> set[str]:
    """Glue keys quoted by the chapter's own page and, as ``NAME.md::key``, by any page."""
    keys = set(re.findall(r"\{glue(?::\w+)?\}`([\w-]+)`", page_text(name)))
    for other in BOOK.glob("*.md"):
        keys |= set(re.findall(rf"\{{glue(?::\w+)?\}}`{re.escape(name)}\.md::([\w-]+)",
                               other.read_text(encoding="utf-8")))
    return keys


@pytest.fixture(scope="module")
def opened(quick_results):
    """name -> (result, findings, texts), each computed once."""
    cache = {}

    def get(name: str):
        if name not in cache:
            chapter = chapters.get(name)
            result = quick_results[name]
            found = chapter.analysis.findings(result)
            cache[name] = (result, found, page.glued_texts(chapter, found,
                                                            page.own_run(result, found)))
        return cache[name]

    return get


def test_chapters_are_discovered_with_a_page_each():
    assert NAMES, "no chapter discovered"
    for name in NAMES:
        assert (BOOK / f"{name}.md").is_file(), f"chapter {name} has no page book/{name}.md"
        assert f"- file: {name}" in (ROOT / "_toc.yml").read_text(), f"{name} not in _toc.yml"
        assert chapters.get(name).title


def test_no_chapter_imports_another():
    for name in NAMES:
        folder = Path(chapters.get(name).experiment.__file__).parent
        own = chapters.package_name(name)
        for module in folder.rglob("*.py"):
            others = set(re.findall(r"parbook\.chapters\.(\w+)", module.read_text())) - {own}
            assert not others, f"{module.relative_to(ROOT)} imports chapters {others}"


@pytest.mark.parametrize("name", NAMES)
def test_every_sample_is_finite_and_positive(quick_results, name):
    result = quick_results[name]
    assert result.experiment == name and result.quick
    assert result.cases, "no case measured"
    for case in result.cases:
        assert case.samples, case
        assert all(math.isfinite(s) for s in case.samples), case
        # Times are positive; other units (counts of lost updates, say) may be zero.
        assert all(s > 0 if case.unit == "s" else s >= 0 for s in case.samples), case


@pytest.mark.parametrize("name", NAMES)
def test_findings_are_frozen_dataclasses(opened, name):
    _result, found, _texts = opened(name)
    assert dataclasses.is_dataclass(found) and found.__dataclass_params__.frozen


@pytest.mark.parametrize("name", NAMES)
def test_texts_cover_every_glue_key_the_book_quotes(opened, name):
    _result, _found, texts = opened(name)
    missing = quoted_glue_keys(name) - set(texts)
    assert not missing, f"texts() of {name} lacks {sorted(missing)}"
    for key, value in texts.items():
        assert isinstance(value, str | int | float) and not isinstance(value, bool), key
        assert value != "", f"{key} is empty"


@pytest.mark.parametrize("name", NAMES)
def test_every_shown_table_and_figure_exists_and_every_view_is_shown(opened, name):
    views = chapters.get(name).views
    shown = SHOWN.findall(page_text(name))
    tables = {view_id for kind, view_id in shown if kind == "table"}
    figures = {view_id for kind, view_id in shown if kind == "figure"}
    outputs = {view_id for kind, view_id in shown if kind == "output"}
    interpreter_tables = getattr(views, "INTERPRETER_TABLES", {})
    interpreter_figures = getattr(views, "INTERPRETER_FIGURES", {})
    assert tables == set(views.TABLES) | set(interpreter_tables), tables
    assert figures == set(views.FIGURES) | set(interpreter_figures), figures
    assert outputs == set(getattr(views, "OUTPUTS", {})), outputs
    result, found, _texts = opened(name)
    for table_id, make in views.TABLES.items():
        table = make(result, found)
        assert isinstance(table, Table) and not table.frame.empty and table.caption, table_id
    runs = page.own_run(result, found)
    for table_id, make in interpreter_tables.items():
        table = make(runs)
        assert isinstance(table, Table) and not table.frame.empty and table.caption, table_id
    import matplotlib.pyplot as plt

    for figure_id, make in interpreter_figures.items():
        figure = make(runs)
        assert figure.axes, f"{figure_id} has no axes"
        plt.close(figure)

    for output_id, make in getattr(views, "OUTPUTS", {}).items():
        text = make(result, found)
        assert isinstance(text, str) and text.strip(), f"{output_id} printed nothing"
    for figure_id, make in views.FIGURES.items():
        figure = make(result, found)
        assert figure.axes, f"{figure_id} has no axes"
        plt.close(figure)


@pytest.mark.parametrize("name", [name for name in NAMES if chapters.get(name).interpreters])
def test_a_chapter_run_under_several_interpreters_shows_them_side_by_side(name):
    """Its page shows its interpreter table and says what ran and what changed."""
    views, prefix = chapters.get(name).views, chapters.package_name(name)
    assert f"{name}-interpreters" in getattr(views, "INTERPRETER_TABLES", {})
    assert f'chapter.table("{name}-interpreters")' in page_text(name)
    quoted = quoted_glue_keys(name)
    assert {f"{prefix}_interpreters_ran", f"{prefix}_interpreters_changed"} <= quoted


@pytest.mark.parametrize("name", NAMES)
def test_page_is_prose_with_one_short_setup_cell(name):
    page_cells = cells(name)
    assert page_cells, "no code cell"
    setup_tags, setup = page_cells[0]
    assert "remove-cell" in setup_tags
    assert f'chapter = page.open("{name}")' in setup, "the first cell must open the chapter"
    assert len(setup) <= SETUP_LINES, f"set-up cell of {len(setup)} lines"
    for _tags, code in page_cells:
        for line in code:
            assert not re.match(r"\s*(def|class|if|elif|assert)\b", line), line
    for tags, code in page_cells[1:]:
        if "remove-input" in tags or "remove-cell" in tags:
            bad = [line for line in code if not SHOW_LINE.match(line)]
            assert not bad, f"a hidden cell holds more than show calls: {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_page_has_code_a_reader_can_run(name):
    visible = [code for tags, code in cells(name)
               if not {"remove-cell", "remove-input"} & set(tags)]
    assert visible, "no visible code cell"
    assert any("import" in line and "parbook.chapters." in line
               for code in visible for line in code), "no visible cell calls the chapter's code"
