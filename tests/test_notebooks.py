"""A page's downloadable notebook runs top to bottom outside the book, as a reader would
run it after ``make setup``: executed with nbclient in an empty folder, at quick size,
reusing the session's quick results so the experiments do not run again."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

#: A few chapters whose visible cells use threads, processes and a process pool.
SAMPLE = ("the-gil", "processes-and-threads", "pools")
CELL_TIMEOUT_S = 600


@pytest.mark.parametrize("name", SAMPLE)
def test_downloaded_notebook_runs_top_to_bottom(built_book, quick_results, name, tmp_path,
                                                monkeypatch):
    downloaded = built_book["html"] / "_sources" / f"{name}.ipynb"
    assert downloaded.is_file(), f"the site offers no {name}.ipynb"
    page_html = (built_book["html"] / f"{name}.html").read_text(encoding="utf-8")
    assert f'href="_sources/{name}.ipynb"' in page_html, "the download menu lacks the notebook"
    notebook = nbformat.read(downloaded, as_version=4)
    monkeypatch.setenv("PARBOOK_QUICK", "1")
    monkeypatch.setenv("PARBOOK_RESULTS_DIR", str(quick_results.folder))
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first cell that fails
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors, errors
    assert (tmp_path / "_static" / "results" / f"{name}.json").is_file()
