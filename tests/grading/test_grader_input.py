"""Bad input to the pytest graders gives a clear result or a clear error, never a crash."""

from __future__ import annotations

import pytest

from tests.conftest import run_grader
from tests.examples import EXAMPLES, path_of

pytestmark = pytest.mark.slow


def test_a_notebook_with_invalid_json_scores_zero_and_names_the_file(tmp_path):
    broken = tmp_path / "01_linear_system.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    run = run_grader(broken, tmp_path / "results")
    assert run.returncode == 0, run.output
    nb = run.summary["notebooks"][0]
    assert nb["points"] == 0 and str(broken) in nb["problem"] and "Fix:" in nb["problem"]


def test_a_file_of_another_assignment_is_a_usage_error(tmp_path):
    other = tmp_path / "homework.ipynb"
    other.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', encoding="utf-8")
    run = run_grader(other, tmp_path / "results")
    assert run.returncode == 4, run.output  # pytest's usage-error status
    assert "none of its cells belong to gd_applications" in run.output and "Fix:" in run.output


def test_a_renamed_notebook_is_recognised_by_its_cells(tmp_path):
    solution = next(ex for ex in EXAMPLES if ex.name == "solution")
    renamed = tmp_path / "my_homework.ipynb"
    renamed.write_bytes(path_of(solution).read_bytes())
    run = run_grader(renamed, tmp_path / "results", "-k", "early_stopping_rule")
    assert run.returncode == 0, run.output
    checks = run.summary["notebooks"][0]["checks"]
    assert {c["grade_id"]: c["points"] for c in checks}["early_stopping_rule"] == 1


def test_a_notebook_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    import nbformat

    from autograde import limits
    from autograde.assignment import submission
    from autograde.grading import runner

    big = tmp_path / "01_linear_system.ipynb"
    big.write_bytes(path_of(EXAMPLES[0]).read_bytes())
    monkeypatch.setattr(limits, "NOTEBOOK_MAX_BYTES", big.stat().st_size - 1)

    def never(*args, **kwargs):
        raise AssertionError("the notebook was parsed")

    monkeypatch.setattr(nbformat, "read", never)
    grade = runner.grade_notebook(big, "01_linear_system")
    assert grade.points == 0 and str(big) in grade.problem and "Fix: clear its outputs" in grade.problem
    assert submission.identify(big) == ("01_linear_system", None)  # by its name, unread


def test_a_notebook_that_would_build_too_many_objects_is_refused_unread(tmp_path, monkeypatch):
    from autograde import limits
    from autograde.assignment.submission import why_not_read

    many = tmp_path / "01_linear_system.ipynb"
    many.write_bytes(path_of(EXAMPLES[0]).read_bytes())
    assert why_not_read(many) is None
    monkeypatch.setattr(limits, "NOTEBOOK_MAX_ITEMS", 50)
    assert "JSON objects and lists, over the 50 a notebook may hold" in why_not_read(many)


def test_a_device_or_a_pipe_in_place_of_a_notebook_is_refused_unread(tmp_path):
    import os

    from autograde.assignment.submission import why_not_read

    (tmp_path / "zero.ipynb").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.ipynb")
    for name in ("zero.ipynb", "pipe.ipynb"):
        assert "not a regular file" in why_not_read(tmp_path / name), name


def test_a_submission_that_uses_up_its_time_budget_stops_there_and_says_so(tmp_path):
    import shutil

    from tests.corpus import CASES
    from tests.corpus import path_of as case_path
    from tests.examples import example

    folder = tmp_path / "submission"
    folder.mkdir()
    stuck = next(c for c in CASES if c.name == "endless_training_loop_ignores_interrupts")
    shutil.copy(case_path(stuck), folder / "01_linear_system.ipynb")
    shutil.copy(path_of(example("03_logistic_regression", "solution")), folder / "03_logistic_regression.ipynb")
    run = run_grader(folder, tmp_path / "results", "--jobs", "1", "--cell-timeout", "100",
                     "--notebook-timeout", "100", "--submission-timeout", "20")
    assert run.returncode == 0, run.output
    by_name = {nb["notebook"]: nb for nb in run.summary["notebooks"]}
    first, second = by_name["01_linear_system"], by_name["03_logistic_regression"]
    spent = "the submission used up its time budget of 20 s"
    assert [c["points"] for c in first["checks"] if c["grade_id"] != "linear_system_loss_value"] == [0] * 4
    assert spent in first["problem"] and "not run: " + spent in second["problem"]
    assert second["points"] == 0 and all(spent in c["message"] for c in second["checks"])


def test_a_link_in_place_of_a_notebook_is_not_graded_whatever_it_names(tmp_path):
    from autograde.assignment.registry import SOURCES
    from autograde.assignment.submission import collect

    folder, staged = tmp_path / "ada", tmp_path / "staged"
    folder.mkdir()
    staged.mkdir()
    (folder / "01_linear_system.ipynb").symlink_to(SOURCES["01_linear_system"])  # the solution
    found = collect([folder / "01_linear_system.ipynb"], staged, folder)
    assert not (staged / "01_linear_system.ipynb").exists()
    assert any("a link or a special file" in p for p in found.problems), found.problems
