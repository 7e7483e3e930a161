"""A submission's notebooks graded at once by the pytest graders get the points each deserves."""

from __future__ import annotations

import shutil

import pytest

from autograde.assignment.registry import NOTEBOOKS
from tests.conftest import run_grader
from tests.examples import example, path_of

pytestmark = pytest.mark.slow

#: One notebook per exercise: two solved, one left as released (its kernel runs to the end too).
SUBMITTED = {"01_linear_system": "solution", "02_mnist_gradient_tape": "untouched",
             "03_logistic_regression": "solution"}


def test_notebooks_graded_two_at_a_time_get_their_points_in_order_with_their_memory(tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    for stem, name in SUBMITTED.items():
        shutil.copy2(path_of(example(stem, name)), folder / f"{stem}.ipynb")
    run = run_grader(folder, tmp_path / "results", "--jobs", "2")
    assert run.returncode == 0, run.output
    notebooks = run.summary["notebooks"]
    assert [nb["notebook"] for nb in notebooks] == list(NOTEBOOKS), "the summary keeps the notebooks' order"
    for nb in notebooks:
        deserved = example(nb["notebook"], SUBMITTED[nb["notebook"]]).points
        assert {c["grade_id"]: c["points"] for c in nb["checks"]} == deserved, nb["notebook"]
        assert 300 < nb["peak_memory_mb"] < 4096, "a TensorFlow kernel's peak resident memory, measured"
    assert notebooks[-1]["kernel_started_ahead"], "the last notebook's kernel started while the others were graded"
