"""The built site in a real browser: headless Chromium, driven by Playwright.

Every page of the quick build (the session's ``built_book``) is served on loopback and
opened once; what the page did is recorded (console errors, failed requests, images,
the source download, axe-core's accessibility violations, a full-page screenshot under
``_build/test-output/browser/``) and checked by the tests below. Search, the rule
anchors and dark mode are exercised as a reader would.

Needs Debian's ``chromium`` (``make test`` installs it when it runs as root) and axe-core
from npm (``make test`` runs ``npm ci --prefix tests/browser``). Where either cannot be
had, the tests are skipped with a reason that says what is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.test_book import MEASURED_PAGES, PAGES, ROOT

pytestmark = [pytest.mark.book, pytest.mark.usefixtures("nothing_left_behind")]

#: Screenshots of every page, kept for a person to look at after the run.
SCREENSHOTS = ROOT / "_build" / "test-output" / "browser"
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
#: Chromium as root in a container, on a machine with no network beyond loopback: no
#: sandbox, and none of the background connections it would otherwise try at start-up.
CHROMIUM_ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
#: axe-core impact levels that fail the accessibility check.
BLOCKING_IMPACTS = ("critical", "serious")
VIEWPORT = {"width": 1280, "height": 900}
WAIT_MS = 20_000


def find_chromium() -> str | None:
    """The Chromium executable: ``$PARBOOK_CHROMIUM``, else the first one on the PATH."""
    candidates = [os.environ.get("PARBOOK_CHROMIUM"), "chromium", "chromium-browser",
                  "google-chrome"]
    for candidate in filter(None, candidates):
        found = shutil.which(candidate)
        if found:
            return found
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (base-class name)
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """The quick build's HTML served on a free loopback port, as a base URL."""
    assert built_book["returncode"] == 0, "the book did not build; see test_book"
    handler = functools.partial(QuietHandler, directory=str(built_book["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for this module, closed at its end: the modules after this
    one check that no child process is left (Chromium and Playwright's driver would be)."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("NO BROWSER: Chromium was not found (install Debian's 'chromium' package, "
                    "or set PARBOOK_CHROMIUM); the browser tests did not run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                              timeout=WAIT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """What one page did when a browser opened it."""

    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    source_link: str | None = None
    hidden_tables: list[str] = field(default_factory=list)
    tables: int = 0
    hidden_figures: int = 0
    figures: int = 0
    violations: list[dict[str, Any]] = field(default_factory=list)


#: An image's alt text that is only its file name says nothing to a screen reader.
FILE_NAME_ALT = re.compile(r"^\S+\.(png|svg|jpe?g|gif)$", re.IGNORECASE)

IMAGE_SCRIPT = """() => Array.from(document.querySelectorAll('article img')).map(img => ({
    src: img.getAttribute('src'), alt: img.getAttribute('alt'),
    loaded: img.complete && img.naturalWidth > 0}))"""


@pytest.fixture(scope="module")
def visits(browser, site):
    """Open each page at most once, on demand, and remember what it did."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe_source = AXE.read_text(encoding="utf-8") if AXE.is_file() else None
    done: dict[str, Visit] = {}

    def visit(name: str) -> Visit:
        if name in done:
            return done[name]
        record = Visit()
        page = browser.new_page(viewport=VIEWPORT)
        page.on("console", lambda message: record.console_errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: record.console_errors.append(str(error)))
        page.on("requestfailed", lambda request: record.failed_requests.append(request.url))
        page.on("response", lambda response: record.failed_requests.append(
            f"{response.status} {response.url}") if response.status >= 400 else None)
        try:
            page.goto(site + f"{name}.html", wait_until="load", timeout=WAIT_MS)
            for image in page.evaluate(IMAGE_SCRIPT):
                if not image["loaded"]:
                    record.broken_images.append(image["src"])
                if not (image["alt"] or "").strip() or FILE_NAME_ALT.match(image["alt"]):
                    record.images_without_alt.append(image["src"])
            # Collapsed outputs (the spread tables) are part of what a reader can see.
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            link = page.locator("a.btn-download-source-button")
            record.source_link = link.first.get_attribute("href") if link.count() else None
            tables = page.locator("table.parbook-table")
            record.tables = tables.count()
            record.hidden_tables = [tables.nth(i).get_attribute("id") or f"#{i}"
                                    for i in range(record.tables)
                                    if not tables.nth(i).is_visible()]
            figures = page.locator("div.cell_output img")
            record.figures = figures.count()
            record.hidden_figures = sum(not figures.nth(i).is_visible()
                                        for i in range(record.figures))
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
            if axe_source is not None:
                page.add_script_tag(content=axe_source)
                result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
                record.violations = [
                    {"id": v["id"], "impact": v["impact"], "help": v["help"],
                     "where": [node["target"] for node in v["nodes"][:3]]}
                    for v in result["violations"]]
        finally:
            page.close()
        done[name] = record
        return record

    return visit


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors_or_broken_images(visits, name):
    visit = visits(name)
    assert not visit.console_errors, visit.console_errors
    assert not visit.failed_requests, visit.failed_requests
    assert not visit.broken_images, visit.broken_images
    assert (SCREENSHOTS / f"{name}.png").stat().st_size > 0


@pytest.mark.parametrize("name", PAGES)
def test_images_have_alt_text(visits, name):
    assert not visits(name).images_without_alt, visits(name).images_without_alt


@pytest.mark.parametrize("name", MEASURED_PAGES)
def test_measured_tables_and_figures_are_visible(visits, name):
    visit = visits(name)
    assert visit.tables > 0, "no measured table on the page"
    assert not visit.hidden_tables, visit.hidden_tables
    assert visit.hidden_figures == 0, f"{visit.hidden_figures} of {visit.figures} hidden"


@pytest.mark.parametrize("name", PAGES)
def test_download_button_offers_the_page_source(visits, built_book, name):
    link = visits(name).source_link
    assert link == f"_sources/{name}.md", link
    served = built_book["html"] / link
    assert served.read_text(encoding="utf-8") == \
        (built_book["html"].parents[1] / "book" / f"{name}.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", PAGES)
def test_no_serious_accessibility_violations(visits, name):
    if not AXE.is_file():
        pytest.skip(f"NO AXE-CORE: {AXE} is missing (run `npm ci --prefix tests/browser`, "
                    "as `make test` does); the accessibility check did not run")
    blocking = [v for v in visits(name).violations if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, blocking


@pytest.mark.parametrize("query", ["GIL", "pickle"])
def test_search_finds_the_overhead_chapter(browser, site, query):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(site + f"search.html?q={query}", wait_until="load", timeout=WAIT_MS)
        # Sphinx adds the results one by one, then writes this summary.
        page.wait_for_function(
            "(document.querySelector('#search-results .search-summary') || {}).innerText"
            "?.includes('Search finished')", timeout=WAIT_MS)
        results = page.locator("#search-results ul.search > li > a")
        targets = [results.nth(i).get_attribute("href") for i in range(results.count())]
    finally:
        page.close()
    assert any(target.split("#")[0].split("?")[0] == "overhead.html" for target in targets), \
        targets


def test_rule_link_lands_on_the_rule(browser, site):
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(site + "rules.html#par001", wait_until="load", timeout=WAIT_MS)
        page.wait_for_function("window.scrollY > 0", timeout=WAIT_MS)
        top = page.evaluate("document.getElementById('par001').getBoundingClientRect().top")
        heading = page.locator("#par001 h2").first.inner_text(timeout=WAIT_MS)
    finally:
        page.close()
    assert heading.startswith("PAR001"), heading
    # The rule's heading is at the top of the window, not somewhere below it.
    assert -5 <= top < VIEWPORT["height"] / 4, top


def background_luminance(page) -> float:
    """Relative luminance (0 black .. 1 white) of the page's background colour."""
    colour = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_dark_mode_switches_the_colours_and_is_remembered(browser, site):
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    page = context.new_page()
    try:
        page.goto(site + "overhead.html", wait_until="load", timeout=WAIT_MS)
        assert background_luminance(page) > 0.8
        button = page.locator("button.theme-switch-button").first
        for _ in range(3):  # the button cycles through light, dark and the system's choice
            if page.evaluate("document.documentElement.dataset.theme") == "dark":
                break
            button.click()
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert background_luminance(page) < 0.2
        page.goto(site + "rules.html", wait_until="load", timeout=WAIT_MS)
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert background_luminance(page) < 0.2
    finally:
        context.close()
