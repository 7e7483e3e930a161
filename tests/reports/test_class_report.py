"""The class report: pass rates and most frequent causes per check, the same from both front ends.

A synthetic class of three students, written once as the class grader's summary.json files and
once as nbgrader's gradebook with autograded notebooks; no kernel runs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import nbformat
import pytest

from autograde.assignment import diagnose
from autograde.assignment.registry import ASSIGNMENT, checks_of
from autograde.grading.judge import Verdict, verdict_outputs
from autograde.reports import class_report

NOTEBOOK = "01_linear_system"
FORMULA = "=HYPERLINK(\"http://x\",\"y\") is what `gradient_step` returned"


@pytest.fixture
def causes():
    """Two causes declared for the test only; the registry of causes is restored afterwards."""
    saved = dict(diagnose.CAUSES)
    made = {"sum_instead_of_mean": diagnose.Cause("sum_instead_of_mean", "用了加總而不是平均。",
                                                  "the sum was taken instead of the mean."),
            "missing_bias": diagnose.Cause("missing_bias", "少了偏差項。", "the bias term is missing.")}
    yield made
    diagnose.CAUSES.clear()
    diagnose.CAUSES.update(saved)


def failure(text: str, cause: diagnose.Cause | None = None) -> str:
    return f"{text}\n{cause.text}" if cause else text


def spec(causes) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Failed checks per student: (message, cause id the grader recorded or None); the rest passed."""
    sim, bias = causes["sum_instead_of_mean"], causes["missing_bias"]
    return {
        "ann": {"gradient_step_matches_reference": (failure("損失不對。\nwrong loss.", bias), "missing_bias")},
        "ben": {"linear_system_loss_value": (failure("損失應為 4,卻得到 8。\nshould be 4, got 8.", sim),
                                             "sum_instead_of_mean"),
                "gradient_step_matches_reference": (FORMULA + "\nmore", None)},
        # cat's summary holds no cause key: the cause is recovered from the message
        "cat": {"linear_system_loss_value": (failure("損失應為 4,卻得到 12。\nshould be 4, got 12.", sim), None),
                "gradient_step_matches_reference": (FORMULA, None),
                "early_stopping_rule": ("should_stop(1, 2, 0.1) should be False, got True.", None)},
    }


def write_summaries(out: Path, failed: dict) -> Path:
    for student, fails in failed.items():
        checks = []
        for c in checks_of(NOTEBOOK):
            message, cause = fails.get(c.grade_id, ("", None))
            entry = {"grade_id": c.grade_id, "points": 0 if message else c.points, "max_points": c.points,
                     "status": "failed" if message else "passed", "hidden_only": not c.visible,
                     "description": c.description, "message": message, "seconds": 0.1}
            if cause:
                entry["cause"] = cause
            checks.append(entry)
        summary = {"student": student, "points": sum(c["points"] for c in checks),
                   "max_points": sum(c["max_points"] for c in checks),
                   "notebooks": [{"notebook": NOTEBOOK, "points": sum(c["points"] for c in checks),
                                  "max_points": sum(c["max_points"] for c in checks), "checks": checks}]}
        (out / "students" / student).mkdir(parents=True)
        (out / "students" / student / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), "utf-8")
    return out


def write_nbgrader_course(course: Path, failed: dict) -> Path:
    """The same class as nbgrader leaves it: gradebook scores and autograded test cells' verdicts."""
    from nbgrader.api import Gradebook

    course.mkdir(parents=True, exist_ok=True)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for c in checks_of(NOTEBOOK):
            gb.add_grade_cell(c.grade_id, NOTEBOOK, ASSIGNMENT, max_score=c.points, cell_type="code")
        for student, fails in failed.items():
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            cells = []
            for c in checks_of(NOTEBOOK):
                message = fails.get(c.grade_id, ("", None))[0]
                grade = gb.find_grade(c.grade_id, NOTEBOOK, ASSIGNMENT, student)
                grade.auto_score = 0 if message else c.points
                cell = nbformat.v4.new_code_cell("# judged by the grader", metadata={"nbgrader": {
                    "grade": True, "solution": False, "grade_id": c.grade_id, "points": c.points}})
                cell.outputs = verdict_outputs(Verdict(c.grade_id, not message, message), c.description)
                cells.append(cell)
            gb.db.commit()
            folder = course / "autograded" / student / ASSIGNMENT
            folder.mkdir(parents=True)
            nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / f"{NOTEBOOK}.ipynb")
    return course


def read_rows(path: Path) -> dict[str, dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return {r["grade_id"]: r for r in csv.DictReader(f)}


def test_pass_rates_and_causes_are_counted_per_check(tmp_path, causes):
    out = write_summaries(tmp_path / "results", spec(causes))
    assert class_report.main([str(out)]) == 0
    rows = read_rows(out / "checks.csv")
    assert list(rows) == [c.grade_id for c in class_report.CHECKS]  # every check, in the registry's order
    loss = rows["linear_system_loss_value"]
    assert (loss["notebook"], loss["points"], loss["graded"], loss["passed"]) == (NOTEBOOK, "2", "3", "1")
    assert (loss["pass_rate"], loss["mean_points"]) == ("0.33", "0.67")
    assert loss["causes"] == "sum_instead_of_mean ×2" and loss["top_message"] == ""
    step = rows["gradient_step_matches_reference"]
    assert (step["passed"], step["pass_rate"], step["mean_points"]) == ("0", "0.00", "0.00")
    assert step["causes"] == "missing_bias ×1"
    assert step["top_message"] == "'" + FORMULA and step["top_message_count"] == "2"  # text, not a formula
    rule = rows["early_stopping_rule"]
    assert rule["causes"] == "" and rule["top_message"] == "should_stop(1, 2, 0.1) should be False, got True."
    assert rows["early_stopping_in_loop"]["pass_rate"] == "1.00"
    assert rows["mnist_loss_value"]["graded"] == "0" and rows["mnist_loss_value"]["pass_rate"] == ""
    assert (out / "checks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_causes_rank_by_count_then_name():
    def fail(student, cause):
        return class_report.Outcome(student, NOTEBOOK, "linear_system_loss_value", 0, 2, "x", cause)

    outcomes = [fail("a", "zeta"), fail("b", "alpha"), fail("c", "zeta"), fail("d", "beta"), fail("e", "gamma")]
    row = next(r for r in class_report.rows(outcomes) if r[1] == "linear_system_loss_value")
    assert row[7] == "zeta ×2; alpha ×1; beta ×1"  # the three most frequent, ties alphabetical


def test_both_front_ends_give_the_same_check_rows(tmp_path, causes):
    failed = spec(causes)
    ours = class_report.from_summaries(write_summaries(tmp_path / "results", failed))
    theirs = class_report.from_nbgrader(write_nbgrader_course(tmp_path / "course", failed))
    assert sorted(theirs, key=str) == sorted(ours, key=str)
    assert class_report.rows(theirs) == class_report.rows(ours)
    assert class_report.main(["--nbgrader", str(tmp_path / "course")]) == 0
    assert class_report.main([str(tmp_path / "results")]) == 0
    assert ((tmp_path / "course" / "checks.csv").read_text("utf-8")
            == (tmp_path / "results" / "checks.csv").read_text("utf-8"))


def test_a_folder_without_results_says_how_to_fix_it(tmp_path):
    with pytest.raises(SystemExit, match="Fix:"):
        class_report.main([str(tmp_path)])
    with pytest.raises(SystemExit, match="Fix:"):
        class_report.main(["--nbgrader", str(tmp_path)])


def test_text_quoted_from_a_kernel_is_counted_by_its_own_first_line_and_marked_as_the_kernels():
    from autograde.assignment.returned import quoted

    message = quoted("=HYPERLINK(\"http://x\", \"✔ passed\")\nsecond line")
    assert class_report.first_line(message) == '(kernel) =HYPERLINK("http://x", "✔ passed")'
    assert class_report.first_line("At (0, 0) the loss should be 1.\nhint") == "At (0, 0) the loss should be 1."


def test_no_separator_splits_a_cell_into_a_formula_whatever_the_spreadsheet_splits_on(tmp_path):
    from autograde.reports.grades_csv import cell

    rows = [[cell("(kernel) ValueError: x;=1+1\tand\t=2+2"), cell("=3+3"), 7]]
    path = tmp_path / "checks.csv"
    class_report.write_csv(path, rows)
    text = path.read_text(encoding="utf-8")
    for delimiter in (",", ";", "\t"):
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            assert not [c for c in row if c[:1] in "=+-@"], (delimiter, row)
