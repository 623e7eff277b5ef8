"""The GitHub Actions workflows: linted with zizmor, plus the project's own hardening rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

WORKFLOWS = sorted((Path(__file__).resolve().parents[1] / ".github" / "workflows").glob("*.yml"))
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
        if {"pages", "id-token"} & set(granted):
            assert name == "deploy", f"only the deploy job may write pages: {name}"
    for line in text.splitlines():
        if "uses:" in line:
            action = line.split("uses:", 1)[1].strip()
            assert PINNED.match(action), f"not pinned to a full SHA with its version: {action}"
