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


@pytest.mark.parametrize("args", [("run",), ("run", "overhead", "--all"),
                                  ("run", "overhead", "threads", "--all")])
def test_run_takes_names_or_all(args):
    completed = run_cli(*args)
    assert completed.returncode == 2
    assert "names or --all" in one_line(completed.stderr)


def test_run_all_goes_on_after_a_failure_and_names_it_at_the_end(tmp_path, monkeypatch,
                                                                  capsys):
    """The experiments that succeed keep their results; the one that fails keeps its old
    file, and is the one line on stderr; the exit code says something failed."""
    good = Result(experiment="failing", quick=True)
    good.add("g", {}, [1.0])
    earlier = save(good, tmp_path / "failing-quick.json").read_text()
    use_experiments(monkeypatch, "steps", "failing", "address")
    code = cli.main(["run", "--all", "--quick", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1
    line = one_line(captured.err)
    assert "failing failed" in line and "worker died" in line and "left unchanged" in line
    assert (tmp_path / "failing-quick.json").read_text() == earlier
    assert load(tmp_path / "steps-quick.json").experiment == "steps"
    assert load(tmp_path / "address-quick.json").experiment == "address"
    assert [line.split(":")[0] for line in captured.out.splitlines()] == [
        "steps", "failing", "address"]


def test_several_names_run_in_the_order_given_into_one_folder(tmp_path, monkeypatch, capsys):
    use_experiments(monkeypatch, "steps", "address")
    code = cli.main(["run", "address", "steps", "address", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    assert [line.split(":")[0] for line in captured.out.splitlines()] == ["address", "steps"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["address.json", "steps.json"]


def test_several_failures_get_one_line_each(tmp_path, monkeypatch, capsys):
    use_experiments(monkeypatch, "failing", "address", "also-failing")
    code = cli.main(["run", "--all", "--quick", "--out", str(tmp_path)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(lines) == 2, lines
    assert lines[0].startswith("parbook: error: failing failed")
    assert lines[1].startswith("parbook: error: also-failing failed")
    assert [p.name for p in tmp_path.iterdir()] == ["address-quick.json"]


def test_an_experiment_out_of_time_is_stopped_and_the_next_one_runs(tmp_path, monkeypatch,
                                                                    capsys):
    """The time limit applies to each experiment: the one past it is stopped, with all it
    started, and named at the end; the next one still runs."""
    use_experiments(monkeypatch, "leaky", "address")
    code = cli.main(["run", "--all", "--out", str(tmp_path), "--time-limit", "3"])
    captured = capsys.readouterr()
    assert code == 1
    line = one_line(captured.err)
    assert "leaky: stopped after its time limit of 3 s" in line, line
    assert [p.name for p in tmp_path.iterdir()] == ["address.json"]


def test_unknown_experiment():
    completed = run_cli("run", "no-such-thing")
    assert completed.returncode == 2
    assert "unknown experiment 'no-such-thing'" in one_line(completed.stderr)


def test_one_unknown_name_among_several_runs_nothing(tmp_path):
    completed = run_cli("run", "threads", "no-such-thing", "overhead", "--quick",
                        "--out", str(tmp_path))
    assert completed.returncode == 2
    assert "unknown experiment 'no-such-thing'" in one_line(completed.stderr)
    assert completed.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_several_names_need_a_folder_they_can_write(tmp_path):
    """--out with several names is a folder: a file in its place is refused up front."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    completed = run_cli("run", "threads", "overhead", "--quick", "--out", str(blocker))
    assert completed.returncode == 2
    assert "not a directory" in one_line(completed.stderr)
    assert blocker.read_text() == "x"


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


def test_one_name_saves_into_a_folder_it_is_given(tmp_path, monkeypatch, capsys):
    """--out that is a folder, or ends with '/', takes one NAME's file as it takes several."""
    use_experiments(monkeypatch, "steps")
    assert cli.main(["run", "steps", "--quick", "--out", str(tmp_path)]) == 0
    assert load(tmp_path / "steps-quick.json").experiment == "steps"
    new = tmp_path / "results" / "machines" / "box"
    assert cli.main(["run", "steps", "--out", f"{new}/"]) == 0, capsys.readouterr().err
    assert [p.name for p in new.iterdir()] == ["steps.json"]


def test_run_all_into_a_new_machine_folder_makes_a_contribution(tmp_path, monkeypatch,
                                                               capsys):
    """``run --all --out results/machines/<name>``, the contributor's command, creates the
    folder and fills it with one result per experiment, which the Machines page reads."""
    from parbook import machines

    use_experiments(monkeypatch, "steps", "address")
    root = tmp_path / "results" / "machines"
    code = cli.main(["run", "--all", "--quick", "--out", str(root / "big-box")])
    assert code == 0, capsys.readouterr().err
    found = machines.contributed(root)
    assert [machine.name for machine in found.machines] == ["big-box"]
    assert found.machines[0].holdings() == ["address (quick)", "steps (quick)"]
    assert found.skipped == ()


def test_output_that_is_a_file_in_place_of_a_folder_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    completed = run_cli("run", "overhead", "--quick", "--out", f"{blocker}/")
    assert completed.returncode == 2
    assert "not a directory" in one_line(completed.stderr)
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("address", ["", "  ", "localhost", "host:port", "host:0", ":6379",
                                     "10.0.0.1:99999", "ray://head.example:10001"])
def test_bad_ray_address(address):
    completed = run_cli("run", "overhead", "--quick", "--ray-address", address)
    assert completed.returncode == 2
    assert "--ray-address" in one_line(completed.stderr)


def use_experiments(monkeypatch, *names):
    """Make ``python -m parbook`` (in this process) know only these experiments of
    ``tests.experiments`` (``also-failing`` is a second ``failing``), in this order: what
    ``--all`` runs. Each runs in a measuring process like any other."""
    modules = {name: importlib.import_module(
        "tests.experiments." + ("failing" if name == "also-failing" else name))
        for name in names}

    def get(asked):
        if asked not in modules:
            raise chapters.UnknownChapter(asked)
        return types.SimpleNamespace(name=asked, experiment=modules[asked], ray=None)

    monkeypatch.setattr(cli.chapters, "names", lambda: list(modules))
    monkeypatch.setattr(cli.chapters, "get", get)


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
                          (tmp_path, "two result files or two folders")):
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


# --- what a run shows: a progress bar on a terminal, plain lines anywhere else ----------

#: ``python -m parbook`` in a process of its own that knows only two small experiments
#: of tests.experiments, as ``use_experiments`` does in this one.
CLI_WITH_TEST_EXPERIMENTS = """
import importlib, sys, types
from parbook import __main__ as cli, chapters
modules = {name: importlib.import_module("tests.experiments." + name)
           for name in ("steps", "address")}
chapters.names = lambda: list(modules)
chapters.get = lambda name: types.SimpleNamespace(name=name, experiment=modules[name], ray=None)
sys.exit(cli.entry_point())
"""


def run_test_experiments(*args: str, terminal: bool) -> tuple[int, str, str]:
    """Run ``python -m parbook ARGS`` with the test experiments, its three standard
    streams on pipes or on one pseudo-terminal 120 columns wide; returns the exit code
    and what it wrote to standard output and standard error (both in the second slot on
    a terminal, where the two share one screen)."""
    command = [sys.executable, "-c", CLI_WITH_TEST_EXPERIMENTS, *args]
    if not terminal:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                   cwd=ROOT, stdin=subprocess.DEVNULL)
        return completed.returncode, completed.stdout, completed.stderr
    import fcntl
    import pty
    import select
    import struct
    import termios

    controller, terminal_end = pty.openpty()
    fcntl.ioctl(terminal_end, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    with subprocess.Popen(command, stdin=terminal_end, stdout=terminal_end,
                          stderr=terminal_end, cwd=ROOT) as process:
        os.close(terminal_end)
        shown = b""
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([controller], [], [], 1)
                if not ready:
                    continue
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: every process holding the terminal has closed it
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(controller)
        process.wait(timeout=30)
    return process.returncode, shown.decode("utf-8", "replace"), ""


def test_off_a_terminal_a_run_prints_plain_lines(tmp_path):
    code, out, err = run_test_experiments("run", "--all", "--quick", "--out", str(tmp_path),
                                          terminal=False)
    assert code == 0, err
    assert err == ""
    assert not any(char in out for char in "\r\x1b"), repr(out)
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("steps: 3 cases in ") and lines[0].endswith("steps-quick.json")
    assert lines[1].startswith("address: 1 case in ")


def test_on_a_terminal_a_run_shows_a_progress_bar(tmp_path):
    """A tqdm bar: experiments done of the total, elapsed time, time left, and the running
    experiment's name with its latest progress message, as the measuring process sends it."""
    import re

    code, shown, _ = run_test_experiments("run", "--all", "--quick", "--out", str(tmp_path),
                                          terminal=True)
    assert code == 0, shown
    frames = shown.split("\r")
    assert any(re.search(r"\b0/2 \[00:0\d<\?\] steps: step 2 of 3", f) for f in frames), shown
    # After the first experiment, an estimate of the time left.
    assert any(re.search(r"\b1/2 \[00:0\d<00:0\d\]", frame) for frame in frames), shown
    assert "100%|" in shown and "2/2" in shown
    # The lines each experiment ends with stay on screen, above where the bar was.
    assert re.search(r"steps: 3 cases in \S+ s -> \S+steps-quick\.json\r?\n", shown), shown
    assert re.search(r"address: 1 case in ", shown), shown
    assert load(tmp_path / "steps-quick.json").experiment == "steps"


# --- compare: two folders of results ------------------------------------------------------

def _result(experiment: str, samples: list[float], quick: bool = True) -> Result:
    result = Result(experiment=experiment, quick=quick)
    result.add("g", {"k": 1}, samples)
    return result


@pytest.fixture
def two_folders(tmp_path):
    """A: overhead and threads; B: overhead (twice as slow, unstable) and pools."""
    a, b = tmp_path / "a", tmp_path / "b"
    save(_result("overhead", [0.5, 0.5, 0.5, 0.5]), a / "overhead-quick.json")
    save(_result("threads", [0.1]), a / "threads-quick.json")
    # A renamed download still pairs: by what the file says, not by its name.
    save(_result("overhead", [0.6, 1.0, 1.4, 2.0]), b / "published overhead.json")
    save(_result("pools", [0.1]), b / "pools-quick.json")
    return a, b


def test_compare_two_folders_pairs_results_by_experiment(two_folders):
    a, b = two_folders
    completed = run_cli("compare", str(a), str(b))
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    out = completed.stdout
    assert out.count("== ") == 1 and "== overhead (quick) ==" in out
    assert f"A: {a / 'overhead-quick.json'} (quick)" in out
    assert f"B: {b / 'published overhead.json'} (quick)" in out
    assert "2.4×" in out and "unstable in B" in out
    assert f"only in A: threads (quick), {a / 'threads-quick.json'}" in out
    assert f"only in B: pools (quick), {b / 'pools-quick.json'}" in out


def test_compare_two_files_flags_unstable_cases(tmp_path):
    stable = save(_result("overhead", [1.0, 1.0, 1.0, 1.0]), tmp_path / "stable.json")
    noisy = save(_result("overhead", [1.0, 2.0]), tmp_path / "noisy.json")
    completed = run_cli("compare", str(noisy), str(stable))
    assert completed.returncode == 0, completed.stderr
    assert "unstable in A" in completed.stdout
    assert "unstable: the spread" in completed.stdout.splitlines()[-1]
    calm = run_cli("compare", str(stable), str(stable))
    assert "unstable" not in calm.stdout


def test_compare_refuses_a_folder_and_a_file(two_folders):
    a, b = two_folders
    for args in ((a, b / "pools-quick.json"), (a / "threads-quick.json", b)):
        completed = run_cli("compare", *map(str, args))
        assert completed.returncode == 1
        assert "two result files or two folders" in one_line(completed.stderr)
        assert completed.stdout == ""


def test_compare_refuses_an_empty_folder(two_folders, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a result")
    completed = run_cli("compare", str(two_folders[0]), str(empty))
    assert completed.returncode == 1
    assert "no result files" in one_line(completed.stderr)
    assert completed.stdout == ""


@pytest.mark.parametrize("missing", ["A", "B"])
def test_compare_refuses_a_missing_folder(two_folders, tmp_path, missing):
    gone = tmp_path / "gone"
    args = (gone, two_folders[1]) if missing == "A" else (two_folders[0], gone)
    completed = run_cli("compare", *map(str, args))
    assert completed.returncode == 1
    assert f"{gone}: no such file or folder" in one_line(completed.stderr)


def test_compare_names_each_unreadable_file_in_a_folder_and_goes_on(two_folders):
    """A bad file is named, one line each, and left out; the rest is compared; the exit
    code is non-zero so that a script notices."""
    a, b = two_folders
    (a / "broken.json").write_text("{oops")
    (b / "foreign.json").write_text(json.dumps({"some": "other tool"}))
    # Not text (a permission bit would not stop root, who may run these tests).
    (b / "unreadable.json").write_bytes(b"\xff\xfe not text")
    # A second overhead result: the first by name is compared, this one named and left out.
    save(_result("overhead", [9.0]), b / "zz copy of overhead.json")
    completed = run_cli("compare", str(a), str(b))
    assert completed.returncode == 1
    errors = completed.stderr.strip().splitlines()
    assert len(errors) == 4, errors
    assert any(f"{a / 'broken.json'}: not valid JSON" in line for line in errors)
    assert any(f"{b / 'foreign.json'} is not a parbook result" in line for line in errors)
    assert any(f"{b / 'unreadable.json'}: cannot be read" in line for line in errors)
    assert any(f"{b / 'zz copy of overhead.json'}: {b / 'published overhead.json'} already "
               "holds the quick result of overhead" in line for line in errors)
    assert all(line.endswith("; skipped") for line in errors)
    assert "== overhead (quick) ==" in completed.stdout and "2.4×" in completed.stdout


def test_compare_refuses_a_folder_with_no_readable_result(two_folders, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "one.json").write_text("{oops")
    (bad / "two.json").write_text("[]")
    completed = run_cli("compare", str(bad), str(two_folders[1]))
    assert completed.returncode == 1
    line = one_line(completed.stderr)
    assert "not one of its 2 *.json files is a readable result" in line, line


def test_compare_folders_with_nothing_in_common(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    save(_result("overhead", [1.0], quick=False), a / "overhead.json")
    save(_result("overhead", [1.0], quick=True), b / "overhead-quick.json")
    completed = run_cli("compare", str(a), str(b))
    assert completed.returncode == 1
    assert "no experiment of the same size in common" in one_line(completed.stderr)
    assert "only in A: overhead (full)" in completed.stdout
    assert "only in B: overhead (quick)" in completed.stdout


def test_a_forked_child_resets_sigterm_and_neither_side_keeps_it_blocked():
    """``stop_on_sigterm`` holds SIGTERM across fork (one that reached the child before it
    reset the handler was lost, and a pool worker outlived Pool.terminate()); afterwards
    the child has the default action and neither process keeps the signal blocked."""
    script = (
        "import os, signal\n"
        "from parbook.__main__ import stop_on_sigterm\n"
        "stop_on_sigterm()\n"
        "def blocked():\n"
        "    return signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])\n"
        "r, w = os.pipe()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    default = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL\n"
        "    os.write(w, f'{blocked()} {default}'.encode())\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print(os.read(r, 100).decode(), blocked(), signal.getsignal(signal.SIGTERM).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.split() == ["False", "True", "False", "interrupt"]
