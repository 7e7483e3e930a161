"""The judge, without notebooks: every unit check gives each example submission the points it
deserves when its answers run in this process (how values cross the boundary: tests/assignment/test_returned.py).

Checks that need a trained model or notebook state (the end-to-end ones) are graded on real
notebooks in tests/grading/test_grading.py.
"""

from __future__ import annotations

import time

import nbformat
import pytest

from autograde.assignment.notebook import answer_namespace
from autograde.assignment.registry import BY_ID, CHECKS
from autograde.assignment.returned import Value
from autograde.grading.judge import Kernel, in_process_kernel, judge, verdict_outputs
from gdkit.checks._common import CheckFailed
from tests.examples import EXAMPLES, ROOT

SETUP = "import math\nimport numpy as np\nimport tensorflow as tf\n"
#: Checks judged from the functions alone (no trained model, no notebook variables).
UNIT = [c for c in CHECKS if c.grade_id not in {"mlp_test_accuracy", "loss_decreases", "test_accuracy_reported",
                                                "logreg_test_accuracy"}]


def _timing_out_after(seconds):
    def run(code):
        time.sleep(seconds)
        return [{"output_type": "error", "ename": "CellTimeoutError", "evalue": ""}]
    return run


def test_a_probe_that_runs_out_of_time_says_so(tmp_path):
    kernel = Kernel(_timing_out_after(0.3), tmp_path, cell_timeout=0.3)
    with pytest.raises(CheckFailed, match="per-cell limit of 0.3 s"):
        kernel.call("gdkit.probe:values", ("x",), {"v0": Value()})
    assert list(tmp_path.iterdir()) == [], "the probe's folder is removed"


def test_a_kernel_that_only_names_a_timeout_is_quoted_not_believed(tmp_path):
    kernel = Kernel(_timing_out_after(0), tmp_path, cell_timeout=15)
    with pytest.raises(CheckFailed) as failed:
        kernel.call("gdkit.probe:values", ("x",), {"v0": Value()})
    assert "per-cell limit" not in str(failed.value) and "  │ CellTimeoutError" in str(failed.value)


def test_a_bug_in_a_judge_is_an_internal_error_without_a_traceback(tmp_path, capsys):
    class Broken:
        grade_id, description = "broken_check", "a judge with a bug"

        @staticmethod
        def judge(kernel, seed):
            return {}["missing"]

    verdict = judge(Broken, Kernel(lambda code: [], tmp_path, 1), seed=0)
    assert not verdict.passed and verdict.message.startswith("internal grader error (KeyError)")
    assert "Traceback" not in verdict.message and "judge.py" not in verdict.message
    assert "Traceback" in capsys.readouterr().err  # for the instructor


def test_verdicts_become_outputs_nbgrader_scores_by_them():
    from nbgrader.utils import determine_grade

    from autograde.grading.judge import Verdict

    def score(passed):
        cell = nbformat.v4.new_code_cell("")
        cell.metadata["nbgrader"] = {"grade": True, "solution": False, "points": 2, "grade_id": "x"}
        cell.outputs = verdict_outputs(Verdict("x", passed, "why"), "what")
        return determine_grade(cell)[0]

    assert (score(True), score(False)) == (2, 0)


# ------------------------------------------------------------------------- judges on known answers
def _namespace(example) -> dict:
    """The example's answers (the release's stubs for the untouched one), run in this process."""
    kind = "source" if example.solved else "release"
    nb = nbformat.read(ROOT / kind / "gd_applications" / f"{example.notebook}.ipynb", as_version=4)
    return answer_namespace(nb, SETUP, replace=example.answers)


CASES = [(ex, c) for ex in EXAMPLES for c in UNIT if c.notebook == ex.notebook]


@pytest.mark.parametrize("example, check", CASES, ids=[f"{e.notebook}-{e.name}-{c.grade_id}" for e, c in CASES])
def test_each_unit_check_gives_each_example_the_points_it_deserves(example, check, tmp_path):
    verdict = judge(check, in_process_kernel(_namespace(example), tmp_path), seed=0)
    assert (check.points if verdict.passed else 0) == example.points[check.grade_id], verdict.message


def test_hidden_inputs_depend_on_the_grading_seed():
    from autograde.exercises.linear_system import checks

    first, second = checks.plan(0), checks.plan(1)
    assert [s.label for s, _ in first] != [s.label for s, _ in second]
    assert BY_ID["linear_systems_converge"].judge is checks.systems_converge
