import json

import pytest

from parbook.bench.results import FORMAT_VERSION, Result, ResultError, load, save


def make_result() -> Result:
    result = Result(experiment="demo", quick=True)
    result.add("group", {"backend": "serial", "n": 1}, [0.1, 0.2, 0.3])
    result.parameters["usable_cpus"] = 2
    return result


def test_json_round_trip(tmp_path):
    original = make_result()
    path = save(original, tmp_path / "sub" / "demo.json")
    loaded = load(path)
    assert loaded.to_json() == original.to_json()
    assert loaded.group("group")[0].samples == [0.1, 0.2, 0.3]


def test_save_leaves_no_temporary_files(tmp_path):
    save(make_result(), tmp_path / "demo.json")
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]


def test_a_failed_save_keeps_the_old_file(tmp_path):
    path = save(make_result(), tmp_path / "demo.json")
    before = path.read_text()
    broken = make_result()
    broken.add("group", {"backend": "bad"}, [float("nan")])  # JSON refuses NaN
    with pytest.raises(ValueError):
        save(broken, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["demo.json"]


def test_empty_result_is_refused(tmp_path):
    with pytest.raises(ResultError):
        save(Result(experiment="demo", quick=True), tmp_path / "x.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a parbook result"),
        (json.dumps({"format": "something-else"}), "not a parbook result"),
        (json.dumps({"format": "parbook-result", "format_version": FORMAT_VERSION + 1}),
         "format version"),
        (json.dumps({"format": "parbook-result", "format_version": FORMAT_VERSION,
                     "machine": {}, "cases": []}), "not a valid parbook result"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ResultError, match=message):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ResultError, match="no such file"):
        load(tmp_path / "absent.json")


def test_saved_results_are_world_readable(tmp_path):
    """They are published on the site beside the pages, like every other file there."""
    path = save(make_result(), tmp_path / "demo.json")
    assert path.stat().st_mode & 0o777 == 0o644
