"""Every example submission gets exactly the points it deserves, the same under both front ends."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import nbformat
import pytest

from autograde.registry import ASSIGNMENT, BY_ID
from tests.conftest import student_id
from tests.examples import EXAMPLES

pytestmark = pytest.mark.slow
IDS = [student_id(ex) for ex in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_nbgrader_gives_each_example_the_points_it_deserves(example, nbgrader_scores):
    got = nbgrader_scores[student_id(example)]
    assert {gid: got.get(gid) for gid in example.points} == pytest.approx(example.points)


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_pytest_graders_give_each_example_the_points_it_deserves(example, graded_by_pytest):
    run = graded_by_pytest[student_id(example)]
    assert run.returncode == 0, f"a wrong answer must not fail the grading run:\n{run.output[-3000:]}"
    checks = {c["grade_id"]: c["points"] for nb in run.summary["notebooks"] for c in nb["checks"]}
    assert checks == example.points, run.output[-3000:]


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_both_front_ends_agree(example, nbgrader_scores, graded_by_pytest):
    summary = graded_by_pytest[student_id(example)].summary
    ours = {c["grade_id"]: c["points"] for nb in summary["notebooks"] for c in nb["checks"]}
    theirs = nbgrader_scores[student_id(example)]
    assert ours == pytest.approx({gid: theirs[gid] for gid in ours})


def test_untouched_release_runs_to_the_end_without_killing_the_kernel(graded_by_pytest, course):
    summary = graded_by_pytest["01_untouched"].summary
    for nb in summary["notebooks"]:
        assert nb["problem"] is None
        for check in nb["checks"]:
            assert "not run" not in check["message"] and "not written yet" in check["message"], check
    autograded = course / "autograded" / "01_untouched" / ASSIGNMENT / "01_linear_system.ipynb"
    cells = nbformat.read(autograded, as_version=4).cells
    assert all(c.execution_count is not None for c in cells if c.cell_type == "code")


def test_correct_answers_leave_no_stderr_in_nbgrader_test_cells(course, nbgrader_scores):
    path = course / "autograded" / "01_solution" / ASSIGNMENT / "01_linear_system.ipynb"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            streams = [o for o in cell.get("outputs", []) if o.get("name") == "stderr"]
            assert not streams, (cell.metadata.nbgrader.grade_id, streams)


def test_grader_writes_junit_with_points_per_check(graded_by_pytest):
    run = graded_by_pytest["01_sign_reversed_step"]
    cases = ET.parse(run.junit).getroot().iter("testcase")
    points = {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        points[props["grade_id"]] = int(props["points"])
        assert (case.find("failure") is not None) == (props["points"] == "0")
    assert points["gradient_step_matches_reference"] == 0
    assert points["linear_system_loss_value"] == BY_ID["linear_system_loss_value"].points


def test_failure_messages_name_the_likely_bug(graded_by_pytest):
    def message(student, grade_id):
        summary = graded_by_pytest[student].summary
        return next(c["message"] for nb in summary["notebooks"] for c in nb["checks"]
                    if c["grade_id"] == grade_id)

    assert "sign reversed" in message("01_sign_reversed_step", "gradient_step_matches_reference")
    assert "square the residuals" in message("01_loss_without_squares", "linear_system_loss_value")
    assert "should be 62756" in message("01_hardcoded_answer", "linear_system_loss_value")
    assert "ever return True" in message("01_no_early_stopping", "early_stopping_in_loop")
    assert "comparison reversed" in message("01_stop_wrong_comparison", "early_stopping_in_loop")
