"""A run's process tree is stopped whole: on SIGTERM, on Ctrl-C to the terminal's process
group, and at its time limit, with one line of error and nothing left behind (processes,
/dev/shm entries, the result file). The signals are real, sent to real process trees."""

import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from parbook import supervise
from tests.conftest import ROOT, run_cli
from tests.leftovers import shm_entries

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="child subreapers are a Linux feature")


@pytest.fixture
def subreaper():
    """Make this test process a subreaper, so that whatever a run leaves behind becomes
    its child and shows among its descendants instead of escaping to init. Yields a
    function that lists the descendants the test added (this process's own helpers, a
    forkserver or a resource tracker started by earlier tests, are not the test's)."""
    assert supervise.become_subreaper()
    before = frozenset(process.pid for process in supervise.descendants())

    def new_descendants() -> list:
        return [process for process in supervise.descendants() if process.pid not in before]

    yield new_descendants
    supervise.stop_tree(0, spare=before)
    supervise.become_subreaper(False)  # later tests' orphans go to init, which reaps them


def leaky_command(tmp_path):
    return supervise.measuring_command("tests.experiments.leaky", "leaky", True,
                                       tmp_path / "leaky.json")


def orphan_pid(tmp_path) -> int:
    return int((tmp_path / "orphan.pid").read_text())


def test_sigterm_stops_the_whole_tree(tmp_path, monkeypatch, subreaper):
    monkeypatch.setenv("PARBOOK_TEST_PID_FILE", str(tmp_path / "orphan.pid"))
    shm_before = shm_entries()
    started = threading.Event()

    def progress(message):
        started.set()

    def terminate_once_started():
        if started.wait(timeout=120):
            os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=terminate_once_started, daemon=True)
    sender.start()
    began = time.monotonic()
    outcome = supervise.supervise(leaky_command(tmp_path), 300, progress)
    assert started.is_set()
    assert outcome.interrupted and outcome.returncode == 130
    assert time.monotonic() - began < 120
    assert not psutil.pid_exists(orphan_pid(tmp_path)) or (
        psutil.Process(orphan_pid(tmp_path)).status() == psutil.STATUS_ZOMBIE)
    assert subreaper() == []
    assert shm_entries() - shm_before == set()
    assert not (tmp_path / "leaky.json").exists()


def test_the_time_limit_stops_the_whole_tree(tmp_path, monkeypatch, subreaper):
    monkeypatch.setenv("PARBOOK_TEST_PID_FILE", str(tmp_path / "orphan.pid"))
    outcome = supervise.supervise(leaky_command(tmp_path), 8, lambda message: None)
    assert outcome.timed_out and outcome.returncode == 1
    assert "time limit of 8 s" in outcome.reason
    assert subreaper() == []
    assert not (tmp_path / "leaky.json").exists()


def test_a_failure_is_one_line_and_leaves_no_file(tmp_path, subreaper):
    command = supervise.measuring_command("tests.experiments.failing", "failing", True,
                                          tmp_path / "f.json")
    outcome = supervise.supervise(command, 120, lambda message: None)
    assert outcome.returncode == 1 and "worker died" in outcome.reason
    assert "\n" not in outcome.reason
    assert not (tmp_path / "f.json").exists()


def test_ctrl_c_on_a_ray_run_is_one_line_and_leaves_nothing(tmp_path, subreaper):
    """What a terminal's Ctrl-C does: SIGINT to the foreground process group, here the
    command's own group, in the middle of an experiment that runs Ray and pools."""
    shm_before = shm_entries()
    target = tmp_path / "ray-basics.json"
    with subprocess.Popen([sys.executable, "-m", "parbook", "run", "ray-basics", "--quick",
                           "--out", str(target)], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as run:
        deadline = time.monotonic() + 120
        # Wait until Ray runs somewhere under the command, then interrupt the group.
        while time.monotonic() < deadline and not any(
                "raylet" in " ".join(p.cmdline()) for p in _tree(run.pid)):
            time.sleep(0.2)
        time.sleep(1)
        os.killpg(run.pid, signal.SIGINT)
        output, errors = run.communicate(timeout=120)
    assert run.returncode == 130, errors
    lines = errors.strip().splitlines()
    assert len(lines) == 1 and "interrupted" in lines[0], errors
    assert subreaper() == []
    assert {name for name in shm_entries() - shm_before} == set()
    assert not target.exists()


def _tree(pid: int) -> list:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def test_the_time_limit_option_is_checked():
    completed = run_cli("run", "threads", "--quick", "--time-limit", "-3")
    assert completed.returncode == 2
    assert "positive number of seconds" in completed.stderr


def test_a_killed_supervisor_takes_the_measurement_with_it(tmp_path, subreaper):
    """SIGKILL cannot be handled: the measuring process learns of it from the kernel
    (a parent-death signal) and stops itself, its pools and Ray as on SIGTERM."""
    script = ("import sys\nfrom parbook import supervise\n"
              "supervise.supervise(supervise.measuring_command('tests.experiments.leaky', "
              "'leaky', True, sys.argv[1]), 300, lambda message: print(message, flush=True))\n")
    with subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "leaky.json")],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True) as supervisor:
        assert supervisor.stdout.readline().strip() == "everything started"
        measuring = [p for p in psutil.Process(supervisor.pid).children()
                     if "parbook.supervise" in " ".join(p.cmdline())]
        assert len(measuring) == 1
        supervisor.kill()
        supervisor.wait(timeout=30)
    gone, alive = psutil.wait_procs(measuring, timeout=60)
    assert not alive
    assert not (tmp_path / "leaky.json").exists()


def test_progress_messages_arrive_while_the_run_goes_on(tmp_path):
    """Each progress message reaches the supervisor as the measuring process sends it,
    not when the run ends, and the clock ticks in between, so a progress bar can follow
    the run live."""
    from tests.experiments import steps

    arrived: list[tuple[float, str]] = []
    ticks: list[float] = []
    command = supervise.measuring_command("tests.experiments.steps", "steps", True,
                                          tmp_path / "steps.json")
    outcome = supervise.supervise(
        command, 120, lambda message: arrived.append((time.monotonic(), message)),
        tick=lambda: ticks.append(time.monotonic()))
    ended = time.monotonic()
    assert outcome.returncode == 0 and outcome.cases == 3
    assert [message for _, message in arrived] == ["step 1 of 3", "step 2 of 3", "step 3 of 3"]
    # The experiment pauses after each message: the first came well before the end.
    assert ended - arrived[0][0] >= 2 * steps.PAUSE_S
    assert arrived[1][0] - arrived[0][0] >= steps.PAUSE_S * 0.8
    # Ticks while the process was silent (a pause is two TICK_S; one tick leaves room for
    # a busy machine).
    assert supervise.TICK_S < steps.PAUSE_S
    assert [t for t in ticks if arrived[0][0] < t < arrived[1][0]]
