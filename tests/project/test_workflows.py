"""The CI workflows are valid GitHub workflows and grade safely: sandboxed, read-only, no kept credentials.

Validation uses ``check-jsonschema --builtin-schema vendor.github-workflows`` (offline; installed
by ``make setup``). The shard -> merge path they run is tested in tests/classroom/test_classgrade.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_matches_the_github_workflow_schema(path):
    tool = Path(sys.executable).parent / "check-jsonschema"  # installed beside this Python
    if not tool.exists():
        pytest.fail("check-jsonschema is missing: run `make setup` (it is a dev dependency)")
    proc = subprocess.run([str(tool), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_class_grading_workflow_is_sandboxed_read_only_and_installs_what_each_job_runs():
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "grade-class.yml").read_text(encoding="utf-8"))
    assert flow["permissions"] == {"contents": "read"}
    for name, job in flow["jobs"].items():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False, name
        runs = " ".join(step.get("run", "") for step in steps(job))
        if "gdgrade" in runs or "autograde" in runs:
            assert "pip install" in runs, f"job {name} runs the graders without installing them"
    grade = " ".join(s.get("run", "") for s in steps(flow["jobs"]["grade"]))
    assert "apt-get install" in grade and "bubblewrap" in grade and "apparmor_restrict_unprivileged_userns=0" in grade
    assert "--allow-unsandboxed" not in grade
    assert "strategy.job-total" in grade, "the shard count follows the matrix"
    merge = " ".join(s.get("run", "") for s in steps(flow["jobs"]["merge"]))
    assert "gdgrade merge" in merge and "gdgrade report" in merge


USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$")


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_action_is_pinned_by_commit_with_its_release_named(path):
    lines = [m for m in map(USES.match, path.read_text(encoding="utf-8").splitlines()) if m]
    assert lines, f"{path}: no action found"
    for m in lines:
        action, comment = m.group(1), m.group(2)
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), (
            f"{path}: {action} is not pinned by a full commit SHA (owner/name@<40 hex>)")
        assert re.fullmatch(r"\s+#\s+v\d+\.\d+\.\d+", comment), f"{path}: {action} has no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_pip_install_uses_the_pinned_set(path):
    flow = yaml.safe_load(path.read_text(encoding="utf-8"))
    installs = [line for job in flow["jobs"].values() for step in steps(job)
                for line in step.get("run", "").splitlines() if "pip install" in line]
    assert installs, f"{path}: no pip install"
    for line in installs:
        assert "--constraint docker/constraints.txt" in line, f"{path}: unpinned install: {line.strip()}"
    assert (ROOT / "docker" / "constraints.txt").is_file()


def test_grades_reach_the_summary_page_and_per_student_artifacts_only_as_asked():
    text = (ROOT / ".github" / "workflows" / "grade-class.yml").read_text(encoding="utf-8")
    flow = yaml.safe_load(text)
    inputs = flow[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads the key `on` as True
    assert inputs["publish_summary"]["type"] == "boolean" and inputs["publish_summary"]["default"] is False
    assert inputs["upload_per_student"]["type"] == "boolean"
    merge = steps(flow["jobs"]["merge"])
    for step in merge:
        if "GITHUB_STEP_SUMMARY" in step.get("run", ""):
            assert step.get("if") == "${{ inputs.publish_summary }}", step
        if str(step.get("uses", "")).startswith("actions/upload-artifact"):
            whole = step["with"]["path"].strip() == "results"
            assert step.get("if") == ("${{ inputs.upload_per_student }}" if whole
                                      else "${{ !inputs.upload_per_student }}"), step
            assert whole or "students" not in step["with"]["path"]
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in merge)
    page = (ROOT / "docs" / "instructors" / "grading-a-class.md").read_text(encoding="utf-8")
    section = page[page.index("## Grading on a CI matrix"):]
    section = section[:section.index("\n## ", 5)]
    assert "public" in section and "publish_summary" in section and "upload_per_student" in section, (
        "the instructors' CI section must warn where grades are published and name the two inputs")
