"""Every error path of ``python -m parbook``: one line, a non-zero exit, no damage."""

import importlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
import types

import pytest

from parbook import __main__ as cli
from parbook import chapters
from parbook.bench.results import Result, load, save
from tests.conftest import ROOT, run_cli


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
    use_experiment(monkeypatch, chapters.names()[0], "failing")
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
                                     "10.0.0.1:99999", "ray://head.example:10001"])
def test_bad_ray_address(address):
    completed = run_cli("run", "overhead", "--quick", "--ray-address", address)
    assert completed.returncode == 2
    assert "--ray-address" in one_line(completed.stderr)


def use_experiment(monkeypatch, name, module_name):
    """Make ``python -m parbook run NAME`` (in this process) run the experiment of
    ``tests.experiments.MODULE_NAME``, in a measuring process like any other."""
    known = cli.chapters.get
    module = importlib.import_module(f"tests.experiments.{module_name}")

    def get(asked):
        if asked == name:
            return types.SimpleNamespace(experiment=module, ray="session")
        return known(asked)

    monkeypatch.setattr(cli.chapters, "get", get)


@pytest.fixture
def listening_address():
    """HOST:PORT of a real TCP listener on loopback: something answers there, as a
    cluster's GCS would (the run never gets further than the connection check)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("address", ["listening", "auto"])
def test_ray_address_reaches_the_experiment(address, listening_address, tmp_path, monkeypatch,
                                            capsys):
    """``--ray-address`` becomes ``RAY_ADDRESS``, read by parbook.shared.raysession and ray.init."""
    address = listening_address if address == "listening" else address
    # cli.main sets os.environ itself: setenv first, so that teardown removes it again
    # (a bare delenv of an unset variable records nothing to restore).
    monkeypatch.setenv("RAY_ADDRESS", "placeholder")
    monkeypatch.delenv("RAY_ADDRESS")
    use_experiment(monkeypatch, "address", "address")
    code = cli.main(["run", "address", "--out", str(tmp_path / "r.json"),
                     "--ray-address", address])
    assert code == 0, capsys.readouterr().err
    assert load(tmp_path / "r.json").parameters["ray_address"] == address


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


def test_a_failed_run_never_overwrites_a_good_result(tmp_path, monkeypatch, capsys):
    good = Result(experiment="failing", quick=True)
    good.add("g", {}, [1.0])
    target = save(good, tmp_path / "failing.json")
    before = target.read_text()
    use_experiment(monkeypatch, "failing", "failing")
    code = cli.main(["run", "failing", "--out", str(target)])
    assert code == 1
    assert "worker died" in one_line(capsys.readouterr().err)
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["failing.json"]


# --- hostile input: each gets one clear line and a non-zero exit, and damages nothing --------

@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_cluster_that_does_not_answer_fails_fast_in_one_line(how):
    """Nothing listens on port 1: Ray itself would retry for minutes."""
    args, env = ["run", "overhead", "--quick"], None
    if how == "option":
        args += ["--ray-address", "127.0.0.1:1"]
    else:
        env = {"RAY_ADDRESS": "127.0.0.1:1"}
    began = time.monotonic()
    completed = run_cli(*args, timeout=120, env=env)
    assert completed.returncode == 2
    assert "no Ray cluster answers at 127.0.0.1:1" in one_line(completed.stderr)
    assert time.monotonic() - began < cli.RAY_CONNECT_TIMEOUT_S + 30


def _result_json(**changes) -> dict:
    result = Result(experiment="overhead", quick=True)
    result.add("g", {"k": 1}, [0.5, 0.6])
    data = result.to_json()
    data.update(changes)
    return data


def _with_case(**case_changes) -> dict:
    data = _result_json()
    data["cases"][0].update(case_changes)
    return data


BAD_RESULTS = {
    "machine is null": (_result_json(machine=None), "machine"),
    "machine is a string": (_result_json(machine="a laptop"), "machine"),
    "values is a list": (_result_json(values=[1, 2]), "values"),
    "samples is a string": (_with_case(samples="9999"), "samples"),
    "samples are booleans": (_with_case(samples=[True, True]), "samples"),
    "no cases": (_result_json(cases=[]), "cases"),
}


@pytest.mark.parametrize("name", BAD_RESULTS)
def test_compare_refuses_results_of_the_wrong_shape(tmp_path, result_file, name):
    data, where = BAD_RESULTS[name]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    completed = run_cli("compare", str(result_file), str(bad))
    assert completed.returncode == 1
    line = one_line(completed.stderr)
    assert "not a valid parbook result" in line and where in line, line
    assert completed.stdout == ""


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000,
                                     '{"format": "parbook-result", "n": ' + "9" * 5000 + "}"])
def test_compare_refuses_json_python_cannot_hold(tmp_path, result_file, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    completed = run_cli("compare", str(result_file), str(bad))
    assert completed.returncode == 1
    assert "not valid result JSON" in one_line(completed.stderr)


def test_compare_refuses_what_is_not_a_regular_file(tmp_path, result_file):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path, message in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                          (tmp_path, "not a regular file")):
        completed = run_cli("compare", str(result_file), str(path), timeout=60)
        assert completed.returncode == 1
        assert message in one_line(completed.stderr)


def test_compare_refuses_a_huge_file(tmp_path, result_file):
    from parbook.bench.results import MAX_FILE_BYTES

    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:  # sparse: no disk space is used
        handle.truncate(MAX_FILE_BYTES + 1)
    completed = run_cli("compare", str(result_file), str(huge))
    assert completed.returncode == 1
    assert "limit" in one_line(completed.stderr)


def test_control_characters_from_a_file_are_printed_escaped(tmp_path, result_file):
    """An OSC sequence (retitles the terminal) and a cursor movement in a parameter, and a
    bell in the machine's description, come out as visible escapes."""
    data = json.loads(result_file.read_text())
    data["cases"][0]["params"]["k\x1b]0;owned\x07"] = 1
    hostile = tmp_path / "hostile.json"
    other = json.loads(result_file.read_text())
    other["cases"][0]["params"] = dict(data["cases"][0]["params"])
    other["machine"]["cpu_model"] = "CPU\x1b[2J\x07"
    hostile.write_text(json.dumps(other))
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(data))
    completed = run_cli("compare", str(baseline), str(hostile))
    assert completed.returncode == 0, completed.stderr
    assert not any(ord(char) < 32 and char != "\n" for char in completed.stdout)
    assert "\\x1b]0;owned\\x07" in completed.stdout and "CPU\\x1b[2J" in completed.stdout


def test_a_symbolic_link_is_never_replaced_by_the_output(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    completed = run_cli("run", "threads", "--quick", "--out", str(link))
    assert completed.returncode == 2
    assert "symbolic link" in one_line(completed.stderr)
    assert link.is_symlink() and target.read_text() == "keep me"


def test_a_device_is_never_the_output():
    completed = run_cli("run", "threads", "--quick", "--out", "/dev/null")
    assert completed.returncode == 2
    assert "not a regular file" in one_line(completed.stderr)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_to_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        completed = subprocess.run([sys.executable, "-m", "parbook", "machine"], stdout=full,
                                   stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    assert completed.returncode == 1
    assert "No space left on device" in one_line(completed.stderr)


def test_a_failed_run_creates_no_folders(tmp_path, monkeypatch, capsys):
    use_experiment(monkeypatch, "failing", "failing")
    code = cli.main(["run", "failing", "--out", str(tmp_path / "new" / "a" / "b.json")])
    assert code == 1
    one_line(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_created_is_refused_before_the_run(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(locked, os.W_OK):  # root writes anywhere: use a file in the way instead
        locked = tmp_path / "a-file"
        locked.write_text("x")
    completed = run_cli("run", "threads", "--quick", "--out", str(locked / "new" / "r.json"))
    assert completed.returncode == 2
    one_line(completed.stderr)
    assert not (locked / "new").exists()


FORKED_CHILD_AND_SIGTERM = """
import multiprocessing, time
from parbook.__main__ import stop_on_sigterm
stop_on_sigterm()
held = multiprocessing.get_context("fork").Lock()
held.acquire()
sleeper = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
blocked = multiprocessing.get_context("fork").Process(target=held.acquire)  # waits for ever
for child in (sleeper, blocked):
    child.start()
time.sleep(0.5)
for child in (sleeper, blocked):
    child.terminate()
    child.join(30)
print(sleeper.exitcode, blocked.exitcode)
"""


def test_sigterm_still_ends_a_forked_child():
    """SIGTERM stops the command like Ctrl-C, but a child forked from it (a Pool's
    worker) must still die of SIGTERM, or Pool.terminate() can hang."""
    completed = subprocess.run([sys.executable, "-c", FORKED_CHILD_AND_SIGTERM],
                               capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert completed.stdout.split() == ["-15", "-15"], completed.stdout + completed.stderr
