"""Build the whole book from scratch in quick mode, warnings as errors, and inspect it."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path

import pytest

from parbook import chapters

ROOT = Path(__file__).resolve().parents[1]


def toc_pages() -> list[str]:
    """Every page the table of contents lists (the root first), read from _toc.yml."""
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    root = re.search(r"^root:\s*(\S+)", text, re.MULTILINE).group(1)
    return [root, *re.findall(r"^\s*- file:\s*(\S+)", text, re.MULTILINE)]


PAGES = tuple(toc_pages())
#: Pages that run an experiment (one per discovered chapter): each must show tables and
#: link its raw results.
MEASURED_PAGES = tuple(chapters.names())
#: Rule IDs as book/rules.md defines them, in order of appearance.
RULE_IDS = re.findall(r"^\((par\d{3})\)=$",
                      (ROOT / "book" / "rules.md").read_text(encoding="utf-8"), re.MULTILINE)
TIME_CELL = re.compile(r"^\d[\d,]*(\.\d+)? (s|ms|µs|ns)( ⚠)?$")


class TableCells(html.parser.HTMLParser):
    """Collect the text of every <td> in the table with a given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.in_cell = table_id, 0, False
        self.cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and (dict(attrs).get("id") == self.table_id or self.depth):
            self.depth += 1
        elif tag == "td" and self.depth:
            self.in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "td":
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.cells[-1] += data


def table_cells(page: Path, table_id: str) -> list[str]:
    parser = TableCells(table_id)
    parser.feed(page.read_text(encoding="utf-8"))
    return [cell.strip() for cell in parser.cells]


def test_build_succeeds_without_warnings(built_book):
    assert built_book["returncode"] == 0, built_book["log"][-5000:]
    warnings = [line for line in built_book["log"].splitlines()
                if "WARNING" in line and "IPKernelApp" not in line]
    assert not warnings, warnings


def test_every_page_rendered(built_book):
    for page in PAGES:
        assert (built_book["html"] / f"{page}.html").is_file(), page


def test_overhead_table_has_all_27_numeric_cells(built_book):
    cells = table_cells(built_book["html"] / "overhead.html", "overhead-article-table")
    # 9 rows x 3 backends x (this build, article, ratio)
    assert len(cells) == 81, cells
    ours = cells[0::3]
    assert len(ours) == 27
    assert all(TIME_CELL.match(cell) for cell in ours), ours


def test_every_measured_table_is_on_the_page(built_book):
    page = (built_book["html"] / "overhead.html").read_text(encoding="utf-8")
    for table_id in ("overhead-article-table", "overhead-article-spread",
                     "overhead-startup-table", "overhead-round-trip-table",
                     "overhead-sweep-spread"):
        assert f'id="{table_id}"' in page, table_id
    assert re.search(r'<img[^>]+src="[^"]+\.png"', page), "the speed-up figure is missing"


@pytest.mark.parametrize("name", PAGES)
def test_prose_numbers_were_glued(built_book, name):
    page = (built_book["html"] / f"{name}.html").read_text(encoding="utf-8")
    assert "{glue" not in page
    # An error output is allowed only from cells tagged to raise on purpose (a page may
    # still *print* a traceback it demonstrates, e.g. a thread's unhandled exception).
    errors = page.count('class="output traceback')
    assert errors <= page.count("tag_raises-exception"), f"{errors} unexpected error outputs"


@pytest.mark.parametrize("name", MEASURED_PAGES)
def test_measured_pages_show_tables_and_their_data(built_book, name):
    page = (built_book["html"] / f"{name}.html").read_text(encoding="utf-8")
    assert 'class="dataframe parbook-table"' in page, "no measured table"
    assert 'class="parbook-provenance"' in page, "no provenance line"
    links = re.findall(r'href="_static/results/([\w-]+\.json)"', page)
    assert links, "no link to the raw results"
    for link in links:
        assert (built_book["html"] / "_static" / "results" / link).is_file(), link


def test_rule_ids_are_unique_and_numbered_without_gaps():
    numbers = [int(rule_id[3:]) for rule_id in RULE_IDS]
    assert len(set(numbers)) == len(numbers), "a rule ID is used twice"
    assert numbers == list(range(1, len(numbers) + 1)), numbers


def test_rules_have_stable_anchors_and_glued_reasons(built_book):
    page = (built_book["html"] / "rules.html").read_text(encoding="utf-8")
    for rule_id in RULE_IDS:
        assert f'id="{rule_id}"' in page, rule_id
        heading = re.search(rf'id="{rule_id}".*?<h2>(.*?)<a', page, re.DOTALL)
        assert heading and rule_id.upper() in heading.group(1), rule_id


def test_every_rule_is_cited_by_a_chapter(built_book):
    cited = set()
    for name in PAGES:
        if name != "rules":
            text = (built_book["html"] / f"{name}.html").read_text(encoding="utf-8")
            cited.update(re.findall(r'href="rules\.html#(par\d{3})"', text))
    assert set(RULE_IDS) <= cited, sorted(set(RULE_IDS) - cited)


def test_results_json_is_published(built_book):
    data = json.loads((built_book["html"] / "_static" / "results" / "overhead.json").read_text())
    assert data["experiment"] == "overhead" and data["quick"] is True


def test_build_machine_page_has_the_fingerprint_and_exec_table(built_book):
    page = (built_book["html"] / "build-machine.html").read_text(encoding="utf-8")
    assert 'id="build-machine-table"' in page
    assert "usable CPUs" in page
    assert "overhead" in page  # the execution statistics table lists the page


def test_nothing_left_running_or_in_shared_memory(built_book):
    assert not built_book["children"], built_book["children"]
    assert not built_book["new_ray"], built_book["new_ray"]
    assert not built_book["new_shm"], built_book["new_shm"]


def book_labels() -> dict[str, str]:
    """Every explicit MyST label ``(name)=`` in the book's pages, with its page."""
    labels = {}
    for page in (ROOT / "book").glob("*.md"):
        for label in re.findall(r"^\(([\w-]+)\)=$", page.read_text(encoding="utf-8"),
                                re.MULTILINE):
            assert label not in labels, f"label {label} defined in {labels[label]} and {page.stem}"
            labels[label] = page.stem
    return labels


def rule_blocks() -> dict[str, str]:
    """The source text of each rule in book/rules.md, from its label to the next one."""
    text = (ROOT / "book" / "rules.md").read_text(encoding="utf-8")
    parts = re.split(r"^\((par\d{3})\)=$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_rule_has_rule_why_fix_and_points_to_an_existing_section():
    labels = book_labels()
    for rule_id, block in rule_blocks().items():
        assert re.search(rf"^## {rule_id.upper()}: \S", block, re.MULTILINE), rule_id
        for part in ("Rule", "Why", "Fix"):
            assert re.search(rf"^{part}\n: ", block, re.MULTILINE), f"{rule_id} has no {part}"
        why = block.split("\nWhy\n", 1)[1].split("\nFix\n", 1)[0]
        assert "{glue:text}" in why, f"{rule_id}: the reason quotes no measured figure"
        targets = re.findall(r"\{ref\}`(?:[^`<]*<)?([\w-]+)>?`", why)
        assert targets, f"{rule_id}: the reason links to no section"
        missing = [target for target in targets if target not in labels]
        assert not missing, f"{rule_id} points to sections that do not exist: {missing}"


def test_rule_links_land_on_sections_of_the_built_book(built_book):
    page = (built_book["html"] / "rules.html").read_text(encoding="utf-8")
    sections = re.split(r'<section id="(par\d{3})"', page)[1:]
    assert [s for s in sections[0::2]] == RULE_IDS
    for rule_id, body in zip(sections[0::2], sections[1::2], strict=True):
        links = re.findall(r'class="reference internal" href="([\w-]+\.html)#([\w-]+)"', body)
        assert links, f"{rule_id} links to no section"
        for target, anchor in links:
            html_text = (built_book["html"] / target).read_text(encoding="utf-8")
            assert f'id="{anchor}"' in html_text, f"{rule_id}: {target}#{anchor} is missing"


@pytest.mark.parametrize("name", MEASURED_PAGES)
def test_measured_pages_say_when_from_which_commit_and_where(built_book, name):
    page = (built_book["html"] / f"{name}.html").read_text(encoding="utf-8")
    lines = re.findall(r'<p class="parbook-provenance">(.*?)</p>', page, re.DOTALL)
    assert lines, "no provenance line"
    for line in lines:
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", line), line
        assert re.search(r"commit <code>[0-9a-f]{10}</code>|outside any git checkout", line), line
        assert 'href="build-machine.html"' in line, line
