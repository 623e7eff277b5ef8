import json
import os
import platform
import subprocess
import sys

from parbook.bench import machine


def test_fingerprint_has_every_field_and_is_json():
    fingerprint = machine.fingerprint()
    for field in (*machine.REQUIRED_FIELDS, "physical_cpus", "affinity_cpus", "memory_bytes",
                  "gil_enabled", "default_start_method", "packages", "github"):
        assert field in fingerprint
    assert json.loads(json.dumps(fingerprint)) == fingerprint
    assert 1 <= fingerprint["usable_cpus"] <= fingerprint["logical_cpus"]
    assert fingerprint["default_start_method"] in fingerprint["start_methods"]
    assert fingerprint["packages"]["ray"] and fingerprint["packages"]["numpy"]


def test_usable_cpus_respect_affinity():
    if hasattr(os, "sched_getaffinity"):
        assert machine.usable_cpus() <= len(os.sched_getaffinity(0))


def test_cgroup_v2_quota_is_parsed(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert machine.cgroup_cpu_quota(tmp_path) is None


def test_cgroup_v1_quota_is_parsed(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert machine.cgroup_cpu_quota(tmp_path) == 2.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert machine.cgroup_cpu_quota(tmp_path) is None


def test_github_runner_details_only_on_actions():
    assert machine.github_runner({}) is None
    details = machine.github_runner({"GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux",
                                     "ImageOS": "ubuntu24", "UNRELATED": "x"})
    assert details == {"GITHUB_ACTIONS": "true", "RUNNER_OS": "Linux", "ImageOS": "ubuntu24"}


def test_default_start_method_does_not_fix_the_context():
    # In a fresh interpreter: once any test has started a spawn child, CPython's own
    # spawn.get_preparation_data() has called get_start_method() and so fixed the
    # default context of this process, whatever machine.default_start_method() does.
    probe = ("import multiprocessing\n"
             "from parbook.bench import machine\n"
             "machine.default_start_method()\n"
             "print(multiprocessing.get_start_method(allow_none=True))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "None"


def test_source_commit_names_this_checkout_and_links_on_github():
    commit = machine.source_commit({})
    assert commit is not None and len(commit["sha"]) == 40 and commit["url"] is None
    on_actions = machine.source_commit({"GITHUB_REPOSITORY": "owner/book",
                                        "GITHUB_SERVER_URL": "https://github.com"})
    assert on_actions["url"] == f"https://github.com/owner/book/commit/{commit['sha']}"


def test_source_commit_is_none_outside_git(tmp_path):
    assert machine.source_commit({}, repository=tmp_path) is None
    from_actions = machine.source_commit({"GITHUB_SHA": "a" * 40}, repository=tmp_path)
    assert from_actions["sha"] == "a" * 40


def test_the_fingerprint_does_not_name_the_machine():
    """Results are published: they describe the hardware, never the host's name."""
    recorded = machine.fingerprint()
    assert "hostname" not in recorded
    name = platform.node()
    if len(name) >= 4:  # a name that short could match any text by chance
        assert name not in json.dumps(recorded)
