"""A small Sphinx extension for the book's site (listed in ``_config.yml``).

Stable heading links. A section with an explicit label (``(pools-chunksize)=``) gets two
ids: the slug of its title first, then the label. Sphinx makes the section's "#" link from
the first, so a reader who copied it got a link that broke when the heading was reworded.
The label is moved to the front here, so the "#" link of every labelled section is its
stable label (``rules.html#par001``), and the slug stays as a second id, so links made
from it keep working.

Scripts loaded once. Jupyter Book 1 always loads ``sphinx_thebe``, which registers its
inline configuration script in ``env-before-read-docs``; that event can fire twice in one
build, so every page declared ``const THEBE_JS_URL`` twice and the browser reported a
``SyntaxError`` on every page (``tests/test_browser.py`` checks for console errors).
Identical script entries are dropped here, keeping the first.

Toggles named by what they show. MyST-NB labels the summary of a collapsed cell
"Toggle hidden content" while a sighted reader sees "Show code cell output"; axe-core
reports the mismatch as serious (a speech-input user says what they see). The summary is
written here without that label, so its name is its visible text.

Pages as notebooks. The theme offers a page's executed notebook (``.ipynb``) for download
only when a launch service (Binder, Colab ...) is configured, which only a build on GitHub
Actions has (below). The notebook MyST-NB executed is copied beside the page's source
here, and the download menu offers it, so a reader can run the page top to bottom in
their own Jupyter (``tests/test_notebooks.py`` runs a few downloaded notebooks).

Links to the repository that built the site. The theme's repository buttons (source
repository, suggest an edit, open an issue) and its Binder launch button need the
repository's address, which ``_config.yml`` cannot know: a fork that publishes its own copy
must link to itself, not to whoever wrote the file. A build on GitHub Actions knows it from
its environment (``GITHUB_SERVER_URL``, ``GITHUB_REPOSITORY``, and the branch in
``GITHUB_REF_NAME``, or ``GITHUB_BASE_REF`` for a pull request, whose own ref is a merge
ref no page can be edited on), so the theme's options are set from it here when the
configuration is read. A build anywhere else (a reader's ``make book``) gets no repository
buttons and no launch button, instead of links to some other repository. Binder builds
its environment from ``binder/`` (the locked dependencies, this package, and jupytext so
that a page's MyST Markdown opens as a notebook). Colab gets no button: it opens only
``.ipynb`` files from GitHub, and the book's pages are ``.md`` (``book/reproduce.md`` says
how to take a page's notebook there).
"""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput


def _script_key(script: Any) -> tuple[str, str]:
    """What makes two script entries the same: their file name and their inline body."""
    filename = str(script.filename or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return filename, body


def drop_duplicate_scripts(app: Any, pagename: str, templatename: str,
                           context: dict[str, Any], doctree: Any) -> None:
    """Keep only the first of identical ``<script>`` entries on a page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def label_ids_first(app: Any, doctree: nodes.document, docname: str) -> None:
    """Put each labelled section's explicit label first among its ids."""
    labels = {name for name, (doc, _id, _title) in
              app.env.domaindata["std"]["labels"].items() if doc == docname}
    for section in doctree.findall(nodes.section):
        explicit = [node_id for node_id in section["ids"] if node_id in labels]
        if explicit and section["ids"][0] != explicit[0]:
            section["ids"].remove(explicit[0])
            section["ids"].insert(0, explicit[0])


def visit_hidden_cell(translator: Any, node: HideCodeCellNode) -> None:
    """MyST-NB's collapsed cell, with a summary named by its visible text."""
    classes = " ".join(node["classes"])
    translator.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    for state, prompt in (("collapsed", node["prompt_show"]), ("expanded", node["prompt_hide"])):
        translator.body.append(
            f'<p class="{state} admonition-title">{html.escape(prompt)}</p>\n')
    translator.body.append("</summary>\n")


def offer_notebook(app: Any, pagename: str, templatename: str, context: dict[str, Any],
                   doctree: Any) -> None:
    """Copy the page's executed notebook to ``_sources/`` and list it for download."""
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if doctree is None or not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


#: The public BinderHub the launch button opens pages on; it builds the repository's
#: ``binder/`` folder. It serves public repositories on github.com only.
BINDERHUB_URL = "https://mybinder.org"
#: The theme options this extension owns: all set on every build, so that Jupyter Book's
#: defaults (its own repository, on branch master) can never show on the site.
REPOSITORY_OPTIONS = ("repository_url", "repository_provider", "repository_branch",
                      "path_to_docs", "use_repository_button", "use_issues_button",
                      "use_edit_page_button", "launch_buttons")

# What GitHub Actions puts in these variables; anything else is not used to make links.
_SERVER = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]+)?")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_BRANCH = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class BuildRepository:
    """The repository a build runs in, as GitHub Actions describes it."""

    #: ``https://github.com/OWNER/NAME``.
    url: str
    #: The branch (or tag) the pages' links point into; None when the build does not say,
    #: or says something that is no plain branch name.
    branch: str | None

    @property
    def on_github_com(self) -> bool:
        """Whether it lives on github.com, the only host Binder builds from here."""
        return self.url.startswith("https://github.com/")


def build_repository(environ: Mapping[str, str]) -> BuildRepository | None:
    """The repository that runs this build, from GitHub Actions' variables in
    ``environ``; None outside GitHub Actions (or with values it would never set)."""
    server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
    name = environ.get("GITHUB_REPOSITORY", "")
    if not (_SERVER.fullmatch(server) and _REPOSITORY.fullmatch(name)):
        return None
    branch = environ.get("GITHUB_BASE_REF") or environ.get("GITHUB_REF_NAME") or ""
    if not _BRANCH.fullmatch(branch) or ".." in branch:
        branch = ""
    return BuildRepository(url=f"{server}/{name}", branch=branch or None)


def repository_theme_options(environ: Mapping[str, str], path_to_docs: str
                             ) -> dict[str, Any]:
    """sphinx-book-theme's repository and launch options for a build in ``environ``, the
    book's pages being in ``path_to_docs`` (relative to the repository's root).

    Every option of :data:`REPOSITORY_OPTIONS` is in the answer: off, with no address,
    when the build is not on GitHub Actions. Without a branch, only the buttons that need
    none (repository, issues) are on: an edit or launch link needs one.
    """
    options: dict[str, Any] = {
        "repository_url": "", "repository_provider": "", "repository_branch": "",
        "path_to_docs": path_to_docs, "use_repository_button": False,
        "use_issues_button": False, "use_edit_page_button": False, "launch_buttons": {},
    }
    repository = build_repository(environ)
    if repository is None:
        return options
    options.update(repository_url=repository.url,
                   # Named, not guessed from the host: GitHub Enterprise hosts say no "github".
                   repository_provider="github",
                   use_repository_button=True, use_issues_button=True)
    if repository.branch:
        options.update(repository_branch=repository.branch, use_edit_page_button=True)
        if repository.on_github_com:
            # JupyterLab: with jupytext's viewer set by binder/postBuild, it opens the
            # page's .md as a notebook.
            options["launch_buttons"] = {"binderhub_url": BINDERHUB_URL,
                                         "notebook_interface": "jupyterlab"}
    return options


def docs_folder(srcdir: str | os.PathLike[str]) -> str:
    """The pages' folder relative to the repository's root, which is where the book's
    ``_config.yml`` is: the nearest folder above (or at) ``srcdir`` holding one, as
    ``jupyter-book build`` finds it. ``""`` when there is none."""
    source = Path(srcdir).resolve()
    for folder in (source, *source.parents):
        if (folder / "_config.yml").is_file():
            relative = source.relative_to(folder).as_posix()
            return "" if relative == "." else relative
    return ""


def set_repository_options(app: Any, config: Any) -> None:
    """Set the theme's repository and launch options from the build's environment."""
    options = repository_theme_options(os.environ, docs_folder(app.srcdir))
    config.html_theme_options = {**(config.html_theme_options or {}), **options}


def setup(app: Any) -> dict[str, Any]:
    # Before the theme reads its options (builder-inited), after Jupyter Book's own.
    app.connect("config-inited", set_repository_options)
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    app.connect("doctree-resolved", label_ids_first)
    app.connect("html-page-context", drop_duplicate_scripts)
    # Before the theme's header buttons (priority 501), which read context["ipynb_source"].
    app.connect("html-page-context", offer_notebook, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
