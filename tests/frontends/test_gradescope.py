"""Gradescope: results.json follows the spec, students see what they may, the bundle installs and grades."""

from __future__ import annotations

import argparse
import json
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograde import limits
from autograde.assignment.registry import CHECKS, NOTEBOOKS
from autograde.frontends import gradescope
from autograde.reports import gradescope_results
from tests import gradescope_harness

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests" / "schemas" / "gradescope_results.schema.json").read_text("utf-8"))
SECRET = "Traceback ... /autograder/source/autograde/grading/judge.py line 12"


def summary(passed: bool = True, error: str | None = None) -> dict:
    """A summary as the graders write it, every check passed or failed."""
    by_nb: dict[str, list] = {}
    for c in CHECKS:
        by_nb.setdefault(c.notebook, []).append({
            "grade_id": c.grade_id, "points": c.points if passed else 0, "max_points": c.points,
            "status": "passed" if passed else "failed", "hidden_only": not c.visible,
            "description": c.description, "message": "" if passed else f"{c.grade_id}: the likely bug"})
    notebooks = [{"notebook": nb, "checks": checks, "points": sum(x["points"] for x in checks)}
                 for nb, checks in by_nb.items()]
    out = {"student": "s", "points": sum(n["points"] for n in notebooks),
           "max_points": sum(c.points for c in CHECKS), "notebooks": notebooks, "problems": []}
    if error:
        out = {"student": "s", "points": 0, "max_points": out["max_points"], "status": "not graded",
               "error": error, "notebooks": [], "problems": []}
    return out


def student_view(data: dict) -> str:
    """Everything a student can ever read in a results.json (all but staff-only tests and stdout)."""
    return json.dumps([data.get("output", "")] + [t for t in data["tests"] if t["visibility"] != "hidden"],
                      ensure_ascii=False)


@pytest.mark.parametrize("kind", ["all passed", "all failed", "grading failed"])
def test_results_match_the_gradescope_schema(kind):
    data = gradescope_results.results(summary(kind == "all passed", SECRET if kind == "grading failed" else None), 12.3)
    jsonschema.validate(data, SCHEMA)


def test_schema_refuses_unknown_visibility_status_and_misspelt_fields():
    good = gradescope_results.results(summary())
    for bad in ({**good, "visibility": "later"}, {**good, "scor": 1},
                {**good, "tests": [{**good["tests"][0], "status": "ok"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_every_output_is_shown_as_text():
    """Gradescope shows outputs as text only: a student's HTML, Markdown or terminal escapes in a
    message stay text (invariant 7); the schema refuses a format it does not know."""
    data = gradescope_results.results(summary(passed=False, error="\x1b[31m<script>x</script>\x1b[0m"))
    assert (data["output_format"], data["test_output_format"], data["test_name_format"]) == ("text",) * 3
    assert {(t["output_format"], t["name_format"]) for t in data["tests"]} == {("text", "text")}
    assert "\x1b" not in json.dumps(data) and "<script>x</script>" in data["tests"][-1]["output"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**data, "output_format": "javascript"}, SCHEMA)


def test_hidden_checks_show_their_message_once_grades_are_published():
    data = gradescope_results.results(summary(passed=False))
    tests = {t["name"].split(": ")[1]: t for t in data["tests"]}
    for c in CHECKS:
        want = gradescope_results.VISIBLE if c.visible else gradescope_results.AFTER_PUBLISHED
        assert tests[c.grade_id]["visibility"] == want
        assert f"{c.grade_id}: the likely bug" in tests[c.grade_id]["output"]
    assert data["score"] == 0 and sum(t["max_score"] for t in data["tests"]) == sum(c.points for c in CHECKS)


def test_a_grading_failure_reaches_staff_only():
    data = gradescope_results.results(summary(error=SECRET))
    assert SECRET not in student_view(data)
    assert gradescope_results.GRADING_FAILED in data["output"]
    staff = [t for t in data["tests"] if t["visibility"] == gradescope_results.STAFF_ONLY]
    assert [t["output"] for t in staff] == [SECRET] and staff[0]["max_score"] == 0
    assert data["stdout_visibility"] == gradescope_results.STAFF_ONLY


def test_results_json_replaces_a_file_or_link_left_by_the_kernel(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("not the grader's")
    (results / "results.json").symlink_to(outside)
    gradescope_results.write_results(results, {"score": 1})
    assert outside.read_text() == "not the grader's"
    assert not (results / "results.json").is_symlink()
    assert json.loads((results / "results.json").read_text()) == {"score": 1}


def test_results_folder_replaced_by_a_link_is_restored(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "results").symlink_to(elsewhere)
    gradescope_results.write_results(tmp_path / "results", {"score": 2})
    assert (tmp_path / "results").is_dir() and not (tmp_path / "results").is_symlink()
    assert not list(elsewhere.iterdir())


def test_results_written_after_grading_overwrite_what_the_kernel_wrote(tmp_path, monkeypatch):
    results = tmp_path / "results"

    def grading_whose_kernel_writes_results(submission, hide, cell_timeout, notebook_timeout):
        results.mkdir(exist_ok=True)
        (results / "results.json").write_text(json.dumps({"score": 30, "output": "forged"}))
        return summary(passed=False)

    monkeypatch.setattr(gradescope, "grade_upload", grading_whose_kernel_writes_results)
    monkeypatch.setattr(gradescope, "isolation_line", lambda: "isolation: test")
    args = argparse.Namespace(submission=tmp_path / "submission", results=results, cell_timeout=1,
                              notebook_timeout=1)
    assert gradescope.run(args) == 0
    data = json.loads((results / "results.json").read_text())
    assert data["score"] == 0 and "forged" not in json.dumps(data)
    jsonschema.validate(data, SCHEMA)


def test_upload_in_subfolders_is_found_and_leftovers_are_skipped(tmp_path):
    (tmp_path / "hw" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "hw" / "01_linear_system.ipynb").write_text("{}")
    (tmp_path / "02_mnist_gradient_tape.ipynb").write_text("{}")
    (tmp_path / "hw" / ".ipynb_checkpoints" / "01_linear_system-checkpoint.ipynb").write_text("{}")
    (tmp_path / "__MACOSX" / "._01_linear_system.ipynb").write_text("{}")
    (tmp_path / "link.ipynb").symlink_to(tmp_path / "02_mnist_gradient_tape.ipynb")
    files, problems = gradescope.find_notebooks(tmp_path)
    assert files == [tmp_path / "02_mnist_gradient_tape.ipynb", tmp_path / "hw" / "01_linear_system.ipynb"]
    assert problems == ["link.ipynb: a link or special file, not a notebook; ignored. Fix: upload the notebook itself"]


def test_an_empty_upload_names_the_files_expected(tmp_path):
    files, problems = gradescope.find_notebooks(tmp_path)
    assert files == [] and all(f"{stem}.ipynb" in problems[0] for stem in NOTEBOOKS)


def test_a_container_with_too_little_memory_is_reported_to_staff(tmp_path, monkeypatch):
    monkeypatch.setattr(gradescope, "container_memory_mb", lambda: 768)
    got = gradescope.grade_upload(tmp_path, (), 10, 10)
    assert "768 MiB" in got["error"] and "Fix:" in got["error"]
    assert "768" not in student_view(gradescope_results.results(got))


def test_kernel_memory_limit_never_exceeds_the_container():
    assert gradescope.kernel_memory_mb(None) == limits.MEMORY_MB
    assert gradescope.kernel_memory_mb(limits.MEMORY_MB * 4) == limits.MEMORY_MB
    assert gradescope.kernel_memory_mb(3500) == 3500


def test_bundle_holds_the_scripts_pinned_requirements_and_only_what_grading_needs(tmp_path):
    out = tmp_path / "autograder.zip"
    subprocess.run([sys.executable, str(ROOT / "gradescope" / "build.py"), "--out", str(out)], check=True,
                   capture_output=True)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
        pins = [line for line in zf.read("requirements-gradescope.txt").decode().splitlines()
                if line and not line.startswith("#")]
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, script
    assert {"gradescope_env.sh", "pyproject.toml", "README.md", "autograde/frontends/gradescope.py",
            "source/gd_applications/gdkit/probe.py", *(f"source/gd_applications/{s}.ipynb" for s in NOTEBOOKS)} <= names
    assert {n.split("/")[0] for n in names} == {"setup.sh", "run_autograder", "gradescope_env.sh",
                                                 "requirements-gradescope.txt", "pyproject.toml", "README.md",
                                                 "autograde", "source"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert all("==" in p for p in pins) and any(p.startswith("tensorflow-cpu==") for p in pins)
    assert not [p for p in pins if p.split("==")[0] in ("ruff", "playwright", "check-jsonschema")]


@pytest.mark.slow
@pytest.mark.gradescope
def test_bundle_installs_in_a_fresh_debian_root_and_grades_as_deserved():
    """setup.sh, then run_autograder on solutions, stubs, an example student and a hostile upload."""
    assert gradescope_harness.main([]) == 0
