"""Every student of the example class gets exactly the points deserved, the same under both front ends.

The class (tests/examples.py) uses every example submission: the solution, the untouched
release and each known mistake of the three notebooks.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import nbformat
import pytest

from autograde.assignment.notebook import check_id
from autograde.assignment.registry import ASSIGNMENT, BY_ID, NOTEBOOKS
from autograde.grading.runner import FORKED
from autograde.kernel.resources import default_jobs
from tests.examples import CLASS, EXAMPLES, class_examples, class_files, class_points

pytestmark = pytest.mark.slow
STUDENTS = sorted(CLASS)


def check_points(summary: dict) -> dict[str, int]:
    return {c["grade_id"]: c["points"] for nb in summary["notebooks"] for c in nb["checks"]}


def test_the_class_uses_every_example():
    used = {(ex.notebook, ex.name) for s in CLASS for ex in class_examples(s)}
    assert used == {(ex.notebook, ex.name) for ex in EXAMPLES}


@pytest.mark.parametrize("student", STUDENTS)
def test_nbgrader_gives_each_student_the_points_deserved(student, nbgrader_scores):
    got = nbgrader_scores[student]
    want = class_points(student)
    assert {gid: got.get(gid) for gid in want} == pytest.approx(want)


@pytest.mark.parametrize("student", STUDENTS)
def test_pytest_graders_give_each_student_the_points_deserved(student, class_graded):
    assert check_points(class_graded.summary(student)) == class_points(student)


@pytest.mark.parametrize("student", STUDENTS)
def test_both_front_ends_agree(student, nbgrader_scores, class_graded):
    ours = check_points(class_graded.summary(student))
    theirs = nbgrader_scores[student]
    assert ours == pytest.approx({gid: theirs[gid] for gid in ours})


def test_class_csv_totals_match_the_gradebook(nbgrader_scores, class_graded):
    rows = {r["student"]: r for r in class_graded.csv()}
    assert sorted(rows) == STUDENTS
    for student in STUDENTS:
        assert float(rows[student]["total"]) == sum(nbgrader_scores[student].values())
        assert rows[student]["status"] == "graded"


def test_both_front_ends_give_the_same_check_rows(course, nbgrader_scores, class_graded):
    from autograde.reports import class_report

    ours = class_report.rows(class_report.from_summaries(class_graded.out))
    theirs = class_report.rows(class_report.from_nbgrader(course))
    assert theirs == ours
    written = (class_graded.out / "checks.csv").read_text(encoding="utf-8").splitlines()
    assert len(written) == 1 + len(ours) and (class_graded.out / "checks.png").is_file()


def test_untouched_release_runs_to_the_end_without_killing_the_kernel(class_graded, course, nbgrader_scores):
    summary = class_graded.summary("bob")
    assert summary["points"] == 0
    for nb in summary["notebooks"]:
        assert nb["problem"] is None
        assert not [c for c in nb["checks"] if c["message"].startswith("not run:")]
    for stem in NOTEBOOKS:
        cells = nbformat.read(course / "autograded" / "bob" / ASSIGNMENT / f"{stem}.ipynb", as_version=4).cells
        assert all(c.execution_count is not None for c in cells if c.cell_type == "code" and not check_id(c)), stem


def test_nbgrader_grades_each_students_first_notebook_in_a_kernel_started_ahead_and_the_rest_meanwhile(
        nbgrader_log):
    """A student's first notebook runs in a kernel started ahead: while nbgrader starts up
    (nbgrader_config.py) or while the student before was graded (autograde/kernel/pool.py); the
    notebooks after it are executed in the background while it is graded (autograde/frontends/nbgrader/background.py).
    Where the grader is root, every kernel is forked from one process that imported TensorFlow
    (autograde/kernel/forked/zygote.py)."""
    graded, current = {}, None
    for line in nbgrader_log.splitlines():
        autograding = re.search(r"Autograding .*/autograded/([^/]+)/[^/]+/([^/]+)\.ipynb$", line)
        if autograding:
            current = autograding.groups()
        elif "] graded in " in line:
            graded[current] = line
    assert len(graded) == sum(len(class_files(s)) for s in CLASS), graded
    for (student, stem), line in graded.items():
        if stem == min(s for st, s in graded if st == student) or default_jobs() < 2:
            assert " by a kernel started ahead" in line, (student, stem, line)
        else:
            assert ", in the background while the notebook before it was graded;" in line, (student, stem, line)
        if os.geteuid() == 0:
            assert "forked from a warm process" in line, (student, stem, line)


@pytest.mark.root(reason="kernels are forked only for a root grader")
def test_the_pytest_graders_fork_every_kernel_of_a_submission(class_graded):
    for student in CLASS:
        for nb in class_graded.summary(student)["notebooks"]:
            if nb["seconds"]:  # graded (not a missing file)
                assert nb["isolation"].endswith(FORKED), (student, nb["notebook"], nb["isolation"])


def test_correct_answers_leave_no_stderr_in_nbgrader_test_cells(course, nbgrader_scores):
    for stem in NOTEBOOKS:
        path = course / "autograded" / "alice" / ASSIGNMENT / f"{stem}.ipynb"
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                streams = [o for o in cell.get("outputs", []) if o.get("name") == "stderr"]
                assert not streams, (stem, cell.metadata.nbgrader.grade_id, streams)


def test_grader_writes_junit_with_points_per_check(class_graded):
    junit = class_graded.out / "students" / "dave" / "junit.xml"
    points = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        points[props["grade_id"]] = int(props["points"])
        assert (case.find("failure") is not None) == (props["points"] == "0")
    assert points == class_points("dave")
    assert points["linear_system_loss_value"] == BY_ID["linear_system_loss_value"].points


def test_gradescope_results_carry_scores_visibility_and_help(class_graded):
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).parents[1] / "schemas" / "gradescope_results.schema.json").read_text("utf-8"))
    results = json.loads((class_graded.out / "students" / "dave" / "results.json").read_text("utf-8"))
    jsonschema.validate(results, schema)
    assert results["score"] == sum(t["score"] for t in results["tests"]) == sum(class_points("dave").values())
    by_name = {t["name"].split(": ")[1]: t for t in results["tests"]}
    # no visible part: shown with its message once grades are published
    assert by_name["linear_systems_converge"]["visibility"] == "after_published"
    assert by_name["linear_systems_converge"]["output"]
    assert by_name["gradient_step_matches_reference"]["visibility"] == "visible"
    assert by_name["gradient_step_matches_reference"]["max_score"] == 2
    assert "sign reversed" in by_name["gradient_step_matches_reference"]["output"]


@pytest.mark.parametrize("student, grade_id, phrase", [
    ("dave", "gradient_step_matches_reference", "sign reversed"),
    ("grace", "linear_system_loss_value", "square the residuals"),
    ("carol", "linear_system_loss_value", "should be 62756"),
    ("erin", "early_stopping_in_loop", "ever return True"),
    ("frank", "early_stopping_in_loop", "comparison reversed"),
    ("carol", "train_step_training_mode", "training=True"),
    ("erin", "early_stopping_restores_best", "should be restored"),
    ("dave", "mnist_loss_value", "one-hot"),
    ("dave", "sgd_step_matches_reference", "sign reversed"),
    ("carol", "loss_decreases", "learning rate 0"),
    ("erin", "test_accuracy_reported", "not on a training batch"),
])
def test_failure_messages_name_the_likely_bug(class_graded, student, grade_id, phrase):
    summary = class_graded.summary(student)
    message = next(c["message"] for nb in summary["notebooks"] for c in nb["checks"]
                   if c["grade_id"] == grade_id)
    assert phrase in message
