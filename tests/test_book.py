"""Build the whole book from scratch in quick mode, warnings as errors, and inspect it."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.leftovers import lingering_children, shm_entries

ROOT = Path(__file__).resolve().parents[1]


def toc_pages() -> list[str]:
    """Every page the table of contents lists (the root first), read from _toc.yml."""
    text = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    root = re.search(r"^root:\s*(\S+)", text, re.MULTILINE).group(1)
    return [root, *re.findall(r"^\s*- file:\s*(\S+)", text, re.MULTILINE)]


PAGES = tuple(toc_pages())
#: Pages that run an experiment: each must show tables and link its raw results.
MEASURED_PAGES = ("overhead", "processes-and-threads", "the-gil", "threads", "races-and-locks",
                  "processes", "start-methods", "synchronization", "queues-and-pipes",
                  "pools", "shared-memory", "pitfalls", "ray-basics", "ray-vs-multiprocessing",
                  "ray-cluster", "vector-envs", "actor-learner")
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


def ray_processes() -> set[int]:
    names = ("raylet", "gcs_server", "ray::")
    found = set()
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        text = " ".join([process.info["name"] or ""] + (process.info["cmdline"] or []))
        if any(name in text for name in names):
            found.add(process.info["pid"])
    return found


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """A fresh quick build of a copy of the book (the reader's own _build is left alone)."""
    copy = tmp_path_factory.mktemp("book")
    for name in ("_config.yml", "_toc.yml", "book", "code"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True,
                            ignore=shutil.ignore_patterns("_build", "results", "__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    shm_before, ray_before = shm_entries(), ray_processes()
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    completed = subprocess.run(
        [str(jupyter_book), "build", "book/", "--all", "-W", "--keep-going"],
        cwd=copy, capture_output=True, text=True, timeout=1800,
        env={**os.environ, "PARBOOK_QUICK": "1"},
    )
    log = completed.stdout + completed.stderr
    (copy / "build.log").write_text(log)
    return {
        "returncode": completed.returncode, "log": log, "html": copy / "_build" / "html",
        "new_shm": shm_entries() - shm_before, "new_ray": ray_processes() - ray_before,
        "children": lingering_children(),
    }


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
