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
only when a launch service (Binder, Colab ...) is configured; the book has none. The
notebook MyST-NB executed is copied beside the page's source here, and the download menu
offers it, so a reader can run the page top to bottom in their own Jupyter
(``tests/test_notebooks.py`` runs a few downloaded notebooks).
"""

from __future__ import annotations

import html
import shutil
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


def setup(app: Any) -> dict[str, Any]:
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    app.connect("doctree-resolved", label_ids_first)
    app.connect("html-page-context", drop_duplicate_scripts)
    # Before the theme's header buttons (priority 501), which read context["ipynb_source"].
    app.connect("html-page-context", offer_notebook, priority=500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
