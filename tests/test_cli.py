"""Every error path of ``python -m parbook``: one line, a non-zero exit, no damage."""

import json
import types

import pytest

from parbook import __main__ as cli
from parbook import chapters
from parbook.bench.results import Result, save
from tests.conftest import run_cli


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_list_names_every_chapter_with_its_title():
    completed = run_cli("list")
    assert completed.returncode == 0
    listed = dict(line.split(None, 1) for line in completed.stdout.splitlines())
    assert list(listed) == chapters.names()
    assert all(listed[name].strip() == chapters.get(name).title for name in listed)


@pytest.mark.parametrize("args", [("run",), ("run", "overhead", "--all")])
def test_run_takes_one_name_or_all(args):
    completed = run_cli(*args)
    assert completed.returncode == 2
    assert "one NAME or --all" in one_line(completed.stderr)


def test_run_all_stops_at_the_first_failure_and_writes_nothing_for_it(tmp_path, monkeypatch,
                                                                     capsys):
    use_experiment(monkeypatch, chapters.names()[0], _failing_experiment())
    code = cli.main(["run", "--all", "--quick", "--out", str(tmp_path)])
    assert code == 1
    assert "worker died" in one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_unknown_experiment():
    completed = run_cli("run", "no-such-thing")
    assert completed.returncode == 2
    assert "unknown experiment 'no-such-thing'" in one_line(completed.stderr)


def test_bad_size():
    completed = run_cli("run", "overhead", "--size", "huge")
    assert completed.returncode == 2
    assert "invalid choice: 'huge'" in one_line(completed.stderr)


def test_unknown_command():
    completed = run_cli("frobnicate")
    assert completed.returncode == 2
    one_line(completed.stderr)


def test_output_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    completed = run_cli("run", "overhead", "--quick", "--out", str(blocker / "sub" / "r.json"))
    assert completed.returncode == 2
    assert "cannot write" in one_line(completed.stderr)


def test_output_that_is_a_directory(tmp_path):
    completed = run_cli("run", "overhead", "--quick", "--out", str(tmp_path))
    assert completed.returncode == 2
    assert "is a directory" in one_line(completed.stderr)


@pytest.mark.parametrize("address", ["", "  ", "localhost", "host:port", "host:0", ":6379",
                                     "10.0.0.1:99999"])
def test_bad_ray_address(address):
    completed = run_cli("run", "overhead", "--quick", "--ray-address", address)
    assert completed.returncode == 2
    assert "--ray-address" in one_line(completed.stderr)


def use_experiment(monkeypatch, name, module):
    """Make ``python -m parbook run NAME`` (in this process) run ``module``'s experiment."""
    known = cli.chapters.get

    def get(asked):
        return types.SimpleNamespace(experiment=module) if asked == name else known(asked)

    monkeypatch.setattr(cli.chapters, "get", get)


@pytest.mark.parametrize("address", ["127.0.0.1:6379", "ray://head.example:10001", "auto"])
def test_ray_address_reaches_the_experiment(address, tmp_path, monkeypatch, capsys):
    """``--ray-address`` becomes ``RAY_ADDRESS``, read by parbook.shared.raysession and ray.init."""
    seen = {}
    module = types.ModuleType("tests.address_experiment")
    module.TITLE = "records RAY_ADDRESS"

    def run(quick=False, progress=None):
        import os
        seen["address"] = os.environ.get("RAY_ADDRESS")
        result = Result(experiment="address", quick=quick)
        result.add("g", {}, [0.1])
        return result

    module.run = run
    # cli.main sets os.environ itself: setenv first, so that teardown removes it again
    # (a bare delenv of an unset variable records nothing to restore).
    monkeypatch.setenv("RAY_ADDRESS", "placeholder")
    monkeypatch.delenv("RAY_ADDRESS")
    use_experiment(monkeypatch, "address", module)
    code = cli.main(["run", "address", "--out", str(tmp_path / "r.json"),
                     "--ray-address", address])
    assert code == 0, capsys.readouterr().err
    assert seen["address"] == address


@pytest.fixture
def result_file(tmp_path):
    result = Result(experiment="overhead", quick=True)
    result.add("g", {"k": 1}, [0.5, 0.6])
    return save(result, tmp_path / "good.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("{oops", "not valid JSON"),
     (json.dumps({"some": "other tool"}), "not a parbook result")],
)
def test_compare_rejects_bad_files(tmp_path, result_file, content, message):
    other = tmp_path / "other.json"
    if content is not None:
        other.write_text(content)
    completed = run_cli("compare", str(result_file), str(other))
    assert completed.returncode == 1
    assert message in one_line(completed.stderr)


def test_compare_rejects_different_experiments(tmp_path, result_file):
    other = Result(experiment="something-else", quick=True)
    other.add("g", {"k": 1}, [1.0])
    save(other, tmp_path / "other.json")
    completed = run_cli("compare", str(result_file), str(tmp_path / "other.json"))
    assert completed.returncode == 1
    assert "different experiments" in one_line(completed.stderr)


def test_compare_prints_ratios(tmp_path, result_file):
    other = Result(experiment="overhead", quick=True)
    other.add("g", {"k": 1}, [1.0, 1.2])
    save(other, tmp_path / "other.json")
    completed = run_cli("compare", str(result_file), str(tmp_path / "other.json"))
    assert completed.returncode == 0, completed.stderr
    assert "2.0×" in completed.stdout


def test_machine_prints_a_fingerprint():
    completed = run_cli("machine")
    assert completed.returncode == 0
    assert json.loads(completed.stdout)["usable_cpus"] >= 1


class _Boom(RuntimeError):
    pass


def _failing_experiment() -> types.ModuleType:
    """An experiment that measures one case, then fails: what a crash mid-run looks like."""
    module = types.ModuleType("tests.failing_experiment")
    module.TITLE = "fails half-way"

    def run(quick=False, progress=None):
        Result(experiment="failing", quick=quick).add("g", {}, [0.1])
        raise _Boom("worker died")

    module.run = run
    return module


def test_a_failed_run_never_overwrites_a_good_result(tmp_path, monkeypatch, capsys):
    good = Result(experiment="failing", quick=True)
    good.add("g", {}, [1.0])
    target = save(good, tmp_path / "failing.json")
    before = target.read_text()
    use_experiment(monkeypatch, "failing", _failing_experiment())
    code = cli.main(["run", "failing", "--out", str(target)])
    assert code == 1
    assert "worker died" in one_line(capsys.readouterr().err)
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["failing.json"]
