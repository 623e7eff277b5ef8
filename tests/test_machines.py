"""The Machines page's data: contributed folders read (bad files named and left out, never
fatal), this build's results, the tables and the sentences, on copies of the committed
quick result ``tests/results/scaling.json`` whose fingerprint says another machine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from parbook import machines
from tests.conftest import ROOT

SCALING = ROOT / "tests" / "results" / "scaling.json"
BOOK = ROOT / "book"


def contribute(root: Path, name: str, experiment_file: Path = SCALING, file_name: str = "",
               **fingerprint) -> Path:
    """``root/name/`` holding a copy of a result whose fingerprint is changed."""
    data = json.loads(experiment_file.read_text())
    data["machine"].update(fingerprint)
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (file_name or experiment_file.name)
    target.write_text(json.dumps(data))
    return target


def test_the_folder_is_the_repositorys_unless_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv(machines.MACHINES_ENV, raising=False)
    assert machines.machines_dir() == ROOT / "results" / "machines"
    monkeypatch.setenv(machines.MACHINES_ENV, str(tmp_path))
    assert machines.machines_dir() == tmp_path


def test_no_folder_and_an_empty_folder_mean_no_machines(tmp_path):
    assert machines.contributed(tmp_path / "missing") == machines.Contributions()
    (tmp_path / "README.md").write_text("how to contribute")
    assert machines.contributed(tmp_path) == machines.Contributions()


def test_the_committed_folder_reads_without_a_problem():
    """What this copy of the book holds under results/machines (no machine yet, or the
    ones readers contributed): every file readable."""
    found = machines.contributed(ROOT / "results" / "machines")
    assert found.skipped == ()


def test_a_contributed_machine_is_listed_with_its_fingerprint(tmp_path, monkeypatch):
    contribute(tmp_path, "epyc-64", cpu_model="AMD EPYC 7763 64-Core Processor",
               usable_cpus=64, logical_cpus=128, memory_bytes=256 * 1024**3,
               os="Linux-6.8-x86_64", python_version="3.13.1")
    monkeypatch.setenv(machines.MACHINES_ENV, str(tmp_path))
    found = machines.contributed()
    assert [m.name for m in found.machines] == ["epyc-64"] and found.skipped == ()
    assert found.machines[0].holdings() == ["scaling (quick)"]
    table = machines.machines_table(found, None)
    rows = re.findall(r"<tr>(<td.*?)</tr>", table)
    assert len(rows) == 2
    assert machines.THIS_BUILD in rows[0]
    for text in ("epyc-64", "AMD EPYC 7763 64-Core Processor", "64 / 128", "256 GiB",
                 "Linux-6.8-x86_64", "3.13.1", "scaling (quick)"):
        assert text in rows[1], text
    assert 'id="machines-table"' in table


def test_unreadable_and_foreign_files_are_left_out_and_named(tmp_path):
    contribute(tmp_path, "box", usable_cpus=8)
    (tmp_path / "box" / "garbled.json").write_text("{oops")
    (tmp_path / "box" / "package.json").write_text(json.dumps({"name": "not ours"}))
    (tmp_path / "box" / "notes.txt").write_text("not a result, not even JSON: ignored")
    contribute(tmp_path, "box", file_name="scaling-again.json")  # a second scaling, quick
    (tmp_path / "empty-box").mkdir()
    (tmp_path / "stray.json").write_text("{}")
    found = machines.contributed(tmp_path)
    assert [m.name for m in found.machines] == ["box"]
    assert found.machines[0].holdings() == ["scaling (quick)"]
    lines = found.skipped
    assert len(lines) == 5, lines
    assert lines[0].startswith("results/machines/box/garbled.json: not valid JSON")
    assert lines[1].startswith("results/machines/box/package.json is not a parbook result")
    assert lines[2].startswith("results/machines/box/scaling.json: results/machines/box/"
                               "scaling-again.json already holds the quick result of "
                               "scaling")
    assert lines[3].startswith("results/machines/empty-box: no result files")
    assert lines[3].endswith("the whole folder was left out")
    assert lines[4] == "results/machines/stray.json: not a machine's folder; left out"
    assert all(str(tmp_path) not in line for line in lines)
    listed = machines.skipped_list(found)
    assert listed.count("<li>") == 5 and "garbled.json" in listed


def test_a_folder_from_two_cpu_models_is_flagged(tmp_path):
    contribute(tmp_path, "mixed", cpu_model="CPU A")
    data = json.loads(SCALING.read_text())
    data.update(experiment="other", created="2999-01-01T00:00:00+00:00")
    data["machine"]["cpu_model"] = "CPU B"
    (tmp_path / "mixed" / "other.json").write_text(json.dumps(data))
    found = machines.contributed(tmp_path)
    assert found.machines[0].fingerprint["cpu_model"] == "CPU B"  # the newest result's
    assert "more than one CPU model (CPU A, CPU B)" in found.skipped[0]


def test_this_build_reads_the_results_its_pages_saved(tmp_path):
    assert machines.this_build(tmp_path / "nothing") is None
    contribute(tmp_path, "results")
    build = machines.this_build(tmp_path / "results")
    assert build is not None and build.name == "this build"
    assert build.scaling() is not None
    table = machines.machines_table(machines.Contributions(), build)
    assert "scaling (quick)" in re.findall(r"<tr>(<td.*?)</tr>", table)[0]


def test_the_scaling_table_has_a_column_pair_per_machine(tmp_path):
    contribute(tmp_path, "build")
    contribute(tmp_path / "machines", "epyc-64", usable_cpus=64)
    build = machines.this_build(tmp_path / "build")
    series = machines.scaling_series(machines.contributed(tmp_path / "machines"), build)
    assert [label for label, _ in series] == ["this build, quick sizes",
                                              "epyc-64, quick sizes"]
    table = machines.scaling_table(series)
    assert 'id="machines-scaling-table"' in table
    assert table.count(">best speed-up<") == 2 and table.count(">serial fraction<") == 2
    assert "CPU-bound, process pool" in table and " workers)</td>" in table
    assert machines.scaling_table([]) == ""


def test_the_pages_sentences(tmp_path):
    none = machines.Contributions()
    said = machines.page_texts(none, None)
    assert said["machines_contributed"].startswith("No reader has contributed")
    assert said["machines_skipped"] == "With no contributed folder, nothing was left out."
    assert machines.skipped_list(none) == ""
    assert said["machines_build_scaling"].startswith("This build has no scaling result yet")
    contribute(tmp_path, "a")
    contribute(tmp_path, "b")
    (tmp_path / "b" / "bad.json").write_text("[]")
    found = machines.contributed(tmp_path)
    said = machines.page_texts(found, machines.this_build(tmp_path / "a"))
    assert said["machines_contributed"] == (
        "Contributed machines with results in this copy of the book (2): a and b.")
    assert said["machines_skipped"].startswith("One file or folder in results/machines "
                                               "could not be used and was left out")
    assert said["machines_build_scaling"].startswith("This build's row comes from")
    read = machines.Contributions(machines=found.machines)
    assert machines.page_texts(read, None)["machines_skipped"] == (
        "Every file in the contributed folders was read.")
    one = machines.Contributions(machines=found.machines[:1], skipped=found.skipped * 2)
    said = machines.page_texts(one, None)
    assert said["machines_contributed"] == (
        "One contributed machine has results in this copy of the book: a.")
    assert "2 files or folders in results/machines could not be used and were" in said[
        "machines_skipped"]


@pytest.mark.parametrize("page", ["machines", "scaling"])
def test_the_pages_label_every_section_and_say_how_to_contribute(page):
    text = (BOOK / f"{page}.md").read_text(encoding="utf-8")
    prose = re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.MULTILINE | re.DOTALL)
    lines = prose.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("#") and not line.startswith("#!"):
            assert re.match(rf"^\({page}(-[a-z0-9-]+)?\)=$", lines[number - 1]), line
    if page == "machines":
        assert "python -m parbook run --all --out results/machines/<name>" in text
        assert "python -m parbook compare results/machines/<a> results/machines/<b>" in text
        assert "Full sizes" in text
