"""The site's repository and launch buttons link to the repository that built it, read
from GitHub Actions' environment, so a fork publishes links to itself; a build anywhere
else has none (parbook.sphinxext). Unit tests of the options, then two real standalone
builds of one page, without and with a fork's environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from parbook import sphinxext
from tests.conftest import ROOT

FORK = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "someone/fork",
        "GITHUB_REF_NAME": "main"}


def test_a_build_on_github_actions_links_to_its_repository():
    options = sphinxext.repository_theme_options(FORK, "book")
    assert options["repository_url"] == "https://github.com/someone/fork"
    assert options["repository_branch"] == "main"
    assert options["path_to_docs"] == "book"
    assert options["repository_provider"] == "github"
    assert options["use_repository_button"] and options["use_issues_button"]
    assert options["use_edit_page_button"]
    assert options["launch_buttons"] == {"binderhub_url": "https://mybinder.org",
                                         "notebook_interface": "jupyterlab"}


def test_a_build_elsewhere_has_no_repository_or_launch_button():
    options = sphinxext.repository_theme_options({"HOME": "/root"}, "book")
    assert set(options) == set(sphinxext.REPOSITORY_OPTIONS)
    assert options["repository_url"] == ""
    assert not any(options[f"use_{kind}_button"] for kind in ("repository", "issues",
                                                               "edit_page"))
    assert options["launch_buttons"] == {}


def test_a_pull_request_links_to_the_branch_it_merges_into():
    """A pull request's own ref (``12/merge``) is no branch anyone can edit a page on."""
    environ = {**FORK, "GITHUB_REF_NAME": "12/merge", "GITHUB_BASE_REF": "main"}
    assert sphinxext.repository_theme_options(environ, "book")["repository_branch"] == "main"


def test_without_a_branch_only_the_buttons_that_need_none():
    environ = {key: value for key, value in FORK.items() if key != "GITHUB_REF_NAME"}
    options = sphinxext.repository_theme_options(environ, "book")
    assert options["use_repository_button"] and options["use_issues_button"]
    assert not options["use_edit_page_button"] and options["launch_buttons"] == {}


def test_github_enterprise_gets_repository_buttons_but_no_binder():
    """mybinder.org builds public repositories on github.com only."""
    environ = {**FORK, "GITHUB_SERVER_URL": "https://git.example.com"}
    options = sphinxext.repository_theme_options(environ, "book")
    assert options["repository_url"] == "https://git.example.com/someone/fork"
    assert options["use_edit_page_button"] and options["launch_buttons"] == {}


@pytest.mark.parametrize("change", [
    {"GITHUB_SERVER_URL": "http://github.com"},
    {"GITHUB_SERVER_URL": "https://github.com/evil path"},
    {"GITHUB_REPOSITORY": "no-owner"},
    {"GITHUB_REPOSITORY": "someone/fork\"><script>"},
    {"GITHUB_REPOSITORY": ""},
])
def test_values_github_would_never_set_make_no_links(change):
    options = sphinxext.repository_theme_options({**FORK, **change}, "book")
    assert options["repository_url"] == "" and options["launch_buttons"] == {}


@pytest.mark.parametrize("branch", ["feature x", "../../evil", "main\n"])
def test_a_branch_github_would_never_name_makes_no_edit_link(branch):
    options = sphinxext.repository_theme_options({**FORK, "GITHUB_REF_NAME": branch}, "book")
    assert options["repository_url"] == "https://github.com/someone/fork"
    assert not options["use_edit_page_button"] and options["repository_branch"] == ""


def test_the_pages_folder_is_found_from_the_books_config(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "book" / "deeper").mkdir(parents=True)
    assert sphinxext.docs_folder(tmp_path / "book") == "book"
    assert sphinxext.docs_folder(tmp_path / "book" / "deeper") == "book/deeper"
    assert sphinxext.docs_folder(tmp_path) == ""
    assert sphinxext.docs_folder(ROOT / "book") == "book"


# --- a real standalone build of one page ------------------------------------------------

PAGE = "reproduce"
BUTTON_CLASSES = ("source-repository-button", "source-edit-button", "source-issues-button",
                  "launch-buttons")


def build_page(output: Path, environ: dict[str, str]) -> str:
    """Build ``book/PAGE.md`` on its own at quick size into ``output``, with GitHub
    Actions' variables replaced by ``environ``; return the page's HTML."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GITHUB_")}
    env.update(environ, PARBOOK_QUICK="1")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    # Not -W: links to other pages cannot resolve in a standalone build.
    completed = subprocess.run(
        [str(jupyter_book), "build", f"book/{PAGE}.md", "--path-output", str(output)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return (output / "_build" / "_page" / PAGE / "html" / f"{PAGE}.html").read_text()


@pytest.fixture(scope="module")
def local_page(tmp_path_factory) -> str:
    return build_page(tmp_path_factory.mktemp("local"), {})


@pytest.fixture(scope="module")
def fork_page(tmp_path_factory) -> str:
    return build_page(tmp_path_factory.mktemp("fork"), FORK)


def test_a_local_build_has_no_repository_or_launch_buttons(local_page):
    assert not [name for name in BUTTON_CLASSES if name in local_page]
    assert "https://mybinder.org/v2/" not in local_page
    # Not Jupyter Book's default repository either.
    assert "executablebooks/jupyter-book" not in local_page


def test_a_forks_build_links_to_the_fork(fork_page):
    assert all(name in fork_page for name in BUTTON_CLASSES)
    links = set(re.findall(r'href="(https://[^"]+)"', fork_page))
    fork = "https://github.com/someone/fork"
    assert fork in links
    assert f"{fork}/edit/main/book/{PAGE}.md" in links
    assert any(link.startswith(f"{fork}/issues/new?") for link in links)
    assert f"https://mybinder.org/v2/gh/someone/fork/main?urlpath=lab/tree/book/{PAGE}.md" \
        in links
    assert not [link for link in links if "github.com" in link and "someone/fork" not in link]
