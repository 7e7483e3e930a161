"""Adding an exercise touches no engine file: a throwaway exercise kept in tests/ (tests/tiny_exercise)
is graded through both front ends, by naming it in ``GD_GRADING_EXERCISES``."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograde.assignment.notebook import nbgrader_meta
from autograde.frontends.nbgrader import course as nbg
from tests.conftest import run_grader
from tests.tiny_exercise import NOTEBOOK, SOURCE

pytestmark = pytest.mark.slow
ENV = {"GD_GRADING_EXERCISES": "tests.tiny_exercise"}
ANSWERS = {"right": "def double(x):\n    return x + x", "wrong": "def double(x):\n    return x + 2", "stub": None}
DESERVED = {"right": 1, "wrong": 0, "stub": 0}


def submission(release: Path, body: str | None) -> nbformat.NotebookNode:
    nb = nbformat.read(release / f"{NOTEBOOK}.ipynb", as_version=4)
    for cell in nb.cells:
        if body and nbgrader_meta(cell).get("solution"):
            cell.source = body
    return nb


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory) -> Path:
    course = nbg.make_course(tmp_path_factory.mktemp("tiny-course"))
    shutil.copy2(SOURCE, course / "source" / nbg.ASSIGNMENT / SOURCE.name)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GD_GRADING_EXERCISES", ENV["GD_GRADING_EXERCISES"])
        release = nbg.generate_release(course)
        for student, body in ANSWERS.items():
            folder = course / "submitted" / student / nbg.ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(submission(release, body), folder / f"{NOTEBOOK}.ipynb")
        nbg.autograde(course, check=False)
    return course


def test_nbgrader_grades_the_new_exercise(tiny_course):
    scores = nbg.gradebook_scores(tiny_course)
    assert {s: scores[s].get("double_values") for s in ANSWERS} == DESERVED
    assert "should be" in nbg.cell_reports(tiny_course, "wrong", NOTEBOOK)["double_values"]


@pytest.mark.parametrize("student", sorted(ANSWERS))
def test_pytest_graders_grade_the_new_exercise(student, tiny_course, tmp_path):
    path = tiny_course / "submitted" / student / nbg.ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    run = run_grader(path, tmp_path / "results", env=ENV)
    assert run.summary is not None, run.output
    checks = {c["grade_id"]: c for nb in run.summary["notebooks"] for c in nb["checks"]}
    assert checks["double_values"]["points"] == DESERVED[student], checks["double_values"]["message"]
