"""The GitHub Actions workflows: linted with zizmor, plus the project's own hardening rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def zizmor() -> str:
    found = Path(sys.executable).with_name("zizmor")
    return str(found) if found.exists() else (shutil.which("zizmor") or "")


def test_there_are_workflows():
    assert {p.name for p in WORKFLOWS} >= {"book.yml", "tests.yml", "linkcheck.yml"}


def test_zizmor_finds_nothing():
    if not zizmor():
        pytest.fail("zizmor is not installed (it is in the test extra of pyproject.toml)")
    completed = subprocess.run([zizmor(), "--offline", *map(str, WORKFLOWS)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path):
    text = path.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads "on" as True
    assert "pull_request_target" not in triggers
    assert workflow["permissions"] in ({}, {"contents": "read"}), "top-level permissions"
    assert "concurrency" in workflow
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, name
        granted = job.get("permissions", {})
        assert isinstance(granted, dict), f"{name}: permissions must be listed, not {granted!r}"
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert set(granted.values()) <= {"read", "write", "none"}, name
        if name == "deploy":
            assert writes <= {"pages", "id-token"}, f"deploy writes only pages: {writes}"
        else:
            assert not writes, f"only the deploy job may write anything: {name} writes {writes}"
    for line in text.splitlines():
        if "uses:" in line:
            action = line.split("uses:", 1)[1].strip()
            assert PINNED.match(action), f"not pinned to a full SHA with its version: {action}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_runs_on_main_are_never_cancelled(path):
    """A push to main must get a finished run: cancelling in progress is for pull requests
    (or for a scheduled workflow with no push trigger)."""
    workflow = yaml.safe_load(path.read_text())
    triggers = workflow.get("on", workflow.get(True))
    cancel = workflow["concurrency"].get("cancel-in-progress", False)
    if "push" in triggers:
        assert cancel in (False, "${{ github.event_name == 'pull_request' }}"), cancel


def test_dependabot_updates_actions_and_python_dependencies():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems >= {"github-actions", "pip"}


def test_pip_itself_is_pinned():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^PIP_VERSION := \d+(\.\d+)+$", makefile, flags=re.M)
    assert "--upgrade pip" not in makefile and "pip==$(PIP_VERSION)" in makefile
