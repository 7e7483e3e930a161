"""The CI workflows are valid GitHub workflows and grade safely: sandboxed, read-only, no kept credentials.

Validation uses ``check-jsonschema --builtin-schema vendor.github-workflows`` (offline; installed
by ``make setup``). The shard -> merge path they run is tested in tests/test_classgrade.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
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
